"""`pactnet audit verify FILE`: a partner verifies an exported log without the node, as docs/audit.md says."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from pactnet.crypto.keys import NodeKeys, fingerprint
from tests.cli.runner import Run, pactnet
from tests.e2e.conftest import add_user

if TYPE_CHECKING:
    from pathlib import Path


def _exported(folder: Path, target: Path) -> list[dict[str, Any]]:
    run = pactnet("audit", "export", str(folder), "-o", str(target))
    assert run.code == 0, run.output
    return [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]


def _write(target: Path, records: list[dict[str, Any]]) -> None:
    target.write_text("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records), encoding="utf-8")


@pytest.fixture
def export(node_folder: Path, tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    """A node with a few entries, exported to a file: the file and its records."""
    add_user(node_folder, "alice")
    add_user(node_folder, "bob", "--clearance", "군사III급비밀")
    target = tmp_path / "audit.jsonl"
    return target, _exported(node_folder, target)


def _verify(path: Path, *options: str) -> Run:
    return pactnet("audit", "verify", str(path), *options)


class TestVerifyingAnExport:
    """An export verifies as the log it came from, and any change to it is found."""

    def test_an_intact_export_verifies(self, export: tuple[Path, list[dict[str, Any]]]) -> None:
        path, records = export
        run = _verify(path)
        assert run.code == 0, run.output
        entries = sum(1 for record in records if "entry" in record)
        assert f"intact: {entries} entries" in run.stdout
        assert "--expect-key" in run.stdout  # it says what it checked against, and how to be sure

    def test_the_nodes_own_first_key_is_accepted(
        self, export: tuple[Path, list[dict[str, Any]]], node_folder: Path
    ) -> None:
        path, _ = export
        run = _verify(path, "--expect-key", fingerprint(NodeKeys.load(node_folder).public_signing), "--json")
        assert run.code == 0, run.output
        assert json.loads(run.stdout)["intact"] is True

    def test_another_first_key_is_refused(self, export: tuple[Path, list[dict[str, Any]]]) -> None:
        path, _ = export
        other = fingerprint(NodeKeys.generate().public_signing)
        run = _verify(path, "--expect-key", other)
        assert run.code == 1, run.output
        assert "TAMPERED" in run.stdout

    def test_a_changed_entry_is_found(self, export: tuple[Path, list[dict[str, Any]]]) -> None:
        path, records = export
        changed = next(record for record in records if record.get("entry", {}).get("kind") == "user-added")
        changed["entry"]["data"]["clearance"] = "군사I급비밀"
        _write(path, records)
        run = _verify(path, "--json")
        assert run.code == 1, run.output
        assert json.loads(run.stdout)["first_bad_seq"] == changed["entry"]["seq"]

    def test_a_cut_tail_is_found(self, export: tuple[Path, list[dict[str, Any]]]) -> None:
        path, records = export
        last = max(record["entry"]["seq"] for record in records if "entry" in record)
        _write(path, [record for record in records if record.get("entry", {}).get("seq") != last])
        run = _verify(path)
        assert run.code == 1, run.output
        assert "TAMPERED" in run.stdout


class TestFilesThatAreNoExport:
    """A file that is no export exits 2 naming the line, never a stack trace."""

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "not json\n",
            '{"entry": {"seq": 1}}\n',
            '{"header": {"format": "pactnet.audit-export/1", "party": "ROK", "key": "AAAA"}}\n',
            "[" * 100_000 + "\n",
        ],
        ids=["empty", "not-json", "no-header", "short-key", "deep"],
    )
    def test_it_exits_2(self, tmp_path: Path, text: str) -> None:
        path = tmp_path / "junk.jsonl"
        path.write_text(text, encoding="utf-8")
        run = _verify(path)
        assert run.code == 2, run.output
        assert "not an audit export" in run.stderr
        assert "Traceback" not in run.output

    def test_witnesses_are_asked_for_a_folder_not_a_file(self, export: tuple[Path, list[dict[str, Any]]]) -> None:
        path, _ = export
        run = _verify(path, "--witnesses")
        assert run.code == 2, run.output
        assert "--witnesses" in run.stderr
