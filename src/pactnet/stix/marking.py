"""The marking of a STIX 2.1 object as pactnet reads it (pactnet, TLP and ISA marking definitions) and serves it.

An object's `object_marking_refs` (and the `marking_ref` of its granular markings: a marking of any part of an
object marks, for pactnet, the whole of it, which can only narrow) name marking definitions; `marking_of` reads
them into one `PactnetMarking`. The pactnet one is required (or the collection's default); TLP and ISA ones are
optional and can only narrow what the agreements allow (`narrowed_recipients`). A holder serves an object under
its own pactnet marking definition (`held_marking_definition`, `restamp`), keeping the TLP and ISA ones.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pactnet.policy.precedence import NAMES as PRECEDENCES
from pactnet.stix.checks import MAX_ITEMS, Place, StixMarkingError, object_id_of, shown
from pactnet.stix.extension import (
    DEFINED,
    FIELDS,
    PACTNET_IDENTITY_ID,
    PACTNET_MARKING_EXTENSION_ID,
    defined_object,
)
from pactnet.stix.isa import ISA_EXTENSION_ID, IsaMarking, read_isa
from pactnet.stix.narrowing import narrowed_recipients
from pactnet.stix.tlp import TLP_1_NAMES, TLP_BY_ID, TLP_EXTENSION_ID, TLP_LEVELS, Tlp, as_tlp, strictest

__all__ = [
    "PACTNET_MARKING_EXTENSION_ID",
    "TLP_MARKINGS",
    "IsaMarking",
    "PactnetMarking",
    "StixMarkingError",
    "default_marking",
    "held_marking_definition",
    "is_pactnet_definition",
    "marking_of",
    "narrowed_recipients",
    "party_identity",
    "party_identity_id",
    "restamp",
]

# Every fixed TLP marking id and its level, by the name the TAXII index reads it (services.stix_index).
TLP_MARKINGS = TLP_BY_ID
# The namespace of the ids pactnet derives (uuid5): marking definitions held, and the identities of parties.
_NAMESPACE = uuid.UUID("5ba9e016-7173-407a-96bf-f6b9b7fcd71c")
_MISSING = (
    f"no pactnet marking: reference a marking-definition carrying extension {PACTNET_MARKING_EXTENSION_ID} "
    "(originator, level, ...; docs/stix.md), or set taxii_default_level in the node's node.toml"
)


@dataclass(frozen=True, slots=True)
class PactnetMarking:
    """How an object is marked for pactnet: the pactnet fields, and the TLP and ISA markings it also carries."""

    originator: str
    level: str
    categories: tuple[str, ...]
    rel_to: tuple[str, ...] | None
    compartments: tuple[str, ...]
    precedence: str
    tlp: Tlp | None = None
    isa: IsaMarking | None = None


@dataclass(slots=True)
class _Found:
    """The markings an object's references resolved to, by the id that named each."""

    pactnet: dict[str, PactnetMarking] = field(default_factory=dict)
    tlps: list[Tlp] = field(default_factory=list)
    isas: dict[str, IsaMarking] = field(default_factory=dict)


def marking_of(
    obj: Mapping[str, Any],
    definitions: Mapping[str, Mapping[str, Any]],
    default: PactnetMarking | None,
) -> PactnetMarking:
    """The marking of `obj`, from the marking definitions it references (`definitions` by id; TLP's are known).

    Raises StixMarkingError, naming the object's id and the property, for a reference that resolves to nothing,
    a malformed definition, two pactnet or two ISA markings, or no pactnet marking and no `default`. Unknown
    levels, categories and parties are returned as given: the caller's world judges them.
    """
    place = Place(object_id_of(obj))
    body = place.mapping(obj, "the object")
    found = _Found()
    for where, ref in _references(body, place):
        _resolve(ref, where, definitions, place, found)
    return _combined(found, default, place)


def _references(body: Mapping[str, Any], place: Place) -> list[tuple[str, str]]:
    """Every marking id the object references, with the property that names it."""
    refs: list[tuple[str, str]] = []
    if "object_marking_refs" in body:
        value = body["object_marking_refs"]
        if not isinstance(value, list) or len(value) > MAX_ITEMS:
            place.fail("object_marking_refs", f"expected a list of at most {MAX_ITEMS} marking-definition ids")
        refs += [
            (f"object_marking_refs[{i}]", place.marking_ref(ref, f"object_marking_refs[{i}]"))
            for i, ref in enumerate(value)
        ]
    if "granular_markings" in body:
        value = body["granular_markings"]
        if not isinstance(value, list) or len(value) > MAX_ITEMS:
            place.fail("granular_markings", f"expected a list of at most {MAX_ITEMS} granular markings")
        for index, granular in enumerate(value):
            where = f"granular_markings[{index}]"
            marking = place.mapping(granular, where)
            if "marking_ref" in marking:  # STIX 2.1 §7.2.3: a granular marking has a marking_ref or a lang
                refs.append((f"{where}.marking_ref", place.marking_ref(marking["marking_ref"], f"{where}.marking_ref")))
    return refs


