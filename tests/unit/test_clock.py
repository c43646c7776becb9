"""Local time in an agreement's time zone, and instants as the world file writes them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pactnet.policy.clock import (
    local_date,
    local_midnight,
    local_time,
    parse_instant,
    parse_timezone,
    to_instant,
)

PARIS = ZoneInfo("Europe/Paris")
SAO_PAULO = ZoneInfo("America/Sao_Paulo")
HAVANA = ZoneInfo("America/Havana")
KST = parse_timezone("+09:00")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    """An instant given in UTC."""
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


def naive(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A naive local date and time."""
    return datetime(year, month, day, hour, minute)  # noqa: DTZ001 - a local time on the agreement's clock


class TestParseTimezone:
    """A timezone is a UTC offset such as "+09:00" or an IANA name; anything else is an error."""

    @pytest.mark.parametrize(
        ("text", "offset"),
        [
            ("+09:00", timedelta(hours=9)),
            ("-04:00", timedelta(hours=-4)),
            ("+05:45", timedelta(hours=5, minutes=45)),
            ("-03:30", timedelta(hours=-3, minutes=-30)),
            ("+00:00", timedelta(0)),
            ("+23:59", timedelta(hours=23, minutes=59)),
        ],
    )
    def test_a_utc_offset_is_a_fixed_clock(self, text: str, offset: timedelta) -> None:
        zone = parse_timezone(text)

        assert zone.utcoffset(naive(2019, 1, 1)) == offset
        assert zone.utcoffset(naive(2019, 7, 1)) == offset

    def test_an_iana_name_is_a_clock_with_summer_time(self) -> None:
        zone = parse_timezone("Europe/Paris")

        assert zone.utcoffset(naive(2021, 1, 15)) == timedelta(hours=1)
        assert zone.utcoffset(naive(2021, 7, 15)) == timedelta(hours=2)

    @pytest.mark.parametrize(
        "text", ["+24:00", "+09:60", "9:00", "+9:00", "+0900", "09:00", "Mars/Olympus_Mons", "", "../zoneinfo"]
    )
    def test_anything_else_is_an_error(self, text: str) -> None:
        with pytest.raises(ValueError, match="UTC offset"):
            parse_timezone(text)


class TestToInstant:
    """A naive local time becomes an instant; gaps move forward, repeated times take the earlier instant."""

    def test_a_local_time_on_a_fixed_clock_is_shifted_by_the_offset(self) -> None:
        assert to_instant(naive(2019, 8, 25), KST) == utc(2019, 8, 24, 15)

    def test_a_local_time_in_a_summer_time_gap_moves_forward_by_the_gap(self) -> None:
        # Paris, 28 March 2021: 02:00 CET became 03:00 CEST, so 02:30 does not exist and reads as 03:30 CEST.
        assert to_instant(naive(2021, 3, 28, 2, 30), PARIS) == utc(2021, 3, 28, 1, 30)

    def test_a_local_time_that_occurs_twice_is_the_earlier_instant(self) -> None:
        # Paris, 31 October 2021: 03:00 CEST became 02:00 CET, so 02:30 happens at 00:30 and 01:30 UTC.
        assert to_instant(naive(2021, 10, 31, 2, 30), PARIS) == utc(2021, 10, 31, 0, 30)

    def test_the_gap_rule_and_the_earlier_instant_rule_do_not_touch_ordinary_times(self) -> None:
        assert to_instant(naive(2021, 3, 28, 3, 30), PARIS) == utc(2021, 3, 28, 1, 30)
        assert to_instant(naive(2021, 10, 31, 3, 30), PARIS) == utc(2021, 10, 31, 2, 30)


