"""Screening in a real browser: a PHQ-9 with item 9 positive raises the alert at once;
a high-risk C-SSRS (skip logic hiding items) needs a risk response and a safety plan
before its alert can be resolved."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from openiop.alerts.models import Alert, Task
from openiop.screening.models import InstrumentAdministration, SafetyPlan
from tests.browser.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _answer(page: Page, item: int, value: int) -> None:
    page.check(f"#id_item_{item}_{value}")


def test_phq9_item9_raises_alert_then_high_risk_cssrs_is_resolved_with_plan(  # type: ignore[no-untyped-def]
    page: Page, live_server, world, shot
) -> None:
    base = live_server.url
    pid = world.patient_a.public_id
    sign_in(page, base, world.alice)
    page.goto(f"{base}/patients/{pid}/chart/screening/")
    page.locator("#screening").get_by_role("link", name="Give an instrument").click()
    page.get_by_role("link", name=re.compile("^PHQ-9")).click()

    # A missing item: the error is next to it and the answers stay.
    for item, value in {1: 1, 2: 2, 3: 1, 4: 1, 5: 0, 6: 1, 7: 0, 9: 1}.items():
        _answer(page, item, value)
    page.get_by_role("button", name="Score").click()
    expect(page.locator("#item-8 .field-error")).to_contain_text("PHQ-9 item 8")
    expect(page.locator("#id_item_9_1")).to_be_checked()
    shot("screening-01-missing-item")

    _answer(page, 8, 0)
    page.get_by_role("button", name="Score").click()
    banner = page.locator(".risk-banner")
    expect(banner).to_contain_text("Suicide-risk alert raised")
    expect(page.locator("#result")).to_contain_text("Mild depression")
    expect(page.locator("#licence")).to_contain_text("Pfizer")
    shot("screening-02-phq9-result-banner")
    assert Alert.objects.filter(kind="suicide_risk").count() == 1
    assert Task.objects.get().assignee == world.alice

    # C-SSRS: "No" to item 2 hides items 3-5 (JavaScript); "Yes" shows them.
    page.goto(f"{base}/screening/patients/{pid}/instruments/C-SSRS/new/")
    _answer(page, 1, 1)
    _answer(page, 2, 0)
    expect(page.locator("#item-3")).to_be_hidden()
    _answer(page, 2, 1)
    expect(page.locator("#item-3")).to_be_visible()
    for item, value in {3: 1, 4: 1, 5: 0, 6: 0}.items():
        _answer(page, item, value)
    shot("screening-03-cssrs-form")
    page.get_by_role("button", name="Score").click()
    expect(page.locator(".risk-banner[data-alert-severity=high]")).to_be_visible()
    expect(page.locator("#result")).to_contain_text("High")

    # Resolving first is refused with what is missing.
    page.locator(".risk-banner").get_by_role("link", name="Resolve").click()
    page.fill("#id_note", "Seen today; plan agreed and ED visit done.")
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator(".form-errors")).to_contain_text("risk response")
    expect(page.locator("#id_note")).to_have_value("Seen today; plan agreed and ED visit done.")
    shot("screening-04-resolve-refused")

    page.get_by_role("link", name="Record the response").click()
    page.check("input[name=disposition][value=emergency_evaluation]")
    page.fill("#id_notes", "Escorted to the ED by a family member.")
    page.get_by_role("button", name="Save response").click()
    page.wait_for_url(re.compile(r"/resolve/$"))

    page.get_by_role("link", name="Write it").click()
    expect(page.locator("#id_professional_phone_0")).to_have_value("988")
    page.fill("#id_warning_signs", "Not sleeping\nPulling away from friends")
    page.fill("#id_coping_strategies", "Long walk")
    page.fill("#id_help_name_0", "Sam (brother)")
    page.fill("#id_help_phone_0", "555-0100")
    page.fill("#id_environment_safety", "Medicines kept by a family member")
    shot("screening-05-safety-plan-form")
    page.get_by_role("button", name="Save safety plan").click()
    expect(page.locator(".safety-plan")).to_contain_text("Sam (brother)")
    shot("screening-06-safety-plan")
    assert SafetyPlan.objects.get().number == 1

    high = Alert.objects.get(severity="high")
    page.goto(f"{base}/screening/patients/{pid}/alerts/{high.public_id}/resolve/")
    page.fill("#id_note", "Evaluated in ED, discharged home with the plan.")
    page.get_by_role("button", name="Resolve").click()
    page.wait_for_url(re.compile(rf"/patients/{pid}/chart/screening/$"))
    high.refresh_from_db()
    assert high.status == "resolved"
    expect(page.locator("#scores-c-ssrs")).to_contain_text("High risk")
    expect(page.locator("#scores-phq-9")).to_contain_text("7")
    shot("screening-07-chart")
    assert InstrumentAdministration.objects.filter(status="completed").count() == 2
