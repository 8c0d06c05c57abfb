"""The plan deadline settings screen (program directors, `org.manage`): outsiders
refused, audit rows, errors next to the field with input kept, double submits, version
conflicts, constant queries, and a changed setting changing the worklist's verdict."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from openiop.audit.models import AuditAction, AuditEvent
from openiop.episodes.models import Episode
from openiop.plans.models import PlanDeadlineSetting
from openiop.plans.tests.helpers import make_signed_plan

pytestmark = pytest.mark.django_db


def _form(**fields):  # type: ignore[no-untyped-def]
    data = {
        "submission_token": str(uuid.uuid4()),
        "version": "",
        "label": "Program A policy",
        "program": "",
        "payer": "",
        "plan_type": "",
        "jurisdiction": "",
        "due_within_days": "",
        "review_every_days": "",
        "is_active": "on",
    }
    data.update({k: str(v) for k, v in fields.items()})
    return data


@pytest.fixture
def setting(world):  # type: ignore[no-untyped-def]
    return PlanDeadlineSetting.objects.create(
        organization=world.org, label="Kansas rule", jurisdiction="KS", due_within_days=7
    )


def test_outsiders_refused_on_every_settings_url(world, as_user, setting):  # type: ignore[no-untyped-def]
    urls = [
        reverse("plans:deadline_settings"),
        reverse("plans:deadline_setting_new"),
        reverse("plans:deadline_setting_edit", args=[setting.public_id]),
    ]
    # Clinicians and auditors have no org.manage: 403 (audited), nothing changes.
    for who in ("alice", "charlie", "bob"):
        client = as_user(getattr(world, who))
        for url in urls:
            assert client.get(url).status_code == 403, (who, url)
            assert client.post(url, _form(due_within_days=3)).status_code == 403, (who, url)
    assert AuditEvent.objects.filter(actor=world.charlie, action="access_denied").exists()
    # A director of another organization sees none of this organization's settings.
    olivia = as_user(world.olivia)
    edit = reverse("plans:deadline_setting_edit", args=[setting.public_id])
    assert olivia.get(edit).status_code == 404
    assert olivia.post(edit, _form(version=1, due_within_days=3)).status_code == 404
    assert "Kansas rule" not in olivia.get(urls[0]).content.decode()
    setting.refresh_from_db()
    assert setting.due_within_days == 7 and setting.version == 1
    assert PlanDeadlineSetting.objects.count() == 1


def test_linked_from_the_organization_settings_page(world, as_user):  # type: ignore[no-untyped-def]
    html = as_user(world.dana).get(reverse("organizations:home")).content.decode()
    assert reverse("plans:deadline_settings") in html


def test_create_is_audited_and_a_double_submit_creates_one(world, as_user):  # type: ignore[no-untyped-def]
    client = as_user(world.dana)
    data = _form(
        label="Medicare IOP: at least every other month",
        plan_type="medicare",
        review_every_days=60,
        program=world.program_a.public_id,
    )
    first = client.post(reverse("plans:deadline_setting_new"), data)
    second = client.post(reverse("plans:deadline_setting_new"), data)
    assert first.status_code == 302 and second.status_code == 302
    s = PlanDeadlineSetting.objects.get()
    assert (s.plan_type, s.review_every_days, s.program_id) == ("medicare", 60, world.program_a.pk)
    events = AuditEvent.objects.filter(object_type="plan_deadline_setting", actor=world.dana)
    assert [e.action for e in events] == [AuditAction.CREATE]
    assert events[0].object_id == str(s.public_id)
    assert "review_every_days" in events[0].detail["fields"]
    listing = client.get(reverse("plans:deadline_settings")).content.decode()
    assert "Medicare IOP: at least every other month" in listing and "60 days" in listing


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"due_within_days": 0}, "due_within_days", "from 1 to 365"),
        ({"review_every_days": 400}, "review_every_days", "from 1 to 365"),
        ({}, "due_within_days", "Enter a deadline, a review interval"),
        ({"label": "", "due_within_days": 5}, "label", "Say where the requirement comes from"),
        ({"due_within_days": "soon"}, "due_within_days", "Enter a whole number"),
        ({"jurisdiction": "ZZ", "due_within_days": 5}, "jurisdiction", "Select a valid choice"),
    ],
)
def test_bad_input_422_next_to_the_field_with_input_kept(world, as_user, fields, field, message):  # type: ignore[no-untyped-def]
    client = as_user(world.dana)
    data = _form(**{"label": "Typed label kept", **fields})
    response = client.post(reverse("plans:deadline_setting_new"), data)
    assert response.status_code == 422
    html = response.content.decode()
    error_at = html.index(f'id="id_{field}_error"')
    assert message in html[error_at : error_at + 300]
    if "label" not in fields:
        assert 'value="Typed label kept"' in html
    assert PlanDeadlineSetting.objects.count() == 0
    assert not AuditEvent.objects.filter(object_type="plan_deadline_setting").exists()


def test_concurrent_edit_refused_showing_what_is_saved(world, as_user, setting):  # type: ignore[no-untyped-def]
    url = reverse("plans:deadline_setting_edit", args=[setting.public_id])
    dana = as_user(world.dana)
    assert dana.get(url).status_code == 200
    # Someone else saves first, from the same version.
    first = dana.post(
        url, _form(version=1, label="Kansas rule", jurisdiction="KS", due_within_days=5)
    )
    assert first.status_code == 302
    second = dana.post(
        url, _form(version=1, label="Kansas rule", jurisdiction="KS", due_within_days=10)
    )
    assert second.status_code == 409
    html = second.content.decode()
    assert "Someone else saved this setting" in html
    assert "Plan due within: <strong>5</strong>" in html
    assert 'value="10"' in html  # what this person typed is kept
    assert 'name="version" value="2"' in html  # saving again starts from the stored one
    setting.refresh_from_db()
    assert setting.due_within_days == 5 and setting.version == 2
    updates = AuditEvent.objects.filter(
        object_type="plan_deadline_setting", action=AuditAction.UPDATE
    )
    assert updates.count() == 1 and updates[0].detail["fields"] == ["due_within_days"]


def _queries(client, url):  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def test_settings_list_queries_constant(world, as_user):  # type: ignore[no-untyped-def]
    client = as_user(world.dana)
    url = reverse("plans:deadline_settings")
    PlanDeadlineSetting.objects.create(
        organization=world.org, label="one", program=world.program_a, due_within_days=5
    )
    _queries(client, url)
    few = _queries(client, url)
    for n in range(12):
        PlanDeadlineSetting.objects.create(
            organization=world.org,
            label=f"rule {n}",
            program=world.program_a if n % 2 else world.program_b,
            jurisdiction="KS" if n % 3 else "",
            review_every_days=20 + n,
        )
    assert _queries(client, url) == few


def _worklist_state(client) -> str:  # type: ignore[no-untyped-def]
    html = client.get(reverse("plans:worklist")).content.decode()
    return html


def test_changing_a_setting_changes_the_worklist_verdict(world, as_user):  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    # Admitted 10 days ago, no plan: overdue under the default of 7 days.
    Episode.objects.filter(pk=world.episode_a.pk).update(admitted_on=today - timedelta(days=10))
    alice, dana = as_user(world.alice), as_user(world.dana)
    assert "Plan overdue" in _worklist_state(alice)
    # The director gives program A 14 days: the plan is due, not overdue.
    dana.post(
        reverse("plans:deadline_setting_new"),
        _form(label="Program A: 14 days", program=world.program_a.public_id, due_within_days=14),
    )
    html = _worklist_state(alice)
    assert "Plan due" in html and "Plan overdue" not in html
    assert (today + timedelta(days=4)).isoformat() in html
    # Then makes it 5 days: overdue again.
    s = PlanDeadlineSetting.objects.get()
    url = reverse("plans:deadline_setting_edit", args=[s.public_id])
    response = dana.post(
        url,
        _form(
            version=s.version,
            label="Program A: 5 days",
            program=world.program_a.public_id,
            due_within_days=5,
        ),
    )
    assert response.status_code == 302
    assert "Plan overdue" in _worklist_state(alice)
    # Switched off: the default (7 days) applies again, still overdue after 10 days.
    s.refresh_from_db()
    dana.post(
        url,
        _form(
            version=s.version,
            label="Program A: 5 days",
            program=world.program_a.public_id,
            due_within_days=5,
            is_active="",
        ),
    )
    s.refresh_from_db()
    assert s.is_active is False
    assert "Plan overdue" in _worklist_state(alice)


def test_review_interval_setting_changes_review_verdict(world, as_user):  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    Episode.objects.filter(pk=world.episode_a.pk).update(admitted_on=today - timedelta(days=45))
    make_signed_plan(world.alice, world.patient_a, day=today - timedelta(days=40))
    alice, dana = as_user(world.alice), as_user(world.dana)
    # Signed 40 days ago, reviewed every 30 days by default: review overdue.
    assert "Review overdue" in _worklist_state(alice)
    # A program policy of every 60 days: current, off the worklist.
    dana.post(
        reverse("plans:deadline_setting_new"),
        _form(label="Program A: 60 days", program=world.program_a.public_id, review_every_days=60),
    )
    html = _worklist_state(alice)
    assert "Review overdue" not in html and world.patient_a.mrn not in html
    # A setting for program B does not apply to program A's patient.
    s = PlanDeadlineSetting.objects.get()
    dana.post(
        reverse("plans:deadline_setting_edit", args=[s.public_id]),
        _form(
            version=s.version,
            label="Program B only",
            program=world.program_b.public_id,
            review_every_days=60,
        ),
    )
    assert "Review overdue" in _worklist_state(alice)
