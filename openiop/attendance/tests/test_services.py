"""Attendance services: saving rosters (defaults, history, audit, double submits,
concurrent saves), check-in, appointments, follow-up tasks and disengagement alerts,
and the compliance selectors built on them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from openiop.alerts.models import Alert, AlertKind, Notification, Task
from openiop.attendance import rules, selectors, services
from openiop.attendance.models import (
    AttendanceChange,
    AttendanceRecord,
    AttendanceSettings,
    HourRequirement,
    SessionVisitor,
)
from openiop.audit.models import AuditEvent
from openiop.core.errors import ServiceError
from openiop.patients.models import Coverage
from openiop.scheduling.models import GroupSession
from tests.factories import EpisodeFactory, PatientFactory

from .helpers import MONDAY, lines, make_appointment, make_group, make_session, save

P, L, E, X, U = (
    rules.PRESENT,
    rules.LATE,
    rules.ABSENT_EXCUSED,
    rules.ABSENT_UNEXCUSED,
    rules.ABSENT_UNEXCUSED,
)
pytestmark = pytest.mark.django_db


def test_save_creates_marks_with_default_minutes_history_and_audit(world) -> None:  # type: ignore[no-untyped-def]
    group = make_group(world, size=3)
    session = group.sessions[0]
    marks = [
        services.MarkInput(group.patients[0].public_id, rules.PRESENT),
        services.MarkInput(group.patients[1].public_id, rules.LATE, late_minutes=20),
        services.MarkInput(group.patients[2].public_id, rules.ABSENT_EXCUSED),
    ]
    before = AuditEvent.objects.count()
    saved = save(world.alice, session, marks)
    assert saved.sheet.version == 1 and saved.changed == 3
    minutes = dict(
        AttendanceRecord.objects.filter(session=session).values_list(
            "patient_id", "minutes_attended"
        )
    )
    assert minutes == {
        group.patients[0].pk: 180,
        group.patients[1].pk: 160,
        group.patients[2].pk: 0,
    }
    assert AttendanceChange.objects.count() == 3
    events = AuditEvent.objects.filter(object_type="attendance").order_by("id")
    assert AuditEvent.objects.count() - before == 3
    assert {e.patient_id for e in events} == {p.pk for p in group.patients}
    assert all(e.actor_username == "alice" for e in events)


def test_double_submit_saves_once(world) -> None:  # type: ignore[no-untyped-def]
    group = make_group(world, size=2)
    token = uuid.uuid4()
    save(world.alice, group.sessions[0], lines(group, P, P), token=token)
    again = save(world.alice, group.sessions[0], lines(group, P, P), token=token)
    assert again.changed == 0 and again.sheet.version == 1
    assert AttendanceRecord.objects.count() == 2


def test_second_save_from_the_same_version_is_refused_showing_what_changed(world) -> None:  # type: ignore[no-untyped-def]
    group = make_group(world, size=3)
    session = group.sessions[0]
    save(world.alice, session, lines(group, P, P, P), version=0)
    with pytest.raises(services.RosterConflict) as caught:
        save(world.dana, session, lines(group, P, X, P), version=0)
    conflict = caught.value
    assert conflict.changed == [group.patients[1].public_id]
    assert conflict.current[group.patients[1].public_id].status == rules.PRESENT
    assert conflict.message.startswith(world.alice.display_name)
    # Nothing of the refused save was written.
    assert set(AttendanceRecord.objects.values_list("status", flat=True)) == {rules.PRESENT}
    # Saving again from the version the conflict showed succeeds.
    save(world.dana, session, lines(group, P, X, P), version=conflict.sheet.version)
    assert AttendanceRecord.objects.get(patient=group.patients[1]).status == X


def test_bad_lines_are_refused_by_field_and_nothing_is_saved(world) -> None:  # type: ignore[no-untyped-def]
    group = make_group(world, size=2)
    marks = [
        services.MarkInput(group.patients[0].public_id, rules.LATE),
        services.MarkInput(group.patients[1].public_id, rules.PRESENT, minutes_attended=500),
    ]
    with pytest.raises(services.RosterInvalid) as caught:
        save(world.alice, group.sessions[0], marks)
    assert caught.value.errors == {
        str(group.patients[0].public_id): {"late_minutes": "How many minutes late?"},
        str(group.patients[1].public_id): {"minutes_attended": "Between 0 and 180 minutes."},
    }
    assert not AttendanceRecord.objects.exists()


def test_outsiders_and_read_only_roles_cannot_save(world) -> None:  # type: ignore[no-untyped-def]
    group = make_group(world, size=1)
    for actor in (world.charlie, world.bob, world.olivia):
        with pytest.raises(ServiceError):
            save(actor, group.sessions[0], lines(group, P))
    assert not AttendanceRecord.objects.exists()


def test_walk_ins_must_belong_to_the_program_and_visitors_are_not_counted(world) -> None:  # type: ignore[no-untyped-def]
    group = make_group(world, size=1)
    walker = PatientFactory(organization=world.org)
    EpisodeFactory(patient=walker, program=world.program_a)
    marks = [*lines(group, P), services.MarkInput(walker.public_id, rules.PRESENT, walk_in=True)]
    save(
        world.alice,
        group.sessions[0],
        marks,
        visitors=[services.VisitorInput("Observer Person", "observation")],
    )
    assert AttendanceRecord.objects.get(patient=walker).walk_in
    assert SessionVisitor.objects.count() == 1
    outsider = [services.MarkInput(world.patient_b.public_id, rules.PRESENT, walk_in=True)]
    with pytest.raises(services.RosterInvalid) as caught:
        save(world.alice, group.sessions[1], outsider)
    assert "patient" in caught.value.errors[str(world.patient_b.public_id)]


def test_cancelled_session_cannot_be_marked(world) -> None:  # type: ignore[no-untyped-def]
    group = make_group(world, size=1)
    GroupSession.objects.filter(pk=group.sessions[0].pk).update(
        status="cancelled", cancelled_by="program"
    )
    with pytest.raises(ServiceError, match="cancelled"):
        save(world.alice, group.sessions[0], lines(group, P))


def test_missed_session_creates_a_follow_up_and_two_in_a_row_raise_disengagement(world) -> None:  # type: ignore[no-untyped-def]
    group = make_group(world, size=2)
    mon, wed, fri = group.sessions
    save(world.alice, mon, lines(group, U, P))
    assert Task.objects.filter(kind=services.FOLLOW_UP_KIND, patient=world.patient_a).count() == 1
    assert not Alert.objects.filter(kind=AlertKind.DISENGAGEMENT).exists()
    # Re-saving the same absence does not create a second task.
    save(world.alice, mon, lines(group, U, P), version=1)
    assert Task.objects.filter(kind=services.FOLLOW_UP_KIND).count() == 1
    saved = save(world.alice, wed, lines(group, U, P))
    assert saved.alerts == 1
    alert = Alert.objects.get(kind=AlertKind.DISENGAGEMENT)
    assert alert.patient == world.patient_a and alert.title.startswith("2 consecutive")
    assert Notification.objects.filter(alert=alert, recipient=world.dana).exists()
    # A third absence while the alert is open raises no second alert.
    save(world.alice, fri, lines(group, U, P))
    assert Alert.objects.filter(kind=AlertKind.DISENGAGEMENT).count() == 1


def test_excused_absence_between_does_not_break_the_run_and_threshold_is_per_program(world) -> None:  # type: ignore[no-untyped-def]
    AttendanceSettings.objects.create(program=world.program_a, absence_alert_threshold=3)
    group = make_group(world, size=1)
    mon, wed, fri = group.sessions
    save(world.alice, mon, lines(group, U))
    save(world.alice, wed, lines(group, E))
    save(world.alice, fri, lines(group, U))
    assert not Alert.objects.filter(kind=AlertKind.DISENGAGEMENT).exists()  # 2 of 3
    extra = make_session(group.track, group.room, world.alice, MONDAY + timedelta(days=7))
    save(world.alice, extra, lines(group, U))
    assert Alert.objects.filter(kind=AlertKind.DISENGAGEMENT).count() == 1


def test_check_in_feeds_the_same_record_and_moves_the_version(world) -> None:  # type: ignore[no-untyped-def]
    group = make_group(world, size=2)
    session = group.sessions[0]
    arrived = session.starts_at + timedelta(minutes=12)
    record = services.check_in(
        actor=world.alice, session=session, patient_public_id=world.patient_a.public_id, now=arrived
    )
    assert record.status == rules.LATE and record.late_minutes == 12
    assert record.minutes_attended == 168
    # The facilitator who opened the roster before the check-in must look again.
    with pytest.raises(services.RosterConflict):
        save(world.alice, session, lines(group, P, P), version=0)
    assert AuditEvent.objects.filter(object_type="attendance", patient=world.patient_a).exists()
    with pytest.raises(ServiceError):
        services.check_in(
            actor=world.charlie,
            session=session,
            patient_public_id=world.patient_a.public_id,
            now=arrived,
        )


def test_appointments_kept_and_missed(world) -> None:  # type: ignore[no-untyped-def]
    group = make_group(world, size=1)
    appt = make_appointment(world, world.patient_a, MONDAY + timedelta(days=1), minutes=60)
    now = datetime(2026, 11, 17, 15, tzinfo=UTC)
    record = services.appointment_mark(
        actor=world.alice, appointment=appt, kept=True, minutes=50, base_version=0, now=now
    )
    assert record.minutes_attended == 50 and record.version == 1
    with pytest.raises(services.AppointmentConflict):
        services.appointment_mark(
            actor=world.alice, appointment=appt, kept=False, minutes=None, base_version=0, now=now
        )
    services.appointment_mark(
        actor=world.alice, appointment=appt, kept=False, minutes=None, base_version=1, now=now
    )
    assert Task.objects.filter(kind=services.FOLLOW_UP_KIND, patient=world.patient_a).count() == 1
    assert group  # the enrolment makes the appointment part of a judged week


def test_outreach_is_logged_once_and_audited(world) -> None:  # type: ignore[no-untyped-def]
    from openiop.patients.selectors import PatientAccess

    token = uuid.uuid4()
    access = PatientAccess(world.patient_a, via_break_glass=False)
    now = datetime(2026, 11, 17, 15, tzinfo=UTC)
    for _ in range(2):
        services.outreach_log(
            actor=world.alice,
            access=access,
            method="phone",
            outcome="left_message",
            note="Voicemail",
            record_public_id=None,
            submission_token=token,
            now=now,
        )
    assert world.patient_a.outreach.count() == 1
    assert AuditEvent.objects.filter(object_type="outreach_attempt").count() == 1


def _week(world):  # type: ignore[no-untyped-def]
    report = selectors.track_week_report(
        track=selectors.tracks_for(world.dana)[0], week=MONDAY, organization_id=world.org.pk
    )
    return {row.patient.pk: row.compliance for row in report.rows}


def test_compliance_counts_groups_and_appointments_and_program_cancellations(world) -> None:  # type: ignore[no-untyped-def]
    group = make_group(world, size=2)
    mon, wed, fri = group.sessions
    save(world.alice, mon, lines(group, P, P))
    save(world.alice, wed, lines(group, P, P))
    weeks = _week(world)
    assert weeks[world.patient_a.pk].hours == Decimal("6.00")
    assert weeks[world.patient_a.pk].result("asam_2_1").status == rules.NOT_MET  # type: ignore[union-attr]
    # The program cancels Friday: the shortfall is the program's, not the patient's.
    GroupSession.objects.filter(pk=fri.pk).update(status="cancelled", cancelled_by="program")
    weeks = _week(world)
    assert weeks[world.patient_a.pk].result("asam_2_1").status == rules.SHORT_BY_PROGRAM  # type: ignore[union-attr]
    # The patient cancelling would not help.
    GroupSession.objects.filter(pk=fri.pk).update(cancelled_by="patient")
    assert _week(world)[world.patient_a.pk].result("asam_2_1").status == rules.NOT_MET  # type: ignore[union-attr]
    # A kept 3-hour family session makes up the hours.
    appt = make_appointment(world, world.patient_a, MONDAY + timedelta(days=3), minutes=180)
    services.appointment_mark(
        actor=world.alice,
        appointment=appt,
        kept=True,
        minutes=None,
        base_version=0,
        now=datetime(2026, 11, 19, 17, tzinfo=UTC),
    )
    week = _week(world)[world.patient_a.pk]
    assert week.hours == Decimal("9.00") and week.days == 3
    assert week.result("asam_2_1").status == rules.MET  # type: ignore[union-attr]
    assert week.result("medicare_iop").status == rules.NOT_APPLICABLE  # type: ignore[union-attr]


def test_medicare_coverage_and_configured_rules_apply(world) -> None:  # type: ignore[no-untyped-def]
    make_group(world, size=1)
    Coverage.objects.create(
        patient=world.patient_a, plan_type="medicare", effective_start=MONDAY - timedelta(days=90)
    )
    HourRequirement.objects.create(
        organization=world.org,
        code="wy_iop",
        label="Wyoming IOP",
        scope="program",
        program=world.program_a,
        adult_min_hours=Decimal(9),
        adolescent_min_hours=Decimal(6),
        min_days=3,
    )
    week = _week(world)[world.patient_a.pk]
    assert week.result("medicare_iop").status == rules.NOT_MET  # type: ignore[union-attr]
    assert week.result("wy_iop") is not None


def test_patient_admitted_mid_week_is_prorated(world) -> None:  # type: ignore[no-untyped-def]
    group = make_group(world, size=1)
    group.track.enrolments.update(start_on=MONDAY + timedelta(days=4))  # Friday only
    save(world.alice, group.sessions[2], lines(group, P))
    week = _week(world)[world.patient_a.pk]
    assert week.partial_week
    assert week.result("track").status == rules.MET  # type: ignore[union-attr]
    AttendanceSettings.objects.create(program=world.program_a, partial_week_policy="exempt")
    assert _week(world)[world.patient_a.pk].result("track").status == rules.NOT_JUDGED  # type: ignore[union-attr]
