"""Writes for assessments. Each runs in one transaction with its audit row(s).

Validation (the pure rules) runs before anything changes; a refusal carries every
problem keyed by the form field it belongs to, so the page can show each one next to
its field and keep everything typed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction

from openiop.accounts.models import User
from openiop.accounts.roles import Perm
from openiop.assessments import icd10, rules, selectors
from openiop.assessments.models import (
    PLACEMENT_CHOICES,
    AssessmentStatus,
    BiopsychosocialAssessment,
    Diagnosis,
    DiagnosisRank,
    DiagnosisStatus,
    EligibilityCheck,
    EligibilityRule,
    LevelOfCareAssessment,
    LevelOfCareStatus,
    LevelOfCareTable,
    LevelOfCareTableCell,
    OverrideReason,
    SubstanceUse,
    TreatmentHistory,
)
from openiop.audit.models import AuditAction
from openiop.audit.services import audit_record
from openiop.core.errors import ErrorCode, ServiceError
from openiop.core.models import SubmissionReceipt
from openiop.episodes.models import Episode
from openiop.organizations.models import Organization, Program
from openiop.patients.models import Patient
from openiop.patients.selectors import PatientAccess, current_episode


class FieldProblems(ServiceError):
    """Refused input: messages keyed by form field, and by row for the row tables."""

    def __init__(
        self,
        fields: dict[str, str],
        rows: dict[str, dict[int, dict[str, str]]] | None = None,
        message: str = "Some answers need correcting; see the messages next to them.",
    ) -> None:
        first = next(iter(fields), None)
        super().__init__(ErrorCode.INVALID, message, field=first)
        self.fields = fields
        self.rows = rows or {}


class VersionConflict(ServiceError):
    def __init__(self, what: str, current_version: int, changed: list[str]) -> None:
        super().__init__(
            ErrorCode.CONFLICT,
            f"Someone else saved this {what} while you were editing. Your entries are kept "
            "below; the fields listed differ from what is now saved. Check them, then save "
            "again.",
        )
        self.current_version = current_version
        self.changed = changed


def _require(actor: User, perm: Perm) -> None:
    if not actor.has_perm_code(perm):
        raise ServiceError(ErrorCode.NOT_ALLOWED, "Your role does not allow this.")


def _receipt(actor: User, token: UUID | None, kind: str) -> UUID | None:
    """The public id created by an earlier submission of the same form, if any."""
    if token is None:
        return None
    # One person's submissions run one at a time (see patients.services.patient_register).
    User.objects.select_for_update().filter(pk=actor.pk).first()
    receipt = SubmissionReceipt.objects.filter(token=token, actor=actor, kind=kind).first()
    return receipt.object_public_id if receipt else None


def _store_receipt(actor: User, token: UUID | None, kind: str, public_id: UUID) -> None:
    if token is not None:
        SubmissionReceipt.objects.create(
            token=token, actor=actor, kind=kind, object_public_id=public_id
        )


# --- Biopsychosocial assessment ---------------------------------------------------


@dataclass(frozen=True)
class BiopsychosocialInput:
    assessed_on: date
    presenting_problem: str = ""
    withdrawal_history: str = ""
    overdose_history: str = ""
    last_overdose_on: date | None = None
    psychiatric_history: str = ""
    medical_history: str = ""
    current_medications: str = ""
    family: str = ""
    housing: str = ""
    employment: str = ""
    education: str = ""
    legal: str = ""
    military: str = ""
    trauma: str = ""
    strengths: str = ""
    readiness_stage: str = ""
    patient_goals: str = ""


@dataclass(frozen=True)
class SubstanceRowInput:
    substance: str
    row_id: UUID | None = None
    remove: bool = False
    substance_other: str = ""
    route: str = ""
    frequency: str = ""
    age_first_use: int | None = None
    last_use_on: date | None = None
    amount: str = ""


@dataclass(frozen=True)
class TreatmentRowInput:
    treatment_type: str
    row_id: UUID | None = None
    remove: bool = False
    facility: str = ""
    started_on: date | None = None
    ended_on: date | None = None
    outcome: str = "unknown"


SUBSTANCE_FIELDS = (
    "substance",
    "substance_other",
    "route",
    "frequency",
    "age_first_use",
    "last_use_on",
    "amount",
)
TREATMENT_FIELDS = ("treatment_type", "facility", "started_on", "ended_on", "outcome")


def _bps_problems(
    *,
    patient: Patient,
    data: BiopsychosocialInput,
    substances: list[SubstanceRowInput],
    treatments: list[TreatmentRowInput],
    complete: bool,
    today: date,
) -> FieldProblems | None:
    dob = patient.date_of_birth
    fields: dict[str, str] = {}
    for name, label in (("assessed_on", "assessment date"), ("last_overdose_on", "overdose date")):
        problem = rules.past_date_problem(
            value=getattr(data, name), label=label, date_of_birth=dob, today=today
        )
        if problem:
            fields[name] = problem
    if complete:
        fields |= rules.completion_problems(
            presenting_problem=data.presenting_problem,
            readiness_stage=data.readiness_stage,
            patient_goals=data.patient_goals,
        )
    rows: dict[str, dict[int, dict[str, str]]] = {"substances": {}, "treatments": {}}
    for index, s in enumerate(substances):
        if s.remove:
            continue
        found = rules.substance_row_problems(
            age_first_use=s.age_first_use, last_use_on=s.last_use_on, date_of_birth=dob, today=today
        )
        if s.substance == "other" and not s.substance_other.strip():
            found["substance_other"] = "Name the other substance."
        if found:
            rows["substances"][index] = found
    for index, t in enumerate(treatments):
        if t.remove:
            continue
        found = rules.treatment_row_problems(
            started_on=t.started_on,
            ended_on=t.ended_on,
            outcome=t.outcome,
            date_of_birth=dob,
            today=today,
        )
        if found:
            rows["treatments"][index] = found
    if fields or rows["substances"] or rows["treatments"]:
        return FieldProblems(fields, rows)
    return None


def _apply_rows(
    assessment: BiopsychosocialAssessment,
    substances: list[SubstanceRowInput],
    treatments: list[TreatmentRowInput],
    now: datetime,
) -> dict[str, int]:
    """Update named rows, create new ones, stamp removed ones (never deleted)."""
    counts = {"rows_added": 0, "rows_changed": 0, "rows_removed": 0}
    specs: list[tuple[Any, list[Any], tuple[str, ...]]] = [
        (SubstanceUse, list(substances), SUBSTANCE_FIELDS),
        (TreatmentHistory, list(treatments), TREATMENT_FIELDS),
    ]
    for model, inputs, names in specs:
        existing = {
            row.public_id: row
            for row in model.objects.select_for_update().filter(
                assessment=assessment, removed_at__isnull=True
            )
        }
        for position, item in enumerate(inputs):
            row = existing.get(item.row_id) if item.row_id else None
            if item.row_id and row is None:
                continue  # removed meanwhile, or not this assessment's row
            if row is not None and item.remove:
                row.removed_at = now
                row.save(update_fields=["removed_at", "updated_at"])
                counts["rows_removed"] += 1
                continue
            if item.remove:
                continue
            values = {name: getattr(item, name) for name in names}
            if row is None:
                row = model(assessment=assessment, position=position, **values)
                row.full_clean()
                row.save()
                counts["rows_added"] += 1
            elif any(getattr(row, k) != v for k, v in values.items()) or row.position != position:
                for k, v in values.items():
                    setattr(row, k, v)
                row.position = position
                row.full_clean()
                row.save()
                counts["rows_changed"] += 1
    return counts


def _bps_changed_fields(
    assessment: BiopsychosocialAssessment, data: BiopsychosocialInput
) -> list[str]:
    return [
        f.name
        for f in dataclasses.fields(BiopsychosocialInput)
        if getattr(assessment, f.name) != getattr(data, f.name)
    ]


def _complete(assessment: BiopsychosocialAssessment, actor: User, now: datetime) -> None:
    assessment.status = AssessmentStatus.COMPLETED
    assessment.completed_by = actor
    assessment.completed_at = now


@transaction.atomic
def biopsychosocial_create(
    *,
    actor: User,
    access: PatientAccess,
    data: BiopsychosocialInput,
    substances: list[SubstanceRowInput],
    treatments: list[TreatmentRowInput],
    complete: bool,
    submission_token: UUID | None,
    today: date,
    now: datetime,
) -> BiopsychosocialAssessment:
    """Start a biopsychosocial assessment (saved as a draft, or completed at once)."""
    _require(actor, Perm.ASSESSMENT_WRITE)
    earlier = _receipt(actor, submission_token, "biopsychosocial")
    if earlier is not None:
        return BiopsychosocialAssessment.objects.get(public_id=earlier)
    patient = access.patient
    problems = _bps_problems(
        patient=patient,
        data=data,
        substances=substances,
        treatments=treatments,
        complete=complete,
        today=today,
    )
    if problems:
        raise problems
    assessment = BiopsychosocialAssessment(
        patient=patient, created_by=actor, **dataclasses.asdict(data)
    )
    if complete:
        _complete(assessment, actor, now)
    assessment.full_clean()
    assessment.save()
    counts = _apply_rows(assessment, substances, treatments, now)
    _store_receipt(actor, submission_token, "biopsychosocial", assessment.public_id)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        patient=patient,
        object_type="biopsychosocial",
        object_id=assessment.public_id,
        break_glass=access.via_break_glass,
        detail={"status": assessment.status, **counts},
    )
    return assessment


@transaction.atomic
def biopsychosocial_update(
    *,
    actor: User,
    access: PatientAccess,
    assessment_public_id: UUID,
    data: BiopsychosocialInput,
    substances: list[SubstanceRowInput],
    treatments: list[TreatmentRowInput],
    complete: bool,
    base_version: int,
    today: date,
    now: datetime,
) -> BiopsychosocialAssessment:
    """Save a draft (optionally completing it). A completed assessment is not edited;
    a changed one since `base_version` is refused with what changed."""
    _require(actor, Perm.ASSESSMENT_WRITE)
    assessment = (
        BiopsychosocialAssessment.objects.select_for_update()
        .filter(patient=access.patient, public_id=assessment_public_id)
        .first()
    )
    if assessment is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such assessment.")
    if assessment.status != AssessmentStatus.DRAFT:
        raise ServiceError(
            ErrorCode.CONFLICT,
            "This assessment is no longer a draft and cannot be edited; start a revision.",
        )
    if assessment.version != base_version:
        raise VersionConflict(
            "assessment", assessment.version, _bps_changed_fields(assessment, data)
        )
    problems = _bps_problems(
        patient=access.patient,
        data=data,
        substances=substances,
        treatments=treatments,
        complete=complete,
        today=today,
    )
    if problems:
        raise problems
    changed = _bps_changed_fields(assessment, data)
    for name in changed:
        setattr(assessment, name, getattr(data, name))
    if complete:
        _complete(assessment, actor, now)
    assessment.version += 1
    assessment.full_clean()
    assessment.save()
    counts = _apply_rows(assessment, substances, treatments, now)
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        patient=access.patient,
        object_type="biopsychosocial",
        object_id=assessment.public_id,
        break_glass=access.via_break_glass,
        detail={"fields": changed, "status": assessment.status, **counts},
    )
    return assessment


@transaction.atomic
def biopsychosocial_revise(
    *, actor: User, access: PatientAccess, assessment_public_id: UUID, today: date, now: datetime
) -> BiopsychosocialAssessment:
    """A new draft copying a completed assessment (the original stays as it was).
    Asking twice returns the same open draft."""
    _require(actor, Perm.ASSESSMENT_WRITE)
    original = (
        BiopsychosocialAssessment.objects.select_for_update()
        .filter(patient=access.patient, public_id=assessment_public_id)
        .first()
    )
    if original is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such assessment.")
    if original.status != AssessmentStatus.COMPLETED:
        raise ServiceError(ErrorCode.CONFLICT, "Only a completed assessment can be revised.")
    open_draft = original.revisions.filter(status=AssessmentStatus.DRAFT).first()
    if open_draft is not None:
        return open_draft
    copy = BiopsychosocialAssessment(
        patient=access.patient,
        created_by=actor,
        revises=original,
        assessed_on=max(today, access.patient.date_of_birth),
        **{
            f.name: getattr(original, f.name)
            for f in dataclasses.fields(BiopsychosocialInput)
            if f.name != "assessed_on"
        },
    )
    copy.full_clean()
    copy.save()
    for s in original.substance_rows.filter(removed_at__isnull=True):
        SubstanceUse.objects.create(
            assessment=copy, position=s.position, **{n: getattr(s, n) for n in SUBSTANCE_FIELDS}
        )
    for t in original.treatment_rows.filter(removed_at__isnull=True):
        TreatmentHistory.objects.create(
            assessment=copy, position=t.position, **{n: getattr(t, n) for n in TREATMENT_FIELDS}
        )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        patient=access.patient,
        object_type="biopsychosocial",
        object_id=copy.public_id,
        break_glass=access.via_break_glass,
        detail={"revises": str(original.public_id)},
    )
    return copy


@transaction.atomic
def biopsychosocial_mark_error(
    *, actor: User, access: PatientAccess, assessment_public_id: UUID, reason: str
) -> BiopsychosocialAssessment:
    _require(actor, Perm.ASSESSMENT_WRITE)
    assessment = (
        BiopsychosocialAssessment.objects.select_for_update()
        .filter(patient=access.patient, public_id=assessment_public_id)
        .first()
    )
    if assessment is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such assessment.")
    if assessment.status == AssessmentStatus.ENTERED_IN_ERROR:
        return assessment
    if not reason.strip():
        raise ServiceError(ErrorCode.INVALID, "Say why it was entered in error.", field="reason")
    before = assessment.status
    assessment.status = AssessmentStatus.ENTERED_IN_ERROR
    assessment.status_reason = reason.strip()
    assessment.version += 1
    assessment.save(update_fields=["status", "status_reason", "version", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.STATUS_CHANGE,
        patient=access.patient,
        object_type="biopsychosocial",
        object_id=assessment.public_id,
        break_glass=access.via_break_glass,
        detail={"from": before, "to": assessment.status},
    )
    return assessment


# --- Diagnoses --------------------------------------------------------------------


def code_problem(raw: str) -> tuple[icd10.IcdCode | None, str | None]:
    """The code set entry for a typed code, or why it cannot be used."""
    code = rules.normalize_code(raw)
    if not code:
        return None, "Enter an ICD-10-CM code, or search for one above."
    entry = icd10.lookup(code)
    if entry is None:
        return None, f"{code} is not an ICD-10-CM code."
    if not entry.billable:
        examples = ", ".join(c.code for c in icd10.billable_children(code, limit=4))
        return None, (
            f"{code} ({entry.description}) is a category, not a billable code: choose a more "
            f"specific code{', such as ' + examples if examples else ''}."
        )
    return entry, None


def _lock_patient(patient: Patient) -> None:
    # Serializes diagnosis changes of one patient (exactly one active primary).
    Patient.objects.select_for_update().filter(pk=patient.pk).first()


def _active_primary(patient: Patient, exclude_pk: int | None = None) -> Diagnosis | None:
    qs = Diagnosis.objects.filter(
        patient=patient, status=DiagnosisStatus.ACTIVE, rank=DiagnosisRank.PRIMARY
    )
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return qs.first()


def _demote(primary: Diagnosis, actor: User, access: PatientAccess) -> None:
    primary.rank = DiagnosisRank.SECONDARY
    primary.version += 1
    primary.save(update_fields=["rank", "version", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        patient=access.patient,
        object_type="diagnosis",
        object_id=primary.public_id,
        break_glass=access.via_break_glass,
        detail={"fields": ["rank"], "rank": "secondary"},
    )


@transaction.atomic
def diagnosis_add(
    *,
    actor: User,
    access: PatientAccess,
    code: str,
    rank: str,
    onset_on: date | None,
    submission_token: UUID | None,
    today: date,
    now: datetime,
) -> Diagnosis:
    """Record an active diagnosis. A new primary makes the current primary secondary."""
    _require(actor, Perm.ASSESSMENT_WRITE)
    earlier = _receipt(actor, submission_token, "diagnosis")
    if earlier is not None:
        return Diagnosis.objects.get(public_id=earlier)
    patient = access.patient
    _lock_patient(patient)
    problems: dict[str, str] = {}
    entry, problem = code_problem(code)
    if problem:
        problems["code"] = problem
    elif (
        entry is not None
        and Diagnosis.objects.filter(
            patient=patient, code=entry.code, status=DiagnosisStatus.ACTIVE
        ).exists()
    ):
        problems["code"] = f"{entry.code} is already an active diagnosis of this patient."
    if rank not in DiagnosisRank.values:
        problems["rank"] = "Choose primary or secondary."
    current_primary = _active_primary(patient)
    if rank == DiagnosisRank.SECONDARY and current_primary is None:
        problems["rank"] = (
            "There is no active primary diagnosis: record this one as primary "
            "(exactly one active diagnosis is primary)."
        )
    onset = rules.past_date_problem(
        value=onset_on, label="onset date", date_of_birth=patient.date_of_birth, today=today
    )
    if onset:
        problems["onset_on"] = onset
    if problems:
        raise FieldProblems(problems)
    assert entry is not None
    if rank == DiagnosisRank.PRIMARY and current_primary is not None:
        _demote(current_primary, actor, access)
    diagnosis = Diagnosis(
        patient=patient,
        code=entry.code,
        description=entry.description,
        code_set_release=icd10.release_name(),
        rank=rank,
        onset_on=onset_on,
        recorded_by=actor,
        recorded_at=now,
    )
    diagnosis.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            diagnosis.save()
    except IntegrityError as error:  # a concurrent add of the same code slipped past
        raise FieldProblems(
            {"code": f"{entry.code} is already an active diagnosis of this patient."}
        ) from error
    _store_receipt(actor, submission_token, "diagnosis", diagnosis.public_id)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        patient=patient,
        object_type="diagnosis",
        object_id=diagnosis.public_id,
        break_glass=access.via_break_glass,
        detail={"code": diagnosis.code, "rank": rank},
    )
    return diagnosis


@transaction.atomic
def diagnosis_update(
    *,
    actor: User,
    access: PatientAccess,
    diagnosis_public_id: UUID,
    rank: str,
    status: str,
    onset_on: date | None,
    reason: str,
    base_version: int,
    today: date,
) -> Diagnosis:
    """Change rank, status or onset. Keeps exactly one primary among active ones."""
    _require(actor, Perm.ASSESSMENT_WRITE)
    patient = access.patient
    _lock_patient(patient)
    diagnosis = (
        Diagnosis.objects.select_for_update()
        .filter(patient=patient, public_id=diagnosis_public_id)
        .first()
    )
    if diagnosis is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such diagnosis.")
    changed = [
        name
        for name, value in (("rank", rank), ("status", status), ("onset_on", onset_on))
        if getattr(diagnosis, name) != value
    ]
    if diagnosis.version != base_version:
        raise VersionConflict("diagnosis", diagnosis.version, changed)
    problems: dict[str, str] = {}
    if diagnosis.status == DiagnosisStatus.ENTERED_IN_ERROR:
        raise ServiceError(ErrorCode.CONFLICT, "A diagnosis entered in error cannot change.")
    if status not in DiagnosisStatus.values:
        problems["status"] = "Choose a status."
    if rank not in DiagnosisRank.values:
        problems["rank"] = "Choose primary or secondary."
    other_primary = _active_primary(patient, exclude_pk=diagnosis.pk)
    others_active = (
        Diagnosis.objects.filter(patient=patient, status=DiagnosisStatus.ACTIVE)
        .exclude(pk=diagnosis.pk)
        .exists()
    )
    will_be_active = status == DiagnosisStatus.ACTIVE
    if will_be_active and rank == DiagnosisRank.SECONDARY and other_primary is None:
        problems["rank"] = (
            "Exactly one active diagnosis is primary: make another diagnosis primary first."
        )
    if (
        not will_be_active
        and diagnosis.status == DiagnosisStatus.ACTIVE
        and diagnosis.rank == DiagnosisRank.PRIMARY
        and others_active
    ):
        problems["status"] = (
            "This is the primary diagnosis: make another active diagnosis primary first."
        )
    if (
        will_be_active
        and diagnosis.status != DiagnosisStatus.ACTIVE
        and Diagnosis.objects.filter(
            patient=patient, code=diagnosis.code, status=DiagnosisStatus.ACTIVE
        ).exists()
    ):
        problems["status"] = f"{diagnosis.code} is already active in another entry."
    if status == DiagnosisStatus.ENTERED_IN_ERROR and not reason.strip():
        problems["reason"] = "Say why it was entered in error."
    onset = rules.past_date_problem(
        value=onset_on, label="onset date", date_of_birth=patient.date_of_birth, today=today
    )
    if onset:
        problems["onset_on"] = onset
    if problems:
        raise FieldProblems(problems)
    if not changed:
        return diagnosis
    if will_be_active and rank == DiagnosisRank.PRIMARY and other_primary is not None:
        _demote(other_primary, actor, access)
    diagnosis.rank = rank if will_be_active else diagnosis.rank
    diagnosis.status = status
    diagnosis.onset_on = onset_on
    if reason.strip():
        diagnosis.status_reason = reason.strip()
    diagnosis.version += 1
    diagnosis.full_clean(validate_constraints=False)
    diagnosis.save()
    audit_record(
        actor=actor,
        action=AuditAction.STATUS_CHANGE if "status" in changed else AuditAction.UPDATE,
        patient=patient,
        object_type="diagnosis",
        object_id=diagnosis.public_id,
        break_glass=access.via_break_glass,
        detail={"fields": changed, "status": diagnosis.status, "rank": diagnosis.rank},
    )
    return diagnosis


# --- Level-of-care table ----------------------------------------------------------


@transaction.atomic
def level_table_load_example(
    *,
    organization: Organization,
    actor: User | None = None,
    replace: bool = False,
    audit: bool = True,
) -> LevelOfCareTable:
    """Give an organization the EXAMPLE table (labelled as such). Does nothing when
    it already has a table, unless `replace` (then its cells become the example's).
    `audit=False` only for a caller that audits the whole load itself (demo_data)."""
    if actor is not None:
        _require(actor, Perm.ORG_MANAGE)
        if actor.org_id != organization.pk:
            raise ServiceError(ErrorCode.NOT_ALLOWED, "Not your organization.")
    table = LevelOfCareTable.objects.select_for_update().filter(organization=organization).first()
    if table is not None and not replace:
        return table
    if table is None:
        table = LevelOfCareTable.objects.create(organization=organization, updated_by=actor)
    else:
        table.cells.all().delete()  # configuration, not clinical data
        table.is_example = True
        table.version += 1
        table.updated_by = actor
        table.save()
    LevelOfCareTableCell.objects.bulk_create(
        LevelOfCareTableCell(table=table, dimension=d, rating=r, min_level=level)
        for d, row in rules.EXAMPLE_TABLE.items()
        for r, level in row.items()
    )
    if not audit:
        return table
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE if replace else AuditAction.CREATE,
        object_type="level_of_care_table",
        object_id=table.public_id,
        detail={"example": True},
    )
    return table


@transaction.atomic
def level_table_update(
    *,
    actor: User,
    cells: dict[tuple[int, int], str],
    is_example: bool,
    base_version: int,
) -> LevelOfCareTable:
    """Replace the organization's 30 cells. Refused if the table changed meanwhile."""
    _require(actor, Perm.ORG_MANAGE)
    table = (
        LevelOfCareTable.objects.select_for_update().filter(organization_id=actor.org_id).first()
    )
    if table is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "Load the example table first, then edit it.")
    current = {(c.dimension, c.rating): c for c in table.cells.all()}
    changed = sorted(k for k, v in cells.items() if k not in current or current[k].min_level != v)
    if table.version != base_version:
        raise VersionConflict("table", table.version, [f"d{d}_r{r}" for d, r in changed])
    problems = {
        f"d{d}_r{r}": "Choose a level."
        for d in rules.DIMENSIONS
        for r in rules.RATINGS
        if cells.get((d, r)) not in rules.TABLE_LEVELS
    }
    if problems:
        raise FieldProblems(problems)
    for key in changed:
        cell = current.get(key)
        if cell is None:
            LevelOfCareTableCell.objects.create(
                table=table, dimension=key[0], rating=key[1], min_level=cells[key]
            )
        else:
            cell.min_level = cells[key]
            cell.save(update_fields=["min_level"])
    example_before = table.is_example
    table.is_example = is_example
    table.version += 1
    table.updated_by = actor
    table.save()
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        object_type="level_of_care_table",
        object_id=table.public_id,
        detail={
            "cells_changed": len(changed),
            "example": is_example,
            "example_before": example_before,
        },
    )
    return table


