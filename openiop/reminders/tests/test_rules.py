"""Table tests for the pure reminder rules (sources cited in openiop/reminders/rules.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from openiop.reminders import rules

START = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "lead", "expected"),
    [
        # issue 4: due from `lead` before the start until the start
        (START - timedelta(days=2), 1440, rules.Due.NOT_YET),
        (START - timedelta(minutes=1441), 1440, rules.Due.NOT_YET),
        (START - timedelta(minutes=1440), 1440, rules.Due.DUE),
        (START - timedelta(minutes=1), 1440, rules.Due.DUE),
        (START, 1440, rules.Due.TOO_LATE),
        (START + timedelta(minutes=5), 60, rules.Due.TOO_LATE),
        (START - timedelta(minutes=61), 60, rules.Due.NOT_YET),
        (START - timedelta(minutes=59), 60, rules.Due.DUE),
    ],
)
def test_reminder_due(now: datetime, lead: int, expected: rules.Due) -> None:
    assert rules.reminder_due(starts_at=START, lead_minutes=lead, now=now) == expected


@pytest.mark.parametrize(
    ("email_on", "sms_on", "email", "phone", "expected"),
    [
        # issue 4: opt out per channel; no address, no channel
        (True, True, "a@example.org", "(555) 201-3344", {"email", "sms"}),
        (False, True, "a@example.org", "555-201-3344", {"sms"}),
        (True, False, "a@example.org", "555-201-3344", {"email"}),
        (False, False, "a@example.org", "555-201-3344", set()),
        (True, True, "", "", set()),
        (True, True, "not-an-address", "12", set()),
        (True, True, "a@example.org", "+1 555 201 3344", {"email", "sms"}),
    ],
)
def test_channels_for(email_on, sms_on, email, phone, expected) -> None:  # type: ignore[no-untyped-def]
    choice = rules.ChannelChoice(email_on, sms_on, email, phone)
    assert set(rules.channels_for(choice)) == expected


@pytest.mark.parametrize(
    ("phone", "expected"),
    [("555-201-3344", "+15552013344"), ("1 (555) 201-3344", "+15552013344"), ("201-3344", "")],
)
def test_sms_number(phone: str, expected: str) -> None:
    assert rules.sms_number(phone) == expected


@pytest.mark.parametrize(
    ("claimed_at", "now", "expected"),
    [
        # django-q2 kills a job at `timeout`; a claim older than that is a dead worker's
        (None, START, True),
        (START, START + timedelta(seconds=59), False),
        (START, START + timedelta(seconds=60), True),
    ],
)
def test_claim_is_stale(claimed_at, now, expected) -> None:  # type: ignore[no-untyped-def]
    lease = timedelta(seconds=60)
    assert rules.claim_is_stale(claimed_at=claimed_at, now=now, lease=lease) is expected


@pytest.mark.parametrize(
    ("event_kind", "appointment_kind", "label"),
    [
        # 42 CFR 2.12/2.13: session type only, never the track ("Day SUD") or topic
        ("group_session", "", "Group session"),
        ("appointment", "individual", "Individual session"),
        ("appointment", "med_management", "Medication appointment"),
        ("appointment", "family", "Family session"),
        ("appointment", "something_new", "Appointment"),
    ],
)
def test_session_type_label(event_kind: str, appointment_kind: str, label: str) -> None:
    assert rules.session_type_label(event_kind, appointment_kind) == label


def test_message_says_time_place_and_type_only() -> None:
    message = rules.reminder_message(
        starts_at=START,  # 14:00 UTC = 10:00 EDT on 10 March 2026
        tz=ZoneInfo("America/New_York"),
        place="Room 2, Main Street",
        session_label="Group session",
    )
    assert (
        message.sms
        == "Reminder: Group session on Tuesday March 10, 10:00 AM EDT at Room 2, Main Street."
    )
    assert message.subject == "Reminder: Group session on Tuesday March 10, 10:00 AM"
    for text in (message.subject, message.body, message.sms):
        for word in ("SUD", "substance", "recovery", "alcohol", "drug", "diagnos"):
            assert word.lower() not in text.lower()
