"""Giving instruments, raising suicide-risk alerts, risk responses and safety plans.

Every write runs in one transaction with its audit row. A suicide-risk result raises
its alert (task for the primary clinician, notifications for the program directors)
in the same transaction as the score, so there is never a stored positive screen
without its alert.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db import transaction

from openiop.accounts.models import ProgramMembership, User
from openiop.accounts.roles import Perm
from openiop.alerts.models import Alert, AlertKind, AlertStatus
from openiop.alerts.services import alert_raise, alert_resolve
from openiop.audit.models import AuditAction
from openiop.audit.services import audit_record
from openiop.core.errors import ErrorCode, ServiceError
from openiop.core.models import SubmissionReceipt
from openiop.episodes.models import Episode, EpisodeStatus
from openiop.instruments import (
    InstrumentError,
    ScoreResult,
    check_answers,
    get_definition,
    score,
    validate_partial,
)
from openiop.instruments.schema import AnswerValue
from openiop.patients.models import Patient
from openiop.patients.selectors import PatientAccess
from openiop.screening import rules
from openiop.screening.models import (
    AdministrationStatus,
    InstrumentAdministration,
    RiskResponse,
    SafetyPlan,
    SafetyPlanStatus,
)
from openiop.screening.selectors import ADMINISTRATION_SOURCE, administration_for_alert

OPEN_EPISODE = [EpisodeStatus.REFERRED, EpisodeStatus.SCREENING, EpisodeStatus.ACTIVE]


def _require(actor: User, perm: Perm) -> None:
    if not actor.has_perm_code(perm):
        raise ServiceError(ErrorCode.NOT_ALLOWED, "Your role does not allow this.")


def _serialize_submissions(actor: User) -> None:
    """One person's submissions run one at a time, so a double submit waits for the
    first and then finds its receipt (see patients.services.patient_register)."""
    User.objects.select_for_update().filter(pk=actor.pk).first()


def _receipt(token: UUID, actor: User, kind: str) -> UUID | None:
    receipt = SubmissionReceipt.objects.filter(token=token, actor=actor, kind=kind).first()
    return receipt.object_public_id if receipt else None


# --- administrations ----------------------------------------------------------------


class AnswerErrors(ServiceError):
    """The engine refused the answers: one error per item, for the form to place."""

    def __init__(self, errors: tuple[InstrumentError, ...]) -> None:
        super().__init__(
            ErrorCode.INVALID,
            "Some answers need attention; each is marked next to its item. "
            "Everything you entered is kept.",
        )
        self.errors = errors


class AdministrationConflict(ServiceError):
    def __init__(self, current: InstrumentAdministration) -> None:
        super().__init__(
            ErrorCode.CONFLICT,
            "Someone else saved this form while you were working on it. Your answers are kept "
            "below; check them against the saved ones, then save again.",
        )
        self.current = current


@dataclass(frozen=True)
class AdministrationInput:
    instrument_code: str
    answers: Mapping[int, AnswerValue | None]
    administered_at: datetime
    self_reported: bool = False


@dataclass(frozen=True)
class SaveOutcome:
    administration: InstrumentAdministration
    # Items whose answers were dropped because the skip logic did not ask them.
    dropped_items: tuple[int, ...] = ()
    alert: Alert | None = None
    repeated: bool = False


def _episode_for(actor: User, patient: Patient) -> Episode | None:
    """The open episode the administration belongs to: the newest in the actor's
    programs, else the newest open one (emergency access), else none."""
    open_episodes = Episode.objects.filter(patient=patient, status__in=OPEN_EPISODE).order_by(
        "-referred_on", "-id"
    )
    own = open_episodes.filter(
        program_id__in=ProgramMembership.objects.filter(user=actor).values("program_id")
    ).first()
    return own or open_episodes.first()


def _raise_suicide_alert(
    *,
    actor: User,
    administration: InstrumentAdministration,
    decision: rules.AlertDecision | None,
    now: datetime,
) -> Alert | None:
    if decision is None:
        return None
    # One alert per administration and severity: a draft's moderate alert stays open if
    # the finished form reaches high risk, and the high one brings its own task and
    # notifications (alert_raise returns an open alert for the same source unchanged).
    return alert_raise(
        actor=actor,
        patient=administration.patient,
        kind=AlertKind.SUICIDE_RISK,
        severity=decision.severity,
        title=decision.title,
        source_type=ADMINISTRATION_SOURCE,
        source_id=f"{administration.public_id}:{decision.severity}",
        now=now,
        requires_response=decision.requires_response,
        task_title=decision.task_title,
    )


def _prepare_answers(
    code: str, answers: Mapping[int, AnswerValue | None]
) -> tuple[dict[int, AnswerValue | None], tuple[int, ...]]:
    filled = rules.fill_audit_never_drinks(code, answers)
    return rules.drop_unasked(code, filled)


def _stored(answers: Mapping[int, AnswerValue | None]) -> dict[str, int]:
    return {
        str(number): rules.normalize_answer(value)
        for number, value in sorted(answers.items())
        if value is not None
    }


@transaction.atomic
def administration_save(
    *,
    actor: User,
    access: PatientAccess,
    data: AdministrationInput,
    finish: bool,
    submission_token: UUID,
    now: datetime,
    administration_public_id: UUID | None = None,
    base_version: int | None = None,
) -> SaveOutcome:
    """Save a draft (finish=False: any subset of valid answers, no score) or score it
    (finish=True: every asked item answered). Creates the administration, or continues
    the draft `administration_public_id` that was read at `base_version`.

    A suicide-risk answer raises its alert in this transaction, drafts included: the
    engine reports critical items on drafts so a half-finished form still alerts.
    """
    _require(actor, Perm.SCREENING_ADMINISTER)
    _serialize_submissions(actor)
    kind = "instrument_administration"
    repeated_id = _receipt(submission_token, actor, kind)
    if repeated_id is not None:
        return SaveOutcome(
            InstrumentAdministration.objects.get(public_id=repeated_id, patient=access.patient),
            repeated=True,
        )
    code = data.instrument_code
    try:
        definition = get_definition(code)
    except InstrumentError as error:
        raise ServiceError(ErrorCode.NOT_FOUND, "Unknown instrument.") from error

    administration: InstrumentAdministration | None = None
    if administration_public_id is not None:
        administration = (
            InstrumentAdministration.objects.select_for_update()
            .filter(patient=access.patient, public_id=administration_public_id)
            .first()
        )
        if administration is None or administration.instrument_code != code:
            raise ServiceError(ErrorCode.NOT_FOUND, "No such form.")
        if administration.version != base_version:
            raise AdministrationConflict(administration)
        if not administration.is_draft:
            raise ServiceError(
                ErrorCode.CONFLICT, "This form is no longer a draft; it cannot be changed."
            )

    problem = rules.administered_at_problem(administered_at=data.administered_at, now=now)
    if problem:
        raise ServiceError(ErrorCode.INVALID, problem, field="administered_at")
    answers, dropped = _prepare_answers(code, data.answers)
    errors = check_answers(code, answers, partial=not finish)
    if errors:
        raise AnswerErrors(errors)

    result: ScoreResult | None = None
    if finish:
        result = score(code, answers)
        decision = rules.suicide_alert_for(
            code=code, flags=result.flags, risk_level=result.risk_level
        )
    else:
        draft = validate_partial(code, answers)
        risk = (
            rules.cssrs_draft_risk(
                {
                    number: rules.normalize_answer(v)
                    for number, v in answers.items()
                    if v is not None
                }
            )
            if code == "C-SSRS"
            else None
        )
        decision = rules.suicide_alert_for(code=code, flags=draft.flags, risk_level=risk)

    creating = administration is None
    if administration is None:
        administration = InstrumentAdministration(
            patient=access.patient,
            episode=_episode_for(actor, access.patient),
            instrument_code=code,
            administered_by=actor,
        )
    else:
        administration.version += 1
    administration.definition_version = definition.version
    administration.answers = _stored(answers)
    administration.administered_at = data.administered_at
    administration.self_reported = data.self_reported
    if result is not None:
        administration.status = AdministrationStatus.COMPLETED
        administration.completed_at = now
        administration.total = result.total
        administration.subscales = dict(result.subscales)
        administration.band = result.band or ""
        administration.flags = list(result.flags)
        administration.risk_level = str(result.risk_level or "")
        administration.thresholds = dict(result.thresholds)
    administration.full_clean()
    administration.save()

    alert = _raise_suicide_alert(
        actor=actor, administration=administration, decision=decision, now=now
    )
    SubmissionReceipt.objects.create(
        token=submission_token, actor=actor, kind=kind, object_public_id=administration.public_id
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE if creating else AuditAction.UPDATE,
        patient=access.patient,
        object_type="instrument_administration",
        object_id=administration.public_id,
        break_glass=access.via_break_glass,
        detail={
            "instrument": code,
            "status": administration.status,
            "items_answered": len(administration.answers),
            "items_dropped": list(dropped),
            "self_reported": data.self_reported,
            "alert": str(alert.public_id) if alert else "",
        },
    )
    return SaveOutcome(administration, dropped_items=dropped, alert=alert)


@transaction.atomic
def administration_mark_entered_in_error(
    *,
    actor: User,
    access: PatientAccess,
    administration_public_id: UUID,
    reason: str,
    base_version: int,
    now: datetime,
) -> InstrumentAdministration:
    """Keep the row, mark it entered in error with the reason. Its alerts stay open until
    a clinician resolves them (a wrong form does not prove the patient is safe)."""
    _require(actor, Perm.SCREENING_ADMINISTER)
    administration = (
        InstrumentAdministration.objects.select_for_update()
        .filter(patient=access.patient, public_id=administration_public_id)
        .first()
    )
    if administration is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such form.")
    if administration.status == AdministrationStatus.ENTERED_IN_ERROR:
        raise ServiceError(ErrorCode.CONFLICT, "This form is already marked entered in error.")
    if administration.version != base_version:
        raise AdministrationConflict(administration)
    if len(reason.strip()) < 5:
        raise ServiceError(
            ErrorCode.INVALID, "Say why this form was entered in error.", field="reason"
        )
    before = administration.status
    administration.status = AdministrationStatus.ENTERED_IN_ERROR
    administration.entered_in_error_reason = reason.strip()
    administration.entered_in_error_by = actor
    administration.entered_in_error_at = now
    administration.version += 1
    administration.full_clean()
    administration.save()
    audit_record(
        actor=actor,
        action=AuditAction.STATUS_CHANGE,
        patient=access.patient,
        object_type="instrument_administration",
        object_id=administration.public_id,
        break_glass=access.via_break_glass,
        detail={"from": before, "to": AdministrationStatus.ENTERED_IN_ERROR},
    )
    return administration


# --- risk responses -----------------------------------------------------------------


@dataclass(frozen=True)
class RiskResponseInput:
    assessed_by: User
    assessed_at: datetime
    disposition: str
    notes: str = ""


def risk_response_assessors(*, patient: Patient) -> list[User]:
    """Staff who may be named as the assessor: active clinicians in the patient's programs."""
    users = (
        User.objects.filter(
            is_active=True,
            organization_id=patient.organization_id,
            memberships__program__episodes__patient=patient,
        )
        .distinct()
        .order_by("last_name", "first_name")
    )
    return [user for user in users if user.has_perm_code(Perm.SCREENING_ADMINISTER)]


