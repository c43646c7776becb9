"""The lifecycle of an agreement: terms, renewals, notices, suspension, the end, and status at any instant.

The rules are world-format.md's "Terms, renewals and notice" and "Fine print"; the facts of 2019 are
agreements.md §3 (JK art. 21).
"""

from __future__ import annotations

import pytest

from pactnet.policy import Notice, State
from pactnet.world import load_world
from tests.unit.worlds import (
    GSOMIA,
    amend,
    in_force,
    instant,
    notice,
    pact,
    paths,
    resume,
    shown,
    sign,
    status,
    suspend,
    terminate,
    withdraw,
    world,
)

# GSOMIA: signed and in force on 2016-11-23 at about 10:00 KST (agreements.md L1).
EIF = "2016-11-23T10:00:00+09:00"
SIGNED = (sign(EIF), in_force(EIF))
# T = 2019-11-23T00:00+09:00 and its deadline, T - 90 days = 2019-08-25T00:00+09:00 (exclusive).
T_2019 = "2019-11-23T00:00:00+09:00"
T_2020 = "2020-11-23T00:00:00+09:00"
T_2021 = "2021-11-23T00:00:00+09:00"
ROK_NOTICE = "2019-08-23T15:25:00+09:00"
ROK_SUSPENSION = "2019-11-22T18:00:00+09:00"
LAPSE = GSOMIA | {"late_notice": "lapse"}
IMMEDIATE = GSOMIA | {"resumed_notice": "immediate"}
INDEFINITE = {"timezone": "+09:00", "notice_period": "P90D"}
FIXED = {"timezone": "+09:00", "term": "P2Y"}
MONTHLY = {"timezone": "+00:00", "term": "P1Y", "renewal": "P1M", "notice_period": "P90D"}


def ends_at(events: tuple[str, ...], at: str, **settings: str) -> str | None:
    """When PACT is scheduled to end, as status shows it at `at`."""
    return shown(world(*events, **settings), at)["ends_at"]


class TestFirstTerm:
    """The first term starts on the local date of entry into force; every term boundary is local midnight."""

    def test_the_first_term_ends_at_local_midnight_a_term_after_the_local_date_of_entry_into_force(self) -> None:
        got = shown(world(*SIGNED, **GSOMIA), "2016-11-24T00:00:00+09:00")

        assert got["state"] == "in_force"
        assert got["term_ends"] == "2017-11-23T00:00:00+09:00"

    def test_an_entry_into_force_written_in_utc_counts_on_its_local_date(self) -> None:
        # 2016-11-22T20:00Z is 2016-11-23T05:00 in KST: the term starts on the 23rd, not the 22nd.
        got = status(world(in_force("2016-11-22T20:00:00Z"), **GSOMIA), "2016-12-01T00:00:00+09:00")

        assert got.term_ends == instant("2017-11-23T00:00:00+09:00")

    def test_an_entry_into_force_in_the_evening_west_of_utc_counts_on_the_local_date(self) -> None:
        # 2016-11-23T01:00Z is 2016-11-22T21:00 at -04:00: the term starts on the 22nd.
        settings = GSOMIA | {"timezone": "-04:00"}

        got = shown(world(in_force("2016-11-23T01:00:00Z"), **settings), "2016-12-01T00:00:00Z")

        assert got["term_ends"] == "2017-11-22T00:00:00-04:00"

    def test_an_entry_into_force_one_second_before_local_midnight_starts_the_term_that_day(self) -> None:
        events = (in_force("2016-11-22T23:59:59+09:00"),)

        assert shown(world(*events, **GSOMIA), "2016-12-01T00:00:00+09:00")["term_ends"] == (
            "2017-11-22T00:00:00+09:00"
        )

    def test_an_entry_into_force_at_local_midnight_starts_the_term_that_day(self) -> None:
        got = shown(world(in_force("2016-11-23T00:00:00+09:00"), **GSOMIA), "2016-11-23T00:00:00+09:00")

        assert got["state"] == "in_force"
        assert got["term_ends"] == "2017-11-23T00:00:00+09:00"

    def test_without_a_timezone_terms_are_counted_in_utc(self) -> None:
        # 2016-11-23T05:00+09:00 is 2016-11-22T20:00Z: in UTC the term starts on the 22nd.
        settings = {"term": "P1Y", "renewal": "P1Y", "notice_period": "P90D"}

        got = shown(world(in_force("2016-11-23T05:00:00+09:00"), **settings), "2016-12-01T00:00:00Z")

        assert got["term_ends"] == "2017-11-22T00:00:00+00:00"

    @pytest.mark.parametrize(
        ("at", "term_ends"),
        [
            ("2017-11-22T23:59:59+09:00", "2017-11-23T00:00:00+09:00"),
            ("2017-11-23T00:00:00+09:00", "2018-11-23T00:00:00+09:00"),
            ("2017-11-23T00:00:01+09:00", "2018-11-23T00:00:00+09:00"),
            ("2019-11-22T23:59:59+09:00", "2019-11-23T00:00:00+09:00"),
            ("2019-11-23T00:00:00+09:00", "2020-11-23T00:00:00+09:00"),
            ("2025-06-01T12:00:00+09:00", "2025-11-23T00:00:00+09:00"),
        ],
    )
    def test_the_agreement_renews_at_each_term_end(self, at: str, term_ends: str | None) -> None:
        got = shown(world(*SIGNED, **GSOMIA), at)

        assert (got["state"], got["notice"], got["term_ends"], got["ends_at"]) == (
            "in_force",
            "none",
            term_ends,
            None,
        )

    @pytest.mark.parametrize(
        ("at", "term_ends"),
        [
            ("2017-01-01T00:00:00+09:00", "2017-11-23T00:00:00+09:00"),
            ("2017-11-23T00:00:00+09:00", "2018-05-23T00:00:00+09:00"),
            ("2018-05-23T00:00:00+09:00", "2018-11-23T00:00:00+09:00"),
            ("2018-11-23T00:00:00+09:00", "2019-05-23T00:00:00+09:00"),
        ],
    )
    def test_a_renewal_of_another_length_follows_the_first_term(self, at: str, term_ends: str | None) -> None:
        settings = GSOMIA | {"renewal": "P6M", "notice_period": "P30D"}

        assert shown(world(*SIGNED, **settings), at)["term_ends"] == term_ends


