"""Table tests for the assessments' pure rules."""

from __future__ import annotations

from datetime import date

import pytest

from openiop.assessments import rules
from openiop.assessments.rules import (
    EXAMPLE_TABLE,
    EligibilityCriteria,
    EligibilityFacts,
    LevelFinding,
    NecessityFacts,
    TreatmentStay,
    dual_diagnosis,
    evaluate_eligibility,
    medical_necessity_statement,
    recommend_level,
)

TODAY = date(2026, 10, 27)
DOB = date(1990, 5, 17)  # 36 on TODAY


def _ratings(*values: int) -> dict[int, int]:
    return dict(zip(range(1, 7), values, strict=True))


# --- recommend_level --------------------------------------------------------------
# Source: shared/reference/clinical.md §2.4 (most intensive minimum across dimensions,
# not an average; imminent danger overrides), with the EXAMPLE table of rules.py.
@pytest.mark.parametrize(
    ("ratings", "danger", "level", "driving"),
    [
        (_ratings(0, 0, 0, 0, 0, 0), False, "0.5", (1, 2, 3, 4, 5, 6)),  # all tie
        (_ratings(1, 0, 0, 0, 0, 0), False, "1", (1,)),
        (_ratings(0, 0, 2, 0, 0, 0), False, "2.1", (3,)),
        (_ratings(1, 1, 2, 2, 2, 1), False, "2.1", (3, 5)),  # D4 2 -> 1 in the example
        (_ratings(0, 0, 2, 0, 3, 0), False, "2.5", (5,)),  # not an average: max wins
        (_ratings(0, 0, 3, 0, 3, 0), False, "2.5", (3, 5)),  # tie between two dimensions
        (_ratings(3, 0, 1, 1, 1, 1), False, "3.7", (1,)),  # withdrawal drives to 3.7
        (_ratings(4, 4, 0, 0, 0, 0), False, "4", (1, 2)),
        (_ratings(0, 0, 0, 0, 0, 4), False, "3.5", (6,)),
        (_ratings(0, 0, 0, 4, 0, 3), False, "3.1", (6,)),  # 3.1 (D6) beats 2.5 (D4)
        (_ratings(0, 0, 0, 0, 0, 0), True, "emergency", ()),  # override with nothing rated
        (_ratings(1, 1, 2, 2, 2, 1), True, "emergency", ()),
        (_ratings(4, 4, 4, 4, 4, 4), True, "emergency", ()),
    ],
)
def test_recommend_level(ratings, danger, level, driving) -> None:  # type: ignore[no-untyped-def]
    rec = recommend_level(ratings, EXAMPLE_TABLE, danger)
    assert (rec.level, rec.driving_dimensions, rec.emergency) == (level, driving, danger)
    assert set(rec.minimum_levels) == {1, 2, 3, 4, 5, 6}


def test_recommend_level_with_a_table_of_the_organizations_own() -> None:
    # Any table works: here every dimension needs 2.1 from rating 1, D2 needs 4 at 2.
    table = {d: {0: "1", 1: "2.1", 2: "2.1", 3: "3.5", 4: "4"} for d in range(1, 7)}
    table[2] = {0: "1", 1: "2.1", 2: "4", 3: "4", 4: "4"}
    rec = recommend_level(_ratings(1, 2, 1, 0, 0, 0), table, False)
    assert rec.level == "4" and rec.driving_dimensions == (2,)
    assert rec.minimum_levels[1] == "2.1" and rec.most_intensive_minimum == "4"


@pytest.mark.parametrize(
    ("table", "ratings", "error"),
    [
        ({}, _ratings(0, 0, 0, 0, 0, 0), rules.IncompleteTable),
        ({d: {0: "1"} for d in range(1, 7)}, _ratings(0, 0, 0, 0, 0, 1), rules.IncompleteTable),
        (EXAMPLE_TABLE, _ratings(0, 0, 0, 0, 0, 5), ValueError),
        (EXAMPLE_TABLE, {1: 0, 2: 0}, ValueError),
    ],
)
def test_recommend_level_refuses_bad_input(table, ratings, error) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error):
        recommend_level(ratings, table, False)


