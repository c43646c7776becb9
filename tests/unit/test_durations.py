"""Calendar durations and the date arithmetic of world-format.md ("Terms, renewals and notice", "Fine print")."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from pactnet.policy.durations import Duration, add_to_date, add_to_local, subtract_from_date
from tests.unit.worlds import GSOMIA, in_force, issues


def days(text: str) -> Duration:
    """A duration as the world file writes it."""
    return Duration.parse(text)


class TestParse:
    """Durations are written in years, months, weeks and days."""

    @pytest.mark.parametrize(
        ("text", "years", "months", "day_count"),
        [
            ("P1Y", 1, 0, 0),
            ("P6M", 0, 6, 0),
            ("P90D", 0, 0, 90),
            ("P1Y6M", 1, 6, 0),
            ("P1Y2M3W4D", 1, 2, 25),
            ("P12M", 0, 12, 0),
            ("P400D", 0, 0, 400),
        ],
    )
    def test_a_duration_reads_its_years_months_and_days(
        self, text: str, years: int, months: int, day_count: int
    ) -> None:
        duration = Duration.parse(text)

        assert (duration.years, duration.months, duration.days) == (years, months, day_count)

    def test_a_week_is_seven_days(self) -> None:
        assert Duration.parse("P2W").days == 14

    def test_a_duration_shows_as_it_was_written(self) -> None:
        assert str(Duration.parse("P1Y6M")) == "P1Y6M"

    def test_a_duration_repeated_is_one_sum_of_its_parts(self) -> None:
        repeated = Duration.parse("P1Y2M3D").times(4)

        assert (repeated.years, repeated.months, repeated.days) == (4, 8, 12)

    def test_two_durations_add_part_by_part(self) -> None:
        total = Duration.parse("P1Y").plus(Duration.parse("P6M10D"))

        assert (total.years, total.months, total.days) == (1, 6, 10)


class TestParseErrors:
    """A time part, a zero, a negative duration or anything else that is not a duration is an error."""

    @pytest.mark.parametrize("text", ["PT1H", "PT0S", "P1DT2H", "P1YT1M", "PT90M", "P1Y2M3DT4H5M6S"])
    def test_a_time_part_is_an_error(self, text: str) -> None:
        with pytest.raises(ValueError, match=re.escape(repr(text))):
            Duration.parse(text)

    @pytest.mark.parametrize("text", ["P0D", "P0Y", "P0M", "P0W", "P0Y0M0W0D", "P00D"])
    def test_a_zero_duration_is_an_error(self, text: str) -> None:
        with pytest.raises(ValueError, match="longer than zero"):
            Duration.parse(text)

    @pytest.mark.parametrize("text", ["-P1Y", "P-1Y", "P1Y-1D", "-P90D", "+P90D"])
    def test_a_negative_or_signed_duration_is_an_error(self, text: str) -> None:
        with pytest.raises(ValueError, match=re.escape(repr(text))):
            Duration.parse(text)

    @pytest.mark.parametrize(
        "text", ["", "P", "1Y", "90D", "P1", "PY", "P1X", "P1Y1Y", " P1Y", "P1Y ", "one year", "P1Y\n"]
    )
    def test_junk_is_an_error(self, text: str) -> None:
        with pytest.raises(ValueError, match=re.escape(repr(text))):
            Duration.parse(text)

    @pytest.mark.parametrize("key", ["term", "renewal", "notice_period"])
    @pytest.mark.parametrize("text", ["PT1H", "P0D", "-P1Y", "yearly"])
    def test_a_bad_duration_in_a_world_is_reported_at_its_key(self, key: str, text: str) -> None:
        settings = GSOMIA | {key: text}

        found = issues(in_force("2016-11-23T10:00:00+09:00"), **settings)

        assert [issue.path for issue in found] == [f"agreements.PACT.{key}"]
        assert text in found[0].found


class TestAddToDate:
    """Years and months are added to the local date; a day the target month lacks becomes its last day."""

    @pytest.mark.parametrize(
        ("start", "duration", "end"),
        [
            (date(2016, 11, 23), "P1Y", date(2017, 11, 23)),
            (date(2016, 2, 29), "P1Y", date(2017, 2, 28)),
            (date(2016, 2, 29), "P4Y", date(2020, 2, 29)),
            (date(2018, 8, 31), "P6M", date(2019, 2, 28)),
            (date(2019, 8, 31), "P6M", date(2020, 2, 29)),
            (date(2019, 1, 31), "P1M", date(2019, 2, 28)),
            (date(2019, 3, 31), "P1M", date(2019, 4, 30)),
            (date(2019, 11, 30), "P3M", date(2020, 2, 29)),
            (date(2019, 12, 15), "P1M", date(2020, 1, 15)),
            (date(2019, 8, 25), "P90D", date(2019, 11, 23)),
            (date(2019, 11, 9), "P2W", date(2019, 11, 23)),
            (date(2019, 5, 31), "P1Y6M", date(2020, 11, 30)),
        ],
    )
    def test_a_duration_lands_on_the_expected_local_date(self, start: date, duration: str, end: date) -> None:
        assert add_to_date(start, days(duration)) == end

    def test_years_and_months_are_added_before_days(self) -> None:
        # Months first: 30 Jan + P1M = 28 Feb, + 2 days = 2 Mar (days first would give 1 Mar + P1M = 1 Apr).
        assert add_to_date(date(2019, 1, 30), days("P1M2D")) == date(2019, 3, 2)

    @pytest.mark.parametrize(
        ("renewals", "end"),
        [(0, date(2017, 2, 28)), (1, date(2018, 2, 28)), (2, date(2019, 2, 28)), (3, date(2020, 2, 29))],
    )
    def test_a_sum_of_years_is_clamped_once(self, renewals: int, end: date) -> None:
        year = days("P1Y")
        total = year.plus(year.times(renewals)) if renewals else year

        assert add_to_date(date(2016, 2, 29), total) == end


class TestSubtractFromDate:
    """T - notice_period takes years and months first, then weeks and days, on the local date."""

    @pytest.mark.parametrize(
        ("end", "duration", "deadline"),
        [
            (date(2019, 11, 23), "P90D", date(2019, 8, 25)),
            (date(2020, 11, 23), "P90D", date(2020, 8, 25)),
            (date(2021, 6, 1), "P90D", date(2021, 3, 3)),
            (date(2019, 11, 23), "P2W", date(2019, 11, 9)),
            (date(2020, 2, 29), "P1Y", date(2019, 2, 28)),
            (date(2019, 3, 31), "P1M", date(2019, 2, 28)),
            (date(2020, 3, 31), "P1M", date(2020, 2, 29)),
            (date(2019, 5, 31), "P3M", date(2019, 2, 28)),
            (date(2020, 1, 15), "P1M", date(2019, 12, 15)),
        ],
    )
    def test_a_deadline_lands_on_the_expected_local_date(self, end: date, duration: str, deadline: date) -> None:
        assert subtract_from_date(end, days(duration)) == deadline

    def test_years_and_months_are_taken_before_weeks_and_days(self) -> None:
        # 31 Mar - P1M = 28 Feb, - 1 day = 27 Feb (days first would give 30 Mar - P1M = 28 Feb).
        assert subtract_from_date(date(2019, 3, 31), days("P1M1D")) == date(2019, 2, 27)

    def test_weeks_are_taken_with_the_days_after_the_months(self) -> None:
        # 31 Mar - P1M = 28 Feb, - 1 week = 21 Feb (weeks first would give 24 Mar - P1M = 24 Feb).
        assert subtract_from_date(date(2019, 3, 31), days("P1M1W")) == date(2019, 2, 21)


class TestAddToLocal:
    """A duration added to a local date and time keeps the time of day (indefinite agreements)."""

    def test_the_time_of_day_is_kept(self) -> None:
        moment = datetime(2019, 8, 23, 15, 25)  # noqa: DTZ001 - a naive local time on purpose

        assert add_to_local(moment, days("P90D")) == datetime(2019, 11, 21, 15, 25)  # noqa: DTZ001

    def test_a_day_the_target_month_lacks_becomes_its_last_day(self) -> None:
        moment = datetime(2021, 1, 31, 10, 0, 30)  # noqa: DTZ001 - a naive local time on purpose

        assert add_to_local(moment, days("P1M")) == datetime(2021, 2, 28, 10, 0, 30)  # noqa: DTZ001