# --- Level-of-care assessment -----------------------------------------------------


@dataclass(frozen=True)
class LevelOfCareInput:
    assessed_on: date
    ratings: dict[int, Any]
    rationales: dict[int, str]
    imminent_danger: bool
    chosen_level: str
    override_reason: str = ""
    override_note: str = ""


def loc_preview(
    *, patient: Patient, ratings: dict[int, int], imminent_danger: bool
) -> tuple[rules.Recommendation | None, bool, str]:
    """The recommendation the form would produce (for showing before saving):
    (recommendation or None, whether imminent danger came from an alert, problem)."""
    _, grid = selectors.level_table_for(organization_id=patient.organization_id)
    from_alert = selectors.high_suicide_risk_open(patient=patient)
    try:
        rec = rules.recommend_level(ratings, grid, imminent_danger or from_alert)
    except rules.IncompleteTable:
        return None, from_alert, "Your organization has no complete level-of-care table yet."
    except ValueError:
        return None, from_alert, ""
    return rec, from_alert, ""


@transaction.atomic
def loc_record(
    *,
    actor: User,
    access: PatientAccess,
    data: LevelOfCareInput,
    submission_token: UUID | None,
    today: date,
    now: datetime,
) -> LevelOfCareAssessment:
    """Record a six-dimension assessment with its recommendation, the level chosen
    (with a reason when it differs) and the medical-necessity statement."""
    _require(actor, Perm.ASSESSMENT_WRITE)
    earlier = _receipt(actor, submission_token, "level_of_care")
    if earlier is not None:
        return LevelOfCareAssessment.objects.get(public_id=earlier)
    patient = access.patient
    problems: dict[str, str] = {}
    for n in rules.DIMENSIONS:
        problem = rules.rating_problem(n, data.ratings.get(n))
        if problem:
            problems[f"d{n}_rating"] = problem
    ratings: dict[int, int] = {
        n: data.ratings[n] for n in rules.DIMENSIONS if f"d{n}_rating" not in problems
    }
    problems |= {
        f"d{n}_rationale": message
        for n, message in rules.rationale_problems(ratings, data.rationales).items()
    }
    when = rules.past_date_problem(
        value=data.assessed_on,
        label="assessment date",
        date_of_birth=patient.date_of_birth,
        today=today,
    )
    if when:
        problems["assessed_on"] = when
    table, grid = selectors.level_table_for(organization_id=patient.organization_id)
    from_alert = selectors.high_suicide_risk_open(patient=patient)
    imminent = data.imminent_danger or from_alert
    recommendation = None
    if len(ratings) == len(rules.DIMENSIONS):
        try:
            recommendation = rules.recommend_level(ratings, grid, imminent)
        except rules.IncompleteTable:
            raise ServiceError(
                ErrorCode.INVALID,
                "Your organization has no complete level-of-care table yet: a director "
                "loads or completes it in Settings, Level-of-care table.",
            ) from None
    if data.chosen_level not in {value for value, _ in PLACEMENT_CHOICES}:
        problems["chosen_level"] = "Choose the level of care the patient will receive."
    if data.override_reason and data.override_reason not in OverrideReason.values:
        problems["override_reason"] = "Choose a reason from the list."
    if recommendation is not None and "chosen_level" not in problems:
        problems |= rules.override_problems(
            recommended=recommendation.level,
            chosen=data.chosen_level,
            reason=data.override_reason,
            note=data.override_note,
        )
    if problems:
        raise FieldProblems(problems)
    assert recommendation is not None and table is not None
    differs = data.chosen_level != recommendation.level
    reason = data.override_reason if differs else ""
    note = data.override_note.strip() if differs else ""
    statement = rules.medical_necessity_statement(
        rules.NecessityFacts(
            assessed_on=data.assessed_on,
            ratings=ratings,
            recommendation=recommendation,
            chosen_level=data.chosen_level,
            imminent_danger_from_alert=from_alert,
            override_reason_label=OverrideReason(reason).label if reason else "",
            override_note=note,
            table_was_example=table.is_example,
        )
    )
    episode = _current_episode(patient)
    assessment = LevelOfCareAssessment(
        patient=patient,
        episode=episode,
        assessed_on=data.assessed_on,
        assessed_by=actor,
        imminent_danger=imminent,
        imminent_danger_from_alert=from_alert,
        minimum_levels={str(n): level for n, level in recommendation.minimum_levels.items()},
        driving_dimensions=list(recommendation.driving_dimensions),
        table_was_example=table.is_example,
        table_version=table.version,
        recommended_level=recommendation.level,
        chosen_level=data.chosen_level,
        override_reason=reason,
        override_note=note,
        medical_necessity=statement,
        **{f"d{n}_rating": ratings[n] for n in rules.DIMENSIONS},
        **{f"d{n}_rationale": data.rationales.get(n, "").strip() for n in rules.DIMENSIONS},
    )
    assessment.full_clean()
    assessment.save()
    _store_receipt(actor, submission_token, "level_of_care", assessment.public_id)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        patient=patient,
        object_type="level_of_care_assessment",
        object_id=assessment.public_id,
        break_glass=access.via_break_glass,
        detail={
            "recommended": assessment.recommended_level,
            "chosen": assessment.chosen_level,
            "override_reason": reason,
            "imminent_danger": imminent,
        },
    )
    return assessment


