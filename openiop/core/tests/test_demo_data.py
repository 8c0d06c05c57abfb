"""The demo data command: reproducible, complete, consistent, and demo mode only."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice

from openiop.accounts.models import ProgramMembership, User
from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.core.demo import DEMO_PASSWORD
from openiop.core.management.commands.demo_data import (
    _birth_date,
    fingerprint,
    plan_build,
    totp_key,
)
from openiop.episodes.models import Episode, EpisodeEvent, EpisodeStatus
from openiop.episodes.rules import transition_allowed
from openiop.organizations.models import Program, ProgramType
from openiop.patients.models import MrnSequence, Patient
from openiop.patients.rules import age_on, mrn_is_valid

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
    return fingerprint(
        (p.mrn, p.legal_given_name, p.legal_family_name, tuple(statuses[p.pk]))
        for p in Patient.objects.all()
    )


def test_same_seed_same_plan_other_seed_other_plan() -> None:
    first = plan_build(patients=PATIENTS, seed=SEED, today=TODAY)
    assert plan_build(patients=PATIENTS, seed=SEED, today=TODAY) == first
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
