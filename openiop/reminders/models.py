"""Session reminders, their delivery ledger, and private calendar feed tokens.

- `ReminderPreference`: per patient, which channels (email, SMS) and how long before a
  session. Staff set it on the chart; a patient without a row gets the defaults.
- `ReminderDelivery`: one row per (event, occurrence, patient, channel). The unique key
  and the claim -> sent state machine make a retried job never resend a reminder that
  was recorded as sent (docs/REMINDERS.md explains the remaining window).
- `CalendarFeedToken`: a private iCalendar feed URL for a patient or a staff member.
  Only a SHA-256 of the secret is stored; revoking keeps the row (history).
- `WorkerHeartbeat`: the last time a background worker ran the periodic scan
  (`/healthz` reports it).

Nothing here carries clinical detail: a delivery snapshots time, place and session
type only.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from openiop.core.models import PublicModel
from openiop.patients.models import Patient


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "Text message (SMS)"


class ReminderPreference(PublicModel):
    patient = models.OneToOneField(
        Patient, on_delete=models.PROTECT, related_name="reminder_preference"
    )
    email_enabled = models.BooleanField("email reminders", default=True)
    sms_enabled = models.BooleanField("text message reminders", default=True)
    lead_minutes = models.PositiveIntegerField("how long before", default=24 * 60)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return f"reminder preference {self.public_id}"


class EventKind(models.TextChoices):
    GROUP_SESSION = "group_session", "Group session"
    APPOINTMENT = "appointment", "Appointment"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"  # due, not yet taken by a worker
    CLAIMED = "claimed", "Claimed"  # a worker took it and is sending
    SENT = "sent", "Sent"  # the channel accepted the message
    FAILED = "failed", "Failed"  # gave up after REMINDER_MAX_ATTEMPTS
    SKIPPED = "skipped", "Skipped"  # too late (the session had started) or no address


class ReminderDelivery(PublicModel):
    event_kind = models.CharField(max_length=20, choices=EventKind.choices)
    event_id = models.UUIDField(help_text="public id of the session or appointment")
    occurrence_start = models.DateTimeField()
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    due_at = models.DateTimeField()
    # Snapshot of what the message says: time (occurrence_start), place, session type.
    place = models.CharField(max_length=200, blank=True)
    session_label = models.CharField(max_length=120)
    attempts = models.PositiveSmallIntegerField(default=0)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # An exception class name or a skip reason; never an address or a message body.
    last_error = models.CharField(max_length=120, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["event_kind", "event_id", "occurrence_start", "patient", "channel"],
                name="reminder_delivery_once",
            )
        ]
        indexes = [models.Index(fields=["state", "due_at"], name="reminder_state_due_idx")]

    def __str__(self) -> str:
        return f"reminder {self.public_id} {self.channel} {self.state}"


class FeedStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    REVOKED = "revoked", "Revoked"


class CalendarFeedToken(PublicModel):
    """A feed URL's secret, for exactly one patient or one staff member.

    The URL carries `<selector>.<secret>`: the selector finds the row, and the secret's
    SHA-256 is compared with `hmac.compare_digest`. The secret itself is shown once,
    when issued, and never stored.
    """

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="calendar_feed_tokens",
    )
    selector = models.CharField(max_length=24, unique=True)
    secret_sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=FeedStatus.choices, default=FeedStatus.ACTIVE)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    last_fetched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(patient__isnull=False) & Q(user__isnull=True))
                | (Q(patient__isnull=True) & Q(user__isnull=False)),
                name="feed_token_one_owner",
            ),
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(status="active", patient__isnull=False),
                name="feed_token_one_active_per_patient",
            ),
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status="active", user__isnull=False),
                name="feed_token_one_active_per_user",
            ),
        ]

    def __str__(self) -> str:
        return f"calendar feed {self.public_id} {self.status}"


class WorkerHeartbeat(models.Model):
    singleton = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seen_at = models.DateTimeField()
    last_scan_enqueued = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"worker heartbeat {self.last_seen_at}"
