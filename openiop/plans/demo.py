"""Demo treatment plans: a signed plan for most active patients admitted more than a few
days ago, one whose review is overdue, one awaiting the patient's signature, a Medicare
deadline setting (review every 60 days), and relapse-prevention plans for a few.
Bulk inserts: a bounded number of queries whatever the number of patients."""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from openiop.accounts.models import User
from openiop.assessments.models import Diagnosis
from openiop.attendance.models import AttendanceRecord
from openiop.attendance.rules import ATTENDED
from openiop.episodes.models import Episode, EpisodeStatus
from openiop.organizations.models import PlanType
from openiop.plans import services
from openiop.plans.models import (
    MEASURE_INSTRUMENT,
    Measure,
    ObjectiveReview,
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
from openiop.screening.models import AdministrationStatus, InstrumentAdministration

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


# Patients in care longer than this get a first plan superseded by a signed review.
HISTORY_AFTER_DAYS = 35
LOCKED = (PlanVersionStatus.SIGNED, PlanVersionStatus.SUPERSEDED)


def _review_progress(
    rng: random.Random, reviews: list[PlanVersion], copies: list[PlanObjective]
) -> None:
    """One ObjectiveReview per objective of each reviewed (first) version, with the
    evidence the record holds since its baseline, read for every patient at once
    (2 queries, as `selectors.evidence_for_objectives` reads for one)."""
    if not reviews:
        return
    by_review = {r.pk: r for r in reviews}
    firsts = {
        (o.plan_version_id, o.key): o
        for o in PlanObjective.objects.filter(plan_version_id__in=[r.previous_id for r in reviews])
    }
    patient_ids = [r.patient_id for r in reviews]
    since = min(o.baseline_on for o in firsts.values())
    scores: dict[tuple[int, str], list[tuple[date, int]]] = {}
    for pid, code, at, total in (
        InstrumentAdministration.objects.filter(
            patient_id__in=patient_ids,
            instrument_code__in=list(MEASURE_INSTRUMENT.values()),
            status=AdministrationStatus.COMPLETED,
            completed_at__date__gte=since,
        )
        .order_by("-completed_at")
        .values_list("patient_id", "instrument_code", "completed_at", "total")
    ):
        if total is not None and at is not None:
            scores.setdefault((pid, code), []).append((timezone.localdate(at), total))
    attended: dict[int, list[date]] = {}
    for pid, on in AttendanceRecord.objects.filter(
        patient_id__in=patient_ids, on__gte=since, status__in=list(ATTENDED)
    ).values_list("patient_id", "on"):
        attended.setdefault(pid, []).append(on)
    rows: list[ObjectiveReview] = []
    for copy in copies:
        review = by_review[copy.plan_version_id]
        first = firsts[(review.previous_id, copy.key)]
        evidence: list[dict[str, str]] = []
        current: Decimal | None = None
        if first.measure in MEASURE_INSTRUMENT:
            code = MEASURE_INSTRUMENT[first.measure]
            for on, total in scores.get((review.patient_id, code), []):
                if first.baseline_on <= on <= review.written_on:
                    evidence.append(
                        {"label": Measure(first.measure).label, "value": str(total), "on": str(on)}
                    )
            if evidence:
                current = Decimal(evidence[0]["value"])
        elif first.measure == Measure.SESSIONS_ATTENDED:
            n = sum(
                1
                for d in attended.get(review.patient_id, [])
                if first.baseline_on <= d <= review.written_on
            )
            evidence.append(
                {
                    "label": f"Sessions attended since {first.baseline_on:%d %b %Y}",
                    "value": str(n),
                    "on": str(review.written_on),
                }
            )
            current = Decimal(n)
        rows.append(
            ObjectiveReview(
                plan_version=review,
                objective=first,
                key=first.key,
                position=first.position,
                progress=_demo_progress(rng, first.baseline, first.target, current),
                current_value=current,
                evidence=evidence,
                comment="Reviewed with the patient.",
            )
        )
    ObjectiveReview.objects.bulk_create(rows)


def _demo_progress(
    rng: random.Random, baseline: Decimal | None, target: Decimal, current: Decimal | None
) -> str:
    """A progress mark that agrees with the demo's evidence: met when the current value
    has reached the target (in the target's direction from the baseline), progressing
    when it moved that way, otherwise not progressing. Without evidence, never met."""
    if current is None or baseline is None or baseline == target:
        return rng.choice(("progressing", "not_progressing"))
    lower_is_better = target < baseline
    if (current <= target) if lower_is_better else (current >= target):
        return "met"
    moved = (current < baseline) if lower_is_better else (current > baseline)
    return "progressing" if moved else "not_progressing"


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
    firsts: list[PlanVersion] = []
    review_written: dict[int, date] = {}  # plan id -> day the review version was written
    for e, plan in zip(chosen, plans, strict=True):
        assert e.admitted_on is not None
        written = min(today, e.admitted_on + timedelta(days=rng.randint(2, 6)))
        is_awaiting = e is awaiting
        if e is not overdue and not is_awaiting:
            recent = today - timedelta(days=rng.randint(3, 20))
            if e.admitted_on <= today - timedelta(days=HISTORY_AFTER_DAYS) and recent > written:
                # Long stays: the first plan, superseded by a signed review (history).
                review_written[plan.pk] = recent
            else:
                # The version in force is recent.
                written = max(written, recent)
        firsts.append(
            PlanVersion(
                plan=plan,
                patient=e.patient,
                number=1,
                status=(
                    PlanVersionStatus.AWAITING_SIGNATURES
                    if is_awaiting
                    else PlanVersionStatus.SUPERSEDED
                    if plan.pk in review_written
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
                superseded_at=(
                    _at(review_written[plan.pk], 11) if plan.pk in review_written else None
                ),
                created_by=plan.created_by,
            )
        )
    firsts = PlanVersion.objects.bulk_create(firsts)
    reviews = PlanVersion.objects.bulk_create(
        [
            PlanVersion(
                plan_id=v.plan_id,
                patient_id=v.patient_id,
                number=2,
                status=PlanVersionStatus.SIGNED,
                is_review=True,
                previous=v,
                written_on=review_written[v.plan_id],
                strengths=v.strengths,
                participation="Went through each objective with me and chose what to keep.",
                review_summary=rng.choice(
                    (
                        "Attending groups steadily; cravings less frequent. Objectives kept.",
                        "Mood improving; one lapse discussed and the relapse plan updated.",
                        "Engaged and working on the goals; targets kept for another month.",
                    )
                ),
                signed_on=review_written[v.plan_id],
                next_review_on=review_written[v.plan_id] + timedelta(days=30),
                review_every_days=30,
                content_sha256="pending",
                created_by_id=v.created_by_id,
            )
            for v in firsts
            if v.plan_id in review_written
        ]
    )
    versions = firsts + reviews
    problems: list[PlanProblem] = []
    for v in firsts:
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
    # The review copies the first plan's problems (same keys, as plan_draft_start does).
    review_of = {r.previous_id: r for r in reviews}
    copies = PlanProblem.objects.bulk_create(
        [
            PlanProblem(
                plan_version=review_of[p.plan_version_id],
                key=p.key,
                position=p.position,
                statement=p.statement,
                goal=p.goal,
                diagnosis_id=p.diagnosis_id,
                dimensions=p.dimensions,
            )
            for p in problems
            if p.plan_version_id in review_of
        ]
    )
    copy_of = {(c.plan_version_id, c.key): c for c in copies}
    objectives: list[PlanObjective] = []
    interventions: list[PlanIntervention] = []
    by_version = {v.pk: v for v in versions}
    for p in problems:
        v = by_version[p.plan_version_id]
        _, _, measure, baseline, target, text = GOALS[[g[0] for g in GOALS].index(p.statement)]
        target_on = v.written_on + timedelta(days=rng.choice((30, 45, 60)))
        modality, frequency = MODALITIES[(p.pk or 0) % len(MODALITIES)]
        # The first plan's rows, then the review's copies (same keys; later target date).
        rows = [(v, p, target_on)]
        review = review_of.get(v.pk)
        if review is not None:
            rows.append(
                (review, copy_of[(review.pk, p.key)], review.written_on + timedelta(days=45))
            )
        o_key, i_key = uuid.uuid4(), uuid.uuid4()
        for version, problem, by in rows:
            objectives.append(
                PlanObjective(
                    plan_version=version,
                    problem=problem,
                    key=o_key,
                    position=0,
                    text=text,
                    measure=measure,
                    baseline=Decimal(baseline),
                    baseline_on=v.written_on,
                    target=Decimal(target),
                    target_on=by,
                )
            )
            interventions.append(
                PlanIntervention(
                    plan_version=version,
                    problem=problem,
                    key=i_key,
                    position=0,
                    modality=modality,
                    frequency=frequency,
                    responsible_id=v.created_by_id,
                )
            )
    objectives = PlanObjective.objects.bulk_create(objectives)
    PlanIntervention.objects.bulk_create(interventions)
    review_ids = {r.pk for r in reviews}
    _review_progress(rng, reviews, [o for o in objectives if o.plan_version_id in review_ids])
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
        if v.status in LOCKED:
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
    version_ids = [v.pk for v in versions]
    # In slices: SQLite refuses one IN list of thousands ("Expression tree is too
    # large") when 10,000 patients are loaded.
    related = ("problems", "objectives__problem", "interventions__problem",
               "objective_reviews__objective")  # fmt: skip
    for start in range(0, len(version_ids), 500):
        chunk = version_ids[start : start + 500]
        for v in PlanVersion.objects.filter(pk__in=chunk).prefetch_related(*related):
            digests[v.pk] = services.content_sha256(v)
    for s in signatures:
        s.content_sha256 = digests[s.plan_version_id]
    PlanSignature.objects.bulk_create(signatures)
    locked = [v for v in versions if v.status in LOCKED]
    for v in locked:
        v.content_sha256 = digests[v.pk]
        v.is_locked = False  # locked after the digest is written (bulk update below)
    PlanVersion.objects.bulk_update(locked, ["content_sha256"])
    locked_ids = [v.pk for v in locked]
    for start in range(0, len(locked_ids), 500):
        PlanVersion.objects.filter(pk__in=locked_ids[start : start + 500]).update(is_locked=True)
    signed = [v for v in locked if v.status == PlanVersionStatus.SIGNED]
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
        f"plans: {len(signed)} signed treatment plans ({len(reviews)} after a review, the "
        f"first version kept; 1 review overdue), 1 awaiting the "
        f"patient's signature, {len(episodes) - len(chosen)} without a plan, "
        f"{len(relapse)} relapse-prevention plans"
    )