@transaction.atomic
def risk_response_record(
    *,
    actor: User,
    access: PatientAccess,
    alert_public_id: UUID,
    data: RiskResponseInput,
    submission_token: UUID,
    now: datetime,
) -> RiskResponse:
    """Document who assessed a suicide-risk alert, when, and the disposition."""
    _require(actor, Perm.SCREENING_ADMINISTER)
    _serialize_submissions(actor)
    repeated_id = _receipt(submission_token, actor, "risk_response")
    if repeated_id is not None:
        return RiskResponse.objects.get(public_id=repeated_id, patient=access.patient)
    alert = Alert.objects.filter(
        patient=access.patient, public_id=alert_public_id, kind=AlertKind.SUICIDE_RISK
    ).first()
    if alert is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such suicide-risk alert.")
    if data.assessed_by.pk not in {u.pk for u in risk_response_assessors(patient=access.patient)}:
        raise ServiceError(
            ErrorCode.INVALID,
            "Choose a clinician of this patient's programs.",
            field="assessed_by",
        )
    administration = administration_for_alert(alert=alert)
    problems = rules.risk_response_problems(
        disposition=data.disposition,
        notes=data.notes,
        assessed_at=data.assessed_at,
        screened_at=administration.administered_at if administration else alert.raised_at,
        now=now,
    )
    if problems:
        field, message = problems[0]
        raise ServiceError(ErrorCode.INVALID, message, field=field)
    response = RiskResponse(
        patient=access.patient,
        administration=administration,
        alert=alert,
        assessed_by=data.assessed_by,
        assessed_at=data.assessed_at,
        disposition=data.disposition,
        notes=data.notes.strip(),
        recorded_by=actor,
    )
    response.full_clean()
    response.save()
    SubmissionReceipt.objects.create(
        token=submission_token,
        actor=actor,
        kind="risk_response",
        object_public_id=response.public_id,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        patient=access.patient,
        object_type="risk_response",
        object_id=response.public_id,
        break_glass=access.via_break_glass,
        detail={"alert": str(alert.public_id), "disposition": data.disposition},
    )
    return response


