"""Calendar feeds: tokens (hashed, constant-time, revocable), the feed's content parsed
by independent parsers (vobject, recurring-ical-events), audit of every fetch."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import recurring_ical_events
import vobject
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from openiop.audit.models import AuditEvent
from openiop.patients.selectors import PatientAccess
from openiop.reminders import services
from openiop.reminders.models import CalendarFeedToken, FeedStatus
from openiop.reminders.tests import helpers
from openiop.scheduling.models import SessionStatus

NY = ZoneInfo("America/New_York")


def _access(world) -> PatientAccess:  # type: ignore[no-untyped-def]
    return PatientAccess(world.patient_a, via_break_glass=False)


def _feed_path(url_token: str) -> str:
    return reverse("reminders:feed", args=[url_token])


@pytest.fixture
def schedule(world):  # type: ignore[no-untyped-def]
    """Patient A: two group sessions (one cancelled) on the roster, one appointment;
    patient B (other program): one appointment that must never show in A's feed."""
    base = datetime.now(NY).replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=3)
    helpers.enrol(
        patient=world.patient_a,
        episode=world.episode_a,
        program=world.program_a,
        by=world.alice,
        start_on=timezone.localdate() - timedelta(days=7),
    )
    group = helpers.session(program=world.program_a, facilitator=world.alice, starts_at=base)
    cancelled = helpers.session(
        program=world.program_a,
        facilitator=world.alice,
        starts_at=base + timedelta(days=1),
        status=SessionStatus.CANCELLED,
    )
    appt = helpers.appointment(
        patient=world.patient_a,
        program=world.program_a,
        staff=world.alice,
        starts_at=base.replace(hour=15) + timedelta(days=2),
        kind="med_management",
    )
    other = helpers.appointment(
        patient=world.patient_b,
        program=world.program_b,
        staff=world.charlie,
        starts_at=base.replace(hour=13),
    )
    return {"base": base, "group": group, "cancelled": cancelled, "appt": appt, "other": other}


@pytest.mark.django_db
def test_only_a_hash_of_the_secret_is_stored(world) -> None:  # type: ignore[no-untyped-def]
    issued = services.feed_issue_for_patient(
        actor=world.alice, access=_access(world), now=datetime.now(NY)
    )
    selector, secret = issued.url_token.split(".")
    row = CalendarFeedToken.objects.get(pk=issued.token.pk)
    assert row.selector == selector
    assert row.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(CalendarFeedToken.objects.filter(pk=row.pk).values().first())
    assert len(secret) >= 43  # 256 bits
    audit = AuditEvent.objects.filter(object_type="calendar_feed_token").get()
    assert audit.action == "create" and audit.patient_id == world.patient_a.pk
    assert secret not in str(audit.detail)


@pytest.mark.django_db
def test_resolve_refuses_wrong_malformed_and_revoked(world) -> None:  # type: ignore[no-untyped-def]
    issued = services.feed_issue_for_patient(
        actor=world.alice, access=_access(world), now=datetime.now(NY)
    )
    selector, secret = issued.url_token.split(".")
    assert services.feed_token_resolve(issued.url_token) == issued.token
    assert services.feed_token_resolve(f"{selector}.{secret[:-1]}x") is None
    assert services.feed_token_resolve(f"{selector}{secret}") is None
    assert services.feed_token_resolve(f"nosuchselector.{secret}") is None
    assert services.feed_token_resolve("") is None
    services.feed_revoke_for_patient(actor=world.alice, access=_access(world), now=datetime.now(NY))
    assert services.feed_token_resolve(issued.url_token) is None


@pytest.mark.django_db
def test_regenerating_revokes_the_old_url(world, client: Client) -> None:  # type: ignore[no-untyped-def]
    first = services.feed_issue_for_patient(
        actor=world.alice, access=_access(world), now=datetime.now(NY)
    )
    second = services.feed_issue_for_patient(
        actor=world.alice, access=_access(world), now=datetime.now(NY)
    )
    assert client.get(_feed_path(first.url_token)).status_code == 404
    assert client.get(_feed_path(second.url_token)).status_code == 200
    assert CalendarFeedToken.objects.get(pk=first.token.pk).status == FeedStatus.REVOKED
    assert CalendarFeedToken.objects.filter(status=FeedStatus.ACTIVE).count() == 1


