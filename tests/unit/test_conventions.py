"""Conventions the project keeps: the pure core's imports, the public names, the documented reason codes."""

from __future__ import annotations

import ast
from dataclasses import fields
from pathlib import Path
from typing import get_args

import typer.main

import pactnet
import pactnet.policy
from pactnet.cli.main import app
from pactnet.config import NodeConfig
from pactnet.policy.decisions import Code
from pactnet.policy.precedence import Precedence, PrecedenceName, rank_of

SRC = Path(pactnet.__file__).resolve().parent
DOCS = SRC.parents[1] / "docs"
FORBIDDEN_IMPORTS = (
    "sqlalchemy",
    "httpx",
    "fastapi",
    "starlette",
    "uvicorn",
    "typer",
    "rich",
    "tomli",
    "tomllib",
)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


class TestThePolicyCoreIsPure:
    """The core imports no adapter, no I/O library, and never reads the clock."""

    def test_policy_modules_import_nothing_but_the_standard_library_and_the_core(self) -> None:
        offenders = []
        for path in (SRC / "policy").glob("*.py"):
            for name in _imports(path):
                top = name.split(".")[0]
                own = name.startswith(("pactnet.policy", "pactnet.errors"))  # the core and the error tree
                if top in FORBIDDEN_IMPORTS or (top == "pactnet" and not own):
                    offenders.append(f"{path.name}: {name}")
        assert offenders == []

    def test_policy_modules_never_read_the_clock(self) -> None:
        clock_reads = ("datetime.now", "date.today", "time.time(", "utcnow", "monotonic(")
        offenders = [
            f"{path.name}: {needle}"
            for path in (SRC / "policy").glob("*.py")
            for needle in clock_reads
            if needle in path.read_text(encoding="utf-8")
        ]
        assert offenders == []


class TestPublicSurface:
    """What the packages export is pinned, sorted, and importable."""

    def test_the_package_exports_its_errors(self) -> None:
        assert pactnet.__all__ == ["PactnetError", "PolicyError", "WorldError", "WorldIssue"]

    def test_the_policy_exports_are_sorted_and_exist(self) -> None:
        assert pactnet.policy.__all__ == sorted(pactnet.policy.__all__)
        assert all(hasattr(pactnet.policy, name) for name in pactnet.policy.__all__)


class TestReasonCodesAreDocumented:
    """Every reason code the core can give is listed in docs/reasons.md, and nothing else is."""

    def test_docs_list_exactly_the_codes(self) -> None:
        text = (DOCS / "reasons.md").read_text(encoding="utf-8")
        documented = {line.split("`")[1] for line in text.splitlines() if line.startswith("| `")}
        assert documented == {code.value for code in Code}


class TestEverythingIsDocumented:
    """Every setting and every command a user can type is documented."""

    def test_every_node_setting_is_in_docs_node_md(self) -> None:
        text = (DOCS / "node.md").read_text(encoding="utf-8")
        missing = [item.name for item in fields(NodeConfig) if item.name != "folder" and f"`{item.name}`" not in text]
        assert missing == []

    def test_every_command_is_in_the_readme(self) -> None:
        readme = (SRC.parents[1] / "README.md").read_text(encoding="utf-8")
        group = typer.main.get_group(app)
        commands = []
        for name, command in group.commands.items():
            sub = getattr(command, "commands", None)
            commands += [f"pactnet {name} {child}" for child in sub] if sub else [f"pactnet {name}"]
        assert [command for command in commands if command not in readme] == []


class TestPrecedenceIsDefinedOnce:
    """The API's precedence field, the outbox's ranks and the Priority header all come from policy.precedence."""

    def test_the_api_field_names_the_precedences_of_the_enum_in_order(self) -> None:
        """The Literal the API schema uses lists exactly the enum's values, most urgent first."""
        assert get_args(PrecedenceName) == tuple(precedence.value for precedence in Precedence)

    def test_ranks_follow_the_order_and_only_flash_and_immediate_are_urgent(self) -> None:
        """Flash ranks 0 and routine 3, as RFC 9218's urgencies; an unknown name travels as routine."""
        assert [precedence.rank for precedence in Precedence] == [0, 1, 2, 3]
        assert [precedence.is_urgent for precedence in Precedence] == [True, True, False, False]
        assert rank_of("no such precedence") == Precedence.ROUTINE.rank
