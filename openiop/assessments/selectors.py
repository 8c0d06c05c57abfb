"""Reads for assessments. Patient-level selectors take a patient the caller has
already fetched through `patient_get_for_user` (which refuses outsiders)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.db.models import Prefetch, QuerySet

from openiop.accounts.models import User
from openiop.alerts.models import Alert, AlertKind, AlertSeverity, AlertStatus
from openiop.assessments import rules
from openiop.assessments.models import (
    AssessmentStatus,
    BiopsychosocialAssessment,
    Diagnosis,
    DiagnosisStatus,
    EligibilityCheck,
    EligibilityRule,
    LevelOfCareAssessment,
    LevelOfCareStatus,
    LevelOfCareTable,
    SubstanceUse,
    TreatmentHistory,
)
from openiop.organizations.models import Program
from openiop.patients.models import Patient

# --- Biopsychosocial --------------------------------------------------------------


def _rows_prefetch() -> list[Prefetch[str]]:
    return [
        Prefetch(
            "substance_rows",
            queryset=SubstanceUse.objects.filter(removed_at__isnull=True),
            to_attr="substances",
        ),
        Prefetch(
            "treatment_rows",
            queryset=TreatmentHistory.objects.filter(removed_at__isnull=True),
            to_attr="treatments",
        ),
    ]


def biopsychosocial_list(*, patient: Patient) -> list[BiopsychosocialAssessment]:
    return list(
        BiopsychosocialAssessment.objects.filter(patient=patient).select_related(
            "created_by", "completed_by"
        )
    )


def biopsychosocial_get(
    *, patient: Patient, public_id: UUID | str
) -> BiopsychosocialAssessment | None:
    return (
        BiopsychosocialAssessment.objects.filter(patient=patient, public_id=public_id)
        .select_related("created_by", "completed_by", "revises")
        .prefetch_related(*_rows_prefetch())
        .first()
    )


def biopsychosocial_latest(*, patient: Patient) -> BiopsychosocialAssessment | None:
    """The newest completed assessment, else the newest draft (never one in error)."""
    qs = BiopsychosocialAssessment.objects.filter(patient=patient)
    return (
        qs.filter(status=AssessmentStatus.COMPLETED).order_by("-assessed_on", "-id").first()
        or qs.filter(status=AssessmentStatus.DRAFT).order_by("-assessed_on", "-id").first()
    )


def treatment_history(*, patient: Patient) -> tuple[tuple[rules.TreatmentStay, ...] | None, bool]:
    """The treatment history rows of the latest assessment (None when there is none),
    and whether that assessment is still a draft."""
    latest = biopsychosocial_latest(patient=patient)
    if latest is None:
        return None, False
    rows = TreatmentHistory.objects.filter(assessment=latest, removed_at__isnull=True)
    stays = tuple(
        rules.TreatmentStay(r.treatment_type, r.started_on, r.ended_on, r.outcome) for r in rows
    )
    return stays, latest.status == AssessmentStatus.DRAFT


# --- Diagnoses --------------------------------------------------------------------


def diagnoses_active(*, patient: Patient) -> list[Diagnosis]:
    """Active diagnoses, the primary first."""
    return list(
        Diagnosis.objects.filter(patient=patient, status=DiagnosisStatus.ACTIVE).order_by(
            "rank", "code"
        )
    )


def diagnoses_all(*, patient: Patient) -> list[Diagnosis]:
    return list(
        Diagnosis.objects.filter(patient=patient)
        .select_related("recorded_by")
        .order_by("status", "rank", "code")
    )


def dual_diagnosis_of(diagnoses: list[Diagnosis]) -> rules.DualDiagnosis:
    return rules.dual_diagnosis(d.code for d in diagnoses if d.status == DiagnosisStatus.ACTIVE)


# --- Level of care ----------------------------------------------------------------


def loc_latest(*, patient: Patient) -> LevelOfCareAssessment | None:
    """The newest level-of-care assessment not entered in error."""
    return (
        LevelOfCareAssessment.objects.filter(patient=patient, status=LevelOfCareStatus.COMPLETED)
        .order_by("-assessed_on", "-id")
        .first()
    )


def loc_list(*, patient: Patient) -> list[LevelOfCareAssessment]:
    return list(LevelOfCareAssessment.objects.filter(patient=patient).select_related("assessed_by"))


def level_table_for(
    *, organization_id: int
) -> tuple[LevelOfCareTable | None, dict[int, dict[int, str]]]:
    table = (
        LevelOfCareTable.objects.filter(organization_id=organization_id)
        .prefetch_related("cells")
        .first()
    )
    grid: dict[int, dict[int, str]] = {}
    if table is not None:
        for cell in table.cells.all():
            grid.setdefault(cell.dimension, {})[cell.rating] = cell.min_level
    return table, grid


def high_suicide_risk_open(*, patient: Patient) -> bool:
    return Alert.objects.filter(
        patient=patient,
        kind=AlertKind.SUICIDE_RISK,
        severity=AlertSeverity.HIGH,
        status=AlertStatus.OPEN,
    ).exists()


# --- Eligibility ------------------------------------------------------------------


def eligibility_programs(*, actor: User) -> QuerySet[Program]:
    return Program.objects.filter(site__organization_id=actor.org_id, is_active=True).order_by(
        "name"
    )


def current_program_id(*, patient: Patient) -> int | None:
    """The program of the patient's current episode (to preselect on the check page)."""
    from openiop.episodes.models import Episode
    from openiop.patients.selectors import current_episode

    episode = current_episode(list(Episode.objects.filter(patient=patient)))
    return episode.program_id if episode else None


