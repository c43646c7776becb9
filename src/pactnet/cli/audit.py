"""`pactnet audit`: verify and export a node's audit log."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from pactnet.cli.terminal import NodeFolder, fail, node_at, out, print_json

if TYPE_CHECKING:
    from pactnet.audit.chain import Verification
    from pactnet.federation.witness import WitnessAnswer

app = typer.Typer(help="The tamper-evident audit log: verify, export, checkpoint, witness.", no_args_is_help=True)
EXIT_TAMPERED = 1


@app.command("verify")
def verify(
    folder: Path = typer.Argument(..., help="The node's folder, or a log exported by `pactnet audit export`."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    expect_key: str | None = typer.Option(
        None,
        "--expect-key",
        help="The fingerprint of the node's first signing key, as its partners trusted it; the log must begin "
        "with it (default: the first key the node's folder records).",
    ),
    witnesses: bool = typer.Option(
        False, "--witnesses", help="Ask the partners (partners.toml) for the heads of this log they hold, and compare."
    ),
) -> None:
    """Check the whole chain, the checkpoints and the signed head; exit 0 only when intact."""
    from pactnet.audit.trust import AuditTrustError, read_fingerprint  # noqa: PLC0415
    from pactnet.federation.witness import exchange  # noqa: PLC0415
    from pactnet.services import audit  # noqa: PLC0415

    try:
        expected = None if expect_key is None else read_fingerprint(expect_key)
    except AuditTrustError as error:
        fail(f"--expect-key: {error}")
    if folder.is_file():
        if witnesses:
            fail("--witnesses: a partner's witnesses are asked by the node itself; verify its folder, not a file")
        _verify_export(folder, expected, as_json=as_json)
        return
    with node_at(folder, record_settings=False) as node:
        answers = exchange(node, None) if witnesses else []
        witnessed = [answer.witnessed for answer in answers if answer.witnessed is not None]
        result = audit.verify(node, expect_key=expected, witnessed=witnessed)
    unreached = tuple(answer.as_dict() for answer in answers if answer.witnessed is None)
    _show(replace(result, witnesses=result.witnesses + unreached), as_json=as_json)


def _verify_export(path: Path, expected: str | None, *, as_json: bool) -> None:
    """Verify an exported log as a partner does: no node, only the file and the key it should begin with."""
    from pactnet.audit.export import read_export  # noqa: PLC0415
    from pactnet.crypto.keys import fingerprint  # noqa: PLC0415
    from pactnet.errors import PactnetError  # noqa: PLC0415

    try:
        with path.open(encoding="utf-8") as lines:
            export = read_export(lines)
    except (OSError, UnicodeDecodeError) as error:
        fail(f"{path}: cannot be read ({error})")
    except PactnetError as error:
        fail(f"{path}: not an audit export: {error}")
    result = export.verify(expected)
    if expected is None and not as_json:
        named = fingerprint(export.key)
        out.print(
            f"{export.party}'s log, checked against the key its header names ({named}); to be sure it is the "
            "node's, say --expect-key with the fingerprint you trusted",
            markup=False,
        )
    _show(result, as_json=as_json)


def _show(result: Verification, *, as_json: bool) -> None:
    if as_json:
        print_json(result.as_dict())
    else:
        if result.intact:
            out.print(f"intact: {result.entries} entries, {result.checkpoints} signed checkpoints", markup=False)
        else:
            out.print(f"TAMPERED at entry {result.first_bad}: {result.problem}", markup=False)
        for seen in result.witnesses:
            out.print(f"witness {seen['party']}: {_witness_line(seen)}", markup=False)
    if not result.intact:
        raise typer.Exit(EXIT_TAMPERED)


def _witness_line(seen: dict[str, Any]) -> str:
    if not seen["reached"]:
        return f"not asked: {seen['problem']}"
    if not seen["agrees"]:
        return f"DISAGREES: {seen['problem']}"
    return "holds no head of this log yet" if seen["seq"] is None else f"agrees (holds the head at entry {seen['seq']})"


@app.command("witness")
def witness(folder: NodeFolder, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Give the partners the log's signed head to keep as witnesses; exit 1 unless every one took it."""
    from pactnet.federation.witness import exchange  # noqa: PLC0415
    from pactnet.store.audit_log import read_head  # noqa: PLC0415

    with node_at(folder, record_settings=False) as node:
        with node.uow.read() as connection:
            head = read_head(connection)
        if head is None:
            fail("the log has no signed head to give (see `pactnet audit verify`)")
        answers = exchange(node, head)
    told = [_witness_told(answer, head.seq, head.hash) for answer in answers]
    if as_json:
        print_json(told)
    elif not told:
        out.print("no partners to witness the log (partners.toml)", markup=False)
    for one in [] if as_json else told:
        out.print(f"witness {one['party']}: {one['said']}", markup=False)
    if not all(one["taken"] for one in told):
        raise typer.Exit(EXIT_TAMPERED)


def _witness_told(answer: WitnessAnswer, seq: int, entry_hash: str) -> dict[str, Any]:
    """What a witness answered: whether it took the head, and what it holds, in words."""
    held = None if answer.witnessed is None else answer.witnessed.head
    if answer.problem is not None or held is None:
        said, taken = f"not given: {answer.problem}", False
    elif answer.conflict or held.seq != seq or held.hash != entry_hash:
        why = "another head for the same entry" if answer.conflict else "a head the log does not end with"
        said, taken = f"holds {why}, at entry {held.seq}", False
    else:
        said, taken = f"holds the head at entry {held.seq}", True
    return {"party": answer.party, "taken": taken, "seq": None if held is None else held.seq, "said": said}


@app.command("export")
def export(
    folder: NodeFolder,
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
def checkpoint(folder: NodeFolder, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Sign a checkpoint at the last entry now."""
    from pactnet.services import audit  # noqa: PLC0415

    with node_at(folder) as node:
        mark = audit.checkpoint(node)
    if as_json:
        print_json(None if mark is None else mark.as_dict())
        return
    out.print("the log is empty" if mark is None else f"checkpoint at entry {mark.seq}: {mark.hash}", markup=False)
