"""Attendance in a real browser: a counselor takes attendance for a group of 12 (a bad
line first: its error next to it, everything typed kept), the census and the weekly
compliance figures change, and a director who opened the same roster before the save
is refused and shown what changed. Screenshots of the roster, census and compliance
report go to test-artifacts/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from openiop.alerts.models import Task
from openiop.attendance.models import AttendanceRecord
from openiop.attendance.services import FOLLOW_UP_KIND
from openiop.attendance.tests.helpers import make_group, make_session
from tests.browser.helpers import ARTIFACTS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_take_attendance_for_twelve_census_and_compliance(  # type: ignore[no-untyped-def]
    page: Page, live_server, world, shot, browser: Browser
) -> None:
    base = live_server.url
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    group = make_group(world, size=12, start=monday)
    session = next((s for s in group.sessions if s.on == today), None)
    if session is None:
        session = make_session(group.track, group.room, world.alice, today)
    day = today.isoformat()
    census_url = f"{base}/attendance/?day={day}"
    report_url = f"{base}/attendance/compliance/?track={group.track.public_id}&week={day}"

    sign_in(page, base, world.alice)
    page.goto(census_url)
    expect(page.locator("#census-expected")).to_have_text("12")
    expect(page.locator("#census-arrived")).to_have_text("0")
    page.goto(report_url)
    expect(page.locator("#met-count")).to_contain_text("0 of 12")
    first_row = page.locator("#compliance tbody tr").first
    expect(first_row).to_contain_text("0.00")

    # The director opens the same roster before the counselor saves.
    other = browser.new_context(viewport={"width": 1280, "height": 900})
    director = other.new_page()
    sign_in(director, base, world.dana)
    roster_url = f"{base}/attendance/sessions/{session.public_id}/"
    director.goto(roster_url)

    page.goto(census_url)
    page.locator(f"#session-{session.public_id} a", has_text="Take attendance").click()
    page.wait_for_url(roster_url)
    patients = group.patients
    for p in patients:
        page.select_option(f"#status-{p.public_id}", "present")
    late, early, absent = patients[1], patients[2], patients[3]
    page.select_option(f"#status-{late.public_id}", "late")  # minutes forgotten
    page.select_option(f"#status-{early.public_id}", "left_early")
    page.fill(f"input[name='left_early_minutes-{early.public_id}']", "30")
    page.select_option(f"#status-{absent.public_id}", "absent_unexcused")
    page.click("#save-roster")
    line = page.locator(f"#line-{late.public_id}")
    expect(line.locator(".field-error")).to_have_text("How many minutes late?")
    expect(page.locator(f"#status-{absent.public_id}")).to_have_value("absent_unexcused")
    expect(page.locator(f"input[name='left_early_minutes-{early.public_id}']")).to_have_value("30")
    assert not AttendanceRecord.objects.exists()
    page.fill(f"input[name='late_minutes-{late.public_id}']", "15")
    shot("attendance-roster")
    page.click("#save-roster")
    expect(page.locator(".messages")).to_contain_text("Attendance saved (12 changed)")
    expect(page.locator(".messages")).to_contain_text("1 follow-up task")
    assert AttendanceRecord.objects.filter(session=session).count() == 12
    assert Task.objects.filter(kind=FOLLOW_UP_KIND, patient=absent).exists()

    page.goto(census_url)
    expect(page.locator("#census-arrived")).to_have_text("11")
    expect(page.locator("#census-missing")).to_have_text("1")
    expect(page.locator("tr.missing")).to_contain_text(absent.phone)
    shot("attendance-census")

    page.goto(report_url)
    expect(page.locator("#compliance")).to_contain_text("3.00")  # a full 3-hour group
    expect(page.locator("#compliance")).to_contain_text("2.75")  # 15 minutes late
    expect(page.locator("#compliance")).to_contain_text("2.50")  # left 30 minutes early
    shot("attendance-compliance")

    # The director's roster was read before the save: refused, with what changed.
    director.select_option(f"#status-{absent.public_id}", "absent_excused")
    for p in patients:
        if p != absent:
            director.select_option(f"#status-{p.public_id}", "present")
    director.click("#save-roster")
    expect(director.locator("#roster-error")).to_contain_text("while you were marking it")
    expect(director.locator(f"#line-{absent.public_id}")).to_have_class("changed")
    expect(director.locator(f"#line-{absent.public_id} .current")).to_have_text(
        "Absent, unexcused, 0 min"
    )
    expect(director.locator(f"#status-{absent.public_id}")).to_have_value("absent_excused")
    director.screenshot(path=ARTIFACTS / "attendance-conflict.png", full_page=True)
    assert AttendanceRecord.objects.get(patient=absent, session=session).status == (
        "absent_unexcused"
    )
    other.close()
