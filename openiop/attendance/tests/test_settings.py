"""Directors' attendance settings: per-program threshold and partial-week policy, and
the weekly hour minimums per payer, plan type or program. Outsiders refused, audit rows,
errors next to fields with input kept, version conflicts showing what changed, double
submits, constant query counts, and the compliance report picking the changes up."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openiop.attendance import rules, services
from openiop.attendance.models import AttendanceSettings, HourRequirement
from openiop.attendance.selectors import absence_threshold
from openiop.audit.models import AuditEvent
from openiop.core.errors import ServiceError
from openiop.patients.models import Coverage
from tests.factories import PayerFactory, ProgramFactory

from .helpers import MONDAY, lines, make_group, save

pytestmark = pytest.mark.usefixtures("frozen_clock")
WEDNESDAY_NOON = dt.datetime(2026, 11, 18, 12, 30, tzinfo=dt.UTC)


@pytest.fixture
def frozen_clock():  # type: ignore[no-untyped-def]
    with time_machine.travel(WEDNESDAY_NOON, tick=False):
        yield


def _requirement(world, **kw):  # type: ignore[no-untyped-def]
    values = {
        "organization": world.org,
        "code": "acme_iop",
        "label": "Acme Health IOP",
        "scope": "all",
        "adult_min_hours": Decimal(9),
        "adolescent_min_hours": Decimal(6),
        "source": "Acme provider manual 2026, IOP section",
    } | kw
    return HourRequirement.objects.create(**values)


def _req_post(**kw: object) -> dict[str, object]:
    return {
        "label": "Acme Health IOP",
        "code": "acme_iop",
        "scope": "all",
        "program": "",
        "payer": "",
        "plan_type": "",
        "adult_min_hours": "9",
        "adolescent_min_hours": "6",
        "min_days": "",
        "source": "Acme provider manual 2026, IOP section",
        "is_active": "on",
        "version": "0",
        "submission_token": str(uuid.uuid4()),
    } | kw


def _urls(world):  # type: ignore[no-untyped-def]
    req = _requirement(world)
    program = reverse("attendance:settings_program", args=[world.program_a.public_id])
    requirement = reverse("attendance:requirement", args=[req.public_id])
    return [
        ("get", reverse("attendance:settings")),
        ("get", program),
        ("post", program),
        ("get", reverse("attendance:requirement_new")),
        ("post", reverse("attendance:requirement_new")),
        ("get", requirement),
        ("post", requirement),
    ]


@pytest.mark.parametrize("outsider", ["charlie", "olivia", "alice", "bob"])
def test_outsiders_are_refused_on_every_settings_url_and_audited(world, as_user, outsider) -> None:  # type: ignore[no-untyped-def]
    """Counselors and auditors lack the settings permission (403 on every URL); olivia
    directs a program of another organization: program A's program and requirement are
    404s, and her own settings screen and add form show and accept nothing of program
    A's organization."""
    user = getattr(world, outsider)
    client = as_user(user)
    org_wide = {reverse("attendance:settings"), reverse("attendance:requirement_new")}
    for method, url in _urls(world):
        if outsider == "olivia" and url in org_wide:
            continue
        before = AuditEvent.objects.filter(actor=user, outcome="denied").count()
        response = getattr(client, method)(url, _req_post() if method == "post" else {})
        assert response.status_code in (403, 404), (method, url, response.status_code)
        assert b"Acme Health IOP" not in response.content
        assert AuditEvent.objects.filter(actor=user, outcome="denied").count() == before + 1, url
    if outsider == "olivia":
        payer_a = PayerFactory(organization=world.org, name="Payer of A")
        for url in org_wide:
            html = client.get(url).content.decode()
            assert world.program_a.name not in html and "Acme Health IOP" not in html
            assert "Payer of A" not in html
        response = client.post(
            reverse("attendance:requirement_new"),
            _req_post(scope="payer", payer=str(payer_a.public_id)),
        )
        assert response.status_code == 422
        response = client.post(
            reverse("attendance:requirement_new"),
            _req_post(scope="program", program=str(world.program_a.public_id)),
        )
        assert response.status_code == 422
    assert not AttendanceSettings.objects.exists()
    assert HourRequirement.objects.count() == 1