def test_example_table_is_complete_and_uses_table_levels_only() -> None:
    assert sorted(EXAMPLE_TABLE) == [1, 2, 3, 4, 5, 6]
    for row in EXAMPLE_TABLE.values():
        assert sorted(row) == [0, 1, 2, 3, 4]
        assert set(row.values()) <= set(rules.TABLE_LEVELS)
        # A higher rating never needs a less intensive level.
        ranks = [rules.LEVEL_RANK[row[r]] for r in range(5)]
        assert ranks == sorted(ranks)


# Source: issue 3 part 5; intensity order 0.5 < 1 < 2.1 < 2.5 < 3.1 < 3.5 < 3.7 < 4,
# WM placed with 3.7 (docs/ASSESSMENTS.md).
@pytest.mark.parametrize(
    ("a", "b", "result"),
    [
        ("2.5", "2.1", True),
        ("2.1", "1", True),
        ("1", "0.5", True),
        ("4", "3.7", True),
        ("3.1", "2.5", True),
        ("WM", "2.1", True),
        ("WM", "3.7", False),
        ("2.1", "2.1", False),
        ("emergency", "4", True),
    ],
)
def test_level_intensity_order(a: str, b: str, result: bool) -> None:
    assert rules.more_intensive(a, b) is result


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (0, True),
        (4, True),
        (2, True),
        (5, False),
        (-1, False),
        (None, False),
        ("2", False),
        (True, False),
    ],
)
def test_rating_problem(value: object, ok: bool) -> None:
    problem = rules.rating_problem(3, value)
    assert (problem is None) is ok
    if not ok:
        assert problem == "Rate Dimension 3 from 0 (none) to 4 (severe)."


def test_rationale_required_from_rating_two() -> None:
    problems = rules.rationale_problems(
        _ratings(1, 2, 3, 0, 4, 2), {2: "Diabetes, unstable", 6: "  "}
    )
    assert sorted(problems) == [3, 5, 6]


@pytest.mark.parametrize(
    ("recommended", "chosen", "reason", "note", "fields"),
    [
        ("2.1", "2.1", "", "", []),
        ("2.5", "2.1", "", "", ["override_note", "override_reason"]),
        ("2.5", "2.1", "not_available", "", ["override_note"]),
        ("2.5", "2.1", "not_available", "No PHP within 50 miles", []),
        ("emergency", "2.1", "", "x", ["override_reason"]),
    ],
)
def test_override_needs_reason_and_note(recommended, chosen, reason, note, fields) -> None:  # type: ignore[no-untyped-def]
    problems = rules.override_problems(
        recommended=recommended, chosen=chosen, reason=reason, note=note
    )
    assert sorted(problems) == fields


# --- medical necessity ------------------------------------------------------------


def _statement(ratings: dict[int, int], chosen: str, **kw: object) -> str:
    rec = recommend_level(ratings, EXAMPLE_TABLE, bool(kw.pop("danger", False)))
    return medical_necessity_statement(
        NecessityFacts(
            assessed_on=date(2026, 10, 20),
            ratings=ratings,
            recommendation=rec,
            chosen_level=chosen,
            **kw,  # type: ignore[arg-type]
        )
    )


def test_statement_names_the_driving_dimensions_and_the_choice() -> None:
    text = _statement(_ratings(1, 0, 2, 1, 2, 1), "2.1")
    assert text.startswith("Six-dimension level-of-care assessment on 2026-10-20.")
    assert "D3 emotional, behavioral, cognitive 2 (moderate)" in text
    assert (
        "Based on the ratings in Dimension 3 (emotional, behavioral, cognitive: moderate, 2) "
        "and Dimension 5 (relapse and continued use: moderate, 2), the recommended minimum "
        "level of care is 2.1." in text
    )
    assert text.endswith("Level 2.1 was chosen.")


