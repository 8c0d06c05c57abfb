"""Finding a patient by part of a name and reading the chart."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from openiop.episodes.models import EpisodeEvent, EpisodeStatus
from tests.browser.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _history(world) -> None:  # type: ignore[no-untyped-def]
    """Episode A as the services would have recorded it: referred, then admitted."""
    episode = world.episode_a
    EpisodeEvent.objects.create(
        episode=episode,
        kind=EpisodeEvent.Kind.OPENED,
        to_status=EpisodeStatus.REFERRED,
        to_level="2.1",
        effective_on=dt.date(2026, 10, 1),
        changed_by=world.alice,
        changed_at=timezone.now() - dt.timedelta(days=7),
    )
    EpisodeEvent.objects.create(
        episode=episode,
        kind=EpisodeEvent.Kind.STATUS,
        from_status=EpisodeStatus.REFERRED,
        to_status=EpisodeStatus.ACTIVE,
        effective_on=dt.date(2026, 10, 6),
        reason="Intake complete",
        changed_by=world.alice,
        changed_at=timezone.now() - dt.timedelta(days=2),
    )


def test_search_by_partial_name_then_open_the_chart(page: Page, live_server, world, shot) -> None:  # type: ignore[no-untyped-def]
    _history(world)
    base = live_server.url
    sign_in(page, base, world.alice)

    page.get_by_role("link", name="Patients").click()
    page.fill("#q", "canary-p")  # lower case, part of the family name
    page.press("#q", "Enter")

    rows = page.locator("#patient-results tbody tr")
    expect(rows).to_have_count(1)  # patient B is in charlie's program, not alice's
    row = rows.first
    expect(row).to_contain_text("Canary-PA, Avery")
    expect(row).to_contain_text(world.patient_a.mrn)
    expect(row).to_contain_text("Morning SUD IOP")
    expect(row).to_contain_text("Active")
    shot("07-search-results")

    row.get_by_role("link", name="Canary-PA, Avery").click()
    page.wait_for_url(re.compile(rf"/patients/{world.patient_a.public_id}/$"))

    header = page.locator("#chart-header")
    expect(header.locator("h1")).to_have_text("Canary-PA, Avery")
    expect(header).to_contain_text(f"MRN {world.patient_a.mrn}")
    expect(header).to_contain_text("DOB 1990-05-17")
    facts = header.locator(".header-facts")
    expect(facts.locator("div", has_text="Program").locator("dd")).to_have_text("Morning SUD IOP")
    expect(facts.locator("div", has_text="Level of care").locator("dd")).to_have_text("2.1")
    expect(facts.locator("div", has_text="Episode").locator("dd")).to_have_text("Active")

    episode = page.locator(f"#episode-{world.episode_a.public_id}")
    expect(episode.locator("h3")).to_contain_text("Morning SUD IOP")
    timeline = episode.locator("ol.timeline li")
    expect(timeline).to_have_count(2)
    expect(timeline.nth(0)).to_contain_text("2026-10-01")
    expect(timeline.nth(0)).to_contain_text("Opened as Referred at level 2.1")
    expect(timeline.nth(1)).to_contain_text("2026-10-06")
    expect(timeline.nth(1)).to_contain_text("Referred → Active")
    expect(timeline.nth(1)).to_contain_text("Intake complete")
    shot("08-chart")
