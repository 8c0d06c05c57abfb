from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command

from openiop.accounts.models import User
from openiop.homework.models import HomeworkAssignment, HomeworkEntry
from openiop.plans import selectors, services
from openiop.plans.models import PlanVersion, RelapsePreventionPlan

TODAY = date(2026, 3, 2)


@pytest.mark.django_db
def test_demo_plans_and_homework(settings) -> None:  # type: ignore[no-untyped-def]
    settings.DEMO_MODE = True
    out = StringIO()
    call_command("demo_data", "--patients", "40", "--seed", "7", "--today", str(TODAY), stdout=out)
    text = out.getvalue()
    assert "signed treatment plans" in text and "homework:" in text
    signed = PlanVersion.objects.filter(status="signed")
    assert signed.count() >= 5
    assert PlanVersion.objects.filter(status="awaiting_signatures").count() == 1
    assert RelapsePreventionPlan.objects.exists()
    assert HomeworkAssignment.objects.filter(status="assigned").exists()
    assert HomeworkEntry.objects.exists()
    # Every signed demo version's digest is what signing would compute.
    for v in signed.prefetch_related(
        "problems", "objectives__problem", "interventions__problem", "objective_reviews__objective"
    )[:5]:
        assert v.content_sha256 == services.content_sha256(v)
        assert v.is_locked
    # Long stays show history: a first plan superseded by a signed review with progress
    # on each of its objectives, both locked with the digests signing would compute.
    reviews = PlanVersion.objects.filter(status="signed", is_review=True, number=2)
    assert reviews.exists()
    for review in reviews.select_related("previous").prefetch_related(
        "problems", "objectives__problem", "interventions__problem", "objective_reviews__objective"
    )[:3]:
        first = review.previous
        assert first is not None and first.status == "superseded" and first.is_locked
        assert first.superseded_at is not None and first.written_on < review.written_on
        assert review.content_sha256 == services.content_sha256(review)
        reviewed = {r.objective_id for r in review.objective_reviews.all()}
        assert reviewed == set(first.objectives.values_list("pk", flat=True))
        assert all(r.progress for r in review.objective_reviews.all())
        assert {o.key for o in review.objectives.all()} == set(
            first.objectives.values_list("key", flat=True)
        )
        assert {s.role for s in first.signatures.all()} == {"patient", "clinician"}
    superseded = PlanVersion.objects.filter(status="superseded").prefetch_related(
        "problems", "objectives__problem", "interventions__problem", "objective_reviews__objective"
    )
    assert all(v.content_sha256 == services.content_sha256(v) for v in superseded)
    assert any(
        r.evidence
        for v in reviews.prefetch_related("objective_reviews")
        for r in v.objective_reviews.all()
    )
    rows = selectors.worklist(actor=User.objects.get(username="director"), today=TODAY)
    states = {r.due.state for r in rows}
    assert "review_overdue" in states
    assert any(r.due.awaiting_signatures for r in rows)
