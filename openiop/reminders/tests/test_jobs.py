"""The reminder scan and the send job, in process: real SMTP server, real SMS outbox."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from openiop.audit.models import AuditEvent
from openiop.reminders import jobs, services
from openiop.reminders.adapters import REMINDER_HEADER
from openiop.reminders.models import (
    DeliveryState,
    ReminderDelivery,
    ReminderPreference,
    WorkerHeartbeat,
)
from openiop.reminders.tests import helpers
from openiop.reminders.tests.smtp_server import free_port, smtp_server


@pytest.fixture
def patient_a(world):  # type: ignore[no-untyped-def]
    patient = world.patient_a
    patient.email = "avery.canary@example.org"
    patient.phone = "(555) 201-3344"
    patient.save()
    helpers.enrol(
        patient=patient,
        episode=world.episode_a,
        program=world.program_a,
        by=world.alice,
        start_on=timezone.localdate() - timedelta(days=10),
    )
    return patient


@pytest.fixture
def smtp_settings(settings):  # type: ignore[no-untyped-def]
    with smtp_server() as inbox:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = inbox.host
        settings.EMAIL_PORT = inbox.port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        settings.DEFAULT_FROM_EMAIL = "reminders@clinic.example"
        yield inbox


@pytest.fixture
def outbox(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.REMINDER_SMS_OUTBOX = tmp_path / "outbox" / "sms.jsonl"
    return settings.REMINDER_SMS_OUTBOX


@pytest.mark.django_db
def test_schedule_is_installed_by_migrate() -> None:
    schedule = Schedule.objects.get(name=jobs.SCHEDULE_NAME)
    assert schedule.func == jobs.SCAN_FUNC and schedule.schedule_type == Schedule.MINUTES


@pytest.mark.django_db
def test_scan_records_due_deliveries_once_per_channel(world, patient_a) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    soon = helpers.session(
        program=world.program_a, facilitator=world.alice, starts_at=now + timedelta(minutes=50)
    )
    helpers.session(  # not due yet with a 1-hour lead
        program=world.program_a, facilitator=world.alice, starts_at=now + timedelta(hours=20)
    )
    appt = helpers.appointment(
        patient=patient_a,
        program=world.program_a,
        staff=world.alice,
        starts_at=now + timedelta(minutes=30),
    )
    helpers.appointment(  # cancelled: no reminder
        patient=patient_a,
        program=world.program_a,
        staff=world.alice,
        starts_at=now + timedelta(minutes=40),
        status="cancelled",
    )
    ReminderPreference.objects.create(patient=patient_a, lead_minutes=60)
    assert jobs.reminders_record_due(now=now) == 4
    assert jobs.reminders_record_due(now=now) == 4  # same rows: ignored conflicts
    rows = ReminderDelivery.objects.all()
    assert rows.count() == 4
    assert {(r.event_id, r.channel) for r in rows} == {
        (soon.public_id, "email"),
        (soon.public_id, "sms"),
        (appt.public_id, "email"),
        (appt.public_id, "sms"),
    }
    assert {r.session_label for r in rows} == {"Group session", "Individual session"}
    assert all(r.state == DeliveryState.PENDING for r in rows)


@pytest.mark.django_db
def test_scan_respects_opt_out_and_roster_end(world, patient_a) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    helpers.session(
        program=world.program_a, facilitator=world.alice, starts_at=now + timedelta(hours=2)
    )
    ReminderPreference.objects.create(patient=patient_a, email_enabled=False, lead_minutes=240)
    jobs.reminders_record_due(now=now)
    assert list(ReminderDelivery.objects.values_list("channel", flat=True)) == ["sms"]
    ReminderDelivery.objects.all().delete()
    patient_a.enrolments.update(ended_on=timezone.localdate() - timedelta(days=1))
    jobs.reminders_record_due(now=now)
    assert not ReminderDelivery.objects.exists()


@pytest.mark.django_db
def test_scan_query_count_is_constant(world, patient_a) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()

    def scan_queries(n: int) -> int:
        for i in range(n):
            helpers.session(
                program=world.program_a,
                facilitator=world.alice,
                starts_at=now + timedelta(hours=1, minutes=i + n),
            )
            helpers.appointment(
                patient=patient_a,
                program=world.program_a,
                staff=world.alice,
                starts_at=now + timedelta(hours=3, minutes=i + n),
            )
        with CaptureQueriesContext(connection) as ctx:
            jobs.reminders_record_due(now=now)
        # reads are fixed; the one bulk insert is split into batches on SQLite only
        return len([q for q in ctx.captured_queries if q["sql"].startswith("SELECT")])

    assert scan_queries(2) == scan_queries(15) <= 5


@pytest.mark.django_db
def test_scan_job_enqueues_one_job_per_delivery_and_beats(world, patient_a) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    helpers.session(
        program=world.program_a, facilitator=world.alice, starts_at=now + timedelta(hours=3)
    )
    assert jobs.scan_due_reminders() == 2
    assert OrmQ.objects.count() == 2
    assert jobs.scan_due_reminders() == 0  # already enqueued
    assert OrmQ.objects.count() == 2
    assert WorkerHeartbeat.objects.get().last_scan_enqueued == 0


@pytest.mark.django_db
def test_email_reminder_through_a_real_smtp_server(world, patient_a, smtp_settings) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    helpers.session(
        program=world.program_a, facilitator=world.alice, starts_at=now + timedelta(hours=3)
    )
    ReminderPreference.objects.create(patient=patient_a, sms_enabled=False, lead_minutes=240)
    jobs.reminders_record_due(now=now)
    delivery = ReminderDelivery.objects.get()
    assert jobs.send_reminder(delivery.pk) == "sent"
    received = smtp_settings.snapshot()
    assert len(received) == 1
    got = received[0]
    assert got.envelope_to == ["avery.canary@example.org"]
    assert got.message["To"] == "avery.canary@example.org"
    assert got.message["From"] == "reminders@clinic.example"
    assert got.message[REMINDER_HEADER] == str(delivery.public_id)
    assert got.message["Subject"].startswith("Reminder: Group session on ")
    body = got.message.get_content()
    assert "Room 2, " + world.program_a.site.name in body
    for word in ("SUD", "Relapse", "Morning", "Canary", "Avery", "substance"):
        assert word not in body and word not in got.message["Subject"]
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SENT and delivery.attempts == 1
    audit = AuditEvent.objects.get(object_type="reminder_delivery")
    assert audit.action == "disclose" and audit.patient_id == patient_a.pk
    assert audit.detail["channel"] == "email"
    # the job retried after success: nothing sent again
    assert jobs.send_reminder(delivery.pk) == "not-claimed"
    assert len(smtp_settings.snapshot()) == 1


@pytest.mark.django_db
def test_sms_goes_to_the_outbox_file_not_the_log(world, patient_a, outbox, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    now = timezone.now()
    helpers.appointment(
        patient=patient_a,
        program=world.program_a,
        staff=world.alice,
        starts_at=now + timedelta(hours=1),
    )
    ReminderPreference.objects.create(patient=patient_a, email_enabled=False, lead_minutes=120)
    jobs.reminders_record_due(now=now)
    delivery = ReminderDelivery.objects.get()
    assert jobs.send_reminder(delivery.pk) == "sent"
    lines = outbox.read_text().splitlines()
    assert len(lines) == 1
    sent = json.loads(lines[0])
    assert sent["to"] == "+15552013344" and sent["key"] == str(delivery.public_id)
    assert sent["body"].startswith("Reminder: Individual session on ")
    assert "Office 5" in sent["body"]
    assert oct(outbox.stat().st_mode & 0o777) == "0o600"
    log_text = caplog.text
    assert "5552013344" not in log_text and "Canary" not in log_text
    assert sent["body"] not in log_text


@pytest.mark.django_db
def test_refused_send_releases_the_claim_for_a_retry(world, patient_a, settings) -> None:  # type: ignore[no-untyped-def]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listening
    settings.EMAIL_TIMEOUT = 2
    now = timezone.now()
    helpers.session(
        program=world.program_a, facilitator=world.alice, starts_at=now + timedelta(hours=3)
    )
    ReminderPreference.objects.create(patient=patient_a, sms_enabled=False, lead_minutes=240)
    jobs.reminders_record_due(now=now)
    delivery = ReminderDelivery.objects.get()
    with pytest.raises(ConnectionRefusedError):
        jobs.send_reminder(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PENDING and delivery.attempts == 1
    assert delivery.last_error == "ConnectionRefusedError"
    ReminderDelivery.objects.filter(pk=delivery.pk).update(attempts=jobs.MAX_ATTEMPTS - 1)
    with pytest.raises(ConnectionRefusedError):
        jobs.send_reminder(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED
    assert (
        AuditEvent.objects.filter(object_type="reminder_delivery", detail__status="failed").count()
        == 1
    )


@pytest.mark.django_db
def test_a_fresh_claim_blocks_and_a_stale_one_is_taken_over(world, patient_a) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    helpers.session(
        program=world.program_a, facilitator=world.alice, starts_at=now + timedelta(hours=3)
    )
    jobs.reminders_record_due(now=now)
    delivery = ReminderDelivery.objects.filter(channel="sms").get()
    assert services.delivery_claim(delivery_id=delivery.pk, now=now) is not None
    assert services.delivery_claim(delivery_id=delivery.pk, now=now + timedelta(seconds=5)) is None
    later = now + services.claim_lease()
    again = services.delivery_claim(delivery_id=delivery.pk, now=later)
    assert again is not None and again.attempts == 2


@pytest.mark.django_db
def test_scan_re_enqueues_a_lost_job_and_a_dead_workers_claim_after_the_retry(
    world, patient_a
) -> None:  # type: ignore[no-untyped-def]
    """The Redis broker has no acknowledgement: a worker that dies holding a job loses
    it. The scan hands such deliveries out again once the retry time has passed."""
    now = timezone.now()
    helpers.session(
        program=world.program_a, facilitator=world.alice, starts_at=now + timedelta(hours=3)
    )
    jobs.reminders_record_due(now=now)
    sms = ReminderDelivery.objects.get(channel="sms")
    email = ReminderDelivery.objects.get(channel="email")
    ReminderDelivery.objects.update(enqueued_at=now)
    assert services.delivery_claim(delivery_id=sms.pk, now=now) is not None
    retry = timedelta(seconds=int(settings.Q_CLUSTER["retry"]))  # type: ignore[call-overload]
    assert jobs.deliveries_to_enqueue(now=now + retry - timedelta(seconds=1)) == []
    assert jobs.deliveries_to_enqueue(now=now + retry + timedelta(seconds=1)) == sorted(
        [sms.pk, email.pk]
    )
    # a claim renewed by a live retry is not handed out again, nor is a sent delivery
    later = now + retry + timedelta(seconds=1)
    assert services.delivery_claim(delivery_id=sms.pk, now=later) is not None
    ReminderDelivery.objects.filter(pk=email.pk).update(state=DeliveryState.SENT)
    assert jobs.deliveries_to_enqueue(now=later + timedelta(seconds=1)) == []


@pytest.mark.django_db
def test_too_late_is_skipped_not_sent(world, patient_a, outbox) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    helpers.session(
        program=world.program_a, facilitator=world.alice, starts_at=now + timedelta(minutes=5)
    )
    jobs.reminders_record_due(now=now)
    delivery = ReminderDelivery.objects.filter(channel="sms").get()
    ReminderDelivery.objects.filter(pk=delivery.pk).update(
        occurrence_start=now - timedelta(minutes=1)
    )
    assert jobs.send_reminder(delivery.pk) == "skipped"
    assert not outbox.exists()
