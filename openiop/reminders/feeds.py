"""iCalendar feeds (RFC 5545) written with `icalendar` 7.

Each event carries time (in the installation's time zone, with its VTIMEZONE), place
and a neutral session type, and nothing else: no program or track name, topic,
clinician, diagnosis or other patient (42 CFR 2.12/2.13). UID is stable per event, so
calendar clients update an event in place when it is rescheduled; a cancelled event
stays in the feed with STATUS:CANCELLED so clients remove or strike it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from icalendar.enums import STATUS, TRANSP

from openiop.reminders.sources import Occurrence

PRODID = "-//OpenIOP//Calendar feed//EN"
CALENDAR_NAME = "Appointments"
# The window a feed covers, from the fetch time.
PAST = timedelta(days=30)
FUTURE = timedelta(days=180)


def event_uid(occurrence: Occurrence) -> str:
    return f"{occurrence.event_kind}-{occurrence.event_id}@openiop"


def build_calendar(*, occurrences: Iterable[Occurrence], tz: ZoneInfo, now: datetime) -> bytes:
    calendar = Calendar.new(
        prodid=PRODID,
        name=CALENDAR_NAME,
        refresh_interval=timedelta(hours=1),
    )
    calendar.add("X-WR-TIMEZONE", tz.key)
    for occurrence in occurrences:
        event = Event.new(
            uid=event_uid(occurrence),
            stamp=now,
            start=occurrence.starts_at.astimezone(tz),
            end=occurrence.ends_at.astimezone(tz),
            summary=occurrence.session_label,
            location=occurrence.place or None,
            status=STATUS.CANCELLED if occurrence.cancelled else STATUS.CONFIRMED,
            transparency=TRANSP.TRANSPARENT if occurrence.cancelled else TRANSP.OPAQUE,
        )
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())
