"""Writes of attendance: saving a group's roster, front-desk check-in, marking an
appointment kept or missed, visitors, and outreach after a missed session.

Each runs in one transaction with its audit rows. A roster save locks the group
session's row, so two saves of one session run one after the other; the second is
refused when the sheet's version moved since its form was read (`RosterConflict`,
carrying what is now saved), and a repeated submission of the same form finds its
`SubmissionReceipt` and changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from openiop.accounts.models import ProgramMembership, User
from openiop.accounts.roles import Perm
from openiop.alerts.models import Alert, AlertKind, AlertSeverity, AlertStatus, Task
from openiop.alerts.services import alert_raise
from openiop.attendance import rules
from openiop.attendance.models import (
    DEFAULT_ABSENCE_THRESHOLD,
    AttendanceChange,
    AttendanceRecord,
    AttendanceSettings,
    AttendanceSheet,
    HourRequirement,
    OutreachAttempt,
    OutreachMethod,
    OutreachOutcome,
    PartialWeekPolicy,
    RuleScope,
    SessionVisitor,
    VisitorKind,
)
from openiop.audit.models import AuditAction
from openiop.audit.services import AuditEntry, audit_record, audit_record_many
from openiop.core.errors import ErrorCode, ServiceError
from openiop.core.models import SubmissionReceipt
from openiop.episodes.models import Episode, EpisodeStatus
from openiop.organizations.models import Payer, PlanType, Program
from openiop.patients.models import Patient
from openiop.patients.selectors import PatientAccess
from openiop.scheduling.models import Appointment, GroupSession, SessionStatus
from openiop.scheduling.selectors import session_roster

OPEN_EPISODE = [EpisodeStatus.REFERRED, EpisodeStatus.SCREENING, EpisodeStatus.ACTIVE]
FOLLOW_UP_KIND = "attendance_follow_up"
DISENGAGEMENT_SOURCE = "attendance_disengagement"
HISTORY_DAYS = 90


def _require(actor: User, perm: Perm) -> None:
    if not actor.has_perm_code(perm):
        raise ServiceError(ErrorCode.NOT_ALLOWED, "Your role does not allow this.")


def _require_member(actor: User, program_id: int) -> None:
    if not ProgramMembership.objects.filter(user=actor, program_id=program_id).exists():
        raise ServiceError(ErrorCode.NOT_ALLOWED, "This session is not in one of your programs.")


def duration_minutes(starts_at: datetime, ends_at: datetime) -> int:
    return int((ends_at - starts_at).total_seconds() // 60)


# --- Roster -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MarkInput:
    """One roster line as typed: `minutes_attended` None means "default from the session"."""

    patient_id: UUID
    status: str
    late_minutes: int | None = None
    left_early_minutes: int | None = None
    minutes_attended: int | None = None
    walk_in: bool = False


@dataclass(frozen=True)
class VisitorInput:
    name: str
    kind: str
    note: str = ""


class RosterInvalid(ServiceError):
    """Problems by line: {patient public id: {field: message}}."""

    def __init__(self, errors: dict[str, dict[str, str]], message: str = "") -> None:
        super().__init__(
            ErrorCode.INVALID, message or "Some lines need attention; nothing was saved."
        )
        self.errors = errors


@dataclass(frozen=True)
class SavedMark:
    patient_id: UUID
    status: str
    minutes_attended: int


class RosterConflict(ServiceError):
    """Someone saved this session's attendance after the form was read."""

    def __init__(
        self, *, sheet: AttendanceSheet, current: dict[UUID, SavedMark], changed: list[UUID]
    ) -> None:
        who = sheet.saved_by.display_name if sheet.saved_by else "someone"
        when = timezone.localtime(sheet.saved_at).strftime("%H:%M") if sheet.saved_at else ""
        super().__init__(
            ErrorCode.CONFLICT,
            f"{who} saved this roster at {when} while you were marking it. Nothing of yours "
            "was saved: the lines marked below now differ from your entries. Check them, "
            "then save again.",
        )
        self.sheet = sheet
        self.current = current
        self.changed = changed


@dataclass
class RosterSaved:
    sheet: AttendanceSheet
    changed: int
    follow_ups: int
    alerts: int


def _lock_session(session: GroupSession) -> GroupSession:
    return (
        GroupSession.objects.select_for_update(of=("self",))
        .select_related("track", "program")
        .get(pk=session.pk)
    )


def _sheet(session: GroupSession) -> AttendanceSheet:
    sheet, _ = AttendanceSheet.objects.get_or_create(session=session)
    return sheet


