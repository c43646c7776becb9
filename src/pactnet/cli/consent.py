"""`pactnet consent`: ask an originator for consent to pass an item on, list the requests, answer them."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from pactnet.cli.remote_tables import (
    consent_answered,
    consent_cells,
    consent_request_cells,
    consent_requested,
    sent_cell,
)
from pactnet.cli.terminal import (
    AS_JSON,
    SENT_LATER,
    UNTIL,
    NodeFolder,
    Notice,
    Notices,
    Purpose,
    ReceivedReport,
    ThirdParty,
    add_newest,
    instant,
    out,
    print_notices,
    show_at,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from pactnet.node import Node

app = typer.Typer(
    help="Consent to pass items on (GSOMIA art. 6): request, list, answer, and the consents known here (inbox).",
    no_args_is_help=True,
)
REQUEST_COLUMNS = ("title", "purpose", "direction", "asked", "to", "state", "sent")
CONSENT_COLUMNS = ("title", "by", "to", "at", "until", "request")


def _then_queued(say: Callable[[Notice], None], party: str, notice: Notice) -> None:
    """A request or an answer as `pactnet remote consent` says it, then that it waits for `party`'s node."""
    say(notice)
    out.print(f"queued for {notice[party]}'s node: {SENT_LATER}")


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

    show_at(
        folder,
        lambda node: request_consent(node, None, report_id, to, purpose),
        as_json=as_json,
        as_text=partial(_then_queued, consent_requested, "originator"),
    )


# A listing reads through a function of its own that imports the service when the command runs, so that
# `pactnet --help` stays free of the database stack.
def _requests(node: Node, limit: int) -> Notices:
    from pactnet.services.consent_requests import list_requests  # noqa: PLC0415

    return list_requests(node, None, limit)


def _requests_table(folder: Path, found: Notices) -> None:
    rows = [[*consent_request_cells(one), sent_cell(one)] for one in found]
    print_notices(f"consent requests of {folder}", REQUEST_COLUMNS, rows)


add_newest(
    app,
    "list",
    "List the consent requests asked here (outgoing) or of this party as originator (incoming).",
    read=_requests,
    as_table=_requests_table,
)


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
    show_at(
        folder,
        lambda node: answer_request(node, None, request_id, grant=grant, reason=reason, until=ends),
        as_json=as_json,
        as_text=partial(_then_queued, consent_answered, "holder"),
    )


def _consents(node: Node, limit: int) -> Notices:
    from pactnet.services.consent_inbox import list_consents  # noqa: PLC0415

    return list_consents(node, None, limit)


def _consents_table(folder: Path, found: Notices) -> None:
    print_notices(f"consents known at {folder}", CONSENT_COLUMNS, [consent_cells(one) for one in found])
    unasked = sum(one["direction"] == "received" and one["to"] is not None and one["request"] is None for one in found)
    if unasked:
        out.print(
            f"{unasked} consent(s) that no request of this node asked for: nothing is sent until a user releases the "
            f"item (pactnet report release {folder} REPORT_ID --to PARTY)",
            markup=False,
        )


add_newest(
    app,
    "inbox",
    "List the originators' consents about items held here; an unasked one waits for `pactnet report release`.",
    read=_consents,
    as_table=_consents_table,
)
