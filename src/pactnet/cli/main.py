"""The `pactnet` command: one Typer app, a sub-app or command per module, errors as messages."""

from __future__ import annotations

import os
import sys

import typer

from pactnet import __version__
from pactnet.cli import agreement, audit, consent, decide, demo, impact, node, report, user, world
from pactnet.cli.terminal import EXIT_BAD_INPUT, err
from pactnet.errors import PactnetError

app = typer.Typer(
    name="pactnet",
    help="Share classified intelligence only as the agreements in force allow, and prove it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(asked: bool) -> None:
    if asked:
        typer.echo(f"pactnet {__version__}")
        raise typer.Exit


@app.callback()
def main(
    _version_asked: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print pactnet's version and exit."
    ),
) -> None:
    """Share classified intelligence only as the agreements in force allow, and prove it."""


app.add_typer(world.app, name="world")
app.add_typer(agreement.app, name="agreement")
app.command("decide")(decide.command)
app.command("impact")(impact.command)
app.command("demo")(demo.command)
app.add_typer(node.app, name="node")
app.add_typer(user.app, name="user")
app.add_typer(audit.app, name="audit")
app.add_typer(consent.app, name="consent")
app.add_typer(report.app, name="report")


def run() -> None:
    """Entry point: no stack trace reaches a user; PACTNET_DEBUG=1 shows one for a developer."""
    try:
        app()
    except PactnetError as error:
        err.print(f"error: {error}", markup=False)
        sys.exit(EXIT_BAD_INPUT)
    except Exception as error:  # the last line of defence for users; a bug still says what it was
        if os.environ.get("PACTNET_DEBUG"):
            raise
        err.print(f"internal error: {type(error).__name__}: {error} (set PACTNET_DEBUG=1 for details)", markup=False)
        sys.exit(1)
