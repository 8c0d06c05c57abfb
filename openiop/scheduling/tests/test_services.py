"""Scheduling services: generation, rolling admission, conflicts, history, audit."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest

from openiop.audit.models import AuditEvent
from openiop.core.errors import ServiceError
from openiop.episodes.services import episode_change_status
from openiop.patients.selectors import PatientAccess
from openiop.scheduling import selectors, services
from openiop.scheduling.models import (
    Appointment,
    Closure,
    Enrolment,
    GroupSession,
    Occupancy,
    ScheduleChange,
    SessionStatus,
    Topic,
)
from openiop.scheduling.tests.helpers import MONDAY, make_sched, make_track
from tests.factories import EpisodeFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)


def _access(patient) -> PatientAccess:  # type: ignore[no-untyped-def]
    return PatientAccess(patient=patient, via_break_glass=False)


def _generate(world, sched, weeks: int = 4) -> list[GroupSession]:  # type: ignore[no-untyped-def]
    return services.template_generate(
        actor=world.dana,
        template_public_id=sched.template.public_id,
        through=MONDAY + timedelta(weeks=weeks) - timedelta(days=1),
        today=MONDAY,
    )


def _enrol(world, sched, start_on: date, patient=None, episode=None):  # type: ignore[no-untyped-def]
    return services.enrolment_create(
        actor=world.alice,
        access=_access(patient or world.patient_a),
        episode_public_id=(episode or world.episode_a).public_id,
        track=sched.track,
        start_on=start_on,
    )


def test_template_generates_sessions_skipping_closures_and_rotating_topics(world) -> None:  # type: ignore[no-untyped-def]
    sched = make_sched(world)
    Closure.objects.create(organization=world.org, on=MONDAY + timedelta(days=1), name="Holiday")
    created = _generate(world, sched, weeks=2)
    assert [s.on for s in created] == [
        MONDAY,
        MONDAY + timedelta(days=3),
        MONDAY + timedelta(days=7),
        MONDAY + timedelta(days=8),
        MONDAY + timedelta(days=10),
    ]
    names = [s.topic.name for s in GroupSession.objects.order_by("on")]  # type: ignore[union-attr]
    assert names[:4] == [
        "Relapse prevention",
        "Coping with cravings",
        "Identifying triggers",
        "Relapse prevention",
    ]
    assert Occupancy.objects.filter(is_active=True).count() == 5 * 2  # room + facilitator
    assert AuditEvent.objects.filter(object_type="group_sessions", actor=world.dana).exists()
    # Generating again through the same date adds nothing.
    with pytest.raises(services.ScheduleInvalid):
        _generate(world, sched, weeks=2)
    more = _generate(world, sched, weeks=3)
    assert len(more) == 3 and GroupSession.objects.count() == 8


def test_rolling_admission_mid_cycle_future_rosters_only(world) -> None:  # type: ignore[no-untyped-def]
    sched = make_sched(world)
    sessions = _generate(world, sched)
    mid = MONDAY + timedelta(days=7)
    enrolment = _enrol(world, sched, mid)
    rosters = selectors.rosters(sessions)
    on = {s.on for s in sessions if rosters[s.pk]}
    assert on == {s.on for s in sessions if s.on >= mid}
    assert all(rosters[s.pk][0].episode == world.episode_a for s in sessions if s.on >= mid)
    assert GroupSession.objects.count() == len(sessions)  # nothing recreated
    event = AuditEvent.objects.get(object_type="enrolment", action="create")
    assert event.patient == world.patient_a and event.actor == world.alice
    assert enrolment.expected_end_on == mid + timedelta(weeks=8) - timedelta(days=1)


def test_change_track_and_discharge_touch_future_rosters_only(world) -> None:  # type: ignore[no-untyped-def]
    sched = make_sched(world)
    sessions = _generate(world, sched)
    enrolment = _enrol(world, sched, MONDAY)
    evening = make_track(world, name="Evening")
    change_on = MONDAY + timedelta(days=7)
    new = services.enrolment_change_track(
        actor=world.alice,
        access=_access(world.patient_a),
        enrolment_public_id=enrolment.public_id,
        track=evening,
        effective_on=change_on,
        base_version=enrolment.version,
    )
    rosters = selectors.rosters(sessions)
    assert [s.on for s in sessions if rosters[s.pk]] == [s.on for s in sessions if s.on < change_on]
    # Discharging the episode ends the new enrolment through the episodes hook.
    world.episode_a.status = "active"
    world.episode_a.save()
    episode_change_status(
        actor=world.dana,
        access=_access(world.patient_a),
        episode_public_id=world.episode_a.public_id,
        to_status="discharged",
        effective_on=change_on + timedelta(days=3),
        reason="Completed",
        base_version=world.episode_a.version,
        now=NOW,
    )
    new.refresh_from_db()
    assert new.ended_on == change_on + timedelta(days=4) and new.end_reason == "discharge"
    enrolment.refresh_from_db()
    assert enrolment.ended_on == change_on and enrolment.end_reason == "track_change"


def test_template_bad_input_each_refused_with_field_message(world) -> None:  # type: ignore[no-untyped-def]
    sched = make_sched(world)
    cadc = Topic.objects.create(
        organization=world.org, name="Drug education", credentials_accepted="CADC"
    )
    data = services.TemplateInput(
        name="Bad",
        weekdays="02",
        start_time=time(11),
        end_time=time(10),
        room=sched.small_room,
        facilitator=world.alice,
        co_facilitator=None,
        topic=cadc,
        capacity=5,
        valid_from=MONDAY,
        valid_until=None,
    )
    with pytest.raises(services.ScheduleInvalid) as caught:
        services.template_create(actor=world.dana, track=sched.track, data=data)
    errors = caught.value.errors
    assert errors["end_time"] == "The session must end after it starts."
    assert "Wed is outside the track's days" in errors["weekdays"]
    assert "Office 2 seats 3" in errors["capacity"]
    assert "does not hold a credential Drug education needs (CADC)" in errors["facilitator"]
    late = services.TemplateInput(
        **{
            **data.__dict__,
            "weekdays": "0",
            "start_time": time(11),
            "end_time": time(13),
            "capacity": 3,
            "topic": None,
        }
    )
    with pytest.raises(services.ScheduleInvalid) as caught:
        services.template_create(actor=world.dana, track=sched.track, data=late)
    assert "outside the track's hours" in caught.value.errors["start_time"]


def test_only_directors_configure_and_only_members_book(world) -> None:  # type: ignore[no-untyped-def]
    sched = make_sched(world)
    with pytest.raises(ServiceError):
        services.template_generate(
            actor=world.alice,
            template_public_id=sched.template.public_id,
            through=MONDAY + timedelta(days=7),
            today=MONDAY,
        )
    with pytest.raises(ServiceError):
        _enrol_as(world, sched, world.charlie)


def _enrol_as(world, sched, actor):  # type: ignore[no-untyped-def]
    return services.enrolment_create(
        actor=actor,
        access=_access(world.patient_a),
        episode_public_id=world.episode_a.public_id,
        track=sched.track,
        start_on=MONDAY,
    )


def test_room_and_staff_conflicts_name_the_other_event(world) -> None:  # type: ignore[no-untyped-def]
    sched = make_sched(world)
    _generate(world, sched, weeks=1)
    other = make_track(world, name="Dual diagnosis")
    data = services.SessionInput(
        on=MONDAY,
        start_time=time(10),
        end_time=time(11),
        room=sched.room,
        facilitator=world.dana,
        co_facilitator=None,
        topic=None,
        capacity=5,
    )
    with pytest.raises(services.ScheduleInvalid) as caught:
        services.session_create(actor=world.alice, track=other, data=data)
    assert caught.value.errors["room"].startswith("Group room 1 is already booked at that time")
    assert "Morning SUD group" in caught.value.errors["room"]
    data2 = services.SessionInput(
        **{**data.__dict__, "room": sched.small_room, "capacity": 3, "facilitator": world.alice}
    )
    with pytest.raises(services.ScheduleInvalid) as caught:
        services.session_create(actor=world.alice, track=other, data=data2)
    assert "Morning SUD group, Mon 04 Mar 09:00-12:00" in caught.value.errors["facilitator"]
    # Adjacent times do not clash.
    ok = services.SessionInput(
        **{**data2.__dict__, "start_time": time(12), "end_time": time(12, 30)}
    )
    other.day_end = time(13)
    other.save()
    services.session_create(actor=world.alice, track=other, data=ok)


def test_patient_conflicts_with_appointment_and_group(world) -> None:  # type: ignore[no-untyped-def]
    sched = make_sched(world)
    _generate(world, sched, weeks=1)
    _enrol(world, sched, MONDAY)
    therapist = UserFactory(organization=world.org, role="therapist", programs=[world.program_a])
    book = dict(
        kind="individual",
        program=world.program_a,
        staff=therapist,
        room=None,
        on=MONDAY,
        start_time=time(13),
        end_time=time(14),
    )
    appt = services.appointment_book(
        actor=world.alice,
        access=_access(world.patient_a),
        data=services.AppointmentInput(**book),  # type: ignore[arg-type]
    )
    assert not appt.after_hours
    clash = {**book, "staff": world.alice, "start_time": time(13, 30), "end_time": time(14, 30)}
    with pytest.raises(services.ScheduleInvalid) as caught:
        services.appointment_book(
            actor=world.alice,
            access=_access(world.patient_a),
            data=services.AppointmentInput(**clash),  # type: ignore[arg-type]
        )
    assert (
        "The patient already has Individual therapy appointment"
        in caught.value.errors["start_time"]
    )
    group = {**book, "start_time": time(10), "end_time": time(10, 30)}
    with pytest.raises(services.ScheduleInvalid) as caught:
        services.appointment_book(
            actor=world.alice,
            access=_access(world.patient_a),
            data=services.AppointmentInput(**group),  # type: ignore[arg-type]
        )
    assert "in the Morning SUD group" in caught.value.errors["start_time"]
    med = {**book, "kind": "med_management", "start_time": time(18), "end_time": time(18, 30)}
    with pytest.raises(services.ScheduleInvalid) as caught:
        services.appointment_book(
            actor=world.alice,
            access=_access(world.patient_a),
            data=services.AppointmentInput(**med),  # type: ignore[arg-type]
        )
    assert caught.value.errors["staff"] == "Medication management is booked with a prescriber."
    prescriber = UserFactory(organization=world.org, role="prescriber", programs=[world.program_a])
    late = services.appointment_book(
        actor=world.alice,
        access=_access(world.patient_a),
        data=services.AppointmentInput(**{**med, "staff": prescriber}),  # type: ignore[arg-type]
    )
    assert late.after_hours


def test_cancel_and_reschedule_keep_history_and_who_cancelled(world) -> None:  # type: ignore[no-untyped-def]
    sched = make_sched(world)
    first = _generate(world, sched, weeks=1)[0]
    services.session_cancel(
        actor=world.alice, session_public_id=first.public_id, reason="Snow", base_version=1, now=NOW
    )
    first.refresh_from_db()
    assert first.status == SessionStatus.CANCELLED and first.cancelled_by == "program"
    assert not Occupancy.objects.filter(session=first, is_active=True).exists()
    change = ScheduleChange.objects.get(session=first)
    assert change.reason == "Snow" and change.cancelled_by == "program"
    with pytest.raises(services.VersionConflict):
        services.session_cancel(
            actor=world.alice,
            session_public_id=first.public_id,
            reason="x",
            base_version=1,
            now=NOW,
        )
    therapist = UserFactory(organization=world.org, role="therapist", programs=[world.program_a])
    appt = services.appointment_book(
        actor=world.alice,
        access=_access(world.patient_a),
        data=services.AppointmentInput(
            kind="family",
            program=world.program_a,
            staff=therapist,
            room=sched.small_room,
            on=MONDAY,
            start_time=time(13),
            end_time=time(14),
            family_members="Sam Doe, brother",
        ),
    )
    moved = services.appointment_reschedule(
        actor=world.alice,
        access=_access(world.patient_a),
        appointment_public_id=appt.public_id,
        on=MONDAY + timedelta(days=1),
        start_time=time(15),
        end_time=time(16),
        reason="Family asked",
        base_version=appt.version,
        now=NOW,
    )
    services.appointment_cancel(
        actor=world.alice,
        access=_access(world.patient_a),
        appointment_public_id=appt.public_id,
        cancelled_by="patient",
        reason="Sick",
        base_version=moved.version,
        now=NOW,
    )
    kinds = list(
        ScheduleChange.objects.filter(appointment=appt).values_list("kind", "cancelled_by")
    )
    assert kinds == [("rescheduled", ""), ("cancelled", "patient")]
    assert Appointment.objects.get(pk=appt.pk).cancelled_by == "patient"
    # The freed slot can be booked again.
    services.appointment_book(
        actor=world.alice,
        access=_access(world.patient_a),
        data=services.AppointmentInput(
            kind="individual",
            program=world.program_a,
            staff=therapist,
            room=sched.small_room,
            on=MONDAY + timedelta(days=1),
            start_time=time(15),
            end_time=time(16),
        ),
    )


def test_full_track_refuses_enrolment_and_double_submit_creates_one(world) -> None:  # type: ignore[no-untyped-def]
    sched = make_sched(world)
    sched.track.max_group_size = 1
    sched.track.save()
    token = uuid.uuid4()
    first = services.enrolment_create(
        actor=world.alice,
        access=_access(world.patient_a),
        episode_public_id=world.episode_a.public_id,
        track=sched.track,
        start_on=MONDAY,
        submission_token=token,
    )
    again = services.enrolment_create(
        actor=world.alice,
        access=_access(world.patient_a),
        episode_public_id=world.episode_a.public_id,
        track=sched.track,
        start_on=MONDAY,
        submission_token=token,
    )
    assert first.pk == again.pk and Enrolment.objects.count() == 1
    other = PatientFactory(organization=world.org)
    episode = EpisodeFactory(patient=other, program=world.program_a)
    with pytest.raises(services.ScheduleInvalid) as caught:
        _enrol(world, sched, MONDAY, patient=other, episode=episode)
    assert "is full (1 places)" in caught.value.errors["track"]
    entry = services.waitlist_add(
        actor=world.alice,
        access=_access(other),
        episode_public_id=episode.public_id,
        track=sched.track,
        wanted_from=MONDAY,
    )
    assert entry.status == "waiting"
