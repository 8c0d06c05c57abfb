"""Table tests of the intake rules (pure: no database, no clock)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from openiop.intake import rules
from openiop.intake.models import ReferralSource, ReferralStage

NOW = datetime(2026, 11, 20, 15, 0)

# Source: product decision, docs/INTAKE.md "Stages" (rules.ALLOWED_MOVES).
MOVES = [
    # from, to, reason, by_admission, allowed
    ("new", "contacted", "", False, True),
    ("new", "screening_scheduled", "", False, True),
    ("new", "assessed", "", False, False),
    ("new", "unable_to_reach", "", False, True),
    ("new", "declined", "", False, False),  # needs a reason
    ("new", "declined", "Not ready", False, True),
    ("new", "referred_elsewhere", "", False, False),
    ("new", "referred_elsewhere", "Residential at Hillside", False, True),
    ("contacted", "screening_scheduled", "", False, True),
    ("contacted", "assessed", "", False, True),
    ("contacted", "new", "", False, False),  # no way back to new
    ("screening_scheduled", "contacted", "", False, True),  # missed screening
    ("screening_scheduled", "assessed", "", False, True),
    ("assessed", "offered_admission", "", False, True),
    ("assessed", "contacted", "", False, False),
    ("offered_admission", "admitted", "", False, False),  # only by admitting
    ("offered_admission", "admitted", "", True, True),
    ("contacted", "admitted", "", True, True),  # admission closes from any open stage
    ("new", "admitted", "", True, True),
    ("admitted", "contacted", "Came back", False, False),  # admitted is final
    ("admitted", "declined", "x", False, False),
    ("declined", "contacted", "", False, False),  # reopening needs a reason
    ("declined", "contacted", "Called back, ready now", False, True),
    ("referred_elsewhere", "contacted", "No place there", False, True),
    ("unable_to_reach", "contacted", "Returned our call", False, True),
    ("unable_to_reach", "assessed", "x", False, False),  # only reopened to contacted
    ("declined", "admitted", "", True, False),  # a closed referral is not admitted
    ("new", "new", "", False, False),
    ("new", "nonsense", "", False, False),
]


@pytest.mark.parametrize(("from_stage", "to_stage", "reason", "by_admission", "allowed"), MOVES)
def test_stage_moves(from_stage, to_stage, reason, by_admission, allowed) -> None:  # type: ignore[no-untyped-def]
    problem = rules.stage_move_problem(
        from_stage=from_stage, to_stage=to_stage, reason=reason, by_admission=by_admission
    )
    assert (problem is None) is allowed, problem


def test_the_move_table_names_every_stage_and_only_known_stages() -> None:
    stages = set(ReferralStage.values)
    assert set(rules.ALLOWED_MOVES) == stages == set(rules.STAGE_LABELS)
    assert all(targets <= stages for targets in rules.ALLOWED_MOVES.values())
    assert stages == rules.OPEN_STAGES | rules.CLOSED_STAGES
    assert not rules.OPEN_STAGES & rules.CLOSED_STAGES


@pytest.mark.parametrize(
    ("stage", "moves"),
    [
        (
            "new",
            [
                "contacted",
                "screening_scheduled",
                "declined",
                "referred_elsewhere",
                "unable_to_reach",
            ],
        ),
        ("offered_admission", ["declined", "referred_elsewhere", "unable_to_reach"]),
        ("admitted", []),
        ("declined", ["contacted"]),
    ],
)
def test_board_offers_allowed_moves_without_admitted(stage, moves) -> None:  # type: ignore[no-untyped-def]
    assert rules.board_moves(stage) == moves


@pytest.mark.parametrize(
    ("earlier", "days"),
    [
        (NOW, 0),
        (NOW - timedelta(hours=23), 0),
        (NOW - timedelta(hours=24), 1),
        (NOW - timedelta(days=40, hours=2), 40),
        (NOW + timedelta(hours=1), 0),  # a clock a little ahead never shows -1
    ],
)
def test_days_between(earlier, days) -> None:  # type: ignore[no-untyped-def]
    assert rules.days_between(earlier, NOW) == days


# Source: product decision (issue 3 part 1): three failed attempts in a row suggest
# "unable to reach"; a reached attempt starts the count again.
CONTACT = [
    ("new", [], 0, False),
    ("new", ["no_answer", "voicemail"], 2, False),
    ("new", ["no_answer", "voicemail", "wrong_number"], 3, True),
    ("contacted", ["no_answer", "no_answer", "no_answer", "no_answer"], 4, True),
    ("new", ["no_answer", "no_answer", "reached", "voicemail", "no_answer"], 2, False),
    ("contacted", ["reached", "no_answer", "no_answer", "no_answer"], 3, True),
    ("new", ["no_answer", "no_answer", "no_answer", "reached"], 0, False),
    ("unable_to_reach", ["no_answer"] * 3, 3, False),  # already there
    ("declined", ["no_answer"] * 3, 3, False),  # closed
    ("admitted", ["no_answer"] * 5, 5, False),
]


@pytest.mark.parametrize(("stage", "outcomes", "failed", "suggest"), CONTACT)
def test_three_failed_attempts_suggest_unable_to_reach(stage, outcomes, failed, suggest) -> None:  # type: ignore[no-untyped-def]
    assert rules.failed_attempts_in_a_row(outcomes) == failed
    assert rules.suggest_unable_to_reach(stage=stage, outcomes_oldest_first=outcomes) is suggest


@pytest.mark.parametrize(
    ("attempted_at", "problem"),
    [
        (NOW, None),
        (NOW + timedelta(hours=1), "future"),
        (NOW - timedelta(days=30), "before the referral"),
    ],
)
def test_contact_attempt_times(attempted_at, problem) -> None:  # type: ignore[no-untyped-def]
    found = rules.contact_attempt_problem(
        attempted_at=attempted_at, received_at=NOW - timedelta(days=3), now=NOW
    )
    assert (found is None) if problem is None else (problem in (found or ""))


def _referral_problems(**changes):  # type: ignore[no-untyped-def]
    values = {
        "date_of_birth": date(1990, 1, 1),
        "received_at": NOW,
        "phone_digits": "5552013344",
        "email": "",
        "referrer_phone_digits": "",
        "today": NOW.date(),
        "now": NOW,
    } | changes
    return rules.referral_problems(**values)


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({}, set()),
        ({"date_of_birth": None}, set()),
        ({"date_of_birth": date(2027, 1, 1)}, {"date_of_birth"}),
        ({"date_of_birth": date(1890, 1, 1)}, {"date_of_birth"}),
        ({"received_at": NOW + timedelta(days=1)}, {"received_at"}),
        ({"phone_digits": "555201"}, {"phone"}),
        ({"phone_digits": ""}, {"phone"}),  # no way to reach anyone
        ({"phone_digits": "", "email": "r@example.org"}, set()),
        ({"phone_digits": "", "referrer_phone_digits": "5550001111"}, set()),
        ({"referrer_phone_digits": "12"}, {"referrer_phone"}),
    ],
)
def test_referral_details(changes, fields) -> None:  # type: ignore[no-untyped-def]
    assert set(_referral_problems(**changes)) == fields


# Source: clinical.md section 7, TEDS PSOURCE (1 individual/self ... 7 court/criminal justice).
@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("self", 1),
        ("family", 1),
        ("detox", 2),
        ("residential", 2),
        ("primary_care", 3),
        ("hospital", 3),
        ("school", 4),
        ("employer", 5),
        ("other", 6),
        ("court", 7),
    ],
)
def test_teds_referral_source(source, code) -> None:  # type: ignore[no-untyped-def]
    assert rules.teds_referral_source(source) == code


def test_every_source_type_has_a_teds_code() -> None:
    assert set(rules.TEDS_PSOURCE) == set(ReferralSource.values)


@pytest.mark.parametrize(
    ("stage", "episode_status", "after"),
    [
        ("new", "referred", "contacted"),
        ("new", "screening", "screening_scheduled"),
        ("contacted", "screening", "screening_scheduled"),
        ("screening_scheduled", "referred", "screening_scheduled"),  # never backwards
        ("assessed", "screening", "assessed"),
        ("offered_admission", "referred", "offered_admission"),
    ],
)
def test_stage_after_conversion(stage, episode_status, after) -> None:  # type: ignore[no-untyped-def]
    assert rules.stage_after_conversion(stage=stage, episode_status=episode_status) == after


@pytest.mark.parametrize(
    ("stage", "linked", "ok"),
    [
        ("new", False, True),
        ("assessed", False, True),
        ("new", True, False),
        ("declined", False, False),
    ],
)
def test_conversion_problem(stage, linked, ok) -> None:  # type: ignore[no-untyped-def]
    assert (rules.conversion_problem(stage=stage, already_linked=linked) is None) is ok


TODAY = date(2026, 11, 20)


@pytest.mark.parametrize(
    ("visit_date", "referral_stage", "episode_status", "ok"),
    [
        (TODAY, "contacted", None, True),
        (TODAY + timedelta(days=1), "contacted", None, False),
        (TODAY, "declined", None, False),
        (TODAY, "admitted", None, False),
        (TODAY, None, "referred", True),
        (TODAY, None, "screening", True),
        (TODAY, None, "active", False),  # already admitted: that is attendance
        (TODAY, None, "discharged", False),
    ],
)
def test_observation_is_for_people_still_deciding(
    visit_date, referral_stage, episode_status, ok
) -> None:  # type: ignore[no-untyped-def]
    problem = rules.observation_problem(
        visit_date=visit_date,
        today=TODAY,
        referral_stage=referral_stage,
        episode_status=episode_status,
    )
    assert (problem is None) is ok


# Source: issue 3 part 8 (level 2.1 or the chosen level); PRODUCT.md (weeks to ~3 months).
@pytest.mark.parametrize(
    ("assessed", "level"),
    [(None, "2.1"), ("2.5", "2.5"), ("1", "1"), ("EMERGENCY", "2.1"), ("", "2.1")],
)
def test_admission_level(assessed, level) -> None:  # type: ignore[no-untyped-def]
    valid = ["0.5", "1", "2.1", "2.5", "3.1", "3.5", "3.7", "4", "WM"]
    assert rules.admission_level(assessed_level=assessed, valid_levels=valid) == level


@pytest.mark.parametrize(
    ("status", "start", "weeks", "fields"),
    [
        ("screening", TODAY, 12, set()),
        ("referred", TODAY, 12, set()),
        ("active", TODAY, 12, {""}),
        ("discharged", TODAY, 12, {""}),
        ("screening", date(2026, 9, 30), 12, {"start_date"}),  # before the episode opened
        ("screening", TODAY + timedelta(days=31), 12, {"start_date"}),
        ("screening", TODAY + timedelta(days=30), 12, set()),
        ("screening", TODAY, 0, {"expected_weeks"}),
        ("screening", TODAY, 27, {"expected_weeks"}),
    ],
)
def test_admission_problems(status, start, weeks, fields) -> None:  # type: ignore[no-untyped-def]
    problems = rules.admission_problems(
        episode_status=status,
        start_date=start,
        referred_on=date(2026, 10, 1),
        expected_weeks=weeks,
        today=TODAY,
    )
    assert set(problems) == fields
