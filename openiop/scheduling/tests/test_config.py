"""Issue 4 screens' services: rooms, closures after generation, track edits with a
version check, the topic cycle, template edit/retire, the waitlist, pinned topics
that exclude patients who already attended them, double submits."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openiop.attendance.models import AttendanceRecord
from openiop.audit.models import AuditEvent
from openiop.patients.selectors import PatientAccess
from openiop.scheduling import selectors, services
from openiop.scheduling.models import (
    Closure,
    Enrolment,
    GroupSession,
    Occupancy,
    Room,
    ScheduleChange,
    SessionStatus,
    SessionTemplate,
    Topic,
    Track,
    TrackTopic,
    WaitlistEntry,
)
from openiop.scheduling.tests.helpers import MONDAY, make_sched
from tests.factories import EpisodeFactory, PatientFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)


def _access(patient) -> PatientAccess:  # type: ignore[no-untyped-def]
    return PatientAccess(patient=patient, via_break_glass=False)


def _generate(world, sched, weeks: int = 2) -> list[GroupSession]:  # type: ignore[no-untyped-def]
    return services.template_generate(
        actor=world.dana,
        template_public_id=sched.template.public_id,
        through=MONDAY + timedelta(weeks=weeks) - timedelta(days=1),
        today=MONDAY,
    )


def _track_input(track: Track, **changes) -> services.TrackInput:  # type: ignore[no-untyped-def]
    values = {
        "name": track.name,
        "kind": track.kind,
        "population": track.population,
        "weekdays": track.weekdays,
        "day_start": track.day_start,
        "day_end": track.day_end,
        "min_hours_per_week": track.min_hours_per_week,
        "min_days_per_week": track.min_days_per_week,
        "max_group_size": track.max_group_size,
        "typical_weeks": track.typical_weeks,
    }
    values.update(changes)
    return services.TrackInput(**values)


def _patient(world):  # type: ignore[no-untyped-def]
    patient = PatientFactory(organization=world.org)
    return patient, EpisodeFactory(patient=patient, program=world.program_a)


# --- closures -----------------------------------------------------------------------


def test_closure_after_generation_cancels_that_days_sessions_by_program(world) -> None:  # type: ignore[no-untyped-def]
    sched = make_sched(world)
    sessions = _generate(world, sched)
    tuesday = MONDAY + timedelta(days=1)
    closure = services.closure_create(
        actor=world.dana, organization=world.org, on=tuesday, name="Staff training"
    )
    assert AuditEvent.objects.filter(object_type="closure", object_id=closure.public_id).exists()
    affected = services.closure_sessions(closure, [world.program_a.pk])
    assert [s.on for s in affected] == [tuesday]
    count = services.closure_cancel_sessions(
        actor=world.dana, closure_public_id=closure.public_id, reason="", now=NOW
    )
    assert count == 1
    session = GroupSession.objects.get(track=sched.track, on=tuesday)
    assert session.status == SessionStatus.CANCELLED and session.cancelled_by == "program"
    assert session.cancel_reason == "Closed: Staff training" and session.version == 2
    change = ScheduleChange.objects.get(session=session)
    assert change.kind == "cancelled" and change.cancelled_by == "program"
    assert change.changed_by == world.dana
    assert not Occupancy.objects.filter(session=session, is_active=True).exists()
    others = [s for s in sessions if s.on != tuesday]
    assert GroupSession.objects.filter(
        pk__in=[s.pk for s in others], status="scheduled"
    ).count() == len(others)
    event = AuditEvent.objects.get(object_type="closure_sessions")
    assert event.detail == {"cancelled": 1}
    # Nothing left to cancel the second time (a double submit cancels nothing more).
    assert (
        services.closure_cancel_sessions(
            actor=world.dana, closure_public_id=closure.public_id, reason="", now=NOW
        )
        == 0
    )
    assert ScheduleChange.objects.filter(session=session).count() == 1


def test_closure_site_scope_duplicates_and_double_submit(world) -> None:  # type: ignore[no-untyped-def]
    sched = make_sched(world)
    _generate(world, sched)
    other_site = world.program_b.site
    token = uuid.uuid4()
    if other_site.pk != world.program_a.site_id:
        elsewhere = services.closure_create(
            actor=world.dana, organization=world.org, on=MONDAY, name="Flood", site=other_site
        )
        assert services.closure_sessions(elsewhere, [world.program_a.pk]) == []
    first = services.closure_create(
        actor=world.dana,
        organization=world.org,
        on=MONDAY + timedelta(days=3),
        name="Holiday",
        site=world.program_a.site,
        submission_token=token,
    )
    again = services.closure_create(
        actor=world.dana,
        organization=world.org,
        on=MONDAY + timedelta(days=3),
        name="Holiday",
        site=world.program_a.site,
        submission_token=token,
    )
    assert first.pk == again.pk
    with pytest.raises(services.ScheduleInvalid) as caught:
        services.closure_create(
            actor=world.dana, organization=world.org, on=MONDAY + timedelta(days=3), name="x"
        )
    assert caught.value.errors == {"on": "A closure already covers this date."}
    with pytest.raises(services.ScheduleInvalid) as caught:
        services.closure_create(
            actor=world.dana, organization=world.org, on=MONDAY + timedelta(days=8), name=" "
        )
    assert "name" in caught.value.errors
    with pytest.raises(services.ServiceError):
        services.closure_create(
            actor=world.alice, organization=world.org, on=MONDAY, name="Not allowed"
        )
    with pytest.raises(services.ServiceError):
        services.closure_cancel_sessions(
            actor=world.olivia, closure_public_id=first.public_id, reason="", now=NOW
        )


def test_generation_after_closure_skips_it(world) -> None:  # type: ignore[no-untyped-def]
    sched = make_sched(world)
    services.closure_create(
        actor=world.dana, organization=world.org, on=MONDAY + timedelta(days=3), name="Holiday"
    )
    days = [s.on for s in _generate(world, sched, weeks=1)]
    assert days == [MONDAY, MONDAY + timedelta(days=1)]
    assert Closure.objects.count() == 1


# --- rooms ------------------------------------------------------------------------------


def test_room_create_update_with_version_and_audit(world) -> None:  # type: ignore[no-untyped-def]
    site = world.program_a.site
    token = uuid.uuid4()
    room = services.room_create(
        actor=world.dana, site=site, name=" Art room ", capacity=8, submission_token=token
    )
    assert room.name == "Art room"
    assert (
        services.room_create(
            actor=world.dana, site=site, name="Art room", capacity=8, submission_token=token
        ).pk
        == room.pk
    )
    assert Room.objects.filter(name="Art room").count() == 1
    with pytest.raises(services.ScheduleInvalid) as caught:
        services.room_create(actor=world.dana, site=site, name="Art room", capacity=8)
    assert caught.value.errors == {"name": "This site already has a room with that name."}
    updated = services.room_update(
        actor=world.dana,
        room_public_id=room.public_id,
        name="Art room",
        capacity=10,
        is_active=True,
        base_version=1,
    )
    assert updated.capacity == 10 and updated.version == 2
    event = AuditEvent.objects.filter(object_type="room", action="update").get()
    assert event.detail == {"fields": ["capacity"]}
    with pytest.raises(services.VersionConflict):
        services.room_update(
            actor=world.dana,
            room_public_id=room.public_id,
            name="Art room",
            capacity=4,
            is_active=True,
            base_version=1,
        )
    assert Room.objects.get(pk=room.pk).capacity == 10
    with pytest.raises(services.ServiceError):
        services.room_create(actor=world.alice, site=site, name="Mine", capacity=2)
    with pytest.raises(services.ServiceError):
        services.room_update(
            actor=world.olivia,
            room_public_id=room.public_id,
            name="x",
            capacity=2,
            is_active=True,
            base_version=2,
        )


# --- tracks, cycle, templates ------------------------------------------------------------


def test_track_update_version_conflict_and_templates_must_fit(world) -> None:  # type: ignore[no-untyped-def]
    sched = make_sched(world)
    track = sched.track
    saved = services.track_update(
        actor=world.dana,
        track_public_id=track.public_id,
        data=_track_input(track, min_hours_per_week=Decimal("10.5"), max_group_size=10),
        is_active=True,
        base_version=1,
    )
    assert saved.version == 2 and saved.max_group_size == 10
    event = AuditEvent.objects.get(object_type="track", action="update")
    assert set(event.detail["fields"]) == {"min_hours_per_week", "max_group_size"}
    with pytest.raises(services.VersionConflict):
        services.track_update(
            actor=world.dana,
            track_public_id=track.public_id,
            data=_track_input(track, typical_weeks=4),
            is_active=True,
            base_version=1,
        )
    assert Track.objects.get(pk=track.pk).typical_weeks == 8
    with pytest.raises(services.ScheduleInvalid) as caught:
        services.track_update(
            actor=world.dana,
            track_public_id=track.public_id,
            data=_track_input(track, weekdays="01", day_start=time(10)),
            is_active=True,
            base_version=2,
        )
    assert "Morning group meets on Mon, Tue, Thu" in caught.value.errors["weekdays"]
    assert "runs 09:00 to 12:00" in caught.value.errors["day_start"]
    with pytest.raises(services.ServiceError):
        services.track_update(
            actor=world.alice,
            track_public_id=track.public_id,
            data=_track_input(track),
            is_active=True,
            base_version=2,
        )


def test_track_and_topic_double_submit_create_one(world) -> None:  # type: ignore[no-untyped-def]
    token = uuid.uuid4()
    data = services.TrackInput(
        name="Evening",
        kind="evening",
        population="adult",
        weekdays="024",
        day_start=time(17),
        day_end=time(20),
        min_hours_per_week=Decimal("9"),
        min_days_per_week=3,
        max_group_size=12,
        typical_weeks=8,
    )
    a = services.track_create(
        actor=world.dana, program=world.program_a, data=data, submission_token=token
    )
    b = services.track_create(
        actor=world.dana, program=world.program_a, data=data, submission_token=token
    )
    assert a.pk == b.pk and Track.objects.filter(name="Evening").count() == 1
    token = uuid.uuid4()
    kwargs = dict(
        actor=world.dana,
        organization=world.org,
        name="Sleep hygiene",
        description="",
        duration_minutes=60,
        submission_token=token,
    )
    t1 = services.topic_create(**kwargs)  # type: ignore[arg-type]
    t2 = services.topic_create(**kwargs)  # type: ignore[arg-type]
    assert t1.pk == t2.pk and Topic.objects.filter(name="Sleep hygiene").count() == 1


def test_cycle_order_and_version(world) -> None:  # type: ignore[no-untyped-def]
    sched = make_sched(world)
    a, b, c = sched.topics
    services.track_cycle_set(actor=world.dana, track=sched.track, topics=[c, a], base_version=1)
    assert [t.topic_id for t in TrackTopic.objects.filter(track=sched.track)] == [c.pk, a.pk]
    assert Track.objects.get(pk=sched.track.pk).version == 2
    with pytest.raises(services.VersionConflict):
        services.track_cycle_set(actor=world.dana, track=sched.track, topics=[b], base_version=1)
    sessions = _generate(world, sched, weeks=1)
    assert [s.topic_id for s in sessions] == [c.pk, a.pk, c.pk]


def _template_input(sched, **changes) -> services.TemplateInput:  # type: ignore[no-untyped-def]
    t = sched.template
    values = {
        "name": t.name,
        "weekdays": t.weekdays,
        "start_time": t.start_time,
        "end_time": t.end_time,
        "room": t.room,
        "facilitator": t.facilitator,
        "co_facilitator": t.co_facilitator,
        "topic": t.topic,
        "capacity": t.capacity,
        "valid_from": t.valid_from,
        "valid_until": t.valid_until,
    }
    values.update(changes)
    return services.TemplateInput(**values)


def test_template_edit_keeps_generated_sessions_and_retire_never_deletes(world) -> None:  # type: ignore[no-untyped-def]
    sched = make_sched(world)
    sessions = _generate(world, sched, weeks=2)
    template = services.template_update(
        actor=world.dana,
        template_public_id=sched.template.public_id,
        data=_template_input(sched, start_time=time(10), capacity=10),
        base_version=1,
    )
    assert template.version == 2
    assert GroupSession.objects.filter(template=template, capacity=12).count() == len(sessions)
    with pytest.raises(services.VersionConflict):
        services.template_update(
            actor=world.dana,
            template_public_id=template.public_id,
            data=_template_input(sched, capacity=9),
            base_version=1,
        )
    with pytest.raises(services.ScheduleInvalid) as caught:
        services.template_update(
            actor=world.dana,
            template_public_id=template.public_id,
            data=_template_input(sched, capacity=40),
            base_version=2,
        )
    assert "capacity" in caught.value.errors
    last_day = MONDAY + timedelta(days=3)
    with pytest.raises(services.ScheduleInvalid) as caught:
        services.template_retire(
            actor=world.dana,
            template_public_id=template.public_id,
            last_day=last_day,
            cancel_later=False,
            reason="",
            base_version=2,
            now=NOW,
        )
    assert "3 sessions were generated after that day" in caught.value.errors["cancel_later"]
    retired, cancelled = services.template_retire(
        actor=world.dana,
        template_public_id=template.public_id,
        last_day=last_day,
        cancel_later=True,
        reason="Group merged into the evening track",
        base_version=2,
        now=NOW,
    )
    assert cancelled == 3 and not retired.is_active and retired.valid_until == last_day
    assert SessionTemplate.objects.filter(pk=template.pk).exists()
    assert GroupSession.objects.filter(template=template).count() == len(sessions)
    later = GroupSession.objects.filter(template=template, on__gt=last_day)
    assert {s.cancelled_by for s in later} == {"program"}
    assert ScheduleChange.objects.filter(session__in=later).count() == 3
    assert AuditEvent.objects.filter(
        object_type="session_template", action="status_change"
    ).exists()
    with pytest.raises(services.ScheduleInvalid):
        services.template_generate(
            actor=world.dana,
            template_public_id=template.public_id,
            through=MONDAY + timedelta(weeks=6),
            today=MONDAY,
        )


# --- waitlist ------------------------------------------------------------------------------


def test_full_track_waitlists_and_first_is_enrolled_when_a_place_frees(world) -> None:  # type: ignore[no-untyped-def]
    sched = make_sched(world)
    sched.track.max_group_size = 1
    sched.track.save()
    first = services.enrolment_request(
        actor=world.alice,
        access=_access(world.patient_a),
        episode_public_id=world.episode_a.public_id,
        track=sched.track,
        start_on=MONDAY,
    )
    assert first.enrolment is not None and first.waitlist_entry is None
    waiting = []
    for _ in range(2):
        patient, episode = _patient(world)
        token = uuid.uuid4()
        outcome = services.enrolment_request(
            actor=world.alice,
            access=_access(patient),
            episode_public_id=episode.public_id,
            track=sched.track,
            start_on=MONDAY,
            submission_token=token,
        )
        repeat = services.enrolment_request(
            actor=world.alice,
            access=_access(patient),
            episode_public_id=episode.public_id,
            track=sched.track,
            start_on=MONDAY,
            submission_token=token,
        )
        assert outcome.enrolment is None and outcome.waitlist_entry is not None
        assert repeat.waitlist_entry == outcome.waitlist_entry
        waiting.append((patient, outcome.waitlist_entry))
    assert WaitlistEntry.objects.count() == 2
    rows = selectors.waitlist_of(sched.track)
    assert [(r.position, r.entry.patient) for r in rows] == [(1, waiting[0][0]), (2, waiting[1][0])]
    assert services.places_free(sched.track, MONDAY) == 0
    # Already waiting: a second request is refused rather than duplicated.
    with pytest.raises(services.ScheduleInvalid) as caught:
        services.waitlist_add(
            actor=world.alice,
            access=_access(waiting[0][0]),
            episode_public_id=waiting[0][1].episode.public_id,
            track=sched.track,
            wanted_from=MONDAY,
        )
    assert "already on the Morning SUD waitlist" in caught.value.errors["track"]
    # No place yet: enrolling the first is refused with the track full.
    with pytest.raises(services.ScheduleInvalid):
        services.waitlist_enrol(
            actor=world.alice,
            access=_access(waiting[0][0]),
            entry_public_id=waiting[0][1].public_id,
            start_on=MONDAY,
            now=NOW,
        )
    services.enrolment_end(
        actor=world.alice,
        access=_access(world.patient_a),
        enrolment_public_id=first.enrolment.public_id,
        ended_on=MONDAY + timedelta(days=7),
        reason="discharge",
        base_version=1,
    )
    assert services.places_free(sched.track, MONDAY + timedelta(days=7)) == 1
    with pytest.raises(services.ScheduleInvalid) as caught:
        services.waitlist_enrol(
            actor=world.alice,
            access=_access(waiting[1][0]),
            entry_public_id=waiting[1][1].public_id,
            start_on=MONDAY + timedelta(days=7),
            now=NOW,
        )
    assert caught.value.errors == {"entry": "Someone else is ahead on the waitlist."}
    enrolment = services.waitlist_enrol(
        actor=world.alice,
        access=_access(waiting[0][0]),
        entry_public_id=waiting[0][1].public_id,
        start_on=MONDAY + timedelta(days=7),
        now=NOW,
    )
    assert enrolment.start_on == MONDAY + timedelta(days=7)
    entry = WaitlistEntry.objects.get(pk=waiting[0][1].pk)
    assert entry.status == "enrolled" and entry.enrolment == enrolment
    assert AuditEvent.objects.filter(
        object_type="enrolment", object_id=enrolment.public_id, patient=waiting[0][0]
    ).exists()
    assert [r.entry.patient for r in selectors.waitlist_of(sched.track)] == [waiting[1][0]]
    removed = services.waitlist_remove(
        actor=world.alice,
        access=_access(waiting[1][0]),
        entry_public_id=waiting[1][1].public_id,
        reason="Chose another program",
        now=NOW,
    )
    assert removed.status == "removed" and WaitlistEntry.objects.count() == 2
    assert selectors.waitlist_of(sched.track) == []


# --- pinned topics --------------------------------------------------------------------------


def test_pinned_topic_due_excludes_patients_who_attended_it(world) -> None:  # type: ignore[no-untyped-def]
    sched = make_sched(world)
    sessions = _generate(world, sched, weeks=1)
    topic = sched.topics[0]
    topic.pin_anchor, topic.pin_days = "first_days", 10
    topic.save()
    patients = [(world.patient_a, world.episode_a)] + [_patient(world) for _ in range(3)]
    for patient, episode in patients:
        Enrolment.objects.create(
            patient=patient,
            episode=episode,
            track=sched.track,
            start_on=MONDAY,
            expected_end_on=MONDAY + timedelta(weeks=8),
            created_by=world.alice,
        )
    on_topic = next(s for s in sessions if s.topic_id == topic.pk)

    def mark(patient, status: str) -> None:  # type: ignore[no-untyped-def]
        AttendanceRecord.objects.create(
            patient=patient,
            program=world.program_a,
            track=sched.track,
            session=on_topic,
            on=on_topic.on,
            status=status,
            recorded_by=world.alice,
            recorded_at=NOW,
        )

    mark(patients[0][0], "present")
    mark(patients[1][0], "late")
    mark(patients[2][0], "absent_unexcused")
    with CaptureQueriesContext(connection) as few:
        due = selectors.pinned_topics_due(track=sched.track, start=MONDAY, end=MONDAY)
    (entry,) = due
    assert {p for p, *_ in entry.entries} == {patients[2][0], patients[3][0]}
    assert entry.already_attended == 2
    for _ in range(6):
        patient, episode = _patient(world)
        Enrolment.objects.create(
            patient=patient,
            episode=episode,
            track=sched.track,
            start_on=MONDAY,
            expected_end_on=MONDAY + timedelta(weeks=8),
            created_by=world.alice,
        )
        mark(patient, "present")
    with CaptureQueriesContext(connection) as many:
        due = selectors.pinned_topics_due(track=sched.track, start=MONDAY, end=MONDAY)
    assert len(few.captured_queries) == len(many.captured_queries) == 3
    assert due[0].already_attended == 8 and len(due[0].entries) == 2