class TestNoticeDeadline:
    """A notice counts for the term ending at T if and only if it is received strictly before T - notice_period."""

    def test_the_2019_notice_counts_for_the_term_ending_on_23_november_2019(self) -> None:
        got = shown(world(*SIGNED, notice(ROK_NOTICE), **GSOMIA), "2019-08-23T16:00:00+09:00")

        assert got == {
            "agreement": "PACT",
            "at": "2019-08-23T16:00:00+09:00",
            "state": "in_force",
            "notice": "pending",
            "term_ends": T_2019,
            "ends_at": T_2019,
            "ended_at": None,
        }

    @pytest.mark.parametrize(
        ("received", "end"),
        [
            ("2019-08-24T23:59:58+09:00", T_2019),
            ("2019-08-24T23:59:59+09:00", T_2019),
            ("2019-08-25T00:00:00+09:00", T_2020),
            ("2019-08-25T00:00:01+09:00", T_2020),
            ("2019-08-24T14:59:59Z", T_2019),
            ("2019-08-24T15:00:00Z", T_2020),
        ],
    )
    def test_the_2019_deadline_is_2019_08_25_at_midnight_kst_exclusive(self, received: str, end: str) -> None:
        assert ends_at((*SIGNED, notice(received)), received, **GSOMIA) == end

    def test_a_notice_received_one_second_before_the_deadline_counts_for_this_term(self) -> None:
        got = status(world(*SIGNED, notice("2019-08-24T23:59:59+09:00"), **GSOMIA), T_2019)

        assert (got.state, got.ended_at) == (State.TERMINATED, instant(T_2019))

    def test_a_notice_received_at_the_deadline_does_not_count_for_this_term(self) -> None:
        got = status(world(*SIGNED, notice("2019-08-25T00:00:00+09:00"), **GSOMIA), T_2019)

        assert got.state is State.IN_FORCE
        assert got.notice is Notice.PENDING

    def test_a_notice_in_the_first_term_counts_for_the_first_term_end(self) -> None:
        received = "2017-08-24T23:59:59+09:00"

        assert ends_at((*SIGNED, notice(received)), received, **GSOMIA) == "2017-11-23T00:00:00+09:00"

    def test_a_notice_received_at_a_term_end_counts_for_the_term_that_begins_then(self) -> None:
        received = "2018-11-23T00:00:00+09:00"

        assert ends_at((*SIGNED, notice(received)), received, **LAPSE) == T_2019

    @pytest.mark.parametrize(
        ("at", "state", "notice_now", "term_ends", "ends", "ended_at"),
        [
            ("2019-11-22T23:59:59+09:00", "in_force", "pending", T_2019, T_2019, None),
            (T_2019, "terminated", "none", None, None, T_2019),
            ("2019-11-23T00:00:01+09:00", "terminated", "none", None, None, T_2019),
            ("2030-01-01T00:00:00+09:00", "terminated", "none", None, None, T_2019),
        ],
    )
    def test_the_agreement_ends_at_the_term_end_the_notice_counts_for(
        self, at: str, state: str, notice_now: str, term_ends: str | None, ends: str | None, ended_at: str | None
    ) -> None:
        got = shown(world(*SIGNED, notice(ROK_NOTICE), **GSOMIA), at)

        assert (got["state"], got["notice"], got["term_ends"], got["ends_at"], got["ended_at"]) == (
            state,
            notice_now,
            term_ends,
            ends,
            ended_at,
        )

    def test_a_notice_from_either_party_counts(self) -> None:
        assert ends_at((*SIGNED, notice(ROK_NOTICE, by="AAA")), ROK_NOTICE, **GSOMIA) == T_2019


class TestLateNotice:
    """A notice too late for the current term counts for the next term end, or has no effect."""

    def test_a_notice_received_after_the_deadline_counts_for_the_next_term(self) -> None:
        late = world(*SIGNED, notice("2019-08-25T00:00:00+09:00"), **GSOMIA)

        at_2019 = shown(late, T_2019)
        assert (at_2019["state"], at_2019["notice"]) == ("in_force", "pending")
        assert (at_2019["term_ends"], at_2019["ends_at"]) == (T_2020, T_2020)
        assert status(late, "2020-11-22T23:59:59+09:00").state is State.IN_FORCE
        assert shown(late, T_2020)["state"] == "terminated"
        assert shown(late, T_2020)["ended_at"] == T_2020

    def test_next_term_is_the_default(self) -> None:
        events = (*SIGNED, notice("2019-08-25T00:00:00+09:00"))
        explicit = GSOMIA | {"late_notice": "next-term"}

        assert "late_notice" not in GSOMIA
        assert ends_at(events, T_2019, **GSOMIA) == ends_at(events, T_2019, **explicit) == T_2020

    def test_a_late_notice_that_lapses_has_no_effect(self) -> None:
        late = world(*SIGNED, notice("2019-08-25T00:00:00+09:00"), **LAPSE)

        at_notice = shown(late, "2019-08-25T00:00:00+09:00")
        assert (at_notice["state"], at_notice["notice"], at_notice["ends_at"]) == ("in_force", "none", None)
        at_2019 = shown(late, T_2019)
        assert (at_2019["state"], at_2019["notice"], at_2019["term_ends"]) == ("in_force", "none", T_2020)
        assert status(late, "2030-01-01T00:00:00+09:00").state is State.IN_FORCE

    def test_a_notice_on_time_still_counts_when_late_notices_lapse(self) -> None:
        received = "2019-08-24T23:59:59+09:00"

        assert ends_at((*SIGNED, notice(received)), received, **LAPSE) == T_2019

    def test_a_notice_one_second_before_a_term_end_lapses(self) -> None:
        received = "2018-11-22T23:59:59+09:00"

        got = shown(world(*SIGNED, notice(received), **LAPSE), received)

        assert (got["notice"], got["ends_at"]) == ("none", None)

    def test_a_new_notice_after_a_lapsed_one_counts(self) -> None:
        events = (*SIGNED, notice("2019-08-25T00:00:00+09:00"), notice("2020-08-24T12:00:00+09:00"))

        assert ends_at(events, "2020-08-24T12:00:00+09:00", **LAPSE) == T_2020


class TestRenewalShorterThanNoticePeriod:
    """A late notice counts for the first later term end whose deadline it meets, however many terms it skips."""

    # Term ends 2021-01-01, then every first of the month; their deadlines (T - 90 days) are 2020-10-03,
    # 2020-11-03, 2020-12-01, 2021-01-01 and 2021-01-31.
    EVENTS = (in_force("2020-01-01T12:00:00Z"),)

    @pytest.mark.parametrize(
        ("received", "end"),
        [
            ("2020-10-02T23:59:59Z", "2021-01-01T00:00:00+00:00"),
            ("2020-10-03T00:00:00Z", "2021-02-01T00:00:00+00:00"),
            ("2020-11-02T23:59:59Z", "2021-02-01T00:00:00+00:00"),
            ("2020-11-03T00:00:00Z", "2021-03-01T00:00:00+00:00"),
            ("2020-11-30T23:59:59Z", "2021-03-01T00:00:00+00:00"),
            ("2020-12-01T00:00:00Z", "2021-04-01T00:00:00+00:00"),
            ("2020-12-31T23:59:59Z", "2021-04-01T00:00:00+00:00"),
            ("2021-01-01T00:00:00Z", "2021-05-01T00:00:00+00:00"),
        ],
    )
    def test_a_late_notice_counts_for_the_first_term_end_whose_deadline_it_meets(self, received: str, end: str) -> None:
        assert ends_at((*self.EVENTS, notice(received)), received, **MONTHLY) == end

    def test_the_agreement_renews_past_the_term_ends_the_notice_skipped(self) -> None:
        late = world(*self.EVENTS, notice("2020-12-01T00:00:00Z"), **MONTHLY)

        skipped = shown(late, "2021-01-01T00:00:00Z")
        assert (skipped["state"], skipped["notice"]) == ("in_force", "pending")
        assert (skipped["term_ends"], skipped["ends_at"]) == (
            "2021-02-01T00:00:00+00:00",
            "2021-04-01T00:00:00+00:00",
        )
        assert status(late, "2021-03-31T23:59:59Z").state is State.IN_FORCE
        assert status(late, "2021-04-01T00:00:00Z").state is State.TERMINATED

    def test_a_late_notice_that_lapses_does_not_look_for_a_later_term(self) -> None:
        settings = MONTHLY | {"late_notice": "lapse"}
        received = "2020-10-03T00:00:00Z"

        assert ends_at((*self.EVENTS, notice(received)), received, **settings) is None