def _current_episode(patient: Patient) -> Episode | None:
    episodes = list(Episode.objects.filter(patient=patient).order_by("-referred_on", "-id"))
    return current_episode(episodes)


@transaction.atomic
def loc_mark_error(
    *, actor: User, access: PatientAccess, assessment_public_id: UUID, reason: str
) -> LevelOfCareAssessment:
    _require(actor, Perm.ASSESSMENT_WRITE)
    assessment = (
        LevelOfCareAssessment.objects.select_for_update()
        .filter(patient=access.patient, public_id=assessment_public_id)
        .first()
    )
    if assessment is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such assessment.")
    if assessment.status == LevelOfCareStatus.ENTERED_IN_ERROR:
        return assessment
    if not reason.strip():
        raise ServiceError(ErrorCode.INVALID, "Say why it was entered in error.", field="reason")
    assessment.status = LevelOfCareStatus.ENTERED_IN_ERROR
    assessment.status_reason = reason.strip()
    assessment.save(update_fields=["status", "status_reason", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.STATUS_CHANGE,
        patient=access.patient,
        object_type="level_of_care_assessment",
        object_id=assessment.public_id,
        break_glass=access.via_break_glass,
        detail={"to": assessment.status},
    )
    return assessment


# --- Eligibility ------------------------------------------------------------------


@dataclass(frozen=True)
class EligibilityRuleInput:
    min_age: int | None = None
    max_age: int | None = None
    prior_care_types: tuple[str, ...] = ()
    prior_care_must_be_completed: bool = False
    prior_care_within_days: int | None = None
    require_level_2_1_or_step_down: bool = False
    step_down_within_days: int = 30
    exclusions: str = ""


@transaction.atomic
def eligibility_rule_save(
    *, actor: User, program: Program, data: EligibilityRuleInput, base_version: int | None
) -> EligibilityRule:
    """Create or update a program's admission rules (refused on a concurrent edit)."""
    _require(actor, Perm.ORG_MANAGE)
    if program.site.organization_id != actor.org_id:
        raise ServiceError(ErrorCode.NOT_ALLOWED, "Not your organization's program.")
    rule = EligibilityRule.objects.select_for_update().filter(program=program).first()
    changed = [
        f.name
        for f in dataclasses.fields(EligibilityRuleInput)
        if rule is None or _rule_value(rule, f.name) != getattr(data, f.name)
    ]
    if rule is not None and rule.version != base_version:
        raise VersionConflict("rule", rule.version, changed)
    problems: dict[str, str] = {}
    if data.min_age is not None and data.max_age is not None and data.max_age < data.min_age:
        problems["max_age"] = "The maximum age is below the minimum age."
    if data.prior_care_within_days is not None and not data.prior_care_types:
        problems["prior_care_types"] = "Choose the prior care the time window applies to."
    if problems:
        raise FieldProblems(problems)
    if rule is None:
        rule = EligibilityRule(program=program)
    for name in (f.name for f in dataclasses.fields(EligibilityRuleInput)):
        value = getattr(data, name)
        setattr(rule, name, list(value) if name == "prior_care_types" else value)
    rule.version = (rule.version + 1) if rule.pk else 1
    rule.updated_by = actor
    rule.full_clean()
    rule.save()
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        object_type="eligibility_rule",
        object_id=rule.public_id,
        detail={"program": str(program.public_id), "fields": changed},
    )
    return rule


