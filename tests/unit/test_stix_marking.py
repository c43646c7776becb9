"""The STIX 2.1 mapping: objects built with stix2, markings read and served, checked by stix2-validator."""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import stix2
from hypothesis import given, settings
from hypothesis import strategies as st
from stix2validator import ValidationOptions, validate_instance

import pactnet.stix
from pactnet.services.stix_index import object_text, stix_body_problem
from pactnet.stix import (
    ISA_EXTENSION_ID,
    PACTNET_MARKING_EXTENSION_ID,
    TLP_EXTENSION_ID,
    TLP_LEVELS,
    IsaMarking,
    PactnetMarking,
    SharingRule,
    StixMarkingError,
    default_marking,
    extension_definition,
    held_marking_definition,
    marking_of,
    marking_schema,
    narrowed_recipients,
    pactnet_identity,
    party_identity,
    restamp,
    tlp_marking_definition,
    tlp_of,
)
from pactnet.stix.tlp import TLP_2_ID_OF

DOCS = Path(__file__).resolve().parents[2] / "docs" / "stix.md"
ROK_LEVEL = "군사II급비밀"
JPN_LEVEL = "極秘"
RED = TLP_2_ID_OF["red"]
AMBER = TLP_2_ID_OF["amber"]
_OPTIONS = ValidationOptions(version="2.1")


def valid(obj: dict[str, Any]) -> list[str]:
    """The errors stix2-validator finds in an object (warnings, such as uuid5 ids, are not errors)."""
    return [str(error) for error in validate_instance(obj, _OPTIONS).errors]


def rok_marking(**changes: Any) -> PactnetMarking:
    fields: dict[str, Any] = {
        "originator": "ROK",
        "level": ROK_LEVEL,
        "categories": ("military",),
        "rel_to": None,
        "compartments": (),
        "precedence": "routine",
    }
    return PactnetMarking(**(fields | changes))


def pactnet_definition(**fields: Any) -> dict[str, Any]:
    """A marking-definition carrying the pactnet extension, built and serialized by stix2."""
    extension = {"extension_type": "property-extension", "originator": "ROK", "level": ROK_LEVEL} | fields
    definition = stix2.MarkingDefinition(name="ROK marking", extensions={PACTNET_MARKING_EXTENSION_ID: extension})
    serialized: dict[str, Any] = json.loads(definition.serialize())
    return serialized


def isa_definition(**fields: Any) -> dict[str, Any]:
    extension = {"extension_type": "property-extension"} | fields
    definition = stix2.MarkingDefinition(name="ISA marking", extensions={ISA_EXTENSION_ID: extension})
    serialized: dict[str, Any] = json.loads(definition.serialize())
    return serialized


def indicator(*refs: str, **properties: Any) -> dict[str, Any]:
    built = stix2.Indicator(
        pattern="[ipv4-addr:value = '198.51.100.7']",
        pattern_type="stix",
        valid_from="2026-12-01T00:00:00Z",
        object_marking_refs=list(refs) or None,
        **properties,
    )
    serialized: dict[str, Any] = json.loads(built.serialize())
    return serialized


