"""The Traffic Light Protocol in STIX 2.1: TLP 2.0's five fixed marking definitions, and TLP 1.0's four.

TLP 2.0 (FIRST, 2022) is carried by the extension `extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d`
published by OASIS in cti-stix-common-objects (extension-definition-specifications/tlp-2.0), whose five marking
definitions have fixed ids: a client may reference them without sending them. TLP 1.0's four (STIX 2.1 §7.2.1.4,
`definition_type: tlp`) are what many tools still send (MISP's `tlp:white`, stix2's `TLP_AMBER`); they are read as
the TLP 2.0 level of the same meaning (FIRST TLP 2.0: WHITE became CLEAR).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

TLP_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

Tlp = Literal["clear", "green", "amber", "amber+strict", "red"]
# Least restrictive first: where an object carries two TLP markings, the later one in this order holds.
TLP_LEVELS: tuple[Tlp, ...] = ("clear", "green", "amber", "amber+strict", "red")

# The OASIS TLP 2.0 marking definitions, as published (id, name and created are theirs).
TLP_2_IDS: dict[str, Tlp] = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": "clear",
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": "green",
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": "amber",
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": "amber+strict",
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": "red",
}
# STIX 2.1 §7.2.1.4: TLP 1.0's predefined marking definitions.
TLP_1_IDS: dict[str, Tlp] = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "clear",  # TLP:WHITE
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "green",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "amber",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "red",
}
# Every fixed TLP marking id, known without its definition.
TLP_BY_ID: dict[str, Tlp] = TLP_2_IDS | TLP_1_IDS
TLP_2_ID_OF: dict[Tlp, str] = {level: ref for ref, level in TLP_2_IDS.items()}
# The values TLP 1.0's `definition.tlp` may hold, and what they mean in TLP 2.0.
TLP_1_NAMES: dict[str, Tlp] = {"white": "clear", "green": "green", "amber": "amber", "red": "red"}
_TLP_2_CREATED = "2022-10-01T00:00:00.000Z"


def as_tlp(name: str) -> Tlp:
    """A name already checked to be a TLP level, as one (ValueError for another)."""
    return TLP_LEVELS[TLP_LEVELS.index(name)]


def strictest(levels: list[Tlp]) -> Tlp | None:
    """The most restrictive of some TLP levels (None for none): a second marking can only narrow."""
    return max(levels, key=TLP_LEVELS.index) if levels else None


def tlp_marking_definition(level: Tlp) -> dict[str, Any]:
    """The TLP 2.0 marking-definition object of a level, exactly as OASIS publishes it (for serving)."""
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP_2_ID_OF[level],
        "created": _TLP_2_CREATED,
        "name": f"TLP:{level.upper()}",
        "extensions": {TLP_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": level}},
    }


def tlp_of(obj: Mapping[str, Any]) -> Tlp | None:
    """The strictest TLP the fixed marking ids an object references name (granular ones too); None for none.

    For an object already held (its marking read when it was posted or received): anything else is ignored.
    """
    refs = obj.get("object_marking_refs")
    named: list[object] = list(refs) if isinstance(refs, list) else []
    granular = obj.get("granular_markings")
    if isinstance(granular, list):
        named += [one.get("marking_ref") for one in granular if isinstance(one, Mapping)]
    return strictest([TLP_BY_ID[ref] for ref in named if isinstance(ref, str) and ref in TLP_BY_ID])
