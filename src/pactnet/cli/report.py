"""`pactnet report`: release a held item onward, and report the loss or compromise of a received one (art. 17)."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from pactnet.cli.remote_tables import compromise_cells
from pactnet.cli.terminal import (
    AS_JSON,
    SENT_LATER,
    Description,
    NodeFolder,
    Notices,
    ReceivedReport,
    ReleaseTo,
    add_newest,
    out,
    print_notices,
    show_at,
)

if TYPE_CHECKING:
    from pactnet.node import Node

app = typer.Typer(help="Reports held by a node: onward release, loss or compromise.", no_args_is_help=True)
HeldReport = Annotated[str, typer.Argument(help="The id of a report this node holds.")]
COMPROMISE_COLUMNS = ("title", "direction", "reported", "at", "description", "sent")


def _show_release(report_id: str, released: dict[str, Any]) -> None:
    """A release as a person reads it: the route leg by leg and the transfer queued, or every reason why not."""
    to = released["to"]
    if not released["allowed"]:
        table = Table(title=f"release of {report_id} to {to}: refused")
        table.add_column("code")
        table.add_column("reason")
        for reason in released["reasons"]:
            table.add_row(reason["code"], reason["message"])
        out.print(table)
        return
    table = Table(title=f"release of {report_id} to {to}: allowed, route {' → '.join(released['route'])}")
    for column in ("from", "to", "under", "marked on arrival"):
        table.add_column(column)
    for leg in released["legs"]:
        table.add_row(leg["from"], leg["to"], leg["under"], leg["level"])
    out.print(table)
    out.print(f"transfer {released['envelope']} queued: {SENT_LATER}", markup=False)


@app.command("release")
def release(folder: NodeFolder, report_id: HeldReport, to: ReleaseTo, as_json: bool = AS_JSON) -> None:
    """Release a held report onward to a party: decided now like any transfer, queued if allowed (exit 1 if not)."""
    from pactnet.services.releases import release_report  # noqa: PLC0415

    released = show_at(
        folder,
        lambda node: release_report(node, None, report_id, to),
        as_json=as_json,
        as_text=partial(_show_release, report_id),
    )
    if not released["allowed"]:
        raise typer.Exit(1)


@app.command("compromise")
def compromise(
    folder: NodeFolder,
    report_id: ReceivedReport,
    description: Description,
    as_json: bool = AS_JSON,
) -> None:
    """Record that a received report was lost or compromised, and queue the notice to its originator (flash)."""
    from pactnet.services.compromises import report_compromise  # noqa: PLC0415

    show_at(
        folder,
        lambda node: report_compromise(node, None, report_id, description),
        as_json=as_json,
        as_text=_reported,
    )


def _reported(reported: dict[str, Any]) -> None:
    out.print(f"compromise {reported['id']} of {reported['report_id']} recorded")
    out.print(f"queued for {reported['originator']}'s node at flash precedence: {SENT_LATER}")


# A listing reads through a function of its own that imports the service when the command runs, so that
# `pactnet --help` stays free of the database stack.
def _compromises(node: Node, limit: int) -> Notices:
    from pactnet.services.compromises import list_compromises  # noqa: PLC0415

    return list_compromises(node, None, limit)


def _compromises_table(folder: Path, found: Notices) -> None:
    rows = [[*compromise_cells(one), "—" if one["delivery"] is None else one["delivery"]["state"]] for one in found]
    print_notices(f"losses and compromises at {folder}", COMPROMISE_COLUMNS, rows)


add_newest(
    app,
    "compromises",
    "List the losses and compromises reported here (outgoing) or to this party as originator (incoming).",
    read=_compromises,
    as_table=_compromises_table,
)
