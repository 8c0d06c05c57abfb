"""Treatment plans in a real browser: a plan written with the patient's goals, an
objective without a target date refused next to the field (everything typed kept), the
draft autosaved while typing, then signed by the patient on the canvas and by the
clinician; the chart shows the plan in force."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from openiop.plans.models import PlanSignature, PlanVersion
from tests.browser.helpers import field_error, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _draw(page: Page) -> None:
    canvas = page.locator("#signature-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    x, y = box["x"], box["y"]
    page.mouse.move(x + 30, y + 120)
    page.mouse.down()
    for step in range(1, 30):
        page.mouse.move(x + 30 + step * 12, y + 120 - (step % 5) * 14)
    page.mouse.up()


def test_write_and_sign_a_plan(page: Page, live_server, world, shot) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    pid = world.patient_a.public_id
    sign_in(page, base, world.alice)
    page.goto(f"{base}/patients/{pid}/")
    page.get_by_role("navigation", name="Chart sections").get_by_role(
        "link", name="Treatment plan"
    ).click()
    expect(page.locator("#plan-chart")).to_contain_text("No signed treatment plan")
    page.locator("#plan-chart").get_by_role("link", name="Treatment plan and versions").click()
    page.get_by_role("button", name="Write the treatment plan").click()
    page.wait_for_url(re.compile(r"/edit/$"))

    page.fill("#participation", "Avery chose both goals and wrote them in her own words.")
    page.fill("#p0-statement", "Alcohol use disorder, moderate")
    page.fill("#p0-goal", "I want to be someone my kids can count on")
    page.check("input[name=p0-dimensions][value='5']")
    page.fill("#p0-o0-text", "Stay sober: days abstinent")
    page.select_option("#p0-o0-measure", "days_abstinent")
    page.fill("#p0-o0-baseline", "0")
    page.fill("#p0-o0-baseline_on", "2026-11-02")
    page.fill("#p0-o0-target", "30")
    # No target date yet.
    page.select_option("#p0-i0-modality", "relapse_prevention")
    page.fill("#p0-i0-frequency", "3 groups a week")
    page.select_option("#p0-i0-responsible", index=1)
    # The draft saves itself while typing (core/autosave.js).
    expect(page.locator("#autosave-status")).to_contain_text("Draft saved", timeout=10_000)
    assert PlanVersion.objects.get().draft_data["p0-goal"] == (
        "I want to be someone my kids can count on"
    )
    page.get_by_role("button", name="Save the draft").click()
    assert "An objective needs a target date." in field_error(page, "p0-o0-target_on")
    expect(page.locator("#p0-goal")).to_have_value("I want to be someone my kids can count on")
    # Nothing was lost, so the browser's kept copy is not offered back.
    expect(page.locator(".autosave-restore")).to_have_count(0)
    shot("plans-01-missing-target-date")
    page.fill("#p0-o0-target_on", "2026-12-15")
    page.get_by_role("button", name="Save the draft").click()
    page.wait_for_url(re.compile(r"/versions/[0-9a-f-]+/$"))
    expect(page.locator("#plan-missing")).to_contain_text("the patient")

    # The patient signs on the canvas.
    page.locator("#sign-patient-link").click()
    page.fill("#id_typed_name", "Avery Canary-PA")
    _draw(page)
    shot("plans-02-patient-signing")
    page.get_by_role("button", name="Sign", exact=True).click()
    page.wait_for_url(re.compile(r"/versions/[0-9a-f-]+/$"))
    expect(page.locator("#plan-signatures")).to_contain_text("Patient: Avery Canary-PA")

    # The clinician signs.
    page.check("#clinician-attest")
    page.locator("#sign-clinician button").click()
    expect(page.locator("#version-status")).to_contain_text("Signed (current)")
    shot("plans-03-signed")
    patient_sig = PlanSignature.objects.get(role="patient")
    assert patient_sig.method == "drawn" and bytes(patient_sig.signature_png)[:4] == b"\x89PNG"
    assert PlanSignature.objects.filter(role="clinician", signer=world.alice).exists()

    page.goto(f"{base}/patients/{pid}/chart/plan/")
    expect(page.locator("#plan-chart")).to_contain_text("In force: version 1")
    expect(page.locator("#plan-chart")).to_contain_text("Stay sober: days abstinent")
    page.locator("#plan").scroll_into_view_if_needed()
    shot("plans-04-chart")


def test_review_a_signed_plan_with_evidence_and_read_the_earlier_version(  # type: ignore[no-untyped-def]
    page: Page, live_server, world, shot
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from openiop.episodes.models import Episode
    from openiop.plans.tests.helpers import make_signed_plan, moment
    from openiop.screening.models import InstrumentAdministration

    today = timezone.localdate()
    signed_day = today - timedelta(days=35)
    Episode.objects.filter(pk=world.episode_a.pk).update(admitted_on=signed_day - timedelta(days=3))
    v1 = make_signed_plan(world.alice, world.patient_a, day=signed_day)
    InstrumentAdministration.objects.create(
        patient=world.patient_a,
        instrument_code="phq9",
        definition_version="1",
        status="completed",
        total=11,
        administered_by=world.alice,
        administered_at=moment(today - timedelta(days=4)),
        completed_at=moment(today - timedelta(days=4)),
    )
    base = live_server.url
    pid = world.patient_a.public_id
    sign_in(page, base, world.alice)

    # The worklist shows the review overdue (signed 35 days ago, reviewed every 30).
    page.goto(f"{base}/plans/worklist/")
    row = page.locator("#plan-worklist tr", has_text="Canary-PA")
    expect(row).to_contain_text("Review overdue")
    shot("plans-05-worklist")

    page.goto(f"{base}/plans/patients/{pid}/")
    expect(page.locator("#plan-current")).to_contain_text("In force: version 1")
    page.get_by_role("button", name="Start a review").click()
    page.wait_for_url(re.compile(r"/edit/$"))
    review = page.locator("#review")
    expect(review).to_contain_text("Progress since version 1")
    expect(review).to_contain_text("Lower PHQ-9 below 10")
    expect(review).to_contain_text(f"PHQ-9 score 11 ({(today - timedelta(days=4)).isoformat()})")
    objective_prefix = page.locator("#review select").first.get_attribute("id")
    assert objective_prefix is not None
    page.select_option(f"#{objective_prefix}", "progressing")
    page.fill(f"#{objective_prefix.replace('-progress', '-current_value')}", "11")
    page.fill("#review_summary", "PHQ-9 down from 16 to 11; keeps coming to groups.")
    page.fill("#participation", "Avery went through each objective and chose the new target.")
    page.fill("#p0-o0-text", "Lower PHQ-9 below 8")
    shot("plans-06-review-with-evidence")
    page.get_by_role("button", name="Save the draft").click()
    page.wait_for_url(re.compile(r"/versions/[0-9a-f-]+/$"))
    expect(page.locator("#plan-reviews")).to_contain_text("PHQ-9 score 11")
    expect(page.locator("#plan-reviews")).to_contain_text("Progressing (now 11.0)")

    page.locator("#sign-patient-link").click()
    page.fill("#id_typed_name", "Avery Canary-PA")
    _draw(page)
    page.get_by_role("button", name="Sign", exact=True).click()
    page.wait_for_url(re.compile(r"/versions/[0-9a-f-]+/$"))
    page.check("#clinician-attest")
    page.locator("#sign-clinician button").click()
    expect(page.locator("#version-status")).to_contain_text("Signed (current)")
    expect(page.locator("#version-history")).to_contain_text("2 (review) · signed (current)")
    shot("plans-07-review-signed")

    # The earlier version stays readable with its original content.
    page.locator("#version-history a", has_text="1 · superseded").click()
    page.wait_for_url(re.compile(rf"/versions/{v1.public_id}/$"))
    expect(page.locator("#version-superseded")).to_contain_text("An earlier version")
    expect(page.locator("#problem-1")).to_contain_text("Lower PHQ-9 below 10")
    expect(page.locator("#problem-1")).not_to_contain_text("below 8")
    expect(page.locator("#plan-signatures")).to_contain_text("Patient: Avery Canary-PA")
    shot("plans-08-earlier-version")

    page.goto(f"{base}/plans/patients/{pid}/")
    expect(page.locator("#plan-current")).to_contain_text("In force: version 2")
    expect(page.locator("#plan-versions")).to_contain_text("Superseded by a later version")
    shot("plans-09-plan-page")
    assert PlanVersion.objects.get(pk=v1.pk).status == "superseded"
