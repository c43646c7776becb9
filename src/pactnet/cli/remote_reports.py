"""`pactnet remote report`: publish, list and read reports at a running node, and follow where they went."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pactnet.cli import remote_tables as tables
from pactnet.cli.remote_access import AS_JSON, Access, reaching_node, show_from
from pactnet.cli.remote_listing import add_listing
from pactnet.cli.remote_publish import Draft, report_to_publish
from pactnet.cli.terminal import Description, ReleaseTo, fail, instant, out
from pactnet.client import ClientError, NodeClient

if TYPE_CHECKING:
    from collections.abc import Callable

app = typer.Typer(help="Reports at a running node: publish, list, show, trail, deliveries, release, compromise.")
ReportId = Annotated[str, typer.Argument(help="The report's id.")]


@app.command("publish")
@reaching_node
def publish(
    title: str | None = typer.Option(None, "--title", help="The title (with --stix: the first named object's)."),
    level: str | None = typer.Option(None, "--level", help="A level or alias of the node's scheme."),
    category: list[str] = typer.Option([], "--category", help="A category (repeat for several)."),
    precedence: str | None = typer.Option(None, "--precedence", help="flash, immediate, priority or routine."),
    to: list[str] = typer.Option([], "--to", help="A recipient party (repeat; default: every other party)."),
    rel_to: list[str] = typer.Option([], "--rel-to", help="A party it is releasable to (repeat)."),
    compartment: list[str] = typer.Option([], "--compartment", help="A compartment (repeat)."),
    body: str | None = typer.Option(None, "--body", help="The body, as text."),
    body_file: Path | None = typer.Option(None, "--body-file", help="A UTF-8 file holding the body (-: stdin)."),
    stix: Path | None = typer.Option(None, "--stix", help="A STIX 2.1 bundle (JSON file) as the body."),
    file: Path | None = typer.Option(None, "--file", help="The whole report as the API's JSON (POST /api/v1/reports)."),
    as_json: bool = AS_JSON,
    *,
    access: Access,
) -> None:
    """Publish a report this party originates; every transfer is decided at the node, now."""
    draft = Draft(title, level, category, precedence, to, rel_to, compartment, body, body_file, file, stix)
    try:
        report = report_to_publish(draft)
    except ClientError as error:
        fail(str(error))
    show_from(access, lambda node: node.publish(report), as_json=as_json, as_text=_published)


def _published(published: dict[str, Any]) -> None:
    out.print(f"published {published['id']} at {published['created_at']}")
    tables.decisions(f"decisions on {published['id']}", published["decisions"])


@app.command("list")
@reaching_node
def list_(
    originator: str | None = typer.Option(None, "--originator", help="Only this party's reports."),
    category: str | None = typer.Option(None, "--category", help="Only reports in this category."),
    level: str | None = typer.Option(None, "--level", help="Only reports at this level."),
    since: str | None = typer.Option(None, "--since", help="Only reports since this instant (RFC 3339)."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many (default: the node's page)."),
    cursor: str | None = typer.Option(None, "--cursor", help="The page after this one (printed as `more:`)."),
    as_json: bool = AS_JSON,
    *,
    access: Access,
) -> None:
    """The reports the token's user is cleared for, newest first."""
    after = None if since is None else instant(since, "--since").isoformat()
    filters = {"originator": originator, "category": category, "level": level, "since": after}
    show_from(
        access,
        lambda node: node.reports({**filters, "cursor": cursor, "limit": limit}),
        as_json=as_json,
        as_text=tables.reports,
    )


def _add_view(
    name: str, summary: str, *, ask: Callable[[NodeClient, str], Any], as_table: Callable[[str, Any], None]
) -> None:
    """Add the command `name`: what `ask` reads at the node about one report, as `as_table` shows it."""

    @app.command(name, help=summary)
    @reaching_node
    def view(report_id: ReportId, as_json: bool = AS_JSON, *, access: Access) -> None:
        show_from(access, lambda node: ask(node, report_id), as_json=as_json, as_text=partial(as_table, report_id))


# The commands that each show one thing the node holds about a report: name, help, what to ask, how to show it.
_VIEWS: tuple[tuple[str, str, Callable[[NodeClient, str], Any], Callable[[str, Any], None]], ...] = (
    (
        "show",
        "One report and its body, if the token's user is cleared for it.",
        NodeClient.report,
        lambda _, found: tables.report(found),
    ),
    (
        "trail",
        "The decision trail of a report: every transfer decided, allowed or refused, and why.",
        NodeClient.trail,
        tables.trail,
    ),
    (
        "deliveries",
        "Where a report was sent from the node: each envelope, its route, and its receipt or refusal.",
        NodeClient.deliveries,
        tables.deliveries,
    ),
)
for _name, _summary, _ask, _as_table in _VIEWS:
    _add_view(_name, _summary, ask=_ask, as_table=_as_table)


@app.command("release")
@reaching_node
def release(report_id: ReportId, to: ReleaseTo, as_json: bool = AS_JSON, *, access: Access) -> None:
    """Release a held report onward: decided at the node like any transfer, queued if allowed (exit 1 if not)."""
    released = show_from(
        access,
        lambda node: node.release(report_id, to),
        as_json=as_json,
        as_text=partial(tables.release, report_id),
    )
    if not released["allowed"]:
        raise typer.Exit(1)


@app.command("compromise")
@reaching_node
def compromise(report_id: ReportId, description: Description, as_json: bool = AS_JSON, *, access: Access) -> None:
    """Report the loss or compromise of a received report: recorded, and queued for its originator at flash."""
    show_from(
        access,
        lambda node: node.report_compromise(report_id, description),
        as_json=as_json,
        as_text=_reported,
    )


def _reported(reported: dict[str, Any]) -> None:
    originator = reported["originator"]
    out.print(
        f"compromise {reported['id']} of {reported['report_id']} recorded, queued for {originator}'s node at flash"
    )


add_listing(
    app,
    "compromises",
    "Losses and compromises reported at the node or to its party, newest first.",
    ask=NodeClient.compromises,
    as_table=tables.compromises,
)
