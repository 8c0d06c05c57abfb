"""The chart as an overview tab plus one page per capability section: each page shows its
own section and no other, is scoped and audited like the chart, names its section in the
audit trail, marks its tab, and runs a number of queries that does not grow with history."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

import openiop
from openiop.access.models import BreakGlassGrant
from openiop.alerts.models import Alert
from openiop.audit.models import AuditEvent
from openiop.core.db import prepares_statements, takes_many_statements, traffic
from openiop.patients.chart_sections import BY_KEY, OVERVIEW, SECTIONS
from openiop.patients.models import Coverage, EmergencyContact
from tests.factories import EpisodeFactory

# What only that tab's content renders (for alice, a counselor in program A).
MARKERS: dict[str, tuple[str, ...]] = {
    OVERVIEW: ('id="episodes"', 'id="demographics"', 'id="coverage"', "Emergency contacts"),
    "intake": ("Observation visits", "No referral on record."),
    "screening": ('id="screening-section"', 'id="safety-plan-summary"'),
    "assessments": ('id="assessments-summary"',),
    "consents": ('class="consent-list"', "All consents and releases"),
    "schedule": ('class="schedule-section"', 'id="attendance-section"', 'id="reminders"'),
    "notes": ('class="chart-notes"',),
    "plan": ('id="plan-chart"',),
    "medications": ("Medication list, MAT and drug screens appear here.",),
    "billing": ("Authorizations, charges and claims appear here.",),
}
KEYS = [s.key for s in SECTIONS]


def _url(world, key: str) -> str:  # type: ignore[no-untyped-def]
    pid = world.patient_a.public_id
    if key == OVERVIEW:
        return reverse("patients:chart", args=[pid])
    return reverse("patients:chart_section", args=[pid, key])


def _count(client, url: str) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def _round_trips(client, url: str) -> int:  # type: ignore[no-untyped-def]
    with traffic(connection) as sent:
        assert client.get(url).status_code == 200
    return sent.round_trips


def test_the_registry_lists_every_section_once_in_tab_order() -> None:
    assert set(MARKERS) == {OVERVIEW, *KEYS}
    assert len(set(KEYS)) == len(KEYS) and OVERVIEW not in KEYS
    assert KEYS == [
        "intake",
        "screening",
        "assessments",
        "consents",
        "schedule",
        "notes",
        "plan",
        "medications",
        "billing",
    ]
    for section in SECTIONS:
        assert re.fullmatch(r"[a-z][a-z-]*", section.key) and section.templates


@pytest.mark.parametrize("key", [OVERVIEW, *KEYS])
def test_each_tab_shows_its_own_content_and_no_other_section(world, as_user, key) -> None:  # type: ignore[no-untyped-def]
    response = as_user(world.alice).get(_url(world, key))
    assert response.status_code == 200
    html = response.content.decode()
    # The header, the alerts block and the tab bar are on every tab.
    assert 'id="chart-header"' in html and "Canary-PA" in html and world.patient_a.mrn in html
    assert 'id="chart-alerts"' in html and 'class="chart-tabs"' in html
    for marker in MARKERS[key]:
        assert marker in html, (key, marker)
    for other, markers in MARKERS.items():
        if other != key:
            for marker in markers:
                assert marker not in html, (key, other, marker)
    heading = "Overview" if key == OVERVIEW else BY_KEY[key].heading
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    assert title is not None and title.group(1).startswith(f"{heading} · Chart ")
    if key != OVERVIEW:
        assert f'<section id="{key}" class="panel chart-section' in html
        assert f"<h2>{heading}</h2>" in html


def test_the_header_shows_the_current_episode_on_a_section_tab(world, as_user) -> None:  # type: ignore[no-untyped-def]
    html = as_user(world.alice).get(_url(world, "notes")).content.decode()
    header = html.split('id="chart-header"')[1].split("</header>")[0]
    assert world.program_a.name in header and "status-active" in header


def test_the_tab_bar_links_every_tab_and_marks_the_current_one(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    expected = [(_url(world, OVERVIEW), "Overview")] + [
        (_url(world, s.key), s.label) for s in SECTIONS
    ]
    for key in (OVERVIEW, *KEYS):
        html = client.get(_url(world, key)).content.decode()
        nav = html.split('<nav class="chart-tabs" aria-label="Chart sections">')[1].split("</nav>")[
            0
        ]
        links = re.findall(r'<a href="([^"]+)"( aria-current="page")?>([^<]+)</a>', nav)
        assert [(href, label) for href, _, label in links] == expected
        assert [href for href, current, _ in links if current] == [_url(world, key)]


@pytest.mark.parametrize("key", [OVERVIEW, *KEYS])
def test_each_tab_view_is_one_audited_read_naming_the_section(world, as_user, key) -> None:  # type: ignore[no-untyped-def]
    as_user(world.bob).get(_url(world, key))
    event = AuditEvent.objects.get(actor=world.bob, action="read", object_type="patient_chart")
    assert event.patient == world.patient_a and event.detail == {"section": key}
    assert event.object_id == str(world.patient_a.public_id) and not event.break_glass


@pytest.mark.parametrize("outsider", ["charlie", "olivia"])
@pytest.mark.parametrize("key", KEYS)
def test_outsiders_get_the_audited_404_on_every_section(world, as_user, outsider, key) -> None:  # type: ignore[no-untyped-def]
    user = getattr(world, outsider)
    response = as_user(user).get(_url(world, key))
    assert response.status_code == 404 and b"Canary-PA" not in response.content
    denied = AuditEvent.objects.get(actor=user, outcome="denied")
    assert denied.action == "access_denied" and denied.object_id == str(world.patient_a.public_id)
    assert not AuditEvent.objects.filter(actor=user, action="read").exists()


def test_an_unknown_section_is_a_404_and_reads_nothing(world, as_user) -> None:  # type: ignore[no-untyped-def]
    url = reverse("patients:chart_section", args=[world.patient_a.public_id, "passwords"])
    response = as_user(world.alice).get(url)
    assert response.status_code == 404 and b"Canary-PA" not in response.content
    assert not AuditEvent.objects.filter(actor=world.alice, action="read").exists()
    # An outsider probing an unknown tab is refused (and audited) like on any other.
    assert as_user(world.charlie).get(url).status_code == 404
    assert AuditEvent.objects.filter(actor=world.charlie, outcome="denied").count() == 1


def test_break_the_glass_opens_a_section_tab_for_the_grant_only(world, as_user) -> None:  # type: ignore[no-untyped-def]
    import time_machine

    charlie = as_user(world.charlie)
    url = _url(world, "notes")
    assert charlie.get(url).status_code == 404
    response = charlie.post(
        reverse("patients:break_glass"),
        {
            "mrn": world.patient_a.mrn,
            "date_of_birth": "1990-05-17",
            "reason": "Patient in crisis at front desk",
        },
    )
    assert response.status_code == 302
    response = charlie.get(url)
    html = response.content.decode()
    assert response.status_code == 200 and "Emergency access" in html
    assert "access ends at" in html and 'class="chart-notes"' in html
    event = AuditEvent.objects.get(actor=world.charlie, action="read", object_type="patient_chart")
    assert event.break_glass and event.detail == {"section": "notes"}
    with time_machine.travel(BreakGlassGrant.objects.get().expires_at, tick=False):
        assert charlie.get(url).status_code in (302, 404)


def _more_history(world, n: int) -> None:  # type: ignore[no-untyped-def]
    """Episodes, open alerts, coverage and contacts: what the header and overview read."""
    now = timezone.now()
    for i in range(n):
        EpisodeFactory(
            patient=world.patient_a,
            program=world.program_a,
            status="discharged",
            referred_on=dt.date(2020, 1, 1) + dt.timedelta(days=i),
            primary_counselor=world.alice,
        )
        Alert.objects.create(
            patient=world.patient_a,
            kind="disengagement",
            severity="moderate",
            title=f"Missed sessions {i}",
            raised_at=now - dt.timedelta(hours=i + 1),
        )
        Coverage.objects.create(
            patient=world.patient_a,
            plan_type="self_pay",
            priority=3,
            effective_start=dt.date(2024, 1, 1),
        )
        EmergencyContact.objects.create(
            patient=world.patient_a, name=f"Contact {i}", relationship="friend", phone="555-0100"
        )


# The queries each section's include runs on top of a bare tab (the placeholders), for
# alice on patient A (docs/ARCHITECTURE.md): intake 3 (+1 with an episode she may admit),
# screening 2, assessments 3, consents 2, schedule 10 (scheduling 3, attendance 4 with no
# track enrolment, reminders 3), notes 3, treatment plan 3. The apps' own tests assert
# that their tab stays constant as their history grows.
SECTION_QUERIES = {
    "intake": 3,
    "screening": 2,
    "assessments": 3,
    "consents": 2,
    "schedule": 10,
    "notes": 3,
    "plan": 3,
    "medications": 0,
    "billing": 0,
}


def test_query_counts_do_not_grow_with_history(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    keys = [OVERVIEW, *KEYS]
    for key in keys:
        _count(client, _url(world, key))  # warm-up
    _more_history(world, 1)
    before = {key: _count(client, _url(world, key)) for key in keys}
    _more_history(world, 6)
    after = {key: _count(client, _url(world, key)) for key in keys}
    assert before == after
    # A bare tab: the session, the user and the device, the patient, the episodes and
    # the open alerts, and the audit row's append.
    bare = before["medications"]
    assert before["billing"] == bare
    for key, own in SECTION_QUERIES.items():
        assert before[key] == bare + own, (key, before[key], bare)
    # The overview: the episodes with their timelines (2) and coverage and contacts (2)
    # instead of the episodes alone; on PostgreSQL all the overview's reads (like the
    # bare tab's two) go to the database in one round trip (core.prepared.run_together).
    # (One statement per read, except PostgreSQL's several-statement text when the
    # statements are not prepared: DB_PREPARED_STATEMENTS=false.)
    one_text = takes_many_statements(connection) and not prepares_statements(connection)
    assert before[OVERVIEW] == bare + (0 if one_text else 3)
    overview_trips = _round_trips(client, _url(world, OVERVIEW))
    bare_trips = _round_trips(client, _url(world, "medications"))
    assert overview_trips == bare_trips + (0 if connection.vendor == "postgresql" else 3)


def test_every_link_and_redirect_to_a_tab_names_a_registered_section() -> None:
    """A misspelt section in a template or a redirect would be a 404 for the user."""
    root = Path(openiop.__file__).parent
    used: set[str] = set()
    for path in root.rglob("*.html"):
        used |= set(re.findall(r"'patients:chart_section' [\w.]+ '([\w-]+)'", path.read_text()))
    for path in root.rglob("*.py"):
        if "tests" in path.parts:
            continue
        text = path.read_text()
        used |= set(re.findall(r'"patients:chart_section",[^)]*?section="([\w-]+)"', text))
        used |= set(re.findall(r'"patients:chart_section", args=\[[^\]]*, "([\w-]+)"\]', text))
        used |= set(re.findall(r'"patients:chart_section", [\w.]+, tail=\("([\w-]+)",\)', text))
    assert {"intake", "screening", "assessments", "consents", "schedule", "notes", "plan"} <= used
    assert used <= set(BY_KEY), used - set(BY_KEY)
