"""Pure scheduling decisions: no ORM, no clock (dates and times are passed in)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from dateutil.rrule import WEEKLY, rrule

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# clinical.md §2.1 (ASAM 2.1 IOP): 9 or more h/week adults, 6 or more adolescents.
# The 3 days/week default follows state rules cited there (Wyoming: at least 3 sessions a week).
DEFAULT_MINIMUMS: dict[str, tuple[Decimal, int]] = {
    "adult": (Decimal("9"), 3),
    "adolescent": (Decimal("6"), 3),
}

# Appointments outside these local hours, or on a weekend, are "after hours" (setting
# SCHEDULING_BUSINESS_HOURS overrides; a program choice, not a clinical source).
DEFAULT_BUSINESS_HOURS = (time(8, 0), time(17, 0))


def default_minimums(population: str) -> tuple[Decimal, int]:
    """A track's default minimum hours and days per week for its population."""
    return DEFAULT_MINIMUMS.get(population, DEFAULT_MINIMUMS["adult"])


def parse_weekdays(value: str) -> frozenset[int]:
    """'013' -> {0, 1, 3} (Monday = 0). Unknown characters are ignored."""
    return frozenset(int(c) for c in value if c in "0123456")


def weekdays_text(value: str) -> str:
    return ", ".join(WEEKDAY_NAMES[d] for d in sorted(parse_weekdays(value)))


def weekdays_problem(value: str) -> str | None:
    if not value or not re.fullmatch(r"[0-6]{1,7}", value) or len(set(value)) != len(value):
        return "Choose at least one weekday."
    return None


def normalize_weekdays(days: Iterable[int | str]) -> str:
    return "".join(str(d) for d in sorted({int(d) for d in days}))


def time_order_problem(start: time, end: time) -> str | None:
    if end <= start:
        return "The session must end after it starts."
    return None


def track_hours_problem(
    *,
    weekday: int,
    start: time,
    end: time,
    track_weekdays: str,
    day_start: time,
    day_end: time,
    track_name: str,
) -> str | None:
    """A group session must fall on one of its track's days, inside its hours."""
    if weekday not in parse_weekdays(track_weekdays):
        return (
            f"{track_name} meets on {weekdays_text(track_weekdays)}; "
            f"{WEEKDAY_NAMES[weekday]} is outside the track's days."
        )
    if start < day_start or end > day_end:
        return (
            f"{track_name} runs {day_start:%H:%M} to {day_end:%H:%M}; "
            f"{start:%H:%M} to {end:%H:%M} is outside the track's hours."
        )
    return None


def template_days_problem(*, weekdays: str, track_weekdays: str, track_name: str) -> str | None:
    extra = parse_weekdays(weekdays) - parse_weekdays(track_weekdays)
    if extra:
        names = ", ".join(WEEKDAY_NAMES[d] for d in sorted(extra))
        return (
            f"{track_name} meets on {weekdays_text(track_weekdays)}; "
            f"{names} is outside the track's days."
        )
    return None


def capacity_problem(*, capacity: int, room_name: str, room_capacity: int) -> str | None:
    if capacity < 1:
        return "Capacity must be at least 1."
    if capacity > room_capacity:
        return f"{room_name} seats {room_capacity}; a capacity of {capacity} is over the room's."
    return None


def _tokens(value: str) -> set[str]:
    return {t for t in re.split(r"[\s,;/]+", value.upper()) if t}


def holds_credential(staff_credentials: str, accepted: str) -> bool:
    """Whether a staff member's credential letters include one the topic accepts.

    'LCSW, CADC' holds 'CADC'; a topic accepting nothing particular ('') is open to all.
    """
    wanted = _tokens(accepted)
    return not wanted or bool(wanted & _tokens(staff_credentials))


def occurrence_dates(
    *,
    weekdays: str,
    valid_from: date,
    valid_until: date | None,
    start: date,
    through: date,
    closed: Iterable[date] = (),
) -> list[date]:
    """The dates a weekly template meets between start and through (inclusive),
    within its validity, skipping closures and holidays."""
    first = max(valid_from, start)
    last = min(valid_until, through) if valid_until else through
    if last < first:
        return []
    rule = rrule(
        WEEKLY,
        byweekday=sorted(parse_weekdays(weekdays)),
        dtstart=datetime.combine(first, time()),
        until=datetime.combine(last, time()),
    )
    skip = set(closed)
    return [d.date() for d in rule if d.date() not in skip]


def cycle_position(index: int, cycle_length: int) -> int | None:
    """Which step of a track's topic cycle the index-th session takes."""
    if cycle_length <= 0:
        return None
    return index % cycle_length


def on_roster(*, session_on: date, start_on: date, ended_on: date | None) -> bool:
    """Rolling admission: a patient is on every session from their start date until the
    enrolment ends (ended_on is the first day off the rosters)."""
    return start_on <= session_on and (ended_on is None or session_on < ended_on)


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Half-open intervals: a session ending at 12:00 does not clash with one at 12:00."""
    return a_start < b_end and b_start < a_end


def is_after_hours(
    *,
    weekday: int,
    start: time,
    end: time,
    business_hours: tuple[time, time] = DEFAULT_BUSINESS_HOURS,
) -> bool:
    day_start, day_end = business_hours
    return weekday >= 5 or start < day_start or end > day_end


def expected_end(start_on: date, typical_weeks: int) -> date:
    """The last expected day in a track (start + typical length, minus one day)."""
    return start_on + timedelta(weeks=typical_weeks) - timedelta(days=1)


def pin_window(
    *, anchor: str, days: int | None, start_on: date, expected_end_on: date | None
) -> tuple[date, date] | None:
    """The dates (inclusive) in which a pinned topic is due for a patient."""
    if not anchor or not days:
        return None
    if anchor == "first_days":
        return start_on, start_on + timedelta(days=days - 1)
    if anchor == "last_days" and expected_end_on is not None:
        return expected_end_on - timedelta(days=days - 1), expected_end_on
    return None


def pin_due(
    *,
    anchor: str,
    days: int | None,
    start_on: date,
    expected_end_on: date | None,
    window_start: date,
    window_end: date,
) -> bool:
    """Whether a patient's pinned window meets [window_start, window_end]."""
    window = pin_window(
        anchor=anchor, days=days, start_on=start_on, expected_end_on=expected_end_on
    )
    return window is not None and window[0] <= window_end and window_start <= window[1]


def appointment_staff_problem(*, kind: str, staff_role: str) -> str | None:
    """Medication management is with a prescriber (psychiatrist or nurse practitioner)."""
    if kind == "med_management" and staff_role != "prescriber":
        return "Medication management is booked with a prescriber."
    return None


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())