class TestSuspension:
    """A suspended notice schedules no end, and the terms keep renewing while it is suspended."""

    EVENTS = (*SIGNED, notice(ROK_NOTICE), suspend(ROK_SUSPENSION))

    @pytest.mark.parametrize(
        ("at", "notice_now", "term_ends", "ends"),
        [
            ("2019-11-22T17:59:59+09:00", "pending", T_2019, T_2019),
            (ROK_SUSPENSION, "suspended", T_2019, None),
            ("2019-11-22T23:59:59+09:00", "suspended", T_2019, None),
            (T_2019, "suspended", T_2020, None),
            (T_2020, "suspended", T_2021, None),
            ("2022-12-01T00:00:00+09:00", "suspended", "2023-11-23T00:00:00+09:00", None),
        ],
    )
    def test_a_suspended_notice_keeps_the_agreement_in_force_and_renewing(
        self, at: str, notice_now: str, term_ends: str | None, ends: str | None
    ) -> None:
        got = shown(world(*self.EVENTS, **GSOMIA), at)

        assert (got["state"], got["notice"], got["term_ends"], got["ends_at"], got["ended_at"]) == (
            "in_force",
            notice_now,
            term_ends,
            ends,
            None,
        )

    def test_a_suspension_one_second_before_the_term_end_keeps_the_agreement_in_force(self) -> None:
        events = (*SIGNED, notice(ROK_NOTICE), suspend("2019-11-22T23:59:59+09:00"))

        got = status(world(*events, **GSOMIA), T_2019)

        assert (got.state, got.notice) == (State.IN_FORCE, Notice.SUSPENDED)

    def test_a_suspension_at_the_term_end_comes_too_late(self) -> None:
        events = (*SIGNED, notice(ROK_NOTICE), suspend(T_2019))

        assert paths(*events, **GSOMIA) == ["events[3]"]

    def test_a_suspended_notice_on_an_indefinite_agreement_never_ends_it(self) -> None:
        events = (*SIGNED, notice(ROK_NOTICE), suspend("2019-09-01T00:00:00+09:00"))

        got = shown(world(*events, **INDEFINITE), "2040-01-01T00:00:00+09:00")

        assert (got["state"], got["notice"], got["term_ends"], got["ends_at"]) == (
            "in_force",
            "suspended",
            None,
            None,
        )


class TestResumeAtTermEnd:
    """A resumed notice ends the agreement at the first term end T with resumption < T - notice_period."""

    SUSPENDED = (*SIGNED, notice(ROK_NOTICE), suspend(ROK_SUSPENSION))

    @pytest.mark.parametrize(
        ("resumed", "end"),
        [
            ("2019-11-22T23:59:59+09:00", T_2020),
            ("2020-08-24T23:59:59+09:00", T_2020),
            ("2020-08-25T00:00:00+09:00", T_2021),
            ("2020-08-25T00:00:01+09:00", T_2021),
        ],
    )
    def test_a_resumed_notice_counts_for_the_first_term_end_whose_deadline_it_meets(
        self, resumed: str, end: str
    ) -> None:
        got = shown(world(*self.SUSPENDED, resume(resumed), **GSOMIA), resumed)

        assert (got["state"], got["notice"], got["ends_at"]) == ("in_force", "pending", end)

    def test_a_resumed_notice_ends_the_agreement_at_that_term_end(self) -> None:
        resumed = world(*self.SUSPENDED, resume("2020-08-24T23:59:59+09:00"), **GSOMIA)

        assert status(resumed, "2020-11-22T23:59:59+09:00").state is State.IN_FORCE
        assert shown(resumed, T_2020)["state"] == "terminated"
        assert shown(resumed, T_2020)["ended_at"] == T_2020

    def test_a_notice_resumed_after_its_deadline_does_not_keep_its_original_term_end(self) -> None:
        # Given on time for 2019, suspended and resumed after 2019-08-25: it counts from the resumption.
        events = (
            *SIGNED,
            notice(ROK_NOTICE),
            suspend("2019-09-01T00:00:00+09:00"),
            resume("2019-09-02T00:00:00+09:00"),
        )

        assert ends_at(events, "2019-09-02T00:00:00+09:00", **GSOMIA) == T_2020

    def test_late_notice_lapse_never_applies_to_a_resumed_notice(self) -> None:
        resumed = "2020-08-25T00:00:00+09:00"

        assert ends_at((*self.SUSPENDED, resume(resumed)), resumed, **LAPSE) == T_2021

    def test_an_indefinite_agreement_ends_a_notice_period_after_the_resumption(self) -> None:
        events = (
            *SIGNED,
            notice(ROK_NOTICE),
            suspend("2019-09-01T10:00:00+09:00"),
            resume("2019-10-01T09:30:00+09:00"),
        )

        resumed = world(*events, **INDEFINITE)

        assert shown(resumed, "2019-10-01T09:30:00+09:00")["ends_at"] == "2019-12-30T09:30:00+09:00"
        assert status(resumed, "2019-12-30T09:29:59+09:00").state is State.IN_FORCE
        assert shown(resumed, "2019-12-30T09:30:00+09:00")["ended_at"] == "2019-12-30T09:30:00+09:00"

    def test_an_indefinite_agreement_counts_from_the_resumption_in_local_time_across_summer_time(self) -> None:
        settings = {"timezone": "Europe/Paris", "notice_period": "P30D"}
        events = (
            in_force("2020-01-01T00:00:00+01:00"),
            notice("2021-01-10T12:00:00+01:00"),
            suspend("2021-01-20T12:00:00+01:00"),
            resume("2021-03-01T12:00:00+01:00"),
        )

        assert ends_at(events, "2021-03-01T12:00:00+01:00", **settings) == "2021-03-31T12:00:00+02:00"


class TestResumeImmediately:
    """With resumed_notice = "immediate", a resumed notice ends the agreement at the instant of resumption."""

    RESUMED = "2020-03-01T12:00:00+09:00"

    @pytest.mark.parametrize(
        "settings",
        [
            pytest.param(IMMEDIATE, id="renewing"),
            pytest.param(INDEFINITE | {"resumed_notice": "immediate"}, id="indefinite"),
        ],
    )
    def test_the_agreement_ends_at_the_resumption(self, settings: dict[str, str]) -> None:
        suspended = "2019-09-01T00:00:00+09:00"
        events = (*SIGNED, notice(ROK_NOTICE), suspend(suspended), resume(self.RESUMED))
        resumed = world(*events, **settings)

        before = shown(resumed, "2020-03-01T11:59:59+09:00")
        assert (before["state"], before["notice"], before["ends_at"]) == ("in_force", "suspended", None)
        at = shown(resumed, self.RESUMED)
        assert (at["state"], at["notice"], at["term_ends"], at["ends_at"], at["ended_at"]) == (
            "terminated",
            "none",
            None,
            None,
            self.RESUMED,
        )

    def test_nothing_can_happen_at_the_instant_of_an_immediate_resumption_after_it(self) -> None:
        events = (
            *SIGNED,
            notice(ROK_NOTICE),
            suspend(ROK_SUSPENSION),
            resume(self.RESUMED),
            terminate(self.RESUMED),
        )

        assert paths(*events, **IMMEDIATE) == ["events[5]"]


