"""Writes of intake: referrals and their pipeline, contact attempts, registration of a
referral as a patient, observation visits and admission. Each runs in one transaction
with its audit rows."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, time
from uuid import UUID

from django.db import transaction

from openiop.accounts.models import ProgramMembership, User
from openiop.accounts.roles import Perm
from openiop.audit.models import AuditAction
from openiop.audit.services import audit_record
from openiop.core.errors import ErrorCode, ServiceError
from openiop.core.models import SubmissionReceipt
from openiop.episodes.models import Episode
from openiop.intake import rules
from openiop.intake.models import (
    Admission,
    ObservationStatus,
    ObservationVisit,
    Referral,
    ReferralContactAttempt,
    ReferralEvent,
)
from openiop.intake.selectors import referral_visible_qs
from openiop.organizations.models import LevelOfCare, Program
from openiop.patients.models import Patient
from openiop.patients.rules import phone_digits
from openiop.patients.selectors import PatientAccess
from openiop.patients.services import ContactInput, Demographics


def _require(actor: User, perm: Perm) -> None:
    if not actor.has_perm_code(perm):
        raise ServiceError(ErrorCode.NOT_ALLOWED, "Your role does not allow this.")


def _is_member(actor: User, program: Program) -> bool:
    return ProgramMembership.objects.filter(user=actor, program=program).exists()


def _receipt(actor: User, token: UUID) -> SubmissionReceipt | None:
    # One person's submissions run one at a time, so a double submit waits for the first
    # and then finds its receipt (as patients.services.patient_register does).
    User.objects.select_for_update().filter(pk=actor.pk).first()
    return SubmissionReceipt.objects.filter(token=token, actor=actor).first()


def _locked(actor: User, referral: Referral) -> Referral:
    """The referral row locked for a change, checked again against the actor's scope
    (the view fetched it with the audited referral_get_for_user)."""
    locked = (
        referral_visible_qs(actor=actor)
        .select_for_update(of=("self",))
        .select_related("program__site", "patient", "episode")
        .filter(pk=referral.pk)
        .first()
    )
    if locked is None:
        raise ServiceError(ErrorCode.NOT_ALLOWED, "You cannot change this referral.")
    return locked


# --- Referrals ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferralInput:
    program: Program | None
    source_type: str
    referring_organization: str
    referrer_name: str
    referrer_phone: str
    reason: str
    urgency: str
    given_name: str
    family_name: str
    date_of_birth: date | None
    phone: str
    email: str
    preferred_contact_method: str
    insurance_payer_name: str
    insurance_member_id: str
    insurance_notes: str
    schedule_preference: str
    schedule_notes: str
    received_at: datetime


_DETAIL_FIELDS = [f.name for f in dataclasses.fields(ReferralInput) if f.name != "program"]


def _check_referral(actor: User, data: ReferralInput, today: date, now: datetime) -> None:
    if data.program is not None and (
        data.program.site.organization_id != actor.org_id or not _is_member(actor, data.program)
    ):
        raise ServiceError(
            ErrorCode.NOT_ALLOWED,
            "Choose one of your own programs, or leave the referral in the intake pool.",
            field="program",
        )
    problems = rules.referral_problems(
        date_of_birth=data.date_of_birth,
        received_at=data.received_at,
        phone_digits=phone_digits(data.phone),
        email=data.email,
        referrer_phone_digits=phone_digits(data.referrer_phone),
        today=today,
        now=now,
    )
    if problems:
        name, message = next(iter(problems.items()))
        raise ServiceError(ErrorCode.INVALID, message, field=name)


@transaction.atomic
def referral_create(
    *, actor: User, data: ReferralInput, submission_token: UUID, today: date, now: datetime
) -> Referral:
    """Record a referral (or self-referral); it starts in stage "new"."""
    _require(actor, Perm.REFERRAL_MANAGE)
    receipt = _receipt(actor, submission_token)
    if receipt is not None:
        return Referral.objects.get(public_id=receipt.object_public_id)
    _check_referral(actor, data, today, now)
    referral = Referral(
        organization_id=actor.org_id,
        stage="new",
        stage_changed_at=now,
        created_by=actor,
        **dataclasses.asdict(data) | {"program": data.program},
    )
    referral.full_clean()
    referral.save()
    ReferralEvent.objects.create(
        referral=referral,
        kind=ReferralEvent.Kind.CREATED,
        to_stage="new",
        changed_by=actor,
        changed_at=now,
    )
    SubmissionReceipt.objects.create(
        token=submission_token, actor=actor, kind="referral", object_public_id=referral.public_id
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        object_type="referral",
        object_id=referral.public_id,
        detail={
            "program": str(data.program.public_id) if data.program else "pool",
            "source_type": data.source_type,
            "urgency": data.urgency,
        },
    )
    return referral


class ReferralConflict(ServiceError):
    def __init__(self, current: Referral, changed_fields: list[str]) -> None:
        super().__init__(
            ErrorCode.CONFLICT,
            "Someone else saved this referral while you were editing. Your entries are kept "
            "below; the fields listed differ from what is now saved. Check them, then save again.",
        )
        self.current = current
        self.changed_fields = changed_fields


def referral_input_of(referral: Referral) -> ReferralInput:
    values = {name: getattr(referral, name) for name in _DETAIL_FIELDS}
    return ReferralInput(program=referral.program, **values)


@transaction.atomic
def referral_update(
    *,
    actor: User,
    referral: Referral,
    data: ReferralInput,
    base_version: int,
    today: date,
    now: datetime,
) -> Referral:
    """Edit a referral's details; refused if it changed since `base_version` was read."""
    _require(actor, Perm.REFERRAL_MANAGE)
    referral = _locked(actor, referral)
    before = referral_input_of(referral)
    if referral.version != base_version:
        changed = [
            f.name
            for f in dataclasses.fields(ReferralInput)
            if getattr(before, f.name) != getattr(data, f.name)
        ]
        raise ReferralConflict(referral, changed)
    _check_referral(actor, data, today, now)
    if data.program is None and referral.program_id is not None and referral.patient_id:
        raise ServiceError(
            ErrorCode.INVALID,
            "A registered referral stays in its program.",
            field="program",
        )
    changed = [
        f.name
        for f in dataclasses.fields(ReferralInput)
        if getattr(before, f.name) != getattr(data, f.name)
    ]
    if not changed:
        return referral
    for name in changed:
        setattr(referral, name, getattr(data, name))
    referral.version += 1
    referral.full_clean()
    referral.save()
    ReferralEvent.objects.create(
        referral=referral,
        kind=ReferralEvent.Kind.UPDATED,
        reason=", ".join(changed),
        changed_by=actor,
        changed_at=now,
    )
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        patient=referral.patient,
        object_type="referral",
        object_id=referral.public_id,
        detail={"fields": changed},
    )
    return referral


