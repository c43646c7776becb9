"""The console's pictures and form fields, without a server: what the timeline, network and heat map say."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from itertools import pairwise
from typing import TYPE_CHECKING

import pytest

from pactnet.policy.impact import impact
from pactnet.services.timelines import Network, life_of
from pactnet.web.charts import network, timeline
from pactnet.web.charts.svg import text_width
from pactnet.web.instants import read_instant
from pactnet.web.pages.what_if import heat_rows
from pactnet.world import load_world

if TYPE_CHECKING:
    from pactnet.policy.model import Agreement, Arrangement

WORLD = load_world("gsomia-2019")
GSOMIA = "JPN-ROK-GSOMIA-2016"
AFTER_THE_STORY = datetime(2024, 8, 1, tzinfo=UTC)


def _gsomia() -> Agreement:
    return WORLD.agreements[GSOMIA]


class TestTheTimeline:
    """The GSOMIA's picture, drawn from the core's timeline."""

    def test_every_event_of_the_story_is_labelled_with_its_date(self) -> None:
        svg = str(timeline.draw(life_of(_gsomia(), AFTER_THE_STORY), "t"))
        labels = re.findall(r'<text [^>]*class="event"[^>]*>([^<]+)</text>', svg)
        assert [label[:10] for label in labels] == ["2016-11-23", "2019-08-23", "2019-11-22", "2023-03-21"]

    def test_labels_in_one_lane_never_overlap(self) -> None:
        chart = life_of(_gsomia(), AFTER_THE_STORY)
        axis = timeline._axis(chart)  # noqa: SLF001 - the layout is the thing under test
        placed = timeline._lay_out(axis, timeline._events(chart), chart.pact.zone)  # noqa: SLF001
        for lane in {lane for _, lane, _ in placed}:
            spans = sorted(
                (x, x + text_width(text, 11))
                if x + text_width(text, 11) + 12 <= timeline.WIDTH - timeline.RIGHT
                else (x - text_width(text, 11), x)
                for x, one, text in placed
                if one == lane
            )
            assert all(left[1] <= right[0] for left, right in pairwise(spans))

    def test_the_notice_pending_band_runs_from_the_notice_to_the_suspension(self) -> None:
        chart = life_of(_gsomia(), AFTER_THE_STORY)
        pending = [period for period in chart.periods if timeline.band_class(period) == "band notice-pending"]
        assert len(pending) == 1
        assert pending[0].start.astimezone(_gsomia().zone).isoformat() == "2019-08-23T15:25:00+09:00"
        assert pending[0].stop is not None
        assert pending[0].stop.astimezone(_gsomia().zone).isoformat() == "2019-11-22T18:00:00+09:00"

    def test_each_renewal_has_its_deadline_for_notice_ninety_days_before(self) -> None:
        chart = life_of(_gsomia(), AFTER_THE_STORY)
        ends = {end.at.astimezone(_gsomia().zone).date().isoformat(): end for end in chart.term_ends}
        deadline = ends["2019-11-23"].deadline
        assert deadline is not None
        assert deadline.astimezone(_gsomia().zone).date().isoformat() == "2019-08-25"
        assert "2024-11-23" in ends  # the current term's end, ahead of now

    def test_the_countdown_names_the_scheduled_end_while_notice_is_pending(self) -> None:
        chart = life_of(_gsomia(), datetime(2019, 11, 1, tzinfo=UTC))
        assert timeline.countdown(chart) == "scheduled end in 21 days"

    def test_the_picture_has_a_description_in_words(self) -> None:
        words = timeline.describe(life_of(_gsomia(), AFTER_THE_STORY))
        assert "in force, notice of termination pending" in words
        assert "in force, notice suspended" in words

    def test_text_from_the_world_is_escaped(self) -> None:
        hostile = replace(_gsomia(), title="<script>alert(1)</script>")
        svg = str(timeline.draw(life_of(hostile, AFTER_THE_STORY), "t"))
        assert "<script>" not in svg
        assert "&lt;script&gt;" in svg


class TestTheNetwork:
    """Each pact coloured by its state at the instant asked."""

    def test_in_october_2019_the_gsomia_is_drawn_with_its_notice_pending(self) -> None:
        at = datetime(2019, 10, 1, tzinfo=UTC)
        pacts: list[Agreement | Arrangement] = [*WORLD.agreements.values(), *WORLD.arrangements.values()]
        picture = Network(
            at, (("JPN", "Japan"), ("ROK", "Korea"), ("USA", "US")), tuple((p, p.history.status(at)) for p in pacts)
        )
        svg = str(network.draw(picture))
        assert re.search(rf'<line [^>]*class="link notice-pending"[^>]*><title>{GSOMIA}', svg)
        relays = re.findall(r'class="link state-in-force relay"><title>TISA-2014', svg)
        assert len(relays) == 2  # TISA: USA to JPN and to ROK
        assert 'class="party hub"' in svg


class TestTheHeatMap:
    """A row per ordered pair, a column per category."""

    def test_three_parties_make_six_rows_each_with_every_category(self) -> None:
        found = impact(WORLD, GSOMIA, datetime(2019, 11, 23, tzinfo=UTC))
        categories, rows = heat_rows(found)
        assert len(rows) == 6
        assert all(len(row["cells"]) == len(categories) for row in rows)
        changed = {(row["sender"], row["receiver"]) for row in rows if row["changed"]}
        assert changed == {("JPN", "ROK"), ("ROK", "JPN")}


class TestInstants:
    """What the console's instant fields accept."""

    def test_a_date_is_midnight_utc_and_an_offset_is_kept(self) -> None:
        assert read_instant("2019-11-23") == datetime(2019, 11, 23, tzinfo=UTC)
        assert read_instant(" 2019-11-23T00:00:00+09:00 ").isoformat() == "2019-11-23T00:00:00+09:00"

    @pytest.mark.parametrize("text", ["yesterday", "2019-11-23T00:00:00", "2019-13-01", "9" * 100, ""])
    def test_anything_else_is_refused(self, text: str) -> None:
        with pytest.raises(ValueError, match=r".+"):
            read_instant(text)