class TestWithdrawal:
    """A withdrawn notice, pending or suspended, is cancelled: nothing is scheduled and the terms renew."""

    def test_a_pending_notice_withdrawn_schedules_no_end(self) -> None:
        withdrawn = world(*SIGNED, notice(ROK_NOTICE), withdraw("2019-10-01T10:00:00+09:00"), **GSOMIA)

        before = shown(withdrawn, "2019-10-01T09:59:59+09:00")
        assert (before["notice"], before["ends_at"]) == ("pending", T_2019)
        at = shown(withdrawn, "2019-10-01T10:00:00+09:00")
        assert (at["notice"], at["ends_at"], at["term_ends"]) == ("none", None, T_2019)
        later = shown(withdrawn, T_2019)
        assert (later["state"], later["notice"], later["term_ends"]) == ("in_force", "none", T_2020)

    def test_a_notice_withdrawn_one_second_before_the_term_end_keeps_the_agreement_in_force(self) -> None:
        events = (*SIGNED, notice(ROK_NOTICE), withdraw("2019-11-22T23:59:59+09:00"))

        assert status(world(*events, **GSOMIA), T_2019).state is State.IN_FORCE

    def test_a_notice_cannot_be_withdrawn_at_the_instant_it_ends_the_agreement(self) -> None:
        assert paths(*SIGNED, notice(ROK_NOTICE), withdraw(T_2019), **GSOMIA) == ["events[3]"]

    def test_a_suspended_notice_withdrawn_returns_to_annual_renewal(self) -> None:
        # agreements.md L6: on 2023-03-21 the ROK withdrew both 2019 notes.
        events = (*SIGNED, notice(ROK_NOTICE), suspend(ROK_SUSPENSION), withdraw("2023-03-21T09:00:00+09:00"))
        withdrawn = world(*events, **GSOMIA)

        assert status(withdrawn, "2023-03-21T08:59:59+09:00").notice is Notice.SUSPENDED
        at = shown(withdrawn, "2023-03-21T09:00:00+09:00")
        assert (at["state"], at["notice"], at["term_ends"], at["ends_at"]) == (
            "in_force",
            "none",
            "2023-11-23T00:00:00+09:00",
            None,
        )
        assert shown(withdrawn, "2023-11-23T00:00:00+09:00")["term_ends"] == "2024-11-23T00:00:00+09:00"

    def test_a_new_notice_after_a_withdrawal_counts(self) -> None:
        events = (
            *SIGNED,
            notice(ROK_NOTICE),
            suspend(ROK_SUSPENSION),
            withdraw("2023-03-21T09:00:00+09:00"),
            notice("2023-08-24T23:59:59+09:00"),
        )

        assert ends_at(events, "2023-08-24T23:59:59+09:00", **GSOMIA) == "2023-11-23T00:00:00+09:00"

    def test_a_withdrawn_notice_on_an_indefinite_agreement_ends_nothing(self) -> None:
        withdrawn = world(*SIGNED, notice(ROK_NOTICE), withdraw("2019-09-01T00:00:00+09:00"), **INDEFINITE)

        got = shown(withdrawn, "2019-11-21T15:25:00+09:00")

        assert (got["state"], got["notice"], got["ends_at"]) == ("in_force", "none", None)


class TestTerminate:
    """`terminate` ends the agreement at its instant, by mutual consent."""

    AT = "2018-05-01T12:00:00+09:00"

    @pytest.mark.parametrize(
        ("at", "state"),
        [
            ("2018-05-01T11:59:59+09:00", "in_force"),
            ("2018-05-01T12:00:00+09:00", "terminated"),
            ("2018-05-01T12:00:01+09:00", "terminated"),
        ],
    )
    def test_the_agreement_ends_at_the_instant_of_termination(self, at: str, state: str) -> None:
        assert shown(world(*SIGNED, terminate(self.AT), **GSOMIA), at)["state"] == state

    def test_a_terminated_agreement_says_when_it_ended_and_nothing_more(self) -> None:
        got = shown(world(*SIGNED, terminate(self.AT), **GSOMIA), "2018-06-01T00:00:00+09:00")

        assert got == {
            "agreement": "PACT",
            "at": "2018-06-01T00:00:00+09:00",
            "state": "terminated",
            "notice": "none",
            "term_ends": None,
            "ends_at": None,
            "ended_at": self.AT,
        }

    def test_termination_ends_an_agreement_before_the_end_its_notice_scheduled(self) -> None:
        terminated = world(*SIGNED, notice(ROK_NOTICE), terminate("2019-10-01T10:00:00+09:00"), **GSOMIA)

        assert shown(terminated, T_2019)["ended_at"] == "2019-10-01T10:00:00+09:00"

    def test_termination_ends_an_indefinite_agreement(self) -> None:
        terminated = world(*SIGNED, terminate(self.AT), **INDEFINITE)

        assert status(terminated, self.AT).state is State.TERMINATED

    def test_an_event_at_the_instant_of_termination_before_it_in_the_file_still_applies(self) -> None:
        terminated = world(*SIGNED, notice(self.AT), terminate(self.AT), **GSOMIA)

        assert shown(terminated, self.AT)["ended_at"] == self.AT

    @pytest.mark.parametrize("after", ["2018-05-01T12:00:00+09:00", "2018-05-01T12:00:01+09:00"])
    def test_any_event_at_or_after_termination_is_an_error(self, after: str) -> None:
        assert paths(*SIGNED, terminate(self.AT), notice(after), **GSOMIA) == ["events[3]"]

    def test_termination_before_entry_into_force_is_an_error(self) -> None:
        assert paths(sign(EIF), terminate("2016-11-23T09:59:59+09:00"), in_force(EIF), **GSOMIA) == ["events[1]"]


