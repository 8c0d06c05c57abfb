"""Answer validation, drafts and call parameters. DB-free."""

from __future__ import annotations

import pytest

from openiop.instruments import (
    ErrorCode,
    InstrumentError,
    asked_items,
    check_answers,
    score,
    validate_partial,
)
from openiop.instruments.tests.builders import answers_for_total

PHQ9_ZEROS = dict.fromkeys(range(1, 10), 0)

# Each case names the item the error must carry and mention.
ANSWER_ERRORS = [
    ("missing item", "PHQ-9", PHQ9_ZEROS | {4: None}, ErrorCode.MISSING_ITEM, 4),
    ("blank text is missing", "PHQ-9", PHQ9_ZEROS | {7: "  "}, ErrorCode.MISSING_ITEM, 7),
    ("above the scale", "PHQ-9", PHQ9_ZEROS | {3: 4}, ErrorCode.OUT_OF_RANGE, 3),
    ("negative", "GAD-7", dict.fromkeys(range(1, 8), 0) | {2: -1}, ErrorCode.OUT_OF_RANGE, 2),
    ("bool on a 0-3 item", "PHQ-9", PHQ9_ZEROS | {5: True}, ErrorCode.OUT_OF_RANGE, 5),
    ("not a number", "PHQ-9", PHQ9_ZEROS | {6: "often"}, ErrorCode.OUT_OF_RANGE, 6),
    ("unknown item", "PHQ-9", PHQ9_ZEROS | {11: 0}, ErrorCode.UNKNOWN_ITEM, 11),
    ("item 0", "PHQ-2", {0: 1, 1: 0, 2: 0}, ErrorCode.UNKNOWN_ITEM, 0),
    ("yes/no as 2", "DAST-10", dict.fromkeys(range(1, 11), 0) | {8: 2}, ErrorCode.OUT_OF_RANGE, 8),
]


@pytest.mark.parametrize(("case", "code", "answers", "error", "item"), ANSWER_ERRORS)
def test_answer_errors_name_the_item(
    case: str, code: str, answers: dict[int, object], error: ErrorCode, item: int
) -> None:
    with pytest.raises(InstrumentError) as caught:
        score(code, answers)  # type: ignore[arg-type]
    assert (caught.value.code, caught.value.item, caught.value.instrument) == (error, item, code)
    assert f"item {item}" in str(caught.value), case


def test_out_of_range_message_lists_allowed_values_not_the_answer() -> None:
    # Answers are PHI; the message may name the item but must not echo the value.
    with pytest.raises(InstrumentError) as caught:
        score("PHQ-9", PHQ9_ZEROS | {9: 7})
    message = str(caught.value)
    assert "0 (Not at all)" in message
    assert "7" not in message


def test_unknown_instrument() -> None:
    with pytest.raises(InstrumentError) as caught:
        score("PHQ-8", {1: 0})
    assert caught.value.code == ErrorCode.UNKNOWN_INSTRUMENT
    assert caught.value.item is None
    assert "PHQ-8" in str(caught.value)


def test_non_int_keys_are_unknown_items() -> None:
    with pytest.raises(InstrumentError) as caught:
        score("PHQ-2", {"1": 0, 2: 0})  # type: ignore[dict-item]
    assert (caught.value.code, caught.value.item) == (ErrorCode.UNKNOWN_ITEM, None)


def test_form_text_values_are_accepted() -> None:
    assert score("PHQ-2", {1: "2", 2: " 1 "}).total == 3


def test_check_answers_reports_every_problem_in_item_order() -> None:
    answers = {1: 9, 3: 0, 4: 0, 5: 0, 6: 0, 7: 0, 8: 0, 9: 0, 12: 0}
    problems = check_answers("PHQ-9", answers)
    assert [(p.code, p.item) for p in problems] == [
        (ErrorCode.OUT_OF_RANGE, 1),
        (ErrorCode.MISSING_ITEM, 2),
        (ErrorCode.UNKNOWN_ITEM, 12),
    ]
    assert check_answers("PHQ-9", answers_for_total("PHQ-9", 3)) == ()


# --- drafts --------------------------------------------------------------------------


def test_validate_partial_allows_missing_items() -> None:
    draft = validate_partial("PHQ-9", {1: 2, 2: 1})
    assert draft.answered_items == (1, 2)
    assert draft.missing_items == (3, 4, 5, 6, 7, 8, 9)
    assert draft.flags == ()