class TestLocalMidnight:
    """Every term boundary is 00:00 local time, with the zone's offset on that date."""

    def test_midnight_on_a_fixed_clock(self) -> None:
        assert local_midnight(date(2019, 11, 23), KST) == utc(2019, 11, 22, 15)

    def test_midnight_in_paris_is_an_hour_earlier_in_utc_in_summer(self) -> None:
        assert local_midnight(date(2021, 1, 15), PARIS) == utc(2021, 1, 14, 23)
        assert local_midnight(date(2021, 7, 15), PARIS) == utc(2021, 7, 14, 22)

    def test_a_midnight_that_does_not_exist_moves_forward_by_the_gap(self) -> None:
        # Sao Paulo, 4 November 2018: 00:00 -03:00 became 01:00 -02:00.
        assert local_midnight(date(2018, 11, 4), SAO_PAULO) == utc(2018, 11, 4, 3)
        # Havana, 10 March 2019: 00:00 -05:00 became 01:00 -04:00.
        assert local_midnight(date(2019, 3, 10), HAVANA) == utc(2019, 3, 10, 5)

    def test_a_midnight_that_occurs_twice_is_the_earlier_instant(self) -> None:
        # Havana, 3 November 2019: 01:00 -04:00 became 00:00 -05:00, so midnight came at 04:00 and 05:00 UTC.
        assert local_midnight(date(2019, 11, 3), HAVANA) == utc(2019, 11, 3, 4)

    def test_a_midnight_in_a_skipped_day_moves_forward_by_the_whole_gap(self) -> None:
        # Apia skipped 30 December 2011: 2011-12-29T24:00 -10:00 was followed by 2011-12-31T00:00 +14:00.
        apia = ZoneInfo("Pacific/Apia")

        assert local_midnight(date(2011, 12, 30), apia) == utc(2011, 12, 30, 10)
        assert local_midnight(date(2011, 12, 31), apia) == utc(2011, 12, 30, 10)

    def test_a_midnight_next_to_a_repeated_hour_is_unique(self) -> None:
        # Sao Paulo, 17 February 2019: 00:00 -02:00 became 23:00 -03:00 on the 16th; midnight came once.
        assert local_midnight(date(2019, 2, 17), SAO_PAULO) == utc(2019, 2, 17, 3)


class TestLocalDateAndTime:
    """The date and time on the agreement's clock at an instant."""

    def test_the_local_date_can_be_a_day_after_the_utc_date(self) -> None:
        assert local_date(utc(2016, 11, 22, 20), KST) == date(2016, 11, 23)

    def test_the_local_date_can_be_a_day_before_the_utc_date(self) -> None:
        assert local_date(utc(2016, 11, 23, 1), parse_timezone("-04:00")) == date(2016, 11, 22)

    def test_the_local_time_is_naive_and_on_the_agreements_clock(self) -> None:
        assert local_time(utc(2019, 8, 23, 6, 25), KST) == naive(2019, 8, 23, 15, 25)

    def test_the_local_time_follows_summer_time(self) -> None:
        assert local_time(utc(2021, 7, 15, 10), PARIS) == naive(2021, 7, 15, 12)
        assert local_time(utc(2021, 1, 15, 10), PARIS) == naive(2021, 1, 15, 11)


class TestParseInstant:
    """An instant is RFC 3339 with an offset; a naive or malformed one is an error."""

    def test_an_instant_keeps_its_offset_and_its_moment(self) -> None:
        moment = parse_instant("2019-08-23T15:25:00+09:00")

        assert moment == utc(2019, 8, 23, 6, 25)
        assert moment.utcoffset() == timedelta(hours=9)

    def test_z_is_the_utc_offset(self) -> None:
        assert parse_instant("2019-08-23T06:25:00Z") == utc(2019, 8, 23, 6, 25)

    def test_lower_case_t_and_z_are_rfc_3339_too(self) -> None:
        # RFC 3339 §5.6: "T" and "Z" may alternatively be lower case.
        assert parse_instant("2019-08-23t06:25:00z") == utc(2019, 8, 23, 6, 25)

    def test_fractions_of_a_second_are_kept(self) -> None:
        assert parse_instant("2019-08-24T23:59:59.5+09:00") == utc(2019, 8, 24, 14, 59, 59, 500000)

    @pytest.mark.parametrize("text", ["2019-08-23T15:25:00", "2019-08-23", "2019-08-23T15:25"])
    def test_a_naive_instant_is_an_error(self, text: str) -> None:
        with pytest.raises(ValueError, match="offset"):
            parse_instant(text)

    @pytest.mark.parametrize(
        "text", ["", "yesterday", "2019-13-01T00:00:00+09:00", "2019-02-29T00:00:00+09:00", "15:25+09:00"]
    )
    def test_a_malformed_instant_is_an_error(self, text: str) -> None:
        with pytest.raises(ValueError, match=re.escape(repr(text))):
            parse_instant(text)

    @pytest.mark.parametrize(
        "text", ["20190823T152500+0900", "2019-W34-5T15:25:00+09:00", "2019-08-23T15:25:00+09", "2019-235T15:25:00Z"]
    )
    def test_an_iso_8601_form_that_rfc_3339_does_not_allow_is_an_error(self, text: str) -> None:
        with pytest.raises(ValueError, match=re.escape(repr(text))):
            parse_instant(text)