class TestFixedTerm:
    """A term without renewal: the agreement ends with its term and cannot be ended by notice."""

    T = "2018-11-23T00:00:00+09:00"

    def test_a_fixed_term_agreement_is_scheduled_to_end_at_its_term_end(self) -> None:
        got = shown(world(*SIGNED, **FIXED), "2017-01-01T00:00:00+09:00")

        assert (got["state"], got["notice"], got["term_ends"], got["ends_at"]) == (
            "in_force",
            "none",
            self.T,
            self.T,
        )

    @pytest.mark.parametrize(
        ("at", "state", "term_ends", "ends", "ended_at"),
        [
            ("2018-11-22T23:59:59+09:00", "in_force", T, T, None),
            (T, "terminated", None, None, T),
            ("2018-11-23T00:00:01+09:00", "terminated", None, None, T),
        ],
    )
    def test_a_fixed_term_agreement_ends_at_its_term_end(
        self, at: str, state: str, term_ends: str | None, ends: str | None, ended_at: str | None
    ) -> None:
        got = shown(world(*SIGNED, **FIXED), at)

        assert (got["state"], got["term_ends"], got["ends_at"], got["ended_at"]) == (
            state,
            term_ends,
            ends,
            ended_at,
        )

    @pytest.mark.parametrize(
        "settings",
        [
            pytest.param(FIXED, id="no-notice-period"),
            pytest.param(FIXED | {"notice_period": "P90D"}, id="notice-period"),
        ],
    )
    def test_a_notice_on_a_fixed_term_agreement_is_an_error(self, settings: dict[str, str]) -> None:
        assert paths(*SIGNED, notice("2017-01-01T00:00:00+09:00"), **settings) == ["events[2]"]

    def test_terminate_still_ends_a_fixed_term_agreement_early(self) -> None:
        ended = world(*SIGNED, terminate("2017-06-01T00:00:00+09:00"), **FIXED)

        assert shown(ended, "2017-05-31T23:59:59+09:00")["ends_at"] == self.T
        assert shown(ended, "2017-06-01T00:00:00+09:00")["ended_at"] == "2017-06-01T00:00:00+09:00"

    def test_nothing_can_happen_at_the_instant_a_fixed_term_ends(self) -> None:
        assert paths(*SIGNED, terminate(self.T), **FIXED) == ["events[2]"]


class TestIndefinite:
    """Without a term, a notice received at n ends the agreement at n + notice_period in local date and time."""

    def test_an_indefinite_agreement_has_no_term_end_and_no_scheduled_end(self) -> None:
        got = shown(world(*SIGNED, **INDEFINITE), "2030-01-01T00:00:00+09:00")

        assert (got["state"], got["notice"], got["term_ends"], got["ends_at"]) == ("in_force", "none", None, None)

    @pytest.mark.parametrize(
        ("at", "state", "notice_now", "ends", "ended_at"),
        [
            (ROK_NOTICE, "in_force", "pending", "2019-11-21T15:25:00+09:00", None),
            ("2019-11-21T15:24:59+09:00", "in_force", "pending", "2019-11-21T15:25:00+09:00", None),
            ("2019-11-21T15:25:00+09:00", "terminated", "none", None, "2019-11-21T15:25:00+09:00"),
        ],
    )
    def test_a_notice_ends_the_agreement_a_notice_period_later(
        self, at: str, state: str, notice_now: str, ends: str | None, ended_at: str | None
    ) -> None:
        got = shown(world(*SIGNED, notice(ROK_NOTICE), **INDEFINITE), at)

        assert (got["state"], got["notice"], got["term_ends"], got["ends_at"], got["ended_at"]) == (
            state,
            notice_now,
            None,
            ends,
            ended_at,
        )

    def test_the_period_is_added_to_the_local_date_not_the_utc_date(self) -> None:
        # 2021-03-01T02:00Z is 2021-02-28T22:00 at -04:00: + P1M is 2021-03-28T22:00 there.
        settings = {"timezone": "-04:00", "notice_period": "P1M"}
        received = "2021-03-01T02:00:00Z"

        assert ends_at((*SIGNED, notice(received)), received, **settings) == "2021-03-28T22:00:00-04:00"

    def test_a_day_the_target_month_lacks_becomes_its_last_day(self) -> None:
        settings = INDEFINITE | {"notice_period": "P1M"}
        received = "2021-01-31T10:00:00+09:00"

        assert ends_at((*SIGNED, notice(received)), received, **settings) == "2021-02-28T10:00:00+09:00"

    def test_the_local_time_of_day_is_kept_across_a_change_to_summer_time(self) -> None:
        settings = {"timezone": "Europe/Paris", "notice_period": "P30D"}
        received = "2021-03-01T12:00:00+01:00"

        assert ends_at((*SIGNED, notice(received)), received, **settings) == "2021-03-31T12:00:00+02:00"

    def test_an_end_in_a_summer_time_gap_moves_forward_by_the_gap(self) -> None:
        # 2021-03-28T02:30 does not exist in Paris: it is 03:30 CEST.
        settings = {"timezone": "Europe/Paris", "notice_period": "P28D"}
        received = "2021-02-28T02:30:00+01:00"

        assert ends_at((*SIGNED, notice(received)), received, **settings) == "2021-03-28T03:30:00+02:00"

    def test_an_end_at_a_local_time_that_occurs_twice_is_the_earlier_instant(self) -> None:
        settings = {"timezone": "Europe/Paris", "notice_period": "P31D"}
        received = "2021-09-30T02:30:00+02:00"
        ended = world(*SIGNED, notice(received), **settings)

        assert status(ended, received).ends_at == instant("2021-10-31T00:30:00Z")
        assert status(ended, "2021-10-31T00:29:59Z").state is State.IN_FORCE
        assert status(ended, "2021-10-31T00:30:00Z").state is State.TERMINATED

    def test_late_notice_does_not_apply_without_terms(self) -> None:
        settings = INDEFINITE | {"late_notice": "lapse"}

        assert ends_at((*SIGNED, notice(ROK_NOTICE)), ROK_NOTICE, **settings) == "2019-11-21T15:25:00+09:00"


