"""Subscribe to a patient's calendar feed as a calendar client would, parse it with
independent parsers (vobject, recurring-ical-events; not icalendar, which wrote it),
then revoke it on the chart and see the address stop working."""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import recurring_ical_events
import vobject
import x_wr_timezone  # noqa: F401  (recurring-ical-events' own dependency; proves it is installed)
from django.utils import timezone
from playwright.sync_api import Page, expect

from openiop.reminders.tests import helpers
from tests.browser.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
NY = ZoneInfo("America/New_York")


def _fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback)
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


def test_subscribe_parse_and_revoke(page: Page, live_server, world, shot) -> None:  # type: ignore[no-untyped-def]
    start = timezone.now().astimezone(NY).replace(hour=10, minute=0, second=0, microsecond=0)
    start += timedelta(days=2)
    helpers.enrol(
        patient=world.patient_a,
        episode=world.episode_a,
        program=world.program_a,
        by=world.alice,
        start_on=timezone.localdate() - timedelta(days=3),
    )
    group = helpers.session(program=world.program_a, facilitator=world.alice, starts_at=start)
    appt = helpers.appointment(
        patient=world.patient_a,
        program=world.program_a,
        staff=world.alice,
        starts_at=start + timedelta(days=1, hours=4),
    )

    sign_in(page, live_server.url, world.alice)
    page.goto(f"{live_server.url}/patients/{world.patient_a.public_id}/chart/schedule/")
    page.get_by_role("button", name="Create calendar feed address").click()
    feed_url = page.locator("#feed-url").input_value()
    assert feed_url.startswith(live_server.url + "/reminders/feed/")
    shot("calendar-feed-issued")

    status, text = _fetch(feed_url)
    assert status == 200
    cal = vobject.readOne(text)
    events = {e.uid.value: e for e in cal.vevent_list}
    assert set(events) == {
        f"group_session-{group.public_id}@openiop",
        f"appointment-{appt.public_id}@openiop",
    }
    g = events[f"group_session-{group.public_id}@openiop"]
    assert g.dtstart.value == start and g.dtstart.value.utcoffset() == start.utcoffset()
    assert g.summary.value == "Group session"
    assert cal.vtimezone.tzid.value == "America/New_York"
    from icalendar import Calendar  # only to hand recurring-ical-events a parsed calendar

    occurrences = recurring_ical_events.of(Calendar.from_ical(text)).between(
        start - timedelta(days=1), start + timedelta(days=3)
    )
    assert sorted(o["DTSTART"].dt for o in occurrences) == [
        start,
        start + timedelta(days=1, hours=4),
    ]
    for forbidden in ("SUD", "Relapse", "Canary", "Avery", world.program_a.name):
        assert forbidden not in text

    page.get_by_role("link", name="Done").click()
    expect(page.locator("#calendar-feed")).to_contain_text("active since")
    page.locator("#reminders").scroll_into_view_if_needed()
    shot("chart-reminders-and-calendar")
    page.get_by_role("button", name="Revoke calendar feed").click()
    expect(page.locator("#calendar-feed")).to_contain_text("none")
    assert _fetch(feed_url)[0] == 404
