"""Homework in a real browser: a thought record assigned from an objective of the plan
in force, a completion recorded with the patient where an emotion intensity of 150 is
refused next to its field (everything else typed kept) and corrected, then the chart
shows it waiting to be reviewed in the next session."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from openiop.homework.models import HomeworkAssignment, HomeworkEntry
from openiop.plans.tests.helpers import make_signed_plan
from tests.browser.helpers import field_error, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_assign_a_thought_record_from_an_objective_and_record_it(  # type: ignore[no-untyped-def]
    page: Page, live_server, world, shot
) -> None:
    today = timezone.localdate()
    plan = make_signed_plan(world.alice, world.patient_a, day=today - timedelta(days=5))
    objective = plan.objectives.get()
    base = live_server.url
    pid = world.patient_a.public_id
    sign_in(page, base, world.alice)

    # From the objective on the plan in force.
    page.goto(f"{base}/plans/patients/{pid}/versions/{plan.public_id}/")
    page.locator("#problem-1 a.assign-homework").first.click()
    page.wait_for_url(re.compile(rf"/homework/patients/{pid}/\?objective="))
    expect(page.locator("#id_objective")).to_have_value(str(objective.public_id))
    page.select_option("#id_kind", "thought_record")
    page.fill("#id_due_on", (today + timedelta(days=7)).isoformat())
    page.fill("#id_instructions", "One thought record when the urge to drink comes.")
    shot("homework-01-assign")
    page.locator("#assign-form button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/homework/patients/{pid}/$"))
    row = page.locator("#homework-list tr", has_text="Thought record")
    expect(row).to_contain_text("Lower PHQ-9 below 10")
    assignment = HomeworkAssignment.objects.get()
    assert assignment.objective_id == objective.pk and assignment.kind == "thought_record"

    # Recording the completed sheet with the patient: 150 is refused next to the field.
    row.get_by_role("link", name="Open").click()
    page.fill("#id_situation", "Friday after work, walking past the bar")
    page.fill("#id_automatic_thought", "One drink won't matter")
    page.fill("#id_emotion", "Craving")
    page.fill("#id_intensity", "150")
    page.fill("#id_evidence_for", "I had a hard week")
    page.fill("#id_evidence_against", "One drink has never stayed one")
    page.fill("#id_balanced_thought", "I can call my sponsor and go home")
    page.fill("#id_rerated", "40")
    page.locator("#entry-form button[type=submit]").click()
    assert "Enter a number from 0 to 100." in field_error(page, "id_intensity")
    expect(page.locator("#id_situation")).to_have_value("Friday after work, walking past the bar")
    expect(page.locator("#id_balanced_thought")).to_have_value("I can call my sponsor and go home")
    expect(page.locator("#id_intensity")).to_have_value("150")
    shot("homework-02-intensity-refused")
    assert HomeworkEntry.objects.count() == 0

    page.fill("#id_intensity", "85")
    page.locator("#entry-form button[type=submit]").click()
    expect(page.locator("#homework-status")).to_contain_text("Completed")
    expect(page.locator(".entry")).to_contain_text("85")
    entry = HomeworkEntry.objects.get()
    assert entry.data["intensity"] == 85 and entry.recorded_by_kind == "staff"
    shot("homework-03-recorded")

    # The chart's plan tab shows it waiting for review in the next session.
    page.goto(f"{base}/patients/{pid}/chart/plan/")
    review = page.locator("#plan-chart .homework-to-review")
    expect(review).to_contain_text("Thought record")
    expect(review).to_contain_text("Lower PHQ-9 below 10")
    page.locator("#plan-chart").scroll_into_view_if_needed()
    shot("homework-04-chart")