class TestMonthEnds:
    """Term ends are start + term + k x renewal, added to the local date once and clamped once."""

    LEAP = (in_force("2016-02-29T10:00:00+09:00"),)

    @pytest.mark.parametrize(
        ("at", "term_ends"),
        [
            ("2016-03-01T00:00:00+09:00", "2017-02-28T00:00:00+09:00"),
            ("2017-02-28T00:00:00+09:00", "2018-02-28T00:00:00+09:00"),
            ("2018-02-28T00:00:00+09:00", "2019-02-28T00:00:00+09:00"),
            ("2019-02-28T00:00:00+09:00", "2020-02-29T00:00:00+09:00"),
            ("2020-02-28T12:00:00+09:00", "2020-02-29T00:00:00+09:00"),
            ("2020-02-28T23:59:59+09:00", "2020-02-29T00:00:00+09:00"),
            ("2020-02-29T00:00:00+09:00", "2021-02-28T00:00:00+09:00"),
            ("2023-02-28T00:00:00+09:00", "2024-02-29T00:00:00+09:00"),
        ],
    )
    def test_a_yearly_agreement_from_29_february_ends_its_terms_on_the_last_day_of_february(
        self, at: str, term_ends: str | None
    ) -> None:
        assert shown(world(*self.LEAP, **GSOMIA), at)["term_ends"] == term_ends

    @pytest.mark.parametrize(
        ("at", "term_ends"),
        [
            ("2018-09-01T00:00:00+09:00", "2019-02-28T00:00:00+09:00"),
            ("2019-02-28T00:00:00+09:00", "2019-08-31T00:00:00+09:00"),
            ("2019-08-31T00:00:00+09:00", "2020-02-29T00:00:00+09:00"),
            ("2020-02-29T00:00:00+09:00", "2020-08-31T00:00:00+09:00"),
            ("2020-08-31T00:00:00+09:00", "2021-02-28T00:00:00+09:00"),
        ],
    )
    def test_a_half_yearly_agreement_from_31_august_returns_to_the_31st(self, at: str, term_ends: str | None) -> None:
        settings = GSOMIA | {"term": "P6M", "renewal": "P6M", "notice_period": "P30D"}

        assert shown(world(in_force("2018-08-31T10:00:00+09:00"), **settings), at)["term_ends"] == term_ends

    def test_a_fixed_term_of_six_months_from_31_august_ends_on_the_last_day_of_february(self) -> None:
        ended = world(in_force("2018-08-31T10:00:00+09:00"), **FIXED | {"term": "P6M"})

        assert shown(ended, "2019-03-01T00:00:00+09:00")["ended_at"] == "2019-02-28T00:00:00+09:00"

    @pytest.mark.parametrize(
        ("period", "received", "end"),
        [
            # 2019-03-31 - P1M = 2019-02-28.
            ("P1M", "2019-02-27T23:59:59+09:00", "2019-03-31T00:00:00+09:00"),
            ("P1M", "2019-02-28T00:00:00+09:00", "2020-03-31T00:00:00+09:00"),
            # Months first, then days: 2019-03-31 - P1M1D = 2019-02-28 - 1 day = 2019-02-27.
            ("P1M1D", "2019-02-26T23:59:59+09:00", "2019-03-31T00:00:00+09:00"),
            ("P1M1D", "2019-02-27T00:00:00+09:00", "2020-03-31T00:00:00+09:00"),
        ],
    )
    def test_a_deadline_a_month_before_the_31st_is_clamped_to_the_end_of_february(
        self, period: str, received: str, end: str
    ) -> None:
        settings = GSOMIA | {"notice_period": period}
        events = (in_force("2018-03-31T10:00:00+09:00"), notice(received))

        assert ends_at(events, received, **settings) == end


class TestSummerTime:
    """With an IANA timezone, local midnight follows the zone's offset on each date."""

    def test_paris_term_ends_carry_the_offset_of_their_season(self) -> None:
        settings = {"timezone": "Europe/Paris", "term": "P6M", "renewal": "P6M", "notice_period": "P30D"}
        paris = world(in_force("2020-01-15T10:00:00+01:00"), **settings)

        assert shown(paris, "2020-02-01T00:00:00+01:00")["term_ends"] == "2020-07-15T00:00:00+02:00"
        assert shown(paris, "2020-07-14T21:59:59Z")["term_ends"] == "2020-07-15T00:00:00+02:00"
        assert shown(paris, "2020-07-14T22:00:00Z")["term_ends"] == "2021-01-15T00:00:00+01:00"
        assert shown(paris, "2021-01-14T22:59:59Z")["term_ends"] == "2021-01-15T00:00:00+01:00"
        assert shown(paris, "2021-01-14T23:00:00Z")["term_ends"] == "2021-07-15T00:00:00+02:00"

    @pytest.mark.parametrize(
        ("at", "state"), [("2020-07-14T21:59:59Z", "in_force"), ("2020-07-14T22:00:00Z", "terminated")]
    )
    def test_a_fixed_term_in_paris_ends_at_midnight_summer_time(self, at: str, state: str) -> None:
        settings = {"timezone": "Europe/Paris", "term": "P6M"}

        assert shown(world(in_force("2020-01-15T10:00:00+01:00"), **settings), at)["state"] == state

    @pytest.mark.parametrize(
        ("received", "end"),
        [
            # T = 2021-06-01T00:00+02:00; T - 90 days on the local date is 2021-03-03T00:00+01:00, which is
            # an hour after T - 90 x 24 hours.
            ("2021-03-02T23:30:00+01:00", "2021-06-01T00:00:00+02:00"),
            ("2021-03-02T23:59:59+01:00", "2021-06-01T00:00:00+02:00"),
            ("2021-03-03T00:00:00+01:00", "2022-06-01T00:00:00+02:00"),
        ],
    )
    def test_the_paris_deadline_is_local_midnight_in_winter_for_a_term_ending_in_summer(
        self, received: str, end: str
    ) -> None:
        settings = GSOMIA | {"timezone": "Europe/Paris"}
        events = (in_force("2020-06-01T10:00:00+02:00"), notice(received))

        assert ends_at(events, received, **settings) == end

    @pytest.mark.parametrize(
        ("at", "state"), [("2018-11-04T02:59:59Z", "in_force"), ("2018-11-04T03:00:00Z", "terminated")]
    )
    def test_a_term_end_on_a_missing_midnight_in_sao_paulo_moves_forward_by_the_gap(self, at: str, state: str) -> None:
        # 2018-11-04: 00:00 -03:00 became 01:00 -02:00.
        settings = {"timezone": "America/Sao_Paulo", "term": "P1Y"}
        ended = world(in_force("2017-11-04T12:00:00-02:00"), **settings)

        got = shown(ended, at)

        assert got["state"] == state
        assert shown(ended, "2018-01-01T00:00:00Z")["ends_at"] == "2018-11-04T01:00:00-02:00"

    @pytest.mark.parametrize(
        ("received", "end"),
        [
            # T = 2019-02-02T00:00-02:00; T - 90 days is 2018-11-04, whose midnight is 01:00 -02:00 (03:00Z).
            ("2018-11-04T02:59:59Z", "2019-02-02T00:00:00-02:00"),
            ("2018-11-04T03:00:00Z", "2020-02-02T00:00:00-03:00"),
        ],
    )
    def test_a_deadline_on_a_missing_midnight_in_sao_paulo_moves_forward_by_the_gap(
        self, received: str, end: str
    ) -> None:
        settings = GSOMIA | {"timezone": "America/Sao_Paulo"}
        events = (in_force("2018-02-02T12:00:00-02:00"), notice(received))

        assert ends_at(events, received, **settings) == end

    @pytest.mark.parametrize(
        ("at", "state"), [("2019-11-03T03:59:59Z", "in_force"), ("2019-11-03T04:00:00Z", "terminated")]
    )
    def test_a_term_end_on_a_midnight_that_occurs_twice_in_havana_is_the_earlier_one(self, at: str, state: str) -> None:
        # 2019-11-03: 01:00 -04:00 became 00:00 -05:00, so midnight came at 04:00Z and again at 05:00Z.
        ended = world(in_force("2018-11-03T12:00:00-04:00"), timezone="America/Havana", term="P1Y")

        assert shown(ended, at)["state"] == state
        assert shown(ended, "2020-01-01T00:00:00Z")["ended_at"] == "2019-11-03T00:00:00-04:00"

    @pytest.mark.parametrize(
        ("at", "state"), [("2019-03-10T04:59:59Z", "in_force"), ("2019-03-10T05:00:00Z", "terminated")]
    )
    def test_a_term_end_on_a_missing_midnight_in_havana_moves_forward_by_the_gap(self, at: str, state: str) -> None:
        # 2019-03-10: 00:00 -05:00 became 01:00 -04:00.
        ended = world(in_force("2018-03-10T12:00:00-05:00"), timezone="America/Havana", term="P1Y")

        assert shown(ended, at)["state"] == state
        assert shown(ended, "2020-01-01T00:00:00Z")["ended_at"] == "2019-03-10T01:00:00-04:00"