def _current_marks(session: GroupSession) -> dict[UUID, SavedMark]:
    return {
        r.patient.public_id: SavedMark(r.patient.public_id, r.status, r.minutes_attended)
        for r in AttendanceRecord.objects.filter(session=session).select_related("patient")
    }


def _check_line(line: MarkInput, duration: int) -> tuple[dict[str, str], int]:
    problems = rules.mark_problems(
        status=line.status,
        duration_minutes=duration,
        late_minutes=line.late_minutes,
        left_early_minutes=line.left_early_minutes,
        minutes_attended=line.minutes_attended,
    )
    minutes = (
        line.minutes_attended
        if line.minutes_attended is not None
        else rules.default_minutes(
            status=line.status,
            duration_minutes=duration,
            late_minutes=line.late_minutes or 0,
            left_early_minutes=line.left_early_minutes or 0,
        )
    )
    if line.status in rules.ABSENT:
        minutes = 0
    return problems, minutes


def _walk_in_patients(
    actor: User, session: GroupSession, ids: set[UUID]
) -> dict[UUID, tuple[Patient, Episode]]:
    """Walk-ins must have an open episode in the session's program."""
    if not ids:
        return {}
    episodes = (
        Episode.objects.filter(
            program_id=session.program_id,
            status__in=OPEN_EPISODE,
            patient__public_id__in=ids,
            patient__organization_id=actor.org_id,
        )
        .select_related("patient", "primary_counselor")
        .order_by("-referred_on")
    )
    found: dict[UUID, tuple[Patient, Episode]] = {}
    for e in episodes:
        found.setdefault(e.patient.public_id, (e.patient, e))
    return found


