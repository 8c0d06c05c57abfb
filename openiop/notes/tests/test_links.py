"""Notes and the capabilities around them: an open episode is required, notes written
from kept appointments (times from the schedule, linked), homework marked reviewed
through the homework service at signing, search by partial name through the patients
app's search, and the settings page linked from the organization's settings."""

from __future__ import annotations

import uuid
from datetime import date, time, timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from openiop.attendance.models import AttendanceRecord
from openiop.audit.models import AuditEvent
from openiop.core.errors import ServiceError
from openiop.episodes.models import EpisodeStatus
from openiop.homework.models import AssignmentStatus, HomeworkAssignment
from openiop.notes import services
from openiop.notes.models import Note, NoteEvent
from openiop.notes.tests.helpers import DAY, access, at, draft, note_input, sign
from openiop.scheduling.models import Appointment
from tests.factories import EpisodeFactory, PatientFactory

pytestmark = pytest.mark.django_db


def _appointment(
    world: Any, *, kind: str = "individual", kept: bool | None = True, day: date = DAY, **kw: Any
) -> Any:
    appt = Appointment.objects.create(
        patient=world.patient_a,
        episode=world.episode_a,
        program=world.program_a,
        kind=kind,
        staff=world.alice,
        on=day,
        starts_at=at(day, time(14, 0)),
        ends_at=at(day, time(14, 45)),
        created_by=world.alice,
        **kw,
    )
    if kept is not None:
        AttendanceRecord.objects.create(
            patient=world.patient_a,
            program=world.program_a,
            appointment=appt,
            on=day,
            status="present" if kept else "absent_unexcused",
            minutes_attended=45 if kept else 0,
            recorded_by=world.alice,
            recorded_at=at(day, time(15, 0)),
        )
    return appt


# ----- an open episode is required -----


@pytest.mark.parametrize("status", [EpisodeStatus.DISCHARGED, EpisodeStatus.CANCELLED])
def test_note_refused_without_an_open_episode(world: Any, status: str) -> None:
    world.episode_a.status = status
    world.episode_a.save()
    with pytest.raises(services.NoteInvalid) as refused:
        draft(world)
    assert refused.value.errors == {"program": services.NO_OPEN_EPISODE}
    assert not Note.objects.exists()


def test_active_episode_preferred_over_a_screening_one(world: Any) -> None:
    assert world.episode_a.status == EpisodeStatus.ACTIVE
    assert draft(world).episode == world.episode_a


def test_open_but_not_active_episode_accepted(world: Any) -> None:
    patient = PatientFactory(organization=world.org)
    episode = EpisodeFactory(
        patient=patient, program=world.program_a, status=EpisodeStatus.SCREENING
    )
    assert draft(world, patient=patient).episode == episode


def test_view_shows_the_episode_refusal_next_to_the_program(world: Any, as_user: Any) -> None:
    world.episode_a.status = EpisodeStatus.DISCHARGED
    world.episode_a.save()
    url = reverse("notes:new", args=[world.patient_a.public_id, "individual"])
    response = as_user(world.alice).post(
        url,
        {
            "submission_token": str(uuid.uuid4()),
            "program": world.program_a.pk,
            "format": "dap",
            "service_date": "2025-03-03",
            "start_time": "13:00",
            "end_time": "13:50",
            "location": "office",
            "section_data": "Typed text kept.",
        },
    )
    assert response.status_code == 422
    assert b"no open episode in this program" in response.content
    assert b"Typed text kept." in response.content


# ----- notes for kept appointments -----


def test_note_from_a_kept_appointment_is_prefilled_and_linked(world: Any, as_user: Any) -> None:
    yesterday = timezone.localdate() - timedelta(days=1)
    appt = _appointment(world, day=yesterday)
    client = as_user(world.alice)
    listing = client.get(reverse("notes:list", args=[world.patient_a.public_id]))
    new_url = reverse("notes:new", args=[world.patient_a.public_id, "individual"])
    assert f"{new_url}?appointment={appt.public_id}".encode() in listing.content
    form = client.get(new_url, {"appointment": str(appt.public_id)})
    assert form.status_code == 200
    assert b'value="14:00"' in form.content and b'value="14:45"' in form.content
    assert b'id="from-appointment"' in form.content
    response = client.post(
        new_url,
        {
            "submission_token": str(uuid.uuid4()),
            "appointment": str(appt.public_id),
            "program": world.program_a.pk,
            "format": "dap",
            "service_date": yesterday.isoformat(),
            "start_time": "14:00",
            "end_time": "14:45",
            "location": "office",
            "section_data": "Came on time.",
        },
    )
    assert response.status_code == 302
    note = Note.objects.get()
    assert note.appointment == appt and note.minutes == 45
    # Documented: no longer offered.
    listing = client.get(reverse("notes:list", args=[world.patient_a.public_id]))
    assert b'id="kept-appointments"' not in listing.content


