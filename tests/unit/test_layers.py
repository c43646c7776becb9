"""The layering the folders show (docs/architecture.md), pinned: every import points down, and no package loops."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pactnet

SRC = Path(pactnet.__file__).resolve().parent
# Lowest first. A module imports, at run time, only modules of its own layer or of a layer below it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("pactnet.errors", "pactnet.policy"),
    (
        "pactnet.world",
        "pactnet.world_reading",
        "pactnet.world_items",
        "pactnet.config",
        "pactnet.crypto",
        "pactnet.audit",
        "pactnet.urgency",
        "pactnet.wakeups",
        "pactnet.serving",
        "pactnet.logs",
        "pactnet.json_bounds",
        "pactnet.client",
        "pactnet.stix",
    ),
    ("pactnet.store",),
    ("pactnet.services",),
    ("pactnet.federation",),
    # Entry points over the use cases that the API's application puts in place: the TAXII server's routes and the
    # console's pages (/ui/). Neither imports the other.
    ("pactnet.taxii", "pactnet.web"),
    ("pactnet.api",),
    ("pactnet.node",),
    # Entry points: the command line, the ASGI factory uvicorn calls, the demo and its cluster of processes.
    ("pactnet.cli", "pactnet.api.asgi", "pactnet.cluster", "pactnet.demo", "pactnet.scenario", "pactnet.__main__"),
)
# What the composition root may be imported by, even for a type: the entry points only.
ENTRY_POINTS = LAYERS[-1]
# The registry's types are all a use case names of federation, and only for mypy (the registry is handed in).
SERVICES_MAY_NAME = ("pactnet.federation.partners",)


@dataclass(frozen=True, slots=True)
class Import:
    """One `import` of a pactnet module by another; `typing` when it is under `if TYPE_CHECKING:`."""

    importer: str
    imported: str
    typing: bool
    line: int

    def __str__(self) -> str:
        kind = " (for types)" if self.typing else ""
        return f"{self.importer}:{self.line} imports {self.imported}{kind}"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _walk(node: ast.AST, name: str, found: list[Import], *, typing: bool) -> None:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
            for inner in child.body:
                _walk_one(inner, name, found, typing=True)
            for inner in child.orelse:
                _walk_one(inner, name, found, typing=typing)
            continue
        _walk_one(child, name, found, typing=typing)


def _walk_one(child: ast.AST, name: str, found: list[Import], *, typing: bool) -> None:
    if isinstance(child, ast.Import):
        found += [Import(name, alias.name, typing, child.lineno) for alias in child.names]
    elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
        found += [Import(name, f"{child.module}.{alias.name}", typing, child.lineno) for alias in child.names]
    _walk(child, name, found, typing=typing)


def imports() -> list[Import]:
    """Every import of a pactnet module in the package, migrations aside (Alembic's scripts stand apart)."""
    found: list[Import] = []
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" not in path.parts:
            _walk(ast.parse(path.read_text(encoding="utf-8")), _module_name(path), found, typing=False)
    return [one for one in found if one.imported.split(".")[0] == "pactnet"]


def layer_of(module: str) -> int:
    """The layer of a module: that of the longest prefix listed (pactnet.api.asgi is an entry point)."""
    best, rank = "", -1
    for index, layer in enumerate(LAYERS):
        for prefix in layer:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best):
                best, rank = prefix, index
    if rank < 0 and (module == "pactnet" or module.startswith("pactnet.__")):
        return 0  # the package itself: its error tree and its version
    return rank


def package_of(module: str) -> str:
    """The package (or top-level module) a module belongs to: pactnet.store.tables -> pactnet.store."""
    return ".".join(module.split(".")[:2])


def upward(found: list[Import]) -> list[Import]:
    """The run-time imports that point to a higher layer."""
    return [one for one in found if not one.typing and layer_of(one.imported) > layer_of(one.importer)]


