"""Background jobs run by django-q2 workers (`manage.py qcluster`).

- `scan_due_reminders` runs on a schedule (every REMINDER_SCAN_MINUTES, created by
  `ensure_schedule` after migrate). It records one `ReminderDelivery` per (event,
  occurrence, patient, channel) that is due and enqueues one `send_reminder` job per
  delivery. Re-running it is harmless: the unique key makes the rows once, and a
  delivery is enqueued again only when its last enqueue is older than the queue's
  retry time (and, if claimed, its claim too: the Redis broker loses the job of a
  worker that died, and this is what re-sends it).
- `send_reminder` claims the delivery (committed), sends, records it as sent with its
  audit row (committed), and returns (the queue then acknowledges the job). A retried
  job finds the delivery sent and does nothing. docs/REMINDERS.md describes what a
  crash at each step does.

Logs name delivery ids only: no names, addresses or message text.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from openiop.core import context
from openiop.patients.models import PatientStatus
from openiop.reminders import adapters, rules, services, sources
from openiop.reminders.models import (
    DeliveryState,
    ReminderDelivery,
    ReminderPreference,
)

logger = logging.getLogger(__name__)

SCHEDULE_NAME = "reminders: scan for due reminders"
SEND_FUNC = "openiop.reminders.jobs.send_reminder"
SCAN_FUNC = "openiop.reminders.jobs.scan_due_reminders"
MAX_ATTEMPTS = 5

# Test hook for the crash tests (tests/…/test_worker_crash.py): the worker process
# exits at the named point, once (a marker file records that it did). Ignored in
# production.
CRASH_AT_ENV = "OPENIOP_REMINDER_CRASH_AT"
CRASH_MARKER_ENV = "OPENIOP_REMINDER_CRASH_MARKER"


def _crash_point(name: str) -> None:
    if settings.OPENIOP_ENV == "production" or os.environ.get(CRASH_AT_ENV) != name:
        return
    marker = Path(os.environ.get(CRASH_MARKER_ENV, "/nonexistent/marker"))
    if marker.parent.is_dir() and not marker.exists():
        marker.write_text(name)
        os._exit(17)


def _tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _enqueue(delivery_ids: list[int], now: datetime) -> int:
    from django_q.tasks import async_task

    for delivery_id in delivery_ids:
        async_task(SEND_FUNC, delivery_id, task_name=f"reminder-{delivery_id}", group="reminders")
    ReminderDelivery.objects.filter(pk__in=delivery_ids).update(enqueued_at=now)
    return len(delivery_ids)


def reminders_record_due(*, now: datetime) -> int:
    """Create the deliveries that are due now (or too late: recorded as skipped). Four
    to five queries whatever the number of sessions, patients and channels."""
    pairs = sources.due_window_occurrences(start=now, end=now + rules.MAX_LEAD)
    patient_ids = {p.pk for p, _ in pairs}
    prefs = {
        pref.patient_id: pref
        for pref in ReminderPreference.objects.filter(patient_id__in=patient_ids)
    }
    rows: list[ReminderDelivery] = []
    for patient, occurrence in pairs:
        if patient.status != PatientStatus.ACTIVE:
            continue
        pref = prefs.get(patient.pk)
        lead = pref.lead_minutes if pref else rules.DEFAULT_LEAD_MINUTES
        if rules.reminder_due(starts_at=occurrence.starts_at, lead_minutes=lead, now=now) != (
            rules.Due.DUE
        ):
            continue
        channels = rules.channels_for(
            rules.ChannelChoice(
                email_enabled=pref.email_enabled if pref else True,
                sms_enabled=pref.sms_enabled if pref else True,
                email=patient.email,
                phone=patient.phone,
            )
        )
        rows.extend(
            ReminderDelivery(
                event_kind=occurrence.event_kind,
                event_id=occurrence.event_id,
                occurrence_start=occurrence.starts_at,
                patient=patient,
                channel=channel,
                due_at=rules.due_at(occurrence.starts_at, lead),
                place=occurrence.place[:200],
                session_label=occurrence.session_label[:120],
            )
            for channel in channels
        )
    if rows:
        ReminderDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def deliveries_to_enqueue(*, now: datetime) -> list[int]:
    """Deliveries whose session has not started that need a job: pending ones never
    enqueued, and pending or claimed ones whose last enqueue and claim are older than the
    queue's retry (their job was lost: the broker was emptied, or, on the Redis broker,
    which has no acknowledgement, the worker died holding it). A claim that old belongs
    to a dead worker (the claim lease is the job time-out, shorter than the retry), so
    the new job takes it over; on the ORM broker the broker's own retry usually gets
    there first and this extra job finds nothing to do."""
    stale = now - timedelta(seconds=int(settings.Q_CLUSTER["retry"]))  # type: ignore[call-overload]
    return list(
        ReminderDelivery.objects.filter(occurrence_start__gt=now, due_at__lte=now)
        .filter(
            Q(state=DeliveryState.PENDING, enqueued_at__isnull=True)
            | Q(state=DeliveryState.PENDING, enqueued_at__lt=stale)
            | Q(state=DeliveryState.CLAIMED, enqueued_at__lt=stale, claimed_at__lt=stale)
        )
        .order_by("due_at", "id")
        .values_list("pk", flat=True)[:5000]
    )


def scan_due_reminders() -> int:
    """The periodic job: record due deliveries and enqueue one job for each."""
    context.current()  # a fresh request id for this job's audit rows
    now = timezone.now()
    reminders_record_due(now=now)
    enqueued = _enqueue(deliveries_to_enqueue(now=now), now)
    services.heartbeat(now=now, enqueued=enqueued)
    logger.info("reminder scan enqueued %s deliveries", enqueued)
    return enqueued


def send_reminder(delivery_id: int) -> str:
    """One job per delivery. Returns the outcome (kept in django-q's task result)."""
    now = timezone.now()
    delivery = services.delivery_claim(delivery_id=delivery_id, now=now)
    if delivery is None:
        return "not-claimed"
    _crash_point("after_claim")
    if delivery.occurrence_start <= now:
        services.delivery_skip(delivery=delivery, reason="session already started")
        return "skipped"
    patient = delivery.patient
    address = patient.email if delivery.channel == "email" else rules.sms_number(patient.phone)
    if not address:
        services.delivery_skip(delivery=delivery, reason="no address")
        return "skipped"
    message = rules.reminder_message(
        starts_at=delivery.occurrence_start,
        tz=_tz(),
        place=delivery.place,
        session_label=delivery.session_label,
    )
    try:
        adapters.send(
            channel=delivery.channel,
            to=address,
            subject=message.subject,
            body=message.body,
            sms_body=message.sms,
            key=str(delivery.public_id),
        )
    except Exception as error:
        state = services.delivery_release(
            delivery=delivery, error=type(error).__name__, max_attempts=MAX_ATTEMPTS
        )
        logger.warning(
            "reminder %s not sent (%s), now %s", delivery.public_id, type(error).__name__, state
        )
        raise
    _crash_point("after_send")
    services.delivery_mark_sent(delivery=delivery, now=timezone.now())
    _crash_point("before_ack")
    logger.info("reminder %s sent by %s", delivery.public_id, delivery.channel)
    return "sent"


def ensure_schedule(**_: object) -> None:
    """Create or update the periodic scan (post_migrate)."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "func": SCAN_FUNC,
            "schedule_type": Schedule.MINUTES,
            "minutes": int(settings.REMINDER_SCAN_MINUTES),
            "repeats": -1,
        },
    )
