"""`pactnet remote agreement`: agreements as a running node knows them, every act recorded there counted."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from pactnet.cli import remote_tables as tables
from pactnet.cli.remote_access import AS_JSON, CA_FILE, PLAIN_HTTP, TOKEN, TOKEN_FILE, URL, Access, connected
from pactnet.cli.terminal import print_json

app = typer.Typer(help="Agreements at a running node: their status now, and the party's lifecycle acts.")
PACT = typer.Argument(..., help="The id of an agreement or arrangement.")


class Act(StrEnum):
    """A lifecycle act of a party (GSOMIA art. 21), as the API and world files name it."""

    NOTIFY_TERMINATION = "notify_termination"
    SUSPEND_NOTICE = "suspend_notice"
    RESUME_NOTICE = "resume_notice"
    WITHDRAW_NOTICE = "withdraw_notice"


@app.command("list")
def list_(
    as_json: bool = AS_JSON,
    url: str | None = URL,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    ca_file: Path | None = CA_FILE,
    allow_plain_http: bool = PLAIN_HTTP,
) -> None:
    """Every agreement and arrangement with its state now at the node."""
    with connected(Access(url, token, token_file, ca_file, allow_plain_http)) as node:
        found = node.agreements()
    if as_json:
        print_json(found)
    else:
        tables.agreements(found)


@app.command("status")
def status(
    pact_id: str = PACT,
    as_json: bool = AS_JSON,
    url: str | None = URL,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    ca_file: Path | None = CA_FILE,
    allow_plain_http: bool = PLAIN_HTTP,
) -> None:
    """An agreement's state now at the node, counting the acts recorded there and received from partners."""
    with connected(Access(url, token, token_file, ca_file, allow_plain_http)) as node:
        found = node.agreement(pact_id)
    if as_json:
        print_json(found)
    else:
        tables.agreement(found)


@app.command("act")
def act(
    pact_id: str = PACT,
    kind: Act = typer.Argument(..., help="The act.", case_sensitive=False),
    as_json: bool = AS_JSON,
    url: str | None = URL,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    ca_file: Path | None = CA_FILE,
    allow_plain_http: bool = PLAIN_HTTP,
) -> None:
    """As an officer, record a lifecycle act of the node's party now, queued for every partner's node."""
    with connected(Access(url, token, token_file, ca_file, allow_plain_http)) as node:
        found = node.record_act(pact_id, kind.value)
    if as_json:
        print_json(found)
    else:
        tables.agreement(found)
