"""The demo data command: reproducible, complete, consistent, and demo mode only."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils.timezone import localdate
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import verified_client
from openiop.accounts.models import ProgramMembership, User
from openiop.accounts.roles import Perm, Role, role_has
from openiop.alerts.models import Alert, AlertStatus, Notification, Task
from openiop.assessments import icd10
from openiop.assessments import rules as assessment_rules
from openiop.assessments.models import (
    BiopsychosocialAssessment,
    Diagnosis,
    DiagnosisRank,
    LevelOfCareAssessment,
)
from openiop.audit.models import AuditEvent
from openiop.consents.models import Consent, ConsentKind, ConsentStatus
from openiop.consents.selectors import consents_missing_for_admission
from openiop.consents.services import consent_integrity_ok
from openiop.core.demo import DEMO_PASSWORD
from openiop.core.management.commands.demo_data import (
    ICD10_DESCRIPTIONS,
    SHOWCASE_LIMIT,
    _birth_date,
    _icd10_release,
    fingerprint,
    plan_build,
    totp_key,
)
from openiop.episodes.models import Episode, EpisodeEvent, EpisodeStatus
from openiop.episodes.rules import transition_allowed
from openiop.instruments import score
from openiop.intake import rules as intake_rules
from openiop.intake.models import (
    Admission,
    Referral,
    ReferralContactAttempt,
    ReferralEvent,
    ReferralStage,
)
from openiop.organizations.models import Program, ProgramType
from openiop.patients.models import MrnSequence, Patient
from openiop.patients.rules import age_on, mrn_is_valid
from openiop.screening import rules as screening_rules
from openiop.screening.models import InstrumentAdministration, SafetyPlan, SafetyPlanStatus
from openiop.screening.selectors import ADMINISTRATION_SOURCE

PATIENTS = 40
SEED = 7
TODAY = date(2026, 3, 2)


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def load(*extra: str) -> str:
    return run(
        "demo_data", "--patients", str(PATIENTS), "--seed", str(SEED), "--today", str(TODAY), *extra
    )


@pytest.fixture
def demo(db: None, settings) -> str:  # type: ignore[no-untyped-def]
    settings.DEMO_MODE = True
    return load()


def db_fingerprint() -> str:
    statuses: dict[int, list[str]] = defaultdict(list)
    for patient_id, status in Episode.objects.order_by("referred_on", "id").values_list(
        "patient_id", "status"
    ):
        statuses[patient_id].append(status)
    counts = {
        "referrals": Referral.objects.count(),
        "referral_events": ReferralEvent.objects.count(),
        "contact_attempts": ReferralContactAttempt.objects.count(),
        "administrations": InstrumentAdministration.objects.count(),
        # The plan's alerts (intake); attendance's demo adds a disengagement alert.
        "alerts": Alert.objects.exclude(kind="disengagement").count(),
        "safety_plans": SafetyPlan.objects.count(),
        "consents": Consent.objects.count(),
        "biopsychosocials": BiopsychosocialAssessment.objects.count(),
        "diagnoses": Diagnosis.objects.count(),
        "levels_of_care": LevelOfCareAssessment.objects.count(),
        "admissions": Admission.objects.count(),
    }
    return fingerprint(
        (
            (p.mrn, p.legal_given_name, p.legal_family_name, tuple(statuses[p.pk]))
            for p in Patient.objects.all()
        ),
        counts=counts,
    )


def test_same_seed_same_plan_other_seed_other_plan() -> None:
    first = plan_build(patients=PATIENTS, seed=SEED, today=TODAY)
    assert plan_build(patients=PATIENTS, seed=SEED, today=TODAY) == first
    assert all(first.showcase.counts().values())  # something of every intake kind
    later = plan_build(patients=PATIENTS, seed=SEED, today=date(2027, 1, 15))
    assert later.fingerprint() == first.fingerprint()  # dates move with the day, people do not
    assert later.patients[0].episodes[0].referred_on != first.patients[0].episodes[0].referred_on
    assert plan_build(patients=PATIENTS, seed=SEED + 1, today=TODAY).fingerprint() != (
        first.fingerprint()
    )


def test_the_load_writes_the_plan_of_its_seed(demo: str) -> None:
    expected = plan_build(patients=PATIENTS, seed=SEED, today=TODAY).fingerprint()
    assert db_fingerprint() == expected
    assert f"fingerprint {expected}" in demo
    assert Patient.objects.count() == PATIENTS


def test_every_role_is_present_and_staff_can_sign_in(demo: str) -> None:
    assert set(User.objects.values_list("role", flat=True)) == set(Role.values)
    director = User.objects.get(username="director")
    assert director.check_password(DEMO_PASSWORD) and director.credentials
    first_site = Program.objects.get(name="Morning SUD IOP").site
    assert set(
        ProgramMembership.objects.filter(user=director).values_list("program_id", flat=True)
    ) == set(Program.objects.filter(site=first_site).values_list("id", flat=True))
    assert User.objects.get(username="trainee").is_trainee
    admin = User.objects.get(username="admin")
    assert admin.is_staff and not admin.memberships.exists()
    assert set(User.objects.values_list("organization__name", flat=True)) == {
        "Riverside Recovery Collaborative"
    }
    assert Program.objects.values("program_type").distinct().count() == len(ProgramType)


def test_every_episode_status_and_a_readmission_are_present(demo: str) -> None:
    assert set(Episode.objects.values_list("status", flat=True)) == set(EpisodeStatus.values)
    readmitted = [
        p
        for p in Patient.objects.prefetch_related("episodes")
        if len(p.episodes.all()) == 2
        and sorted(p.episodes.all(), key=lambda e: e.referred_on)[0].status == "discharged"
    ]
    assert readmitted


def test_mrns_are_valid_and_the_sequence_continues_after_them(demo: str) -> None:
    mrns = list(Patient.objects.values_list("mrn", flat=True))
    assert all(mrn_is_valid(mrn) for mrn in mrns) and len(set(mrns)) == PATIENTS
    assert MrnSequence.objects.get().last_number == PATIENTS


def test_ages_fit_the_programs(demo: str) -> None:
    for patient in Patient.objects.prefetch_related("episodes__program"):
        age = age_on(patient.date_of_birth, TODAY)
        teen = any(e.program.program_type == "adolescent" for e in patient.episodes.all())
        assert (13 <= age <= 17) if teen else (18 <= age <= 70)


def test_episode_history_walks_the_allowed_transitions(demo: str) -> None:
    for episode in Episode.objects.prefetch_related("events"):
        events = list(episode.events.all())
        opened, changes = events[0], events[1:]
        assert (
            opened.kind == EpisodeEvent.Kind.OPENED and opened.effective_on == episode.referred_on
        )
        status = opened.to_status
        assert status in {"referred", "screening"}
        for event in changes:
            if event.kind == EpisodeEvent.Kind.STATUS:
                assert event.from_status == status and transition_allowed(status, event.to_status)
                status = event.to_status
        assert status == episode.status
        assert [e.changed_at for e in events] == sorted(e.changed_at for e in events)
        assert episode.version == len(events)
        if episode.status in {"active", "discharged"}:
            assert episode.admitted_on and episode.referred_on <= episode.admitted_on
        if episode.status in {"discharged", "cancelled"}:
            assert episode.ended_on and episode.ended_on <= TODAY and changes[-1].reason


def test_care_teams_come_from_the_program(demo: str) -> None:
    members = defaultdict(set)
    for user_id, program_id in ProgramMembership.objects.values_list("user_id", "program_id"):
        members[program_id].add(user_id)
    active = Episode.objects.filter(status="active")
    assert active.exists()
    for episode in active:
        team = [episode.primary_counselor_id, episode.prescriber_id, episode.case_manager_id]
        assert team[0] and team[1]
        assert all(person in members[episode.program_id] for person in team if person)


def test_one_audit_event_and_the_chain_verifies(demo: str) -> None:
    event = AuditEvent.objects.get()
    assert event.object_type == "demo_data"
    assert event.detail == {"patients": PATIENTS, "seed": SEED}
    assert "intact" in run("audit_verify")


def test_demo_totp_prints_a_working_code_and_newhire_has_no_device(demo: str) -> None:
    code = run("demo_totp", "director").strip()
    device = TOTPDevice.objects.get(user__username="director")
    assert device.key == totp_key(SEED, "director") and len(device.key) == 40
    assert device.verify_token(code)
    assert not TOTPDevice.objects.filter(user__username="newhire").exists()
    with pytest.raises(CommandError, match="not enrolled"):
        run("demo_totp", "newhire")


def test_demo_totp_refused_outside_demo_mode(demo: str, settings) -> None:  # type: ignore[no-untyped-def]
    settings.DEMO_MODE = False
    with pytest.raises(CommandError, match="demo mode"):
        run("demo_totp", "director")


def test_if_empty_is_a_no_op_once_patients_exist(db: None, settings) -> None:  # type: ignore[no-untyped-def]
    settings.DEMO_MODE = True
    load("--if-empty")
    counts = (Patient.objects.count(), Episode.objects.count(), AuditEvent.objects.count())
    assert "nothing to do" in load("--if-empty")
    assert (Patient.objects.count(), Episode.objects.count(), AuditEvent.objects.count()) == counts


def test_a_second_load_is_refused(demo: str) -> None:
    with pytest.raises(CommandError, match="already exist"):
        load()


def test_refused_outside_demo_mode_unless_the_benchmark_asks(db: None, settings) -> None:  # type: ignore[no-untyped-def]
    settings.DEMO_MODE = False
    with pytest.raises(CommandError, match="demo mode"):
        load()
    assert not Patient.objects.exists()
    load("--allow-non-demo")
    assert Patient.objects.count() == PATIENTS


def test_the_benchmark_flag_is_refused_in_production(db: None, settings) -> None:  # type: ignore[no-untyped-def]
    settings.DEMO_MODE = False
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        load("--allow-non-demo")


@pytest.mark.parametrize(
    "today", [date(2027, 2, 28), date(2027, 3, 1), date(2028, 2, 29), date(2028, 3, 1)]
)
def test_birth_dates_give_the_drawn_age_around_leap_days(today: date) -> None:
    for age in (13, 17, 18, 70):
        for days in range(364):
            assert age_on(_birth_date(today, age, days_since_birthday=days), today) == age


# --- The intake showcase ------------------------------------------------------------------


def test_the_showcase_leaves_the_people_of_a_seed_unchanged() -> None:
    """The showcase draws from its own random streams, so adding it changed no patient:
    the people of seed 7 are those the command made before it had a showcase."""
    plan = plan_build(patients=PATIENTS, seed=SEED, today=TODAY)
    people = fingerprint(
        (p.mrn, p.legal_given_name, p.legal_family_name, tuple(e.status for e in p.episodes))
        for p in plan.patients
    )
    assert people == "19e70acb7125198f"
    assert plan.fingerprint() != people  # the showcase counts are part of the fingerprint


def test_the_showcase_is_bounded() -> None:
    plan = plan_build(patients=1500, seed=SEED, today=TODAY)
    assert len(plan.showcase.admissions) == SHOWCASE_LIMIT
    assert len(plan.showcase.referrals) < 80


def _allowed(username: str, *perms: Perm) -> bool:
    user = User.objects.get(username=username)
    return all(role_has(user.role, perm) for perm in perms)


def test_referrals_fill_every_stage_and_walk_the_allowed_moves(demo: str) -> None:
    assert set(Referral.objects.values_list("stage", flat=True)) == set(ReferralStage.values)
    members = defaultdict(set)
    for user_id, program_id in ProgramMembership.objects.values_list("user_id", "program_id"):
        members[program_id].add(user_id)
    for referral in Referral.objects.prefetch_related("events__changed_by", "contact_attempts"):
        events = list(referral.events.all())
        created, changes = events[0], events[1:]
        assert created.kind == ReferralEvent.Kind.CREATED and created.to_stage == "new"
        assert created.changed_at == referral.received_at
        assert [e.changed_at for e in events] == sorted(e.changed_at for e in events)
        stage = "new"
        for event in changes:
            if event.kind != ReferralEvent.Kind.STAGE:
                continue
            admission = event.to_stage == "admitted"
            assert event.from_stage == stage
            assert (
                intake_rules.stage_move_problem(
                    from_stage=stage,
                    to_stage=event.to_stage,
                    reason=event.reason,
                    by_admission=admission,
                )
                is None
            )
            assert role_has(
                event.changed_by.role, Perm.ADMIT if admission else Perm.REFERRAL_MANAGE
            )
            if referral.program_id:
                assert event.changed_by_id in members[referral.program_id]
            if event.to_stage == "unable_to_reach":
                outcomes = [
                    a.outcome
                    for a in referral.contact_attempts.all()
                    if a.attempted_at <= event.changed_at
                ]
                assert intake_rules.suggest_unable_to_reach(
                    stage=stage, outcomes_oldest_first=outcomes
                )
            stage = event.to_stage
        assert stage == referral.stage
        assert referral.version == len(events)
        stage_moves = [e for e in changes if e.kind == ReferralEvent.Kind.STAGE]
        assert referral.stage_changed_at == (
            stage_moves[-1].changed_at if stage_moves else referral.received_at
        )
        for attempt in referral.contact_attempts.all():
            assert attempt.attempted_at >= referral.received_at
        if referral.episode_id:
            episode = referral.episode
            assert episode is not None and episode.patient_id == referral.patient_id
            assert episode.program_id == referral.program_id
            assert any(e.kind == ReferralEvent.Kind.LINKED for e in events)
    assert Referral.objects.filter(program__isnull=True).exists()  # the intake pool
    linked_statuses = set(
        Referral.objects.filter(episode__isnull=False).values_list("episode__status", flat=True)
    )
    assert {"referred", "screening", "active"} <= linked_statuses
    for referral in Referral.objects.filter(stage="admitted"):
        assert Admission.objects.filter(referral=referral, episode=referral.episode).exists()


def test_instruments_are_scored_by_the_engine_and_most_patients_improve(demo: str) -> None:
    rows = list(
        InstrumentAdministration.objects.select_related("episode__program", "administered_by")
    )
    assert {"PHQ-9", "GAD-7"} <= {a.instrument_code for a in rows}
    assert {"AUDIT", "DAST-10"} & {a.instrument_code for a in rows}
    for a in rows:
        result = score(a.instrument_code, a.answer_values())
        assert a.status == "completed" and a.completed_at and a.episode is not None
        assert (a.total, a.band, a.flags, a.subscales) == (
            result.total,
            result.band or "",
            list(result.flags),
            dict(result.subscales),
        )
        assert a.thresholds == dict(result.thresholds)
        assert a.definition_version == result.definition_version
        assert a.episode.status == "active" and a.episode.program.site.name == "Main Street"
        assert role_has(a.administered_by.role, Perm.SCREENING_ADMINISTER)
        if a.instrument_code in {"AUDIT", "DAST-10"}:
            assert a.episode.program.program_type in {
                ProgramType.SUD_IOP,
                ProgramType.DUAL_DIAGNOSIS,
            }
    positive = [a for a in rows if "suicide_risk" in a.flags]
    assert len(positive) == 1 and positive[0].instrument_code == "PHQ-9"
    totals: dict[int, list[int]] = defaultdict(list)
    for a in sorted(rows, key=lambda a: a.administered_at):
        if a.instrument_code == "PHQ-9":
            totals[a.patient_id].append(a.total or 0)
    followed = [t for t in totals.values() if len(t) >= 3]
    assert followed
    assert sum(t[-1] < t[0] for t in followed) > len(followed) / 2


def test_the_suicide_risk_alert_is_raised_as_alert_raise_would_and_shows_on_the_chart(
    demo: str,
) -> None:
    alert = Alert.objects.get(kind="suicide_risk")
    assert alert.status == AlertStatus.OPEN
    administration = InstrumentAdministration.objects.get(public_id=alert.source_id.split(":")[0])
    assert "suicide_risk" in administration.flags
    assert administration.answer_values()[9] > 0
    decision = screening_rules.suicide_alert_for(
        code="PHQ-9", flags=administration.flags, risk_level=None
    )
    assert decision is not None
    assert (alert.severity, alert.title, alert.requires_response) == (
        decision.severity,
        decision.title,
        decision.requires_response,
    )
    assert alert.source_type == ADMINISTRATION_SOURCE
    assert alert.source_id == f"{administration.public_id}:{decision.severity}"
    assert alert.patient_id == administration.patient_id
    assert alert.raised_by_id == administration.administered_by_id
    assert 0 < (TODAY - localdate(alert.raised_at)).days <= 7  # a current alert
    episode = Episode.objects.get(patient=alert.patient, status="active")
    task = Task.objects.get(alert=alert)
    assert task.assignee_id == episode.primary_counselor_id and task.status == "open"
    assert task.title == decision.task_title
    assert {n.recipient.username for n in Notification.objects.filter(alert=alert)} == {"director"}
    plan = SafetyPlan.objects.get(patient=alert.patient)
    assert plan.status == SafetyPlanStatus.CURRENT and plan.administration_id == administration.pk
    assert plan.professional_contacts[0]["phone"] == "988"
    assert role_has(plan.written_by.role, Perm.ASSESSMENT_WRITE)

    client = verified_client(User.objects.get(username="director"))
    chart = client.get(f"/patients/{alert.patient.public_id}/chart/screening/")
    assert chart.status_code == 200
    body = chart.content.decode()
    assert 'data-alert-kind="suicide_risk"' in body and decision.title in body
    assert "Suicide-risk follow-up" in body and "Version 1" in body
    history = client.get(f"/screening/patients/{alert.patient.public_id}/administrations/")
    assert history.status_code == 200 and "PHQ-9" in history.content.decode()
    board = client.get("/intake/")
    assert board.status_code == 200
    shown = Referral.objects.filter(program__site__name="Main Street").first()
    assert shown is not None and shown.family_name in board.content.decode()


def test_active_patients_hold_the_admission_consents(demo: str) -> None:
    admissions = list(Admission.objects.select_related("episode__patient", "episode__program"))
    assert admissions
    for admission in admissions:
        episode = admission.episode
        for on in (admission.start_date, TODAY):
            assert (
                consents_missing_for_admission(
                    patient=episode.patient, program=episode.program, on=on
                )
                == []
            )
        assert localdate(admission.admitted_at) == admission.start_date == episode.admitted_on
        assert role_has(admission.admitted_by.role, Perm.ADMIT)
    consents = list(Consent.objects.select_related("patient", "program__site__organization"))
    assert all(consent_integrity_ok(c) for c in consents)
    for c in consents:
        assert c.signature_method == "typed" and c.signed_name == c.patient.full_name
        assert c.patient.full_name in c.text and c.text_sha256 and c.content_sha256
        assert role_has(c.collected_by.role, Perm.CONSENT_MANAGE)
    kinds = {(c.kind, c.status, c.is_tpo) for c in consents}
    assert (ConsentKind.PART2_DISCLOSURE, ConsentStatus.SIGNED, True) in kinds
    assert (ConsentKind.ROI_FAMILY, ConsentStatus.SIGNED, False) in kinds
    revoked = [c for c in consents if c.status == ConsentStatus.REVOKED]
    assert len(revoked) == 1 and revoked[0].revoked_at and revoked[0].revocation_received_by_id


def test_assessments_diagnoses_and_level_of_care(demo: str) -> None:
    patients = set(Admission.objects.values_list("episode__patient_id", flat=True))
    assert patients == set(
        BiopsychosocialAssessment.objects.filter(status="completed").values_list(
            "patient_id", flat=True
        )
    )
    assert patients == set(LevelOfCareAssessment.objects.values_list("patient_id", flat=True))
    release = icd10.release_name()
    assert _icd10_release() == release
    for code, description in ICD10_DESCRIPTIONS.items():
        entry = icd10.lookup(code)
        assert entry is not None and entry.billable and entry.description == description
    by_patient: dict[int, list[Diagnosis]] = defaultdict(list)
    for diagnosis in Diagnosis.objects.all():
        assert diagnosis.code_set_release == release and diagnosis.status == "active"
        by_patient[diagnosis.patient_id].append(diagnosis)
    assert set(by_patient) == patients
    for rows in by_patient.values():
        assert 1 <= len(rows) <= 2
        assert [d.rank for d in rows].count(DiagnosisRank.PRIMARY) == 1
    assert any(
        assessment_rules.dual_diagnosis([d.code for d in rows]).flag for rows in by_patient.values()
    )
    for loc in LevelOfCareAssessment.objects.all():
        recommendation = assessment_rules.recommend_level(
            loc.ratings(), assessment_rules.EXAMPLE_TABLE, imminent_danger=False
        )
        assert loc.recommended_level == recommendation.level
        assert loc.driving_dimensions == list(recommendation.driving_dimensions)
        assert not assessment_rules.rationale_problems(loc.ratings(), loc.rationales())
        assert not assessment_rules.override_problems(
            recommended=loc.recommended_level,
            chosen=loc.chosen_level,
            reason=loc.override_reason,
            note=loc.override_note,
        )
        assert loc.table_was_example and "example table" in loc.medical_necessity
