"""Views: outsiders refused on every URL, bad input kept (422), signed notes refused
through the view and autosave, PDF text, query counts constant, chart section."""

from __future__ import annotations

import uuid
from datetime import time, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from openiop.audit.models import AuditEvent
from openiop.notes.models import Note
from openiop.notes.tests.helpers import DAY, at, draft, held_session, sign

pytestmark = pytest.mark.django_db


def _urls(world: Any, note: Note, session: Any) -> list[tuple[str, str]]:
    pid, nid = world.patient_a.public_id, note.public_id
    return [
        ("get", reverse("notes:list", args=[pid])),
        ("get", reverse("notes:new", args=[pid, "individual"])),
        ("post", reverse("notes:new", args=[pid, "individual"])),
        ("get", reverse("notes:detail", args=[pid, nid])),
        ("get", reverse("notes:edit", args=[pid, nid])),
        ("post", reverse("notes:edit", args=[pid, nid])),
        ("post", reverse("notes:sign", args=[pid, nid])),
        ("post", reverse("notes:cosign", args=[pid, nid])),
        ("get", reverse("notes:return", args=[pid, nid])),
        ("get", reverse("notes:addendum", args=[pid, nid])),
        ("get", reverse("notes:void", args=[pid, nid])),
        ("get", reverse("notes:pdf", args=[pid, nid])),
        ("get", reverse("notes:group", args=[session.public_id])),
        ("post", reverse("notes:group_start", args=[session.public_id])),
        ("post", reverse("notes:group_cosign", args=[session.public_id])),
        ("post", reverse("notes:group_return", args=[session.public_id])),
    ]


def test_outsiders_refused_everywhere(world: Any, as_user: Any) -> None:
    note = sign(world, draft(world))
    held = held_session(world, present=2, absent=0)
    for user in (world.charlie, world.olivia):
        client = as_user(user)
        for method, url in _urls(world, note, held.session):
            response = getattr(client, method)(url)
            assert response.status_code in (403, 404), (user.username, url, response.status_code)
    assert not Note.objects.filter(group_note__isnull=False).exists()


def test_roles_without_note_permission_refused(world: Any, as_user: Any) -> None:
    from tests.factories import UserFactory

    desk = UserFactory(
        username="fd", organization=world.org, role="front_desk", programs=[world.program_a]
    )
    note = sign(world, draft(world))
    response = as_user(desk).get(
        reverse("notes:detail", args=[world.patient_a.public_id, note.public_id])
    )
    assert response.status_code == 403
    # The auditor reads but never writes.
    bob = as_user(world.bob)
    assert (
        bob.get(
            reverse("notes:detail", args=[world.patient_a.public_id, note.public_id])
        ).status_code
        == 200
    )
    assert (
        bob.get(reverse("notes:new", args=[world.patient_a.public_id, "individual"])).status_code
        == 403
    )


def _form(world: Any, **kw: Any) -> dict[str, Any]:
    data = {
        "submission_token": str(uuid.uuid4()),
        "program": world.program_a.pk,
        "format": "dap",
        "service_date": "2025-03-03",
        "start_time": "13:00",
        "end_time": "13:50",
        "location": "telehealth",
        "location_detail": "Video; patient at home",
        "section_data": "Typed data that must not be lost.",
        "section_assessment": "A",
        "section_plan": "P",
    }
    data.update(kw)
    return data


def test_end_before_start_422_with_everything_kept(world: Any, as_user: Any) -> None:
    client = as_user(world.alice)
    url = reverse("notes:new", args=[world.patient_a.public_id, "individual"])
    response = client.post(url, _form(world, start_time="14:00", end_time="13:00"))
    assert response.status_code == 422
    body = response.content.decode()
    assert "The end time must be after the start time." in body
    assert "Typed data that must not be lost." in body
    assert not Note.objects.exists()


def test_create_then_sign_through_views_and_audit(world: Any, as_user: Any) -> None:
    client = as_user(world.alice)
    url = reverse("notes:new", args=[world.patient_a.public_id, "individual"])
    response = client.post(url, _form(world))
    assert response.status_code == 302
    note = Note.objects.get()
    assert note.minutes == 50 and note.location == "telehealth"
    response = client.post(
        reverse("notes:sign", args=[world.patient_a.public_id, note.public_id]),
        {"version": note.version},
    )
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.status == "signed"
    # Editing a signed note through the view or autosave is refused; nothing changes.
    edit = reverse("notes:edit", args=[world.patient_a.public_id, note.public_id])
    assert (
        client.post(edit, _form(world, version=note.version, section_data="Changed")).status_code
        == 302
    )
    auto = client.post(
        edit, _form(world, version=note.version, section_data="Changed"), HTTP_X_AUTOSAVE="1"
    )
    assert auto.status_code == 409 and auto.json()["saved"] is False
    note.refresh_from_db()
    assert note.sections["data"] == "Typed data that must not be lost."
    detail = client.get(reverse("notes:detail", args=[world.patient_a.public_id, note.public_id]))
    assert detail.status_code == 200
    assert AuditEvent.objects.filter(
        object_type="note", action="read", patient=world.patient_a
    ).exists()


