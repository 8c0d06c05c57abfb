"""Helpers for plan tests here and in other apps (notes link to plan objectives)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from openiop.accounts.models import User
from openiop.consents.tests.helpers import access_for, png_data_url
from openiop.patients.models import Patient
from openiop.plans import rules, services
from openiop.plans.models import PlanVersion

DAY = date(2026, 11, 2)


def moment(day: date = DAY, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour, 0))


def plan_input(
    staff: User,
    *,
    written_on: date = DAY,
    participation: str = "Chose the goals with me and wrote them in her words.",
    problems: int = 1,
    target_on: date | None = date(2026, 12, 15),
    baseline_on: date = date(2026, 11, 1),
    review_progress: dict[str, str] | None = None,
    review_summary: str = "",
    keys: list[tuple[str, str, str]] | None = None,
) -> services.PlanInput:
    rows = []
    for n in range(problems):
        p = f"p{n}"
        k = keys[n] if keys else ("", "", "")
        rows.append(
            services.ProblemRow(
                key=k[0],
                draft=rules.ProblemDraft(
                    prefix=p,
                    statement=f"Alcohol use disorder, moderate ({n})",
                    goal="I want to stay sober for my kids",
                    dimensions=(3, 5),
                    objectives=(),
                    interventions=(),
                ),
                objectives=(
                    services.ObjectiveRow(
                        key=k[1],
                        draft=rules.ObjectiveDraft(
                            prefix=f"{p}-o0",
                            text="Lower PHQ-9 below 10",
                            measure="phq9",
                            baseline=Decimal("16"),
                            baseline_on=baseline_on,
                            target=Decimal("9"),
                            target_on=target_on,
                        ),
                    ),
                ),
                interventions=(
                    services.InterventionRow(
                        key=k[2],
                        draft=rules.InterventionDraft(
                            prefix=f"{p}-i0",
                            modality="cbt",
                            frequency="3 groups a week",
                            responsible_id=staff.pk,
                        ),
                    ),
                ),
            )
        )
    # The rules see the objectives and interventions through the problem draft.
    rows = [
        services.ProblemRow(
            key=r.key,
            draft=rules.ProblemDraft(
                prefix=r.draft.prefix,
                statement=r.draft.statement,
                goal=r.draft.goal,
                dimensions=r.draft.dimensions,
                objectives=tuple(o.draft for o in r.objectives),
                interventions=tuple(i.draft for i in r.interventions),
            ),
            objectives=r.objectives,
            interventions=r.interventions,
        )
        for r in rows
    ]
    return services.PlanInput(
        written_on=written_on,
        strengths="Supportive sister",
        participation=participation,
        referrals="",
        review_summary=review_summary,
        problems=tuple(rows),
        reviews=tuple(
            services.ReviewRow(objective_public_id=k, progress=v, current_value=None, comment="")
            for k, v in (review_progress or {}).items()
        ),
    )


def start(actor: User, patient: Patient, day: date = DAY) -> PlanVersion:
    return services.plan_draft_start(
        actor=actor,
        access=access_for(patient),
        submission_token=uuid.uuid4(),
        today=day,
        now=moment(day),
    )


def save(actor: User, patient: Patient, version: PlanVersion, data: services.PlanInput):  # type: ignore[no-untyped-def]
    version = PlanVersion.objects.get(pk=version.pk)
    return services.plan_draft_save(
        actor=actor,
        access=access_for(patient),
        version_public_id=version.public_id,
        data=data,
        base_version=version.version,
        now=moment(),
    )


def sign(actor: User, patient: Patient, version: PlanVersion, role: str, day: date = DAY):  # type: ignore[no-untyped-def]
    v = services.version_with_rows(version.public_id)
    return services.plan_sign(
        actor=actor,
        access=access_for(patient),
        version_public_id=version.public_id,
        signature=services.PlanSignatureInput(
            role=role,
            typed_name=patient.full_name,
            signature_data_url=png_data_url() if role == "patient" else "",
            attest=True,
            signer_address="10.0.0.7",
            user_agent="pytest",
        ),
        shown_sha256=services.content_sha256(v),
        today=day,
        now=moment(day, 11),
    )


def make_signed_plan(actor: User, patient: Patient, day: date = DAY) -> PlanVersion:
    """A first plan written, saved and signed by the patient and `actor`."""
    version = start(actor, patient, day)
    save(actor, patient, version, plan_input(actor, written_on=day, baseline_on=day))
    sign(actor, patient, version, "patient", day)
    return sign(actor, patient, version, "clinician", day)
