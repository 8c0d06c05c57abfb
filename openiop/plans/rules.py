"""Pure treatment-plan rules: deadlines, due/overdue state, signature completeness and
draft validation. No ORM, no clock: the date is passed in. Table-tested in
tests/test_rules.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

# Source: Kansas rule for residential and IOP, plan within 7 days of admission
# (clinical.md §8.1, high confidence for one state); configurable per program/payer/state.
DEFAULT_DUE_DAYS = 7
# Source: state RFP text "review every 30 days" for IOP (clinical.md §8.1, medium);
# Medicare IOP "no less often than every other month" is a setting (60 days), not code.
DEFAULT_REVIEW_DAYS = 30
# The worklist shows a review as due this many days before its date.
DUE_SOON_DAYS = 7

PATIENT = "patient"
CLINICIAN = "clinician"
PRESCRIBER = "prescriber"


@dataclass(frozen=True)
class DeadlineSetting:
    """One configured requirement; None/blank scope fields match everything."""

    label: str
    program_id: int | None = None
    payer_id: int | None = None
    plan_type: str = ""
    jurisdiction: str = ""
    due_within_days: int | None = None
    review_every_days: int | None = None
    prescriber_signature_required: bool = False


@dataclass(frozen=True)
class Deadlines:
    due_within_days: int
    review_every_days: int
    prescriber_signature_required: bool
    sources: tuple[str, ...] = ()


def setting_applies(
    s: DeadlineSetting,
    *,
    program_id: int,
    payer_ids: Iterable[int],
    plan_types: Iterable[str],
    jurisdiction: str,
) -> bool:
    if s.program_id is not None and s.program_id != program_id:
        return False
    if s.payer_id is not None and s.payer_id not in set(payer_ids):
        return False
    if s.plan_type and s.plan_type not in set(plan_types):
        return False
    return not (s.jurisdiction and s.jurisdiction.upper() != (jurisdiction or "").upper())


def deadlines_for(
    settings: Sequence[DeadlineSetting],
    *,
    program_id: int,
    payer_ids: Iterable[int] = (),
    plan_types: Iterable[str] = (),
    jurisdiction: str = "",
) -> Deadlines:
    """The strictest of the matching settings: each is a requirement someone imposes
    (state, payer, program), so the plan must meet all of them. Without any, the
    defaults (7 days to write, review every 30 days)."""
    payer_ids = tuple(payer_ids)
    plan_types = tuple(plan_types)
    matching = [
        s
        for s in settings
        if setting_applies(
            s,
            program_id=program_id,
            payer_ids=payer_ids,
            plan_types=plan_types,
            jurisdiction=jurisdiction,
        )
    ]
    dues = [s.due_within_days for s in matching if s.due_within_days]
    reviews = [s.review_every_days for s in matching if s.review_every_days]
    return Deadlines(
        due_within_days=min(dues) if dues else DEFAULT_DUE_DAYS,
        review_every_days=min(reviews) if reviews else DEFAULT_REVIEW_DAYS,
        prescriber_signature_required=any(s.prescriber_signature_required for s in matching),
        sources=tuple(s.label for s in matching),
    )


# Longest interval a setting may name (a year); anything longer is a typing mistake.
MAX_SETTING_DAYS = 365
# USPS codes of the states, DC and Puerto Rico (the patients' address choices).
_STATE_CODES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV "
    "NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR"
)
US_STATES = frozenset(_STATE_CODES.split())


def deadline_setting_errors(s: DeadlineSetting) -> dict[str, str]:
    """Field -> message for a deadline setting a director typed. A setting must require
    something (a deadline, a review interval or the prescriber's signature); days are
    1..365; a jurisdiction is a US state or territory code (USPS two letters).
    Source: clinical.md §8.1 (deadlines vary by state, payer and program)."""
    errors: dict[str, str] = {}
    if not s.label.strip():
        errors["label"] = "Say where the requirement comes from (e.g. the rule or contract)."
    for name, value in (
        ("due_within_days", s.due_within_days),
        ("review_every_days", s.review_every_days),
    ):
        if value is not None and not 1 <= value <= MAX_SETTING_DAYS:
            errors[name] = f"Enter a number of days from 1 to {MAX_SETTING_DAYS}."
    if (
        s.due_within_days is None
        and s.review_every_days is None
        and not s.prescriber_signature_required
    ):
        errors["due_within_days"] = (
            "Enter a deadline, a review interval or require the prescriber's signature."
        )
    if s.jurisdiction and s.jurisdiction.upper() not in US_STATES:
        errors["jurisdiction"] = "Enter a US state as two letters (e.g. KS)."
    return errors


# --- due / overdue -----------------------------------------------------------------


class PlanState:
    INITIAL_DUE = "initial_due"
    INITIAL_OVERDUE = "initial_overdue"
    REVIEW_DUE = "review_due"
    REVIEW_OVERDUE = "review_overdue"
    CURRENT = "current"
    NOT_ADMITTED = "not_admitted"


STATE_LABELS = {
    PlanState.INITIAL_DUE: "Plan due",
    PlanState.INITIAL_OVERDUE: "Plan overdue",
    PlanState.REVIEW_DUE: "Review due",
    PlanState.REVIEW_OVERDUE: "Review overdue",
    PlanState.CURRENT: "Current",
    PlanState.NOT_ADMITTED: "Not admitted",
}


@dataclass(frozen=True)
class PlanDue:
    state: str
    due_on: date | None
    awaiting_signatures: bool = False

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def on_worklist(self) -> bool:
        return self.state != PlanState.CURRENT or self.awaiting_signatures


def plan_due_state(
    *,
    today: date,
    admitted_on: date | None,
    last_signed_on: date | None,
    deadlines: Deadlines,
    awaiting_signatures: bool = False,
) -> PlanDue:
    """Where an episode's plan stands on `today`.

    No signed plan: due `due_within_days` after admission, overdue the day after.
    Signed: the next review is `review_every_days` after the last signed version's
    date; it shows as due DUE_SOON_DAYS before and is overdue the day after.
    Source: clinical.md §8.1 (plan deadline and review frequency, configurable).
    """
    if last_signed_on is None:
        if admitted_on is None:
            return PlanDue(PlanState.NOT_ADMITTED, None, awaiting_signatures)
        due_on = admitted_on + timedelta(days=deadlines.due_within_days)
        state = PlanState.INITIAL_OVERDUE if today > due_on else PlanState.INITIAL_DUE
        return PlanDue(state, due_on, awaiting_signatures)
    due_on = last_signed_on + timedelta(days=deadlines.review_every_days)
    if today > due_on:
        state = PlanState.REVIEW_OVERDUE
    elif today >= due_on - timedelta(days=DUE_SOON_DAYS):
        state = PlanState.REVIEW_DUE
    else:
        state = PlanState.CURRENT
    return PlanDue(state, due_on, awaiting_signatures)


# --- signatures ----------------------------------------------------------------------


def required_signers(*, prescriber_required: bool) -> tuple[str, ...]:
    """The patient and the responsible clinician sign every plan (Kansas rule: client
    signature and dated staff signature, clinical.md §8.1); the prescriber too where
    the program or payer requires it."""
    return (PATIENT, CLINICIAN, PRESCRIBER) if prescriber_required else (PATIENT, CLINICIAN)


def missing_signatures(*, required: Sequence[str], present: Iterable[str]) -> tuple[str, ...]:
    have = set(present)
    return tuple(role for role in required if role not in have)


def signatures_complete(*, required: Sequence[str], present: Iterable[str]) -> bool:
    return not missing_signatures(required=required, present=present)


# --- draft validation ----------------------------------------------------------------


@dataclass(frozen=True)
class ObjectiveDraft:
    prefix: str
    text: str = ""
    measure: str = ""
    measure_other: str = ""
    baseline: Decimal | None = None
    baseline_on: date | None = None
    target: Decimal | None = None
    target_on: date | None = None

    @property
    def is_blank(self) -> bool:
        return not (
            self.text.strip()
            or self.measure_other.strip()
            or self.baseline is not None
            or self.target is not None
            or self.target_on
        )


@dataclass(frozen=True)
class InterventionDraft:
    prefix: str
    modality: str = ""
    description: str = ""
    frequency: str = ""
    responsible_id: int | None = None

    @property
    def is_blank(self) -> bool:
        return not (self.modality or self.description.strip() or self.frequency.strip())


@dataclass(frozen=True)
class ProblemDraft:
    prefix: str
    statement: str = ""
    goal: str = ""
    diagnosis_id: int | None = None
    dimensions: tuple[int, ...] = ()
    objectives: tuple[ObjectiveDraft, ...] = ()
    interventions: tuple[InterventionDraft, ...] = ()

    @property
    def is_blank(self) -> bool:
        return (
            not (self.statement.strip() or self.goal.strip())
            and all(o.is_blank for o in self.objectives)
            and all(i.is_blank for i in self.interventions)
        )


@dataclass(frozen=True)
class ReviewDraft:
    prefix: str
    progress: str = ""


@dataclass(frozen=True)
class PlanDraft:
    written_on: date | None = None
    participation: str = ""
    problems: tuple[ProblemDraft, ...] = ()
    reviews: tuple[ReviewDraft, ...] = field(default_factory=tuple)
    review_summary: str = ""
    is_review: bool = False


def plan_errors(draft: PlanDraft, *, for_signing: bool) -> dict[str, str]:
    """Field -> message. Saving needs each filled row to be coherent (an objective has
    a target date not before its baseline date, a measure, a target); signing needs the
    required sections too (clinical.md §8.1: problems, goals, measurable objectives,
    interventions, the patient's input; reviews: progress on every objective)."""
    errors: dict[str, str] = {}
    if draft.written_on is None:
        errors["written_on"] = "Enter the date the plan was written."
    for p in draft.problems:
        if p.is_blank:
            continue
        if not p.statement.strip():
            errors[f"{p.prefix}-statement"] = "Describe the problem."
        if not p.goal.strip():
            errors[f"{p.prefix}-goal"] = "Write the long-term goal in the patient's own words."
        if any(d not in range(1, 7) for d in p.dimensions):
            errors[f"{p.prefix}-dimensions"] = "Dimensions are numbered 1 to 6."
        for o in p.objectives:
            if o.is_blank:
                continue
            errors.update(_objective_errors(o))
        for i in p.interventions:
            if i.is_blank:
                continue
            if not i.modality:
                errors[f"{i.prefix}-modality"] = "Choose the modality."
            if not i.frequency.strip():
                errors[f"{i.prefix}-frequency"] = "Say how often (e.g. 3 groups a week)."
            if i.responsible_id is None:
                errors[f"{i.prefix}-responsible"] = "Name the staff member responsible."
        if for_signing and not p.is_blank:
            if all(o.is_blank for o in p.objectives):
                errors.setdefault(
                    f"{p.prefix}-objectives",
                    "Add at least one measurable objective for this problem.",
                )
            if all(i.is_blank for i in p.interventions):
                errors.setdefault(
                    f"{p.prefix}-interventions", "Add at least one intervention for this problem."
                )
    if for_signing:
        if all(p.is_blank for p in draft.problems):
            errors["problems"] = "A plan needs at least one problem with its goal."
        if not draft.participation.strip():
            errors["participation"] = (
                "Record how the patient took part in writing the plan before signing."
            )
        if draft.is_review:
            for r in draft.reviews:
                if not r.progress:
                    errors[f"{r.prefix}-progress"] = "Record the progress on this objective."
            if not draft.review_summary.strip():
                errors["review_summary"] = "Summarise the review."
    return errors


def _objective_errors(o: ObjectiveDraft) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not o.text.strip():
        errors[f"{o.prefix}-text"] = "Describe the objective."
    if not o.measure:
        errors[f"{o.prefix}-measure"] = "Choose how progress is measured."
    elif o.measure == "other" and not o.measure_other.strip():
        errors[f"{o.prefix}-measure_other"] = "Name the measure."
    if o.target is None:
        errors[f"{o.prefix}-target"] = "Enter the target value."
    if o.baseline_on is None:
        errors[f"{o.prefix}-baseline_on"] = "Enter the date of the baseline."
    if o.target_on is None:
        errors[f"{o.prefix}-target_on"] = "An objective needs a target date."
    elif o.baseline_on is not None and o.target_on < o.baseline_on:
        errors[f"{o.prefix}-target_on"] = "The target date is before the baseline date."
    return errors