@transaction.atomic
def roster_save(
    *,
    actor: User,
    session: GroupSession,
    base_version: int,
    lines: Sequence[MarkInput],
    visitors: Sequence[VisitorInput] = (),
    submission_token: UUID,
    now: datetime,
) -> RosterSaved:
    """Save the marks of a group session's roster (and walk-ins and visitors).

    Missed sessions (unexcused) create a follow-up task for the primary clinician;
    reaching the program's consecutive-absence threshold raises a disengagement alert."""
    _require(actor, Perm.ATTENDANCE_RECORD)
    _require_member(actor, session.program_id)
    User.objects.select_for_update().filter(pk=actor.pk).first()
    receipt = SubmissionReceipt.objects.filter(token=submission_token, actor=actor).first()
    session = _lock_session(session)
    sheet = _sheet(session)
    if receipt is not None:
        return RosterSaved(sheet=sheet, changed=0, follow_ups=0, alerts=0)
    if session.status == SessionStatus.CANCELLED:
        raise ServiceError(ErrorCode.INVALID, "This session was cancelled; nothing to mark.")
    if sheet.version != base_version:
        current = _current_marks(session)
        changed = [
            line.patient_id
            for line in lines
            if (mark := current.get(line.patient_id)) is not None
            and (
                mark.status != line.status
                or (
                    line.minutes_attended is not None
                    and mark.minutes_attended != line.minutes_attended
                )
            )
        ] + [pid for pid in current if pid not in {line.patient_id for line in lines}]
        raise RosterConflict(sheet=sheet, current=current, changed=changed)

    roster = {e.patient.public_id: e for e in session_roster(session)}
    walk_ins = _walk_in_patients(
        actor, session, {line.patient_id for line in lines if line.patient_id not in roster}
    )
    duration = duration_minutes(session.starts_at, session.ends_at)
    errors: dict[str, dict[str, str]] = {}
    checked: list[tuple[MarkInput, Patient, Episode, int]] = []
    for line in lines:
        problems, minutes = _check_line(line, duration)
        if line.patient_id in roster:
            entry = roster[line.patient_id]
            patient, episode = entry.patient, entry.episode
        elif line.patient_id in walk_ins:
            patient, episode = walk_ins[line.patient_id]
        else:
            problems["patient"] = "Not on this roster and not a patient of this program."
        if problems:
            errors[str(line.patient_id)] = problems
            continue
        checked.append((line, patient, episode, minutes))
    if errors:
        raise RosterInvalid(errors)
    clean_visitors = []
    for i, visitor in enumerate(visitors):
        if not visitor.name.strip():
            continue
        if visitor.kind not in VisitorKind.values:
            raise RosterInvalid({f"visitor-{i}": {"kind": "Choose the kind of visitor."}})
        clean_visitors.append(visitor)

    existing = {
        r.patient_id: r
        for r in AttendanceRecord.objects.select_for_update(of=("self",))
        .select_related("patient")
        .filter(session=session)
    }
    to_create: list[AttendanceRecord] = []
    to_update: list[AttendanceRecord] = []
    history: list[tuple[AttendanceRecord, str, int | None]] = []
    newly_unexcused: list[tuple[AttendanceRecord, Episode]] = []
    for line, patient, episode, minutes in checked:
        record = existing.get(patient.pk)
        late = (line.late_minutes or 0) if line.status == rules.LATE else 0
        early = (line.left_early_minutes or 0) if line.status == rules.LEFT_EARLY else 0
        if record is None:
            record = AttendanceRecord(
                patient=patient,
                program_id=session.program_id,
                track_id=session.track_id,
                session=session,
                on=session.on,
                status=line.status,
                late_minutes=late,
                left_early_minutes=early,
                minutes_attended=minutes,
                walk_in=line.patient_id not in roster,
                recorded_by=actor,
                recorded_at=now,
            )
            to_create.append(record)
            history.append((record, "", None))
            if line.status == rules.ABSENT_UNEXCUSED:
                newly_unexcused.append((record, episode))
            continue
        if (
            record.status,
            record.late_minutes,
            record.left_early_minutes,
            record.minutes_attended,
        ) == (
            line.status,
            late,
            early,
            minutes,
        ):
            continue
        history.append((record, record.status, record.minutes_attended))
        if line.status == rules.ABSENT_UNEXCUSED and record.status != rules.ABSENT_UNEXCUSED:
            newly_unexcused.append((record, episode))
        record.status = line.status
        record.late_minutes = late
        record.left_early_minutes = early
        record.minutes_attended = minutes
        record.recorded_by = actor
        record.recorded_at = now
        record.version += 1
        to_update.append(record)
    AttendanceRecord.objects.bulk_create(to_create)
    if to_create and to_create[0].pk is None:  # backends without RETURNING
        by_patient = {r.patient_id: r for r in AttendanceRecord.objects.filter(session=session)}
        for r in to_create:
            r.pk = by_patient[r.patient_id].pk
    AttendanceRecord.objects.bulk_update(
        to_update,
        [
            "status",
            "late_minutes",
            "left_early_minutes",
            "minutes_attended",
            "recorded_by",
            "recorded_at",
            "version",
            "updated_at",
        ],
    )
    AttendanceChange.objects.bulk_create(
        AttendanceChange(
            record=record,
            from_status=from_status,
            to_status=record.status,
            from_minutes=from_minutes,
            to_minutes=record.minutes_attended,
            changed_by=actor,
            changed_at=now,
        )
        for record, from_status, from_minutes in history
    )
    SessionVisitor.objects.bulk_create(
        SessionVisitor(
            session=session,
            name=v.name.strip(),
            kind=v.kind,
            note=v.note.strip(),
            added_by=actor,
        )
        for v in clean_visitors
    )
    sheet.version += 1
    sheet.saved_by = actor
    sheet.saved_at = now
    sheet.save()
    SubmissionReceipt.objects.create(
        token=submission_token,
        actor=actor,
        kind="attendance_roster",
        object_public_id=sheet.public_id,
    )
    entries = [
        AuditEntry(
            action=AuditAction.CREATE if from_status == "" else AuditAction.UPDATE,
            patient=record.patient,
            object_type="attendance",
            object_id=str(record.public_id),
            detail={"status": record.status, "session": str(session.public_id)},
        )
        for record, from_status, _ in history
    ]
    if clean_visitors:
        entries.append(
            AuditEntry(
                action=AuditAction.CREATE,
                object_type="session_visitor",
                object_id=str(session.public_id),
                detail={"count": len(clean_visitors)},
            )
        )
    if entries:
        audit_record_many(actor=actor, entries=entries)
    follow_ups = _follow_up_tasks(actor, session, newly_unexcused, now)
    alerts = _disengagement_check(
        actor, session.program_id, [r.patient for r, _ in newly_unexcused], now
    )
    return RosterSaved(sheet=sheet, changed=len(history), follow_ups=follow_ups, alerts=alerts)


def _follow_up_tasks(
    actor: User,
    session: GroupSession | None,
    missed: list[tuple[AttendanceRecord, Episode]],
    now: datetime,
    *,
    what: str = "",
) -> int:
    """A follow-up task per missed session, for the primary clinician (or the actor)."""
    label = what or (f"group {session.track.name}" if session else "session")
    tasks = [
        Task(
            assignee=episode.primary_counselor or actor,
            patient=record.patient,
            kind=FOLLOW_UP_KIND,
            title=f"Follow up: missed {label} on {record.on:%Y-%m-%d}",
            due_at=now,
            created_by=actor,
        )
        for record, episode in missed
    ]
    Task.objects.bulk_create(tasks)
    return len(tasks)