def _resolve(ref: str, where: str, definitions: Mapping[str, Mapping[str, Any]], place: Place, found: _Found) -> None:
    """Note what the marking definition `ref` says; one pactnet does not read (a statement, say) narrows nothing."""
    if ref in TLP_BY_ID:
        found.tlps.append(TLP_BY_ID[ref])
        return
    definition = definitions.get(ref)
    if definition is None:
        place.fail(where, f"{ref} is neither in the envelope nor stored at this node; send its marking-definition")
    body = place.mapping(definition, ref)
    if body.get("type") != "marking-definition" or body.get("id") != ref:
        place.fail(ref, "is not a marking-definition object with that id")
    extensions = place.mapping(body.get("extensions", {}), f"{ref}.extensions")
    if PACTNET_MARKING_EXTENSION_ID in extensions:
        at = f"{ref}.extensions.{PACTNET_MARKING_EXTENSION_ID}"
        found.pactnet[ref] = _read_pactnet(extensions[PACTNET_MARKING_EXTENSION_ID], at, place)
    if TLP_EXTENSION_ID in extensions:
        at = f"{ref}.extensions.{TLP_EXTENSION_ID}"
        tlp = place.mapping(extensions[TLP_EXTENSION_ID], at).get("tlp_2_0")
        found.tlps.append(as_tlp(place.choice(tlp, f"{at}.tlp_2_0", TLP_LEVELS)))
    if ISA_EXTENSION_ID in extensions:
        found.isas[ref] = read_isa(extensions[ISA_EXTENSION_ID], f"{ref}.extensions.{ISA_EXTENSION_ID}", place)
    if body.get("definition_type") == "tlp":  # STIX 2.1 §7.2.1.4: TLP 1.0, as a definition rather than an id
        tlp_1 = place.mapping(body.get("definition"), f"{ref}.definition").get("tlp")
        found.tlps.append(TLP_1_NAMES[place.choice(tlp_1, f"{ref}.definition.tlp", tuple(TLP_1_NAMES))])


def _read_pactnet(extension: object, where: str, place: Place) -> PactnetMarking:
    """The pactnet fields of the extension, each checked as its schema says (extension.marking_schema)."""
    body = place.mapping(extension, where)
    unknown = sorted(set(body) - {"extension_type", *FIELDS})
    if unknown:
        names = ", ".join(shown(name) for name in unknown[:5])
        place.fail(where, f"unknown propert{'ies' if len(unknown) > 1 else 'y'} {names} (allowed: {', '.join(FIELDS)})")
    place.choice(body.get("extension_type"), f"{where}.extension_type", ("property-extension",))
    for required in ("originator", "level"):
        if required not in body:
            place.fail(f"{where}.{required}", "missing")
    return PactnetMarking(
        originator=place.text(body["originator"], f"{where}.originator"),
        level=place.text(body["level"], f"{where}.level"),
        categories=place.texts(body.get("categories", []), f"{where}.categories"),
        rel_to=_rel_to(body["rel_to"], f"{where}.rel_to", place) if "rel_to" in body else None,
        compartments=place.texts(body.get("compartments", []), f"{where}.compartments"),
        precedence=place.choice(body.get("precedence", "routine"), f"{where}.precedence", PRECEDENCES),
    )


def _rel_to(value: object, where: str, place: Place) -> tuple[str, ...]:
    parties = place.texts(value, where)
    if not parties:
        # STIX 2.1 §3.3 allows no empty list, and an absent rel_to means no restriction: say what to do instead.
        place.fail(where, "an empty list; to keep an object at this node, mark it TLP:RED instead")
    return parties


def _combined(found: _Found, default: PactnetMarking | None, place: Place) -> PactnetMarking:
    """One marking: the object's pactnet one (or the default), its strictest TLP, its one ISA marking."""
    if len(found.pactnet) > 1:
        refs = ", ".join(sorted(found.pactnet))
        place.fail("object_marking_refs", f"two pactnet markings ({refs}); an object has one originator and level")
    if len(found.isas) > 1:
        place.fail("object_marking_refs", f"two ISA markings ({', '.join(sorted(found.isas))}); send them as one")
    base = next(iter(found.pactnet.values()), default)
    if base is None:
        place.fail("object_marking_refs", _MISSING)
    tlp = strictest([*found.tlps, *([base.tlp] if base.tlp else [])])
    isa = next(iter(found.isas.values()), base.isa)
    return replace(base, tlp=tlp, isa=isa)


