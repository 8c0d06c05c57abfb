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
    rows = selectors.worklist(actor=User.objects.get(username="director"), today=TODAY)
    states = {r.due.state for r in rows}
    assert "review_overdue" in states
    assert any(r.due.awaiting_signatures for r in rows)