def _move(
    actor: User,
    referral: Referral,
    to_stage: str,
    reason: str,
    now: datetime,
    *,
    by_admission: bool = False,
) -> None:
    """Apply a stage move already checked by the caller (row locked), with its history
    row and audit row."""
    from_stage = referral.stage
    referral.stage = to_stage
    referral.stage_changed_at = now
    referral.version += 1
    referral.save(update_fields=["stage", "stage_changed_at", "version", "updated_at"])
    ReferralEvent.objects.create(
        referral=referral,
        kind=ReferralEvent.Kind.STAGE,
        from_stage=from_stage,
        to_stage=to_stage,
        reason=reason.strip(),
        changed_by=actor,
        changed_at=now,
    )
    audit_record(
        actor=actor,
        action=AuditAction.STATUS_CHANGE,
        patient=referral.patient,
        object_type="referral",
        object_id=referral.public_id,
        detail={"from": from_stage, "to": to_stage, "by_admission": by_admission},
    )


@transaction.atomic
def referral_move(
    *,
    actor: User,
    referral: Referral,
    to_stage: str,
    reason: str,
    base_version: int,
    now: datetime,
) -> Referral:
    """Move a referral to another stage of the pipeline (who and when are recorded)."""
    _require(actor, Perm.REFERRAL_MANAGE)
    referral = _locked(actor, referral)
    if referral.version != base_version:
        raise ServiceError(
            ErrorCode.CONFLICT,
            "Someone else changed this referral while you were looking at it; it is now "
            f"in {rules.STAGE_LABELS[referral.stage]}. Check it, then move it again.",
            field="to_stage",
        )
    problem = rules.stage_move_problem(from_stage=referral.stage, to_stage=to_stage, reason=reason)
    if problem:
        raise ServiceError(
            ErrorCode.TRANSITION_NOT_ALLOWED,
            problem,
            field="reason" if "reason" in problem else "to_stage",
        )
    _move(actor, referral, to_stage, reason, now)
    return referral


