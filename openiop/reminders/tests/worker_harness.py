"""For the worker crash tests, run in a subprocess with DATABASE_URL (and JOB_BROKER,
REDIS_URL, JOB_QUEUE_NAME) pointing at their throwaway database and queue:

- `python -m openiop.reminders.tests.worker_harness` sets up one due email reminder and
  enqueues its job; prints the delivery id.
- `python -m openiop.reminders.tests.worker_harness scan` enqueues the periodic scan job
  on the broker, as the schedule does every REMINDER_SCAN_MINUTES (the tests cannot wait
  minutes for it)."""

from __future__ import annotations

import sys
from datetime import date, timedelta


def main() -> None:
    import django

    django.setup()
    from django.utils import timezone

    if sys.argv[1:] == ["scan"]:
        from django_q.tasks import async_task

        from openiop.reminders.jobs import SCAN_FUNC

        async_task(SCAN_FUNC, task_name="reminder-scan", group="reminders")
        return

    from openiop.reminders import jobs
    from openiop.reminders.models import EventKind, ReminderDelivery
    from tests.factories import OrganizationFactory, PatientFactory

    org = OrganizationFactory(name="Worker Test Org")
    patient = PatientFactory(
        organization=org,
        legal_given_name="Wren",
        legal_family_name="Canary-W",
        email="wren.canary@example.org",
        date_of_birth=date(1990, 1, 2),
    )
    now = timezone.now()
    starts = now + timedelta(hours=2)
    delivery = ReminderDelivery.objects.create(
        event_kind=EventKind.APPOINTMENT,
        event_id="00000000-0000-0000-0000-00000000abcd",
        occurrence_start=starts,
        patient=patient,
        channel="email",
        due_at=starts - timedelta(hours=4),
        place="Room 2, Main Street",
        session_label="Individual session",
    )
    jobs._enqueue([delivery.pk], now)
    sys.stdout.write(f"{delivery.pk}\n")


if __name__ == "__main__":
    main()
