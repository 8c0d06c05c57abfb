"""Writing homework: assign, record a completed sheet (staff now, the patient later),
mark reviewed, cancel. Each in one transaction with its audit row."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from django.db import transaction

from openiop.accounts.models import ProgramMembership, User
from openiop.accounts.roles import Perm
from openiop.attendance.models import AttendanceRecord
from openiop.attendance.rules import ATTENDED
from openiop.audit.models import AuditAction
from openiop.audit.services import audit_record
from openiop.core.errors import ErrorCode, ServiceError
from openiop.core.models import SubmissionReceipt
from openiop.episodes.models import Episode, EpisodeStatus
from openiop.homework import kinds
from openiop.homework.models import (
    AssignmentStatus,
    HomeworkAssignment,
    HomeworkEntry,
    HomeworkKind,
    RecordedBy,
)
from openiop.patients.models import Patient
from openiop.patients.selectors import PatientAccess
from openiop.plans.models import PlanObjective, PlanVersionStatus
from openiop.scheduling.models import Appointment, GroupSession


class HomeworkInvalid(ServiceError):
    def __init__(self, errors: dict[str, str]) -> None:
        field, message = next(iter(errors.items()))
        super().__init__(ErrorCode.INVALID, message, field=field)
        self.errors = errors


@dataclass(frozen=True)
class CompletionActor:
    """Who records a completed sheet: a staff member (with the patient), or the patient
    in the portal. The service takes either, so the portal reuses it unchanged."""

    kind: str  # RecordedBy
    staff: User | None = None
    patient: Patient | None = None

    @classmethod
    def for_staff(cls, user: User) -> CompletionActor:
        return cls(kind=RecordedBy.STAFF, staff=user)

    @classmethod
    def for_patient(cls, patient: Patient) -> CompletionActor:
        return cls(kind=RecordedBy.PATIENT, patient=patient)


@dataclass(frozen=True)
class AssignmentInput:
    kind: str
    due_on: date | None
    instructions: str = ""
    objective_public_id: str = ""
    group_session_public_id: str = ""
    appointment_public_id: str = ""


def _require(actor: User) -> None:
    if not actor.has_perm_code(Perm.PLAN_WRITE):
        raise ServiceError(ErrorCode.NOT_ALLOWED, "Your role does not allow this.")


def _audit(
    actor: User | None,
    patient: Patient,
    action: AuditAction,
    assignment: HomeworkAssignment,
    break_glass: bool = False,
    detail: dict[str, Any] | None = None,
) -> None:
    audit_record(
        actor=actor,
        action=action,
        patient=patient,
        object_type="homework",
        object_id=assignment.public_id,
        break_glass=break_glass,
        detail={"kind": assignment.kind, **(detail or {})},
    )


@transaction.atomic
def homework_assign(
    *,
    actor: User,
    access: PatientAccess,
    data: AssignmentInput,
    submission_token: UUID,
    today: date,
) -> HomeworkAssignment:
    _require(actor)
    User.objects.select_for_update().filter(pk=actor.pk).first()
    receipt = SubmissionReceipt.objects.filter(token=submission_token, actor=actor).first()
    if receipt is not None:
        return HomeworkAssignment.objects.get(public_id=receipt.object_public_id)
    patient = access.patient
    errors: dict[str, str] = {}
    if data.kind not in HomeworkKind.values:
        errors["kind"] = "Choose a kind of homework."
    if data.due_on is None:
        errors["due_on"] = "Enter the due date."
    elif data.due_on < today:
        errors["due_on"] = "The due date is in the past."
    episode = (
        Episode.objects.filter(
            patient=patient,
            status=EpisodeStatus.ACTIVE,
            program_id__in=ProgramMembership.objects.filter(user=actor).values("program_id"),
        )
        .order_by("-referred_on", "-id")
        .first()
    )
    if episode is None:
        errors.setdefault("kind", "The patient has no active episode in your programs.")
    objective = None
    if data.objective_public_id:
        objective = PlanObjective.objects.filter(
            public_id=data.objective_public_id,
            plan_version__patient=patient,
            plan_version__status=PlanVersionStatus.SIGNED,
        ).first()
        if objective is None:
            errors["objective"] = "Choose an objective of the patient's current plan."
    session = None
    if data.group_session_public_id:
        session = GroupSession.objects.filter(public_id=data.group_session_public_id).first()
        attended = (
            session is not None
            and AttendanceRecord.objects.filter(
                patient=patient, session=session, status__in=list(ATTENDED)
            ).exists()
        )
        if session is None or not attended:
            errors["group_session"] = "Choose a group session the patient attended."
    appointment = None
    if data.appointment_public_id:
        appointment = Appointment.objects.filter(
            public_id=data.appointment_public_id, patient=patient
        ).first()
        if appointment is None:
            errors["appointment"] = "Choose one of the patient's appointments."
    if errors:
        raise HomeworkInvalid(errors)
    assert episode is not None and data.due_on is not None
    assignment = HomeworkAssignment.objects.create(
        patient=patient,
        episode=episode,
        kind=data.kind,
        instructions=data.instructions.strip(),
        assigned_on=today,
        due_on=data.due_on,
        objective=objective,
        group_session=session,
        appointment=appointment,
        assigned_by=actor,
    )
    SubmissionReceipt.objects.create(
        token=submission_token, actor=actor, kind="homework", object_public_id=assignment.public_id
    )
    _audit(actor, patient, AuditAction.CREATE, assignment, access.via_break_glass)
    return assignment


def _locked(patient: Patient, public_id: UUID | str) -> HomeworkAssignment:
    row = (
        HomeworkAssignment.objects.select_for_update()
        .filter(patient=patient, public_id=public_id)
        .first()
    )
    if row is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such homework.")
    return row


@transaction.atomic
def homework_record_entry(
    *,
    by: CompletionActor,
    patient: Patient,
    assignment_public_id: UUID | str,
    raw: Mapping[str, str],
    complete: bool,
    submission_token: UUID,
    now: datetime,
    break_glass: bool = False,
) -> HomeworkEntry:
    """Record one completed sheet; `complete` also marks the assignment completed.
    Actor-agnostic: staff (with the patient) now, the patient in the portal later."""
    if by.kind == RecordedBy.STAFF:
        if by.staff is None:
            raise ServiceError(ErrorCode.NOT_ALLOWED, "No staff member.")
        _require(by.staff)
        User.objects.select_for_update().filter(pk=by.staff.pk).first()
        receipt = SubmissionReceipt.objects.filter(token=submission_token, actor=by.staff).first()
        if receipt is not None:
            return HomeworkEntry.objects.get(public_id=receipt.object_public_id)
    elif by.kind == RecordedBy.PATIENT:
        if by.patient is None or by.patient.pk != patient.pk:
            raise ServiceError(ErrorCode.NOT_ALLOWED, "Patients record their own homework only.")
    else:
        raise ServiceError(ErrorCode.NOT_ALLOWED, "Unknown actor.")
    assignment = _locked(patient, assignment_public_id)
    if assignment.status in {AssignmentStatus.CANCELLED, AssignmentStatus.ENTERED_IN_ERROR}:
        raise ServiceError(ErrorCode.NOT_ALLOWED, "This homework was cancelled.")
    data, errors = kinds.validate_entry(assignment.kind, raw)
    if errors:
        raise HomeworkInvalid(errors)
    entry = HomeworkEntry.objects.create(
        assignment=assignment,
        data=data,
        kind_version=kinds.kind_spec(assignment.kind).version,
        recorded_by_kind=by.kind,
        recorded_by=by.staff,
        recorded_at=now,
    )
    if complete and assignment.status == AssignmentStatus.ASSIGNED:
        assignment.status = AssignmentStatus.COMPLETED
        assignment.completed_at = now
        assignment.version += 1
        assignment.save(update_fields=["status", "completed_at", "version", "updated_at"])
    if by.kind == RecordedBy.STAFF and by.staff is not None:
        SubmissionReceipt.objects.create(
            token=submission_token,
            actor=by.staff,
            kind="homework_entry",
            object_public_id=entry.public_id,
        )
    _audit(
        by.staff,
        patient,
        AuditAction.CREATE,
        assignment,
        break_glass,
        {"entry": str(entry.public_id), "by": by.kind, "completed": complete},
    )
    return entry


@transaction.atomic
def homework_mark_reviewed(
    *,
    actor: User,
    access: PatientAccess,
    assignment_public_id: UUID | str,
    note: str,
    now: datetime,
) -> HomeworkAssignment:
    """Completed homework reviewed in a session (idempotent); notes call this when a
    note references it."""
    _require(actor)
    assignment = _locked(access.patient, assignment_public_id)
    if assignment.status == AssignmentStatus.REVIEWED:
        return assignment
    if assignment.status != AssignmentStatus.COMPLETED:
        raise ServiceError(
            ErrorCode.NOT_ALLOWED, "Only completed homework can be reviewed.", field="note"
        )
    assignment.status = AssignmentStatus.REVIEWED
    assignment.reviewed_at = now
    assignment.reviewed_by = actor
    assignment.review_note = note.strip()
    assignment.version += 1
    assignment.save()
    _audit(
        actor,
        access.patient,
        AuditAction.STATUS_CHANGE,
        assignment,
        access.via_break_glass,
        {"to": "reviewed"},
    )
    return assignment


@transaction.atomic
def homework_cancel(
    *,
    actor: User,
    access: PatientAccess,
    assignment_public_id: UUID | str,
    reason: str,
    entered_in_error: bool = False,
) -> HomeworkAssignment:
    _require(actor)
    assignment = _locked(access.patient, assignment_public_id)
    target = AssignmentStatus.ENTERED_IN_ERROR if entered_in_error else AssignmentStatus.CANCELLED
    if assignment.status == target:
        return assignment
    if assignment.status != AssignmentStatus.ASSIGNED and not entered_in_error:
        raise ServiceError(ErrorCode.NOT_ALLOWED, "Only open homework can be cancelled.")
    if not reason.strip():
        raise ServiceError(ErrorCode.INVALID, "Give the reason.", field="reason")
    before = assignment.status
    assignment.status = target
    assignment.status_reason = reason.strip()
    assignment.version += 1
    assignment.save(update_fields=["status", "status_reason", "version", "updated_at"])
    _audit(
        actor,
        access.patient,
        AuditAction.STATUS_CHANGE,
        assignment,
        access.via_break_glass,
        {"from": before, "to": target},
    )
    return assignment