def test_settings_are_linked_from_the_organization_settings(world, as_user) -> None:  # type: ignore[no-untyped-def]
    html = as_user(world.dana).get(reverse("organizations:home")).content.decode()
    assert reverse("attendance:settings") in html


def test_director_changes_program_settings_audited(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.dana)
    url = reverse("attendance:settings_program", args=[world.program_a.public_id])
    html = client.get(url).content.decode()
    assert 'name="version" value="0"' in html and 'value="2"' in html
    response = client.post(
        url, {"absence_alert_threshold": "3", "partial_week_policy": "exempt", "version": "0"}
    )
    assert response.status_code == 302
    row = AttendanceSettings.objects.get(program=world.program_a)
    assert (row.absence_alert_threshold, row.partial_week_policy, row.version) == (3, "exempt", 1)
    assert row.updated_by == world.dana
    event = AuditEvent.objects.get(object_type="attendance_settings")
    assert event.action == "create" and event.object_id == str(world.program_a.public_id)
    assert sorted(event.detail["fields"]) == ["absence_alert_threshold", "partial_week_policy"]
    response = client.post(
        url, {"absence_alert_threshold": "0", "partial_week_policy": "exempt", "version": "1"}
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.absence_alert_threshold, row.version) == (0, 2)
    updates = AuditEvent.objects.filter(object_type="attendance_settings", action="update")
    assert updates.count() == 1
    # The disengagement check reads the program's threshold from here (0: off).
    assert absence_threshold(world.program_a.pk) == 0


