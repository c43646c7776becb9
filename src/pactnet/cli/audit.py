"""`pactnet audit`: verify and export a node's audit log."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from pactnet.cli.terminal import fail, node_at, out, print_json

if TYPE_CHECKING:
    from pactnet.audit.chain import Verification

app = typer.Typer(help="The tamper-evident audit log: verify, export, checkpoint.", no_args_is_help=True)
FOLDER = typer.Argument(..., help="The node's folder.")
EXIT_TAMPERED = 1


@app.command("verify")
def verify(
    folder: Path = FOLDER,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    expect_key: str | None = typer.Option(
        None,
        "--expect-key",
        help="The fingerprint of the node's first signing key, as its partners trusted it; the log must begin "
        "with it (default: the first key the node's folder records).",
    ),
) -> None:
    """Check the whole chain, the checkpoints and the signed head; exit 0 only when intact."""
    from pactnet.audit.trust import AuditTrustError, read_fingerprint  # noqa: PLC0415
    from pactnet.services import audit  # noqa: PLC0415

    try:
        expected = None if expect_key is None else read_fingerprint(expect_key)
    except AuditTrustError as error:
        fail(f"--expect-key: {error}")
    with node_at(folder, record_settings=False) as node:
        result = audit.verify(node, expect_key=expected)
    _show(result, as_json=as_json)


def _show(result: Verification, *, as_json: bool) -> None:
    if as_json:
        print_json(result.as_dict())
    elif result.intact:
        out.print(f"intact: {result.entries} entries, {result.checkpoints} signed checkpoints", markup=False)
    else:
        out.print(f"TAMPERED at entry {result.first_bad}: {result.problem}", markup=False)
    if not result.intact:
        raise typer.Exit(EXIT_TAMPERED)


@app.command("export")
def export(
    folder: Path = FOLDER,
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file (default: standard output)."),
) -> None:
    """Write the log, its checkpoints and signed head as JSON Lines (docs/audit.md)."""
    from pactnet.services import audit  # noqa: PLC0415

    with node_at(folder) as node:
        if output is None:
            audit.export(node, sys.stdout)
            return
        try:
            with output.open("w", encoding="utf-8") as file:
                count = audit.export(node, file)
        except OSError as error:
            fail(f"cannot write {output}: {error.strerror}")
    out.print(f"{count} entries written to {output}", markup=False)


@app.command("checkpoint")
def checkpoint(folder: Path = FOLDER) -> None:
    """Sign a checkpoint at the last entry now."""
    from pactnet.services import audit  # noqa: PLC0415

    with node_at(folder) as node:
        mark = audit.checkpoint(node)
    out.print("the log is empty" if mark is None else f"checkpoint at entry {mark.seq}: {mark.hash}", markup=False)
