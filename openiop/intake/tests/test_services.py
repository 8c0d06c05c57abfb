"""Intake services: history rows, audit rows, refusals, double submits, conflicts."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import IntegrityError, transaction

from openiop.audit.models import AuditEvent
from openiop.core.errors import ServiceError
from openiop.core.models import SubmissionReceipt
from openiop.episodes.models import Episode, EpisodeEvent
from openiop.intake import services
from openiop.intake.models import (
    Admission,
    ObservationVisit,
    Referral,
    ReferralContactAttempt,
    ReferralEvent,
)
from openiop.intake.services import ContactAttemptInput, ObservationInput
from openiop.intake.tests.helpers import (
    NOW,
    TODAY,
    access_for,
    admission_input,
    pool_referral,
    referral,
    referral_input,
    screening_patient,
    sign_admission_consents,
    token,
)
from openiop.patients.models import Patient
from openiop.patients.services import Demographics, DuplicateSuspected

pytestmark = pytest.mark.django_db


# --- Recording and moving referrals ------------------------------------------------------


def test_create_records_history_and_audit_and_double_submit_makes_one(world) -> None:  # type: ignore[no-untyped-def]
    submission = token()
    first = services.referral_create(
        actor=world.alice,
        data=referral_input(world),
        submission_token=submission,
        today=TODAY,
        now=NOW,
    )
    again = services.referral_create(
        actor=world.alice,
        data=referral_input(world),
        submission_token=submission,
        today=TODAY,
        now=NOW,
    )
    assert first.pk == again.pk and Referral.objects.count() == 1
    assert (
        first.stage == "new" and first.stage_changed_at == NOW and first.organization == world.org
    )
    event = ReferralEvent.objects.get(referral=first)
    assert event.kind == "created" and event.changed_by == world.alice
    audit = AuditEvent.objects.get(action="create", object_type="referral")
    assert audit.object_id == str(first.public_id) and audit.detail["urgency"] == "soon"
    assert "Canary" not in str(audit.detail)  # no names in the audit detail


def test_create_into_someone_elses_program_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as error:
        services.referral_create(
            actor=world.alice,
            data=referral_input(world, program=world.program_b),
            submission_token=token(),
            today=TODAY,
            now=NOW,
        )
    assert error.value.field == "program" and not Referral.objects.exists()


def test_create_needs_a_way_to_reach_the_person(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as error:
        services.referral_create(
            actor=world.alice,
            data=referral_input(world, phone="", email="", referrer_phone=""),
            submission_token=token(),
            today=TODAY,
            now=NOW,
        )
    assert error.value.field == "phone"


def test_roles_without_referral_manage_cannot_create(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError):
        services.referral_create(
            actor=world.bob,
            data=referral_input(world),
            submission_token=token(),
            today=TODAY,
            now=NOW,
        )


def test_move_records_who_and_when_and_is_audited(world) -> None:  # type: ignore[no-untyped-def]
    r = referral(world)
    moved = services.referral_move(
        actor=world.alice, referral=r, to_stage="contacted", reason="", base_version=1, now=NOW
    )
    assert moved.stage == "contacted" and moved.stage_changed_at == NOW and moved.version == 2
    event = ReferralEvent.objects.get(referral=r, kind="stage")
    assert (event.from_stage, event.to_stage, event.changed_by, event.changed_at) == (
        "new",
        "contacted",
        world.alice,
        NOW,
    )
    audit = AuditEvent.objects.get(action="status_change", object_type="referral")
    assert audit.detail == {"from": "new", "to": "contacted", "by_admission": False}


def test_move_to_declined_needs_a_reason_and_admitted_is_not_a_card_move(world) -> None:  # type: ignore[no-untyped-def]
    r = referral(world, stage="offered_admission")
    with pytest.raises(ServiceError) as error:
        services.referral_move(
            actor=world.alice, referral=r, to_stage="declined", reason=" ", base_version=1, now=NOW
        )
    assert error.value.field == "reason"
    with pytest.raises(ServiceError) as error:
        services.referral_move(
            actor=world.alice, referral=r, to_stage="admitted", reason="", base_version=1, now=NOW
        )
    assert "Admit" in error.value.message
    assert Referral.objects.get(pk=r.pk).stage == "offered_admission"


def test_closed_referral_reopens_to_contacted_with_a_reason(world) -> None:  # type: ignore[no-untyped-def]
    r = referral(world, stage="unable_to_reach")
    with pytest.raises(ServiceError):
        services.referral_move(
            actor=world.alice, referral=r, to_stage="assessed", reason="x", base_version=1, now=NOW
        )
    services.referral_move(
        actor=world.alice,
        referral=r,
        to_stage="contacted",
        reason="Called back",
        base_version=1,
        now=NOW,
    )
    assert Referral.objects.get(pk=r.pk).stage == "contacted"
    assert ReferralEvent.objects.get(referral=r, kind="stage").reason == "Called back"


def test_stale_move_is_refused_not_applied(world) -> None:  # type: ignore[no-untyped-def]
    r = referral(world)
    services.referral_move(
        actor=world.dana, referral=r, to_stage="contacted", reason="", base_version=1, now=NOW
    )
    with pytest.raises(ServiceError) as error:
        services.referral_move(
            actor=world.alice,
            referral=r,
            to_stage="unable_to_reach",
            reason="",
            base_version=1,
            now=NOW,
        )
    assert error.value.code == "conflict" and "Contacted" in error.value.message
    assert Referral.objects.get(pk=r.pk).stage == "contacted"


def test_services_check_scope_again(world) -> None:  # type: ignore[no-untyped-def]
    r = referral(world)  # program A: charlie is in program B
    with pytest.raises(ServiceError):
        services.referral_move(
            actor=world.charlie,
            referral=r,
            to_stage="contacted",
            reason="",
            base_version=1,
            now=NOW,
        )
    pooled = pool_referral(world)
    services.referral_move(
        actor=world.charlie,
        referral=pooled,
        to_stage="contacted",
        reason="",
        base_version=1,
        now=NOW,
    )


def test_update_refuses_a_stale_version_and_names_the_fields(world) -> None:  # type: ignore[no-untyped-def]
    r = referral(world)
    base = services.referral_input_of(r)
    services.referral_update(
        actor=world.dana,
        referral=r,
        data=base.__class__(**(base.__dict__ | {"schedule_notes": "Free after 5"})),
        base_version=1,
        today=TODAY,
        now=NOW,
    )
    with pytest.raises(services.ReferralConflict) as error:
        services.referral_update(
            actor=world.alice,
            referral=r,
            data=base.__class__(**(base.__dict__ | {"phone": "555-777-0000"})),
            base_version=1,
            today=TODAY,
            now=NOW,
        )
    assert set(error.value.changed_fields) == {"schedule_notes", "phone"}
    r.refresh_from_db()
    assert r.schedule_notes == "Free after 5" and r.phone == "555-201-3344" and r.version == 2
    assert ReferralEvent.objects.get(referral=r, kind="updated").reason == "schedule_notes"


# --- Contact attempts --------------------------------------------------------------------


def _attempt(world, r, outcome, minutes=0, actor=None):  # type: ignore[no-untyped-def]
    return services.referral_contact_log(
        actor=actor or world.alice,
        referral=r,
        data=ContactAttemptInput(
            attempted_at=NOW - dt.timedelta(hours=5) + dt.timedelta(minutes=minutes),
            method="phone",
            outcome=outcome,
            note="",
        ),
        submission_token=token(),
        now=NOW,
    )


def test_three_failed_attempts_suggest_unable_to_reach(world) -> None:  # type: ignore[no-untyped-def]
    r = referral(world)
    assert not _attempt(world, r, "no_answer", 0).suggest_unable_to_reach
    assert not _attempt(world, r, "voicemail", 1).suggest_unable_to_reach
    third = _attempt(world, r, "no_answer", 2)
    assert third.suggest_unable_to_reach and third.failed_in_a_row == 3
    assert ReferralContactAttempt.objects.filter(referral=r).count() == 3
    assert AuditEvent.objects.filter(object_type="referral_contact_attempt").count() == 3
    assert Referral.objects.get(pk=r.pk).stage == "new"  # a suggestion, not a move


def test_reaching_the_person_moves_a_new_referral_to_contacted(world) -> None:  # type: ignore[no-untyped-def]
    r = referral(world)
    _attempt(world, r, "no_answer", 0)
    logged = _attempt(world, r, "reached", 1)
    assert not logged.suggest_unable_to_reach
    r.refresh_from_db()
    assert r.stage == "contacted"
    assert ReferralEvent.objects.get(referral=r, kind="stage").changed_by == world.alice


def test_contact_attempt_double_submit_logs_one(world) -> None:  # type: ignore[no-untyped-def]
    r = referral(world)
    data = ContactAttemptInput(attempted_at=NOW, method="text", outcome="no_answer", note="")
    submission = uuid.uuid4()
    for _ in range(2):
        services.referral_contact_log(
            actor=world.alice, referral=r, data=data, submission_token=submission, now=NOW
        )
    assert ReferralContactAttempt.objects.count() == 1


# --- Registering a referral as a patient ---------------------------------------------------


def _demographics(**changes):  # type: ignore[no-untyped-def]
    values = {
        "legal_given_name": "Jordan",
        "legal_family_name": "Canary-RA",
        "date_of_birth": dt.date(1994, 6, 2),
        "sex_at_birth": "male",
        "phone": "555-301-7788",
    } | changes
    return Demographics(**values)


def _convert(world, r, actor=None, confirmed=False, submission=None, status="screening", **changes):  # type: ignore[no-untyped-def]
    return services.referral_convert(
        actor=actor or world.dana,
        referral=r,
        data=_demographics(**changes),
        program=world.program_a,
        initial_status=status,
        submission_token=submission or token(),
        confirmed_not_duplicate=confirmed,
        today=TODAY,
        now=NOW,
    )


def test_convert_registers_links_and_moves_the_referral(world) -> None:  # type: ignore[no-untyped-def]
    r = pool_referral(world, given_name="Jordan", family_name="Canary-RA")
    submission = token()
    patient = _convert(world, r, submission=submission)
    r.refresh_from_db()
    episode = Episode.objects.get(patient=patient)
    assert r.patient == patient and r.episode == episode and r.program == world.program_a
    assert episode.status == "screening" and episode.program == world.program_a
    assert r.stage == "screening_scheduled"
    kinds = list(ReferralEvent.objects.filter(referral=r).values_list("kind", flat=True))
    assert kinds == ["linked", "stage"]
    audit = AuditEvent.objects.get(object_type="referral", action="update")
    assert audit.patient == patient and audit.detail["program_from"] == "pool"
    # A double submit returns the same patient and creates nothing more.
    assert _convert(world, r, submission=submission) == patient
    assert Patient.objects.filter(legal_family_name="Canary-RA").count() == 1


def test_convert_warns_of_a_duplicate_then_registers_when_confirmed(world) -> None:  # type: ignore[no-untyped-def]
    r = referral(world, given_name="Avery", family_name="Canary-PA")
    same = {
        "legal_given_name": "Avery",
        "legal_family_name": "Canary-PA",
        "date_of_birth": dt.date(1990, 5, 17),
    }
    with pytest.raises(DuplicateSuspected) as dup:
        _convert(world, r, **same)
    assert dup.value.matches == [world.patient_a]
    r.refresh_from_db()
    assert r.patient is None and r.stage == "new"
    patient = _convert(world, r, confirmed=True, **same)
    assert patient != world.patient_a and Referral.objects.get(pk=r.pk).patient == patient


def test_convert_needs_patient_register_and_an_open_referral(world) -> None:  # type: ignore[no-untyped-def]
    r = referral(world)
    with pytest.raises(ServiceError):
        _convert(world, r, actor=world.alice)  # counselors do not register patients
    closed = referral(world, stage="declined")
    with pytest.raises(ServiceError) as error:
        _convert(world, closed)
    assert "Reopen" in error.value.message
    assert not Patient.objects.filter(legal_family_name="Canary-RA").exists()


# --- Observation visits ------------------------------------------------------------------


def _observation(**changes):  # type: ignore[no-untyped-def]
    values = {
        "visit_date": TODAY,
        "visit_time": dt.time(18, 0),
        "session_description": "Tuesday evening relapse-prevention group",
        "facilitator": None,
        "outcome": "undecided",
        "note": "",
    } | changes
    return ObservationInput(**values)


def test_observation_for_a_referral_is_never_attendance_or_billing(world) -> None:  # type: ignore[no-untyped-def]
    r = referral(world, stage="contacted")
    submission = token()
    visit = services.observation_record_for_referral(
        actor=world.alice,
        referral=r,
        data=_observation(facilitator=world.alice),
        submission_token=submission,
        today=TODAY,
        now=NOW,
    )
    assert visit.referral == r and visit.patient is None
    assert visit.counts_toward_attendance is False and visit.billable is False
    assert AuditEvent.objects.get(object_type="observation_visit").detail["outcome"] == "undecided"
    services.observation_record_for_referral(
        actor=world.alice,
        referral=r,
        data=_observation(),
        submission_token=submission,
        today=TODAY,
        now=NOW,
    )
    assert ObservationVisit.objects.count() == 1


def test_the_database_refuses_an_observation_counted_as_attendance(world) -> None:  # type: ignore[no-untyped-def]
    r = referral(world)
    with pytest.raises(IntegrityError), transaction.atomic():
        ObservationVisit.objects.create(
            organization=world.org,
            referral=r,
            visit_date=TODAY,
            session_description="x",
            outcome="undecided",
            recorded_by=world.alice,
            recorded_at=NOW,
            counts_toward_attendance=True,
        )


def test_observation_refusals(world) -> None:  # type: ignore[no-untyped-def]
    closed = referral(world, stage="declined")
    with pytest.raises(ServiceError):
        services.observation_record_for_referral(
            actor=world.alice,
            referral=closed,
            data=_observation(),
            submission_token=token(),
            today=TODAY,
            now=NOW,
        )
    open_referral = referral(world)
    with pytest.raises(ServiceError) as error:
        services.observation_record_for_referral(
            actor=world.alice,
            referral=open_referral,
            data=_observation(facilitator=world.charlie),  # not of program A
            submission_token=token(),
            today=TODAY,
            now=NOW,
        )
    assert error.value.field == "facilitator"
    with pytest.raises(ServiceError):  # already admitted: that would be attendance
        services.observation_record_for_patient(
            actor=world.alice,
            access=access_for(world.patient_a),
            episode_public_id=world.episode_a.public_id,
            data=_observation(),
            submission_token=token(),
            today=TODAY,
            now=NOW,
        )
    assert not ObservationVisit.objects.exists()


def test_observation_for_a_patient_not_yet_admitted_and_marking_it_in_error(world) -> None:  # type: ignore[no-untyped-def]
    patient, episode = screening_patient(world)
    visit = services.observation_record_for_patient(
        actor=world.alice,
        access=access_for(patient),
        episode_public_id=episode.public_id,
        data=_observation(outcome="decided_to_enrol"),
        submission_token=token(),
        today=TODAY,
        now=NOW,
    )
    assert visit.patient == patient and visit.episode == episode
    with pytest.raises(ServiceError):
        services.observation_mark_entered_in_error(
            actor=world.alice, visit=visit, reason="", now=NOW
        )
    services.observation_mark_entered_in_error(
        actor=world.alice, visit=visit, reason="Wrong person", now=NOW
    )
    visit.refresh_from_db()
    assert visit.status == "entered_in_error" and ObservationVisit.objects.count() == 1
    assert AuditEvent.objects.filter(
        object_type="observation_visit", action="status_change"
    ).exists()


# --- Admission ---------------------------------------------------------------------------


def _admit(world, patient, episode, actor=None, submission=None, **changes):  # type: ignore[no-untyped-def]
    episode.refresh_from_db()
    return services.episode_admit(
        actor=actor or world.alice,
        access=access_for(patient),
        episode_public_id=episode.public_id,
        data=admission_input(**changes),
        base_version=episode.version,
        submission_token=submission or token(),
        today=TODAY,
        now=NOW,
    )


def test_admission_is_refused_naming_the_missing_consents(world) -> None:  # type: ignore[no-untyped-def]
    patient, episode = screening_patient(world)
    with pytest.raises(services.AdmissionRefused) as error:
        _admit(world, patient, episode)
    assert error.value.missing == [
        "Consent to treatment",
        "Financial responsibility",
        "Program rules",
    ]
    assert "Consent to treatment" in error.value.message and error.value.field is None
    episode.refresh_from_db()
    assert episode.status == "screening" and not Admission.objects.exists()
    assert not EpisodeEvent.objects.filter(episode=episode, kind="status").exists()


def test_admission_refused_while_one_consent_is_still_missing(world) -> None:  # type: ignore[no-untyped-def]
    from openiop.consents.tests.helpers import make_consent

    patient, episode = screening_patient(world)
    for kind in ("treatment", "financial"):
        make_consent(actor=world.alice, patient=patient, program=world.program_a, kind=kind)
    with pytest.raises(services.AdmissionRefused) as error:
        _admit(world, patient, episode)
    assert error.value.missing == ["Program rules"]


def test_admission_with_consents_activates_the_episode_and_closes_the_referral(world) -> None:  # type: ignore[no-untyped-def]
    patient, episode = screening_patient(world)
    r = referral(world, stage="assessed", patient=patient, episode=episode)
    sign_admission_consents(world, patient)
    submission = token()
    admission = _admit(
        world,
        patient,
        episode,
        submission=submission,
        level_of_care="2.5",
        primary_counselor=world.alice,
        case_manager=world.dana,
    )
    episode.refresh_from_db()
    assert episode.status == "active" and episode.admitted_on == TODAY
    assert episode.level_of_care == "2.5" and episode.primary_counselor == world.alice
    assert episode.case_manager == world.dana
    assert (admission.track, admission.expected_weeks, admission.schedule_preference) == (
        "Evening SUD",
        10,
        "evening",
    )
    assert admission.referral == r and admission.admitted_by == world.alice
    kinds = list(
        EpisodeEvent.objects.filter(episode=episode)
        .exclude(kind="opened")
        .values_list("kind", flat=True)
    )
    assert kinds == ["status", "level_of_care", "care_team"]
    r.refresh_from_db()
    assert r.stage == "admitted"
    assert ReferralEvent.objects.get(referral=r, kind="stage").to_stage == "admitted"
    assert AuditEvent.objects.filter(
        object_type="admission", action="create", patient=patient
    ).exists()
    assert AuditEvent.objects.filter(object_type="episode", action="status_change").exists()
    # The same submission again returns the same admission.
    assert _admit(world, patient, episode, submission=submission) == admission
    assert Admission.objects.count() == 1
    assert SubmissionReceipt.objects.filter(kind="admission").count() == 1


def test_admission_refusals(world) -> None:  # type: ignore[no-untyped-def]
    patient, episode = screening_patient(world)
    sign_admission_consents(world, patient)
    with pytest.raises(ServiceError):  # not a member of program A
        _admit(world, patient, episode, actor=world.charlie)
    with pytest.raises(ServiceError):  # auditors do not admit
        _admit(world, patient, episode, actor=world.bob)
    with pytest.raises(ServiceError) as error:
        _admit(world, patient, episode, primary_counselor=world.charlie)
    assert error.value.field == "primary_counselor"
    with pytest.raises(ServiceError) as error:
        _admit(world, patient, episode, start_date=dt.date(2026, 10, 1))
    assert error.value.field == "start_date"
    with pytest.raises(ServiceError) as error:
        services.episode_admit(
            actor=world.alice,
            access=access_for(patient),
            episode_public_id=episode.public_id,
            data=admission_input(),
            base_version=episode.version - 1 if episode.version > 1 else 99,
            submission_token=token(),
            today=TODAY,
            now=NOW,
        )
    assert error.value.code == "conflict"
    with pytest.raises(ServiceError):  # already active
        _admit(world, world.patient_a, world.episode_a)
    episode.refresh_from_db()
    assert episode.status == "screening" and not Admission.objects.exists()


def test_level_defaults_to_the_latest_level_of_care_assessment(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import types

    from openiop.assessments import selectors as assessments

    patient, _ = screening_patient(world)
    assert services.assessed_level_of_care(patient=patient) is None
    monkeypatch.setattr(
        assessments, "loc_latest", lambda *, patient: types.SimpleNamespace(chosen_level="2.5")
    )
    assert services.assessed_level_of_care(patient=patient) == "2.5"