@pytest.mark.django_db
def test_patient_feed_parsed_by_independent_parsers(world, schedule, client: Client) -> None:  # type: ignore[no-untyped-def]
    issued = services.feed_issue_for_patient(
        actor=world.alice, access=_access(world), now=datetime.now(NY)
    )
    before = AuditEvent.objects.filter(object_type="calendar_feed").count()
    response = client.get(_feed_path(issued.url_token))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert response["Cache-Control"] == "private, no-store"
    text = response.content.decode()

    # vobject: every event, its time zone and its status
    cal = vobject.readOne(text)
    events = {e.uid.value: e for e in cal.vevent_list}
    group_uid = f"group_session-{schedule['group'].public_id}@openiop"
    appt_uid = f"appointment-{schedule['appt'].public_id}@openiop"
    cancelled_uid = f"group_session-{schedule['cancelled'].public_id}@openiop"
    assert set(events) == {group_uid, appt_uid, cancelled_uid}
    group = events[group_uid]
    assert group.summary.value == "Group session"
    assert group.location.value == "Room 2, " + world.program_a.site.name
    assert group.dtstart.value == schedule["base"]
    assert group.dtstart.value.tzinfo is not None
    assert group.dtstart.value.utcoffset() == schedule["base"].utcoffset()
    assert "DTSTART;TZID=America/New_York:" in text
    assert group.dtend.value - group.dtstart.value == timedelta(minutes=180)
    assert hasattr(group, "dtstamp")
    assert events[cancelled_uid].status.value == "CANCELLED"
    assert events[appt_uid].summary.value == "Medication appointment"
    assert cal.vtimezone.tzid.value == "America/New_York"

    # recurring-ical-events on the icalendar parse: the events in the window
    window = recurring_ical_events.of(Calendar.from_ical(text)).between(
        schedule["base"] - timedelta(hours=1), schedule["base"] + timedelta(days=5)
    )
    starts = sorted(e["DTSTART"].dt for e in window)
    assert starts[0] == schedule["base"]
    assert len(starts) == 3

    # nothing clinical, no program or track name, no other patient
    for forbidden in (
        "SUD",
        "Relapse",
        "Morning",
        "Canary",
        "Avery",
        str(schedule["other"].public_id),
        world.program_a.name,
    ):
        assert forbidden not in text, forbidden

    audit = AuditEvent.objects.filter(object_type="calendar_feed").order_by("-id")
    assert audit.count() == before + 1
    row = audit.first()
    assert row is not None
    assert row.patient_id == world.patient_a.pk and row.action == "read"
    assert row.actor_id is None and row.actor_username == services.FEED_AUDIT_USERNAME
    assert issued.url_token not in str(row.detail)


@pytest.mark.django_db
def test_staff_feed_shows_own_sessions_without_patient_names(world, schedule, client) -> None:  # type: ignore[no-untyped-def]
    issued = services.feed_issue_for_self(actor=world.alice, now=datetime.now(NY))
    text = client.get(_feed_path(issued.url_token)).content.decode()
    cal = vobject.readOne(text)
    uids = {e.uid.value for e in cal.vevent_list}
    assert f"appointment-{schedule['appt'].public_id}@openiop" in uids
    assert f"group_session-{schedule['group'].public_id}@openiop" in uids
    assert f"appointment-{schedule['other'].public_id}@openiop" not in uids  # charlie's
    assert "Canary" not in text and "Avery" not in text
    charlie = services.feed_issue_for_self(actor=world.charlie, now=datetime.now(NY))
    other = vobject.readOne(client.get(_feed_path(charlie.url_token)).content.decode())
    assert [e.uid.value for e in other.vevent_list] == [
        f"appointment-{schedule['other'].public_id}@openiop"
    ]


@pytest.mark.django_db
def test_deactivated_staff_feed_stops(world, client) -> None:  # type: ignore[no-untyped-def]
    issued = services.feed_issue_for_self(actor=world.alice, now=datetime.now(NY))
    world.alice.is_active = False
    world.alice.save()
    assert client.get(_feed_path(issued.url_token)).status_code == 404


@pytest.mark.django_db
def test_feed_query_count_does_not_grow(world, client, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    issued = services.feed_issue_for_patient(
        actor=world.alice, access=_access(world), now=datetime.now(NY)
    )
    base = datetime.now(NY).replace(hour=9, minute=0, second=0, microsecond=0)
    helpers.enrol(
        patient=world.patient_a,
        episode=world.episode_a,
        program=world.program_a,
        by=world.alice,
        start_on=timezone.localdate() - timedelta(days=40),
    )

    def count_queries(days: int) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        for d in range(days):
            helpers.session(
                program=world.program_a,
                facilitator=world.alice,
                starts_at=base + timedelta(days=d + 1, minutes=days),
            )
            helpers.appointment(
                patient=world.patient_a,
                program=world.program_a,
                staff=world.alice,
                starts_at=base + timedelta(days=d + 1, hours=6, minutes=days),
            )
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(_feed_path(issued.url_token)).status_code == 200
        return len(ctx.captured_queries)

    small = count_queries(2)
    large = count_queries(20)
    assert small == large
    assert large <= 12