def _rule_value(rule: EligibilityRule, name: str) -> object:
    value = getattr(rule, name)
    return tuple(value) if name == "prior_care_types" else value


@transaction.atomic
def eligibility_check_record(
    *,
    actor: User,
    access: PatientAccess,
    program: Program,
    exclusion_answers: dict[str, str],
    submission_token: UUID | None,
    today: date,
) -> EligibilityCheck:
    """Evaluate a program's rules for a patient now and keep the result."""
    _require(actor, Perm.ASSESSMENT_WRITE)
    earlier = _receipt(actor, submission_token, "eligibility_check")
    if earlier is not None:
        return EligibilityCheck.objects.get(public_id=earlier)
    patient = access.patient
    if program.site.organization_id != patient.organization_id:
        raise ServiceError(ErrorCode.INVALID, "Unknown program.", field="program")
    rule = selectors.eligibility_rule_for(program=program)
    criteria = selectors.criteria_of(rule)
    answers = {
        str(i): exclusion_answers.get(str(i), "")
        for i in range(len(criteria.exclusions))
        if exclusion_answers.get(str(i), "") in {"present", "absent"}
    }
    facts = selectors.eligibility_facts(patient=patient, exclusion_answers=answers)
    results = rules.evaluate_eligibility(criteria, facts, today)
    check = EligibilityCheck.objects.create(
        patient=patient,
        program=program,
        checked_by=actor,
        checked_on=today,
        results=[dataclasses.asdict(r) for r in results],
        exclusion_answers=answers,
        overall=rules.eligibility_overall(results),
    )
    _store_receipt(actor, submission_token, "eligibility_check", check.public_id)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        patient=patient,
        object_type="eligibility_check",
        object_id=check.public_id,
        break_glass=access.via_break_glass,
        detail={"program": str(program.public_id), "overall": check.overall},
    )
    return check
