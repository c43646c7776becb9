"""The TAXII benchmark's objects carry the markings pactnet defines (the benchmark keeps copies of their ids)."""

from __future__ import annotations

import ast
from pathlib import Path

from pactnet.stix.extension import PACTNET_MARKING_EXTENSION_ID
from pactnet.stix.tlp import TLP_2_ID_OF

CORPUS = Path(__file__).resolve().parents[2] / "bench" / "stix_corpus.py"


def _constants() -> dict[str, object]:
    """The module-level constants of bench/stix_corpus.py, read without running it (it runs from its own venv)."""
    tree = ast.parse(CORPUS.read_text(encoding="utf-8"))
    return {
        target.id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


class TestTheBenchmarksMarkings:
    """bench/stix_corpus.py copies pactnet's fixed marking ids: the copies must match."""

    def test_the_pactnet_marking_extension_is_pactnets(self) -> None:
        assert _constants()["PACTNET_MARKING_EXTENSION_ID"] == PACTNET_MARKING_EXTENSION_ID

    def test_the_tlp_markings_are_tlp_2_0s(self) -> None:
        constants = _constants()
        assert (constants["TLP_GREEN"], constants["TLP_AMBER"]) == (TLP_2_ID_OF["green"], TLP_2_ID_OF["amber"])
