"""Pure scheduling rules, table-tested."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from openiop.scheduling import calendar, rules


# clinical.md §2.1: ASAM 2.1 IOP is 9 or more h/week for adults, 6 or more for adolescents.
@pytest.mark.parametrize(
    ("population", "hours", "days"),
    [("adult", Decimal("9"), 3), ("adolescent", Decimal("6"), 3), ("unknown", Decimal("9"), 3)],
)
def test_default_minimums(population: str, hours: Decimal, days: int) -> None:
    assert rules.default_minimums(population) == (hours, days)


@pytest.mark.parametrize(
    ("staff", "accepted", "ok"),
    [
        ("LCSW, CADC", "CADC", True),
        ("lcsw", "LPC, LCSW", True),
        ("LPC", "CADC", False),
        ("", "CADC", False),
        ("", "", True),
        ("MD", "", True),
        ("CADC-II", "CADC", False),
    ],
)
def test_holds_credential(staff: str, accepted: str, ok: bool) -> None:
    assert rules.holds_credential(staff, accepted) is ok


@pytest.mark.parametrize(
    ("value", "problem"),
    [("013", False), ("", True), ("7", True), ("0013", True), ("0123456", False)],
)
def test_weekdays_problem(value: str, problem: bool) -> None:
    assert (rules.weekdays_problem(value) is not None) is problem


@pytest.mark.parametrize(
    ("weekday", "start", "end", "problem"),
    [
        (0, time(9), time(12), None),
        (3, time(9, 30), time(11), None),
        (2, time(9), time(12), "Wed is outside the track's days"),
        (0, time(8), time(12), "outside the track's hours"),
        (1, time(9), time(12, 30), "outside the track's hours"),
    ],
)
def test_track_hours(weekday: int, start: time, end: time, problem: str | None) -> None:
    got = rules.track_hours_problem(
        weekday=weekday,
        start=start,
        end=end,
        track_weekdays="013",
        day_start=time(9),
        day_end=time(12),
        track_name="Morning",
    )
    assert (got is None) if problem is None else (got is not None and problem in got)


def test_time_order_and_capacity() -> None:
    assert rules.time_order_problem(time(12), time(9)) == "The session must end after it starts."
    assert rules.time_order_problem(time(9), time(9)) is not None
    assert rules.time_order_problem(time(9), time(12)) is None
    assert rules.capacity_problem(capacity=15, room_name="R1", room_capacity=14) is not None
    assert rules.capacity_problem(capacity=14, room_name="R1", room_capacity=14) is None


def test_occurrences_follow_weekdays_and_skip_closures() -> None:
    days = rules.occurrence_dates(
        weekdays="013",
        valid_from=date(2030, 3, 4),
        valid_until=None,
        start=date(2030, 3, 1),
        through=date(2030, 3, 14),
        closed=[date(2030, 3, 5)],
    )
    assert days == [
        date(2030, 3, 4),
        date(2030, 3, 7),
        date(2030, 3, 11),
        date(2030, 3, 12),
        date(2030, 3, 14),
    ]
    assert rules.occurrence_dates(
        weekdays="0",
        valid_from=date(2030, 3, 4),
        valid_until=date(2030, 3, 10),
        start=date(2030, 3, 4),
        through=date(2030, 3, 31),
    ) == [date(2030, 3, 4)]


@pytest.mark.parametrize(
    ("session_on", "start_on", "ended_on", "on"),
    [
        (date(2030, 3, 4), date(2030, 3, 4), None, True),
        (date(2030, 3, 3), date(2030, 3, 4), None, False),
        (date(2030, 3, 10), date(2030, 3, 4), date(2030, 3, 10), False),
        (date(2030, 3, 9), date(2030, 3, 4), date(2030, 3, 10), True),
    ],
)
def test_on_roster(session_on: date, start_on: date, ended_on: date | None, on: bool) -> None:
    assert rules.on_roster(session_on=session_on, start_on=start_on, ended_on=ended_on) is on


def test_pin_windows() -> None:
    start, end = date(2030, 3, 4), date(2030, 4, 28)
    assert rules.pin_window(anchor="last_days", days=3, start_on=start, expected_end_on=end) == (
        date(2030, 4, 26),
        end,
    )
    assert rules.pin_window(anchor="first_days", days=2, start_on=start, expected_end_on=end) == (
        start,
        date(2030, 3, 5),
    )
    assert rules.pin_window(anchor="", days=3, start_on=start, expected_end_on=end) is None
    assert rules.pin_due(
        anchor="last_days",
        days=3,
        start_on=start,
        expected_end_on=end,
        window_start=date(2030, 4, 20),
        window_end=date(2030, 4, 26),
    )
    assert rules.expected_end(start, 8) == date(2030, 4, 28)


@pytest.mark.parametrize(
    ("weekday", "start", "end", "after"),
    [
        (0, time(9), time(10), False),
        (0, time(17, 30), time(18), True),
        (5, time(9), time(10), True),
    ],
)
def test_after_hours(weekday: int, start: time, end: time, after: bool) -> None:
    assert rules.is_after_hours(weekday=weekday, start=start, end=end) is after


def test_appointment_staff_rule() -> None:
    assert rules.appointment_staff_problem(kind="med_management", staff_role="counselor")
    assert rules.appointment_staff_problem(kind="med_management", staff_role="prescriber") is None
    assert rules.appointment_staff_problem(kind="individual", staff_role="counselor") is None


def test_calendar_layout_lanes_and_rows() -> None:
    tz = ZoneInfo("America/New_York")
    day = date(2030, 3, 4)
    at = lambda h, m=0: datetime(2030, 3, 4, h, m, tzinfo=tz)  # noqa: E731
    cols = calendar.layout(
        [day], [("a", at(9), at(12)), ("b", at(10), at(11)), ("c", at(13), at(14))]
    )
    placed = {p.item: p for p in cols[0].placed}
    assert placed["a"].row_start == (9 - calendar.FIRST_HOUR) * 4 + 1
    assert placed["a"].row_end == (12 - calendar.FIRST_HOUR) * 4 + 1
    assert (placed["a"].lane, placed["b"].lane, placed["c"].lane) == (1, 2, 1)
    assert cols[0].lanes == 2


def test_calendar_layout_overflow_widening_and_short_events() -> None:
    tz = ZoneInfo("America/New_York")
    day = date(2030, 3, 4)
    at = lambda h, m=0: datetime(2030, 3, 4, h, m, tzinfo=tz)  # noqa: E731
    crowd = [(f"x{i}", at(10), at(11)) for i in range(5)]
    cols = calendar.layout([day], [*crowd, ("late", at(15), at(15, 20))], max_lanes=3)
    col = cols[0]
    placed = {p.item: p for p in col.placed}
    assert col.lanes == 3 and col.more == 2
    assert [placed[f"x{i}"].hidden for i in range(5)] == [False, False, False, True, True]
    # The crowd's third lane is the column's edge; the lone 15:00 event takes the width.
    assert placed["x2"].to_end and not placed["x0"].to_end
    assert placed["late"].lane == 1 and placed["late"].to_end
    assert placed["late"].short and not placed["x0"].short
    # Side by side up to the default six lanes in a day view.
    assert calendar.layout([day], crowd)[0].more == 0
