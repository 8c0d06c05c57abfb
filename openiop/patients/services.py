"""Writes to the patient registry. Each runs in one transaction with its audit rows."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models.functions import Lower

from openiop.accounts.models import User
from openiop.accounts.roles import Perm
from openiop.audit.models import AuditAction
from openiop.audit.services import audit_record
from openiop.core.errors import ErrorCode, ServiceError
from openiop.core.models import SubmissionReceipt
from openiop.episodes.models import EpisodeStatus
from openiop.organizations.models import Payer, Program
from openiop.patients.models import (
    Coverage,
    CoverageStatus,
    EmergencyContact,
    MrnSequence,
    Patient,
)
from openiop.patients.rules import mrn_format, phone_digits
from openiop.patients.selectors import PatientAccess


@dataclass(frozen=True)
class Demographics:
    legal_given_name: str
    legal_family_name: str
    date_of_birth: date
    sex_at_birth: str
    legal_middle_name: str = ""
    preferred_name: str = ""
    pronouns: str = ""
    gender_identity: str = ""
    phone: str = ""
    email: str = ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    preferred_language: str = "English"


@dataclass(frozen=True)
class ContactInput:
    name: str
    relationship: str
    phone: str


class DuplicateSuspected(ServiceError):
    def __init__(self, matches: list[Patient], visible_ids: set[int]) -> None:
        super().__init__(
            ErrorCode.DUPLICATE_SUSPECTED,
            "A patient with the same name and date of birth is already registered.",
        )
        self.matches = matches
        self.visible_ids = visible_ids


def _require(actor: User, perm: Perm) -> None:
    if not actor.has_perm_code(perm):
        raise ServiceError(ErrorCode.NOT_ALLOWED, "Your role does not allow this.")


def patient_find_duplicates(*, actor: User, data: Demographics) -> list[Patient]:
    return list(
        Patient.objects.annotate(
            given_lower=Lower("legal_given_name"), family_lower=Lower("legal_family_name")
        ).filter(
            organization_id=actor.org_id,
            given_lower=data.legal_given_name.strip().lower(),
            family_lower=data.legal_family_name.strip().lower(),
            date_of_birth=data.date_of_birth,
            status="active",
        )
    )


def _next_mrn(organization_id: int, prefix: str) -> str:
    sequence, _ = MrnSequence.objects.select_for_update().get_or_create(
        organization_id=organization_id
    )
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return mrn_format(sequence.last_number, prefix)


@transaction.atomic
def patient_register(
    *,
    actor: User,
    data: Demographics,
    program: Program,
    initial_status: str,
    submission_token: UUID,
    confirmed_not_duplicate: bool,
    today: date,
    now: datetime,
    contact: ContactInput | None = None,
) -> Patient:
    """Register a patient with a first episode (referred or screening) in a program."""
    _require(actor, Perm.PATIENT_REGISTER)
    # One person's submissions run one at a time, so a double submit waits for the first
    # and then finds its receipt (on PostgreSQL both would otherwise miss it, and the
    # second would fail on the receipt's unique token with a server error).
    User.objects.select_for_update().filter(pk=actor.pk).first()
    receipt = SubmissionReceipt.objects.filter(token=submission_token, actor=actor).first()
    if receipt is not None:
        return Patient.objects.get(public_id=receipt.object_public_id)
    if not program.memberships.filter(user=actor).exists():
        raise ServiceError(
            ErrorCode.NOT_ALLOWED,
            "You can only register patients into your own programs.",
            field="program",
        )
    if initial_status not in {EpisodeStatus.REFERRED, EpisodeStatus.SCREENING}:
        raise ServiceError(
            ErrorCode.INVALID, "Start as referred or screening.", field="initial_status"
        )
    if data.date_of_birth > today:
        raise ServiceError(
            ErrorCode.INVALID, "Date of birth cannot be in the future.", field="date_of_birth"
        )
    if not confirmed_not_duplicate:
        matches = patient_find_duplicates(actor=actor, data=data)
        if matches:
            from openiop.patients.selectors import patient_visible_qs

            visible = set(
                patient_visible_qs(actor=actor, now=now)
                .filter(pk__in=[m.pk for m in matches])
                .values_list("pk", flat=True)
            )
            raise DuplicateSuspected(matches, visible)
    organization = program.site.organization
    patient = Patient(
        organization=organization,
        mrn=_next_mrn(organization.pk, organization.mrn_prefix),
        phone_digits=phone_digits(data.phone),
        **dataclasses.asdict(data),
    )
    patient.full_clean()
    patient.save()
    from openiop.episodes.services import episode_open

    episode_open(
        actor=actor,
        patient=patient,
        program=program,
        status=initial_status,
        level_of_care=program.level_of_care,
        referred_on=today,
        now=now,
    )
    if contact is not None:
        EmergencyContact.objects.create(patient=patient, **dataclasses.asdict(contact))
    SubmissionReceipt.objects.create(
        token=submission_token, actor=actor, kind="patient", object_public_id=patient.public_id
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        patient=patient,
        object_type="patient",
        object_id=patient.public_id,
        detail={
            "program": str(program.public_id),
            "confirmed_not_duplicate": confirmed_not_duplicate,
        },
    )
    return patient


class VersionConflict(ServiceError):
    def __init__(self, current: Patient, changed_fields: list[str]) -> None:
        super().__init__(
            ErrorCode.CONFLICT,
            "Someone else saved this patient while you were editing. Your entries are kept "
            "below; the fields marked differ from what is now saved. Check them, then save again.",
        )
        self.current = current
        self.changed_fields = changed_fields


@transaction.atomic
def patient_update(
    *, actor: User, access: PatientAccess, data: Demographics, base_version: int
) -> Patient:
    """Update demographics; refused with the other person's changes if the record
    changed since `base_version` was read (no silent overwrite)."""
    _require(actor, Perm.PATIENT_EDIT)
    patient = Patient.objects.select_for_update().get(pk=access.patient.pk)
    if patient.version != base_version:
        current = _demographics_of(patient)
        changed = [
            f.name
            for f in dataclasses.fields(Demographics)
            if getattr(current, f.name) != getattr(data, f.name)
        ]
        raise VersionConflict(patient, changed)
    before = _demographics_of(patient)
    changed_fields = [
        f.name
        for f in dataclasses.fields(Demographics)
        if getattr(before, f.name) != getattr(data, f.name)
    ]
    for name in changed_fields:
        setattr(patient, name, getattr(data, name))
    patient.phone_digits = phone_digits(patient.phone)
    patient.version += 1
    patient.full_clean()
    patient.save()
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        patient=patient,
        object_type="patient",
        object_id=patient.public_id,
        break_glass=access.via_break_glass,
        detail={"fields": changed_fields},
    )
    return patient


def _demographics_of(patient: Patient) -> Demographics:
    values: dict[str, Any] = {
        f.name: getattr(patient, f.name) for f in dataclasses.fields(Demographics)
    }
    return Demographics(**values)


def demographics_of(patient: Patient) -> Demographics:
    return _demographics_of(patient)


@transaction.atomic
def contact_add(*, actor: User, access: PatientAccess, data: ContactInput) -> EmergencyContact:
    _require(actor, Perm.PATIENT_EDIT)
    contact = EmergencyContact(patient=access.patient, **dataclasses.asdict(data))
    contact.full_clean()
    contact.save()
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        patient=access.patient,
        object_type="emergency_contact",
        object_id=contact.public_id,
        break_glass=access.via_break_glass,
    )
    return contact


@transaction.atomic
def contact_deactivate(*, actor: User, access: PatientAccess, contact_public_id: UUID) -> None:
    _require(actor, Perm.PATIENT_EDIT)
    contact = (
        EmergencyContact.objects.select_for_update()
        .filter(patient=access.patient, public_id=contact_public_id)
        .first()
    )
    if contact is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such contact.")
    contact.is_active = False
    contact.save(update_fields=["is_active", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.STATUS_CHANGE,
        patient=access.patient,
        object_type="emergency_contact",
        object_id=contact.public_id,
        break_glass=access.via_break_glass,
        detail={"is_active": False},
    )


@dataclass(frozen=True)
class CoverageInput:
    payer: Payer | None
    plan_type: str
    member_id: str
    group_number: str
    subscriber_name: str
    relationship_to_subscriber: str
    effective_start: date
    effective_end: date | None
    priority: int


@transaction.atomic
def coverage_add(*, actor: User, access: PatientAccess, data: CoverageInput) -> Coverage:
    _require(actor, Perm.COVERAGE_EDIT)
    if data.payer is not None and data.payer.organization_id != access.patient.organization_id:
        raise ServiceError(ErrorCode.INVALID, "Unknown payer.", field="payer")
    if data.plan_type != "self_pay" and data.payer is None:
        raise ServiceError(
            ErrorCode.INVALID, "Choose the payer (or plan type self-pay).", field="payer"
        )
    if data.plan_type != "self_pay" and not data.member_id.strip():
        raise ServiceError(
            ErrorCode.INVALID, "Enter the member id from the insurance card.", field="member_id"
        )
    if data.effective_end and data.effective_end < data.effective_start:
        raise ServiceError(
            ErrorCode.INVALID, "The end date is before the start date.", field="effective_end"
        )
    coverage = Coverage(patient=access.patient, **dataclasses.asdict(data) | {"payer": data.payer})
    coverage.full_clean()
    coverage.save()
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        patient=access.patient,
        object_type="coverage",
        object_id=coverage.public_id,
        break_glass=access.via_break_glass,
    )
    return coverage


@transaction.atomic
def coverage_set_status(
    *, actor: User, access: PatientAccess, coverage_public_id: UUID, status: str, today: date
) -> Coverage:
    _require(actor, Perm.COVERAGE_EDIT)
    coverage = (
        Coverage.objects.select_for_update()
        .filter(patient=access.patient, public_id=coverage_public_id)
        .first()
    )
    if coverage is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such coverage.")
    if status not in {CoverageStatus.ENDED, CoverageStatus.ENTERED_IN_ERROR}:
        raise ServiceError(ErrorCode.INVALID, "Unknown status.")
    before = coverage.status
    coverage.status = status
    if status == CoverageStatus.ENDED and coverage.effective_end is None:
        coverage.effective_end = max(today, coverage.effective_start)
    coverage.save(update_fields=["status", "effective_end", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.STATUS_CHANGE,
        patient=access.patient,
        object_type="coverage",
        object_id=coverage.public_id,
        break_glass=access.via_break_glass,
        detail={"from": before, "to": status},
    )
    return coverage