@pytest.mark.parametrize(
    ("kept", "kind", "note_kind", "cancelled", "message"),
    [
        (False, "individual", "individual", False, "not kept"),
        (None, "individual", "individual", False, "not kept"),
        (True, "individual", "individual", True, "cancelled"),
        (True, "med_management", "individual", False, "another kind"),
        (True, "case_management", "case_management", False, None),
        (True, "family", "individual", False, None),
    ],
)
def test_appointment_must_be_kept_and_match(
    world: Any, kept: Any, kind: str, note_kind: str, cancelled: bool, message: str | None
) -> None:
    appt = _appointment(
        world, kind=kind, kept=kept, **({"status": "cancelled"} if cancelled else {})
    )
    data = note_input(world, appointment=appt, start_time=time(14, 0), end_time=time(14, 45))

    def create() -> Note:
        return services.note_create(
            actor=world.alice,
            access=access(world.patient_a),
            kind=note_kind,
            data=data,
            submission_token=uuid.uuid4(),
            now=at(DAY, time(16, 0)),
        )

    if message is None:
        assert create().appointment == appt
        with pytest.raises(services.NoteInvalid, match="already has a note"):
            create()
    else:
        with pytest.raises(services.NoteInvalid, match=message):
            create()


def test_another_patients_appointment_is_not_found(world: Any, as_user: Any) -> None:
    appt = _appointment(world)
    other = PatientFactory(organization=world.org)
    EpisodeFactory(patient=other, program=world.program_a)
    url = reverse("notes:new", args=[other.public_id, "individual"])
    assert as_user(world.alice).get(url, {"appointment": str(appt.public_id)}).status_code == 404
    assert as_user(world.alice).get(url, {"appointment": "not-a-uuid"}).status_code == 404


# ----- homework reviewed at signing -----


def _homework(world: Any, status: str) -> HomeworkAssignment:
    return HomeworkAssignment.objects.create(
        patient=world.patient_a,
        episode=world.episode_a,
        kind="craving_log",
        assigned_on=date(2025, 2, 24),
        due_on=date(2025, 3, 2),
        status=status,
        completed_at=at(date(2025, 3, 1), time(20, 0)) if status == "completed" else None,
        assigned_by=world.alice,
    )


def test_signing_marks_completed_homework_reviewed_through_the_homework_service(
    world: Any,
) -> None:
    completed = _homework(world, AssignmentStatus.COMPLETED)
    pending = _homework(world, AssignmentStatus.ASSIGNED)
    note = draft(world, homework_ids=[str(completed.public_id), str(pending.public_id)])
    completed.refresh_from_db()
    assert completed.status == AssignmentStatus.COMPLETED  # a draft changes nothing
    sign(world, note)
    completed.refresh_from_db()
    pending.refresh_from_db()
    assert completed.status == AssignmentStatus.REVIEWED
    assert completed.reviewed_by == world.alice and str(note.public_id) in completed.review_note
    assert pending.status == AssignmentStatus.ASSIGNED
    event = NoteEvent.objects.get(note=note, kind="signed")
    assert event.detail["homework_reviewed"] == [str(completed.public_id)]
    assert AuditEvent.objects.filter(
        object_type="homework", action="status_change", object_id=str(completed.public_id)
    ).exists()


# ----- search by partial name -----


def test_search_by_partial_name_uses_the_patients_search(world: Any, as_user: Any) -> None:
    sign(world, draft(world))
    client = as_user(world.alice)
    family = world.patient_a.legal_family_name
    response = client.get(reverse("notes:search"), {"q": family[:4].lower()})
    assert response.status_code == 200
    assert b"Individual therapy" in response.content
    assert AuditEvent.objects.filter(object_type="note_search", patient=world.patient_a).exists()
    # Outsiders' patients never match.
    outsider = client.get(reverse("notes:search"), {"q": world.patient_b.legal_family_name})
    assert outsider.status_code == 422
    assert world.patient_b.legal_family_name.encode() not in outsider.content.replace(
        f'value="{world.patient_b.legal_family_name}"'.encode(), b""
    )


def test_search_with_several_matches_asks_which(world: Any, as_user: Any) -> None:
    family = world.patient_a.legal_family_name
    twin = PatientFactory(organization=world.org, legal_family_name=family + "son")
    EpisodeFactory(patient=twin, program=world.program_a)
    response = as_user(world.alice).get(reverse("notes:search"), {"q": family})
    assert response.status_code == 422
    assert b"2 patients match" in response.content
    assert f"q={twin.mrn}".encode() in response.content


# ----- settings linked from the organization settings -----


def test_organization_settings_link_each_programs_note_settings(world: Any, as_user: Any) -> None:
    page = as_user(world.dana).get(reverse("organizations:home"))
    assert page.status_code == 200
    assert reverse("notes:program_settings", args=[world.program_a.public_id]).encode() in (
        page.content
    )


def test_service_refuses_an_appointment_for_a_group_kind(world: Any) -> None:
    with pytest.raises(ServiceError):
        services.note_create(
            actor=world.alice,
            access=access(world.patient_a),
            kind="group",
            data=note_input(world),
            submission_token=uuid.uuid4(),
            now=at(DAY, time(16, 0)),
        )