def test_statement_when_the_choice_differs() -> None:
    text = _statement(
        _ratings(0, 0, 2, 0, 3, 0),
        "2.1",
        override_reason_label="Level not available",
        override_note="No PHP within 50 miles",
    )
    assert "recommended minimum level of care is 2.5" in text
    assert text.endswith(
        "Level 2.1 was chosen instead, because of level not available: No PHP within 50 miles."
    )


def test_statement_for_imminent_danger_from_an_alert_and_example_table() -> None:
    text = _statement(
        _ratings(0, 0, 2, 0, 0, 0),
        "emergency",
        danger=True,
        imminent_danger_from_alert=True,
        table_was_example=True,
    )
    assert "Imminent danger was identified (an open high suicide-risk alert)" in text
    assert "without it, the minimum would be level 2.1" in text
    assert "Emergency evaluation was chosen." in text
    assert "example table shipped with OpenIOP, not from licensed criteria" in text


def test_statement_with_nothing_rated() -> None:
    text = _statement(_ratings(0, 0, 0, 0, 0, 0), "0.5")
    assert "No dimension shows a problem; the recommended minimum level of care is 0.5." in text


# --- dual diagnosis ---------------------------------------------------------------
# Source: ICD-10-CM chapter 5 (F01-F99; F10-F19 "due to psychoactive substance use");
# the F17 and remission choices are documented in docs/ASSESSMENTS.md.
@pytest.mark.parametrize(
    ("codes", "flag"),
    [
        (["F10.20", "F33.1"], True),  # alcohol dependence + recurrent MDD
        (["F11.20", "F43.10"], True),  # opioid dependence + PTSD
        (["F14.10", "F41.1", "F90.0"], True),
        (["F10.20"], False),  # SUD only
        (["F33.1", "F41.1"], False),  # mental only
        (["F17.210", "F33.1"], False),  # nicotine does not count as the SUD
        (["F17.210", "F10.20"], False),  # nor as the other mental disorder
        (["F10.21", "F33.1"], False),  # SUD in remission only
        (["F10.21", "F11.20", "F33.1"], True),  # one current SUD is enough
        (["F12.91", "F32.A"], False),  # cannabis use, in remission
        (["F12.90", "F32.A"], True),  # cannabis use, unspecified (current)
        (["Z72.0", "F33.1"], False),  # tobacco use (Z code) is not a disorder
        (["R45.851", "F10.20"], False),  # suicidal ideation is a symptom code
        ([], False),
    ],
)
def test_dual_diagnosis(codes: list[str], flag: bool) -> None:
    assert dual_diagnosis(codes).flag is flag


def test_dual_diagnosis_reports_which_codes() -> None:
    result = dual_diagnosis(["F33.1", "F10.21", "F11.20", "F17.210"])
    assert result.substance_codes == ("F11.20",)
    assert result.mental_codes == ("F33.1",)
    assert result.remission_only_codes == ("F10.21",)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("f1020", "F10.20"),
        ("F10.20", "F10.20"),
        (" f10 . 2 ", "F10.2"),
        ("F32A", "F32.A"),
        ("z720", "Z72.0"),
        ("F10", "F10"),
    ],
)
def test_normalize_code(raw: str, code: str) -> None:
    assert rules.normalize_code(raw) == code


# --- biopsychosocial dates --------------------------------------------------------
# Source: issue 3 quality bar (impossible dates: last use before birth, first use age
# above current age) plus end-before-start and future dates.
@pytest.mark.parametrize(
    ("age", "last", "field", "message"),
    [
        (14, date(2026, 10, 1), None, None),
        (
            37,
            None,
            "age_first_use",
            "Age of first use (37) is above the patient's current age (36).",
        ),
        (None, date(1989, 1, 1), "last_use_on", "before the patient's date of birth (1990-05-17)"),
        (None, date(2026, 10, 28), "last_use_on", "The date of last use cannot be in the future."),
        (20, date(2005, 1, 1), "last_use_on", "before the patient turned 20, the age of first use"),
        (36, TODAY, None, None),
        (None, DOB, None, None),
    ],
)
def test_substance_row_problems(age, last, field, message) -> None:  # type: ignore[no-untyped-def]
    problems = rules.substance_row_problems(
        age_first_use=age, last_use_on=last, date_of_birth=DOB, today=TODAY
    )
    if field is None:
        assert problems == {}
    else:
        assert message in problems[field]