def _package_edges(found: list[Import]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for one in found:
        source, target = package_of(one.importer), package_of(one.imported)
        if not one.typing and source not in (target, "pactnet"):
            edges.setdefault(source, set()).add(target)
    return edges


def _reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in edges.get(todo.pop(), set()) - seen:
            seen.add(target)
            todo.append(target)
    return seen


def package_cycles(found: list[Import]) -> list[list[str]]:
    """The sets of packages that import each other at run time, directly or round a loop of any length."""
    edges = _package_edges(found)
    reach = {package: _reachable(edges, package) for package in edges}
    loops = {
        frozenset(other for other in reach if package in reach[other] and other in reach[package])
        for package in reach
        if package in reach[package]
    }
    return sorted(sorted(loop) for loop in loops)


class TestLayering:
    """Each import points down the layers; the composition root is imported by entry points only."""

    def test_every_module_has_a_layer(self) -> None:
        """A new package must be placed in LAYERS (and in docs/architecture.md) before it is used."""
        modules = {one.importer for one in imports()} | {one.imported for one in imports()}
        assert sorted(module for module in modules if layer_of(module) < 0) == []

    def test_no_module_imports_a_higher_layer_at_run_time(self) -> None:
        """Policy imports no adapter, services no federation or api, nothing below the root the root."""
        assert [str(one) for one in upward(imports())] == []

    def test_only_entry_points_import_the_composition_root_even_for_types(self) -> None:
        """pactnet.node builds a node; the use cases take it as services.context.Node."""
        offenders = [
            str(one)
            for one in imports()
            if package_of(one.imported) == "pactnet.node" and layer_of(one.importer) < LAYERS.index(ENTRY_POINTS)
        ]
        assert offenders == []

    def test_the_use_cases_name_nothing_of_federation_but_the_registry_types(self) -> None:
        """The partner client, dispatcher and wire formats are federation's; a use case gets the registry handed in."""
        offenders = [
            str(one)
            for one in imports()
            if one.importer.startswith("pactnet.services")
            and package_of(one.imported) in ("pactnet.federation", "pactnet.api", "pactnet.cli")
            and not (one.typing and one.imported.startswith(SERVICES_MAY_NAME))
        ]
        assert offenders == []

    def test_no_two_packages_import_each_other(self) -> None:
        """No loop between packages, of any length, at run time."""
        assert package_cycles(imports()) == []


class TestTheLayeringCheckCanFail:
    """The helpers above find what they are meant to find, on made-up imports."""

    def test_an_import_from_the_store_into_the_api_is_upward(self) -> None:
        """The store importing the API points up; the API importing the store does not."""
        up = Import("pactnet.store.tables", "pactnet.api.errors", typing=False, line=1)
        down = Import("pactnet.api.errors", "pactnet.store.tables", typing=False, line=1)
        assert upward([up, down]) == [up]

    def test_a_loop_of_three_packages_is_one_cycle(self) -> None:
        """store -> services -> federation -> store is found, whichever package the walk starts from."""
        loop = [
            Import("pactnet.store.a", "pactnet.services.b", typing=False, line=1),
            Import("pactnet.services.b", "pactnet.federation.c", typing=False, line=1),
            Import("pactnet.federation.c", "pactnet.store.a", typing=False, line=1),
        ]
        assert package_cycles(loop) == [["pactnet.federation", "pactnet.services", "pactnet.store"]]

    def test_an_import_for_types_only_makes_no_cycle(self) -> None:
        """mypy's imports do not run: two packages naming each other's types do not loop."""
        pair = [
            Import("pactnet.store.a", "pactnet.services.b", typing=True, line=1),
            Import("pactnet.services.b", "pactnet.store.a", typing=False, line=1),
        ]
        assert package_cycles(pair) == []

    def test_the_asgi_factory_is_an_entry_point_though_it_lives_in_api(self) -> None:
        """The longest listed prefix decides a module's layer."""
        assert layer_of("pactnet.api.asgi") == LAYERS.index(ENTRY_POINTS)
        assert layer_of("pactnet.api.app") == LAYERS.index(("pactnet.api",))
