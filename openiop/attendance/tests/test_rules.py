"""Table tests of the attendance and compliance rules (pure: no database, no clock)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from openiop.attendance import rules
from openiop.attendance.rules import (
    ASAM_2_1,
    MEDICARE_IOP,
    ConfiguredRule,
    HourRule,
    Service,
    WeekFacts,
)

MON = date(2026, 11, 16)  # a Monday
SUN = MON + timedelta(days=6)
TRACK = HourRule(
    code="track",
    label="Track",
    adult_hours=Decimal(9),
    adolescent_hours=Decimal(6),
    min_days=3,
)


def day(offset: int) -> date:
    return MON + timedelta(days=offset)


def three_hours(*offsets: int) -> list[Service]:
    return [Service(day(o), 180) for o in offsets]


# Source: clinical.md §2.1 (ASAM 2.1: >= 9 h adults, >= 6 h adolescents) and §3
# (Medicare IOP: >= 9 h of services per week); week boundaries, partial attendance,
# program cancellations and partial weeks: product decision, docs/ATTENDANCE.md.
CASES = [
    # name, facts, policy, {rule code: status}, hours, days
    (
        "three 3-hour days meet every rule",
        WeekFacts(MON, three_hours(0, 2, 4)),
        rules.PRORATE,
        {"track": "met", "asam_2_1": "met", "medicare_iop": "met"},
        "9.00",
        3,
    ),
    (
        "8h59 is short of 9 hours",
        WeekFacts(MON, [*three_hours(0, 2), Service(day(4), 179)]),
        rules.PRORATE,
        {"track": "not_met", "asam_2_1": "not_met", "medicare_iop": "not_met"},
        "8.98",
        3,
    ),
    (
        "9 hours in two days meets the hours, not the track's 3 days",
        WeekFacts(MON, [Service(day(0), 270), Service(day(1), 270)]),
        rules.PRORATE,
        {"track": "not_met", "asam_2_1": "met", "medicare_iop": "met"},
        "9.00",
        2,
    ),
    (
        "the previous Sunday and next Monday are outside the week",
        WeekFacts(
            MON,
            [
                Service(MON - timedelta(days=1), 180),
                *three_hours(0, 2),
                Service(SUN + timedelta(days=1), 180),
            ],
        ),
        rules.PRORATE,
        {"track": "not_met", "asam_2_1": "not_met"},
        "6.00",
        2,
    ),
    (
        "Sunday counts as the last day of the week",
        WeekFacts(MON, [*three_hours(0, 2), Service(SUN, 180)]),
        rules.PRORATE,
        {"track": "met", "asam_2_1": "met"},
        "9.00",
        3,
    ),
    (
        "partial attendance: late and left early minutes only",
        WeekFacts(MON, [Service(day(0), 165), Service(day(2), 150), Service(day(4), 180)]),
        rules.PRORATE,
        {"asam_2_1": "not_met", "medicare_iop": "not_met"},
        "8.25",
        3,
    ),
    (
        "individual and family sessions add to group hours",
        WeekFacts(MON, [*three_hours(0, 2), Service(day(2), 60), Service(day(3), 120)]),
        rules.PRORATE,
        {"track": "met", "asam_2_1": "met", "medicare_iop": "met"},
        "9.00",
        3,
    ),
    (
        "a session cancelled by the program is not held against the patient",
        WeekFacts(MON, three_hours(0, 2), program_cancelled=[Service(day(4), 180)]),
        rules.PRORATE,
        {"track": "short_by_program", "asam_2_1": "short_by_program"},
        "6.00",
        2,
    ),
    (
        "a program cancellation does not cover a bigger shortfall",
        WeekFacts(MON, three_hours(0), program_cancelled=[Service(day(4), 180)]),
        rules.PRORATE,
        {"track": "not_met", "asam_2_1": "not_met"},
        "3.00",
        1,
    ),
    (
        "a cancellation in another week does not count",
        WeekFacts(
            MON, three_hours(0, 2), program_cancelled=[Service(SUN + timedelta(days=1), 180)]
        ),
        rules.PRORATE,
        {"asam_2_1": "not_met"},
        "6.00",
        2,
    ),
    (
        "adolescent: 6 hours meet ASAM 2.1 but not Medicare's 9",
        WeekFacts(
            MON, [Service(day(0), 120), Service(day(2), 120), Service(day(4), 120)], adolescent=True
        ),
        rules.PRORATE,
        {"track": "met", "asam_2_1": "met", "medicare_iop": "not_met"},
        "6.00",
        3,
    ),
    (
        "adolescent: 5 hours fall short of 6",
        WeekFacts(MON, [Service(day(0), 150), Service(day(2), 150)], adolescent=True),
        rules.PRORATE,
        {"asam_2_1": "not_met"},
        "5.00",
        2,
    ),
    (
        "admitted Wednesday, prorated: 3 of 5 track days need 5.4 h",
        WeekFacts(MON, three_hours(2, 4), enrolled_from=day(2)),
        rules.PRORATE,
        {"track": "met", "asam_2_1": "met", "medicare_iop": "met"},
        "6.00",
        2,
    ),
    (
        "admitted Wednesday, prorated, too little",
        WeekFacts(MON, three_hours(4), enrolled_from=day(2)),
        rules.PRORATE,
        {"track": "not_met", "asam_2_1": "not_met"},
        "3.00",
        1,
    ),
    (
        "admitted Wednesday, exempt: shown, not judged",
        WeekFacts(MON, three_hours(4), enrolled_from=day(2)),
        rules.EXEMPT,
        {"track": "not_judged", "asam_2_1": "not_judged", "medicare_iop": "not_judged"},
        "3.00",
        1,
    ),
    (
        "admitted Wednesday, full minimum applies",
        WeekFacts(MON, three_hours(2, 4), enrolled_from=day(2)),
        rules.FULL,
        {"track": "not_met", "asam_2_1": "not_met"},
        "6.00",
        2,
    ),
    (
        "admitted the Monday before: a whole week, no proration",
        WeekFacts(MON, three_hours(2, 4), enrolled_from=MON),
        rules.PRORATE,
        {"asam_2_1": "not_met"},
        "6.00",
        2,
    ),
    (
        "discharged Thursday (first day off the roster), prorated over Mon-Wed",
        WeekFacts(MON, three_hours(0, 1), enrolled_until=day(3)),
        rules.PRORATE,
        {"track": "met", "asam_2_1": "met"},
        "6.00",
        2,
    ),
    (
        "Mon/Wed/Fri track admitted Friday: 1 of 3 days, needs 3 h",
        WeekFacts(MON, three_hours(4), enrolled_from=day(4), track_weekdays=frozenset({0, 2, 4})),
        rules.PRORATE,
        {"track": "met", "asam_2_1": "met"},
        "3.00",
        1,
    ),
    (
        "no attendance at all",
        WeekFacts(MON, []),
        rules.PRORATE,
        {"track": "not_met", "asam_2_1": "not_met", "medicare_iop": "not_met"},
        "0.00",
        0,
    ),
]


@pytest.mark.parametrize(
    ("facts", "policy", "expected", "hours", "days"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_week_compliance(facts, policy, expected, hours, days) -> None:  # type: ignore[no-untyped-def]
    result = rules.week_compliance(
        facts=facts, rules=[TRACK, ASAM_2_1, MEDICARE_IOP], partial_week_policy=policy
    )
    assert result.hours == Decimal(hours)
    assert result.days == days
    for code, status in expected.items():
        found = result.result(code)
        assert found is not None
        assert found.status == status, (code, found)


def test_prorated_minimum_is_shown() -> None:
    result = rules.week_compliance(
        facts=WeekFacts(MON, [], enrolled_from=day(2)), rules=[TRACK, ASAM_2_1]
    )
    track = result.result("track")
    assert result.partial_week and result.enrolled_share == Decimal("0.6")
    assert track is not None and track.required_hours == Decimal("5.40")
    assert track.required_days == 2  # 3 days x 0.6 = 1.8, rounded up


def test_a_rule_that_does_not_apply_is_not_judged_and_does_not_fail_the_week() -> None:
    medicare = rules._with_applies(MEDICARE_IOP, applies=False)
    result = rules.week_compliance(facts=WeekFacts(MON, three_hours(0, 1)), rules=[medicare])
    assert result.results[0].status == rules.NOT_APPLICABLE
    assert result.all_met


def test_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError):
        rules.week_compliance(facts=WeekFacts(MON, []), rules=[], partial_week_policy="x")


# Source: issue 4 (two consecutive unexcused absences by default) and docs/ATTENDANCE.md
# (excused absences neither break nor extend a run).
U, E, P, L = rules.ABSENT_UNEXCUSED, rules.ABSENT_EXCUSED, rules.PRESENT, rules.LATE
RUNS = [
    ([], 2, 0, False),
    ([P, U], 2, 1, False),
    ([P, U, U], 2, 2, True),
    ([U, U, P], 2, 0, False),
    ([U, E, U], 2, 2, True),
    ([U, L, U], 2, 1, False),
    ([U, U, U], 3, 3, True),
    ([U, U], 3, 2, False),
    ([U, U], 0, 2, False),  # threshold 0 switches the alert off
]


@pytest.mark.parametrize(("outcomes", "threshold", "run", "alert"), RUNS)
def test_disengagement(outcomes, threshold, run, alert) -> None:  # type: ignore[no-untyped-def]
    assert rules.trailing_unexcused(outcomes) == run
    assert rules.disengaged(outcomes, threshold=threshold) is alert


# Source: product decision (issue 4: minutes attended default from the session).
MINUTES = [
    (rules.PRESENT, 180, 0, 0, 180),
    (rules.LATE, 180, 15, 0, 165),
    (rules.LEFT_EARLY, 180, 0, 30, 150),
    (rules.LATE, 180, 200, 0, 0),
    (rules.ABSENT_EXCUSED, 180, 0, 0, 0),
    (rules.ABSENT_UNEXCUSED, 180, 10, 10, 0),
]


@pytest.mark.parametrize(("status", "duration", "late", "early", "minutes"), MINUTES)
def test_default_minutes(status, duration, late, early, minutes) -> None:  # type: ignore[no-untyped-def]
    assert (
        rules.default_minutes(
            status=status,
            duration_minutes=duration,
            late_minutes=late,
            left_early_minutes=early,
        )
        == minutes
    )


PROBLEMS = [
    (rules.PRESENT, None, None, None, set()),
    (rules.LATE, None, None, None, {"late_minutes"}),
    (rules.LATE, 15, None, 165, set()),
    (rules.LEFT_EARLY, None, 0, None, {"left_early_minutes"}),
    (rules.PRESENT, None, None, 200, {"minutes_attended"}),
    (rules.ABSENT_UNEXCUSED, None, None, 30, {"minutes_attended"}),
    (rules.LATE, 500, None, None, {"late_minutes"}),
    ("sleeping", None, None, None, {"status"}),
]


@pytest.mark.parametrize(("status", "late", "early", "minutes", "fields"), PROBLEMS)
def test_mark_problems(status, late, early, minutes, fields) -> None:  # type: ignore[no-untyped-def]
    problems = rules.mark_problems(
        status=status,
        duration_minutes=180,
        late_minutes=late,
        left_early_minutes=early,
        minutes_attended=minutes,
    )
    assert set(problems) == fields


def configured(code: str, scope: str, hours: int, **kw) -> ConfiguredRule:  # type: ignore[no-untyped-def]
    rule = HourRule(code=code, label=code, adult_hours=Decimal(hours), adolescent_hours=Decimal(6))
    return ConfiguredRule(rule=rule, scope=scope, **kw)


def test_rules_for_defaults_and_applicability() -> None:
    chosen = rules.rules_for(
        configured=[],
        program_id=1,
        level_of_care="2.1",
        payer_ids=frozenset(),
        plan_types=frozenset({"private"}),
        track_rule=TRACK,
    )
    assert [(r.code, r.applies) for r in chosen] == [
        ("track", True),
        ("asam_2_1", True),
        ("medicare_iop", False),
    ]
    medicare = rules.rules_for(
        configured=[],
        program_id=1,
        level_of_care="2.5",
        payer_ids=frozenset(),
        plan_types=frozenset({"medicare"}),
        track_rule=None,
    )
    assert [(r.code, r.applies) for r in medicare] == [("asam_2_1", False), ("medicare_iop", True)]


def test_rules_for_most_specific_configured_rule_wins() -> None:
    rows = [
        configured("asam_2_1", "all", 10),
        configured("asam_2_1", "program", 12, program_id=1),
        configured("asam_2_1", "program", 15, program_id=2),
        configured("wy_iop", "program", 9, program_id=1),
        configured("payer_x", "payer", 11, payer_id=7),
        configured("payer_y", "payer", 11, payer_id=8),
    ]
    chosen = rules.rules_for(
        configured=rows,
        program_id=1,
        level_of_care="2.1",
        payer_ids=frozenset({7}),
        plan_types=frozenset(),
        track_rule=None,
    )
    by_code = {r.code: r for r in chosen}
    assert by_code["asam_2_1"].adult_hours == 12
    assert set(by_code) == {"asam_2_1", "medicare_iop", "wy_iop", "payer_x"}


AGES = [
    (date(2010, 6, 1), date(2026, 11, 16), "adult", True),
    (date(2008, 11, 16), date(2026, 11, 16), "adult", False),  # 18 today
    (date(2008, 11, 17), date(2026, 11, 16), "adult", True),
    (date(1990, 1, 1), date(2026, 11, 16), "adolescent", True),
]


@pytest.mark.parametrize(("dob", "on", "population", "adolescent"), AGES)
def test_is_adolescent(dob, on, population, adolescent) -> None:  # type: ignore[no-untyped-def]
    assert rules.is_adolescent(date_of_birth=dob, on=on, track_population=population) is adolescent


def test_week_start_is_monday() -> None:
    assert rules.week_start(SUN) == MON
    assert rules.week_start(MON) == MON
    assert rules.week_start(SUN + timedelta(days=1)) == MON + timedelta(days=7)