def _disengagement_check(
    actor: User, program_id: int, patients: list[Patient], now: datetime
) -> int:
    """Raise a disengagement alert for each patient whose recent history reaches the
    program's threshold of consecutive unexcused absences (once while one is open)."""
    if not patients:
        return 0
    settings = AttendanceSettings.objects.filter(program_id=program_id).first()
    threshold = settings.absence_alert_threshold if settings else DEFAULT_ABSENCE_THRESHOLD
    if threshold <= 0:
        return 0
    ids = [p.pk for p in patients]
    already = set(
        Alert.objects.filter(
            patient_id__in=ids, kind=AlertKind.DISENGAGEMENT, status=AlertStatus.OPEN
        ).values_list("patient_id", flat=True)
    )
    # The last few marks of each patient, newest first (program-cancelled sessions have
    # no marks, so they are not in the history).
    history: dict[int, list[tuple[str, str]]] = {pid: [] for pid in ids}
    window = 4 * threshold + 4
    recent = (
        AttendanceRecord.objects.filter(patient_id__in=ids)
        .filter(Q(session__isnull=False) | Q(appointment__isnull=False))
        .order_by("patient_id", "-on", "-id")
        .values_list("patient_id", "status", "public_id")
    )
    # Only recent marks matter (the (patient, on) index bounds the read); a run of
    # absences older than HISTORY_DAYS has long been followed by other marks or an alert.
    since = timezone.localdate(now) - timedelta(days=HISTORY_DAYS)
    for pid, status, public_id in recent.filter(on__gte=since):
        if len(history[pid]) < window:
            history[pid].append((status, str(public_id)))
    raised = 0
    for patient in patients:
        if patient.pk in already:
            continue
        marks = list(reversed(history[patient.pk]))
        if rules.disengaged([s for s, _ in marks], threshold=threshold):
            alert_raise(
                actor=actor,
                patient=patient,
                kind=AlertKind.DISENGAGEMENT,
                severity=AlertSeverity.MODERATE,
                title=f"{rules.trailing_unexcused([s for s, _ in marks])} consecutive "
                "unexcused absences",
                source_type=DISENGAGEMENT_SOURCE,
                source_id=marks[-1][1],
                now=now,
                task_title="Reach out: consecutive missed sessions",
            )
            already.add(patient.pk)
            raised += 1
    return raised


# --- Check-in ----------------------------------------------------------------------------

CHECK_IN_GRACE_MINUTES = 5


@transaction.atomic
def check_in(
    *, actor: User, session: GroupSession, patient_public_id: UUID, now: datetime
) -> AttendanceRecord:
    """Front desk: a rostered patient arrived. Marks them present (late, with the
    minutes, when they arrive more than a few minutes after the start) on the same
    record the facilitator's roster shows, and moves the sheet's version."""
    _require(actor, Perm.ATTENDANCE_CHECKIN)
    _require_member(actor, session.program_id)
    session = _lock_session(session)
    if session.status == SessionStatus.CANCELLED:
        raise ServiceError(ErrorCode.INVALID, "This session was cancelled.")
    entry = next(
        (e for e in session_roster(session) if e.patient.public_id == patient_public_id), None
    )
    if entry is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "This patient is not on the session's roster.")
    sheet = _sheet(session)
    duration = duration_minutes(session.starts_at, session.ends_at)
    late = max(0, duration_minutes(session.starts_at, now))
    status = rules.LATE if late > CHECK_IN_GRACE_MINUTES else rules.PRESENT
    late = min(late, duration) if status == rules.LATE else 0
    minutes = rules.default_minutes(status=status, duration_minutes=duration, late_minutes=late)
    record = (
        AttendanceRecord.objects.select_for_update()
        .filter(session=session, patient=entry.patient)
        .first()
    )
    if record is not None and record.checked_in_at is not None:
        return record
    from_status = record.status if record else ""
    from_minutes = record.minutes_attended if record else None
    if record is None:
        record = AttendanceRecord(
            patient=entry.patient,
            program_id=session.program_id,
            track_id=session.track_id,
            session=session,
            on=session.on,
            recorded_by=actor,
            recorded_at=now,
        )
    else:
        record.version += 1
    record.status = status
    record.late_minutes = late
    record.left_early_minutes = 0
    record.minutes_attended = minutes
    record.checked_in_at = now
    record.checked_in_by = actor
    record.recorded_by = actor
    record.recorded_at = now
    record.save()
    AttendanceChange.objects.create(
        record=record,
        from_status=from_status,
        to_status=status,
        from_minutes=from_minutes,
        to_minutes=minutes,
        changed_by=actor,
        changed_at=now,
    )
    sheet.version += 1
    sheet.saved_by = actor
    sheet.saved_at = now
    sheet.save()
    audit_record(
        actor=actor,
        action=AuditAction.CREATE if not from_status else AuditAction.UPDATE,
        patient=entry.patient,
        object_type="attendance",
        object_id=record.public_id,
        detail={"status": status, "check_in": True, "session": str(session.public_id)},
    )
    return record