@transaction.atomic
def risk_alert_resolve(
    *, actor: User, access: PatientAccess, alert_public_id: UUID, note: str, now: datetime
) -> Alert:
    """Resolve a suicide-risk alert. A high-risk one needs a documented response and a
    safety plan first (rules.risk_alert_resolution_problems); then alerts' own resolve
    (permission, note, closing the task, audit) runs in this same transaction."""
    _require(actor, Perm.ALERT_RESOLVE)
    alert = (
        Alert.objects.select_for_update()
        .filter(patient=access.patient, public_id=alert_public_id)
        .first()
    )
    if alert is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such alert.")
    if alert.status == AlertStatus.OPEN:
        problems = rules.risk_alert_resolution_problems(
            kind=alert.kind,
            severity=alert.severity,
            requires_response=alert.requires_response,
            response_count=RiskResponse.objects.filter(alert=alert).count(),
            has_safety_plan=SafetyPlan.objects.filter(
                patient=access.patient, status=SafetyPlanStatus.CURRENT
            ).exists(),
        )
        if problems:
            raise ServiceError(ErrorCode.CONFLICT, " ".join(problems))
    return alert_resolve(
        actor=actor, access=access, alert_public_id=alert_public_id, note=note, now=now
    )


# --- safety plans -------------------------------------------------------------------