@pytest.mark.parametrize(
    ("start", "end", "outcome", "field", "message"),
    [
        (date(2026, 9, 1), date(2026, 9, 20), "completed", None, None),
        (
            date(2026, 9, 20),
            date(2026, 9, 1),
            "completed",
            "ended_on",
            "The end date (2026-09-01) is before the start date (2026-09-20).",
        ),
        (
            date(2026, 11, 1),
            None,
            "unknown",
            "started_on",
            "The start date cannot be in the future.",
        ),
        (
            date(2026, 9, 1),
            date(2026, 11, 1),
            "completed",
            "ended_on",
            "The end date cannot be in the future.",
        ),
        (date(1980, 1, 1), None, "unknown", "started_on", "before the patient's date of birth"),
        (date(2026, 9, 1), date(2026, 9, 5), "ongoing", "ended_on", "An ongoing stay has no end"),
        (None, None, "unknown", None, None),
    ],
)
def test_treatment_row_problems(start, end, outcome, field, message) -> None:  # type: ignore[no-untyped-def]
    problems = rules.treatment_row_problems(
        started_on=start, ended_on=end, outcome=outcome, date_of_birth=DOB, today=TODAY
    )
    if field is None:
        assert problems == {}
    else:
        assert message in problems[field]


# --- eligibility ------------------------------------------------------------------
# Source: issue 3 part 6 (age range; completed WM or a residential/inpatient stay within
# N days; level 2.1 or a step-down; exclusions), each with its evidence.
WM_DONE = TreatmentStay("withdrawal_management", date(2026, 10, 2), date(2026, 10, 6), "completed")
WM_LEFT = TreatmentStay("withdrawal_management", date(2026, 10, 2), date(2026, 10, 4), "left_early")
RESI_OLD = TreatmentStay("residential", date(2025, 1, 2), date(2025, 2, 1), "completed")
RESI_NO_END = TreatmentStay("residential", date(2026, 9, 1), None, "unknown")


def _one(criteria: EligibilityCriteria, **facts: object) -> rules.RuleResult:
    base: dict[str, object] = {"date_of_birth": DOB, "treatment_history": ()}
    results = evaluate_eligibility(criteria, EligibilityFacts(**(base | facts)), TODAY)  # type: ignore[arg-type]
    assert len(results) == 1
    return results[0]


@pytest.mark.parametrize(
    ("low", "high", "outcome", "evidence"),
    [
        (18, 64, "met", "age 36 (required 18-64)"),
        (18, None, "met", "age 36 (required 18 or older)"),
        (40, None, "not_met", "age 36 (required 40 or older)"),
        (None, 17, "not_met", "age 36 (required 17 or younger)"),
        (36, 36, "met", "age 36 (required 36-36)"),
    ],
)
def test_eligibility_age(low, high, outcome, evidence) -> None:  # type: ignore[no-untyped-def]
    result = _one(EligibilityCriteria(min_age=low, max_age=high))
    assert (result.outcome, result.evidence) == (outcome, evidence)


