"""Table tests for the pure plan rules (clinical.md §8.1)."""

from __future__ import annotations

from datetime import date

import pytest

from openiop.homework import kinds
from openiop.plans import rules
from openiop.plans.rules import DeadlineSetting as S

MEDICARE = S(
    "Medicare IOP: every other month (clinical.md §3)", plan_type="medicare", review_every_days=60
)
KANSAS = S("Kansas: 7 days, IOP (clinical.md §8.1)", jurisdiction="KS", due_within_days=7)
PROGRAM_2 = S(
    "Program 2 policy",
    program_id=2,
    due_within_days=3,
    review_every_days=14,
    prescriber_signature_required=True,
)
PAYER_9 = S("Payer 9 contract", payer_id=9, review_every_days=45)


@pytest.mark.parametrize(
    ("settings", "program", "payers", "types", "state", "due", "review", "prescriber"),
    [
        ([], 1, (), (), "", 7, 30, False),  # defaults
        ([MEDICARE], 1, (), ("medicare",), "", 7, 60, False),
        ([MEDICARE], 1, (), ("private",), "", 7, 30, False),  # not matching
        ([MEDICARE, KANSAS], 1, (), ("medicare",), "ks", 7, 60, False),
        ([KANSAS], 1, (), (), "MO", 7, 30, False),
        ([PROGRAM_2, MEDICARE], 2, (), ("medicare",), "", 3, 14, True),  # strictest wins
        ([PROGRAM_2], 1, (), (), "", 7, 30, False),
        ([PAYER_9, MEDICARE], 1, (9,), ("medicare",), "", 7, 45, False),
        ([PAYER_9], 1, (8,), (), "", 7, 30, False),
    ],
)
def test_deadlines_for(settings, program, payers, types, state, due, review, prescriber):
    d = rules.deadlines_for(
        settings, program_id=program, payer_ids=payers, plan_types=types, jurisdiction=state
    )
    assert (d.due_within_days, d.review_every_days, d.prescriber_signature_required) == (
        due,
        review,
        prescriber,
    )


D30 = rules.Deadlines(7, 30, False)
D60 = rules.Deadlines(7, 60, False)


@pytest.mark.parametrize(
    ("today", "admitted", "signed", "deadlines", "state", "due_on"),
    [
        (date(2026, 11, 5), date(2026, 11, 1), None, D30, "initial_due", date(2026, 11, 8)),
        (date(2026, 11, 8), date(2026, 11, 1), None, D30, "initial_due", date(2026, 11, 8)),
        (date(2026, 11, 9), date(2026, 11, 1), None, D30, "initial_overdue", date(2026, 11, 8)),
        (date(2026, 11, 9), None, None, D30, "not_admitted", None),
        (
            date(2026, 11, 20),
            date(2026, 11, 1),
            date(2026, 11, 5),
            D30,
            "current",
            date(2026, 12, 5),
        ),
        (
            date(2026, 11, 28),
            date(2026, 11, 1),
            date(2026, 11, 5),
            D30,
            "review_due",
            date(2026, 12, 5),
        ),
        (
            date(2026, 12, 5),
            date(2026, 11, 1),
            date(2026, 11, 5),
            D30,
            "review_due",
            date(2026, 12, 5),
        ),
        (
            date(2026, 12, 6),
            date(2026, 11, 1),
            date(2026, 11, 5),
            D30,
            "review_overdue",
            date(2026, 12, 5),
        ),
        # Medicare every other month: the same day is not yet due.
        (date(2026, 12, 6), date(2026, 11, 1), date(2026, 11, 5), D60, "current", date(2027, 1, 4)),
    ],
)
def test_plan_due_state(today, admitted, signed, deadlines, state, due_on):
    due = rules.plan_due_state(
        today=today, admitted_on=admitted, last_signed_on=signed, deadlines=deadlines
    )
    assert (due.state, due.due_on) == (state, due_on)


def test_awaiting_signatures_puts_a_current_plan_on_the_worklist():
    due = rules.plan_due_state(
        today=date(2026, 11, 10),
        admitted_on=date(2026, 11, 1),
        last_signed_on=date(2026, 11, 5),
        deadlines=D30,
        awaiting_signatures=True,
    )
    assert due.state == "current" and due.on_worklist


@pytest.mark.parametrize(
    ("prescriber", "present", "missing"),
    [
        (False, [], ("patient", "clinician")),
        (False, ["patient"], ("clinician",)),
        (False, ["clinician", "patient"], ()),
        (True, ["clinician", "patient"], ("prescriber",)),
        (True, ["prescriber", "clinician", "patient"], ()),
        (False, ["prescriber"], ("patient", "clinician")),
    ],
)
def test_signature_completeness(prescriber, present, missing):
    required = rules.required_signers(prescriber_required=prescriber)
    assert rules.missing_signatures(required=required, present=present) == missing
    assert rules.signatures_complete(required=required, present=present) == (not missing)


def _objective(**kw):
    values = dict(
        prefix="p0-o0",
        text="PHQ-9 under 10",
        measure="phq9",
        baseline_on=date(2026, 11, 1),
        target=9,
        target_on=date(2026, 12, 1),
    )
    values.update(kw)
    return rules.ObjectiveDraft(**values)


def _problem(objectives=None, interventions=None, **kw):
    values = dict(prefix="p0", statement="Depression", goal="Feel like myself again")
    values.update(kw)
    return rules.ProblemDraft(
        objectives=tuple(objectives if objectives is not None else [_objective()]),
        interventions=tuple(
            interventions
            if interventions is not None
            else [rules.InterventionDraft("p0-i0", "cbt", "", "weekly", 1)]
        ),
        **values,
    )


