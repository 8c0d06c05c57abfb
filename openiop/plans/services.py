"""Writing treatment plans and relapse-prevention plans.

Each service runs in one transaction with its audit row and, for plans, a `PlanEvent`.
A signed version is never changed (the models refuse it too); a review starts a new
draft version copied from the signed one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from openiop.accounts.models import ProgramMembership, Role, User
from openiop.accounts.roles import Perm
from openiop.assessments.models import Diagnosis
from openiop.audit.models import AuditAction
from openiop.audit.services import audit_record
from openiop.consents.rules import signed_name_matches
from openiop.consents.services import decode_signature
from openiop.core.errors import ErrorCode, ServiceError
from openiop.core.models import SubmissionReceipt
from openiop.episodes.models import Episode, EpisodeStatus
from openiop.organizations.models import Payer, PlanType, Program
from openiop.patients.models import Patient
from openiop.patients.selectors import PatientAccess
from openiop.plans import rules
from openiop.plans.models import (
    ObjectiveReview,
    PlanDeadlineSetting,
    PlanEvent,
    PlanIntervention,
    PlanObjective,
    PlanProblem,
    PlanSignature,
    PlanSignatureMethod,
    PlanVersion,
    PlanVersionStatus,
    Progress,
    RelapsePlanStatus,
    RelapsePreventionPlan,
    SignerRole,
    TreatmentPlan,
)
from openiop.screening.selectors import safety_plan_current

OPEN_STATUSES = (PlanVersionStatus.DRAFT, PlanVersionStatus.AWAITING_SIGNATURES)


class PlanInvalid(ServiceError):
    """Field -> message for every problem found (the first one is the headline)."""

    def __init__(self, errors: dict[str, str]) -> None:
        field, message = next(iter(errors.items()))
        super().__init__(ErrorCode.INVALID, message, field=field)
        self.errors = errors


class PlanConflict(ServiceError):
    def __init__(self, current: PlanVersion) -> None:
        super().__init__(
            ErrorCode.CONFLICT,
            "Someone else saved this plan while you were editing. Your entries are kept "
            "below; check them against what is now saved, then save again.",
        )
        self.current = current


# ----- input ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectiveRow:
    key: str
    draft: rules.ObjectiveDraft


@dataclass(frozen=True)
class InterventionRow:
    key: str
    draft: rules.InterventionDraft


@dataclass(frozen=True)
class ProblemRow:
    key: str
    draft: rules.ProblemDraft
    objectives: tuple[ObjectiveRow, ...]
    interventions: tuple[InterventionRow, ...]


@dataclass(frozen=True)
class ReviewRow:
    objective_public_id: str
    progress: str
    current_value: Decimal | None
    comment: str


@dataclass(frozen=True)
class PlanInput:
    written_on: date | None
    strengths: str
    participation: str
    referrals: str
    review_summary: str
    problems: tuple[ProblemRow, ...]
    reviews: tuple[ReviewRow, ...] = ()


@dataclass(frozen=True)
class PlanSignatureInput:
    role: str
    typed_name: str = ""
    signature_data_url: str = ""
    signing_electronically: bool = False
    attest: bool = False
    signer_address: str | None = None
    user_agent: str = ""


# ----- helpers ---------------------------------------------------------------------------


def _require(actor: User, perm: Perm = Perm.PLAN_WRITE) -> None:
    if not actor.has_perm_code(perm):
        raise ServiceError(ErrorCode.NOT_ALLOWED, "Your role does not allow this.")


def _require_member(actor: User, program_id: int) -> None:
    if not ProgramMembership.objects.filter(user=actor, program_id=program_id).exists():
        raise ServiceError(ErrorCode.NOT_ALLOWED, "You can only write plans in your own programs.")


def _audit(
    actor: User,
    access: PatientAccess,
    action: AuditAction,
    object_type: str,
    object_id: UUID,
    detail: dict[str, Any] | None = None,
) -> None:
    audit_record(
        actor=actor,
        action=action,
        patient=access.patient,
        object_type=object_type,
        object_id=object_id,
        break_glass=access.via_break_glass,
        detail=detail or {},
    )


def _event(
    version: PlanVersion,
    kind: str,
    actor: User,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    PlanEvent.objects.create(
        plan_id=version.plan_id,
        plan_version=version,
        kind=kind,
        at=now,
        actor=actor,
        detail=detail or {},
    )


def _locked_version(access: PatientAccess, public_id: UUID | str) -> PlanVersion:
    version = (
        PlanVersion.objects.select_for_update()
        .filter(patient=access.patient, public_id=public_id)
        .first()
    )
    if version is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such plan version.")
    return version


def _require_open(version: PlanVersion) -> None:
    if version.status not in OPEN_STATUSES:
        raise ServiceError(
            ErrorCode.NOT_ALLOWED,
            "A signed plan version cannot be changed. Start a review to make a new version.",
        )


def _receipt(token: UUID, actor: User, kind: str) -> UUID | None:
    User.objects.select_for_update().filter(pk=actor.pk).first()
    row = SubmissionReceipt.objects.filter(token=token, actor=actor).first()
    return row.object_public_id if row else None


def _dec(value: Decimal | None) -> str:
    return "" if value is None else str(value)


def content_fields(version: PlanVersion) -> dict[str, Any]:
    """Everything a signature covers, in a stable order (rows by position)."""
    problems = [p for p in version.problems.all() if p.removed_at is None]
    objectives = [o for o in version.objectives.all() if o.removed_at is None]
    interventions = [i for i in version.interventions.all() if i.removed_at is None]
    reviews = list(version.objective_reviews.all())
    return {
        "version": str(version.public_id),
        "number": version.number,
        "written_on": version.written_on.isoformat(),
        "strengths": version.strengths,
        "participation": version.participation,
        "referrals": version.referrals,
        "review_summary": version.review_summary,
        "problems": [
            {
                "key": str(p.key),
                "statement": p.statement,
                "goal": p.goal,
                "diagnosis": p.diagnosis_id,
                "dimensions": list(p.dimensions),
            }
            for p in sorted(problems, key=lambda r: (r.position, r.pk))
        ],
        "objectives": [
            {
                "key": str(o.key),
                "problem": str(o.problem.key),
                "text": o.text,
                "measure": o.measure,
                "measure_other": o.measure_other,
                "baseline": _dec(o.baseline),
                "baseline_on": o.baseline_on.isoformat(),
                "target": _dec(o.target),
                "target_on": o.target_on.isoformat(),
            }
            for o in sorted(objectives, key=lambda r: (r.problem.position, r.position, r.pk))
        ],
        "interventions": [
            {
                "key": str(i.key),
                "problem": str(i.problem.key),
                "modality": i.modality,
                "description": i.description,
                "frequency": i.frequency,
                "responsible": i.responsible_id,
            }
            for i in sorted(interventions, key=lambda r: (r.problem.position, r.position, r.pk))
        ],
        "reviews": [
            {
                "objective": str(r.objective.key),
                "progress": r.progress,
                "current_value": _dec(r.current_value),
                "comment": r.comment,
            }
            for r in sorted(reviews, key=lambda r: (r.position, r.pk))
        ],
    }


def content_sha256(version: PlanVersion) -> str:
    body = json.dumps(content_fields(version), sort_keys=True, default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def draft_of(version: PlanVersion) -> rules.PlanDraft:
    """The saved rows as the rules see them (for the signing checks)."""
    problems = []
    live_objectives = [o for o in version.objectives.all() if o.removed_at is None]
    live_interventions = [i for i in version.interventions.all() if i.removed_at is None]
    for n, p in enumerate(x for x in version.problems.all() if x.removed_at is None):
        prefix = f"p{n}"
        problems.append(
            rules.ProblemDraft(
                prefix=prefix,
                statement=p.statement,
                goal=p.goal,
                diagnosis_id=p.diagnosis_id,
                dimensions=tuple(p.dimensions),
                objectives=tuple(
                    rules.ObjectiveDraft(
                        prefix=f"{prefix}-o{m}",
                        text=o.text,
                        measure=o.measure,
                        measure_other=o.measure_other,
                        baseline=o.baseline,
                        baseline_on=o.baseline_on,
                        target=o.target,
                        target_on=o.target_on,
                    )
                    for m, o in enumerate(x for x in live_objectives if x.problem_id == p.pk)
                ),
                interventions=tuple(
                    rules.InterventionDraft(
                        prefix=f"{prefix}-i{m}",
                        modality=i.modality,
                        description=i.description,
                        frequency=i.frequency,
                        responsible_id=i.responsible_id,
                    )
                    for m, i in enumerate(x for x in live_interventions if x.problem_id == p.pk)
                ),
            )
        )
    return rules.PlanDraft(
        written_on=version.written_on,
        participation=version.participation,
        problems=tuple(problems),
        reviews=tuple(
            rules.ReviewDraft(prefix=f"r-{r.objective.public_id}", progress=r.progress)
            for r in version.objective_reviews.all()
        ),
        review_summary=version.review_summary,
        is_review=version.is_review,
    )


def version_with_rows(public_id: UUID | str) -> PlanVersion:
    return (
        PlanVersion.objects.select_related("plan", "plan__program")
        .prefetch_related(
            "problems",
            "objectives__problem",
            "interventions__problem",
            "objective_reviews__objective",
        )
        .get(public_id=public_id)
    )


# ----- deadlines ------------------------------------------------------------------------


def deadlines_for_episode(episode: Episode) -> rules.Deadlines:
    from openiop.plans.selectors import deadline_settings_for, payer_scope

    org_id = episode.program.site.organization_id
    payer_ids, plan_types = payer_scope([episode.patient_id]).get(episode.patient_id, ((), ()))
    return rules.deadlines_for(
        deadline_settings_for(org_id),
        program_id=episode.program_id,
        payer_ids=payer_ids,
        plan_types=plan_types,
        jurisdiction=episode.patient.state,
    )


@dataclass(frozen=True)
class DeadlineSettingInput:
    label: str
    program_public_id: str = ""
    payer_public_id: str = ""
    plan_type: str = ""
    jurisdiction: str = ""
    due_within_days: int | None = None
    review_every_days: int | None = None
    prescriber_signature_required: bool = False
    is_active: bool = True


SETTING_FIELDS = (
    "label",
    "program",
    "payer",
    "plan_type",
    "jurisdiction",
    "due_within_days",
    "review_every_days",
    "prescriber_signature_required",
    "is_active",
)


class SettingConflict(ServiceError):
    """Someone saved the setting since the form was opened: `current` is what is saved
    now and `changed` the fields that differ from what this person typed."""

    def __init__(self, current: PlanDeadlineSetting, changed: list[str]) -> None:
        super().__init__(
            ErrorCode.CONFLICT,
            "Someone else saved this setting while you were editing. Your entries are kept "
            "below; the fields marked differ from what is now saved. Check them, then save "
            "again.",
        )
        self.current = current
        self.changed = changed


def _setting_values(s: PlanDeadlineSetting) -> dict[str, Any]:
    return {
        "label": s.label,
        "program": s.program_id,
        "payer": s.payer_id,
        "plan_type": s.plan_type,
        "jurisdiction": s.jurisdiction,
        "due_within_days": s.due_within_days,
        "review_every_days": s.review_every_days,
        "prescriber_signature_required": s.prescriber_signature_required,
        "is_active": s.is_active,
    }


@transaction.atomic
def deadline_setting_save(
    *,
    actor: User,
    public_id: UUID | str | None,
    data: DeadlineSettingInput,
    base_version: int | None,
    submission_token: UUID,
) -> PlanDeadlineSetting:
    """Create (public_id None) or update one of the organization's plan deadline
    settings. Refused without `org.manage`, for another organization's setting, on a
    concurrent edit (`SettingConflict`) and on bad values (`PlanInvalid`, per field).
    A repeated submission of the same form returns the first record."""
    _require(actor, Perm.ORG_MANAGE)
    if actor.org_id is None:
        raise ServiceError(ErrorCode.NOT_ALLOWED, "You belong to no organization.")
    earlier = _receipt(submission_token, actor, "plan_deadline_setting")
    if earlier is not None:
        return PlanDeadlineSetting.objects.get(public_id=earlier)
    setting: PlanDeadlineSetting | None = None
    if public_id is not None:
        setting = (
            PlanDeadlineSetting.objects.select_for_update()
            .filter(organization_id=actor.org_id, public_id=public_id)
            .first()
        )
        if setting is None:
            raise ServiceError(ErrorCode.NOT_FOUND, "No such setting.")
    errors: dict[str, str] = {}
    program = payer = None
    if data.program_public_id:
        program = Program.objects.filter(
            site__organization_id=actor.org_id, public_id=data.program_public_id
        ).first()
        if program is None:
            errors["program"] = "Choose one of your organization's programs."
    if data.payer_public_id:
        payer = Payer.objects.filter(
            organization_id=actor.org_id, public_id=data.payer_public_id
        ).first()
        if payer is None:
            errors["payer"] = "Choose one of your organization's payers."
    if data.plan_type and data.plan_type not in PlanType.values:
        errors["plan_type"] = "Choose a plan type."
    label = data.label.strip()
    jurisdiction = data.jurisdiction.strip().upper()
    values: dict[str, Any] = {
        "label": label,
        "program": program.pk if program else None,
        "payer": payer.pk if payer else None,
        "plan_type": data.plan_type,
        "jurisdiction": jurisdiction,
        "due_within_days": data.due_within_days,
        "review_every_days": data.review_every_days,
        "prescriber_signature_required": data.prescriber_signature_required,
        "is_active": data.is_active,
    }
    if setting is not None and setting.version != base_version:
        before = _setting_values(setting)
        raise SettingConflict(setting, [k for k in SETTING_FIELDS if before[k] != values[k]])
    errors.update(
        rules.deadline_setting_errors(
            rules.DeadlineSetting(
                label=label,
                jurisdiction=jurisdiction,
                due_within_days=data.due_within_days,
                review_every_days=data.review_every_days,
                prescriber_signature_required=data.prescriber_signature_required,
            )
        )
    )
    if errors:
        raise PlanInvalid(errors)
    before = _setting_values(setting) if setting is not None else {}
    changed = [k for k in SETTING_FIELDS if before.get(k) != values[k]]
    if setting is None:
        setting = PlanDeadlineSetting(organization_id=actor.org_id, version=1)
        action = AuditAction.CREATE
    else:
        setting.version += 1
        action = AuditAction.UPDATE
    setting.label = label
    setting.program = program
    setting.payer = payer
    setting.plan_type = data.plan_type
    setting.jurisdiction = jurisdiction
    setting.due_within_days = data.due_within_days
    setting.review_every_days = data.review_every_days
    setting.prescriber_signature_required = data.prescriber_signature_required
    setting.is_active = data.is_active
    setting.save()
    SubmissionReceipt.objects.create(
        token=submission_token,
        actor=actor,
        kind="plan_deadline_setting",
        object_public_id=setting.public_id,
    )
    audit_record(
        actor=actor,
        action=action,
        object_type="plan_deadline_setting",
        object_id=setting.public_id,
        detail={"fields": changed, "version": setting.version},
    )
    return setting


# ----- treatment plans -------------------------------------------------------------------


def _episode_for(
    access: PatientAccess, actor: User, episode_public_id: UUID | str | None
) -> Episode:
    qs = Episode.objects.select_related("program__site", "patient").filter(
        patient=access.patient,
        program_id__in=ProgramMembership.objects.filter(user=actor).values("program_id"),
    )
    if episode_public_id:
        episode = qs.filter(public_id=episode_public_id).first()
    else:
        episode = (
            qs.filter(status__in=[EpisodeStatus.ACTIVE, EpisodeStatus.SCREENING])
            .order_by("-referred_on", "-id")
            .first()
        )
    if episode is None:
        raise ServiceError(
            ErrorCode.INVALID,
            "The patient has no open episode in your programs to write a plan for.",
            field="episode",
        )
    return episode


def _copy_rows(source: PlanVersion, target: PlanVersion) -> None:
    problems: dict[int, PlanProblem] = {}
    for p in source.problems.filter(removed_at__isnull=True):
        problems[p.pk] = PlanProblem.objects.create(
            plan_version=target,
            key=p.key,
            position=p.position,
            statement=p.statement,
            diagnosis_id=p.diagnosis_id,
            dimensions=list(p.dimensions),
            goal=p.goal,
        )
    for o in source.objectives.filter(removed_at__isnull=True):
        PlanObjective.objects.create(
            plan_version=target,
            problem=problems[o.problem_id],
            key=o.key,
            position=o.position,
            text=o.text,
            measure=o.measure,
            measure_other=o.measure_other,
            baseline=o.baseline,
            baseline_on=o.baseline_on,
            target=o.target,
            target_on=o.target_on,
        )
        ObjectiveReview.objects.create(
            plan_version=target, objective=o, position=o.position, key=o.key
        )
    for i in source.interventions.filter(removed_at__isnull=True):
        PlanIntervention.objects.create(
            plan_version=target,
            problem=problems[i.problem_id],
            key=i.key,
            position=i.position,
            modality=i.modality,
            description=i.description,
            frequency=i.frequency,
            responsible_id=i.responsible_id,
        )


@transaction.atomic
def plan_draft_start(
    *,
    actor: User,
    access: PatientAccess,
    submission_token: UUID,
    today: date,
    now: datetime,
    episode_public_id: UUID | str | None = None,
) -> PlanVersion:
    """Open the draft to write: the first plan of the episode, or a review of the signed
    version in force (rows copied, one progress line per objective). An open draft is
    returned as it is."""
    _require(actor)
    repeated = _receipt(submission_token, actor, "plan_version")
    if repeated is not None:
        return PlanVersion.objects.get(public_id=repeated, patient=access.patient)
    episode = _episode_for(access, actor, episode_public_id)
    Patient.objects.select_for_update().filter(pk=access.patient.pk).first()
    plan = TreatmentPlan.objects.filter(episode=episode).first()
    created = False
    if plan is None:
        plan = TreatmentPlan.objects.create(
            patient=access.patient, episode=episode, program=episode.program, created_by=actor
        )
        created = True
    open_version = plan.versions.filter(status__in=OPEN_STATUSES).first()
    if open_version is not None:
        return open_version
    signed = plan.versions.filter(status=PlanVersionStatus.SIGNED).first()
    last_number = plan.versions.order_by("-number").values_list("number", flat=True).first()
    version = PlanVersion.objects.create(
        plan=plan,
        patient=access.patient,
        number=(last_number or 0) + 1,
        previous=signed,
        is_review=signed is not None,
        written_on=today,
        strengths=signed.strengths if signed else "",
        participation="",
        referrals=signed.referrals if signed else "",
        created_by=actor,
    )
    if signed is not None:
        _copy_rows(signed, version)
        _fill_evidence(version, access.patient, today)
    SubmissionReceipt.objects.create(
        token=submission_token, actor=actor, kind="plan_version", object_public_id=version.public_id
    )
    _event(
        version,
        PlanEvent.Kind.REVIEW_STARTED if signed else PlanEvent.Kind.DRAFTED,
        actor,
        now,
        {"number": version.number},
    )
    _audit(
        actor,
        access,
        AuditAction.CREATE,
        "plan_version",
        version.public_id,
        {"number": version.number, "review": signed is not None, "new_plan": created},
    )
    return version


def _fill_evidence(version: PlanVersion, patient: Patient, today: date) -> None:
    from openiop.plans.selectors import evidence_for_objectives

    reviews = list(version.objective_reviews.select_related("objective"))
    evidence = evidence_for_objectives(
        patient=patient, objectives=[r.objective for r in reviews], today=today
    )
    for r in reviews:
        items = evidence.get(r.objective.pk, [])
        r.evidence = [
            {"label": e.label, "value": e.value, "on": e.on.isoformat() if e.on else ""}
            for e in items
        ]
        numeric = [e.numeric for e in items if e.numeric is not None]
        r.current_value = numeric[0] if numeric else None
        r.save(update_fields=["evidence", "current_value", "updated_at"])


@transaction.atomic
def plan_draft_autosave(
    *,
    actor: User,
    access: PatientAccess,
    version_public_id: UUID | str,
    raw: dict[str, Any],
    base_version: int,
    now: datetime,
) -> PlanVersion:
    """Keep the form exactly as typed (valid or not) so nothing is lost; a later valid
    save turns it into rows."""
    _require(actor)
    version = _locked_version(access, version_public_id)
    _require_open(version)
    if version.version != base_version:
        raise PlanConflict(version)
    version.draft_data = raw
    version.draft_saved_at = now
    version.version += 1
    version.save(update_fields=["draft_data", "draft_saved_at", "version", "updated_at"])
    _audit(actor, access, AuditAction.UPDATE, "plan_version", version.public_id, {"autosave": True})
    return version


def _check_refs(access: PatientAccess, data: PlanInput, version: PlanVersion) -> dict[str, str]:
    errors: dict[str, str] = {}
    diagnosis_ids = {
        r.draft.diagnosis_id for r in data.problems if r.draft.diagnosis_id is not None
    }
    if diagnosis_ids:
        found = set(
            Diagnosis.objects.filter(patient=access.patient, pk__in=diagnosis_ids).values_list(
                "pk", flat=True
            )
        )
        for r in data.problems:
            if r.draft.diagnosis_id is not None and r.draft.diagnosis_id not in found:
                errors[f"{r.draft.prefix}-diagnosis"] = "Choose one of the patient's diagnoses."
    staff_ids = {
        i.draft.responsible_id
        for r in data.problems
        for i in r.interventions
        if i.draft.responsible_id is not None
    }
    if staff_ids:
        found = set(
            User.objects.filter(
                pk__in=staff_ids, organization_id=access.patient.organization_id, is_active=True
            ).values_list("pk", flat=True)
        )
        for r in data.problems:
            for i in r.interventions:
                if i.draft.responsible_id is not None and i.draft.responsible_id not in found:
                    errors[f"{i.draft.prefix}-responsible"] = "Choose a staff member."
    return errors


def _draft_from_input(data: PlanInput, version: PlanVersion) -> rules.PlanDraft:
    return rules.PlanDraft(
        written_on=data.written_on,
        participation=data.participation,
        problems=tuple(r.draft for r in data.problems),
        reviews=tuple(
            rules.ReviewDraft(prefix=f"r-{r.objective_public_id}", progress=r.progress)
            for r in data.reviews
        ),
        review_summary=data.review_summary,
        is_review=version.is_review,
    )


def _apply_rows(version: PlanVersion, data: PlanInput, now: datetime) -> None:
    """Update rows by key, create new ones, mark the rest removed (never deleted)."""
    existing_p = {str(p.key): p for p in version.problems.filter(removed_at__isnull=True)}
    existing_o = {str(o.key): o for o in version.objectives.filter(removed_at__isnull=True)}
    existing_i = {str(i.key): i for i in version.interventions.filter(removed_at__isnull=True)}
    kept_p: set[str] = set()
    kept_o: set[str] = set()
    kept_i: set[str] = set()
    position = 0
    for row in data.problems:
        d = row.draft
        if d.is_blank:
            continue
        problem = existing_p.get(row.key) or PlanProblem(plan_version=version)
        problem.statement = d.statement.strip()
        problem.goal = d.goal.strip()
        problem.diagnosis_id = d.diagnosis_id
        problem.dimensions = sorted(set(d.dimensions))
        problem.position = position
        position += 1
        problem.save()
        kept_p.add(str(problem.key))
        for n, orow in enumerate(r for r in row.objectives if not r.draft.is_blank):
            od = orow.draft
            objective = existing_o.get(orow.key) or PlanObjective(plan_version=version)
            objective.problem = problem
            objective.position = n
            objective.text = od.text.strip()
            objective.measure = od.measure
            objective.measure_other = od.measure_other.strip() if od.measure == "other" else ""
            objective.baseline = od.baseline
            objective.baseline_on = od.baseline_on
            objective.target = od.target
            objective.target_on = od.target_on
            objective.save()
            kept_o.add(str(objective.key))
        for n, irow in enumerate(r for r in row.interventions if not r.draft.is_blank):
            idr = irow.draft
            intervention = existing_i.get(irow.key) or PlanIntervention(plan_version=version)
            intervention.problem = problem
            intervention.position = n
            intervention.modality = idr.modality
            intervention.description = idr.description.strip()
            intervention.frequency = idr.frequency.strip()
            intervention.responsible_id = idr.responsible_id
            intervention.save()
            kept_i.add(str(intervention.key))
    for key, o in existing_o.items():
        if key not in kept_o:
            o.removed_at = now
            o.save(update_fields=["removed_at", "updated_at"])
    for key, i in existing_i.items():
        if key not in kept_i:
            i.removed_at = now
            i.save(update_fields=["removed_at", "updated_at"])
    for key, p in existing_p.items():
        if key not in kept_p:
            p.removed_at = now
            p.save(update_fields=["removed_at", "updated_at"])
    reviews = {str(r.objective.public_id): r for r in version.objective_reviews.all()}
    for rv in data.reviews:
        review = reviews.get(rv.objective_public_id)
        if review is None:
            continue
        review.progress = rv.progress if rv.progress in Progress.values else ""
        review.current_value = rv.current_value
        review.comment = rv.comment.strip()
        review.save(update_fields=["progress", "current_value", "comment", "updated_at"])


@transaction.atomic
def plan_draft_save(
    *,
    actor: User,
    access: PatientAccess,
    version_public_id: UUID | str,
    data: PlanInput,
    base_version: int,
    now: datetime,
) -> PlanVersion:
    """Save the draft's content as rows. Each filled row must be coherent (see
    rules.plan_errors); the required sections are checked at signing."""
    _require(actor)
    version = _locked_version(access, version_public_id)
    _require_open(version)
    if version.signatures.exists():
        raise ServiceError(
            ErrorCode.NOT_ALLOWED,
            "Signatures have been collected on this version; it can no longer be edited. "
            "Mark it entered in error and start again if it is wrong.",
        )
    if version.version != base_version:
        raise PlanConflict(version)
    _require_member(actor, version.plan.program_id)
    errors = rules.plan_errors(_draft_from_input(data, version), for_signing=False)
    errors.update(_check_refs(access, data, version))
    if errors:
        raise PlanInvalid(errors)
    assert data.written_on is not None
    version.written_on = data.written_on
    version.strengths = data.strengths.strip()
    version.participation = data.participation.strip()
    version.referrals = data.referrals.strip()
    version.review_summary = data.review_summary.strip()
    _apply_rows(version, data, now)
    version.draft_data = {}
    version.draft_saved_at = None
    version.version += 1
    version.save()
    _event(version, PlanEvent.Kind.SAVED, actor, now)
    _audit(actor, access, AuditAction.UPDATE, "plan_version", version.public_id)
    return version


def _signer_check(
    actor: User, access: PatientAccess, version: PlanVersion, sig: PlanSignatureInput
) -> tuple[str, str, bytes | None, str]:
    """(signed_name, method, png, credentials) or a ServiceError next to the field."""
    if sig.role == SignerRole.PATIENT:
        patient = access.patient
        if not sig.typed_name.strip():
            raise ServiceError(
                ErrorCode.INVALID, "Type your full legal name to sign.", field="typed_name"
            )
        legal = [patient.full_name, f"{patient.legal_given_name} {patient.legal_family_name}"]
        if not signed_name_matches(sig.typed_name, legal):
            raise ServiceError(
                ErrorCode.INVALID,
                "The typed name does not match the patient's legal name on file.",
                field="typed_name",
            )
        if sig.signature_data_url:
            png = decode_signature(sig.signature_data_url)
            return " ".join(sig.typed_name.split()), PlanSignatureMethod.DRAWN, png, ""
        if sig.signing_electronically:
            return " ".join(sig.typed_name.split()), PlanSignatureMethod.TYPED, None, ""
        raise ServiceError(
            ErrorCode.INVALID,
            "Draw your signature, or tick \u201cI am signing electronically\u201d.",
            field="signing_electronically",
        )
    if not sig.attest:
        raise ServiceError(
            ErrorCode.INVALID,
            "Confirm you reviewed the plan with the patient and agree with it.",
            field="attest",
        )
    if sig.role == SignerRole.CLINICIAN:
        _require(actor)
    elif sig.role == SignerRole.PRESCRIBER:
        if actor.role != Role.PRESCRIBER:
            raise ServiceError(
                ErrorCode.NOT_ALLOWED, "Only a prescriber can sign as the prescriber."
            )
    else:
        raise ServiceError(ErrorCode.INVALID, "Unknown signer.", field="role")
    return actor.get_full_name(), PlanSignatureMethod.TYPED, None, actor.credentials


@transaction.atomic
def plan_sign(
    *,
    actor: User,
    access: PatientAccess,
    version_public_id: UUID | str,
    signature: PlanSignatureInput,
    shown_sha256: str,
    today: date,
    now: datetime,
) -> PlanVersion:
    """Add one signature. The content must be complete (rules.plan_errors for signing)
    and be what the signer was shown. The last required signature puts the version in
    force: the previous signed version becomes superseded, the next review is set."""
    _require(actor, Perm.PATIENT_VIEW)
    locked = _locked_version(access, version_public_id)
    version = version_with_rows(locked.public_id)
    if (
        version.status == PlanVersionStatus.SIGNED
        and version.signatures.filter(role=signature.role).exists()
    ):
        return version  # a repeated submission
    _require_open(version)
    if signature.role == SignerRole.PATIENT:
        _require(actor)
    _require_member(actor, version.plan.program_id)
    if version.draft_data:
        raise ServiceError(
            ErrorCode.INVALID,
            "This plan has unsaved changes. Save the draft before signing.",
            field="participation",
        )
    errors = rules.plan_errors(draft_of(version), for_signing=True)
    if errors:
        raise PlanInvalid(errors)
    digest = content_sha256(version)
    if digest != shown_sha256:
        raise ServiceError(
            ErrorCode.CONFLICT,
            "The plan changed since this page was opened. Read it again, then sign.",
        )
    if version.signatures.filter(role=signature.role).exists():
        raise ServiceError(
            ErrorCode.INVALID, "This version already has that signature.", field="role"
        )
    name, method, png, credentials = _signer_check(actor, access, version, signature)
    PlanSignature.objects.create(
        plan_version=version,
        role=signature.role,
        signer=None if signature.role == SignerRole.PATIENT else actor,
        signed_name=name,
        credentials=credentials,
        method=method,
        signature_png=png,
        signed_at=now,
        collected_by=actor,
        content_sha256=digest,
        signer_address=signature.signer_address or None,
        signer_user_agent=signature.user_agent[:400],
    )
    _event(version, PlanEvent.Kind.SIGNED, actor, now, {"role": signature.role})
    _audit(
        actor,
        access,
        AuditAction.SIGN,
        "plan_version",
        version.public_id,
        {"role": signature.role, "method": method, "content_sha256": digest},
    )
    episode = Episode.objects.select_related("program__site", "patient").get(
        pk=version.plan.episode_id
    )
    deadlines = deadlines_for_episode(episode)
    required = rules.required_signers(prescriber_required=deadlines.prescriber_signature_required)
    present = list(version.signatures.values_list("role", flat=True))
    if not rules.signatures_complete(required=required, present=present):
        if version.status != PlanVersionStatus.AWAITING_SIGNATURES:
            version.status = PlanVersionStatus.AWAITING_SIGNATURES
            version.prescriber_signature_required = deadlines.prescriber_signature_required
            version.version += 1
            version.save(
                update_fields=[
                    "status",
                    "prescriber_signature_required",
                    "version",
                    "updated_at",
                    "is_locked",
                ]
            )
        return version
    previous = (
        PlanVersion.objects.select_for_update()
        .filter(plan_id=version.plan_id, status=PlanVersionStatus.SIGNED)
        .first()
    )
    if previous is not None:
        previous.status = PlanVersionStatus.SUPERSEDED
        previous.superseded_at = now
        previous.save(update_fields=["status", "superseded_at", "updated_at"])
    version.status = PlanVersionStatus.SIGNED
    version.signed_on = today
    version.review_every_days = deadlines.review_every_days
    version.prescriber_signature_required = deadlines.prescriber_signature_required
    version.next_review_on = today + timedelta(days=deadlines.review_every_days)
    version.content_sha256 = digest
    version.version += 1
    version.save()
    _event(
        version,
        PlanEvent.Kind.COMPLETED,
        actor,
        now,
        {"next_review_on": version.next_review_on.isoformat()},
    )
    _audit(
        actor,
        access,
        AuditAction.STATUS_CHANGE,
        "plan_version",
        version.public_id,
        {
            "to": "signed",
            "supersedes": str(previous.public_id) if previous else "",
            "deadline_sources": list(deadlines.sources),
        },
    )
    return version


@transaction.atomic
def plan_version_mark_entered_in_error(
    *,
    actor: User,
    access: PatientAccess,
    version_public_id: UUID | str,
    reason: str,
    now: datetime,
) -> PlanVersion:
    """Void an open version (kept with the reason, never deleted)."""
    _require(actor)
    version = _locked_version(access, version_public_id)
    if version.status == PlanVersionStatus.ENTERED_IN_ERROR:
        return version
    if version.status not in OPEN_STATUSES:
        raise ServiceError(
            ErrorCode.NOT_ALLOWED, "A plan in force is changed by a review, not voided."
        )
    if not reason.strip():
        raise ServiceError(ErrorCode.INVALID, "Give the reason.", field="reason")
    before = version.status
    version.status = PlanVersionStatus.ENTERED_IN_ERROR
    version.status_reason = reason.strip()
    version.save(update_fields=["status", "status_reason", "updated_at"])
    _event(version, PlanEvent.Kind.ENTERED_IN_ERROR, actor, now, {"from": before})
    _audit(
        actor,
        access,
        AuditAction.STATUS_CHANGE,
        "plan_version",
        version.public_id,
        {"from": before, "to": "entered_in_error"},
    )
    return version


@transaction.atomic
def plan_print(
    *, actor: User, access: PatientAccess, version_public_id: UUID | str, now: datetime
) -> tuple[PlanVersion, bytes]:
    """The plan version as a PDF (audited PRINT and kept in the plan's history)."""
    from openiop.plans.pdf import plan_pdf

    _require(actor, Perm.PATIENT_VIEW)
    if not PlanVersion.objects.filter(patient=access.patient, public_id=version_public_id).exists():
        raise ServiceError(ErrorCode.NOT_FOUND, "No such plan version.")
    version = version_with_rows(version_public_id)
    if version.status == PlanVersionStatus.ENTERED_IN_ERROR:
        raise ServiceError(ErrorCode.NOT_ALLOWED, "A voided version is not printed.")
    pdf = plan_pdf(version=version, patient=access.patient, printed_at=now, printed_by=actor)
    _event(version, PlanEvent.Kind.PRINTED, actor, now)
    _audit(actor, access, AuditAction.PRINT, "plan_version", version.public_id)
    return version, pdf


# ----- relapse-prevention plans ------------------------------------------------------------


@dataclass(frozen=True)
class RelapsePlanInput:
    triggers: tuple[str, ...] = ()
    warning_signs: tuple[str, ...] = ()
    coping_strategies: tuple[str, ...] = ()
    people_to_call: tuple[tuple[str, str], ...] = ()
    self_help_group: str = ""
    sponsor_name: str = ""
    sponsor_phone: str = ""
    after_lapse: str = ""
    developed_with_patient: bool = True


class RelapsePlanConflict(ServiceError):
    def __init__(self, current: RelapsePreventionPlan) -> None:
        super().__init__(
            ErrorCode.CONFLICT,
            f"Someone saved version {current.number} of the relapse-prevention plan while "
            "you were editing. Your entries are kept below; check them, then save again.",
        )
        self.current = current


def relapse_plan_errors(data: RelapsePlanInput) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not [t for t in data.triggers if t.strip()]:
        errors["triggers"] = "List at least one trigger."
    if not [t for t in data.coping_strategies if t.strip()]:
        errors["coping_strategies"] = "List at least one coping strategy."
    if not data.after_lapse.strip():
        errors["after_lapse"] = "Say what to do after a lapse."
    for n, (name, phone) in enumerate(data.people_to_call):
        if phone.strip() and not name.strip():
            errors[f"person_{n}_name"] = "Name the person for this number."
    if data.sponsor_phone.strip() and not data.sponsor_name.strip():
        errors["sponsor_name"] = "Name the sponsor for this number."
    return errors


@transaction.atomic
def relapse_plan_save(
    *,
    actor: User,
    access: PatientAccess,
    data: RelapsePlanInput,
    base_number: int,
    submission_token: UUID,
    now: datetime,
) -> RelapsePreventionPlan:
    """Save as a new version (`base_number` = version the editor started from, 0 for
    none); the previous stays, superseded. Links the current safety plan if any."""
    _require(actor)
    repeated = _receipt(submission_token, actor, "relapse_plan")
    if repeated is not None:
        return RelapsePreventionPlan.objects.get(public_id=repeated, patient=access.patient)
    Patient.objects.select_for_update().filter(pk=access.patient.pk).first()
    current = RelapsePreventionPlan.objects.filter(
        patient=access.patient, status=RelapsePlanStatus.CURRENT
    ).first()
    if (current.number if current else 0) != base_number:
        if current is None:
            raise ServiceError(ErrorCode.CONFLICT, "The plan changed; reload the page.")
        raise RelapsePlanConflict(current)
    errors = relapse_plan_errors(data)
    if errors:
        raise PlanInvalid(errors)
    if current is not None:
        current.status = RelapsePlanStatus.SUPERSEDED
        current.save(update_fields=["status", "updated_at"])
    plan = RelapsePreventionPlan.objects.create(
        patient=access.patient,
        number=(current.number if current else 0) + 1,
        triggers=[t.strip() for t in data.triggers if t.strip()],
        warning_signs=[t.strip() for t in data.warning_signs if t.strip()],
        coping_strategies=[t.strip() for t in data.coping_strategies if t.strip()],
        people_to_call=[
            {"name": n.strip(), "phone": p.strip()}
            for n, p in data.people_to_call
            if n.strip() or p.strip()
        ],
        self_help_group=data.self_help_group.strip(),
        sponsor_name=data.sponsor_name.strip(),
        sponsor_phone=data.sponsor_phone.strip(),
        after_lapse=data.after_lapse.strip(),
        developed_with_patient=data.developed_with_patient,
        safety_plan=safety_plan_current(patient=access.patient),
        written_by=actor,
        written_at=now,
    )
    SubmissionReceipt.objects.create(
        token=submission_token, actor=actor, kind="relapse_plan", object_public_id=plan.public_id
    )
    _audit(
        actor,
        access,
        AuditAction.CREATE,
        "relapse_plan",
        plan.public_id,
        {"version": plan.number, "supersedes": str(current.public_id) if current else ""},
    )
    return plan


@transaction.atomic
def relapse_plan_print(
    *, actor: User, access: PatientAccess, public_id: UUID | str, now: datetime
) -> tuple[RelapsePreventionPlan, bytes]:
    from openiop.plans.pdf import relapse_plan_pdf

    _require(actor, Perm.PATIENT_VIEW)
    plan = (
        RelapsePreventionPlan.objects.select_related("written_by", "safety_plan")
        .filter(patient=access.patient, public_id=public_id)
        .first()
    )
    if plan is None:
        raise ServiceError(ErrorCode.NOT_FOUND, "No such relapse-prevention plan.")
    program = (
        Episode.objects.select_related("program__site__organization")
        .filter(patient=access.patient)
        .order_by("-referred_on", "-id")
        .first()
    )
    pdf = relapse_plan_pdf(
        plan=plan,
        patient=access.patient,
        program=program.program if program else None,
        printed_at=now,
        printed_by=actor,
    )
    _audit(actor, access, AuditAction.PRINT, "relapse_plan", plan.public_id)
    return plan, pdf


def utc_iso(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat() if value else ""


def local_today() -> date:
    return timezone.localdate()
