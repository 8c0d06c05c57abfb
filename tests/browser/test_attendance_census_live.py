"""The census refreshes itself in a real browser: the front desk keeps today's census
open; from a second browser a director checks in a rostered patient and then a walk-in
(a patient of the program on no roster, found by name). Both arrivals appear on the first
page without a reload (htmx polling; the interval is shortened to 1 s for the test with
ATTENDANCE_CENSUS_POLL_SECONDS). Screenshots go to test-artifacts/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from openiop.attendance.models import AttendanceRecord
from openiop.attendance.tests.helpers import make_group, make_session
from tests.browser.helpers import ARTIFACTS, sign_in
from tests.factories import EpisodeFactory, PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_census_shows_check_ins_from_another_page_without_reload(  # type: ignore[no-untyped-def]
    page: Page, live_server, world, shot, browser: Browser, settings
) -> None:
    settings.ATTENDANCE_CENSUS_POLL_SECONDS = 1
    base = live_server.url
    today = timezone.localdate()
    group = make_group(world, size=3, start=today - timedelta(days=today.weekday()))
    session = next((s for s in group.sessions if s.on == today), None)
    if session is None:
        session = make_session(group.track, group.room, world.alice, today)
    walker = PatientFactory(organization=world.org, legal_family_name="Walkerton")
    EpisodeFactory(patient=walker, program=world.program_a, primary_counselor=world.alice)
    census_url = f"{base}/attendance/?day={today.isoformat()}"

    sign_in(page, base, world.alice)
    page.goto(census_url)
    expect(page.locator("#census-expected")).to_have_text("3")
    expect(page.locator("#census-arrived")).to_have_text("0")
    expect(page.locator("#census")).to_have_attribute("hx-trigger", "every 1s")
    page.evaluate("window.__sameDocument = 'yes'")  # lost if the page reloads

    other = browser.new_context(viewport={"width": 1280, "height": 900})
    desk = other.new_page()
    sign_in(desk, base, world.dana)
    desk.goto(census_url)
    first = group.patients[1]
    desk.locator(f"#session-{session.public_id} tr", has_text=first.legal_family_name).locator(
        "button.check-in"
    ).click()
    expect(desk.locator(".messages")).to_contain_text("Checked in.")

    # The first page picks the arrival up by itself.
    expect(page.locator("#census-arrived")).to_have_text("1")
    arrived_row = page.locator(f"#session-{session.public_id} tr.arrived")
    expect(arrived_row).to_contain_text(first.legal_family_name)

    # A walk-in from the second page: search by name, choose the session, check in.
    desk.fill("#walk-in-form input[name=q]", "walker")
    desk.locator("#walk-in-form button").click()
    row = desk.locator(f"#walk-in-{walker.public_id}")
    expect(row).to_contain_text("Walkerton")
    row.locator("button.check-in").click()  # no session chosen yet
    expect(desk.locator(f"#walk-in-{walker.public_id} .field-error")).to_have_text(
        "Choose the session they are joining."
    )
    expect(desk.locator("#walk-in-search input[name=q]")).to_have_value("walker")
    desk.screenshot(path=ARTIFACTS / "attendance-walk-in-error.png", full_page=True)
    row = desk.locator(f"#walk-in-{walker.public_id}")
    row.locator("select[name=session]").select_option(str(session.public_id))
    row.locator("button.check-in").click()
    expect(desk.locator(".messages")).to_contain_text("Checked in as a walk-in.")
    record = AttendanceRecord.objects.get(patient=walker)
    assert record.walk_in and record.session == session

    expect(page.locator("#census-arrived")).to_have_text("2")
    walk_in_row = page.locator(f"#session-{session.public_id} tr", has_text="Walkerton")
    expect(walk_in_row).to_contain_text("walk-in")
    assert page.evaluate("window.__sameDocument") == "yes"
    shot("attendance-census-live")
    other.close()
