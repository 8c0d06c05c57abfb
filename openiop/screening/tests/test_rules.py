"""Table tests for the screening rules; each table cites its source in one line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from openiop.screening import rules
from openiop.screening.rules import Contact, SafetyPlanContent

NOW = datetime(2026, 10, 5, 15, 0, tzinfo=UTC)


# Source: WHO AUDIT manual (Babor 2001): "Never" on item 1 skips to 9; skipped items score 0.
@pytest.mark.parametrize(
    ("code", "answers", "expected"),
    [
        ("AUDIT", {1: 0}, {1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0, 7: 0, 8: 0}),
        ("AUDIT", {1: "0", 9: "2"}, {1: "0", 2: 0, 3: 0, 4: 0, 5: 0, 6: 0, 7: 0, 8: 0, 9: "2"}),
        ("AUDIT", {1: 0, 4: 2}, {1: 0, 2: 0, 3: 0, 4: 2, 5: 0, 6: 0, 7: 0, 8: 0}),
        ("AUDIT", {1: 1}, {1: 1}),
        ("AUDIT", {1: ""}, {1: ""}),
        ("AUDIT-C", {1: 0}, {1: 0, 2: 0, 3: 0}),
        ("PHQ-9", {1: 0}, {1: 0}),
    ],
)
def test_audit_never_drinks_fills_only_blank_skipped_items(code, answers, expected) -> None:  # type: ignore[no-untyped-def]
    assert rules.fill_audit_never_drinks(code, answers) == expected


# Source: clinical.md §1.6 (C-SSRS: Q2 = No -> go to Q6); BAM form (item 4 = 0 skips item 5).
@pytest.mark.parametrize(
    ("code", "answers", "kept", "dropped"),
    [
        ("C-SSRS", {1: 1, 2: 0, 3: 1, 4: 0, 5: 0, 6: 0}, {1: 1, 2: 0, 6: 0}, (3, 4, 5)),
        ("C-SSRS", {1: 1, 2: 1, 3: 1, 4: 0, 5: 0, 6: 0}, {1: 1, 2: 1, 3: 1, 4: 0, 5: 0, 6: 0}, ()),
        ("C-SSRS", {1: "1", 3: "1"}, {1: "1", 3: "1"}, ()),  # item 2 unanswered: unknown
        ("C-SSRS", {1: "", 2: "0", 5: "1"}, {2: "0"}, (5,)),
        ("PHQ-9", {1: 2, 99: 1}, {1: 2, 99: 1}, ()),  # unknown items stay for the engine
        ("BAM", {4: 0, 5: 2}, {4: 0}, (5,)),
    ],
)
def test_drop_unasked(code, answers, kept, dropped) -> None:  # type: ignore[no-untyped-def]
    assert rules.drop_unasked(code, answers) == (kept, dropped)


# Source: docs/INSTRUMENTS.md (answers are option values; yes/no also as bool or text).
@pytest.mark.parametrize(
    ("value", "stored"), [(2, 2), ("3", 3), (True, 1), (False, 0), ("yes", 1), (" No ", 0)]
)
def test_normalize_answer(value, stored) -> None:  # type: ignore[no-untyped-def]
    assert rules.normalize_answer(value) == stored


# Source: clinical.md §1.6 (skip logic) and §1.8 (BAM items 5 and 7A-7G).
@pytest.mark.parametrize(
    ("code", "item", "note"),
    [
        ("C-SSRS", 3, 'Answer only if item 2 is "Yes".'),
        ("C-SSRS", 1, ""),
        ("PHQ-9", 9, ""),
    ],
)
def test_skip_note(code, item, note) -> None:  # type: ignore[no-untyped-def]
    assert rules.skip_note(code, item) == note


def test_skip_note_lists_every_value_that_asks_the_item() -> None:
    # Source: VA BAM form ("If 0, skip to #6"): item 5 asked for any drinking days.
    assert rules.skip_note("BAM", 5).startswith('Answer only if item 4 is "1-3 days" or')


# Source: clinical.md §1.6 (tiers: Q1/Q2 low; Q3 or lifetime behaviour moderate; Q4, Q5 or
# behaviour in the past 3 months high). Partial answers give a lower bound.
@pytest.mark.parametrize(
    ("values", "tier"),
    [
        ({}, "none"),
        ({1: 1}, "low"),
        ({1: 1, 2: 1, 3: 1}, "moderate"),
        ({6: 1}, "moderate"),
        ({2: 1, 4: 1}, "high"),
        ({5: 1}, "high"),
        ({6: 2}, "high"),
    ],
)
def test_cssrs_draft_risk(values, tier) -> None:  # type: ignore[no-untyped-def]
    assert rules.cssrs_draft_risk(values) == tier


# Source: clinical.md §1.1 (PHQ-9 item 9 critical) and §1.6 (C-SSRS moderate/high tiers).
@pytest.mark.parametrize(
    ("code", "flags", "risk", "severity", "requires_response"),
    [
        ("PHQ-9", ("suicide_risk",), None, "moderate", False),
        ("PHQ-9", ("suicide_risk", "positive_screen"), None, "moderate", False),
        ("PHQ-9", ("positive_screen",), None, None, None),
        ("PHQ-9", (), None, None, None),
        ("C-SSRS", ("suicide_risk", "cssrs_high"), "high", "high", True),
        ("C-SSRS", ("suicide_risk", "cssrs_moderate"), "moderate", "moderate", False),
        ("C-SSRS", ("suicide_risk",), "low", None, None),
        ("C-SSRS", ("suicide_risk",), "none", None, None),
        ("GAD-7", ("positive_screen",), None, None, None),
    ],
)
def test_suicide_alert_for(code, flags, risk, severity, requires_response) -> None:  # type: ignore[no-untyped-def]
    decision = rules.suicide_alert_for(code=code, flags=flags, risk_level=risk)
    if severity is None:
        assert decision is None
    else:
        assert decision is not None
        assert (decision.severity, decision.requires_response) == (severity, requires_response)


# Source: issue 3 part 3; clinical.md §1.6 (high risk: evaluation and precautions), §9.
@pytest.mark.parametrize(
    ("kind", "severity", "requires", "responses", "plan", "problems"),
    [
        ("suicide_risk", "high", True, 0, False, 2),
        ("suicide_risk", "high", True, 1, False, 1),
        ("suicide_risk", "high", True, 0, True, 1),
        ("suicide_risk", "high", True, 1, True, 0),
        ("suicide_risk", "high", False, 0, False, 2),  # high severity alone is enough
        ("suicide_risk", "moderate", False, 0, False, 0),
        ("suicide_risk", "moderate", True, 0, True, 1),
        ("disengagement", "high", True, 0, False, 0),
    ],
)
def test_risk_alert_resolution_problems(
    kind, severity, requires, responses, plan, problems
) -> None:  # type: ignore[no-untyped-def]
    found = rules.risk_alert_resolution_problems(
        kind=kind,
        severity=severity,
        requires_response=requires,
        response_count=responses,
        has_safety_plan=plan,
    )
    assert len(found) == problems


# Source: issue 3 part 3 (a documented response: who assessed, disposition, time).
@pytest.mark.parametrize(
    ("disposition", "notes", "assessed_at", "fields"),
    [
        ("hospitalization", "", NOW, []),
        ("other", "", NOW, ["notes"]),
        ("other", "Family meeting arranged", NOW, []),
        ("crisis_line_988", "", NOW + timedelta(hours=1), ["assessed_at"]),
        ("crisis_line_988", "", NOW + timedelta(minutes=4), []),
        ("crisis_line_988", "", NOW - timedelta(days=2), ["assessed_at"]),  # before the screen
    ],
)
def test_risk_response_problems(disposition, notes, assessed_at, fields) -> None:  # type: ignore[no-untyped-def]
    found = rules.risk_response_problems(
        disposition=disposition,
        notes=notes,
        assessed_at=assessed_at,
        screened_at=NOW - timedelta(hours=1),
        now=NOW,
    )
    assert [field for field, _ in found] == fields


def _plan(**changes):  # type: ignore[no-untyped-def]
    base = {
        "warning_signs": ("Not sleeping",),
        "coping_strategies": ("Walk the dog",),
        "social_distractions": (),
        "help_contacts": (),
        "professional_contacts": (rules.CRISIS_LINE,),
        "environment_safety": ("Medicines locked by a family member",),
    }
    return SafetyPlanContent(**(base | changes))


# Source: clinical.md §9 (six steps; 988 as the US crisis line; steps 3-4 may name nobody).
@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({}, []),
        ({"warning_signs": ()}, ["warning_signs"]),
        ({"coping_strategies": ()}, ["coping_strategies"]),
        ({"environment_safety": ()}, ["environment_safety"]),
        ({"professional_contacts": ()}, ["professional_name_0"]),
        ({"professional_contacts": (Contact("", ""),)}, ["professional_name_0"]),
        ({"help_contacts": (Contact("", ""), Contact("Sam (brother)", ""))}, ["help_phone_1"]),
        ({"help_contacts": (Contact("", "555-0100"),)}, ["help_name_0"]),
        ({"help_contacts": (Contact("Sam", "x"),)}, ["help_phone_0"]),
    ],
)
def test_safety_plan_problems(changes, fields) -> None:  # type: ignore[no-untyped-def]
    assert [field for field, _ in rules.safety_plan_problems(_plan(**changes))] == fields


# Source: clinical.md §9 step 5 (988 Suicide & Crisis Lifeline).
def test_crisis_line_is_988() -> None:
    assert rules.CRISIS_LINE.phone == "988"


@pytest.mark.parametrize(
    ("offset", "problem"),
    [(timedelta(0), False), (timedelta(minutes=4), False), (timedelta(hours=1), True)],
)
def test_administered_at_not_in_future(offset, problem) -> None:  # type: ignore[no-untyped-def]
    # Source: issue 3 part 2 (each administration records when it was given).
    found = rules.administered_at_problem(administered_at=NOW + offset, now=NOW)
    assert (found is not None) == problem