def test_validate_partial_still_checks_ranges() -> None:
    with pytest.raises(InstrumentError) as caught:
        validate_partial("PHQ-9", {1: 2, 5: 4})
    assert (caught.value.code, caught.value.item) == (ErrorCode.OUT_OF_RANGE, 5)


def test_validate_partial_raises_critical_flags_early() -> None:
    # Source: clinical.md §1.1 (item 9 starts a follow-up whatever the total)
    assert validate_partial("PHQ-9", {9: 1}).flags == ("suicide_risk",)
    assert validate_partial("C-SSRS", {1: True}).flags == ("suicide_risk",)


# Source: Rula / clinical.md §1.6 (skip logic applies to drafts once Q2 is known)
CSSRS_DRAFTS = [
    ("Q3 before Q2", {3: True}, None),
    ("Q3 after Q2 yes", {2: True, 3: True}, None),
    ("Q3 after Q2 no", {2: False, 3: True}, ErrorCode.NOT_APPLICABLE),
]


@pytest.mark.parametrize(("case", "answers", "error"), CSSRS_DRAFTS)
def test_cssrs_drafts(case: str, answers: dict[int, bool], error: ErrorCode | None) -> None:
    if error is None:
        validate_partial("C-SSRS", answers)
    else:
        with pytest.raises(InstrumentError) as caught:
            validate_partial("C-SSRS", answers)
        assert (caught.value.code, caught.value.item) == (error, 3), case


def test_draft_missing_items_respect_skip_logic() -> None:
    assert validate_partial("C-SSRS", {1: False, 2: False}).missing_items == (6,)
    assert validate_partial("C-SSRS", {1: False, 2: True}).missing_items == (3, 4, 5, 6)


# Source: Rula / clinical.md §1.6; VA BAM form (items 5 and 7A-7G)
ASKED = [
    ("C-SSRS", {}, (1, 2, 3, 4, 5, 6)),
    ("C-SSRS", {2: False}, (1, 2, 6)),
    ("C-SSRS", {2: True}, (1, 2, 3, 4, 5, 6)),
    ("BAM", {4: 0, 6: 0}, (1, 2, 3, 4, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17)),
]


@pytest.mark.parametrize(("code", "answers", "asked"), ASKED)
def test_asked_items(code: str, answers: dict[int, bool | int], asked: tuple[int, ...]) -> None:
    assert asked_items(code, answers) == asked


# --- parameters ----------------------------------------------------------------------

BAD_PARAMETERS = [
    ("bands on an instrument without a total", "C-SSRS", {"bands": ((0, 1, "x"),)}),
    ("bands with a gap", "PHQ-9", {"bands": ((0, 4, "a"), (6, 27, "b"))}),
    ("bands overlapping", "PHQ-9", {"bands": ((0, 5, "a"), (5, 27, "b"))}),
    ("bands short of the maximum", "PHQ-9", {"bands": ((0, 20, "a"),)}),
    ("bands with an empty label", "PHQ-9", {"bands": ((0, 27, ""),)}),
    ("unknown threshold", "PHQ-9", {"thresholds": {"cutoff": 9}}),
    ("non-int threshold", "PHQ-9", {"thresholds": {"positive_screen": "9"}}),
]


@pytest.mark.parametrize(("case", "code", "kwargs"), BAD_PARAMETERS)
def test_invalid_parameters(case: str, code: str, kwargs: dict[str, object]) -> None:
    with pytest.raises(InstrumentError) as caught:
        score(code, {}, **kwargs)  # type: ignore[arg-type]
    assert caught.value.code == ErrorCode.INVALID_PARAMETER, case


def test_pcl5_accepts_site_bands() -> None:
    # No official PCL-5 bands (clinical.md §1.7); a site may supply its own.
    result = score(
        "PCL-5", answers_for_total("PCL-5", 40), bands=((0, 32, "below"), (33, 80, "above"))
    )
    assert result.band == "above"


def test_problems_follow_form_order() -> None:
    # BAM sub-items 7A-7G (keys 71-77) come before item 8 on the form.
    answers = dict.fromkeys((1, 2, 3, 4, 6, 9, 10, 11, 12, 13, 14, 15, 16, 17), 0) | {71: 0}
    problems = check_answers("BAM", answers)
    assert [(p.code, p.item) for p in problems] == [
        (ErrorCode.NOT_APPLICABLE, 71),
        (ErrorCode.MISSING_ITEM, 8),
    ]
