"""Homework assigned from a group session the patient attended or an appointment, and
completed homework surfacing for review in the next session (the selector notes call)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from openiop.attendance.models import AttendanceRecord
from openiop.audit.models import AuditAction, AuditEvent
from openiop.consents.tests.helpers import access_for
from openiop.homework import selectors, services
from openiop.homework.models import HomeworkAssignment
from openiop.plans.tests.helpers import make_signed_plan
from openiop.scheduling.models import Appointment, GroupSession, Room, Track

pytestmark = pytest.mark.django_db


def _at(day: date, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def _session(world, on: date, program=None) -> GroupSession:  # type: ignore[no-untyped-def]
    program = program or world.program_a
    room = Room.objects.get_or_create(site=program.site, name="Group room", capacity=16)[0]
    track = Track.objects.filter(program=program).first() or Track.objects.create(
        program=program,
        name="Morning SUD",
        kind="day_sud",
        population="adult",
        weekdays="024",
        day_start=time(9, 0),
        day_end=time(12, 0),
        min_hours_per_week=9,
        min_days_per_week=3,
        max_group_size=16,
        typical_weeks=8,
    )
    return GroupSession.objects.create(
        track=track,
        program=program,
        on=on,
        starts_at=_at(on, 9),
        ends_at=_at(on, 12),
        room=room,
        facilitator=world.alice,
        capacity=16,
    )


def _mark(world, patient, on: date, status: str = "present", **target) -> AttendanceRecord:  # type: ignore[no-untyped-def]
    return AttendanceRecord.objects.create(
        patient=patient,
        program=world.program_a,
        on=on,
        status=status,
        recorded_by=world.alice,
        recorded_at=_at(on, 13),
        **target,
    )


def _appointment(world, on: date) -> Appointment:  # type: ignore[no-untyped-def]
    return Appointment.objects.create(
        patient=world.patient_a,
        program=world.program_a,
        kind="individual",
        staff=world.alice,
        on=on,
        starts_at=_at(on, 14),
        ends_at=_at(on, 15),
        created_by=world.alice,
    )


def _form(**fields):  # type: ignore[no-untyped-def]
    data = {
        "submission_token": str(uuid.uuid4()),
        "kind": "craving_log",
        "due_on": (timezone.localdate() + timedelta(days=7)).isoformat(),
        "instructions": "Log every craving this week",
        "objective": "",
        "group_session": "",
        "appointment": "",
    }
    data.update({k: str(v) for k, v in fields.items()})
    return data


def test_assign_form_offers_objective_attended_session_and_appointment(world, as_user):  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    plan = make_signed_plan(world.alice, world.patient_a, day=today - timedelta(days=3))
    objective = plan.objectives.get()
    attended = _session(world, today - timedelta(days=1))
    missed = _session(world, today - timedelta(days=2))
    _mark(world, world.patient_a, attended.on, session=attended)
    _mark(world, world.patient_a, missed.on, status="absent_unexcused", session=missed)
    appointment = _appointment(world, today)
    client = as_user(world.alice)
    url = reverse("homework:list", args=[world.patient_a.public_id])
    html = client.get(url).content.decode()
    assert str(objective.public_id) in html
    assert str(attended.public_id) in html and str(missed.public_id) not in html
    assert str(appointment.public_id) in html

    response = client.post(
        reverse("homework:assign", args=[world.patient_a.public_id]),
        _form(
            objective=objective.public_id,
            group_session=attended.public_id,
            appointment=appointment.public_id,
        ),
    )
    assert response.status_code == 302
    a = HomeworkAssignment.objects.get()
    assert (a.objective_id, a.group_session_id, a.appointment_id) == (
        objective.pk,
        attended.pk,
        appointment.pk,
    )
    assert AuditEvent.objects.filter(
        object_type="homework", action=AuditAction.CREATE, patient=world.patient_a
    ).exists()
    listing = client.get(url).content.decode()
    assert "from Group " in listing and "Morning SUD" in listing


def test_session_not_attended_refused_next_to_the_field_with_input_kept(world, as_user):  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    missed = _session(world, today - timedelta(days=2))
    _mark(world, world.patient_a, missed.on, status="absent_unexcused", session=missed)
    # Through the service (the form does not even offer it).
    with pytest.raises(services.HomeworkInvalid) as err:
        services.homework_assign(
            actor=world.alice,
            access=access_for(world.patient_a),
            data=services.AssignmentInput(
                kind="craving_log",
                due_on=today + timedelta(days=3),
                group_session_public_id=str(missed.public_id),
            ),
            submission_token=uuid.uuid4(),
            today=today,
        )
    assert err.value.errors == {"group_session": "Choose a group session the patient attended."}
    # Through the view: the unknown choice is refused next to the field, the rest kept.
    response = as_user(world.alice).post(
        reverse("homework:assign", args=[world.patient_a.public_id]),
        _form(group_session=missed.public_id),
    )
    assert response.status_code == 422
    html = response.content.decode()
    at = html.index('id="id_group_session_error"')
    assert "Select a valid choice" in html[at : at + 300]
    assert "Log every craving this week" in html
    assert HomeworkAssignment.objects.count() == 0


def test_another_patients_appointment_refused(world):  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    other = Appointment.objects.create(
        patient=world.patient_b,
        program=world.program_b,
        kind="individual",
        staff=world.charlie,
        on=today,
        starts_at=_at(today, 14),
        ends_at=_at(today, 15),
        created_by=world.charlie,
    )
    with pytest.raises(services.HomeworkInvalid) as err:
        services.homework_assign(
            actor=world.alice,
            access=access_for(world.patient_a),
            data=services.AssignmentInput(
                kind="craving_log",
                due_on=today + timedelta(days=3),
                appointment_public_id=str(other.public_id),
            ),
            submission_token=uuid.uuid4(),
            today=today,
        )
    assert "appointment" in err.value.errors


def _complete(world, *, on: date) -> HomeworkAssignment:  # type: ignore[no-untyped-def]
    a = services.homework_assign(
        actor=world.alice,
        access=access_for(world.patient_a),
        data=services.AssignmentInput(kind="relaxation_log", due_on=on + timedelta(days=7)),
        submission_token=uuid.uuid4(),
        today=on - timedelta(days=7),
    )
    services.homework_record_entry(
        by=services.CompletionActor.for_patient(world.patient_a),
        patient=world.patient_a,
        assignment_public_id=a.public_id,
        raw={
            "on": on.isoformat(),
            "technique": "breathing",
            "minutes": "10",
            "tension_before": "7",
            "tension_after": "3",
        },
        complete=True,
        submission_token=uuid.uuid4(),
        now=_at(on, 20),
    )
    return HomeworkAssignment.objects.get(pk=a.pk)


def test_completed_homework_surfaces_for_the_next_session_with_constant_queries(world):  # type: ignore[no-untyped-def]
    monday = date(2026, 11, 16)
    session = _session(world, monday)
    _mark(world, world.patient_a, monday, session=session)
    before = _complete(world, on=monday - timedelta(days=2))  # before the last session
    after = _complete(world, on=monday + timedelta(days=1))  # since the last session
    wednesday = monday + timedelta(days=2)

    with CaptureQueriesContext(connection) as ctx:
        review = selectors.homework_completed_since_last_session(
            patient=world.patient_a, before=wednesday
        )
    assert len(ctx) == 3
    assert review.since == monday
    assert [a.pk for a in review.assignments] == [before.pk, after.pk]
    assert [a.pk for a in review.new_since_last_session] == [after.pk]
    assert all(len(a.entry_list) == 1 for a in review.assignments)
    # With the day of the last note given, no attendance look-up.
    with CaptureQueriesContext(connection) as ctx:
        given = selectors.homework_completed_since_last_session(
            patient=world.patient_a, before=wednesday, since=wednesday
        )
    assert len(ctx) == 2 and given.new_since_last_session == []
    # Reviewed homework leaves the list.
    services.homework_mark_reviewed(
        actor=world.alice,
        access=access_for(world.patient_a),
        assignment_public_id=after.public_id,
        note="Went over it in group",
        now=_at(wednesday, 10),
    )
    review = selectors.homework_completed_since_last_session(
        patient=world.patient_a, before=wednesday
    )
    assert [a.pk for a in review.assignments] == [before.pk]
    # More homework and sessions: still 3 queries.
    for n in range(6):
        _complete(world, on=monday - timedelta(days=10 + n))
        s = _session(world, monday - timedelta(days=20 + n))
        _mark(world, world.patient_a, s.on, session=s)
    with CaptureQueriesContext(connection) as ctx:
        review = selectors.homework_completed_since_last_session(
            patient=world.patient_a, before=wednesday
        )
    assert len(ctx) == 3 and len(review.assignments) == 7


def test_homework_page_shows_what_to_review_and_queries_constant(world, as_user):  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    _complete(world, on=today - timedelta(days=1))
    client = as_user(world.alice)
    url = reverse("homework:list", args=[world.patient_a.public_id])
    html = client.get(url).content.decode()
    assert 'id="homework-review"' in html and "Relaxation practice log" in html

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx)

    few = count()
    for n in range(5):
        _complete(world, on=today - timedelta(days=2 + n))
        s = _session(world, today - timedelta(days=2 + n))
        _mark(world, world.patient_a, s.on, session=s)
        _appointment(world, today - timedelta(days=n))
    assert count() == few


def test_outsiders_refused_on_the_homework_urls(world, as_user):  # type: ignore[no-untyped-def]
    a = _complete(world, on=timezone.localdate() - timedelta(days=1))
    p = world.patient_a.public_id
    urls = [
        reverse("homework:list", args=[p]),
        reverse("homework:assign", args=[p]),
        reverse("homework:detail", args=[p, a.public_id]),
        reverse("homework:entry", args=[p, a.public_id]),
        reverse("homework:review", args=[p, a.public_id]),
        reverse("homework:cancel", args=[p, a.public_id]),
    ]
    for who in ("charlie", "olivia"):
        client = as_user(getattr(world, who))
        for url in urls:
            for method in ("get", "post"):
                response = getattr(client, method)(url)
                if response.status_code == 405:
                    continue
                assert response.status_code == 404, (who, method, url)
                assert b"Canary-PA" not in response.content
    a.refresh_from_db()
    assert a.status == "completed"