@dataclass(frozen=True)
class ContactAttemptInput:
    attempted_at: datetime
    method: str
    outcome: str
    note: str


@dataclass(frozen=True)
class ContactLogged:
    attempt: ReferralContactAttempt
    failed_in_a_row: int
    suggest_unable_to_reach: bool


@transaction.atomic
def referral_contact_log(
    *,
    actor: User,
    referral: Referral,
    data: ContactAttemptInput,
    submission_token: UUID,
    now: datetime,
) -> ContactLogged:
    """Log one attempt to reach the person, and say whether it is time to suggest
    "unable to reach". A first successful contact moves a new referral to contacted."""
    _require(actor, Perm.REFERRAL_MANAGE)
    referral = _locked(actor, referral)
    receipt = _receipt(actor, submission_token)
    if receipt is not None:
        attempt = ReferralContactAttempt.objects.get(public_id=receipt.object_public_id)
    else:
        problem = rules.contact_attempt_problem(
            attempted_at=data.attempted_at, received_at=referral.received_at, now=now
        )
        if problem:
            raise ServiceError(ErrorCode.INVALID, problem, field="attempted_at")
        attempt = ReferralContactAttempt(
            referral=referral, made_by=actor, **dataclasses.asdict(data)
        )
        attempt.full_clean()
        attempt.save()
        SubmissionReceipt.objects.create(
            token=submission_token,
            actor=actor,
            kind="referral_contact_attempt",
            object_public_id=attempt.public_id,
        )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            patient=referral.patient,
            object_type="referral_contact_attempt",
            object_id=attempt.public_id,
            detail={"referral": str(referral.public_id), "outcome": data.outcome},
        )
        if data.outcome == "reached" and referral.stage == "new":
            _move(actor, referral, "contacted", "Reached by " + attempt.get_method_display(), now)
    outcomes = list(
        referral.contact_attempts.order_by("attempted_at", "id").values_list("outcome", flat=True)
    )
    return ContactLogged(
        attempt=attempt,
        failed_in_a_row=rules.failed_attempts_in_a_row(outcomes),
        suggest_unable_to_reach=rules.suggest_unable_to_reach(
            stage=referral.stage, outcomes_oldest_first=outcomes
        ),
    )


@transaction.atomic
def referral_convert(
    *,
    actor: User,
    referral: Referral,
    data: Demographics,
    program: Program,
    initial_status: str,
    submission_token: UUID,
    confirmed_not_duplicate: bool,
    today: date,
    now: datetime,
    contact: ContactInput | None = None,
) -> Patient:
    """Register a referral's person as a patient (with the registry's duplicate check)
    with an episode in the chosen program, link the referral to both, and move the
    referral forward to match the episode."""
    from openiop.patients.services import patient_register

    _require(actor, Perm.REFERRAL_MANAGE)
    referral = _locked(actor, referral)
    receipt = SubmissionReceipt.objects.filter(token=submission_token, actor=actor).first()
    if receipt is not None and referral.patient is not None:
        return referral.patient
    problem = rules.conversion_problem(
        stage=referral.stage, already_linked=referral.patient_id is not None
    )
    if problem:
        raise ServiceError(ErrorCode.INVALID, problem)
    patient = patient_register(
        actor=actor,
        data=data,
        program=program,
        initial_status=initial_status,
        submission_token=submission_token,
        confirmed_not_duplicate=confirmed_not_duplicate,
        today=today,
        now=now,
        contact=contact,
    )
    episode = Episode.objects.filter(patient=patient, program=program).order_by("-id").first()
    assert episode is not None  # patient_register opened it
    from_program = referral.program
    referral.patient = patient
    referral.episode = episode
    referral.program = program
    referral.version += 1
    referral.save(update_fields=["patient", "episode", "program", "version", "updated_at"])
    ReferralEvent.objects.create(
        referral=referral,
        kind=ReferralEvent.Kind.LINKED,
        reason=f"MRN {patient.mrn}",
        changed_by=actor,
        changed_at=now,
    )
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        patient=patient,
        object_type="referral",
        object_id=referral.public_id,
        detail={
            "linked_patient": str(patient.public_id),
            "episode": str(episode.public_id),
            "program_from": str(from_program.public_id) if from_program else "pool",
            "program_to": str(program.public_id),
        },
    )
    to_stage = rules.stage_after_conversion(stage=referral.stage, episode_status=episode.status)
    if to_stage != referral.stage:
        _move(actor, referral, to_stage, "Registered as a patient", now)
    return patient