def by_id(*definitions: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {definition["id"]: definition for definition in definitions}


class TestThePackage:
    """stix/ is pure and exports a small, sorted surface."""

    def test_it_imports_only_the_standard_library_the_core_and_itself(self):
        offenders = []
        for path in Path(pactnet.stix.__file__).parent.glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                names += [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
                own = ("pactnet.stix", "pactnet.policy", "pactnet.errors", "__future__")
                offenders += [
                    f"{path.name}: {name}"
                    for name in names
                    if not name.startswith(own) and name.split(".")[0] not in sys.stdlib_module_names
                ]
        assert offenders == []

    def test_the_exports_are_sorted_and_exist(self):
        # ruff's RUF022 order: constants, then classes, then functions, each alphabetically.
        order = sorted(pactnet.stix.__all__, key=lambda name: (not name.isupper(), not name[0].isupper(), name))
        assert pactnet.stix.__all__ == order
        assert all(hasattr(pactnet.stix, name) for name in pactnet.stix.__all__)


class TestTheExtensionDefinition:
    """The pactnet extension as it is served: valid STIX, a schema that holds what pactnet writes."""

    def test_the_extension_definition_and_its_identity_pass_the_validator_and_parse_with_stix2(self):
        for obj in (extension_definition(), pactnet_identity(), party_identity("JPN", "Government of Japan")):
            assert valid(obj) == []
            assert stix2.parse(obj).id == obj["id"]

    def test_the_schema_served_in_the_definition_is_the_marking_schema(self):
        assert json.loads(extension_definition()["schema"]) == marking_schema()

    def test_what_a_holder_writes_is_valid_under_the_schema_and_a_stray_property_is_not(self):
        held = held_marking_definition(rok_marking(rel_to=("JPN",), compartments=("ALPHA",)), "JPN")
        extension = held["extensions"][PACTNET_MARKING_EXTENSION_ID]
        jsonschema.validate(extension, marking_schema())
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(extension | {"tlp": "red"}, marking_schema())

    def test_docs_name_the_fixed_id_and_every_field(self):
        text = DOCS.read_text(encoding="utf-8")
        assert PACTNET_MARKING_EXTENSION_ID in text
        for field in marking_schema()["properties"]:
            assert f"`{field}`" in text

    def test_the_five_tlp_2_definitions_are_valid_and_carry_their_level(self):
        for level in TLP_LEVELS:
            definition = tlp_marking_definition(level)
            assert valid(definition) == []
            assert definition["extensions"][TLP_EXTENSION_ID]["tlp_2_0"] == level
            assert marking_of(indicator(definition["id"]), {}, rok_marking()).tlp == level


class TestReadingAMarking:
    """marking_of: what an object's marking references say, together."""

    def test_every_pactnet_field_is_read_from_a_definition_built_with_stix2(self):
        definition = pactnet_definition(
            categories=["military", "cyber"], rel_to=["JPN"], compartments=["ALPHA"], precedence="flash"
        )
        marking = marking_of(indicator(definition["id"]), by_id(definition), None)
        assert marking == PactnetMarking(
            "ROK", ROK_LEVEL, ("military", "cyber"), ("JPN",), ("ALPHA",), "flash", tlp=None, isa=None
        )

    def test_absent_optional_fields_mean_no_categories_no_restriction_and_routine(self):
        definition = pactnet_definition()
        marking = marking_of(indicator(definition["id"]), by_id(definition), None)
        assert (marking.categories, marking.rel_to, marking.compartments, marking.precedence) == (
            (),
            None,
            (),
            "routine",
        )

    def test_a_tlp_2_id_is_known_without_its_definition(self):
        definition = pactnet_definition()
        assert marking_of(indicator(definition["id"], RED), by_id(definition), None).tlp == "red"

    def test_tlp_1_as_stix2_predefines_it_reads_as_the_tlp_2_level_of_the_same_meaning(self):
        definition = pactnet_definition()
        white = marking_of(indicator(definition["id"], stix2.TLP_WHITE.id), by_id(definition), None)
        amber = marking_of(indicator(definition["id"], stix2.TLP_AMBER.id), by_id(definition), None)
        assert (white.tlp, amber.tlp) == ("clear", "amber")

    def test_of_two_tlp_markings_the_stricter_holds(self):
        definition = pactnet_definition()
        green = TLP_2_ID_OF["green"]
        assert marking_of(indicator(green, definition["id"], AMBER), by_id(definition), None).tlp == "amber"

    def test_a_granular_tlp_red_marks_the_whole_object(self):
        definition = pactnet_definition()
        obj = indicator(definition["id"], granular_markings=[{"marking_ref": RED, "selectors": ["pattern"]}])
        assert marking_of(obj, by_id(definition), None).tlp == "red"

    def test_the_three_isa_fields_are_read(self):
        isa = isa_definition(
            control_set={"classification": "S", "formal_determination": ["AIS"]},
            further_sharing=[{"sharing_scope": ["USA.USG", "JPN"], "rule_effect": "permit"}],
            access_privilege=[
                {
                    "privilege_action": "CISAUSES",
                    "privilege_scope": {"permitted_nationalities": ["JPN", "USA"]},
                    "rule_effect": "permit",
                },
                {
                    "privilege_action": "CISAUSES",
                    "privilege_scope": {"permitted_nationalities": ["USA"]},
                    "rule_effect": "deny",
                },
            ],
        )
        definition = pactnet_definition()
        marking = marking_of(indicator(definition["id"], isa["id"]), by_id(definition, isa), None)
        assert marking.isa == IsaMarking((SharingRule(("USA.USG", "JPN"), "permit"),), "S", ("JPN",))

    def test_the_default_marks_an_object_without_a_pactnet_marking_and_its_tlp_can_only_narrow(self):
        default = rok_marking(tlp="green")
        assert marking_of(indicator(), {}, default) == default
        assert marking_of(indicator(RED), {}, default).tlp == "red"
        assert marking_of(indicator(TLP_2_ID_OF["clear"]), {}, default).tlp == "green"

    def test_an_object_without_a_pactnet_marking_or_default_is_refused_naming_the_extension(self):
        obj = indicator(RED)
        with pytest.raises(StixMarkingError) as refused:
            marking_of(obj, {}, None)
        assert refused.value.object_id == obj["id"]
        assert str(refused.value).startswith(obj["id"])
        assert PACTNET_MARKING_EXTENSION_ID in str(refused.value)
        assert "taxii_default_level" in str(refused.value)


class TestRefusedMarkings:
    """Every malformed marking is refused with the object's id and the property that is wrong."""

    def refusal(self, obj: dict[str, Any], definitions: dict[str, dict[str, Any]]) -> str:
        with pytest.raises(StixMarkingError) as refused:
            marking_of(obj, definitions, None)
        assert refused.value.object_id == obj["id"]
        return refused.value.problem

    def test_a_reference_to_a_definition_neither_sent_nor_stored(self):
        definition = pactnet_definition()
        problem = self.refusal(indicator(definition["id"]), {})
        assert problem.startswith("object_marking_refs[0]:")
        assert definition["id"] in problem

    def test_two_pactnet_markings(self):
        first, second = pactnet_definition(), pactnet_definition(level="군사I급비밀")
        assert "two pactnet markings" in self.refusal(indicator(first["id"], second["id"]), by_id(first, second))

    @pytest.mark.parametrize(
        ("fields", "where", "says"),
        [
            ({"categories": "military"}, "categories", "expected a list of strings, found a string"),
            ({"categories": [1]}, "categories[0]", "expected a string, found a number"),
            ({"rel_to": []}, "rel_to", "TLP:RED"),
            ({"precedence": "urgent"}, "precedence", "expected one of flash, immediate, priority, routine"),
            ({"level": ""}, "level", "non-empty"),
            ({"level": "x" * 201}, "level", "longer than 200"),
            ({"originator": "RO\x00K"}, "originator", "not text"),
            ({"tlp": "red"}, "", "unknown property tlp"),
        ],
    )
    def test_a_malformed_pactnet_field(self, fields: dict[str, Any], where: str, says: str):
        definition = pactnet_definition()
        definition["extensions"][PACTNET_MARKING_EXTENSION_ID] |= fields
        problem = self.refusal(indicator(definition["id"]), by_id(definition))
        assert f"{PACTNET_MARKING_EXTENSION_ID}{'.' if where else ''}{where}: " in problem
        assert says in problem

    def test_a_missing_level(self):
        definition = pactnet_definition()
        del definition["extensions"][PACTNET_MARKING_EXTENSION_ID]["level"]
        assert self.refusal(indicator(definition["id"]), by_id(definition)).endswith(".level: missing")

    def test_an_isa_classification_outside_acs(self):
        isa, definition = isa_definition(control_set={"classification": "SECRET"}), pactnet_definition()
        problem = self.refusal(indicator(definition["id"], isa["id"]), by_id(definition, isa))
        assert "control_set.classification: expected one of U, C, S, TS" in problem

    def test_a_reference_that_is_not_a_marking_definition_id(self):
        obj = indicator() | {"object_marking_refs": ["identity--a277c742-67ac-4f1f-ac95-67caa5987bde"]}
        assert "is not a marking-definition id" in self.refusal(obj, {})


class TestServedMarking:
    """A holder serves an object under its own marking definition, keeping TLP and ISA, as valid STIX."""

    def test_the_held_definition_is_valid_stix_and_reads_back_as_the_holders_marking(self):
        held_marking = rok_marking(level=JPN_LEVEL, rel_to=("JPN", "USA"), compartments=("ALPHA",))
        held = held_marking_definition(held_marking, "JPN")
        assert valid(held) == []
        assert stix2.parse(held).id == held["id"]
        assert marking_of(indicator(held["id"]), by_id(held), None) == held_marking

    def test_the_id_depends_on_the_content_and_the_holder_only(self):
        marking = rok_marking(level=JPN_LEVEL)
        assert held_marking_definition(marking, "JPN") == held_marking_definition(marking, "JPN")
        assert held_marking_definition(marking, "JPN")["id"] != held_marking_definition(marking, "USA")["id"]
        other = rok_marking(level="機密")
        assert held_marking_definition(marking, "JPN")["id"] != held_marking_definition(other, "JPN")["id"]

    def test_an_empty_rel_to_is_served_as_releasable_to_the_holder_alone(self):
        held = held_marking_definition(rok_marking(rel_to=()), "JPN")
        assert valid(held) == []
        assert held["extensions"][PACTNET_MARKING_EXTENSION_ID]["rel_to"] == ["JPN"]

    def test_restamping_replaces_the_originators_marking_and_keeps_tlp_and_isa(self):
        originators, isa = pactnet_definition(), isa_definition(control_set={"classification": "U"})
        obj = indicator(
            originators["id"],
            AMBER,
            isa["id"],
            granular_markings=[{"marking_ref": originators["id"], "selectors": ["pattern"]}],
        )
        definitions = by_id(originators, isa)
        held = held_marking_definition(replace_level(marking_of(obj, definitions, None), JPN_LEVEL), "JPN")
        served = restamp(obj, held["id"], definitions | by_id(held))
        assert served["object_marking_refs"] == [held["id"], AMBER, isa["id"]]
        assert "granular_markings" not in served
        assert valid(served) == []
        again = marking_of(served, definitions | by_id(held), None)
        assert (again.originator, again.level, again.tlp) == ("ROK", JPN_LEVEL, "amber")
        assert obj["object_marking_refs"][0] == originators["id"]  # the stored object is left as it was


def replace_level(marking: PactnetMarking, level: str) -> PactnetMarking:
    return PactnetMarking(
        marking.originator,
        level,
        marking.categories,
        marking.rel_to,
        marking.compartments,
        marking.precedence,
        marking.tlp,
        marking.isa,
    )


class TestNarrowing:
    """TLP and ISA only remove recipients, as the table in docs/stix.md says."""

    @pytest.mark.parametrize(
        ("tlp", "by_originator", "by_holder"),
        [
            (None, ["JPN", "USA"], ["JPN", "USA"]),
            ("clear", ["JPN", "USA"], ["JPN", "USA"]),
            ("green", ["JPN", "USA"], ["JPN", "USA"]),
            ("amber", ["JPN", "USA"], []),
            ("amber+strict", [], []),
            ("red", [], []),
        ],
    )
    def test_what_each_tlp_level_leaves(self, tlp: Any, by_originator: list[str], by_holder: list[str]):
        marking = rok_marking(tlp=tlp)
        kept, removed = narrowed_recipients(marking, ["JPN", "USA"])
        assert kept == by_originator
        assert set(removed) == {"JPN", "USA"} - set(by_originator)
        onward, _ = narrowed_recipients(marking, ["ROK", "USA"], holder="JPN")
        assert onward == [party for party in ["ROK", "USA"] if party in by_holder or by_holder == ["JPN", "USA"]]

    def test_a_removed_recipient_is_given_the_reason_in_words(self):
        _, removed = narrowed_recipients(rok_marking(tlp="red"), ["JPN"])
        assert "TLP:RED" in removed["JPN"]
        assert "never leaves" in removed["JPN"]

    def test_isa_permitted_nationalities_remove_the_unlisted(self):
        marking = rok_marking(isa=IsaMarking(None, "U", ("JPN",)))
        kept, removed = narrowed_recipients(marking, ["JPN", "USA"])
        assert kept == ["JPN"]
        assert "permitted_nationalities (JPN) does not include USA" in removed["USA"]

    def test_isa_further_sharing_needs_a_permit_and_no_deny(self):
        rules = (SharingRule(("ALL",), "permit"), SharingRule(("USA.USG",), "deny"))
        kept, removed = narrowed_recipients(rok_marking(isa=IsaMarking(rules, None, None)), ["JPN", "USA"])
        assert kept == ["JPN"]
        assert "denies USA.USG" in removed["USA"]
        kept, _ = narrowed_recipients(rok_marking(isa=IsaMarking((), None, None)), ["JPN", "USA"])
        assert kept == []

    def test_an_isa_classification_alone_removes_nobody(self):
        assert narrowed_recipients(rok_marking(isa=IsaMarking(None, "TS", None)), ["JPN"]) == (["JPN"], {})

    @given(
        tlp=st.sampled_from([None, *TLP_LEVELS]),
        nationalities=st.none() | st.lists(st.sampled_from(["JPN", "USA", "ROK", "ALL"])),
        recipients=st.lists(st.sampled_from(["JPN", "USA", "ROK", "GBR"])),
        holder=st.sampled_from([None, "JPN"]),
    )
    def test_narrowing_never_adds_and_accounts_for_every_recipient(self, tlp, nationalities, recipients, holder):
        isa = None if nationalities is None else IsaMarking(None, None, tuple(nationalities))
        kept, removed = narrowed_recipients(rok_marking(tlp=tlp, isa=isa), recipients, holder)
        assert set(kept) <= set(recipients)
        assert set(kept).isdisjoint(removed)
        assert set(kept) | set(removed) == set(recipients)


class TestDefaultMarking:
    """The default a node's config names for objects posted without a pactnet marking."""

    def test_a_table_becomes_the_nodes_own_marking(self):
        table = {"level": ROK_LEVEL, "categories": ["military"], "tlp": "amber"}
        assert default_marking(table, "ROK") == rok_marking(tlp="amber")

    @pytest.mark.parametrize(
        ("table", "says"),
        [
            ({}, "level: missing"),
            ({"level": ROK_LEVEL, "originator": "JPN"}, "originator: is this node's own party"),
            ({"level": ROK_LEVEL, "tlp": "white"}, "tlp: expected one of clear, green, amber, amber+strict, red"),
            ({"level": ROK_LEVEL, "colour": "red"}, "unknown property colour"),
        ],
    )
    def test_a_wrong_table_is_refused_naming_the_setting(self, table: dict[str, Any], says: str):
        with pytest.raises(StixMarkingError, match=re.escape(says)) as refused:
            default_marking(table, "ROK")
        assert refused.value.object_id == "the default marking"


# JSON as hostile clients send it: lone surrogates, NUL, huge integers, deep nesting, any shape.
_TEXT = st.text(st.characters(codec=None, categories=None), max_size=30) | st.sampled_from(["\ud800", "a\x00b", ""])
_SCALARS = (
    st.none() | st.booleans() | st.integers() | st.just(5000).map(lambda digits: 10**digits) | st.floats() | _TEXT
)
_JSON = st.recursive(
    _SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4), max_leaves=20
)


def nested(depth: int) -> Any:
    value: Any = "military"
    for _ in range(depth):
        value = [value]
    return value


class TestHostileInput:
    """Whatever arrives, marking_of answers a marking or a StixMarkingError, never another exception."""

    @given(obj=st.dictionaries(st.sampled_from(["object_marking_refs", "granular_markings", "id"]), _JSON))
    def test_tlp_of_a_held_object_never_raises(self, obj: Any):
        assert tlp_of(obj) in (None, *TLP_LEVELS)

    def test_tlp_of_reads_object_level_and_granular_fixed_ids(self):
        assert tlp_of(indicator(AMBER, granular_markings=[{"marking_ref": RED, "selectors": ["pattern"]}])) == "red"
        assert tlp_of(indicator(stix2.TLP_GREEN.id)) == "green"
        assert tlp_of(indicator()) is None

    @settings(max_examples=300)
    @given(obj=_JSON, definitions=st.dictionaries(_TEXT, _JSON, max_size=3))
    def test_any_value_as_the_object(self, obj: Any, definitions: Any):
        try:
            marking_of(obj, definitions, rok_marking())
        except StixMarkingError as refused:
            str(refused).encode("utf-8")  # a message that can be logged and sent

    @settings(max_examples=300)
    @given(
        field=st.sampled_from(["originator", "level", "categories", "rel_to", "compartments", "precedence"]),
        value=_JSON,
    )
    def test_any_value_in_any_pactnet_field(self, field: str, value: Any):
        definition = pactnet_definition()
        definition["extensions"][PACTNET_MARKING_EXTENSION_ID][field] = value
        try:
            marking = marking_of(indicator(definition["id"]), by_id(definition), None)
        except StixMarkingError as refused:
            str(refused).encode("utf-8")
        else:
            assert isinstance(getattr(marking, field), str | tuple)

    @settings(max_examples=200)
    @given(refs=_JSON, granular=_JSON, isa=_JSON)
    def test_any_value_in_the_references_and_the_isa_extension(self, refs: Any, granular: Any, isa: Any):
        definition, isa_def = pactnet_definition(), isa_definition()
        isa_def["extensions"][ISA_EXTENSION_ID] = isa
        obj = indicator(definition["id"], isa_def["id"]) | {"granular_markings": granular}
        for candidate in (obj, obj | {"object_marking_refs": refs}):
            try:
                marking_of(candidate, by_id(definition, isa_def), None)
            except StixMarkingError as refused:
                str(refused).encode("utf-8")

    def test_categories_nested_ten_thousand_deep_are_refused_where_a_name_was_expected(self):
        definition = pactnet_definition()  # stix2 itself cannot build one that deep: put it in afterwards
        definition["extensions"][PACTNET_MARKING_EXTENSION_ID]["categories"] = [nested(10_000)]
        with pytest.raises(StixMarkingError, match=r"categories\[0\]: expected a string, found a list"):
            marking_of(indicator(definition["id"]), by_id(definition), None)

    def test_an_integer_too_long_to_print_is_refused_without_printing_it(self):
        definition = pactnet_definition()
        definition["extensions"][PACTNET_MARKING_EXTENSION_ID]["level"] = 10**5000
        with pytest.raises(StixMarkingError, match="level: expected a string, found a number"):
            marking_of(indicator(definition["id"]), by_id(definition), None)

    def test_a_lone_surrogate_in_the_id_is_escaped_in_the_message(self):
        obj = indicator() | {"id": "indicator--\ud800"}
        with pytest.raises(StixMarkingError) as refused:
            marking_of(obj, {}, None)
        assert "\\ud800" in str(refused.value)
        str(refused.value).encode("utf-8")


class TestStoredBodies:
    """A STIX object's body from a partner is refused when it is not JSON every TAXII client can read back."""

    @pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
    def test_a_number_json_cannot_hold_is_a_problem(self, constant: str) -> None:
        obj = stix2.v21.Indicator(
            pattern="[ipv4-addr:value = '203.0.113.9']", pattern_type="stix", valid_from="2019-11-22T15:00:00Z"
        )
        body = obj.serialize()[:-1] + f', "x_score": {constant}}}'
        problem = stix_body_problem(body)
        assert problem is not None
        assert "NaN and Infinity" in problem

    def test_a_plain_object_is_no_problem(self) -> None:
        obj = stix2.v21.Indicator(
            pattern="[ipv4-addr:value = '203.0.113.9']", pattern_type="stix", valid_from="2019-11-22T15:00:00Z"
        )
        assert stix_body_problem(obj.serialize()) is None


class TestObjectText:
    """An object is stored as compact JSON text that reads back as the same object, whatever it holds."""

    def _object(self, **extra: object) -> dict[str, object]:
        obj = stix2.v21.Indicator(
            name="원산 발사",
            pattern="[ipv4-addr:value = '203.0.113.9']",
            pattern_type="stix",
            valid_from="2019-11-22T15:00:00Z",
        )
        return {**json.loads(obj.serialize()), **extra}

    def test_sorted_text_is_the_standard_librarys_canonical_text(self) -> None:
        obj = self._object(x_score=75, x_note='quote " and \\ and \u2028', x_nested={"b": [1, None, True], "a": {}})
        assert object_text(obj, sort_keys=True) == json.dumps(
            obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")
        )
        assert json.loads(object_text(obj)) == obj

    @pytest.mark.parametrize("value", [2**70, -(2**64), "\ud800 alone"])
    def test_what_orjson_refuses_is_written_as_before(self, value: object) -> None:
        obj = self._object(x_value=value)
        text = object_text(obj, sort_keys=True)
        assert text == json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        assert json.loads(text)["x_value"] == value  # an integer stays exact, not a float