def eligibility_rule_for(*, program: Program) -> EligibilityRule | None:
    return EligibilityRule.objects.filter(program=program).first()


def criteria_of(rule: EligibilityRule | None) -> rules.EligibilityCriteria:
    if rule is None:
        return rules.EligibilityCriteria()
    return rules.EligibilityCriteria(
        min_age=rule.min_age,
        max_age=rule.max_age,
        prior_care_types=tuple(rule.prior_care_types),
        prior_care_must_be_completed=rule.prior_care_must_be_completed,
        prior_care_within_days=rule.prior_care_within_days,
        require_level_2_1_or_step_down=rule.require_level_2_1_or_step_down,
        step_down_within_days=rule.step_down_within_days,
        exclusions=tuple(rule.exclusion_list()),
    )


def eligibility_facts(
    *, patient: Patient, exclusion_answers: dict[str, str] | None = None
) -> rules.EligibilityFacts:
    history, is_draft = treatment_history(patient=patient)
    latest = loc_latest(patient=patient)
    finding = None
    if latest is not None:
        finding = rules.LevelFinding(
            assessed_on=latest.assessed_on,
            recommended=latest.recommended_level,
            chosen=latest.chosen_level,
            driving_dimensions=tuple(latest.driving_dimensions),
        )
    return rules.EligibilityFacts(
        date_of_birth=patient.date_of_birth,
        treatment_history=history,
        history_is_draft=is_draft,
        level=finding,
        exclusion_answers=exclusion_answers or {},
    )


def eligibility_checks(*, patient: Patient, program: Program) -> list[EligibilityCheck]:
    return list(
        EligibilityCheck.objects.filter(patient=patient, program=program).select_related(
            "checked_by"
        )[:10]
    )


# --- Chart section ----------------------------------------------------------------


@dataclass(frozen=True)
class ChartSummary:
    biopsychosocial: BiopsychosocialAssessment | None
    diagnoses: list[Diagnosis]
    dual: rules.DualDiagnosis
    level_of_care: LevelOfCareAssessment | None


def chart_summary(*, patient: Patient) -> ChartSummary:
    """What the chart's assessments section shows, in three queries."""
    bps = (
        BiopsychosocialAssessment.objects.filter(patient=patient)
        .exclude(status=AssessmentStatus.ENTERED_IN_ERROR)
        .order_by("-assessed_on", "-id")
        .only("public_id", "status", "assessed_on", "patient_id")
        .first()
    )
    active = diagnoses_active(patient=patient)
    return ChartSummary(
        biopsychosocial=bps,
        diagnoses=active,
        dual=rules.dual_diagnosis(d.code for d in active),
        level_of_care=loc_latest(patient=patient),
    )