# --- Observation visits ------------------------------------------------------------------


@dataclass(frozen=True)
class ObservationInput:
    visit_date: date
    visit_time: time | None
    session_description: str
    facilitator: User | None
    outcome: str
    note: str


def _check_facilitator(actor: User, program: Program | None, facilitator: User | None) -> None:
    if facilitator is None:
        return
    ok = facilitator.organization_id == actor.org_id and (
        program is None
        or ProgramMembership.objects.filter(user=facilitator, program=program).exists()
    )
    if not ok:
        raise ServiceError(
            ErrorCode.INVALID, "Choose a staff member of this program.", field="facilitator"
        )


def _observation_save(
    actor: User,
    visit: ObservationVisit,
    submission_token: UUID,
    patient: Patient | None,
    break_glass: bool = False,
) -> ObservationVisit:
    visit.full_clean()
    visit.save()
    SubmissionReceipt.objects.create(
        token=submission_token,
        actor=actor,
        kind="observation_visit",
        object_public_id=visit.public_id,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        patient=patient,
        object_type="observation_visit",
        object_id=visit.public_id,
        break_glass=break_glass,
        detail={
            "referral": str(visit.referral.public_id) if visit.referral else "",
            "outcome": visit.outcome,
        },
    )
    return visit


@transaction.atomic
def observation_record_for_referral(
    *,
    actor: User,
    referral: Referral,
    data: ObservationInput,
    submission_token: UUID,
    today: date,
    now: datetime,
) -> ObservationVisit:
    """Record that a person on an open referral sat in on a group (not attendance)."""
    _require(actor, Perm.ADMIT)
    referral = _locked(actor, referral)
    receipt = _receipt(actor, submission_token)
    if receipt is not None:
        return ObservationVisit.objects.get(public_id=receipt.object_public_id)
    problem = rules.observation_problem(
        visit_date=data.visit_date, today=today, referral_stage=referral.stage, episode_status=None
    )
    if problem:
        raise ServiceError(
            ErrorCode.INVALID, problem, field="visit_date" if "day" in problem else None
        )
    _check_facilitator(actor, referral.program, data.facilitator)
    visit = ObservationVisit(
        organization_id=referral.organization_id,
        referral=referral,
        patient=referral.patient,
        episode=referral.episode,
        recorded_by=actor,
        recorded_at=now,
        **dataclasses.asdict(data) | {"facilitator": data.facilitator},
    )
    return _observation_save(actor, visit, submission_token, referral.patient)


