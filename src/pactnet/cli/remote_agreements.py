"""`pactnet remote agreement`: agreements as a running node knows them, every act recorded there counted."""

from __future__ import annotations

from enum import StrEnum

import typer

from pactnet.cli import remote_tables as tables
from pactnet.cli.remote_access import AS_JSON, Access, reaching_node, show_from

app = typer.Typer(help="Agreements at a running node: their status now, and the party's lifecycle acts.")
PACT = typer.Argument(..., help="The id of an agreement or arrangement.")


class Act(StrEnum):
    """A lifecycle act of a party (GSOMIA art. 21), as the API and world files name it."""

    NOTIFY_TERMINATION = "notify_termination"
    SUSPEND_NOTICE = "suspend_notice"
    RESUME_NOTICE = "resume_notice"
    WITHDRAW_NOTICE = "withdraw_notice"


@app.command("list")
@reaching_node
def list_(as_json: bool = AS_JSON, *, access: Access) -> None:
    """Every agreement and arrangement with its state now at the node."""
    show_from(access, lambda node: node.agreements(), as_json=as_json, as_text=tables.agreements)


@app.command("status")
@reaching_node
def status(pact_id: str = PACT, as_json: bool = AS_JSON, *, access: Access) -> None:
    """An agreement's state now at the node, counting the acts recorded there and received from partners."""
    show_from(access, lambda node: node.agreement(pact_id), as_json=as_json, as_text=tables.agreement)


@app.command("act")
@reaching_node
def act(
    pact_id: str = PACT,
    kind: Act = typer.Argument(..., help="The act.", case_sensitive=False),
    as_json: bool = AS_JSON,
    *,
    access: Access,
) -> None:
    """As an officer, record a lifecycle act of the node's party now, queued for every partner's node."""
    show_from(access, lambda node: node.record_act(pact_id, kind.value), as_json=as_json, as_text=tables.agreement)