def test_program_settings_bad_input_next_to_the_field_with_input_kept(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.dana)
    url = reverse("attendance:settings_program", args=[world.program_a.public_id])
    response = client.post(
        url, {"absence_alert_threshold": "25", "partial_week_policy": "full", "version": "0"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_absence_alert_threshold_error"' in html
    assert "Between 0 (no alerts) and 20" in html
    assert 'value="25"' in html
    assert re.search(r'value="full"[^>]*checked', html)
    response = client.post(
        url, {"absence_alert_threshold": "two", "partial_week_policy": "", "version": "0"}
    )
    assert response.status_code == 422
    assert 'id="id_partial_week_policy_error"' in response.content.decode()
    assert not AttendanceSettings.objects.exists()


def test_concurrent_program_settings_edit_refused_showing_what_changed(world, as_user) -> None:  # type: ignore[no-untyped-def]
    AttendanceSettings.objects.create(
        program=world.program_a, absence_alert_threshold=4, version=3, updated_by=world.sam
    )
    client = as_user(world.dana)
    url = reverse("attendance:settings_program", args=[world.program_a.public_id])
    response = client.post(
        url, {"absence_alert_threshold": "5", "partial_week_policy": "full", "version": "2"}
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert 'id="conflict"' in html and world.sam.display_name in html
    # Both changed fields listed with the user's entry beside what is saved; input kept.
    assert "<td>5</td><td>4</td>" in html and "Apply the full minimum" in html
    assert 'name="version" value="3"' in html and 'value="5"' in html
    row = AttendanceSettings.objects.get(program=world.program_a)
    assert (row.absence_alert_threshold, row.version) == (4, 3)
    # A first save from the defaults while someone created the row: refused as well.
    with pytest.raises(services.ConfigConflict):
        services.settings_save(
            actor=world.dana,
            program=world.program_a,
            absence_alert_threshold=2,
            partial_week_policy="prorate",
            base_version=0,
            now=WEDNESDAY_NOON,
        )


def test_services_refuse_other_roles_and_other_organizations(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError):
        services.settings_save(
            actor=world.alice,
            program=world.program_a,
            absence_alert_threshold=2,
            partial_week_policy="prorate",
            base_version=0,
            now=WEDNESDAY_NOON,
        )
    with pytest.raises(ServiceError):
        services.settings_save(
            actor=world.olivia,
            program=world.program_a,
            absence_alert_threshold=2,
            partial_week_policy="prorate",
            base_version=0,
            now=WEDNESDAY_NOON,
        )
    other_payer = PayerFactory(organization=world.olivia.organization)
    data = services.RequirementInput(
        code="x",
        label="X",
        scope="payer",
        program=None,
        payer=other_payer,
        plan_type="",
        adult_min_hours=Decimal(9),
        adolescent_min_hours=Decimal(9),
        min_days=None,
        source="",
    )
    with pytest.raises(services.FieldProblems) as refused:
        services.requirement_save(
            actor=world.dana,
            requirement=None,
            data=data,
            base_version=0,
            submission_token=None,
            now=WEDNESDAY_NOON,
        )
    assert "payer" in refused.value.fields
    assert not HourRequirement.objects.exists()


def test_add_requirement_for_a_payer_audited_and_double_submit_makes_one(world, as_user) -> None:  # type: ignore[no-untyped-def]
    payer = PayerFactory(organization=world.org, name="Acme Health")
    client = as_user(world.dana)
    url = reverse("attendance:requirement_new")
    html = client.get(url).content.decode()
    assert "Acme Health" in html and world.program_a.name in html
    data = _req_post(scope="payer", payer=str(payer.public_id), adult_min_hours="12", min_days="4")
    assert client.post(url, data).status_code == 302
    assert client.post(url, data).status_code == 302  # the same form again
    req = HourRequirement.objects.get()
    assert (req.payer, req.adult_min_hours, req.min_days, req.version) == (
        payer,
        Decimal("12.0"),
        4,
        1,
    )
    assert req.updated_by == world.dana and req.organization == world.org
    event = AuditEvent.objects.get(object_type="hour_requirement")
    assert event.action == "create" and event.object_id == str(req.public_id)
    listing = client.get(reverse("attendance:settings")).content.decode()
    assert "Payer: Acme Health" in listing and "12.0 h" in listing


def test_requirement_errors_next_to_fields_with_input_kept(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.dana)
    url = reverse("attendance:requirement_new")
    response = client.post(
        url,
        _req_post(scope="payer", adult_min_hours="50", min_days="9", label="Typed label kept"),
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_payer_error"' in html and "Choose the payer" in html
    assert 'id="id_adult_min_hours_error"' in html and 'id="id_min_days_error"' in html
    assert 'value="Typed label kept"' in html and 'value="50"' in html
    assert 'value="Acme provider manual 2026, IOP section"' in html
    response = client.post(url, _req_post(scope="plan_type", code="Not a slug!"))
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_code_error"' in html
    assert not HourRequirement.objects.exists()
    # A second active rule of the same code for the same patients: refused on the code.
    _requirement(world)
    response = client.post(url, _req_post())
    assert response.status_code == 422
    assert 'id="id_code_error"' in response.content.decode()
    assert HourRequirement.objects.count() == 1


def test_concurrent_requirement_edit_refused_then_retired_not_deleted(world, as_user) -> None:  # type: ignore[no-untyped-def]
    req = _requirement(world, version=2, updated_by=world.sam, adult_min_hours=Decimal(10))
    client = as_user(world.dana)
    url = reverse("attendance:requirement", args=[req.public_id])
    assert 'name="version" value="2"' in client.get(url).content.decode()
    response = client.post(url, _req_post(version="1", adult_min_hours="11"))
    assert response.status_code == 409
    html = response.content.decode()
    assert 'id="conflict"' in html and "<td>11</td><td>10.0</td>" in html
    assert 'value="11"' in html and 'name="version" value="2"' in html
    req.refresh_from_db()
    assert (req.adult_min_hours, req.version) == (Decimal("10.0"), 2)
    # Saving again from the version shown succeeds; unticking "in use" retires it.
    data = _req_post(version="2", adult_min_hours="11")
    del data["is_active"]
    assert client.post(url, data).status_code == 302
    req.refresh_from_db()
    assert (req.adult_min_hours, req.is_active, req.version) == (Decimal("11.0"), False, 3)
    event = AuditEvent.objects.get(object_type="hour_requirement", action="update")
    assert sorted(event.detail["fields"]) == ["adult_min_hours", "is_active"]


def test_settings_page_query_count_is_constant(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.dana)
    url = reverse("attendance:settings")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    count()
    small = count()
    for i in range(6):
        program = ProgramFactory(site=world.program_a.site, name=f"Extra {i}")
        AttendanceSettings.objects.create(program=program, updated_by=world.dana)
        payer = PayerFactory(organization=world.org)
        _requirement(world, code=f"payer_{i}", scope="payer", payer=payer, updated_by=world.dana)
        _requirement(world, code=f"prog_{i}", scope="program", program=program)
    assert count() == small


def test_payer_minimum_changes_the_report_verdict_end_to_end(world, as_user) -> None:  # type: ignore[no-untyped-def]
    """9 hours attended in the week; the director sets Acme's minimum to 12 h: the
    report says not met; lowering it to 8 h makes it met."""
    payer = PayerFactory(organization=world.org, name="Acme Health")
    group = make_group(world, size=1)
    Coverage.objects.create(
        patient=world.patient_a,
        payer=payer,
        plan_type="private",
        effective_start=MONDAY - timedelta(days=90),
    )
    for s in group.sessions:
        save(world.alice, s, lines(group, rules.PRESENT))
    client = as_user(world.dana)
    report = reverse("attendance:compliance")
    params = {"track": str(group.track.public_id), "week": MONDAY.isoformat()}
    html = client.get(report, params).content.decode()
    assert "1 of 1" in html and "Acme" not in html

    response = client.post(
        reverse("attendance:requirement_new"),
        _req_post(scope="payer", payer=str(payer.public_id), adult_min_hours="12"),
    )
    assert response.status_code == 302
    html = client.get(report, params).content.decode()
    assert "0 of 1" in html and "Acme Health IOP" in html and "≥ 12.0 h" in html
    csv = client.get(reverse("attendance:compliance_export"), params).content.decode()
    assert "acme_iop_status" in csv and ",not_met" in csv

    req = HourRequirement.objects.get()
    response = client.post(
        reverse("attendance:requirement", args=[req.public_id]),
        _req_post(scope="payer", payer=str(payer.public_id), adult_min_hours="8", version="1"),
    )
    assert response.status_code == 302
    html = client.get(report, params).content.decode()
    assert "1 of 1" in html and "≥ 8.0 h" in html

    # A patient without Acme coverage is not judged by it.
    Coverage.objects.filter(patient=world.patient_a).update(payer=None)
    html = client.get(report, params).content.decode()
    assert "≥ 8.0 h" not in html


def test_partial_week_policy_set_on_screen_reaches_the_report(world, as_user) -> None:  # type: ignore[no-untyped-def]
    group = make_group(world, size=1)
    group.track.enrolments.update(start_on=MONDAY + timedelta(days=4))  # Friday only
    client = as_user(world.dana)
    report = reverse("attendance:compliance")
    params = {"track": str(group.track.public_id), "week": MONDAY.isoformat()}
    assert "Not judged" not in client.get(report, params).content.decode()
    client.post(
        reverse("attendance:settings_program", args=[world.program_a.public_id]),
        {"absence_alert_threshold": "2", "partial_week_policy": "exempt", "version": "0"},
    )
    assert "Not judged" in client.get(report, params).content.decode()
