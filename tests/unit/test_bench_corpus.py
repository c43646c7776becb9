"""The TAXII benchmark's objects carry the markings pactnet defines (the benchmark keeps copies of their ids)."""

from __future__ import annotations

from bench import stix_corpus
from pactnet.stix.extension import PACTNET_MARKING_EXTENSION_ID
from pactnet.stix.tlp import TLP_2_ID_OF


class TestTheBenchmarksMarkings:
    """bench/stix_corpus.py runs from the benchmark's own environment, so it copies the fixed ids: they must match."""

    def test_the_pactnet_marking_extension_is_pactnets(self) -> None:
        assert stix_corpus.PACTNET_MARKING_EXTENSION_ID == PACTNET_MARKING_EXTENSION_ID

    def test_the_tlp_markings_are_tlp_2_0s(self) -> None:
        assert (stix_corpus.TLP_GREEN, stix_corpus.TLP_AMBER) == (TLP_2_ID_OF["green"], TLP_2_ID_OF["amber"])
