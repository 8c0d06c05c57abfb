"""Pure decisions for reminders and calendar feeds: no ORM, no clock (time is passed in).

Sources, one line each:
- Lead times and channels: issue 4 ("a reminder before each session at a lead time
  they choose, by email and SMS; patients can opt out per channel").
- Content: 42 CFR 2.13 and 2.12 (a communication must not disclose that a person is a
  patient of a substance use disorder program): time, place and session type only.
- Claim lease: a claim older than the job time-out belongs to a dead worker
  (django-q2 kills a job at `timeout`, and retries only after `retry` > `timeout`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

# Minutes before a session a patient may choose (issue 4).
LEAD_CHOICES: tuple[tuple[int, str], ...] = (
    (60, "1 hour before"),
    (120, "2 hours before"),
    (240, "4 hours before"),
    (720, "12 hours before"),
    (1440, "1 day before"),
    (2880, "2 days before"),
)
LEAD_MINUTES: frozenset[int] = frozenset(m for m, _ in LEAD_CHOICES)
MAX_LEAD = timedelta(minutes=max(LEAD_MINUTES))
DEFAULT_LEAD_MINUTES = 1440


class Due(StrEnum):
    NOT_YET = "not_yet"
    DUE = "due"
    TOO_LATE = "too_late"


def due_at(starts_at: datetime, lead_minutes: int) -> datetime:
    return starts_at - timedelta(minutes=lead_minutes)


def reminder_due(*, starts_at: datetime, lead_minutes: int, now: datetime) -> Due:
    """A reminder is due from `lead` before the start until the start; after that a
    reminder would arrive too late to help and is skipped."""
    if now >= starts_at:
        return Due.TOO_LATE
    if now >= due_at(starts_at, lead_minutes):
        return Due.DUE
    return Due.NOT_YET


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def sms_number(phone: str) -> str:
    """A North American number as +1 and ten digits, or "" when it is not one."""
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return f"+1{digits}" if len(digits) == 10 else ""


@dataclass(frozen=True)
class ChannelChoice:
    email_enabled: bool
    sms_enabled: bool
    email: str
    phone: str


def channels_for(choice: ChannelChoice) -> dict[str, str]:
    """Channel -> address for each channel the patient has not opted out of and has an
    address for."""
    out: dict[str, str] = {}
    if choice.email_enabled and _EMAIL.match(choice.email or ""):
        out["email"] = choice.email
    number = sms_number(choice.phone)
    if choice.sms_enabled and number:
        out["sms"] = number
    return out


def claim_is_stale(*, claimed_at: datetime | None, now: datetime, lease: timedelta) -> bool:
    return claimed_at is None or claimed_at + lease <= now


@dataclass(frozen=True)
class Message:
    subject: str
    body: str
    sms: str


def reminder_message(
    *, starts_at: datetime, tz: ZoneInfo, place: str, session_label: str
) -> Message:
    """The reminder's words: time, place and session type only. No program name,
    topic, diagnosis, clinician or other patient (42 CFR 2.12/2.13)."""
    local = starts_at.astimezone(tz)
    when = f"{local:%A %B} {local.day}, {local:%I:%M %p}".replace(" 0", " ")
    zone = local.tzname() or ""
    where = f" at {place}" if place else ""
    line = f"Reminder: {session_label} on {when} {zone}{where}."
    body = (
        f"{line}\n\nIf you cannot come, please call us.\n\n"
        "You receive this because you asked for appointment reminders. "
        "Ask us at any time to stop them."
    )
    return Message(subject=f"Reminder: {session_label} on {when}", body=body, sms=line)


# Session types as patients and their calendars see them: neither the track's name
# nor its kind (which may say "SUD"), nor the topic (42 CFR 2.12/2.13).
GROUP_SESSION_LABEL = "Group session"
APPOINTMENT_LABELS: dict[str, str] = {
    "individual": "Individual session",
    "med_management": "Medication appointment",
    "case_management": "Case management meeting",
    "family": "Family session",
}


def session_type_label(event_kind: str, appointment_kind: str = "") -> str:
    if event_kind == "group_session":
        return GROUP_SESSION_LABEL
    return APPOINTMENT_LABELS.get(appointment_kind, "Appointment")


def place_label(*, room: str, site: str) -> str:
    return ", ".join(part for part in (room, site) if part)
