"""The world loader's fast report reader accepts exactly what the plain one accepts, and builds the same report."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pactnet.world import _Reader

PARTIES: dict[str, Any] = {"AAA": {"levels": ["LOW", "HIGH"], "aliases": {"L": "LOW"}}}
PARTIES |= {"BBB": {"levels": ["low"]}, "CCC": {"levels": ["c"]}}

ids = st.sampled_from(["r1", "r2", "r 1", "", "r.é", "Café", 7])
codes = st.sampled_from(["AAA", "BBB", "CCC", "ZZZ", "", 1])
labels = st.sampled_from(["LOW", "HIGH", "L", "low", "", None, 3])
category_lists = st.lists(st.sampled_from(["x", "y", "", 5, "*"]), max_size=3)
instants = st.one_of(
    st.sampled_from(
        [
            "2019-11-23T00:00:00+09:00",
            "2019-11-23T00:00:00.1234567+09:00",
            "0000-12-31T23:00:00-01:00",
            "9999-12-31T23:59:59-01:00",
            "2019-11-23T00:00:00",
            "2019-11-23",
            "yesterday",
        ]
    ),
    st.just(datetime(2019, 11, 23, tzinfo=UTC)),
    st.just(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=9)))),
    st.just(datetime(2019, 11, 23)),  # noqa: DTZ001 - a TOML local date-time, which is no instant
    st.just(date(2019, 11, 23)),
)


@st.composite
def raw_reports(draw: st.DrawFn) -> object:
    """Report tables, mostly nearly valid, each field sometimes missing, wrong or odd."""
    if draw(st.integers(0, 20)) == 0:
        return draw(st.sampled_from(["a string", 3, ["a list"]]))
    table: dict[str, Any] = {"id": draw(ids), "originator": draw(codes), "level": draw(labels)}
    for key in list(table):
        if draw(st.integers(0, 8)) == 0:
            del table[key]
    if draw(st.booleans()):
        table["categories"] = draw(category_lists)
    if draw(st.booleans()):
        table["rel_to"] = draw(st.lists(codes, max_size=3))
    if draw(st.booleans()):
        table["created"] = draw(instants)
    if draw(st.integers(0, 10)) == 0:
        table["colour"] = "red"
    return table


def reader() -> _Reader:
    fresh = _Reader("test")
    fresh.read_parties(PARTIES)
    return fresh


class TestReportReaders:
    """Fast path or plain rules, a report table gives the same report or is refused with a reason."""

    @settings(max_examples=400, deadline=None)
    @given(raw=raw_reports())
    def test_the_fast_reader_gives_what_the_plain_reader_gives(self, raw: object) -> None:
        fast = reader().fast_report(raw, {})
        plain_reader = reader()
        plain = plain_reader.plain_report(raw, "reports[0]")
        if fast is not None:
            assert fast == plain
        if plain is None:
            assert plain_reader.issues, "a report is never dropped without a word"

    @settings(max_examples=200, deadline=None)
    @given(raw=raw_reports())
    def test_a_report_the_plain_reader_accepts_is_one_the_world_holds(self, raw: object) -> None:
        plain = reader().plain_report(raw, "reports[0]")
        loaded = reader()
        loaded.read_reports([raw])
        assert list(loaded.reports.values()) == ([] if plain is None else [plain])

    def test_a_report_naming_a_party_twice_in_rel_to_is_refused_by_both_readers(self) -> None:
        raw = {"id": "r1", "originator": "AAA", "level": "LOW", "rel_to": ["BBB", "BBB"]}
        assert reader().fast_report(raw, {}) is None
        plain_reader = reader()
        assert plain_reader.plain_report(raw, "reports[0]") is None
        assert [issue.path for issue in plain_reader.issues] == ["reports[0].rel_to[1]"]
