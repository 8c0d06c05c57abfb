"""Attendance pages: outsiders refused everywhere, audit, errors next to lines with
input kept, the concurrent-save refusal showing what changed, htmx census, CSV export,
and query counts that do not grow with patients or history."""

from __future__ import annotations

import datetime as dt
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openiop.attendance import rules
from openiop.attendance.models import AttendanceRecord
from openiop.audit.models import AuditEvent
from tests.factories import EpisodeFactory, PatientFactory

from .helpers import MONDAY, enrol, lines, make_appointment, make_group, save

pytestmark = pytest.mark.usefixtures("frozen_clock")
WEDNESDAY_NOON = dt.datetime(2026, 11, 18, 12, 30, tzinfo=dt.UTC)


@pytest.fixture
def frozen_clock():  # type: ignore[no-untyped-def]
    with time_machine.travel(WEDNESDAY_NOON, tick=False):
        yield


def _count(client, url, params=None) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, params or {}).status_code == 200
    return len(ctx.captured_queries)


def _post_data(group, statuses, version=0, **extra):  # type: ignore[no-untyped-def]
    data = {"version": str(version), "submission_token": str(uuid.uuid4()), "action": "save"}
    data["line"] = [str(p.public_id) for p in group.patients]
    for p, s in zip(group.patients, statuses, strict=True):
        data[f"status-{p.public_id}"] = s
    data.update(extra)
    return data


def _urls(world, group):  # type: ignore[no-untyped-def]
    session = group.sessions[0]
    appt = make_appointment(world, world.patient_a, MONDAY)
    return [
        ("get", reverse("attendance:roster", args=[session.public_id])),
        ("post", reverse("attendance:roster", args=[session.public_id])),
        (
            "post",
            reverse("attendance:check_in", args=[session.public_id, world.patient_a.public_id]),
        ),
        ("get", reverse("attendance:appointment", args=[appt.public_id])),
        ("post", reverse("attendance:appointment", args=[appt.public_id])),
        ("get", reverse("attendance:outreach", args=[world.patient_a.public_id])),
        ("post", reverse("attendance:outreach", args=[world.patient_a.public_id])),
    ]


@pytest.mark.parametrize("outsider", ["charlie", "olivia"])
def test_outsiders_are_refused_on_every_url_and_audited(world, as_user, outsider) -> None:  # type: ignore[no-untyped-def]
    group = make_group(world, size=2)
    save(world.alice, group.sessions[0], lines(group, rules.PRESENT, rules.PRESENT))
    user = getattr(world, outsider)
    client = as_user(user)
    for method, url in _urls(world, group):
        before = AuditEvent.objects.filter(actor=user, outcome="denied").count()
        response = getattr(client, method)(url)
        assert response.status_code in (403, 404), (method, url, response.status_code)
        assert b"Canary-PA" not in response.content
        assert AuditEvent.objects.filter(actor=user, outcome="denied").count() == before + 1, url
    # Lists: nothing of program A shows.
    for name in ("attendance:census", "attendance:compliance"):
        response = client.get(
            reverse(name), {"day": MONDAY.isoformat(), "week": MONDAY.isoformat()}
        )
        assert response.status_code in (200, 403)
        assert b"Canary-PA" not in response.content
    assert client.get(reverse("attendance:compliance_export")).status_code in (403, 404)
    assert AttendanceRecord.objects.filter(status=rules.PRESENT).count() == 2


def test_roles(world, as_user) -> None:  # type: ignore[no-untyped-def]
    group = make_group(world, size=1)
    roster = reverse("attendance:roster", args=[group.sessions[0].public_id])
    assert as_user(world.bob).get(roster).status_code == 403  # the auditor reads reports only
    assert as_user(world.bob).get(reverse("attendance:compliance")).status_code == 200
    assert as_user(world.sam).get(reverse("attendance:census")).status_code == 403


def test_roster_save_and_double_submit(world, as_user) -> None:  # type: ignore[no-untyped-def]
    group = make_group(world, size=3)
    url = reverse("attendance:roster", args=[group.sessions[0].public_id])
    client = as_user(world.alice)
    page = client.get(url).content.decode()
    assert "Canary-PA" in page and 'name="version" value="0"' in page
    data = _post_data(group, [rules.PRESENT, rules.LATE, rules.ABSENT_UNEXCUSED])
    data[f"late_minutes-{group.patients[1].public_id}"] = "30"
    assert client.post(url, data).status_code == 302
    assert client.post(url, data).status_code == 302  # the same form again
    assert AttendanceRecord.objects.count() == 3
    late = AttendanceRecord.objects.get(patient=group.patients[1])
    assert late.minutes_attended == 150
    assert AuditEvent.objects.filter(object_type="attendance_roster", actor=world.alice).exists()