@transaction.atomic
def walk_in_check_in(
    *,
    actor: User,
    session: GroupSession,
    patient_public_id: UUID,
    submission_token: UUID | None,
    now: datetime,
) -> AttendanceRecord:
    """Front desk: a patient of the program who is not on the session's roster came
    anyway. Marks them present (or late) as a walk-in on the same kind of record the
    roster shows, and moves the sheet's version. A patient who is on the roster is
    checked in normally; a repeated submission returns the first record."""
    _require(actor, Perm.ATTENDANCE_CHECKIN)
    _require_member(actor, session.program_id)
    if submission_token is not None:
        receipt = SubmissionReceipt.objects.filter(
            token=submission_token, actor=actor, kind="walk_in"
        ).first()
        if receipt is not None:
            return AttendanceRecord.objects.get(public_id=receipt.object_public_id)
    session = _lock_session(session)
    if session.status == SessionStatus.CANCELLED:
        raise ServiceError(ErrorCode.INVALID, "This session was cancelled.", field="session")
    if any(e.patient.public_id == patient_public_id for e in session_roster(session)):
        return check_in(actor=actor, session=session, patient_public_id=patient_public_id, now=now)
    found = _walk_in_patients(actor, session, {patient_public_id}).get(patient_public_id)
    if found is None:
        raise ServiceError(
            ErrorCode.NOT_FOUND,
            "This patient has no open episode in the session's program.",
            field="session",
        )
    patient = found[0]
    record = (
        AttendanceRecord.objects.select_for_update()
        .filter(session=session, patient=patient)
        .first()
    )
    if record is not None and record.checked_in_at is not None:
        return record
    duration = duration_minutes(session.starts_at, session.ends_at)
    late = max(0, duration_minutes(session.starts_at, now))
    status = rules.LATE if late > CHECK_IN_GRACE_MINUTES else rules.PRESENT
    late = min(late, duration) if status == rules.LATE else 0
    minutes = rules.default_minutes(status=status, duration_minutes=duration, late_minutes=late)
    from_status = record.status if record else ""
    from_minutes = record.minutes_attended if record else None
    if record is None:
        record = AttendanceRecord(
            patient=patient,
            program_id=session.program_id,
            track_id=session.track_id,
            session=session,
            on=session.on,
            recorded_by=actor,
            recorded_at=now,
        )
    else:
        record.version += 1
    record.status = status
    record.late_minutes = late
    record.left_early_minutes = 0
    record.minutes_attended = minutes
    record.walk_in = True
    record.checked_in_at = now
    record.checked_in_by = actor
    record.recorded_by = actor
    record.recorded_at = now
    record.save()
    AttendanceChange.objects.create(
        record=record,
        from_status=from_status,
        to_status=status,
        from_minutes=from_minutes,
        to_minutes=minutes,
        changed_by=actor,
        changed_at=now,
    )
    sheet = _sheet(session)
    sheet.version += 1
    sheet.saved_by = actor
    sheet.saved_at = now
    sheet.save()
    audit_record(
        actor=actor,
        action=AuditAction.CREATE if not from_status else AuditAction.UPDATE,
        patient=patient,
        object_type="attendance",
        object_id=record.public_id,
        detail={
            "status": status,
            "check_in": True,
            "walk_in": True,
            "session": str(session.public_id),
        },
    )
    if submission_token is not None:
        SubmissionReceipt.objects.create(
            token=submission_token, actor=actor, kind="walk_in", object_public_id=record.public_id
        )
    return record


# --- Appointments ------------------------------------------------------------------------


class AppointmentConflict(ServiceError):
    def __init__(self, current: AttendanceRecord) -> None:
        super().__init__(
            ErrorCode.CONFLICT,
            "Someone else marked this appointment while you were editing: it is now "
            f"{'kept' if current.attended else 'missed'}, {current.minutes_attended} minutes. "
            "Check, then save again.",
        )
        self.current = current


