"""Reads for the chart section and the staff member's feed page (already scoped: the
chart view opened the patient with `patient_get_for_user`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from openiop.accounts.models import User
from openiop.patients.models import Patient
from openiop.reminders.models import (
    CalendarFeedToken,
    FeedStatus,
    ReminderDelivery,
    ReminderPreference,
    WorkerHeartbeat,
)
from openiop.reminders.rules import DEFAULT_LEAD_MINUTES, LEAD_CHOICES

RECENT_DELIVERIES = 5


def feed_token_active_for_user(*, user: User) -> CalendarFeedToken | None:
    return CalendarFeedToken.objects.filter(user=user, status=FeedStatus.ACTIVE).first()


@dataclass(frozen=True)
class ReminderSummary:
    preference: ReminderPreference | None
    lead_label: str
    email_enabled: bool
    sms_enabled: bool
    feed: CalendarFeedToken | None
    recent: list[ReminderDelivery]


def reminder_summary(*, patient: Patient) -> ReminderSummary:
    """Three queries whatever the patient's history."""
    pref = ReminderPreference.objects.filter(patient=patient).first()
    lead = pref.lead_minutes if pref else DEFAULT_LEAD_MINUTES
    feed = CalendarFeedToken.objects.filter(patient=patient, status=FeedStatus.ACTIVE).first()
    recent = list(
        ReminderDelivery.objects.filter(patient=patient)
        .only("public_id", "channel", "state", "occurrence_start", "session_label", "sent_at")
        .order_by("-occurrence_start", "-id")[:RECENT_DELIVERIES]
    )
    return ReminderSummary(
        preference=pref,
        lead_label=dict(LEAD_CHOICES).get(lead, f"{lead} minutes before"),
        email_enabled=pref.email_enabled if pref else True,
        sms_enabled=pref.sms_enabled if pref else True,
        feed=feed,
        recent=recent,
    )


def worker_status(*, now: datetime) -> str:
    """ "ok" when a worker ran the periodic scan within two scan intervals (plus a
    minute), "stale" when longer ago, "never" before the first scan."""
    beat = WorkerHeartbeat.objects.filter(singleton=1).only("last_seen_at").first()
    if beat is None:
        return "never"
    recent = timedelta(minutes=2 * int(settings.REMINDER_SCAN_MINUTES) + 1)
    return "ok" if beat.last_seen_at >= now - recent else "stale"