def test_autosave_returns_json_and_new_version(world: Any, as_user: Any) -> None:
    note = draft(world)
    client = as_user(world.alice)
    edit = reverse("notes:edit", args=[world.patient_a.public_id, note.public_id])
    response = client.post(
        edit, _form(world, version=note.version, section_data="Autosaved text"), HTTP_X_AUTOSAVE="1"
    )
    assert response.status_code == 200
    assert response.json()["version"] == note.version + 1
    note.refresh_from_db()
    assert note.sections["data"] == "Autosaved text"


def test_pdf_shows_signature_addendum_program_and_is_audited(world: Any, as_user: Any) -> None:
    from openiop.consents.tests.helpers import pdf_text

    note = sign(world, draft(world))
    client = as_user(world.alice)
    add = reverse("notes:addendum", args=[world.patient_a.public_id, note.public_id])
    assert (
        client.post(
            add, {"submission_token": str(uuid.uuid4()), "text": "Called back: doing well."}
        ).status_code
        == 302
    )
    response = client.get(reverse("notes:pdf", args=[world.patient_a.public_id, note.public_id]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    for expected in (
        world.program_a.name,
        world.org.name,
        "Signed electronically by",
        world.alice.display_name,
        "Addendum",
        "Called back: doing well.",
        "Reported three days without use",
    ):
        assert expected in text, expected
    assert (
        AuditEvent.objects.filter(
            object_type="note", action="print", patient=world.patient_a
        ).count()
        == 1
    )


def test_addendum_empty_422(world: Any, as_user: Any) -> None:
    note = sign(world, draft(world))
    response = as_user(world.alice).post(
        reverse("notes:addendum", args=[world.patient_a.public_id, note.public_id]),
        {"submission_token": str(uuid.uuid4()), "text": ""},
    )
    assert response.status_code == 422 and b"Write the addendum." in response.content


def _bulk_notes(world: Any, n: int) -> None:
    start = at(DAY, time(9, 0))
    Note.objects.bulk_create(
        [
            Note(
                patient=world.patient_a,
                program=world.program_a,
                kind="individual",
                format="dap",
                service_date=DAY - timedelta(days=i),
                starts_at=start - timedelta(days=i),
                ends_at=start - timedelta(days=i) + timedelta(minutes=50),
                minutes=50,
                sections={"data": "d", "assessment": "a", "plan": "p"},
                author=world.alice,
            )
            for i in range(n)
        ]
    )


def _count(client: Any, url: str) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_note_list_and_chart_queries_constant(world: Any, as_user: Any) -> None:
    client = as_user(world.alice)
    list_url = reverse("notes:list", args=[world.patient_a.public_id])
    chart_url = reverse("patients:chart_section", args=[world.patient_a.public_id, "notes"])
    _bulk_notes(world, 5)
    few = (_count(client, list_url), _count(client, chart_url))
    _bulk_notes(world, 495)
    many = (_count(client, list_url), _count(client, chart_url))
    assert few == many, (few, many)
    chart = client.get(chart_url).content.decode()
    assert "500 notes" in chart and "500 unsigned" in chart


def test_worklist_and_search(world: Any, as_user: Any) -> None:
    old = draft(world)
    Note.objects.filter(pk=old.pk).update(ends_at=timezone.now() - timedelta(hours=80))
    client = as_user(world.dana)
    page = client.get(reverse("notes:worklist")).content.decode()
    assert "band-over_72" in page and world.alice.display_name in page
    found = client.get(reverse("notes:search"), {"q": world.patient_a.mrn, "status": "unsigned"})
    assert found.status_code == 200 and str(old.public_id) in found.content.decode()
    assert AuditEvent.objects.filter(object_type="note_search", patient=world.patient_a).exists()
    bad = client.get(reverse("notes:search"), {"start": "2025-03-05", "end": "2025-03-01"})
    assert bad.status_code == 422


def test_group_note_screen_start_save_warns_on_clone(world: Any, as_user: Any) -> None:
    held = held_session(world, present=3, absent=1)
    client = as_user(world.alice)
    url = reverse("notes:group", args=[held.session.public_id])
    assert b"Start the group note" in client.get(url).content
    assert (
        client.post(reverse("notes:group_start", args=[held.session.public_id])).status_code == 302
    )
    page = client.get(url)
    assert page.status_code == 200
    data: dict[str, Any] = {
        "version": "1",
        "topic": "Coping",
        "start_time": "09:00",
        "end_time": "12:00",
        "summary": "S",
        "interventions": "I",
    }
    for p in held.present:
        for key in ("participation", "response", "progress", "plan"):
            data[f"{p.public_id}-{key}"] = "Identical text for everyone in the group today."
    saved = client.post(url, data)
    assert saved.status_code == 200
    assert b'id="clone-warning"' in saved.content
    assert held.absent[0].legal_family_name.encode() not in saved.content
