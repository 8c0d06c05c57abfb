"""Front-desk walk-in check-in from the census: find a patient of the program who is not
on the day's roster and check them in on a chosen session (the same AttendanceRecord,
walk_in set), audited; outsiders refused; errors next to the patient with the search
kept; one record for a double submit; constant query counts."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openiop.attendance import services
from openiop.attendance.models import AttendanceChange, AttendanceRecord, AttendanceSheet
from openiop.audit.models import AuditEvent
from openiop.core.errors import ServiceError
from openiop.episodes.models import EpisodeStatus
from tests.factories import EpisodeFactory, PatientFactory

from .helpers import MONDAY, make_group

# Wednesday 9:20 local-ish: 20 minutes after the 9:00 start of Wednesday's session.
WEDNESDAY = MONDAY + dt.timedelta(days=2)
pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
def frozen_clock():  # type: ignore[no-untyped-def]
    with time_machine.travel(dt.datetime(2026, 11, 18, 8, 0, tzinfo=dt.UTC), tick=False):
        yield


def _walker(world, name: str = "Walkerton"):  # type: ignore[no-untyped-def]
    """A patient of program A with an open episode, on no track."""
    patient = PatientFactory(organization=world.org, legal_family_name=name)
    EpisodeFactory(patient=patient, program=world.program_a, primary_counselor=world.alice)
    return patient


def _post(session, patient, **kw):  # type: ignore[no-untyped-def]
    return {
        "patient": str(patient.public_id),
        "session": str(session.public_id) if session else "",
        "day": WEDNESDAY.isoformat(),
        "q": "Walker",
        "submission_token": str(uuid.uuid4()),
    } | kw


def test_front_desk_finds_and_checks_in_a_walk_in_audited(world, as_user) -> None:  # type: ignore[no-untyped-def]
    group = make_group(world, size=2)
    walker = _walker(world)
    wed = group.sessions[1]
    client = as_user(world.alice)
    url = reverse("attendance:walk_in")
    html = client.get(url, {"day": WEDNESDAY.isoformat(), "q": "walker"}).content.decode()
    assert "Walkerton" in html and str(wed.public_id) in html
    assert "Canary-PA" not in html  # the query matches names, not everyone
    listed = AuditEvent.objects.filter(object_type="walk_in_search", actor=world.alice)
    assert [e.patient_id for e in listed] == [walker.pk]

    response = client.post(url, _post(wed, walker))
    assert response.status_code == 302 and f"day={WEDNESDAY.isoformat()}" in response["Location"]
    record = AttendanceRecord.objects.get(patient=walker)
    assert record.session == wed and record.walk_in and record.checked_in_by == world.alice
    assert record.status == "present" and record.minutes_attended == 180
    assert AttendanceChange.objects.filter(record=record).count() == 1
    assert AttendanceSheet.objects.get(session=wed).version == 1
    event = AuditEvent.objects.get(object_type="attendance", patient=walker)
    assert event.action == "create" and event.detail["walk_in"] is True

    census = client.get(reverse("attendance:census"), {"day": WEDNESDAY.isoformat()})
    html = census.content.decode()
    assert "Walkerton" in html and "walk-in</span>" in html
    assert 'id="census-arrived">1<' in html and 'id="census-expected">3<' in html
    assert AuditEvent.objects.filter(object_type="census", patient=walker).exists()
    # Already marked at the day's only session of the program: not offered again.
    html = client.get(url, {"day": WEDNESDAY.isoformat(), "q": "walker"}).content.decode()
    assert str(wed.public_id) not in html


def test_double_submit_creates_one_record(world, as_user) -> None:  # type: ignore[no-untyped-def]
    group = make_group(world, size=1)
    walker = _walker(world)
    client = as_user(world.alice)
    data = _post(group.sessions[1], walker)
    assert client.post(reverse("attendance:walk_in"), data).status_code == 302
    assert client.post(reverse("attendance:walk_in"), data).status_code == 302
    assert AttendanceRecord.objects.filter(patient=walker).count() == 1
    assert AuditEvent.objects.filter(object_type="attendance", patient=walker).count() == 1


def test_late_walk_in_and_rostered_patient_checked_in_normally(world) -> None:  # type: ignore[no-untyped-def]
    group = make_group(world, size=1)
    walker = _walker(world)
    wed = group.sessions[1]
    at = wed.starts_at + dt.timedelta(minutes=20)
    record = services.walk_in_check_in(
        actor=world.alice,
        session=wed,
        patient_public_id=walker.public_id,
        submission_token=None,
        now=at,
    )
    assert (record.status, record.late_minutes, record.minutes_attended) == ("late", 20, 160)
    rostered = services.walk_in_check_in(
        actor=world.alice,
        session=wed,
        patient_public_id=world.patient_a.public_id,
        submission_token=None,
        now=at,
    )
    assert not rostered.walk_in and rostered.checked_in_at == at


def test_no_session_chosen_error_next_to_the_patient_with_search_kept(world, as_user) -> None:  # type: ignore[no-untyped-def]
    make_group(world, size=1)
    walker = _walker(world)
    client = as_user(world.alice)
    response = client.post(reverse("attendance:walk_in"), _post(None, walker))
    assert response.status_code == 422
    html = response.content.decode()
    row = html[html.index(f'id="walk-in-{walker.public_id}"') :]
    row = row[: row.index("</tr>")]
    assert "Choose the session they are joining." in row and 'class="field-error"' in row
    assert 'name="q" value="Walker"' in html
    assert not AttendanceRecord.objects.exists()


def test_patients_without_an_open_episode_or_in_another_program_are_refused(world) -> None:  # type: ignore[no-untyped-def]
    group = make_group(world, size=1)
    wed = group.sessions[1]
    discharged = _walker(world, "Gone")
    discharged.episodes.update(status=EpisodeStatus.DISCHARGED)
    for patient in (discharged, world.patient_b):
        with pytest.raises(ServiceError):
            services.walk_in_check_in(
                actor=world.alice,
                session=wed,
                patient_public_id=patient.public_id,
                submission_token=None,
                now=wed.starts_at,
            )
    with pytest.raises(ServiceError):  # charlie is not a member of program A
        services.walk_in_check_in(
            actor=world.charlie,
            session=wed,
            patient_public_id=world.patient_a.public_id,
            submission_token=None,
            now=wed.starts_at,
        )
    assert not AttendanceRecord.objects.exists()


@pytest.mark.parametrize("outsider", ["charlie", "olivia"])
def test_outsiders_are_refused_and_audited(world, as_user, outsider) -> None:  # type: ignore[no-untyped-def]
    group = make_group(world, size=1)
    walker = _walker(world)
    user = getattr(world, outsider)
    client = as_user(user)
    url = reverse("attendance:walk_in")
    # The search shows nothing of program A.
    html = client.get(url, {"day": WEDNESDAY.isoformat(), "q": "Walker"}).content.decode()
    assert "Walkerton" not in html
    html = client.get(url, {"day": WEDNESDAY.isoformat(), "q": "Canary"}).content.decode()
    assert "Canary-PA" not in html
    before = AuditEvent.objects.filter(actor=user, outcome="denied").count()
    response = client.post(url, _post(group.sessions[1], walker))
    assert response.status_code in (403, 404)
    assert AuditEvent.objects.filter(actor=user, outcome="denied").count() == before + 1
    assert not AttendanceRecord.objects.exists()


def test_charlie_cannot_walk_a_program_a_patient_into_his_session(world, as_user) -> None:  # type: ignore[no-untyped-def]
    from openiop.scheduling.models import Room

    from .helpers import make_session, make_track

    room = Room.objects.create(site=world.program_b.site, name="B room", capacity=10)
    track_b = make_track(world.program_b, name="Evening")
    session_b = make_session(track_b, room, world.charlie, WEDNESDAY)
    client = as_user(world.charlie)
    before = AuditEvent.objects.filter(actor=world.charlie, outcome="denied").count()
    response = client.post(reverse("attendance:walk_in"), _post(session_b, world.patient_a))
    assert response.status_code == 422
    assert "no open episode in the session" in response.content.decode()
    assert "Canary-PA" not in response.content.decode()
    assert AuditEvent.objects.filter(actor=world.charlie, outcome="denied").count() == before + 1
    assert not AttendanceRecord.objects.exists()


def test_walk_in_search_query_count_is_constant(world, as_user) -> None:  # type: ignore[no-untyped-def]
    make_group(world, size=2)
    client = as_user(world.alice)
    url = reverse("attendance:walk_in")
    params = {"day": WEDNESDAY.isoformat(), "q": "Walk"}

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url, params).status_code == 200
        return len(ctx.captured_queries)

    _walker(world, "Walker0")
    count()
    small = count()
    for i in range(1, 8):
        _walker(world, f"Walker{i}")
    make_group(world, size=4, name="Afternoon", with_patient_a=False)
    assert count() == small


def test_census_query_count_constant_with_walk_ins(world, as_user) -> None:  # type: ignore[no-untyped-def]
    group = make_group(world, size=2)
    wed = group.sessions[1]
    client = as_user(world.alice)
    url = reverse("attendance:census")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url, {"day": WEDNESDAY.isoformat()}).status_code == 200
        return len(ctx.captured_queries)

    services.walk_in_check_in(
        actor=world.alice,
        session=wed,
        patient_public_id=_walker(world, "Walker0").public_id,
        submission_token=None,
        now=wed.starts_at,
    )
    count()
    small = count()
    for i in range(1, 6):
        services.walk_in_check_in(
            actor=world.alice,
            session=wed,
            patient_public_id=_walker(world, f"Walker{i}").public_id,
            submission_token=None,
            now=wed.starts_at,
        )
    assert count() == small


def test_census_row_urls_match_reverse(world) -> None:  # type: ignore[no-untyped-def]
    from openiop.attendance.templatetags.attendance_tags import chart_url, check_in_url

    s, p = uuid.uuid4(), uuid.uuid4()
    assert chart_url(p) == reverse("patients:chart_section", args=[p, "schedule"])
    assert check_in_url(s, p) == reverse("attendance:check_in", args=[s, p])
