"""Reading treatment plans: the plan page, the worklist, the chart section, evidence for
reviews, and the selectors other apps (notes) call. Each runs in a fixed number of
queries whatever the data size (asserted in tests)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

from django.db.models import Count, Prefetch, Q

from openiop.accounts.models import ProgramMembership, User
from openiop.attendance.models import AttendanceRecord, AttendanceStatus
from openiop.episodes.models import Episode, EpisodeStatus
from openiop.patients.models import Coverage, CoverageStatus, Patient
from openiop.plans import rules
from openiop.plans.models import (
    MEASURE_INSTRUMENT,
    Measure,
    ObjectiveReview,
    PlanDeadlineSetting,
    PlanIntervention,
    PlanObjective,
    PlanProblem,
    PlanVersion,
    PlanVersionStatus,
    RelapsePlanStatus,
    RelapsePreventionPlan,
    TreatmentPlan,
)
from openiop.screening.models import AdministrationStatus, InstrumentAdministration

ATTENDED = (AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY)


# ----- for other apps -------------------------------------------------------------------


def plan_current(*, patient: Patient) -> PlanVersion | None:
    """The signed version in force (the newest episode's first). 1 query."""
    return (
        PlanVersion.objects.select_related("plan__program", "plan__episode")
        .filter(patient=patient, status=PlanVersionStatus.SIGNED)
        .order_by("-plan__episode__referred_on", "-plan__episode_id")
        .first()
    )


def plan_objectives_current(*, patient: Patient) -> list[PlanObjective]:
    """Objectives of the signed versions in force (removed rows excluded), with
    `.problem` and `.plan_version` loaded. 1 query."""
    return list(
        PlanObjective.objects.select_related("problem", "plan_version")
        .filter(
            plan_version__patient=patient,
            plan_version__status=PlanVersionStatus.SIGNED,
            removed_at__isnull=True,
        )
        .order_by("plan_version_id", "problem__position", "position", "id")
    )


def objectives_by_key(*, patient: Patient, keys: Iterable[UUID]) -> dict[UUID, PlanObjective]:
    """The newest signed (or superseded) row of each key. 1 query."""
    rows = (
        PlanObjective.objects.select_related("problem", "plan_version")
        .filter(
            plan_version__patient=patient,
            plan_version__status__in=[PlanVersionStatus.SIGNED, PlanVersionStatus.SUPERSEDED],
            key__in=list(keys),
        )
        .order_by("plan_version__number")
    )
    return {o.key: o for o in rows}


# ----- deadlines ------------------------------------------------------------------------


def deadline_settings_for(organization_id: int) -> list[rules.DeadlineSetting]:
    """The organization's active deadline settings as plain values. 1 query."""
    return [
        rules.DeadlineSetting(
            label=s.label,
            program_id=s.program_id,
            payer_id=s.payer_id,
            plan_type=s.plan_type,
            jurisdiction=s.jurisdiction,
            due_within_days=s.due_within_days,
            review_every_days=s.review_every_days,
            prescriber_signature_required=s.prescriber_signature_required,
        )
        for s in PlanDeadlineSetting.objects.filter(organization_id=organization_id, is_active=True)
    ]


def deadline_settings_list(*, organization_id: int) -> list[PlanDeadlineSetting]:
    """Every deadline setting of the organization (active first), with program and
    payer loaded, for the settings screen. 1 query."""
    return list(
        PlanDeadlineSetting.objects.filter(organization_id=organization_id)
        .select_related("program__site", "payer")
        .order_by("-is_active", "label", "id")
    )


def deadline_setting_get(
    *, organization_id: int, public_id: UUID | str
) -> PlanDeadlineSetting | None:
    return (
        PlanDeadlineSetting.objects.filter(organization_id=organization_id, public_id=public_id)
        .select_related("program", "payer")
        .first()
    )


def payer_scope(patient_ids: Iterable[int]) -> dict[int, tuple[tuple[int, ...], tuple[str, ...]]]:
    """Active coverages' payer ids and plan types per patient. 1 query."""
    payers: dict[int, set[int]] = defaultdict(set)
    types: dict[int, set[str]] = defaultdict(set)
    for pid, payer_id, plan_type in Coverage.objects.filter(
        patient_id__in=list(patient_ids), status=CoverageStatus.ACTIVE
    ).values_list("patient_id", "payer_id", "plan_type"):
        if payer_id:
            payers[pid].add(payer_id)
        types[pid].add(plan_type)
    return {
        pid: (tuple(sorted(payers[pid])), tuple(sorted(types[pid])))
        for pid in set(payers) | set(types)
    }


# ----- evidence ------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    label: str
    value: str
    on: date | None
    numeric: Decimal | None = None


def evidence_for_objectives(
    *, patient: Patient, objectives: Sequence[PlanObjective], today: date
) -> dict[int, list[Evidence]]:
    """What the record shows for each objective since its baseline (2 queries):
    instrument scores for score measures (newest first) and sessions attended from
    attendance. Days abstinent and drug screens have no source in the record yet."""
    if not objectives:
        return {}
    since = min(o.baseline_on for o in objectives)
    codes = {MEASURE_INSTRUMENT[o.measure] for o in objectives if o.measure in MEASURE_INSTRUMENT}
    scores: dict[str, list[tuple[date, int]]] = defaultdict(list)
    if codes:
        for code, at, total in (
            InstrumentAdministration.objects.filter(
                patient=patient,
                instrument_code__in=codes,
                status=AdministrationStatus.COMPLETED,
                completed_at__date__gte=since,
            )
            .order_by("-completed_at")
            .values_list("instrument_code", "completed_at", "total")
        ):
            if total is not None and at is not None:
                scores[code].append((at.date(), total))
    attended: list[date] = []
    if any(o.measure == Measure.SESSIONS_ATTENDED for o in objectives):
        attended = list(
            AttendanceRecord.objects.filter(
                patient=patient, on__gte=since, on__lte=today, status__in=ATTENDED
            ).values_list("on", flat=True)
        )
    out: dict[int, list[Evidence]] = {}
    for o in objectives:
        items: list[Evidence] = []
        if o.measure in MEASURE_INSTRUMENT:
            code = MEASURE_INSTRUMENT[o.measure]
            for on, total in scores[code]:
                if on >= o.baseline_on:
                    items.append(Evidence(Measure(o.measure).label, str(total), on, Decimal(total)))
        elif o.measure == Measure.SESSIONS_ATTENDED:
            n = sum(1 for d in attended if d >= o.baseline_on)
            items.append(
                Evidence(
                    f"Sessions attended since {o.baseline_on:%d %b %Y}", str(n), today, Decimal(n)
                )
            )
        out[o.pk] = items
    return out


# ----- the plan page -------------------------------------------------------------------


@dataclass
class PlanPage:
    plan: TreatmentPlan | None
    versions: list[PlanVersion]
    current: PlanVersion | None
    open_version: PlanVersion | None
    relapse_plan: RelapsePreventionPlan | None


def plan_page(*, patient: Patient) -> PlanPage:
    """The patient's plans and versions with signatures, and the relapse-prevention
    plan. 3 queries."""
    versions = list(
        PlanVersion.objects.filter(patient=patient)
        .select_related("plan__program", "plan__episode", "created_by")
        .prefetch_related("signatures")
        .order_by("-plan__episode__referred_on", "-number")
    )
    current = next((v for v in versions if v.status == PlanVersionStatus.SIGNED), None)
    open_version = next(
        (
            v
            for v in versions
            if v.status in (PlanVersionStatus.DRAFT, PlanVersionStatus.AWAITING_SIGNATURES)
        ),
        None,
    )
    relapse = (
        RelapsePreventionPlan.objects.filter(patient=patient, status=RelapsePlanStatus.CURRENT)
        .select_related("written_by")
        .first()
    )
    return PlanPage(
        plan=versions[0].plan if versions else None,
        versions=versions,
        current=current,
        open_version=open_version,
        relapse_plan=relapse,
    )


def version_get(*, patient: Patient, public_id: UUID | str) -> PlanVersion | None:
    """One version with every row, review and signature. 7 queries."""
    return (
        PlanVersion.objects.filter(patient=patient, public_id=public_id)
        .select_related("plan__program__site__organization", "plan__episode", "created_by")
        .prefetch_related(
            Prefetch(
                "problems",
                queryset=PlanProblem.objects.filter(removed_at__isnull=True).select_related(
                    "diagnosis"
                ),
            ),
            Prefetch(
                "objectives",
                queryset=PlanObjective.objects.filter(removed_at__isnull=True).select_related(
                    "problem"
                ),
            ),
            Prefetch(
                "interventions",
                queryset=PlanIntervention.objects.filter(removed_at__isnull=True).select_related(
                    "problem", "responsible"
                ),
            ),
            Prefetch(
                "objective_reviews",
                queryset=ObjectiveReview.objects.select_related("objective"),
            ),
            "signatures",
        )
        .first()
    )


def version_history(*, plan_id: int) -> list[PlanVersion]:
    """Every version of one plan, newest first (for the version page's history). 1 query."""
    return list(
        PlanVersion.objects.filter(plan_id=plan_id)
        .only("public_id", "number", "status", "is_review", "written_on", "signed_on", "plan_id")
        .order_by("-number")
    )


# ----- worklist ----------------------------------------------------------------------


@dataclass
class WorklistRow:
    episode: Episode
    due: rules.PlanDue
    current: PlanVersion | None
    open_version: PlanVersion | None
    missing: tuple[str, ...]


def worklist(*, actor: User, today: date) -> list[WorklistRow]:
    """Active episodes in the actor's programs whose plan is due, overdue or awaiting
    signatures, most urgent first. 5 queries whatever the number of patients."""
    program_ids = list(
        ProgramMembership.objects.filter(user=actor).values_list("program_id", flat=True)
    )
    episodes = list(
        Episode.objects.filter(program_id__in=program_ids, status=EpisodeStatus.ACTIVE)
        .select_related("patient", "program__site", "primary_counselor")
        .order_by("admitted_on", "id")
    )
    versions = list(
        PlanVersion.objects.filter(
            plan__episode__in=[e.pk for e in episodes],
            status__in=[
                PlanVersionStatus.SIGNED,
                PlanVersionStatus.DRAFT,
                PlanVersionStatus.AWAITING_SIGNATURES,
            ],
        )
        .select_related("plan")
        .annotate(
            n_patient=Count("signatures", filter=Q(signatures__role="patient")),
            n_clinician=Count("signatures", filter=Q(signatures__role="clinician")),
            n_prescriber=Count("signatures", filter=Q(signatures__role="prescriber")),
        )
    )
    by_episode: dict[int, dict[str, PlanVersion]] = defaultdict(dict)
    for v in versions:
        slot = "signed" if v.status == PlanVersionStatus.SIGNED else "open"
        by_episode[v.plan.episode_id][slot] = v
    org_settings: dict[int, list[rules.DeadlineSetting]] = {}
    scopes = payer_scope(e.patient_id for e in episodes)
    rows: list[WorklistRow] = []
    for e in episodes:
        org_id = e.program.site.organization_id
        if org_id not in org_settings:
            org_settings[org_id] = deadline_settings_for(org_id)
        payer_ids, plan_types = scopes.get(e.patient_id, ((), ()))
        deadlines = rules.deadlines_for(
            org_settings[org_id],
            program_id=e.program_id,
            payer_ids=payer_ids,
            plan_types=plan_types,
            jurisdiction=e.patient.state,
        )
        slots = by_episode.get(e.pk, {})
        signed = slots.get("signed")
        open_v = slots.get("open")
        missing: tuple[str, ...] = ()
        awaiting = False
        if open_v is not None and open_v.status == PlanVersionStatus.AWAITING_SIGNATURES:
            awaiting = True
            present = [
                role
                for role in (rules.PATIENT, rules.CLINICIAN, rules.PRESCRIBER)
                if getattr(open_v, f"n_{role}")
            ]
            missing = rules.missing_signatures(
                required=rules.required_signers(
                    prescriber_required=deadlines.prescriber_signature_required
                ),
                present=present,
            )
        due = rules.plan_due_state(
            today=today,
            admitted_on=e.admitted_on,
            last_signed_on=signed.signed_on if signed else None,
            deadlines=deadlines,
            awaiting_signatures=awaiting,
        )
        if due.on_worklist:
            rows.append(WorklistRow(e, due, signed, open_v, missing))
    rows.sort(key=lambda r: (r.due.due_on or date.max, r.episode.pk))
    return rows


# ----- chart ---------------------------------------------------------------------------


@dataclass
class ChartPlan:
    current: PlanVersion | None
    open_version: PlanVersion | None
    objectives: list[PlanObjective]
    relapse_plan: RelapsePreventionPlan | None


def chart_plan(*, patient: Patient) -> ChartPlan:
    """The chart section's plan part: current and open versions, current objectives,
    relapse-prevention plan. 3 queries."""
    versions = list(
        PlanVersion.objects.filter(
            patient=patient,
            status__in=[
                PlanVersionStatus.SIGNED,
                PlanVersionStatus.DRAFT,
                PlanVersionStatus.AWAITING_SIGNATURES,
            ],
        )
        .select_related("plan__program")
        .order_by("-plan__episode__referred_on", "-number")
    )
    current = next((v for v in versions if v.status == PlanVersionStatus.SIGNED), None)
    open_v = next((v for v in versions if v.status != PlanVersionStatus.SIGNED), None)
    objectives = plan_objectives_current(patient=patient) if current else []
    relapse = RelapsePreventionPlan.objects.filter(
        patient=patient, status=RelapsePlanStatus.CURRENT
    ).first()
    return ChartPlan(current, open_v, objectives, relapse)


def relapse_plan_versions(*, patient: Patient) -> list[RelapsePreventionPlan]:
    return list(
        RelapsePreventionPlan.objects.filter(patient=patient).select_related(
            "written_by", "safety_plan"
        )
    )


def relapse_plan_get(*, patient: Patient, public_id: UUID | str) -> RelapsePreventionPlan | None:
    return (
        RelapsePreventionPlan.objects.filter(patient=patient, public_id=public_id)
        .select_related("written_by", "safety_plan")
        .first()
    )