class SafetyPlanConflict(ServiceError):
    def __init__(self, current: SafetyPlan) -> None:
        super().__init__(
            ErrorCode.CONFLICT,
            f"Someone saved version {current.number} of the safety plan while you were "
            "editing. Your entries are kept below, beside what is now saved; check them, "
            "then save again.",
        )
        self.current = current


@transaction.atomic
def safety_plan_save(
    *,
    actor: User,
    access: PatientAccess,
    content: rules.SafetyPlanContent,
    base_number: int,
    submission_token: UUID,
    now: datetime,
    administration_public_id: UUID | None = None,
) -> SafetyPlan:
    """Save the safety plan as a new version (`base_number` is the version the editor
    started from, 0 for none). The previous version is kept, marked superseded."""
    _require(actor, Perm.ASSESSMENT_WRITE)
    _serialize_submissions(actor)
    repeated_id = _receipt(submission_token, actor, "safety_plan")
    if repeated_id is not None:
        return SafetyPlan.objects.get(public_id=repeated_id, patient=access.patient)
    # Saves for one patient queue on the patient row, so version numbers never collide.
    Patient.objects.select_for_update().filter(pk=access.patient.pk).first()
    current = SafetyPlan.objects.filter(
        patient=access.patient, status=SafetyPlanStatus.CURRENT
    ).first()
    if (current.number if current else 0) != base_number:
        if current is None:
            raise ServiceError(ErrorCode.CONFLICT, "The safety plan changed; reload the page.")
        raise SafetyPlanConflict(current)
    problems = rules.safety_plan_problems(content)
    if problems:
        field, message = problems[0]
        raise ServiceError(ErrorCode.INVALID, message, field=field)
    administration = None
    if administration_public_id is not None:
        administration = InstrumentAdministration.objects.filter(
            patient=access.patient, public_id=administration_public_id
        ).first()
    if current is not None:
        current.status = SafetyPlanStatus.SUPERSEDED
        current.save(update_fields=["status", "updated_at"])
    values = dataclasses.asdict(content)

    def filled(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        return [
            {"name": row["name"].strip(), "phone": row["phone"].strip()}
            for row in rows
            if row["name"].strip() or row["phone"].strip()
        ]

    plan = SafetyPlan(
        patient=access.patient,
        number=(current.number if current else 0) + 1,
        status=SafetyPlanStatus.CURRENT,
        warning_signs=list(content.warning_signs),
        coping_strategies=list(content.coping_strategies),
        social_distractions=list(content.social_distractions),
        help_contacts=filled(values["help_contacts"]),
        professional_contacts=filled(values["professional_contacts"]),
        environment_safety=list(content.environment_safety),
        reasons_for_living=content.reasons_for_living.strip(),
        developed_with_patient=content.developed_with_patient,
        administration=administration or (current.administration if current else None),
        written_by=actor,
        written_at=now,
    )
    plan.full_clean()
    plan.save()
    SubmissionReceipt.objects.create(
        token=submission_token, actor=actor, kind="safety_plan", object_public_id=plan.public_id
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        patient=access.patient,
        object_type="safety_plan",
        object_id=plan.public_id,
        break_glass=access.via_break_glass,
        detail={
            "version": plan.number,
            "supersedes": str(current.public_id) if current else "",
        },
    )
    return plan