@pytest.mark.parametrize(
    ("history", "completed", "window", "outcome", "evidence"),
    [
        (
            (WM_DONE,),
            True,
            30,
            "met",
            "completed withdrawal management 2026-10-02 to 2026-10-06, 21 days ago",
        ),
        (
            (WM_DONE,),
            True,
            14,
            "not_met",
            "completed withdrawal management 2026-10-02 to 2026-10-06, 21 days ago",
        ),
        (
            (WM_LEFT,),
            True,
            None,
            "not_met",
            "left early from withdrawal management 2026-10-02 to 2026-10-04, 23 days ago",
        ),
        (
            (WM_LEFT,),
            False,
            None,
            "met",
            "left early from withdrawal management 2026-10-02 to 2026-10-04, 23 days ago",
        ),
        (
            (WM_LEFT, WM_DONE),
            True,
            30,
            "met",
            "completed withdrawal management 2026-10-02 to 2026-10-06, 21 days ago",
        ),
        (
            (),
            True,
            30,
            "not_met",
            "no withdrawal management or residential treatment in the treatment history",
        ),
        (None, True, 30, "unknown", "no biopsychosocial assessment with a treatment history"),
        (
            (RESI_NO_END,),
            False,
            30,
            "unknown",
            "residential treatment 2026-09-01 to ?: the end date not recorded",
        ),
        (
            (RESI_OLD,),
            False,
            30,
            "not_met",
            "completed residential treatment 2025-01-02 to 2025-02-01, 633 days ago",
        ),
    ],
)
def test_eligibility_prior_care(history, completed, window, outcome, evidence) -> None:  # type: ignore[no-untyped-def]
    criteria = EligibilityCriteria(
        prior_care_types=("withdrawal_management", "residential"),
        prior_care_must_be_completed=completed,
        prior_care_within_days=window,
    )
    result = _one(criteria, treatment_history=history)
    assert (result.outcome, result.evidence) == (outcome, evidence)


def test_eligibility_prior_care_label() -> None:
    result = _one(
        EligibilityCriteria(
            prior_care_types=("withdrawal_management",),
            prior_care_must_be_completed=True,
            prior_care_within_days=30,
        ),
        treatment_history=(WM_DONE,),
    )
    assert result.label == "Completed withdrawal management within 30 days"


def _finding(recommended: str, chosen: str | None = None) -> LevelFinding:
    return LevelFinding(date(2026, 10, 20), recommended, chosen or recommended, (5,))


@pytest.mark.parametrize(
    ("finding", "history", "outcome", "evidence"),
    [
        (_finding("2.1"), (), "met", "recommended level 2.1 on 2026-10-20 (set by Dimension 5)"),
        (
            _finding("2.5", "2.1"),
            (),
            "not_met",
            "recommended level 2.5 on 2026-10-20 (set by "
            "Dimension 5); level 2.1 chosen; a more intensive level is needed",
        ),
        (
            _finding("1"),
            (WM_DONE,),
            "met",
            "step-down after completed withdrawal management 2026-10-02 to 2026-10-06, 21 days ago",
        ),
        (_finding("1"), (RESI_OLD,), "not_met", "no higher-level stay ended in the last 30 days"),
        (_finding("1"), None, "unknown", "no treatment history to show a step-down"),
        (None, (), "unknown", "no level-of-care assessment"),
        (_finding("emergency"), (), "not_met", "recommended emergency evaluation"),
    ],
)
def test_eligibility_level(finding, history, outcome, evidence) -> None:  # type: ignore[no-untyped-def]
    result = _one(
        EligibilityCriteria(require_level_2_1_or_step_down=True),
        level=finding,
        treatment_history=history,
    )
    assert result.outcome == outcome and evidence in result.evidence


def test_eligibility_exclusions_and_overall() -> None:
    criteria = EligibilityCriteria(
        min_age=18, exclusions=("Active psychosis", "Needs medical detox", "Under 18")
    )
    facts = EligibilityFacts(
        date_of_birth=DOB, treatment_history=(), exclusion_answers={"0": "absent", "1": "present"}
    )
    results = evaluate_eligibility(criteria, facts, TODAY)
    assert [(r.label, r.outcome, r.evidence) for r in results[1:]] == [
        ("Not: Active psychosis", "met", "marked absent"),
        ("Not: Needs medical detox", "not_met", "marked present"),
        ("Not: Under 18", "unknown", "not yet assessed"),
    ]
    assert rules.eligibility_overall(results) == "not_met"
    assert rules.eligibility_overall(results[:1] + results[3:]) == "unknown"
    assert rules.eligibility_overall(results[:2]) == "met"
    assert evaluate_eligibility(EligibilityCriteria(), facts, TODAY) == []
