"""The pactnet marking of a STIX 2.1 object: read from a posted object, and served as the holder marks it.

A provisional, minimal version (issue 15): the TAXII server's branch needs this interface before the STIX
mapping's branch lands; that branch's module replaces this one, keeping these names and signatures.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pactnet.errors import PactnetError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

PACTNET_MARKING_EXTENSION_ID = "extension-definition--5c3e7a4e-52c5-4b0f-9a43-3f1c6f0d2a61"
# TLP 2.0 (FIRST, 2022): the extension and its five fixed marking-definition ids.
TLP_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP_MARKINGS = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": "clear",
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": "green",
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": "amber",
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": "amber+strict",
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": "red",
}
# The namespace of the ids of the marking-definitions a holder serves (uuid5 of what they say).
_HELD = uuid.UUID("8d1f2a34-0c55-4e0a-b7a0-5f2b3f1b9c11")
# A held marking-definition is a value, not an event: one fixed creation instant keeps its id and content stable.
_CREATED = "2019-01-01T00:00:00.000Z"
# TLP 2.0: AMBER+STRICT is for the recipient's organisation only, RED for the people in the exchange only.
_STAYS = {
    "red": "TLP:RED: for the people it was given to, never passed on",
    "amber+strict": "TLP:AMBER+STRICT: for this organisation only",
}


class StixMarkingError(PactnetError):
    """A STIX object whose markings pactnet cannot read; the message names the object and what is wrong."""


@dataclass(frozen=True)
class IsaMarking:
    """The ISA/ACS 3.0 marking of an object (provisional: not read by this version)."""

    further_sharing: tuple[str, ...] = ()
    classification: str | None = None
    permitted_nationalities: tuple[str, ...] = ()


@dataclass(frozen=True)
class PactnetMarking:
    """Who an object is from, at what level (in the holder's scheme), and the handling it carries."""

    originator: str
    level: str
    categories: tuple[str, ...]
    rel_to: tuple[str, ...] | None
    compartments: tuple[str, ...]
    precedence: str
    tlp: str | None
    isa: IsaMarking | None


def _texts(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(one, str) for one in value):
        raise StixMarkingError(f"{where}: expected a list of strings")
    return tuple(value)


def _pactnet(extension: Mapping[str, Any], where: str, tlp: str | None) -> PactnetMarking:
    for name in ("originator", "level"):
        if not isinstance(extension.get(name), str) or not extension[name]:
            raise StixMarkingError(f"{where}: the pactnet marking has no {name!r}")
    rel_to = extension.get("rel_to")
    precedence = extension.get("precedence", "routine")
    if not isinstance(precedence, str):
        raise StixMarkingError(f"{where}: precedence: expected text")
    return PactnetMarking(
        originator=extension["originator"],
        level=extension["level"],
        categories=_texts(extension.get("categories", []), f"{where}: categories"),
        rel_to=None if rel_to is None else _texts(rel_to, f"{where}: rel_to"),
        compartments=_texts(extension.get("compartments", []), f"{where}: compartments"),
        precedence=precedence,
        tlp=tlp,
        isa=None,
    )


def marking_of(
    obj: Mapping[str, Any], definitions: Mapping[str, Mapping[str, Any]], default: PactnetMarking | None
) -> PactnetMarking:
    """The pactnet marking of an object, with its TLP; `default` (its TLP replaced) when it carries none."""
    where = f"{obj.get('id', 'an object without an id')}"
    refs = obj.get("object_marking_refs", [])
    if not isinstance(refs, list):
        raise StixMarkingError(f"{where}: object_marking_refs: expected a list of marking-definition ids")
    tlps = {TLP_MARKINGS[ref] for ref in refs if isinstance(ref, str) and ref in TLP_MARKINGS}
    if len(tlps) > 1:
        raise StixMarkingError(f"{where}: more than one TLP marking ({', '.join(sorted(tlps))})")
    tlp = next(iter(tlps), None)
    found = []
    for ref in refs:
        extension = (definitions.get(ref) or {}).get("extensions", {}).get(PACTNET_MARKING_EXTENSION_ID)
        if isinstance(extension, dict):
            found.append(_pactnet(extension, f"{where} (marking {ref})", tlp))
    if len(found) > 1:
        raise StixMarkingError(f"{where}: more than one pactnet marking")
    if found:
        return found[0]
    if default is None:
        raise StixMarkingError(
            f"{where}: no pactnet marking: reference a marking-definition with the extension "
            f"{PACTNET_MARKING_EXTENSION_ID} (originator, level, categories, rel_to, compartments, precedence) "
            "in object_marking_refs, and send it in the same envelope"
        )
    return PactnetMarking(**{**default.__dict__, "tlp": tlp})


def held_marking_definition(marking: PactnetMarking, holder: str) -> dict[str, Any]:
    """The marking-definition `holder` serves its objects of this marking with (a stable id for the same marking)."""
    extension: dict[str, Any] = {
        "extension_type": "property-extension",
        "originator": marking.originator,
        "level": marking.level,
        "precedence": marking.precedence,
    }
    # STIX 2.1 §3.3: no empty lists; an absent list is an empty one (marking_of reads it so).
    for name, values in (("categories", marking.categories), ("compartments", marking.compartments)):
        if values:
            extension[name] = list(values)
    if marking.rel_to is not None:
        extension["rel_to"] = list(marking.rel_to)
    said = "\n".join([holder, *(f"{k}={v}" for k, v in sorted(extension.items()))])
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": f"marking-definition--{uuid.uuid5(_HELD, said)}",
        "created": _CREATED,
        "name": f"pactnet: {marking.originator} {marking.level} (held by {holder})",
        "extensions": {PACTNET_MARKING_EXTENSION_ID: extension},
    }


def narrowed_recipients(marking: PactnetMarking, recipients: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """The recipients TLP leaves of those the agreements would allow, and why each other one was removed."""
    if marking.tlp in _STAYS:
        return [], dict.fromkeys(recipients, _STAYS[marking.tlp])
    return list(recipients), {}