def is_pactnet_definition(definition: Mapping[str, Any]) -> bool:
    """Whether a marking-definition carries the pactnet extension (and is then replaced by a holder's)."""
    extensions = definition.get("extensions")
    return isinstance(extensions, Mapping) and PACTNET_MARKING_EXTENSION_ID in extensions


def party_identity_id(party: str) -> str:
    """The STIX identity id of a party (uuid5 of its code): what a holder's marking definitions are created by."""
    return f"identity--{uuid.uuid5(_NAMESPACE, f'party:{party}')}"


def party_identity(party: str, name: str) -> dict[str, Any]:
    """The identity object of a party, served beside the marking definitions it created."""
    identity = defined_object("identity", party_identity_id(party), PACTNET_IDENTITY_ID)
    return identity | {"name": name, "identity_class": "organization"}


def held_marking_definition(marking: PactnetMarking, holder: str) -> dict[str, Any]:
    """The marking-definition `holder` serves an object under: `marking.level` already in the holder's scheme.

    Its id is a uuid5 of its content, so the same marking held by the same party is one definition however many
    objects use it; its `created` is fixed for the same reason (a marking definition never changes).
    """
    extension: dict[str, Any] = {
        "extension_type": "property-extension",
        "originator": marking.originator,
        "level": marking.level,
        "precedence": marking.precedence,
    }
    # STIX 2.1 §3.3: no empty lists; an absent categories or compartments is an empty one (the schema's default).
    if marking.categories:
        extension["categories"] = list(marking.categories)
    if marking.compartments:
        extension["compartments"] = list(marking.compartments)
    if marking.rel_to is not None:
        # An absent rel_to would widen an empty one; releasable to the holder alone lets it go nowhere as well.
        extension["rel_to"] = list(marking.rel_to or (holder,))
    # ASCII JSON: a name uuid5 can always encode, the same for the same content whatever its characters.
    content = json.dumps({"holder": holder, "marking": extension}, sort_keys=True, ensure_ascii=True)
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": f"marking-definition--{uuid.uuid5(_NAMESPACE, content)}",
        "created_by_ref": party_identity_id(holder),
        "created": DEFINED,
        "name": f"pactnet: {marking.originator} {marking.level}, held by {holder}",
        "extensions": {PACTNET_MARKING_EXTENSION_ID: extension},
    }


def restamp(obj: Mapping[str, Any], held_def_id: str, definitions: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """`obj` as a holder serves it: its pactnet marking refs replaced by `held_def_id`, TLP, ISA and others kept.

    `definitions` are the marking definitions by id, as for `marking_of`; a reference whose definition carries
    the pactnet extension is the originator's (or an earlier holder's) and is dropped, in granular markings too.
    """

    def is_pactnet(ref: object) -> bool:
        definition = definitions.get(ref) if isinstance(ref, str) else None
        return definition is not None and is_pactnet_definition(definition)

    served = dict(obj)
    kept = [ref for ref in obj.get("object_marking_refs", []) if not is_pactnet(ref) and ref != held_def_id]
    served["object_marking_refs"] = [held_def_id, *kept]
    if "granular_markings" in obj:
        granular = [marking for marking in obj["granular_markings"] if not is_pactnet(marking.get("marking_ref"))]
        if granular:
            served["granular_markings"] = granular
        else:
            del served["granular_markings"]  # STIX 2.1 §3.3: an empty list is not allowed; the property goes
    return served


def default_marking(table: Mapping[str, Any], originator: str, where: str = "the default marking") -> PactnetMarking:
    """The default marking a node's config names for objects posted without one (originator: the node's party).

    `table` has the extension's fields but the originator (level required; categories, rel_to, compartments,
    precedence optional) and an optional `tlp`; a wrong one is a StixMarkingError naming `where`.
    """
    place = Place(where)
    body = place.mapping(table, "the table")
    if "originator" in body:
        place.fail("originator", "is this node's own party; leave it out")
    marking = _read_pactnet(
        {"extension_type": "property-extension", "originator": originator}
        | {key: value for key, value in body.items() if key != "tlp"},
        "the table",
        place,
    )
    tlp = place.choice(body["tlp"], "tlp", TLP_LEVELS) if "tlp" in body else None
    return replace(marking, tlp=as_tlp(tlp) if tlp else None)
