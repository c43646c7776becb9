"""How TLP and ISA markings narrow whom an object may go to; they never widen what the agreements allow.

The agreements in force decide every transfer (policy.decide); these markings are applied after, and only remove
recipients. The table (docs/stix.md, "What TLP and ISA do") reads a party's node as the organization TLP speaks
of: the user who posts an object shares it with their own node, which passes it to partners under agreements.

TLP 2.0 (FIRST, 2022):
  clear, green   nothing removed (the parties under agreements are the community green allows)
  amber          the originator's node may pass it to partners (need to know, under the agreements); a holder
                 that is not the originator passes it to nobody (amber is for the recipient's organization)
  amber+strict   nobody: restricted to the organization it was shared with
  red            nobody: for the named recipients only, so it never leaves the node
ISA/ACS 3.0:
  permitted_nationalities   a recipient whose code is not listed (nor ALL) is removed
  further_sharing           a recipient is kept only when a permit rule's scope covers it and no deny rule's
                            does (ACS 3.0 `sharedefault=deny`; a scope covers USA as `ALL`, `USA` or `USA.*`)
  classification            removes nobody: the pactnet level decides, under the agreements' equivalence tables
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pactnet.stix.isa import EVERYONE, scope_names

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pactnet.stix.isa import IsaMarking
    from pactnet.stix.marking import PactnetMarking


def narrowed_recipients(
    marking: PactnetMarking, recipients: Sequence[str], holder: str | None = None
) -> tuple[list[str], dict[str, str]]:
    """The recipients TLP and ISA leave, in order, and for each removed one the reason in words.

    `holder` is the party passing the object on; None means its originator (a post to the writable collection).
    """
    holder = marking.originator if holder is None else holder
    kept: list[str] = []
    removed: dict[str, str] = {}
    for recipient in dict.fromkeys(recipients):
        reasons = [*_tlp_reasons(marking, holder, recipient), *_isa_reasons(marking.isa, recipient)]
        if reasons:
            removed[recipient] = "; ".join(reasons)
        else:
            kept.append(recipient)
    return kept, removed


def _tlp_reasons(marking: PactnetMarking, holder: str, recipient: str) -> list[str]:
    if marking.tlp == "red":
        return [f"TLP:RED is for the named recipients only: it never leaves {holder}'s node, not even to {recipient}"]
    if marking.tlp == "amber+strict":
        return [f"TLP:AMBER+STRICT restricts it to {holder}'s own organization; {recipient} is another"]
    if marking.tlp == "amber" and holder != marking.originator:
        shared = f"TLP:AMBER: {marking.originator} shared it for {holder}'s organization to use"
        return [f"{shared}; {holder} may not pass it on to {recipient}"]
    return []


def _isa_reasons(isa: IsaMarking | None, recipient: str) -> list[str]:
    if isa is None:
        return []
    reasons = []
    nationalities = isa.permitted_nationalities
    if nationalities is not None and EVERYONE not in nationalities and recipient not in nationalities:
        listed = ", ".join(nationalities) or "none"
        reasons.append(f"ISA permitted_nationalities ({listed}) does not include {recipient}")
    if isa.further_sharing is not None:
        denied = [rule for rule in isa.further_sharing if rule.effect == "deny" and scope_names(recipient, rule.scope)]
        permitted = [rule for rule in isa.further_sharing if rule.effect == "permit"]
        if denied:
            reasons.append(f"ISA further_sharing denies {', '.join(denied[0].scope)}, which covers {recipient}")
        elif not any(scope_names(recipient, rule.scope) for rule in permitted):
            scopes = ", ".join(token for rule in permitted for token in rule.scope) or "nobody"
            reasons.append(f"ISA further_sharing permits only {scopes}; not {recipient}")
    return reasons
