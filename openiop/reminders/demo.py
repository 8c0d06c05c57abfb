"""Demo reminder preferences: every patient with an open track enrolment gets a
preference row (most a day ahead, some two hours ahead, a few who turned text
messages off), so the chart shows real choices and the worker has reminders to send
when `make run` starts it. Deterministic for the seed; one bulk insert."""

from __future__ import annotations

import random
from datetime import date

from openiop.reminders.models import ReminderPreference
from openiop.scheduling.models import Enrolment

LEAD_CHOICES = ((24 * 60, 6), (2 * 60, 3), (60, 1))  # minutes before, weight


def load(*, seed: int, today: date) -> str:
    rng = random.Random(f"{seed}:reminders")  # noqa: S311 (demo data, not security)
    patient_ids = sorted(
        set(Enrolment.objects.filter(ended_on__isnull=True).values_list("patient_id", flat=True))
    )
    taken = set(
        ReminderPreference.objects.filter(patient_id__in=patient_ids).values_list(
            "patient_id", flat=True
        )
    )
    leads = [lead for lead, _ in LEAD_CHOICES]
    weights = [weight for _, weight in LEAD_CHOICES]
    rows = [
        ReminderPreference(
            patient_id=patient_id,
            lead_minutes=rng.choices(leads, weights)[0],
            email_enabled=rng.random() > 0.05,
            sms_enabled=rng.random() > 0.2,
        )
        for patient_id in patient_ids
        if patient_id not in taken
    ]
    ReminderPreference.objects.bulk_create(rows)
    sms_off = sum(1 for row in rows if not row.sms_enabled)
    return f"reminders: {len(rows)} reminder preferences ({sms_off} with text messages off)"
