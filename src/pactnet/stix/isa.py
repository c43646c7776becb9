"""The ISA/ACS 3.0 marking extension: the three fields pactnet honours, read from a marking definition.

The extension (`extension-definition--3a65884d-005a-4290-8335-cb2d778a83ce`, CISA's Information Sharing
Architecture Access Control Specification 3.0 for STIX 2.1) carries many fields; pactnet reads three and serves
the definition itself unchanged: `control_set.classification`, the `permitted_nationalities` of
`access_privilege` rules, and the `further_sharing` rules. Every other field is kept as received, not checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pactnet.stix.checks import MAX_ITEMS, kind

if TYPE_CHECKING:
    from pactnet.stix.checks import Place

ISA_EXTENSION_ID = "extension-definition--3a65884d-005a-4290-8335-cb2d778a83ce"
# ACS 3.0 control_set.classification: unclassified, confidential, secret, top secret (US scheme).
CLASSIFICATIONS = ("U", "C", "S", "TS")
RULE_EFFECTS = ("permit", "deny")
# ACS 3.0: "ALL" in a scope or a list of nationalities stands for everyone.
EVERYONE = "ALL"


@dataclass(frozen=True, slots=True)
class SharingRule:
    """One ACS 3.0 further_sharing rule: to whom (scope tokens such as `USA` or `USA.USG`), permit or deny."""

    scope: tuple[str, ...]
    effect: Literal["permit", "deny"]


@dataclass(frozen=True, slots=True)
class IsaMarking:
    """What pactnet honours of an ISA/ACS 3.0 marking; None where the marking does not say."""

    further_sharing: tuple[SharingRule, ...] | None
    classification: str | None
    permitted_nationalities: tuple[str, ...] | None


def read_isa(extension: object, where: str, place: Place) -> IsaMarking:
    """The ISA marking an extension holds; a malformed field is refused with its path."""
    body = place.mapping(extension, where)
    classification = None
    if "control_set" in body:
        control_set = place.mapping(body["control_set"], f"{where}.control_set")
        if "classification" in control_set:
            at = f"{where}.control_set.classification"
            classification = place.choice(control_set["classification"], at, CLASSIFICATIONS)
    further = None
    if "further_sharing" in body:
        further = _sharing_rules(body["further_sharing"], f"{where}.further_sharing", place)
    nationalities = None
    if "access_privilege" in body:
        nationalities = _nationalities(body["access_privilege"], f"{where}.access_privilege", place)
    return IsaMarking(further, classification, nationalities)


def _rules(value: object, where: str, place: Place) -> list[tuple[str, dict[str, object]]]:
    if not isinstance(value, list):
        place.fail(where, f"expected a list of rules, found {kind(value)}")
    if len(value) > MAX_ITEMS:
        place.fail(where, f"more than {MAX_ITEMS} rules")
    return [(f"{where}[{index}]", dict(place.mapping(rule, f"{where}[{index}]"))) for index, rule in enumerate(value)]


def _sharing_rules(value: object, where: str, place: Place) -> tuple[SharingRule, ...]:
    rules = []
    for at, rule in _rules(value, where, place):
        scope = rule.get("sharing_scope")
        # ACS 3.0 examples write the scope both as one token and as a list of them.
        where_scope = f"{at}.sharing_scope"
        tokens = (place.text(scope, where_scope),) if isinstance(scope, str) else place.texts(scope, where_scope)
        effect = place.choice(rule.get("rule_effect"), f"{at}.rule_effect", RULE_EFFECTS)
        rules.append(SharingRule(tokens, "permit" if effect == "permit" else "deny"))
    return tuple(rules)


def _nationalities(value: object, where: str, place: Place) -> tuple[str, ...] | None:
    """Those permitted by some rule and denied by none; None when no rule names nationalities."""
    permitted: list[str] = []
    denied: set[str] = set()
    named = False
    for at, rule in _rules(value, where, place):
        scope = place.mapping(rule.get("privilege_scope", {}), f"{at}.privilege_scope")
        if "permitted_nationalities" not in scope:
            continue
        named = True
        codes = place.texts(scope["permitted_nationalities"], f"{at}.privilege_scope.permitted_nationalities")
        effect = place.choice(rule.get("rule_effect"), f"{at}.rule_effect", RULE_EFFECTS)
        if effect == "permit":
            permitted.extend(codes)
        else:
            denied.update(codes)
    if not named:
        return None
    return tuple(code for code in dict.fromkeys(permitted) if code not in denied)


def scope_names(party: str, scope: tuple[str, ...]) -> bool:
    """Whether a scope covers a party: `ALL`, its code, or an entity under its code (`USA.USG` covers USA)."""
    return any(token in (EVERYONE, party) or token.startswith(f"{party}.") for token in scope)
