"""Reading administrations, risk responses and safety plans.

Staff reads take a `PatientAccess` (from `patient_get_for_user`, which refuses and
audits outsiders), so nothing here can reach a patient the actor may not see.
`safety_plan_current` takes a patient: the portal shows the patient their own plan.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from uuid import UUID

from django.db.models import Q, QuerySet

from openiop.alerts.models import Alert, AlertKind
from openiop.instruments import InstrumentDefinition, definitions
from openiop.patients.models import Patient
from openiop.patients.selectors import PatientAccess
from openiop.screening.models import (
    AdministrationStatus,
    InstrumentAdministration,
    RiskResponse,
    SafetyPlan,
    SafetyPlanStatus,
)

ADMINISTRATION_SOURCE = "instrument_administration"
CHART_ROWS_PER_INSTRUMENT = 5


def safety_plan_current(*, patient: Patient) -> SafetyPlan | None:
    """The patient's current safety plan (newest version), or None."""
    return (
        SafetyPlan.objects.filter(patient=patient, status=SafetyPlanStatus.CURRENT)
        .select_related("written_by")
        .first()
    )


def safety_plan_versions(*, access: PatientAccess) -> list[SafetyPlan]:
    """Every version, newest first."""
    return list(
        SafetyPlan.objects.filter(patient=access.patient)
        .select_related("written_by")
        .order_by("-number")
    )


def safety_plan_get(*, access: PatientAccess, public_id: UUID) -> SafetyPlan | None:
    return (
        SafetyPlan.objects.filter(patient=access.patient, public_id=public_id)
        .select_related("written_by")
        .first()
    )


def administration_get(
    *, access: PatientAccess, public_id: UUID
) -> InstrumentAdministration | None:
    return (
        InstrumentAdministration.objects.filter(patient=access.patient, public_id=public_id)
        .select_related("administered_by", "entered_in_error_by", "episode__program")
        .first()
    )


def administrations_for_patient(
    *, access: PatientAccess, instrument_code: str = ""
) -> QuerySet[InstrumentAdministration]:
    """Every administration, drafts and entered-in-error included, newest first."""
    qs = InstrumentAdministration.objects.filter(patient=access.patient).select_related(
        "administered_by"
    )
    if instrument_code:
        qs = qs.filter(instrument_code=instrument_code)
    return qs.order_by("-administered_at", "-id")


def alerts_for_administration(*, administration: InstrumentAdministration) -> list[Alert]:
    """The suicide-risk alerts this administration raised (open or resolved)."""
    return list(
        Alert.objects.filter(
            patient_id=administration.patient_id,
            source_type=ADMINISTRATION_SOURCE,
            source_id__startswith=str(administration.public_id),
        ).order_by("-raised_at")
    )


def alert_get(*, access: PatientAccess, public_id: UUID) -> Alert | None:
    return Alert.objects.filter(patient=access.patient, public_id=public_id).first()


def administration_for_alert(*, alert: Alert) -> InstrumentAdministration | None:
    if alert.source_type != ADMINISTRATION_SOURCE or not alert.source_id:
        return None
    public_id = alert.source_id.split(":", 1)[0]
    return (
        InstrumentAdministration.objects.filter(patient_id=alert.patient_id, public_id=public_id)
        .select_related("administered_by")
        .first()
    )


def risk_responses_for_alert(*, alert: Alert) -> list[RiskResponse]:
    return list(
        RiskResponse.objects.filter(alert=alert).select_related("assessed_by", "recorded_by")
    )


@dataclass
class InstrumentHistory:
    definition: InstrumentDefinition
    rows: list[InstrumentAdministration]
    count: int


@dataclass
class ScreeningChart:
    """What the chart's screening section shows, read in two queries."""

    drafts: list[InstrumentAdministration] = field(default_factory=list)
    histories: list[InstrumentHistory] = field(default_factory=list)
    safety_plan: SafetyPlan | None = None


def _group(
    rows: Iterable[InstrumentAdministration], per_instrument: int
) -> list[InstrumentHistory]:
    by_code: dict[str, list[InstrumentAdministration]] = {}
    for row in rows:
        by_code.setdefault(row.instrument_code, []).append(row)
    return [
        InstrumentHistory(
            definition=definition,
            rows=by_code[definition.code][:per_instrument],
            count=len(by_code[definition.code]),
        )
        for definition in definitions()
        if definition.code in by_code
    ]


def screening_chart(*, patient: Patient) -> ScreeningChart:
    """Drafts in progress, completed scores per instrument (newest first) and the current
    safety plan. Called from the chart, after the chart view has checked access."""
    rows = list(
        InstrumentAdministration.objects.filter(
            Q(status=AdministrationStatus.COMPLETED) | Q(status=AdministrationStatus.DRAFT),
            patient=patient,
        )
        .select_related("administered_by")
        .order_by("-administered_at", "-id")
    )
    return ScreeningChart(
        drafts=[row for row in rows if row.is_draft],
        histories=_group((row for row in rows if row.is_completed), CHART_ROWS_PER_INSTRUMENT),
        safety_plan=safety_plan_current(patient=patient),
    )


def open_risk_alerts(alerts: Iterable[Alert]) -> list[Alert]:
    """The open suicide-risk alerts among those the chart already loaded (no query)."""
    return [alert for alert in alerts if alert.kind == AlertKind.SUICIDE_RISK]