@transaction.atomic
def observation_record_for_patient(
    *,
    actor: User,
    access: PatientAccess,
    episode_public_id: UUID,
    data: ObservationInput,
    submission_token: UUID,
    today: date,
    now: datetime,
) -> ObservationVisit:
    """Record that a patient not yet admitted sat in on a group (not attendance)."""
    _require(actor, Perm.ADMIT)
    episode = (
        Episode.objects.select_for_update()
        .select_related("program__site")
        .filter(patient=access.patient, public_id=episode_public_id)
        .first()
    )
    if episode is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such episode.")
    if not _is_member(actor, episode.program):
        raise ServiceError(
            ErrorCode.NOT_ALLOWED, "You can only record visits in your own programs."
        )
    receipt = _receipt(actor, submission_token)
    if receipt is not None:
        return ObservationVisit.objects.get(public_id=receipt.object_public_id)
    problem = rules.observation_problem(
        visit_date=data.visit_date, today=today, referral_stage=None, episode_status=episode.status
    )
    if problem:
        raise ServiceError(
            ErrorCode.INVALID, problem, field="visit_date" if "day" in problem else None
        )
    _check_facilitator(actor, episode.program, data.facilitator)
    referral = Referral.objects.filter(episode=episode).first()
    visit = ObservationVisit(
        organization_id=access.patient.organization_id,
        referral=referral,
        patient=access.patient,
        episode=episode,
        recorded_by=actor,
        recorded_at=now,
        **dataclasses.asdict(data) | {"facilitator": data.facilitator},
    )
    return _observation_save(
        actor, visit, submission_token, access.patient, break_glass=access.via_break_glass
    )


