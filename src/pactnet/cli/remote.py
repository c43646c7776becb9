"""`pactnet remote`: everyday work with a running node by its URL and a user's token, without its folder."""

from __future__ import annotations

import typer

from pactnet.cli import remote_agreements, remote_consent, remote_reports

app = typer.Typer(
    help=(
        "Work with a running node by URL and token (PACTNET_URL, PACTNET_TOKEN or --token-file), as its user: "
        "no access to its folder needed, and the token's roles are checked."
    ),
    no_args_is_help=True,
)
app.add_typer(remote_reports.app, name="report", no_args_is_help=True)
app.add_typer(remote_consent.app, name="consent", no_args_is_help=True)
app.add_typer(remote_agreements.app, name="agreement", no_args_is_help=True)
