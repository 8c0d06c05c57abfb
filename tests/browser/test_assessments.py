"""Assessments in a real browser: a biopsychosocial assessment with an impossible date
(error beside the field, nothing lost), diagnoses found with the htmx code search, a
level-of-care assessment with an out-of-range rating, then the transparent
recommendation, and the eligibility table with its evidence."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from openiop.assessments.models import BiopsychosocialAssessment, Diagnosis, LevelOfCareAssessment
from openiop.assessments.services import (
    EligibilityRuleInput,
    eligibility_rule_save,
    level_table_load_example,
)
from tests.browser.helpers import field_error, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_biopsychosocial_diagnoses_level_of_care_and_eligibility(  # type: ignore[no-untyped-def]
    page: Page, live_server, world, shot
) -> None:
    base = live_server.url
    pid = world.patient_a.public_id
    today = timezone.localdate()
    detox_start, detox_end = today - timedelta(days=12), today - timedelta(days=8)
    level_table_load_example(organization=world.org)
    eligibility_rule_save(
        actor=world.dana,
        program=world.program_a,
        data=EligibilityRuleInput(
            min_age=18,
            prior_care_types=("withdrawal_management",),
            prior_care_must_be_completed=True,
            prior_care_within_days=30,
            require_level_2_1_or_step_down=True,
            exclusions="Active psychosis",
        ),
        base_version=None,
    )
    sign_in(page, base, world.alice)
    page.goto(f"{base}/patients/{pid}/")
    tabs = page.get_by_role("navigation", name="Chart sections")
    tabs.get_by_role("link", name="Assessments").click()
    expect(tabs.get_by_role("link", name="Assessments")).to_have_attribute("aria-current", "page")
    page.locator("#assessments").get_by_role("link", name="New").first.click()

    # Biopsychosocial: last use before birth and an end before the start.
    page.fill("#id_presenting_problem", "Drinking daily since losing job; two DUIs.")
    page.select_option("#id_substances-0-substance", "alcohol")
    page.select_option("#id_substances-0-frequency", "daily")
    page.fill("#id_substances-0-age_first_use", "15")
    page.fill("#id_substances-0-last_use_on", "1980-01-01")
    page.fill("#id_substances-0-amount", "A fifth of vodka")
    page.select_option("#id_treatments-0-treatment_type", "withdrawal_management")
    page.fill("#id_treatments-0-facility", "County Detox")
    page.fill("#id_treatments-0-started_on", detox_start.isoformat())
    page.fill("#id_treatments-0-ended_on", (detox_start - timedelta(days=3)).isoformat())
    page.select_option("#id_treatments-0-outcome", "completed")
    page.select_option("#id_readiness_stage", "preparation")
    page.fill("#id_patient_goals", "Be there for my kids.")
    page.get_by_role("button", name="Save and mark completed").click()
    assert "before the patient's date of birth" in field_error(page, "id_substances-0-last_use_on")
    assert "is before the start date" in field_error(page, "id_treatments-0-ended_on")
    expect(page.locator("#id_substances-0-amount")).to_have_value("A fifth of vodka")
    expect(page.locator("#id_patient_goals")).to_have_value("Be there for my kids.")
    shot("assessments-01-impossible-dates")
    assert not BiopsychosocialAssessment.objects.exists()
    page.fill("#id_substances-0-last_use_on", (today - timedelta(days=13)).isoformat())
    page.fill("#id_treatments-0-ended_on", detox_end.isoformat())
    page.get_by_role("button", name="Save and mark completed").click()
    expect(page.get_by_text("Biopsychosocial assessment completed.")).to_be_visible()
    assert BiopsychosocialAssessment.objects.get().status == "completed"

    # Diagnoses through the code search (htmx swaps the results in as one types).
    for words, code, rank in (
        ("alcohol dependence unc", "F10.20", None),
        ("F33.1", "F33.1", "secondary"),
    ):
        page.goto(f"{base}/assessments/patients/{pid}/diagnoses/new/")
        page.fill("#icd-q", words)
        page.locator(f"button[name=choose][value='{code}']").click()
        expect(page.locator("#chosen-code")).to_contain_text(code)
        if rank:
            page.select_option("#id_rank", rank)
        page.get_by_role("button", name="Record diagnosis").click()
        expect(page.get_by_text("Diagnosis recorded.")).to_be_visible()
    assert Diagnosis.objects.filter(status="active").count() == 2
    expect(page.locator("#dual-diagnosis-badge")).to_be_visible()

    # Level of care: a rating of 5, then the recommendation and the record.
    page.goto(f"{base}/assessments/patients/{pid}/level-of-care/new/")
    for n, rating in zip(range(1, 7), ("1", "0", "2", "1", "5", "1"), strict=True):
        page.fill(f"#id_d{n}_rating", rating)
    page.fill("#id_d3_rationale", "Low mood most days.")
    page.fill("#id_d5_rationale", "Relapsed within a week after two detoxes.")
    page.get_by_role("button", name="Record assessment").click()
    assert field_error(page, "id_d5_rating") == "Rate Dimension 5 from 0 (none) to 4 (severe)."
    expect(page.locator("#id_d3_rationale")).to_have_value("Low mood most days.")
    shot("assessments-02-rating-out-of-range")
    page.fill("#id_d5_rating", "2")
    page.get_by_role("button", name="Show the recommendation").click()
    expect(page.locator("#recommendation")).to_contain_text("set by Dimension 3, Dimension 5")
    page.select_option("#id_chosen_level", "2.1")
    page.get_by_role("button", name="Record assessment").click()
    expect(page.locator("#medical-necessity")).to_contain_text("Level 2.1 was chosen.")
    shot("assessments-03-level-of-care")
    assert LevelOfCareAssessment.objects.get().recommended_level == "2.1"

    # Eligibility with the evidence from the rows above.
    page.goto(f"{base}/patients/{pid}/chart/assessments/")
    page.locator("#assessments").get_by_role("link", name="Check eligibility").click()
    page.get_by_role("button", name="Check").click()
    table = page.locator("#eligibility-table")
    expect(table).to_contain_text(
        f"completed withdrawal management {detox_start.isoformat()} to "
        f"{detox_end.isoformat()}, 8 days ago"
    )
    page.check("#id_exclusion_0_1")  # absent
    page.get_by_role("button", name="Record eligibility check").click()
    expect(page.locator("#overall")).to_have_text("All rules met")
    expect(page).to_have_url(re.compile(r"/eligibility/[0-9a-f-]{36}/$"))
    shot("assessments-04-eligibility")