@transaction.atomic
def observation_mark_entered_in_error(
    *, actor: User, visit: ObservationVisit, reason: str, now: datetime
) -> ObservationVisit:
    """Mark a visit recorded by mistake (kept, never deleted). The caller has checked
    the actor may see the visit's referral or patient."""
    _require(actor, Perm.ADMIT)
    locked = ObservationVisit.objects.select_for_update().get(pk=visit.pk)
    if locked.status == ObservationStatus.ENTERED_IN_ERROR:
        return locked
    if not reason.strip():
        raise ServiceError(ErrorCode.INVALID, "Say why this visit is in error.", field="reason")
    locked.status = ObservationStatus.ENTERED_IN_ERROR
    locked.note = (locked.note + f"\n[Entered in error: {reason.strip()}]").strip()
    locked.save(update_fields=["status", "note", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.STATUS_CHANGE,
        patient=locked.patient,
        object_type="observation_visit",
        object_id=locked.public_id,
        detail={"to": ObservationStatus.ENTERED_IN_ERROR},
    )
    return locked


# --- Admission ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AdmissionInput:
    start_date: date
    level_of_care: str
    track: str
    expected_weeks: int
    primary_counselor: User | None
    prescriber: User | None
    case_manager: User | None
    schedule_preference: str


class AdmissionRefused(ServiceError):
    """Admission refused because required consents are missing (named in the message)."""

    def __init__(self, missing: list[str], on: date) -> None:
        super().__init__(
            ErrorCode.NOT_ALLOWED,
            "Admission refused: these required consents are missing or not in effect on "
            f"{on:%Y-%m-%d}: {', '.join(missing)}. Record them (Consents, on the chart), "
            "then admit again.",
        )
        self.missing = missing


def assessed_level_of_care(*, patient: Patient) -> str | None:
    """The level chosen in the patient's latest level-of-care assessment, when the
    assessments capability provides one (openiop.assessments.selectors.loc_latest)."""
    try:
        from openiop.assessments import selectors as assessments
    except ImportError:
        return None
    loc_latest = getattr(assessments, "loc_latest", None)
    if loc_latest is None:
        return None
    latest = loc_latest(patient=patient)
    if latest is None:
        return None
    for name in ("chosen_level", "level_chosen", "level_of_care", "recommended_level", "level"):
        value = getattr(latest, name, None)
        if isinstance(value, str) and value:
            return value
    return None


def _missing_consents(patient: Patient, program: Program, on: date) -> list[str]:
    from openiop.consents.selectors import consents_missing_for_admission

    return list(consents_missing_for_admission(patient=patient, program=program, on=on))


@transaction.atomic
def episode_admit(
    *,
    actor: User,
    access: PatientAccess,
    episode_public_id: UUID,
    data: AdmissionInput,
    base_version: int,
    submission_token: UUID,
    today: date,
    now: datetime,
) -> Admission:
    """Admit: the episode becomes active at the chosen level with its care team, the
    admission details are stored, and the referral it came from moves to admitted.
    Refused, naming them, when required consents are missing on the start date."""
    from openiop.episodes.services import (
        episode_change_level,
        episode_change_status,
        episode_set_care_team,
    )

    _require(actor, Perm.ADMIT)
    episode = (
        Episode.objects.select_for_update()
        .select_related("program")
        .filter(patient=access.patient, public_id=episode_public_id)
        .first()
    )
    if episode is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such episode.")
    if not _is_member(actor, episode.program):
        raise ServiceError(ErrorCode.NOT_ALLOWED, "You can only admit into your own programs.")
    receipt = _receipt(actor, submission_token)
    if receipt is not None:
        return Admission.objects.get(public_id=receipt.object_public_id)
    if episode.version != base_version:
        raise ServiceError(
            ErrorCode.CONFLICT,
            "Someone else changed this episode while you were filling in the admission. "
            "Check the chart, then admit again.",
        )
    problems = rules.admission_problems(
        episode_status=episode.status,
        start_date=data.start_date,
        referred_on=episode.referred_on,
        expected_weeks=data.expected_weeks,
        today=today,
    )
    if problems:
        name, message = next(iter(problems.items()))
        raise ServiceError(ErrorCode.INVALID, message, field=name or None)
    if data.level_of_care not in LevelOfCare.values:
        raise ServiceError(ErrorCode.INVALID, "Choose a level of care.", field="level_of_care")
    member_ids = set(
        ProgramMembership.objects.filter(program=episode.program).values_list("user_id", flat=True)
    )
    for name in ("primary_counselor", "prescriber", "case_manager"):
        person = getattr(data, name)
        if person is not None and person.pk not in member_ids:
            raise ServiceError(
                ErrorCode.INVALID, "Choose a staff member of this episode's program.", field=name
            )
    missing = _missing_consents(access.patient, episode.program, data.start_date)
    if missing:
        raise AdmissionRefused(missing, data.start_date)

    episode = episode_change_status(
        actor=actor,
        access=access,
        episode_public_id=episode.public_id,
        to_status="active",
        effective_on=data.start_date,
        reason="Admitted",
        base_version=episode.version,
        now=now,
    )
    if data.level_of_care != episode.level_of_care:
        episode = episode_change_level(
            actor=actor,
            access=access,
            episode_public_id=episode.public_id,
            to_level=data.level_of_care,
            effective_on=data.start_date,
            reason="Level of care chosen at admission",
            base_version=episode.version,
            now=now,
        )
    episode = episode_set_care_team(
        actor=actor,
        access=access,
        episode_public_id=episode.public_id,
        primary_counselor=data.primary_counselor,
        prescriber=data.prescriber,
        case_manager=data.case_manager,
        base_version=episode.version,
        today=today,
        now=now,
    )
    from openiop.intake.selectors import referral_for_episode

    referral = referral_for_episode(episode=episode)
    admission = Admission(
        episode=episode,
        referral=referral,
        start_date=data.start_date,
        level_of_care=data.level_of_care,
        track=data.track.strip(),
        expected_weeks=data.expected_weeks,
        schedule_preference=data.schedule_preference,
        admitted_by=actor,
        admitted_at=now,
    )
    admission.full_clean()
    admission.save()
    SubmissionReceipt.objects.create(
        token=submission_token, actor=actor, kind="admission", object_public_id=admission.public_id
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        patient=access.patient,
        object_type="admission",
        object_id=admission.public_id,
        break_glass=access.via_break_glass,
        detail={
            "episode": str(episode.public_id),
            "level_of_care": data.level_of_care,
            "expected_weeks": data.expected_weeks,
            "schedule_preference": data.schedule_preference,
        },
    )
    if referral is not None:
        locked = Referral.objects.select_for_update().get(pk=referral.pk)
        if locked.episode_id is None:
            locked.episode = episode
            locked.save(update_fields=["episode", "updated_at"])
        if (
            rules.stage_move_problem(
                from_stage=locked.stage, to_stage="admitted", reason="", by_admission=True
            )
            is None
        ):
            _move(actor, locked, "admitted", "Admitted", now, by_admission=True)
    return admission