@transaction.atomic
def appointment_mark(
    *,
    actor: User,
    appointment: Appointment,
    kept: bool,
    minutes: int | None,
    base_version: int,
    now: datetime,
) -> AttendanceRecord:
    """Mark an appointment kept (with minutes, defaulting to its length) or a no-show.
    A no-show creates a follow-up task and counts toward disengagement."""
    _require(actor, Perm.ATTENDANCE_RECORD)
    _require_member(actor, appointment.program_id)
    appointment = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("patient")
        .get(pk=appointment.pk)
    )
    if appointment.status == SessionStatus.CANCELLED:
        raise ServiceError(ErrorCode.INVALID, "This appointment was cancelled.")
    duration = duration_minutes(appointment.starts_at, appointment.ends_at)
    if minutes is not None and not 0 < minutes <= duration:
        raise ServiceError(ErrorCode.INVALID, f"Between 1 and {duration} minutes.", field="minutes")
    record = AttendanceRecord.objects.filter(appointment=appointment).first()
    if (record.version if record else 0) != base_version:
        assert record is not None
        raise AppointmentConflict(record)
    status = rules.PRESENT if kept else rules.ABSENT_UNEXCUSED
    attended = (minutes or duration) if kept else 0
    from_status = record.status if record else ""
    from_minutes = record.minutes_attended if record else None
    if record is None:
        record = AttendanceRecord(
            patient=appointment.patient,
            program_id=appointment.program_id,
            appointment=appointment,
            on=appointment.on,
            recorded_by=actor,
            recorded_at=now,
        )
    else:
        if (record.status, record.minutes_attended) == (status, attended):
            return record
        record.version += 1
    record.status = status
    record.minutes_attended = attended
    record.recorded_by = actor
    record.recorded_at = now
    record.save()
    AttendanceChange.objects.create(
        record=record,
        from_status=from_status,
        to_status=status,
        from_minutes=from_minutes,
        to_minutes=attended,
        changed_by=actor,
        changed_at=now,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE if not from_status else AuditAction.UPDATE,
        patient=appointment.patient,
        object_type="attendance",
        object_id=record.public_id,
        detail={"status": status, "appointment": str(appointment.public_id)},
    )
    if not kept and from_status != rules.ABSENT_UNEXCUSED:
        episode = (
            Episode.objects.filter(
                patient=appointment.patient,
                program_id=appointment.program_id,
                status__in=OPEN_EPISODE,
            )
            .select_related("primary_counselor")
            .first()
        )
        if episode is not None:
            _follow_up_tasks(
                actor,
                None,
                [(record, episode)],
                now,
                what=appointment.get_kind_display().lower(),
            )
        _disengagement_check(actor, appointment.program_id, [appointment.patient], now)
    return record


# --- Outreach ----------------------------------------------------------------------------


@transaction.atomic
def outreach_log(
    *,
    actor: User,
    access: PatientAccess,
    method: str,
    outcome: str,
    note: str,
    record_public_id: UUID | None,
    submission_token: UUID,
    now: datetime,
) -> OutreachAttempt:
    """Log one attempt to reach a patient after a missed session."""
    _require(actor, Perm.ATTENDANCE_RECORD)
    User.objects.select_for_update().filter(pk=actor.pk).first()
    receipt = SubmissionReceipt.objects.filter(token=submission_token, actor=actor).first()
    if receipt is not None:
        return OutreachAttempt.objects.get(public_id=receipt.object_public_id)
    if method not in OutreachMethod.values:
        raise ServiceError(ErrorCode.INVALID, "Choose how you tried to reach them.", field="method")
    if outcome not in OutreachOutcome.values:
        raise ServiceError(ErrorCode.INVALID, "Choose what happened.", field="outcome")
    record = None
    if record_public_id is not None:
        record = AttendanceRecord.objects.filter(
            public_id=record_public_id, patient=access.patient
        ).first()
        if record is None:
            raise ServiceError(ErrorCode.INVALID, "No such missed session.", field="record")
    attempt = OutreachAttempt.objects.create(
        patient=access.patient,
        record=record,
        method=method,
        outcome=outcome,
        note=note.strip(),
        made_by=actor,
        made_at=now,
    )
    SubmissionReceipt.objects.create(
        token=submission_token, actor=actor, kind="outreach", object_public_id=attempt.public_id
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        patient=access.patient,
        object_type="outreach_attempt",
        object_id=attempt.public_id,
        break_glass=access.via_break_glass,
        detail={"method": method, "outcome": outcome},
    )
    return attempt


# --- Configuration: per-program settings and weekly hour requirements --------------------


