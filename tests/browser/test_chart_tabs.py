"""The chart's tab bar: real links from the overview to a section's tab, the current tab
marked, usable on a phone, and working with JavaScript turned off."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from openiop.alerts.models import Alert
from openiop.episodes.models import EpisodeEvent, EpisodeStatus
from openiop.notes.tests.helpers import draft, sign
from openiop.patients.chart_sections import SECTIONS
from openiop.patients.models import Coverage, EmergencyContact
from tests.browser.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def _record(world) -> None:  # type: ignore[no-untyped-def]
    """Something on each of the two tabs looked at: history, an alert, notes."""
    EpisodeEvent.objects.create(
        episode=world.episode_a,
        kind=EpisodeEvent.Kind.OPENED,
        to_status=EpisodeStatus.ACTIVE,
        to_level="2.1",
        effective_on=dt.date(2026, 10, 1),
        changed_by=world.alice,
        changed_at=timezone.now() - dt.timedelta(days=7),
    )
    Alert.objects.create(
        patient=world.patient_a,
        kind="disengagement",
        severity="moderate",
        title="Three unexcused absences in a row",
        raised_at=timezone.now() - dt.timedelta(hours=3),
    )
    Coverage.objects.create(
        patient=world.patient_a,
        plan_type="medicaid",
        member_id="MCD-5512",
        effective_start=dt.date(2026, 1, 1),
    )
    EmergencyContact.objects.create(
        patient=world.patient_a, name="Morgan Canary", relationship="sister", phone="555-0142"
    )
    sign(world, draft(world))
    draft(world)


def _tab_bar(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_role("navigation", name="Chart sections")


def _fits(page: Page, width: int) -> None:
    """Nothing sticks out sideways, and every tab is on screen without scrolling."""
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    for box in (
        _tab_bar(page)
        .get_by_role("link")
        .evaluate_all("links => links.map(a => a.getBoundingClientRect().toJSON())")
    ):
        assert box["left"] >= 0 and box["right"] <= width, box


def test_tabs_from_overview_to_notes_on_desktop_and_phone(
    page: Page, live_server, world, shot
) -> None:  # type: ignore[no-untyped-def]
    _record(world)
    base = live_server.url
    pid = world.patient_a.public_id
    sign_in(page, base, world.alice)

    page.goto(f"{base}/patients/{pid}/")
    expect(page).to_have_title(re.compile(rf"^Overview · Chart {world.patient_a.mrn}"))
    links = _tab_bar(page).get_by_role("link")
    expect(links).to_have_text(["Overview", *[s.label for s in SECTIONS]])
    current = _tab_bar(page).locator("[aria-current=page]")
    expect(current).to_have_text("Overview")
    expect(page.locator("#episodes")).to_contain_text("Morning SUD IOP")
    expect(page.locator("#coverage")).to_contain_text("MCD-5512")
    expect(page.locator("#chart-alerts")).to_contain_text("Three unexcused absences")
    expect(page.locator("#notes")).to_have_count(0)
    shot("chart-tabs-overview-desktop")

    _tab_bar(page).get_by_role("link", name="Notes").click()
    page.wait_for_url(f"{base}/patients/{pid}/chart/notes/")
    expect(page).to_have_title(re.compile(rf"^Notes · Chart {world.patient_a.mrn}"))
    expect(current).to_have_text("Notes")
    expect(page.locator("#notes h2")).to_have_text("Notes")
    expect(page.locator("#notes .chart-notes li")).to_have_count(2)
    expect(page.locator("#notes-unsigned")).to_have_text("1 unsigned")
    # The header and the alerts block are on every tab; the overview's panels are not.
    expect(page.locator("#chart-header")).to_contain_text("Morning SUD IOP")
    expect(page.locator("#chart-alerts")).to_contain_text("Three unexcused absences")
    expect(page.locator("#episodes")).to_have_count(0)
    _fits(page, DESKTOP["width"])
    shot("chart-tabs-notes-desktop")

    page.set_viewport_size(PHONE)
    page.goto(f"{base}/patients/{pid}/")
    _fits(page, PHONE["width"])
    shot("chart-tabs-overview-phone")
    _tab_bar(page).get_by_role("link", name="Notes").click()
    page.wait_for_url(f"{base}/patients/{pid}/chart/notes/")
    expect(current).to_have_text("Notes")
    _fits(page, PHONE["width"])
    shot("chart-tabs-notes-phone")


def test_tabs_are_plain_links_that_work_without_javascript(  # type: ignore[no-untyped-def]
    browser: Browser, live_server, world
) -> None:
    context = browser.new_context(java_script_enabled=False, viewport=PHONE)
    try:
        page = context.new_page()
        base = live_server.url
        sign_in(page, base, world.alice)
        page.goto(f"{base}/patients/{world.patient_a.public_id}/")
        for section in SECTIONS:
            _tab_bar(page).get_by_role("link", name=section.label, exact=True).click()
            page.wait_for_url(f"{base}/patients/{world.patient_a.public_id}/chart/{section.key}/")
            expect(page.locator(f"#{section.key} h2")).to_have_text(section.heading)
            expect(_tab_bar(page).locator("[aria-current=page]")).to_have_text(section.label)
    finally:
        context.close()
