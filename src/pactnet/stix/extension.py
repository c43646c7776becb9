"""The pactnet marking as a STIX 2.1 extension: its fixed id, its JSON schema and its extension-definition object.

STIX 2.1 §7.3: an extension-definition names the extension a marking-definition carries; like TLP 2.0's, pactnet's
has a fixed id, so that a client can mark an object without fetching anything first (docs/stix.md).
"""

from __future__ import annotations

import json
from typing import Any

from pactnet.policy.precedence import NAMES as PRECEDENCES
from pactnet.stix.checks import MAX_ITEMS, MAX_NAME

PACTNET_MARKING_EXTENSION_ID = "extension-definition--5ba9e016-7173-407a-96bf-f6b9b7fcd71c"
# The identity the extension definition is created by (STIX 2.1 §7.3 makes created_by_ref required there).
PACTNET_IDENTITY_ID = "identity--a277c742-67ac-4f1f-ac95-67caa5987bde"
# When version 1.0 of the extension was defined; the definition never changes without a new version.
DEFINED = "2026-12-04T00:00:00.000Z"
VERSION = "1.0"

_NAME: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": MAX_NAME}
_NAMES: dict[str, Any] = {"type": "array", "items": _NAME, "maxItems": MAX_ITEMS, "uniqueItems": True}
# The properties of the extension, in the order docs/stix.md lists them.
FIELDS = ("originator", "level", "categories", "rel_to", "compartments", "precedence")


def marking_schema() -> dict[str, Any]:
    """The JSON schema (draft 2020-12) of the extension's property inside a marking-definition."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "pactnet marking",
        "description": "How an object shared under bilateral agreements is marked: by whom, at what level.",
        "type": "object",
        "required": ["extension_type", "originator", "level"],
        "additionalProperties": False,
        "properties": {
            "extension_type": {"const": "property-extension"},
            "originator": _NAME | {"description": "The party code of the object's originator."},
            "level": _NAME | {"description": "The level, in the classification scheme of the party serving it."},
            "categories": _NAMES | {"description": "The categories of information (the agreements' scopes)."},
            "rel_to": _NAMES | {"description": "Releasable only to these parties; absent: no such restriction."},
            "compartments": _NAMES | {"description": "The compartments a reader must hold, all of them."},
            "precedence": {"enum": list(PRECEDENCES), "default": "routine"},
        },
    }


def defined_object(object_type: str, object_id: str, created_by_ref: str | None = None) -> dict[str, Any]:
    """The common properties (STIX 2.1 §3.2) of an object pactnet defines once, with version 1.0 of the extension."""
    common: dict[str, Any] = {"type": object_type, "spec_version": "2.1", "id": object_id}
    if created_by_ref is not None:
        common["created_by_ref"] = created_by_ref
    return common | {"created": DEFINED, "modified": DEFINED}


def pactnet_identity() -> dict[str, Any]:
    """The identity that created the extension definition (served beside it, so that its reference resolves)."""
    return defined_object("identity", PACTNET_IDENTITY_ID) | {"name": "pactnet", "identity_class": "system"}


def extension_definition() -> dict[str, Any]:
    """The extension-definition object of the pactnet marking, with its schema as text (STIX 2.1 §7.3)."""
    return defined_object("extension-definition", PACTNET_MARKING_EXTENSION_ID, PACTNET_IDENTITY_ID) | {
        "name": "pactnet marking",
        "description": (
            "Marks an object with what pactnet decides its transfers by: originator, level (in the scheme of "
            "the party serving it), categories, rel_to, compartments and precedence. Carried by a "
            "marking-definition referenced from the object's object_marking_refs."
        ),
        "schema": json.dumps(marking_schema(), ensure_ascii=False, sort_keys=True),
        "version": VERSION,
        "extension_types": ["property-extension"],
    }
