"""Scheduling pages: outsiders refused, bad input kept with messages by the field,
query counts that do not grow with data, audit of reads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openiop.audit.models import AuditEvent
from openiop.patients.selectors import PatientAccess
from openiop.scheduling import selectors, services
from openiop.scheduling.models import Enrolment, SessionTemplate
from openiop.scheduling.tests.helpers import MONDAY, make_sched
from tests.factories import EpisodeFactory, PatientFactory

pytestmark = pytest.mark.django_db


def _count(client, url: str) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(ctx.captured_queries)


def _setup(world):  # type: ignore[no-untyped-def]
    sched = make_sched(world)
    sessions = services.template_generate(
        actor=world.dana,
        template_public_id=sched.template.public_id,
        through=MONDAY + timedelta(days=13),
        today=MONDAY,
    )
    enrolment = services.enrolment_create(
        actor=world.alice,
        access=PatientAccess(world.patient_a, False),
        episode_public_id=world.episode_a.public_id,
        track=sched.track,
        start_on=MONDAY,
    )
    appt = services.appointment_book(
        actor=world.alice,
        access=PatientAccess(world.patient_a, False),
        data=services.AppointmentInput(
            kind="individual",
            program=world.program_a,
            staff=world.alice,
            room=sched.small_room,
            on=MONDAY,
            start_time=sched.track.day_end,
            end_time=sched.track.day_end.replace(hour=13),
        ),
    )
    return sched, sessions, enrolment, appt


def _urls(world, sched, sessions, enrolment, appt) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    pid = world.patient_a.public_id
    t = sched.track.public_id
    s = sessions[0].public_id
    return [
        ("get", reverse("scheduling:track", args=[t])),
        ("get", reverse("scheduling:track_calendar", args=[t])),
        ("get", reverse("scheduling:template_new", args=[t])),
        ("post", reverse("scheduling:template_new", args=[t])),
        ("get", reverse("scheduling:session_new", args=[t])),
        ("post", reverse("scheduling:generate", args=[sched.template.public_id])),
        ("get", reverse("scheduling:session", args=[s])),
        ("post", reverse("scheduling:session_cancel", args=[s])),
        ("get", reverse("scheduling:session_edit", args=[s])),
        ("get", reverse("scheduling:patient_calendar", args=[pid])),
        ("get", reverse("scheduling:enrol", args=[pid])),
        ("post", reverse("scheduling:enrol", args=[pid])),
        ("get", reverse("scheduling:enrolment_end", args=[pid, enrolment.public_id])),
        ("post", reverse("scheduling:enrolment_change", args=[pid, enrolment.public_id])),
        ("get", reverse("scheduling:appointment_new", args=[pid])),
        ("get", reverse("scheduling:appointment", args=[pid, appt.public_id])),
        ("post", reverse("scheduling:appointment_cancel", args=[pid, appt.public_id])),
        ("get", reverse("scheduling:appointment_reschedule", args=[pid, appt.public_id])),
        ("get", reverse("scheduling:staff_calendar", args=[world.alice.public_id])),
    ]


@pytest.mark.parametrize("outsider", ["charlie", "olivia"])
def test_outsiders_refused_everywhere(world, as_user, outsider) -> None:  # type: ignore[no-untyped-def]
    sched, sessions, enrolment, appt = _setup(world)
    client = as_user(getattr(world, outsider))
    for method, url in _urls(world, sched, sessions, enrolment, appt):
        response = getattr(client, method)(url)
        assert response.status_code in (403, 404), (method, url, response.status_code)
        assert b"Canary-PA" not in response.content
    # A room: olivia (other organization) does not see it; charlie shares the site but
    # sees program A's bookings only as "Booked".
    room_url = reverse("scheduling:room_calendar", args=[sched.room.public_id]) + (
        f"?date={MONDAY.isoformat()}"
    )
    response = client.get(room_url)
    if outsider == "olivia":
        assert response.status_code == 404
    else:
        assert response.status_code == 200 and b"Morning SUD" not in response.content
        assert b"Booked" in response.content
    assert client.get(
        reverse("scheduling:enrol", args=[world.patient_a.public_id])
    ).status_code in (
        403,
        404,
    )


def test_anonymous_sent_to_sign_in(world, client) -> None:  # type: ignore[no-untyped-def]
    sched, sessions, enrolment, appt = _setup(world)
    for _, url in _urls(world, sched, sessions, enrolment, appt):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_auditor_reads_but_cannot_book(world, as_user) -> None:  # type: ignore[no-untyped-def]
    sched, sessions, _enrolment, _appt = _setup(world)
    bob = as_user(world.bob)
    assert bob.get(reverse("scheduling:session", args=[sessions[0].public_id])).status_code == 200
    assert bob.get(reverse("scheduling:enrol", args=[world.patient_a.public_id])).status_code == 403
    assert (
        as_user(world.alice).get(reverse("scheduling:template_new", args=[sched.track.public_id]))
    ).status_code == 403


def test_pages_render_for_members(world, as_user) -> None:  # type: ignore[no-untyped-def]
    sched, sessions, enrolment, appt = _setup(world)
    client = as_user(world.dana)
    for method, url in _urls(world, sched, sessions, enrolment, appt):
        if method == "get":
            assert client.get(url).status_code == 200, url
    assert client.get(reverse("scheduling:home")).status_code == 200
    assert client.get(reverse("scheduling:topics")).status_code == 200
    page = client.get(
        reverse("scheduling:track_calendar", args=[sched.track.public_id])
        + f"?date={MONDAY.isoformat()}"
    )
    body = page.content.decode()
    assert 'class="cal days-7"' in body and body.count("cal-event kind-group rs-") == 3
    chart = client.get(
        reverse("patients:chart_section", args=[world.patient_a.public_id, "schedule"])
    ).content.decode()
    assert "Morning SUD" in chart and 'id="current-track"' in chart


def test_roster_read_is_audited_per_patient(world, as_user) -> None:  # type: ignore[no-untyped-def]
    _sched, sessions, _enrolment, _appt = _setup(world)
    as_user(world.bob).get(reverse("scheduling:session", args=[sessions[0].public_id]))
    event = AuditEvent.objects.get(actor=world.bob, object_type="session_roster")
    assert event.patient == world.patient_a and event.action == "read"


def test_template_bad_input_422_with_messages_next_to_fields(world, as_user) -> None:  # type: ignore[no-untyped-def]
    sched, *_ = _setup(world)
    client = as_user(world.dana)
    url = reverse("scheduling:template_new", args=[sched.track.public_id])
    response = client.post(
        url,
        {
            "submission_token": "8d5a3b1e-1111-4d7e-9c1a-2a2b2c2d2e2f",
            "name": "Typed name kept",
            "weekdays": ["0"],
            "start_time": "11:00",
            "end_time": "10:00",
            "room": sched.small_room.pk,
            "capacity": "9",
            "facilitator": world.alice.pk,
            "valid_from": MONDAY.isoformat(),
        },
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert 'id="id_end_time_error"' in body and "The session must end after it starts." in body
    assert 'id="id_capacity_error"' in body and "Office 2 seats 3" in body
    assert 'value="Typed name kept"' in body
    assert SessionTemplate.objects.count() == 1


def test_session_outside_hours_and_credentials(world, as_user) -> None:  # type: ignore[no-untyped-def]
    from openiop.scheduling.models import Topic

    sched, *_ = _setup(world)
    Topic.objects.create(organization=world.org, name="Drug education", credentials_accepted="CADC")
    topic = Topic.objects.get(name="Drug education")
    response = as_user(world.alice).post(
        reverse("scheduling:session_new", args=[sched.track.public_id]),
        {
            "submission_token": "8d5a3b1e-2222-4d7e-9c1a-2a2b2c2d2e2f",
            "on": (MONDAY + timedelta(days=2)).isoformat(),
            "start_time": "13:00",
            "end_time": "14:00",
            "room": sched.room.pk,
            "capacity": "5",
            "facilitator": world.alice.pk,
            "topic": topic.pk,
        },
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert 'id="id_start_time_error"' in body and "outside the track&#x27;s days" in body
    assert 'id="id_facilitator_error"' in body and "does not hold a credential" in body


def test_calendar_and_roster_query_counts_do_not_grow(world, as_user) -> None:  # type: ignore[no-untyped-def]
    sched, sessions, _enrolment, _appt = _setup(world)
    client = as_user(world.dana)
    d = f"?date={MONDAY.isoformat()}"
    urls = [
        reverse("scheduling:track_calendar", args=[sched.track.public_id]) + d,
        reverse("scheduling:room_calendar", args=[sched.room.public_id]) + d,
        reverse("scheduling:staff_calendar", args=[world.alice.public_id]) + d,
        reverse("scheduling:patient_calendar", args=[world.patient_a.public_id]) + d,
        reverse("scheduling:session", args=[sessions[0].public_id]),
        reverse("scheduling:home"),
        reverse("patients:chart_section", args=[world.patient_a.public_id, "schedule"]),
    ]
    for url in urls:
        _count(client, url)
    before = {url: _count(client, url) for url in urls}
    for i in range(6):
        patient = PatientFactory(organization=world.org)
        episode = EpisodeFactory(patient=patient, program=world.program_a)
        services.enrolment_create(
            actor=world.alice,
            access=PatientAccess(patient, False),
            episode_public_id=episode.public_id,
            track=sched.track,
            start_on=MONDAY + timedelta(days=i),
        )
        services.appointment_book(
            actor=world.alice,
            access=PatientAccess(patient, False),
            data=services.AppointmentInput(
                kind="case_management",
                program=world.program_a,
                staff=world.alice,
                room=sched.small_room,
                on=MONDAY + timedelta(days=i % 3),
                start_time=sched.track.day_end.replace(hour=14 + i // 3),
                end_time=sched.track.day_end.replace(hour=14 + i // 3, minute=45),
            ),
        )
    after = {url: _count(client, url) for url in urls}
    assert before == after
    assert Enrolment.objects.count() == 7


def test_selector_query_counts_are_constant(world, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    sched, sessions, *_ = _setup(world)
    for i in range(5):
        patient = PatientFactory(organization=world.org)
        EpisodeFactory(patient=patient, program=world.program_a)
        Enrolment.objects.create(
            patient=patient,
            episode=patient.episodes.first(),
            track=sched.track,
            start_on=MONDAY + timedelta(days=i),
            created_by=world.alice,
        )
    with django_assert_num_queries(1):
        rosters = selectors.rosters(sessions)
    assert len(rosters[sessions[-1].pk]) == 6
    with django_assert_num_queries(1):
        selectors.sessions_on_day(day=MONDAY, program_ids=[world.program_a.pk])
    with django_assert_num_queries(3):
        events = selectors.patient_events(
            patient=world.patient_a, start=MONDAY, end=MONDAY + timedelta(days=14)
        )
    assert len(events) == len(sessions) + 1
    with django_assert_num_queries(2):
        staff = selectors.staff_events(
            staff=world.alice, start=MONDAY, end=MONDAY + timedelta(days=14)
        )
    assert len(staff) == len(sessions) + 1
    assert all("Canary" not in e.label + e.place for e in staff)
