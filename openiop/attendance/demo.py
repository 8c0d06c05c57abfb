"""Demo attendance for the demo's past group sessions and appointments: most present,
some late, left early or absent; one patient with two consecutive unexcused absences
and the disengagement alert that raises; follow-up tasks for last week's misses and a
few outreach attempts. Bulk inserts: a bounded number of queries whatever the size."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from openiop.accounts.models import User
from openiop.accounts.roles import Role
from openiop.alerts.models import Alert, AlertKind, AlertSeverity, Notification, Task
from openiop.attendance import rules
from openiop.attendance.models import (
    AttendanceRecord,
    AttendanceSheet,
    OutreachAttempt,
)
from openiop.attendance.services import DISENGAGEMENT_SOURCE, FOLLOW_UP_KIND
from openiop.episodes.models import Episode
from openiop.scheduling.models import Appointment, GroupSession, SessionStatus
from openiop.scheduling.selectors import rosters

# Of 100 marks: what happens in a typical IOP group.
WEIGHTS = (
    (rules.PRESENT, 82),
    (rules.LATE, 6),
    (rules.LEFT_EARLY, 4),
    (rules.ABSENT_EXCUSED, 4),
    (rules.ABSENT_UNEXCUSED, 4),
)


def _minutes(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() // 60)


def load(*, seed: int, today: date) -> str:
    rng = random.Random(seed * 104729 + 11)  # noqa: S311 (demo data, not security)
    director = User.objects.select_related("organization").get(username="director")
    org = director.organization
    assert org is not None
    sessions = list(
        GroupSession.objects.filter(
            program__site__organization=org, on__lt=today, status=SessionStatus.SCHEDULED
        )
        .select_related("track", "facilitator")
        .order_by("starts_at", "id")
    )
    roster = rosters(sessions)
    appointments = list(
        Appointment.objects.filter(
            program__site__organization=org, on__lt=today, status=SessionStatus.SCHEDULED
        ).order_by("starts_at", "id")
    )
    # Every past event per patient, oldest first: (when, session or appointment).
    events: dict[int, list[tuple[datetime, object]]] = defaultdict(list)
    for s in sessions:
        for entry in roster[s.pk]:
            events[entry.patient.pk].append((s.starts_at, s))
    for a in appointments:
        events[a.patient_id].append((a.starts_at, a))
    # The showcase: the patient with the most recent group history misses their last two.
    showcase = max(
        (pid for pid, ev in events.items() if sum(isinstance(e, GroupSession) for _, e in ev) >= 4),
        key=lambda pid: (max(t for t, _ in events[pid]), -pid),
        default=None,
    )
    statuses = [status for status, _ in WEIGHTS]
    weights = [weight for _, weight in WEIGHTS]
    records: list[AttendanceRecord] = []
    missed_recently: list[AttendanceRecord] = []
    marked_sessions: dict[int, GroupSession] = {}
    for pid in sorted(events):
        history = sorted(events[pid], key=lambda item: item[0])
        in_run = False  # an unexcused absence not yet followed by attendance
        for index, (_, event) in enumerate(history):
            last_two = index >= len(history) - 2
            if pid == showcase and last_two:
                status = rules.ABSENT_UNEXCUSED
            else:
                status = rng.choices(statuses, weights)[0]
                # Only the showcase patient has a run of unexcused absences.
                if status == rules.ABSENT_UNEXCUSED and in_run:
                    status = rules.PRESENT
                if pid == showcase and index == len(history) - 3:
                    status = rules.PRESENT
            if isinstance(event, GroupSession):
                duration = _minutes(event.starts_at, event.ends_at)
                late = rng.choice((10, 15, 20, 30)) if status == rules.LATE else 0
                early = rng.choice((15, 30, 45)) if status == rules.LEFT_EARLY else 0
                record = AttendanceRecord(
                    patient_id=pid,
                    program_id=event.program_id,
                    track_id=event.track_id,
                    session=event,
                    on=event.on,
                    status=status,
                    late_minutes=late,
                    left_early_minutes=early,
                    minutes_attended=rules.default_minutes(
                        status=status,
                        duration_minutes=duration,
                        late_minutes=late,
                        left_early_minutes=early,
                    ),
                    recorded_by=event.facilitator,
                    recorded_at=event.ends_at,
                )
                marked_sessions[event.pk] = event
            else:
                assert isinstance(event, Appointment)
                kept = status in rules.ATTENDED or status == rules.ABSENT_EXCUSED
                status = rules.PRESENT if kept else rules.ABSENT_UNEXCUSED
                record = AttendanceRecord(
                    patient_id=pid,
                    program_id=event.program_id,
                    appointment=event,
                    on=event.on,
                    status=status,
                    minutes_attended=_minutes(event.starts_at, event.ends_at) if kept else 0,
                    recorded_by_id=event.staff_id,
                    recorded_at=event.ends_at,
                )
            if status == rules.ABSENT_UNEXCUSED:
                in_run = True
            elif status in rules.ATTENDED:
                in_run = False
            records.append(record)
            if status == rules.ABSENT_UNEXCUSED and record.on >= today - timedelta(days=7):
                missed_recently.append(record)
    AttendanceRecord.objects.bulk_create(records, batch_size=1000)
    AttendanceSheet.objects.bulk_create(
        AttendanceSheet(session=s, version=1, saved_by=s.facilitator, saved_at=s.ends_at)
        for s in marked_sessions.values()
    )
    now = timezone.make_aware(datetime.combine(today, time(8, 0)))
    counselors = {
        e.patient_id: e.primary_counselor_id
        for e in Episode.objects.filter(
            patient_id__in={r.patient_id for r in missed_recently}, status="active"
        )
    }
    Task.objects.bulk_create(
        Task(
            assignee_id=counselors.get(r.patient_id) or director.pk,
            patient_id=r.patient_id,
            kind=FOLLOW_UP_KIND,
            title=f"Follow up: missed session on {r.on:%Y-%m-%d}",
            due_at=now,
            created_by_id=r.recorded_by_id,
        )
        for r in missed_recently
        if r.patient_id != showcase
    )
    alerts = 0
    if showcase is not None:
        last = max((r for r in records if r.patient_id == showcase), key=lambda r: (r.on, r.pk))
        # As alert_raise would, but without its audit row: demo_data writes one audit
        # event for the whole load.
        alert = Alert.objects.create(
            patient_id=showcase,
            kind=AlertKind.DISENGAGEMENT,
            severity=AlertSeverity.MODERATE,
            title="2 consecutive unexcused absences",
            source_type=DISENGAGEMENT_SOURCE,
            source_id=str(last.public_id),
            raised_at=now,
        )
        Task.objects.create(
            assignee_id=counselors.get(showcase) or director.pk,
            patient_id=showcase,
            alert=alert,
            kind=f"alert_{AlertKind.DISENGAGEMENT}",
            title="Reach out: consecutive missed sessions",
            due_at=now,
        )
        directors = User.objects.filter(
            role=Role.PROGRAM_DIRECTOR,
            is_active=True,
            memberships__program_id=last.program_id,
        ).distinct()
        Notification.objects.bulk_create(
            Notification(recipient=d, patient_id=showcase, alert=alert, title=alert.title)
            for d in directors
        )
        OutreachAttempt.objects.bulk_create(
            OutreachAttempt(
                patient_id=showcase,
                record=last,
                method=method,
                outcome=outcome,
                made_by_id=counselors.get(showcase) or director.pk,
                made_at=now - timedelta(hours=hours),
            )
            for method, outcome, hours in (
                ("phone", "no_answer", 20),
                ("text", "left_message", 19),
            )
        )
        alerts = 1
    return (
        f"attendance: {len(records)} marks on {len(marked_sessions)} sessions and "
        f"{sum(1 for r in records if r.appointment_id)} appointments, "
        f"{len(missed_recently)} recent misses, {alerts} disengagement alert"
    )
