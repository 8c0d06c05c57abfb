"""Demo treatment plans: a signed plan for most active patients admitted more than a few
days ago, one whose review is overdue, one awaiting the patient's signature, a Medicare
deadline setting (review every 60 days), and relapse-prevention plans for a few.
Bulk inserts: a bounded number of queries whatever the number of patients."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from openiop.accounts.models import User
from openiop.assessments.models import Diagnosis
from openiop.episodes.models import Episode, EpisodeStatus
from openiop.organizations.models import PlanType
from openiop.plans import services
from openiop.plans.models import (
    PlanDeadlineSetting,
    PlanIntervention,
    PlanObjective,
    PlanProblem,
    PlanSignature,
    PlanVersion,
    PlanVersionStatus,
    RelapsePreventionPlan,
    TreatmentPlan,
)

GOALS = (
    (
        "Alcohol use is harming my family and my job",
        "I want to be someone my kids can count on",
        "days_abstinent",
        "0",
        "30",
        "Stay sober one day at a time, counted in days abstinent",
    ),
    (
        "Low mood and loss of interest",
        "I want to enjoy things again",
        "phq9",
        "17",
        "9",
        "PHQ-9 under 10",
    ),
    (
        "Worry keeps me from working",
        "I want to get through a work day without panicking",
        "gad7",
        "15",
        "8",
        "GAD-7 under 10",
    ),
    (
        "Opioid use disorder in early remission on buprenorphine",
        "I want to stay on my medication and keep my apartment",
        "sessions_attended",
        "0",
        "24",
        "Attend at least 24 group sessions",
    ),
)
MODALITIES = (
    ("relapse_prevention", "3 groups a week"),
    ("cbt", "Weekly individual session"),
    ("mat", "Buprenorphine, monthly medication visit"),
    ("case_management", "Every two weeks"),
    ("family_education", "Monthly family group"),
)


def _at(day: date, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def load(*, seed: int, today: date) -> str:
    rng = random.Random(seed * 7919 + 5)  # noqa: S311 (demo data, not security)
    director = User.objects.select_related("organization").get(username="director")
    org = director.organization
    assert org is not None
    fallback = User.objects.get(username="counselor")
    PlanDeadlineSetting.objects.create(
        organization=org,
        label="Medicare IOP: plan reviewed at least every other month (clinical.md §3, §8.1)",
        plan_type=PlanType.MEDICARE,
        review_every_days=60,
    )
    episodes = list(
        Episode.objects.filter(
            program__site__organization=org,
            status=EpisodeStatus.ACTIVE,
            admitted_on__lte=today - timedelta(days=3),
        )
        .select_related("patient", "primary_counselor", "program")
        .order_by("admitted_on", "id")
    )
    diagnoses: dict[int, int] = {}
    for pid, did in (
        Diagnosis.objects.filter(patient__organization=org)
        .order_by("patient_id", "rank", "id")
        .values_list("patient_id", "id")
    ):
        diagnoses.setdefault(pid, did)
    # Most active patients get a signed plan; a few are left without (due/overdue).
    chosen = [e for n, e in enumerate(episodes) if n % 6 != 5]
    if not chosen:
        return "plans: no active episodes"
    overdue = chosen[0]  # the longest in care: its only plan is long past review
    awaiting = chosen[-1]  # the newest: written, clinician signed, patient not yet
    plans = TreatmentPlan.objects.bulk_create(
        [
            TreatmentPlan(
                patient=e.patient,
                episode=e,
                program=e.program,
                created_by=e.primary_counselor or fallback,
            )
            for e in chosen
        ]
    )
    versions: list[PlanVersion] = []
    for e, plan in zip(chosen, plans, strict=True):
        assert e.admitted_on is not None
        written = min(today, e.admitted_on + timedelta(days=rng.randint(2, 6)))
        if e is not overdue:
            # Long stays: the version in force is recent (earlier reviews not generated).
            written = max(written, today - timedelta(days=rng.randint(3, 20)))
        is_awaiting = e is awaiting
        versions.append(
            PlanVersion(
                plan=plan,
                patient=e.patient,
                number=1,
                status=(
                    PlanVersionStatus.AWAITING_SIGNATURES
                    if is_awaiting
                    else PlanVersionStatus.SIGNED
                ),
                written_on=written,
                strengths=rng.choice(
                    (
                        "Supportive sister; keeps appointments",
                        "Motivated by work",
                        "Sense of humour",
                    )
                ),
                participation="Chose the problems and wrote the goals in their own words with me.",
                signed_on=None if is_awaiting else written,
                next_review_on=None if is_awaiting else written + timedelta(days=30),
                review_every_days=None if is_awaiting else 30,
                content_sha256="" if is_awaiting else "pending",
                created_by=plan.created_by,
            )
        )
    versions = PlanVersion.objects.bulk_create(versions)
    problems: list[PlanProblem] = []
    for v in versions:
        for n in range(rng.choice((1, 2))):
            statement, goal, *_ = GOALS[(v.plan_id + n) % len(GOALS)]
            problems.append(
                PlanProblem(
                    plan_version=v,
                    position=n,
                    statement=statement,
                    goal=goal,
                    diagnosis_id=diagnoses.get(v.patient_id) if n == 0 else None,
                    dimensions=[3, 5] if n == 0 else [3],
                )
            )
    problems = PlanProblem.objects.bulk_create(problems)
    objectives: list[PlanObjective] = []
    interventions: list[PlanIntervention] = []
    by_version = {v.pk: v for v in versions}
    for p in problems:
        v = by_version[p.plan_version_id]
        _, _, measure, baseline, target, text = GOALS[[g[0] for g in GOALS].index(p.statement)]
        objectives.append(
            PlanObjective(
                plan_version=v,
                problem=p,
                position=0,
                text=text,
                measure=measure,
                baseline=Decimal(baseline),
                baseline_on=v.written_on,
                target=Decimal(target),
                target_on=v.written_on + timedelta(days=rng.choice((30, 45, 60))),
            )
        )
        modality, frequency = MODALITIES[(p.pk or 0) % len(MODALITIES)]
        interventions.append(
            PlanIntervention(
                plan_version=v,
                problem=p,
                position=0,
                modality=modality,
                frequency=frequency,
                responsible_id=v.created_by_id,
            )
        )
    PlanObjective.objects.bulk_create(objectives)
    PlanIntervention.objects.bulk_create(interventions)
    signatures: list[PlanSignature] = []
    patients = {e.patient_id: e.patient for e in chosen}
    staff = {u.pk: u for u in User.objects.filter(pk__in={v.created_by_id for v in versions})}
    for v in versions:
        clinician = staff[v.created_by_id]
        signed_at = _at(v.written_on, 11)
        signatures.append(
            PlanSignature(
                plan_version=v,
                role="clinician",
                signer=clinician,
                signed_name=clinician.get_full_name(),
                credentials=clinician.credentials,
                method="typed",
                signed_at=signed_at,
                collected_by=clinician,
                content_sha256="",
            )
        )
        if v.status == PlanVersionStatus.SIGNED:
            signatures.append(
                PlanSignature(
                    plan_version=v,
                    role="patient",
                    signed_name=patients[v.patient_id].full_name,
                    method="typed",
                    signed_at=signed_at,
                    collected_by=clinician,
                    content_sha256="",
                )
            )
    # The digests the signatures cover, computed from the rows as signing would.
    digests: dict[int, str] = {}
    for v in PlanVersion.objects.filter(pk__in=[v.pk for v in versions]).prefetch_related(
        "problems", "objectives__problem", "interventions__problem", "objective_reviews__objective"
    ):
        digests[v.pk] = services.content_sha256(v)
    for s in signatures:
        s.content_sha256 = digests[s.plan_version_id]
    PlanSignature.objects.bulk_create(signatures)
    signed = [v for v in versions if v.status == PlanVersionStatus.SIGNED]
    for v in signed:
        v.content_sha256 = digests[v.pk]
        v.is_locked = False  # locked after the digest is written (bulk update below)
    PlanVersion.objects.bulk_update(signed, ["content_sha256"])
    PlanVersion.objects.filter(pk__in=[v.pk for v in signed]).update(is_locked=True)
    # Relapse-prevention plans for every fourth planned patient.
    relapse = [
        RelapsePreventionPlan(
            patient=e.patient,
            number=1,
            triggers=["Payday", "Friday nights", "Arguments at home"][: 2 + n % 2],
            warning_signs=["Skipping meals", "Not returning calls"],
            coping_strategies=["Call my sponsor", "Go to a meeting", "Walk the dog"],
            people_to_call=[{"name": "Sponsor", "phone": "555-0100"}],
            self_help_group="Tuesday night AA",
            sponsor_name="Sponsor",
            sponsor_phone="555-0100",
            after_lapse="Tell my sponsor the same day and come to group the next morning.",
            written_by=e.primary_counselor or fallback,
            written_at=_at(e.admitted_on or today, 14),
        )
        for n, e in enumerate(chosen)
        if n % 4 == 1
    ]
    RelapsePreventionPlan.objects.bulk_create(relapse)
    return (
        f"plans: {len(signed)} signed treatment plans (1 review overdue), 1 awaiting the "
        f"patient's signature, {len(episodes) - len(chosen)} without a plan, "
        f"{len(relapse)} relapse-prevention plans"
    )