class TestStatusOutsideForce:
    """Before entry into force and after the end, notice is none and term_ends and ends_at are null."""

    @pytest.mark.parametrize(
        ("at", "state"),
        [
            ("2016-11-20T09:59:59+09:00", "not_in_force"),
            ("2016-11-20T10:00:00+09:00", "signed"),
            ("2016-11-22T23:59:59+09:00", "signed"),
            ("2016-11-23T09:59:59+09:00", "signed"),
            ("2016-11-23T10:00:00+09:00", "in_force"),
        ],
    )
    def test_an_agreement_is_signed_from_its_signature_and_in_force_from_its_entry_into_force(
        self, at: str, state: str
    ) -> None:
        events = (sign("2016-11-20T10:00:00+09:00"), in_force(EIF))

        assert shown(world(*events, **GSOMIA), at)["state"] == state

    def test_an_agreement_never_signed_is_not_in_force_before_its_entry_into_force(self) -> None:
        got = shown(world(in_force(EIF), **GSOMIA), "2016-11-23T09:59:59+09:00")

        assert got == {
            "agreement": "PACT",
            "at": "2016-11-23T09:59:59+09:00",
            "state": "not_in_force",
            "notice": "none",
            "term_ends": None,
            "ends_at": None,
            "ended_at": None,
        }

    def test_a_signed_agreement_has_no_term_end_before_it_enters_into_force(self) -> None:
        got = shown(world(sign("2016-11-20T10:00:00+09:00"), in_force(EIF), **FIXED), "2016-11-21T00:00:00+09:00")

        assert (got["state"], got["notice"], got["term_ends"], got["ends_at"], got["ended_at"]) == (
            "signed",
            "none",
            None,
            None,
            None,
        )

    def test_an_agreement_without_events_is_never_in_force(self) -> None:
        got = shown(world(**GSOMIA), "2019-11-23T00:00:00+09:00")

        assert (got["state"], got["notice"], got["term_ends"], got["ends_at"]) == ("not_in_force", "none", None, None)

    def test_an_agreement_signed_and_entering_into_force_at_once_is_in_force_at_that_instant(self) -> None:
        assert status(world(*SIGNED, **GSOMIA), EIF).state is State.IN_FORCE

    def test_an_agreement_in_force_has_not_ended_even_when_its_end_is_scheduled(self) -> None:
        assert status(world(*SIGNED, notice(ROK_NOTICE), **GSOMIA), "2019-11-22T23:59:59+09:00").ended_at is None

    def test_status_names_the_agreement_and_the_instant_asked_about(self) -> None:
        got = status(world(*SIGNED, **GSOMIA), "2018-01-01T00:00:00Z")

        assert (got.agreement, got.at) == ("PACT", instant("2018-01-01T09:00:00+09:00"))


class TestOnlyPastEvents:
    """The status at an instant depends only on the events at or before it."""

    BASE = (*SIGNED, notice(ROK_NOTICE))
    LATER = (
        suspend(ROK_SUSPENSION),
        resume("2020-08-01T00:00:00+09:00"),
        withdraw("2020-09-01T00:00:00+09:00"),
        terminate("2021-01-01T00:00:00+09:00"),
    )

    @pytest.mark.parametrize(
        "at",
        ["2016-11-23T09:59:59+09:00", EIF, "2019-08-23T15:24:59+09:00", ROK_NOTICE, "2019-11-22T17:59:59+09:00"],
    )
    def test_later_events_do_not_change_an_earlier_status(self, at: str) -> None:
        assert shown(world(*self.BASE, *self.LATER, **GSOMIA), at) == shown(world(*self.BASE, **GSOMIA), at)

    @pytest.mark.parametrize(
        ("at", "notice_now"),
        [
            ("2019-08-23T15:24:59+09:00", "none"),
            (ROK_NOTICE, "pending"),
            ("2019-11-22T17:59:59+09:00", "pending"),
            (ROK_SUSPENSION, "suspended"),
            ("2020-07-31T23:59:59+09:00", "suspended"),
            ("2020-08-01T00:00:00+09:00", "pending"),
            ("2020-08-31T23:59:59+09:00", "pending"),
            ("2020-09-01T00:00:00+09:00", "none"),
        ],
    )
    def test_an_event_counts_from_its_own_instant(self, at: str, notice_now: str) -> None:
        assert shown(world(*self.BASE, *self.LATER, **GSOMIA), at)["notice"] == notice_now

    def test_a_later_termination_does_not_show_as_a_scheduled_end(self) -> None:
        got = shown(world(*SIGNED, terminate("2021-01-01T00:00:00+09:00"), **GSOMIA), "2020-12-31T23:59:59+09:00")

        assert (got["state"], got["ends_at"], got["ended_at"]) == ("in_force", None, None)

    def test_events_at_the_same_instant_apply_in_file_order(self) -> None:
        same = "2019-09-01T00:00:00+09:00"

        assert status(world(*SIGNED, notice(same), withdraw(same), **GSOMIA), same).notice is Notice.NONE
        assert paths(*SIGNED, withdraw(same), notice(same), **GSOMIA) == ["events[2]"]

    def test_events_apply_in_order_of_their_instants_not_of_the_file(self) -> None:
        events = (notice(ROK_NOTICE), in_force(EIF))

        assert status(world(*events, **GSOMIA), ROK_NOTICE).notice is Notice.PENDING


