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

    page.goto(f"{base}/patients/{pid}/")
    expect(page.locator("#plan-chart")).to_contain_text("In force: version 1")
    expect(page.locator("#plan-chart")).to_contain_text("Stay sober: days abstinent")
    page.locator("#plan").scroll_into_view_if_needed()
    shot("plans-04-chart")
