"""`pactnet consent`: ask an originator for consent to pass an item on, list the requests, answer them."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import typer

from pactnet.cli.remote_tables import consent_cells, consent_request_cells, sent_cell
from pactnet.cli.terminal import (
    AS_JSON,
    NEWEST,
    SENT_LATER,
    UNTIL,
    NodeFolder,
    Purpose,
    ReceivedReport,
    ThirdParty,
    instant,
    node_at,
    notice_table,
    out,
    print_json,
    show_newest,
)

app = typer.Typer(
    help="Consent to pass items on (GSOMIA art. 6): request, list, answer, and the consents known here (inbox).",
    no_args_is_help=True,
)
REQUEST_COLUMNS = ("title", "purpose", "direction", "asked", "to", "state", "sent")
CONSENT_COLUMNS = ("title", "by", "to", "at", "until", "request")


@app.command("request")
def request(
    folder: NodeFolder,
    report_id: ReceivedReport,
    to: ThirdParty,
    purpose: Purpose,
    as_json: bool = AS_JSON,
) -> None:
    """Ask the report's originator for consent to release it to a third party; the request is queued."""
    from pactnet.services.consent_requests import request_consent  # noqa: PLC0415

    with node_at(folder) as node:
        asked = request_consent(node, None, report_id, to, purpose)
    if as_json:
        print_json(asked)
        return
    out.print(f"consent request {asked['id']}: {report_id} to {to}, asked of {asked['originator']}", markup=False)
    out.print(f"queued for {asked['originator']}'s node: {SENT_LATER}", markup=False)


@app.command("list")
def list_(folder: NodeFolder, limit: int = NEWEST, as_json: bool = AS_JSON) -> None:
    """List the consent requests asked here (outgoing) or of this party as originator (incoming)."""
    from pactnet.services.consent_requests import list_requests  # noqa: PLC0415

    show_newest(folder, list_requests, limit, as_json=as_json, as_table=partial(_requests_table, folder))


def _requests_table(folder: Path, found: list[dict[str, Any]]) -> None:
    table = notice_table(f"consent requests of {folder}", REQUEST_COLUMNS)
    for one in found:
        table.add_row(*consent_request_cells(one), sent_cell(one))
    out.print(table)


@app.command("answer")
def answer(
    folder: NodeFolder,
    request_id: str = typer.Argument(..., help="The id of a request asked of this party."),
    grant: bool = typer.Option(..., "--grant/--refuse", help="Grant (a signed consent) or refuse."),
    reason: str | None = typer.Option(None, "--reason", help="Why; required to refuse."),
    until: str | None = UNTIL,
    as_json: bool = AS_JSON,
) -> None:
    """As originator, grant or refuse a request; the answer is queued for the holder's node."""
    from pactnet.services.consent_requests import answer_request  # noqa: PLC0415

    ends = None if until is None else instant(until, "--until")
    with node_at(folder) as node:
        answered = answer_request(node, None, request_id, grant=grant, reason=reason, until=ends)
    if as_json:
        print_json(answered)
        return
    out.print(f"consent request {request_id} {answered['state']}: {answered['report_id']} to {answered['to']}")
    out.print(f"the answer is queued for {answered['holder']}'s node: {SENT_LATER}", markup=False)


@app.command("inbox")
def inbox(folder: NodeFolder, limit: int = NEWEST, as_json: bool = AS_JSON) -> None:
    """List the originators' consents about items held here; an unasked one waits for `pactnet report release`."""
    from pactnet.services.consent_inbox import list_consents  # noqa: PLC0415

    show_newest(folder, list_consents, limit, as_json=as_json, as_table=partial(_consents_table, folder))


def _consents_table(folder: Path, found: list[dict[str, Any]]) -> None:
    table = notice_table(f"consents known at {folder}", CONSENT_COLUMNS)
    unasked = 0
    for one in found:
        unasked += one["direction"] == "received" and one["to"] is not None and one["request"] is None
        table.add_row(*consent_cells(one))
    out.print(table)
    if unasked:
        out.print(
            f"{unasked} consent(s) that no request of this node asked for: nothing is sent until a user releases the "
            f"item (pactnet report release {folder} REPORT_ID --to PARTY)",
            markup=False,
        )
