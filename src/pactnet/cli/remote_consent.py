"""`pactnet remote consent`: ask an originator for consent at a running node, list the requests, answer them."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

import typer

from pactnet.cli import remote_tables as tables
from pactnet.cli.remote_access import AS_JSON, Access, reaching_node, show_from
from pactnet.cli.remote_listing import add_listing
from pactnet.cli.terminal import UNTIL, Purpose, ThirdParty, fail, instant, out
from pactnet.client import NodeClient

app = typer.Typer(
    help="Consent to pass items on (GSOMIA art. 6) at a running node: request, list, answer, grant, inbox."
)


def _until(until: str | None) -> str | None:
    return None if until is None else instant(until, "--until").isoformat()


@app.command("request")
@reaching_node
def request(
    report_id: Annotated[str, typer.Argument(help="The id of a report the node received.")],
    to: ThirdParty,
    purpose: Purpose,
    as_json: bool = AS_JSON,
    *,
    access: Access,
) -> None:
    """As a holder, ask a received report's originator for consent to release it to a third party."""
    show_from(
        access,
        lambda node: node.request_consent(report_id, to, purpose),
        as_json=as_json,
        as_text=tables.consent_requested,
    )


add_listing(
    app,
    "list",
    "The consent requests asked at the node (outgoing) or of its party as originator (incoming).",
    ask=NodeClient.consent_requests,
    as_table=tables.consent_requests,
)


@app.command("answer")
@reaching_node
def answer(
    request_id: str = typer.Argument(..., help="The id of a request asked of the node's party."),
    grant: bool = typer.Option(..., "--grant/--refuse", help="Grant (a signed consent) or refuse."),
    reason: str | None = typer.Option(None, "--reason", help="Why; required to refuse."),
    until: str | None = UNTIL,
    as_json: bool = AS_JSON,
    *,
    access: Access,
) -> None:
    """As originator (an officer), grant or refuse a request; the answer is sent to the holder's node."""
    ends = _until(until)
    show_from(
        access,
        lambda node: node.answer_consent(request_id, grant=grant, reason=reason, until=ends),
        as_json=as_json,
        as_text=tables.consent_answered,
    )


@app.command("grant")
@reaching_node
def grant_(
    report_id: str = typer.Argument(..., help="The id of a report the node's party originated."),
    to: str | None = typer.Option(None, "--to", help="The party it may be released to."),
    arrangement: str | None = typer.Option(None, "--arrangement", help="The arrangement it may be relayed under."),
    until: str | None = UNTIL,
    as_json: bool = AS_JSON,
    *,
    access: Access,
) -> None:
    """As originator (an officer), consent unasked to release a report to a party or relay it under an arrangement."""
    if (to is None) == (arrangement is None):
        fail("say one of --to PARTY or --arrangement ID")
    target = {"to": to} if to is not None else {"arrangement": str(arrangement)}
    ends = _until(until)
    show_from(
        access,
        lambda node: node.grant_consent(report_id, target, ends),
        as_json=as_json,
        as_text=partial(_granted, report_id),
    )


def _granted(report_id: str, granted: dict[str, Any]) -> None:
    whom = f"to {granted['to']}" if granted["to"] else f"relay under {granted['arrangement']}"
    ending = f", until {granted['until']}" if granted["until"] else ""
    out.print(f"consent {granted['id']}: {report_id} {whom}{ending}")


add_listing(
    app,
    "inbox",
    "The originators' consents about items held at the node; an unasked one waits for `remote report release`.",
    ask=NodeClient.consents,
    as_table=tables.consents,
)
