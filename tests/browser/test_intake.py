"""Intake in a real browser: record a referral, move it on the board (htmx swaps the
board in place; a refused move shows its error on the card), register it as a patient,
and an admission refused while consents are missing."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from openiop.accounts.roles import Role
from openiop.episodes.models import Episode
from openiop.intake.models import Referral
from tests.browser.helpers import sign_in, submit
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

INTAKE_TAB = re.compile(r"/patients/([0-9a-f-]{36})/chart/intake/$")


def test_referral_through_the_board_to_a_refused_admission(
    page: Page, live_server, world, shot
) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    ivy = UserFactory(
        username="ivy",
        organization=world.org,
        role=Role.INTAKE_COORDINATOR,
        programs=[world.program_a],
    )
    sign_in(page, base, ivy)
    page.get_by_role("link", name="Referrals").click()
    page.wait_for_url(base + "/intake/")
    page.get_by_role("link", name="Record a referral").click()

    page.select_option("#id_program", label="Morning SUD IOP")
    page.select_option("#id_urgency", "urgent")
    page.fill("#id_given_name", "Jordan")
    page.fill("#id_family_name", "Board-Test")
    page.fill("#id_date_of_birth", "1994-06-02")
    page.fill("#id_phone", "555-301")  # too short
    page.select_option("#id_source_type", "hospital")
    page.fill("#id_reason", "Alcohol use after an ED visit")
    page.select_option("#id_schedule_preference", "evening")
    page.fill("#id_schedule_notes", "Works 8 to 4")
    submit(page)
    phone = page.locator(".field", has=page.locator("#id_phone"))
    expect(phone.locator(".field-error")).to_contain_text("10-digit phone number")
    expect(page.locator("#id_schedule_notes")).to_have_value("Works 8 to 4")
    page.fill("#id_phone", "555-301-7788")
    submit(page)
    expect(page.locator("#referral-header")).to_contain_text("Board-Test, Jordan")
    referral = Referral.objects.get(family_name="Board-Test")

    # On the board: the card is in "New"; moving it swaps the board without a reload.
    page.get_by_role("link", name="Back to the board").click()
    page.wait_for_url(base + "/intake/")
    card = page.locator(f"#card-{referral.public_id}")
    expect(page.locator("#stage-new")).to_contain_text("Board-Test, Jordan")
    expect(card).to_contain_text("Urgent")
    expect(card).to_contain_text("Schedule: Evening")
    page.evaluate("() => { window.__sameDocument = true; }")
    card.locator("select").select_option("screening_scheduled")
    card.get_by_role("button", name="Move").click()
    expect(page.locator("#stage-screening_scheduled")).to_contain_text("Board-Test, Jordan")
    expect(page.locator(".board-notice")).to_contain_text("moved to Screening scheduled")
    assert page.evaluate("() => window.__sameDocument === true")  # swapped, not reloaded

    # A refused move (declined needs a reason) shows its error on the card, in place.
    card = page.locator(f"#card-{referral.public_id}")
    card.locator("select").select_option("declined")
    card.get_by_role("button", name="Move").click()
    expect(card.locator(".field-error")).to_contain_text("Give a reason for declined")
    expect(card.locator("select")).to_have_value("declined")
    assert page.evaluate("() => window.__sameDocument === true")
    shot("31-intake-board-refused-move")
    assert Referral.objects.get(pk=referral.pk).stage == "screening_scheduled"

    # Register the person as a patient from the referral (prefilled form).
    page.goto(base + f"/intake/referrals/{referral.public_id}/")
    page.get_by_role("link", name="Register as patient").click()
    expect(page.locator("#id_legal_family_name")).to_have_value("Board-Test")
    expect(page.locator("#id_date_of_birth")).to_have_value("1994-06-02")
    page.select_option("#id_sex_at_birth", "male")
    submit(page)
    page.wait_for_url(INTAKE_TAB)
    referral.refresh_from_db()
    assert referral.patient is not None and referral.episode is not None
    intake = page.locator("#intake")
    expect(intake).to_contain_text("Hospital or emergency department")

    # Admit: refused with the missing consents named at the top; the form keeps its input.
    intake.get_by_role("link", name="Admit to Morning SUD IOP").click()
    page.fill("#id_track", "Evening SUD")
    page.fill("#id_expected_weeks", "10")
    submit(page)
    expect(page.locator(".form-errors")).to_contain_text("Consent to treatment")
    expect(page.locator("#admission-refused")).to_contain_text("Program rules")
    expect(page.locator("#id_track")).to_have_value("Evening SUD")
    shot("32-intake-admission-refused")
    assert Episode.objects.get(pk=referral.episode.pk).status == "screening"