class TestMisplacedEvents:
    """A lifecycle event that makes no sense where it stands is a validation error at its path."""

    @pytest.mark.parametrize(
        "early",
        [
            pytest.param(notice("2016-11-23T09:59:59+09:00"), id="notice"),
            pytest.param(terminate("2016-11-23T09:59:59+09:00"), id="terminate"),
            pytest.param(amend("2016-11-23T09:59:59+09:00", '{ scope = ["x"] }'), id="amend"),
        ],
    )
    def test_a_lifecycle_event_before_entry_into_force_is_an_error(self, early: str) -> None:
        assert paths(sign("2016-11-20T10:00:00+09:00"), early, in_force(EIF), **GSOMIA) == ["events[1]"]

    @pytest.mark.parametrize(
        "late",
        [
            pytest.param(notice(T_2019, by="AAA"), id="notice-at-the-end"),
            pytest.param(terminate(T_2019), id="terminate-at-the-end"),
            pytest.param(amend(T_2019, '{ scope = ["x"] }'), id="amend-at-the-end"),
            pytest.param(notice("2019-11-23T00:00:01+09:00", by="AAA"), id="notice-after-the-end"),
        ],
    )
    def test_an_event_at_or_after_the_end_is_an_error(self, late: str) -> None:
        assert paths(*SIGNED, notice(ROK_NOTICE), late, **GSOMIA) == ["events[3]"]

    def test_an_event_one_second_before_the_end_is_accepted(self) -> None:
        ended = world(*SIGNED, notice(ROK_NOTICE), terminate("2019-11-22T23:59:59+09:00"), **GSOMIA)

        assert shown(ended, T_2019)["ended_at"] == "2019-11-22T23:59:59+09:00"

    @pytest.mark.parametrize("second_by", ["BBB", "AAA"])
    def test_a_second_notice_while_one_is_pending_is_an_error(self, second_by: str) -> None:
        events = (*SIGNED, notice(ROK_NOTICE), notice("2019-09-01T00:00:00+09:00", by=second_by))

        assert paths(*events, **GSOMIA) == ["events[3]"]

    def test_a_second_notice_while_one_is_suspended_is_an_error(self) -> None:
        events = (*SIGNED, notice(ROK_NOTICE), suspend(ROK_SUSPENSION), notice("2020-01-01T00:00:00+09:00"))

        assert paths(*events, **GSOMIA) == ["events[4]"]

    @pytest.mark.parametrize(
        "act",
        [
            pytest.param(suspend("2019-09-01T00:00:00+09:00", by="AAA"), id="suspend"),
            pytest.param(withdraw("2019-09-01T00:00:00+09:00", by="AAA"), id="withdraw"),
        ],
    )
    def test_only_the_party_that_gave_the_notice_may_act_on_it(self, act: str) -> None:
        assert paths(*SIGNED, notice(ROK_NOTICE), act, **GSOMIA) == ["events[3]"]

    def test_only_the_party_that_gave_the_notice_may_resume_it(self) -> None:
        events = (*SIGNED, notice(ROK_NOTICE), suspend(ROK_SUSPENSION), resume("2020-01-01T00:00:00+09:00", "AAA"))

        assert paths(*events, **GSOMIA) == ["events[4]"]

    @pytest.mark.parametrize(
        "act",
        [
            pytest.param(resume("2019-09-01T00:00:00+09:00"), id="resume"),
            pytest.param(withdraw("2019-09-01T00:00:00+09:00"), id="withdraw"),
            pytest.param(suspend("2019-09-01T00:00:00+09:00"), id="suspend"),
        ],
    )
    def test_acting_on_a_notice_that_is_not_there_is_an_error(self, act: str) -> None:
        assert paths(*SIGNED, act, **GSOMIA) == ["events[2]"]

    def test_resuming_a_pending_notice_is_an_error(self) -> None:
        assert paths(*SIGNED, notice(ROK_NOTICE), resume("2019-09-01T00:00:00+09:00"), **GSOMIA) == ["events[3]"]

    def test_suspending_a_suspended_notice_is_an_error(self) -> None:
        events = (*SIGNED, notice(ROK_NOTICE), suspend(ROK_SUSPENSION), suspend("2020-01-01T00:00:00+09:00"))

        assert paths(*events, **GSOMIA) == ["events[4]"]

    def test_a_notice_from_a_party_that_is_not_a_party_is_an_error(self) -> None:
        assert paths(*SIGNED, notice(ROK_NOTICE, by="CCC"), **GSOMIA) == ["events[2]"]

    def test_a_lapsed_notice_leaves_nothing_to_withdraw(self) -> None:
        events = (*SIGNED, notice("2019-08-25T00:00:00+09:00"), withdraw("2019-09-01T00:00:00+09:00"))

        assert paths(*events, **LAPSE) == ["events[3]"]


class TestAmendments:
    """From its instant, an amended agreement reads as amended; amendments do not touch the lifecycle."""

    SCOPE = amend("2018-01-01T00:00:00+09:00", '{ scope = ["dprk-missile"] }')
    EQUIVALENCE = amend(
        "2019-01-01T00:00:00+09:00", '{ equivalence = [{ AAA = "LOW", BBB = "low" }, { AAA = "HIGH", BBB = "high" }] }'
    )

    def test_the_original_text_holds_until_the_amendment(self) -> None:
        text = pact(world(*SIGNED, self.SCOPE, **GSOMIA)).text_at(instant("2017-12-31T23:59:59+09:00"))

        assert text.scope.categories == ("*",)

    def test_the_amended_text_holds_from_the_instant_of_the_amendment(self) -> None:
        text = pact(world(*SIGNED, self.SCOPE, **GSOMIA)).text_at(instant("2018-01-01T00:00:00+09:00"))

        assert text.scope.categories == ("dprk-missile",)

    def test_an_amendment_keeps_what_it_does_not_set(self) -> None:
        amended = pact(world(*SIGNED, self.SCOPE, self.EQUIVALENCE, **GSOMIA))

        between = amended.text_at(instant("2018-06-01T00:00:00+09:00"))
        after = amended.text_at(instant("2019-01-01T00:00:00+09:00"))
        assert (between.scope.categories, between.translate("AAA", "BBB", "HIGH")) == (("dprk-missile",), None)
        assert (after.scope.categories, after.translate("AAA", "BBB", "HIGH")) == (("dprk-missile",), "high")

    @pytest.mark.parametrize("at", ["2017-12-31T23:59:59+09:00", "2018-01-01T00:00:00+09:00", T_2019])
    def test_an_amendment_does_not_change_the_status(self, at: str) -> None:
        assert shown(world(*SIGNED, notice(ROK_NOTICE), self.SCOPE, **GSOMIA), at) == shown(
            world(*SIGNED, notice(ROK_NOTICE), **GSOMIA), at
        )


class TestReferenceWorld:
    """The bundled GSOMIA worlds answer as agreements.md §3 and the public checks say."""

    JK = "JPN-ROK-GSOMIA-2016"

    def status_in(self, name: str, at: str) -> dict[str, str | None]:
        agreement = load_world(name).agreements[self.JK]
        return agreement.history.status(instant(at)).as_dict(agreement.zone)

    @pytest.mark.parametrize(
        ("at", "expected"),
        [
            ("2016-11-22T12:00:00+09:00", {"state": "not_in_force", "notice": "none"}),
            (
                "2016-11-24T00:00:00+09:00",
                {"state": "in_force", "notice": "none", "term_ends": "2017-11-23T00:00:00+09:00", "ends_at": None},
            ),
            (
                "2019-08-23T16:00:00+09:00",
                {"state": "in_force", "notice": "pending", "term_ends": T_2019, "ends_at": T_2019},
            ),
            (
                "2019-11-22T23:59:59+09:00",
                {"state": "in_force", "notice": "suspended", "term_ends": T_2019, "ends_at": None},
            ),
            (T_2019, {"state": "in_force", "notice": "suspended", "term_ends": T_2020, "ends_at": None}),
            (
                "2023-03-21T09:00:00+09:00",
                {"state": "in_force", "notice": "none", "term_ends": "2023-11-23T00:00:00+09:00", "ends_at": None},
            ),
        ],
    )
    def test_the_2019_crisis_as_it_happened(self, at: str, expected: dict[str, str | None]) -> None:
        got = self.status_in("gsomia-2019", at)

        assert {key: got[key] for key in expected} == expected

    @pytest.mark.parametrize(
        ("at", "state", "ended_at"),
        [("2019-11-22T23:59:59+09:00", "in_force", None), (T_2019, "terminated", T_2019)],
    )
    def test_without_the_suspension_the_agreement_ends_on_23_november_2019(
        self, at: str, state: str, ended_at: str | None
    ) -> None:
        got = self.status_in("gsomia-2019-no-suspension", at)

        assert (got["state"], got["ended_at"]) == (state, ended_at)