@pytest.mark.parametrize(
    ("draft", "for_signing", "expected"),
    [
        (rules.PlanDraft(date(2026, 11, 2), "yes", (_problem(),)), True, {}),
        (rules.PlanDraft(date(2026, 11, 2), "", (_problem(),)), False, {}),
        (rules.PlanDraft(date(2026, 11, 2), "", (_problem(),)), True, {"participation"}),
        (rules.PlanDraft(None, "yes", (_problem(),)), False, {"written_on"}),
        (rules.PlanDraft(date(2026, 11, 2), "yes", ()), True, {"problems"}),
        (
            rules.PlanDraft(date(2026, 11, 2), "yes", (_problem([_objective(target_on=None)]),)),
            False,
            {"p0-o0-target_on"},
        ),
        (
            rules.PlanDraft(
                date(2026, 11, 2), "yes", (_problem([_objective(target_on=date(2026, 10, 1))]),)
            ),
            False,
            {"p0-o0-target_on"},
        ),
        (
            rules.PlanDraft(date(2026, 11, 2), "yes", (_problem([_objective(measure="")]),)),
            False,
            {"p0-o0-measure"},
        ),
        (
            rules.PlanDraft(date(2026, 11, 2), "yes", (_problem([_objective(measure="other")]),)),
            False,
            {"p0-o0-measure_other"},
        ),
        (rules.PlanDraft(date(2026, 11, 2), "yes", (_problem(goal=""),)), False, {"p0-goal"}),
        (
            rules.PlanDraft(date(2026, 11, 2), "yes", (_problem(objectives=[]),)),
            True,
            {"p0-objectives"},
        ),
        (
            rules.PlanDraft(date(2026, 11, 2), "yes", (_problem(interventions=[]),)),
            True,
            {"p0-interventions"},
        ),
        (
            rules.PlanDraft(
                date(2026, 11, 2),
                "yes",
                (_problem(interventions=[rules.InterventionDraft("p0-i0", "cbt")]),),
            ),
            False,
            {"p0-i0-frequency", "p0-i0-responsible"},
        ),
        (
            rules.PlanDraft(
                date(2026, 11, 2), "yes", (_problem(),), (rules.ReviewDraft("r-x", ""),), "", True
            ),
            True,
            {"r-x-progress", "review_summary"},
        ),
        # A blank row is ignored, not an error.
        (
            rules.PlanDraft(
                date(2026, 11, 2), "yes", (_problem([_objective(), rules.ObjectiveDraft("p0-o1")]),)
            ),
            True,
            {},
        ),
    ],
)
def test_plan_errors(draft, for_signing, expected):
    assert set(rules.plan_errors(draft, for_signing=for_signing)) == set(expected)


@pytest.mark.parametrize(
    ("kind", "raw", "errors"),
    [
        (
            "craving_log",
            {
                "when": "2026-11-02T20:15",
                "intensity": "7",
                "trigger": "payday",
                "coping": "called sponsor",
                "outcome": "did_not_use",
            },
            set(),
        ),
        (
            "craving_log",
            {
                "when": "2026-11-02T20:15",
                "intensity": "11",
                "trigger": "x",
                "coping": "y",
                "outcome": "did_not_use",
            },
            {"intensity"},
        ),
        (
            "craving_log",
            {"intensity": "3", "trigger": "x", "coping": "y", "outcome": "maybe"},
            {"when", "outcome"},
        ),
        (
            "thought_record",
            {
                "situation": "s",
                "automatic_thought": "a",
                "emotion": "fear",
                "intensity": "80",
                "evidence_for": "f",
                "evidence_against": "g",
                "balanced_thought": "b",
                "rerated": "40",
            },
            set(),
        ),
        (
            "thought_record",
            {
                "situation": "s",
                "automatic_thought": "a",
                "emotion": "fear",
                "intensity": "101",
                "evidence_for": "f",
                "evidence_against": "g",
                "balanced_thought": "b",
                "rerated": "-1",
            },
            {"intensity", "rerated"},
        ),
        (
            "relaxation_log",
            {
                "on": "2026-11-02",
                "technique": "breathing",
                "minutes": "10",
                "tension_before": "6",
                "tension_after": "2",
            },
            set(),
        ),
        ("meeting_attendance", {"on": "2026-11-02", "meeting_type": "aa"}, set()),
        ("meeting_attendance", {"on": "yesterday", "meeting_type": "aa"}, {"on"}),
        ("nonsense", {}, {"kind"}),
    ],
)
def test_homework_kind_validation(kind, raw, errors):
    data, found = kinds.validate_entry(kind, raw)
    assert set(found) == errors
    if not errors:
        assert data


@pytest.mark.parametrize(
    ("setting", "fields"),
    [
        (MEDICARE, set()),
        (KANSAS, set()),
        (S("Prescriber only", prescriber_signature_required=True), set()),
        (S("", review_every_days=30), {"label"}),
        (S("Nothing required"), {"due_within_days"}),
        (S("Zero days", due_within_days=0), {"due_within_days"}),
        (S("Two years", review_every_days=730), {"review_every_days"}),
        (S("Kansas lower case", jurisdiction="ks", due_within_days=7), set()),
        (S("Not a state", jurisdiction="ZZ", due_within_days=7), {"jurisdiction"}),
    ],
)
def test_deadline_setting_errors(setting, fields):  # type: ignore[no-untyped-def]
    assert set(rules.deadline_setting_errors(setting)) == fields