def test_bad_line_is_shown_next_to_it_with_everything_typed_kept(world, as_user) -> None:  # type: ignore[no-untyped-def]
    group = make_group(world, size=2)
    url = reverse("attendance:roster", args=[group.sessions[0].public_id])
    data = _post_data(group, [rules.LATE, rules.PRESENT])
    data[f"minutes_attended-{group.patients[1].public_id}"] = "95"
    response = as_user(world.alice).post(url, data)
    html = response.content.decode()
    assert response.status_code == 422
    assert "How many minutes late?" in html
    assert 'value="95"' in html
    assert not AttendanceRecord.objects.exists()
    data[f"late_minutes-{group.patients[0].public_id}"] = "abc"
    html = as_user(world.alice).post(url, data).content.decode()
    assert "A whole number of minutes." in html and 'value="abc"' in html


def test_concurrent_save_is_refused_showing_what_changed(world, as_user) -> None:  # type: ignore[no-untyped-def]
    group = make_group(world, size=3)
    url = reverse("attendance:roster", args=[group.sessions[0].public_id])
    first = _post_data(group, [rules.PRESENT, rules.PRESENT, rules.PRESENT], version=0)
    second = _post_data(group, [rules.PRESENT, rules.ABSENT_EXCUSED, rules.PRESENT], version=0)
    assert as_user(world.alice).post(url, first).status_code == 302
    response = as_user(world.dana).post(url, second)
    html = response.content.decode()
    assert response.status_code == 409
    assert "while you were marking it" in html
    assert f'id="line-{group.patients[1].public_id}" class="changed' in html
    assert "Present, 180 min" in html  # what is now saved, beside dana's entry
    assert 'name="version" value="1"' in html
    assert set(AttendanceRecord.objects.values_list("status", flat=True)) == {rules.PRESENT}


def test_add_walk_in_keeps_typed_marks(world, as_user) -> None:  # type: ignore[no-untyped-def]
    group = make_group(world, size=1)
    walker = PatientFactory(organization=world.org, legal_family_name="Canary-WALK")
    EpisodeFactory(patient=walker, program=world.program_a)
    url = reverse("attendance:roster", args=[group.sessions[0].public_id])
    data = _post_data(
        group, [rules.ABSENT_EXCUSED], action="add", walk_in_patient=str(walker.public_id)
    )
    html = as_user(world.alice).post(url, data).content.decode()
    assert "Canary-WALK" in html and "walk-in" in html
    assert f'<option value="{rules.ABSENT_EXCUSED}" selected>' in html


def test_census_shows_expected_arrived_missing_with_phone_and_check_in(world, as_user) -> None:  # type: ignore[no-untyped-def]
    group = make_group(world, size=3, start=MONDAY)
    wed = group.sessions[1]
    client = as_user(world.alice)
    url = reverse("attendance:census")
    html = client.get(url, {"day": wed.on.isoformat()}).content.decode()
    assert 'id="census-expected">3<' in html and 'id="census-arrived">0<' in html
    assert group.patients[1].phone in html
    response = client.post(
        reverse("attendance:check_in", args=[wed.public_id, group.patients[1].public_id])
    )
    assert response.status_code == 302
    partial = client.get(url, {"day": wed.on.isoformat()}, HTTP_HX_REQUEST="true")
    html = partial.content.decode()
    assert "<html" not in html and 'id="census-arrived">1<' in html
    assert AuditEvent.objects.filter(object_type="census", actor=world.alice).exists()


def test_compliance_report_and_audited_csv_export(world, as_user) -> None:  # type: ignore[no-untyped-def]
    group = make_group(world, size=2)
    for s in group.sessions:
        save(world.alice, s, lines(group, rules.PRESENT, rules.ABSENT_EXCUSED))
    client = as_user(world.dana)
    params = {"track": str(group.track.public_id), "week": MONDAY.isoformat()}
    html = client.get(reverse("attendance:compliance"), params).content.decode()
    assert "1 of 2" in html and "Canary-PA" in html
    response = client.get(reverse("attendance:compliance_export"), params)
    assert response["Content-Type"] == "text/csv"
    body = response.content.decode().splitlines()
    assert body[0].startswith("mrn,family_name,given_name,week_start,hours,days")
    row = next(line for line in body if "Canary-PA" in line)
    assert ",9.00,3," in row and "met" in row
    assert AuditEvent.objects.filter(action="export", object_type="compliance_report").exists()


