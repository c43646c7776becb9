"""What every command shares: the consoles, reading arguments, and failing with a clear message."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from datetime import UTC
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pactnet.errors import PactnetError, WorldError
from pactnet.policy.clock import parse_instant
from pactnet.world import load_world

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from datetime import datetime, tzinfo

    from pactnet.node import Node
    from pactnet.policy.model import World

# Piped output (a file, a test, CI) gets wide tables instead of Rich's default of 80 columns.
_WIDTH = None if sys.stdout.isatty() else 160
# markup=False: ids, labels and paths from worlds and users are printed as they are, never read as Rich markup.
out = Console(highlight=False, soft_wrap=True, width=_WIDTH, markup=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, width=_WIDTH, markup=False)

# A required argument or option that several commands take is a type alias: its type and its declaration,
# written once. One with a default stays a default value (as AS_JSON), so that the default is written once too.
NodeFolder = Annotated[Path, typer.Argument(help="The node's folder.")]
AS_JSON = typer.Option(False, "--json", help="Print JSON.")
# --limit of every listing of notices (consent requests, consents, compromises), here and at a running node.
NEWEST = typer.Option(100, "--limit", min=1, max=1000, help="At most this many, newest first.")
# What a notice or a release is about, here and at a running node: one declaration, so that the twin commands
# (`pactnet report release` and `pactnet remote report release`, ...) say the same in their help.
ReceivedReport = Annotated[str, typer.Argument(help="The id of a received report, at this node.")]
ReleaseTo = Annotated[str, typer.Option("--to", help="The party to release it to.")]
ThirdParty = Annotated[str, typer.Option("--to", help="The third party to release it to.")]
Purpose = Annotated[str, typer.Option("--purpose", help="What the third party needs it for.")]
Description = Annotated[str, typer.Option("--description", help="What happened, when, and what is being done.")]
# When a consent granted here or at a running node ends.
UNTIL = typer.Option(None, "--until", help="When a granted consent ends, RFC 3339 with an offset.")
# What a local command that queues an envelope says of when it leaves.
SENT_LATER = "it is sent when the node's server runs its dispatcher (pactnet node serve)"

# Exit codes: 0 done, 1 a check that ran and found a problem, 2 bad input (usage, world, instant, id).
EXIT_BAD_INPUT = 2


class UsageError(PactnetError):
    """A command line that names something that does not exist or cannot be read."""


def fail(message: str) -> NoReturn:
    """Print `message` to standard error and exit with the bad-input code."""
    _error(message)
    raise typer.Exit(EXIT_BAD_INPUT)


def _error(message: str) -> None:
    # What users typed goes into messages: it is printed as text, never read as Rich markup.
    err.print(Text.assemble(("error:", "bold red"), " ", message))


@contextmanager
def node_at(folder: Path, *, record_settings: bool = True) -> Iterator[Node]:
    """The node in `folder`, closed afterwards; a PactnetError, opening it or using it, exits 2 with its message.

    `record_settings=False`: a command that only reads (`audit verify`) records no change of settings.
    """
    from pactnet.node import open_node  # noqa: PLC0415 - keeps `pactnet --help` free of the database stack

    try:
        node = open_node(folder, record_settings=record_settings)
    except PactnetError as error:
        fail(str(error))
    try:
        yield node
    except PactnetError as error:
        fail(str(error))
    finally:
        node.close()


def world_issues(error: WorldError) -> list[str]:
    """One line per issue of an invalid world."""
    return [str(issue) for issue in error.issues]


def open_world(reference: str) -> World:
    """Load a world or exit 2 listing every issue."""
    try:
        return load_world(reference)
    except WorldError as error:
        _error(str(error))
        for line in world_issues(error):
            err.print(f"  {line}", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT) from error


def instant(text: str, option: str) -> datetime:
    """An RFC 3339 instant from an option, or exit 2 saying what is wrong."""
    try:
        return parse_instant(text)
    except ValueError as error:
        fail(f"{option}: expected {error}")


def print_json(data: object) -> None:
    """Machine-readable output: UTF-8 JSON, labels in their own scripts."""
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


Result = TypeVar("Result")


def shown(found: Result, *, as_json: bool, as_text: Callable[[Result], None]) -> None:
    """What a command found or did: as JSON (--json), else as `as_text` prints it for a person (a table, a line)."""
    if as_json:
        print_json(found)
    else:
        as_text(found)


def show_at(folder: Path, act: Callable[[Node], Result], *, as_json: bool, as_text: Callable[[Result], None]) -> Result:
    """What `act` does or reads at the node in `folder` (as an operator: no user), shown, and returned."""
    with node_at(folder) as node:
        found = act(node)
    shown(found, as_json=as_json, as_text=as_text)
    return found


# A notice (a consent request, a consent, a compromise) as the services and the API give it, and a listing of them.
Notice = dict[str, Any]
Notices = list[Notice]


def add_newest(
    app: typer.Typer,
    name: str,
    summary: str,
    *,
    read: Callable[[Node, int], Notices],
    as_table: Callable[[Path, Notices], None],
) -> None:
    """Add the command `name` to `app`: the newest notices `read` lists at the node in a folder, as a table or JSON.

    The local twin of pactnet.cli.remote_listing.add_listing; `read` reads as the operator (no user).
    """

    @app.command(name, help=summary)
    def listing(folder: NodeFolder, limit: int = NEWEST, as_json: bool = AS_JSON) -> None:
        show_at(folder, lambda node: read(node, limit), as_json=as_json, as_text=partial(as_table, folder))


def _local(moment: datetime, zone: tzinfo | None) -> datetime:
    try:
        return moment.astimezone(zone)
    except OverflowError:  # fine print: an instant whose local time leaves the calendar is shown in UTC
        return moment.astimezone(UTC)


def show(moment: datetime | None, zone: tzinfo | None) -> str:
    """An instant as RFC 3339 in a zone, or a dash."""
    return "—" if moment is None else _local(moment, zone).isoformat()


def brief(moment: datetime | None, zone: tzinfo | None) -> str:
    """An instant for a table: `2019-11-23 00:00+09:00`, with seconds only when there are some."""
    if moment is None:
        return "—"
    local = _local(moment, zone)
    return local.isoformat(sep=" ", timespec="seconds" if local.second or local.microsecond else "minutes")


def print_notices(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A table of notices, their id and their report's id first (never wrapped, to be copied whole)."""
    table = Table(title=title)
    for column in ("id", "report"):
        table.add_column(column, no_wrap=True)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    out.print(table)