class ConfigConflict(ServiceError):
    """Someone saved this setting after the form was read: nothing was saved.
    `current` holds what is now saved (field -> shown value), `changed` the fields
    where it differs from the user's entries."""

    def __init__(
        self,
        *,
        what: str,
        current_version: int,
        current: dict[str, str],
        changed: list[str],
        by: User | None,
    ) -> None:
        who = by.display_name if by else "Someone"
        super().__init__(
            ErrorCode.CONFLICT,
            f"{who} saved this {what} while you were editing it. Nothing of yours was "
            "saved: your entries are kept below, beside what is now saved. Check them, "
            "then save again.",
        )
        self.current_version = current_version
        self.current = current
        self.changed = changed


class FieldProblems(ServiceError):
    """Problems by field: {field: message}; nothing was saved."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(
            ErrorCode.INVALID,
            "Some entries need correcting; see the messages next to them.",
            field=next(iter(fields), None),
        )
        self.fields = fields


def _require_org_program(actor: User, program: Program) -> None:
    if program.site.organization_id != actor.org_id:
        raise ServiceError(ErrorCode.NOT_ALLOWED, "Not your organization's program.")


MAX_ABSENCE_THRESHOLD = 20


@transaction.atomic
def settings_save(
    *,
    actor: User,
    program: Program,
    absence_alert_threshold: int,
    partial_week_policy: str,
    base_version: int,
    now: datetime,
) -> AttendanceSettings:
    """Create or update a program's attendance settings. `base_version` is the version
    the form was read at (0: the program had no row, i.e. the defaults)."""
    _require(actor, Perm.ORG_MANAGE)
    _require_org_program(actor, program)
    # Lock the program's row: two first saves (no settings row yet) queue here too.
    Program.objects.select_for_update().filter(pk=program.pk).first()
    current = (
        AttendanceSettings.objects.select_related("updated_by").filter(program=program).first()
    )
    saved: dict[str, object] = {
        "absence_alert_threshold": (
            current.absence_alert_threshold if current else DEFAULT_ABSENCE_THRESHOLD
        ),
        "partial_week_policy": (current.partial_week_policy if current else rules.PRORATE),
    }
    typed = {
        "absence_alert_threshold": absence_alert_threshold,
        "partial_week_policy": partial_week_policy,
    }
    changed = [name for name in saved if saved[name] != typed[name]]
    if (current.version if current else 0) != base_version:
        raise ConfigConflict(
            what="program's attendance settings",
            current_version=current.version if current else 0,
            current={
                "absence_alert_threshold": str(saved["absence_alert_threshold"]),
                "partial_week_policy": str(
                    dict(PartialWeekPolicy.choices).get(str(saved["partial_week_policy"]), "")
                ),
            },
            changed=changed,
            by=current.updated_by if current else None,
        )
    problems: dict[str, str] = {}
    if not 0 <= absence_alert_threshold <= MAX_ABSENCE_THRESHOLD:
        problems["absence_alert_threshold"] = (
            f"Between 0 (no alerts) and {MAX_ABSENCE_THRESHOLD} absences in a row."
        )
    if partial_week_policy not in PartialWeekPolicy.values:
        problems["partial_week_policy"] = "Choose how a partial week is judged."
    if problems:
        raise FieldProblems(problems)
    row = current or AttendanceSettings(program=program, version=0)
    row.absence_alert_threshold = absence_alert_threshold
    row.partial_week_policy = partial_week_policy
    row.version += 1
    row.updated_by = actor
    row.updated_at = now
    row.save()
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE if current else AuditAction.CREATE,
        object_type="attendance_settings",
        object_id=program.public_id,
        detail={"fields": changed, "version": row.version},
    )
    return row


@dataclass(frozen=True)
class RequirementInput:
    code: str
    label: str
    scope: str
    program: Program | None
    payer: Payer | None
    plan_type: str
    adult_min_hours: Decimal
    adolescent_min_hours: Decimal
    min_days: int | None
    source: str
    is_active: bool = True


REQUIREMENT_FIELDS = (
    "code",
    "label",
    "scope",
    "program",
    "payer",
    "plan_type",
    "adult_min_hours",
    "adolescent_min_hours",
    "min_days",
    "source",
    "is_active",
)
MAX_WEEKLY_HOURS = Decimal("40")


def _requirement_shown(value: object) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _requirement_problems(actor: User, data: RequirementInput) -> dict[str, str]:
    problems: dict[str, str] = {}
    if not data.code:
        problems["code"] = "A short code, e.g. state_iop or acme_iop."
    if not data.label.strip():
        problems["label"] = "A name people will read on the report."
    if data.scope not in RuleScope.values:
        problems["scope"] = "Choose who the minimum applies to."
    elif data.scope == RuleScope.PROGRAM:
        if data.program is None:
            problems["program"] = "Choose the program this minimum applies to."
        elif data.program.site.organization_id != actor.org_id:
            problems["program"] = "Not your organization's program."
    elif data.scope == RuleScope.PAYER:
        if data.payer is None:
            problems["payer"] = "Choose the payer this minimum applies to."
        elif data.payer.organization_id != actor.org_id:
            problems["payer"] = "Not your organization's payer."
    elif data.scope == RuleScope.PLAN_TYPE and data.plan_type not in PlanType.values:
        problems["plan_type"] = "Choose the plan type this minimum applies to."
    for name in ("adult_min_hours", "adolescent_min_hours"):
        hours = getattr(data, name)
        if not Decimal("0") < hours <= MAX_WEEKLY_HOURS:
            problems[name] = f"Hours a week, more than 0 and at most {MAX_WEEKLY_HOURS}."
    if data.min_days is not None and not 1 <= data.min_days <= 7:
        problems["min_days"] = "Days a week, 1 to 7 (blank: no minimum)."
    return problems


def _requirement_target(data: RequirementInput) -> dict[str, object]:
    """Only the scope's own target is kept (a payer picked before switching the scope
    to "program" is dropped)."""
    return {
        "program": data.program if data.scope == RuleScope.PROGRAM else None,
        "payer": data.payer if data.scope == RuleScope.PAYER else None,
        "plan_type": data.plan_type if data.scope == RuleScope.PLAN_TYPE else "",
    }


@transaction.atomic
def requirement_save(
    *,
    actor: User,
    requirement: HourRequirement | None,
    data: RequirementInput,
    base_version: int,
    submission_token: UUID | None,
    now: datetime,
) -> HourRequirement:
    """Add a weekly hour minimum (requirement None) or change one. Switching it off
    (`is_active` False) is how a rule is retired; nothing is deleted. A repeated
    submission of the add form returns the first requirement."""
    _require(actor, Perm.ORG_MANAGE)
    if requirement is None and submission_token is not None:
        User.objects.select_for_update().filter(pk=actor.pk).first()
        receipt = SubmissionReceipt.objects.filter(
            token=submission_token, actor=actor, kind="hour_requirement"
        ).first()
        if receipt is not None:
            return HourRequirement.objects.get(public_id=receipt.object_public_id)
    current = None
    if requirement is not None:
        current = (
            HourRequirement.objects.select_for_update(of=("self",))
            .select_related("updated_by", "program", "payer")
            .get(pk=requirement.pk)
        )
        if current.organization_id != actor.org_id:
            raise ServiceError(ErrorCode.NOT_ALLOWED, "Not your organization's requirement.")
    target = _requirement_target(data)
    typed: dict[str, object] = {
        name: target[name] if name in target else getattr(data, name) for name in REQUIREMENT_FIELDS
    }
    changed = [
        name
        for name in REQUIREMENT_FIELDS
        if current is None or getattr(current, name) != typed[name]
    ]
    if current is not None and current.version != base_version:
        raise ConfigConflict(
            what="hour requirement",
            current_version=current.version,
            current={
                name: _requirement_shown(getattr(current, name)) for name in REQUIREMENT_FIELDS
            },
            changed=changed,
            by=current.updated_by,
        )
    problems = _requirement_problems(actor, data)
    if not problems and data.is_active:
        clash = HourRequirement.objects.filter(
            organization_id=actor.org_id,
            code=data.code,
            scope=data.scope,
            program=data.program if data.scope == RuleScope.PROGRAM else None,
            payer=data.payer if data.scope == RuleScope.PAYER else None,
            plan_type=target["plan_type"],
            is_active=True,
        )
        if current is not None:
            clash = clash.exclude(pk=current.pk)
        if clash.exists():
            problems["code"] = (
                "An active requirement with this code already applies to the same patients; "
                "change that one instead."
            )
    if problems:
        raise FieldProblems(problems)
    row = current or HourRequirement(organization_id=actor.org_id, version=0)
    for name in REQUIREMENT_FIELDS:
        setattr(row, name, typed[name])
    row.label = data.label.strip()
    row.source = data.source.strip()
    row.version += 1
    row.updated_by = actor
    row.save()
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE if current else AuditAction.CREATE,
        object_type="hour_requirement",
        object_id=row.public_id,
        detail={"fields": changed, "version": row.version, "code": row.code},
    )
    if current is None and submission_token is not None:
        SubmissionReceipt.objects.create(
            token=submission_token,
            actor=actor,
            kind="hour_requirement",
            object_public_id=row.public_id,
        )
    return row