def test_chart_shows_hours_recent_attendance_and_disengagement(world, as_user) -> None:  # type: ignore[no-untyped-def]
    group = make_group(world, size=1)
    save(world.alice, group.sessions[0], lines(group, rules.ABSENT_UNEXCUSED))
    save(world.alice, group.sessions[1], lines(group, rules.ABSENT_UNEXCUSED))
    html = (
        as_user(world.alice)
        .get(reverse("patients:chart_section", args=[world.patient_a.public_id, "schedule"]))
        .content.decode()
    )
    assert 'id="attendance-section"' in html
    assert 'id="chart-week-hours">0.00 h<' in html
    assert "2 consecutive unexcused absences" in html
    dashboard = as_user(world.dana).get(reverse("core:dashboard")).content.decode()
    assert "2 consecutive unexcused absences" in dashboard and "Canary-PA" in dashboard


def test_appointment_mark_page(world, as_user) -> None:  # type: ignore[no-untyped-def]
    make_group(world, size=1)
    appt = make_appointment(world, world.patient_a, MONDAY + timedelta(days=1), minutes=50)
    url = reverse("attendance:appointment", args=[appt.public_id])
    client = as_user(world.alice)
    chart = reverse("patients:chart_section", args=[world.patient_a.public_id, "schedule"])
    assert url in client.get(chart).content.decode()  # "to mark" on the chart
    assert client.get(url).status_code == 200
    bad = client.post(url, {"kept": "yes", "minutes": "80", "version": "0"})
    assert bad.status_code == 422 and "Between 1 and 50 minutes." in bad.content.decode()
    assert client.post(url, {"kept": "yes", "minutes": "45", "version": "0"}).status_code == 302
    assert AttendanceRecord.objects.get(appointment=appt).minutes_attended == 45
    assert url not in client.get(chart).content.decode()


def _grow(world, group, extra_patients: int, weeks_back: int) -> None:  # type: ignore[no-untyped-def]
    """More patients on the roster and weeks of history for everyone."""
    for i in range(extra_patients):
        p = PatientFactory(organization=world.org, phone=f"555-020-{i:04d}")
        e = EpisodeFactory(patient=p, program=world.program_a)
        enrol(p, e, group.track, MONDAY - timedelta(days=7 * weeks_back), world.dana)
    from .helpers import make_session

    for w in range(1, weeks_back + 1):
        day = MONDAY - timedelta(days=7 * w)
        s = make_session(group.track, group.room, world.alice, day)
        roster = [p.patient_id for p in group.track.enrolments.all()]
        AttendanceRecord.objects.bulk_create(
            AttendanceRecord(
                patient_id=pid,
                program=world.program_a,
                track=group.track,
                session=s,
                on=day,
                status=rules.PRESENT,
                minutes_attended=180,
                recorded_by=world.alice,
                recorded_at=WEDNESDAY_NOON,
            )
            for pid in roster
        )


def test_query_counts_do_not_grow_with_patients_or_history(world, as_user) -> None:  # type: ignore[no-untyped-def]
    group = make_group(world, size=3)
    session = group.sessions[1]
    save(
        world.alice, session, lines(group, rules.PRESENT, rules.PRESENT, rules.LATE, late_minutes=5)
    )
    alice, dana = as_user(world.alice), as_user(world.dana)
    chart = reverse("patients:chart_section", args=[world.patient_a.public_id, "schedule"])
    pages = [
        (alice, reverse("attendance:roster", args=[session.public_id]), {}),
        (alice, reverse("attendance:census"), {"day": session.on.isoformat()}),
        (dana, reverse("attendance:compliance"), {"track": str(group.track.public_id)}),
        (dana, reverse("attendance:compliance_export"), {"track": str(group.track.public_id)}),
        (dana, reverse("core:dashboard"), {}),
        (alice, chart, {}),
    ]
    [_count(c, u, p) for c, u, p in pages]  # warm the sessions and caches
    small = [_count(c, u, p) for c, u, p in pages]
    _grow(world, group, extra_patients=12, weeks_back=6)
    large = [_count(c, u, p) for c, u, p in pages]
    assert large == small, list(zip([u for _, u, _ in pages], small, large, strict=True))


def test_saving_a_roster_costs_the_same_for_3_or_15_patients(world) -> None:  # type: ignore[no-untyped-def]
    def cost(size: int, name: str) -> tuple[int, int]:
        """Queries of a first save (creates every mark) and of a second (changes every one)."""
        group = make_group(world, size=size, name=name, with_patient_a=False)
        counts = []
        for version, status in ((0, rules.PRESENT), (1, rules.ABSENT_EXCUSED)):
            marks = lines(group, *[status] * size)
            with CaptureQueriesContext(connection) as ctx:
                save(world.alice, group.sessions[0], marks, version=version)
            counts.append(len(ctx.captured_queries))
        return counts[0], counts[1]

    cost(2, "Warm-up group")  # the first audit row creates the chain head
    assert cost(3, "Small group") == cost(15, "Large group")
