"""Reading homework (not scoped to an actor: the caller has scoped the patient)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

from django.db.models import Prefetch
from django.utils import timezone

from openiop.attendance.models import AttendanceRecord
from openiop.attendance.rules import ATTENDED
from openiop.homework.models import (
    AssignmentStatus,
    EntryStatus,
    HomeworkAssignment,
    HomeworkEntry,
)
from openiop.patients.models import Patient
from openiop.plans.models import PlanObjective
from openiop.plans.selectors import plan_objectives_current
from openiop.scheduling.models import Appointment, GroupSession, SessionStatus

_ENTRIES = Prefetch(
    "entries",
    queryset=HomeworkEntry.objects.filter(status=EntryStatus.RECORDED).select_related(
        "recorded_by"
    ),
    to_attr="entry_list",
)


def homework_due(*, patient: Patient, on: date) -> list[HomeworkAssignment]:
    """Assignments still open (not completed, cancelled or voided), earliest due first;
    `.is_overdue` is set against `on`. 1 query."""
    rows = list(
        HomeworkAssignment.objects.filter(patient=patient, status=AssignmentStatus.ASSIGNED)
        .select_related("assigned_by", "objective")
        .order_by("due_on", "id")
    )
    for row in rows:
        row.is_overdue = row.due_on < on  # type: ignore[attr-defined]
    return rows


def homework_open_for_chart(
    *, patient: Patient, on: date
) -> tuple[list[HomeworkAssignment], list[HomeworkAssignment]]:
    """(still due, completed awaiting review in a session) for the chart. 1 query."""
    rows = list(
        HomeworkAssignment.objects.filter(
            patient=patient,
            status__in=[AssignmentStatus.ASSIGNED, AssignmentStatus.COMPLETED],
        )
        .select_related("objective")
        .order_by("due_on", "id")
    )
    for row in rows:
        row.is_overdue = row.due_on < on  # type: ignore[attr-defined]
    due = [r for r in rows if r.status == AssignmentStatus.ASSIGNED]
    done = sorted(
        (r for r in rows if r.status == AssignmentStatus.COMPLETED),
        key=lambda r: (r.completed_at, r.pk),
    )
    return due, done


def homework_completed_for_review(*, patient: Patient) -> list[HomeworkAssignment]:
    """Completed and not yet reviewed in a session; `.entry_list` holds the entries.
    2 queries."""
    return list(
        HomeworkAssignment.objects.filter(patient=patient, status=AssignmentStatus.COMPLETED)
        .select_related("assigned_by", "objective")
        .prefetch_related(_ENTRIES)
        .order_by("completed_at", "id")
    )


def homework_for_patient(*, patient: Patient) -> list[HomeworkAssignment]:
    """Every assignment, newest first, with its entries. 2 queries."""
    return list(
        HomeworkAssignment.objects.filter(patient=patient)
        .select_related(
            "assigned_by",
            "reviewed_by",
            "objective",
            "group_session__topic",
            "group_session__track",
            "appointment",
        )
        .prefetch_related(_ENTRIES)
        .order_by("-assigned_on", "-id")
    )


def assignment_get(*, patient: Patient, public_id: UUID | str) -> HomeworkAssignment | None:
    return (
        HomeworkAssignment.objects.filter(patient=patient, public_id=public_id)
        .select_related(
            "assigned_by",
            "reviewed_by",
            "objective",
            "group_session__topic",
            "group_session__track",
            "appointment",
        )
        .prefetch_related(_ENTRIES)
        .first()
    )


# ----- where homework is assigned from ------------------------------------------------------

SOURCE_DAYS_BACK = 30
SOURCE_DAYS_AHEAD = 14
SOURCE_LIMIT = 20


@dataclass
class AssignSources:
    """What the assign form offers: objectives of the plan in force, group sessions the
    patient attended lately (newest first) and their appointments around today."""

    objectives: list[PlanObjective]
    sessions: list[GroupSession]
    appointments: list[Appointment]


def assign_sources(*, patient: Patient, today: date) -> AssignSources:
    """3 queries whatever the history (each list is bounded)."""
    attended = (
        AttendanceRecord.objects.filter(
            patient=patient,
            session__isnull=False,
            status__in=list(ATTENDED),
            on__gte=today - timedelta(days=SOURCE_DAYS_BACK),
            on__lte=today,
        )
        .select_related("session__topic", "session__track")
        .order_by("-on", "-id")[:SOURCE_LIMIT]
    )
    sessions = [r.session for r in attended if r.session is not None]
    appointments = list(
        Appointment.objects.filter(
            patient=patient,
            on__gte=today - timedelta(days=SOURCE_DAYS_BACK),
            on__lte=today + timedelta(days=SOURCE_DAYS_AHEAD),
        )
        .exclude(status=SessionStatus.CANCELLED)
        .select_related("staff")
        .order_by("-starts_at", "-id")[:SOURCE_LIMIT]
    )
    return AssignSources(plan_objectives_current(patient=patient), sessions, appointments)


def session_label(session: GroupSession) -> str:
    local = timezone.localtime(session.starts_at)
    topic = session.topic.name if session.topic else session.track.name
    return f"Group {local:%Y-%m-%d %H:%M}: {topic}"


def appointment_label(appointment: Appointment) -> str:
    local = timezone.localtime(appointment.starts_at)
    return f"{appointment.get_kind_display()} {local:%Y-%m-%d %H:%M}"


# ----- for the next session's note --------------------------------------------------------


@dataclass
class HomeworkForReview:
    since: date | None  # the patient's last attended session (day) before `before`
    assignments: list[HomeworkAssignment]  # completed, not yet reviewed; `.entry_list`

    @property
    def new_since_last_session(self) -> list[HomeworkAssignment]:
        return [a for a in self.assignments if a.is_new]  # type: ignore[attr-defined]


def homework_completed_since_last_session(
    *, patient: Patient, before: date, since: date | None = None
) -> HomeworkForReview:
    """Completed homework to review in the session on `before`: every assignment
    completed and not yet reviewed, oldest first, with its entries; `.is_new` marks
    those completed on or after the patient's last session. `since` is that session's
    day: pass it when the caller knows it (e.g. the day of the patient's last note),
    otherwise it is the last day before `before` with a group session or appointment
    the patient attended. 2 queries with `since`, 3 without, whatever the history."""
    if since is None:
        since = (
            AttendanceRecord.objects.filter(
                patient=patient, status__in=list(ATTENDED), on__lt=before
            )
            .order_by("-on")
            .values_list("on", flat=True)
            .first()
        )
    rows: list[HomeworkAssignment] = list(
        HomeworkAssignment.objects.filter(
            patient=patient, status=AssignmentStatus.COMPLETED, completed_at__isnull=False
        )
        .select_related("assigned_by", "objective")
        .prefetch_related(_ENTRIES)
        .order_by("completed_at", "id")
    )
    for row in rows:
        assert row.completed_at is not None
        row.is_new = since is None or timezone.localdate(row.completed_at) >= since  # type: ignore[attr-defined]
    return HomeworkForReview(since, rows)
