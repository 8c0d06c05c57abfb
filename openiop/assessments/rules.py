"""Pure rules for assessments: no ORM, no clock (the day is passed in).

- date checks for the biopsychosocial history rows;
- the dual-diagnosis flag over ICD-10-CM codes;
- the level-of-care recommendation (`recommend_level`) and the medical-necessity text;
- program eligibility, each rule met / not met / unknown with its evidence.

The level-of-care design is the simplification in shared/reference/clinical.md §2.4,
not ASAM's algorithm: each dimension's rating points to a minimum level in a table the
organization configures, the recommendation is the most intensive of those minimums,
and imminent danger overrides everything with an emergency evaluation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from openiop.patients.rules import age_on

# --- Levels -----------------------------------------------------------------------

EMERGENCY = "emergency"

# Order of intensity of the level codes (openiop.organizations.models.LevelOfCare).
# WM (withdrawal management) is a service that exists at several intensities; the
# one code we keep is ranked with 3.7 (a medically monitored detox stay, the usual
# "detox" before an IOP), so leaving WM for 2.1 counts as a step down. WM is not
# offered as a minimum level in the table: the table speaks in intensities.
LEVEL_RANK: dict[str, int] = {
    "0.5": 1,
    "1": 2,
    "2.1": 3,
    "2.5": 4,
    "3.1": 5,
    "3.5": 6,
    "3.7": 7,
    "WM": 7,
    "4": 8,
    EMERGENCY: 9,
}
TABLE_LEVELS = ("0.5", "1", "2.1", "2.5", "3.1", "3.5", "3.7", "4")
IOP_LEVEL = "2.1"


def level_label(level: str) -> str:
    if level == EMERGENCY:
        return "emergency evaluation"
    if level == "WM":
        return "withdrawal management"
    return f"level {level}"


def more_intensive(a: str, b: str) -> bool:
    return LEVEL_RANK[a] > LEVEL_RANK[b]


# --- Six dimensions (3rd-edition numbering; short names only, no ASAM text) -----

DIMENSIONS: dict[int, str] = {
    1: "Intoxication and withdrawal",
    2: "Biomedical",
    3: "Emotional, behavioral, cognitive",
    4: "Readiness to change",
    5: "Relapse and continued use",
    6: "Recovery environment",
}
RATING_LABELS: dict[int, str] = {
    0: "none",
    1: "mild",
    2: "moderate",
    3: "significant",
    4: "severe",
}
RATINGS = (0, 1, 2, 3, 4)
# Ratings at or above this need a written rationale (our choice: a rating that can
# raise the level above outpatient must say why; see docs/ASSESSMENTS.md).
RATIONALE_REQUIRED_FROM = 2

# EXAMPLE ONLY: not ASAM's table. Invented by the OpenIOP project so the feature can
# be demonstrated; each organization replaces it with its licensed criteria or its
# state's level-of-care tool (Settings > Level-of-care table).
EXAMPLE_TABLE: dict[int, dict[int, str]] = {
    1: {0: "0.5", 1: "1", 2: "2.1", 3: "3.7", 4: "4"},
    2: {0: "0.5", 1: "1", 2: "2.1", 3: "3.7", 4: "4"},
    3: {0: "0.5", 1: "1", 2: "2.1", 3: "2.5", 4: "3.7"},
    4: {0: "0.5", 1: "1", 2: "1", 3: "2.1", 4: "2.5"},
    5: {0: "0.5", 1: "1", 2: "2.1", 3: "2.5", 4: "3.5"},
    6: {0: "0.5", 1: "1", 2: "2.1", 3: "3.1", 4: "3.5"},
}
EXAMPLE_TABLE_LABEL = "Example only — not ASAM's table; replace with your licensed criteria"


def rating_problem(dimension: int, value: object) -> str | None:
    """Why a rating may not be stored, or None."""
    if isinstance(value, bool) or not isinstance(value, int) or value not in RATINGS:
        return f"Rate Dimension {dimension} from 0 (none) to 4 (severe)."
    return None


def rationale_problems(ratings: Mapping[int, int], rationales: Mapping[int, str]) -> dict[int, str]:
    """Dimensions rated 2 or more without a rationale, with the message to show."""
    return {
        n: f"Explain the rating of {rating} ({RATING_LABELS[rating]}): it is required "
        f"from {RATIONALE_REQUIRED_FROM} up."
        for n, rating in sorted(ratings.items())
        if rating >= RATIONALE_REQUIRED_FROM and not rationales.get(n, "").strip()
    }


class IncompleteTable(ValueError):
    """The table has no minimum level for a dimension and rating in use."""


@dataclass(frozen=True)
class Recommendation:
    level: str  # a level code, or "emergency"
    driving_dimensions: tuple[int, ...]  # which dimensions set it (ties: all of them)
    minimum_levels: dict[int, str]  # each dimension's minimum from the table
    emergency: bool

    @property
    def most_intensive_minimum(self) -> str:
        return max(self.minimum_levels.values(), key=LEVEL_RANK.__getitem__)


def recommend_level(
    ratings: Mapping[int, int],
    table: Mapping[int, Mapping[int, str]],
    imminent_danger: bool,
) -> Recommendation:
    """The most intensive minimum level across the six dimensions; imminent danger
    overrides it with an emergency evaluation. Not an average (clinical.md §2.4)."""
    missing = [n for n in DIMENSIONS if n not in ratings]
    if missing:
        raise ValueError(f"Ratings missing for dimension(s) {missing}.")
    minimums: dict[int, str] = {}
    for n in DIMENSIONS:
        rating = ratings[n]
        if rating_problem(n, rating):
            raise ValueError(f"Dimension {n} rating out of range.")
        level = table.get(n, {}).get(rating)
        if level is None:
            raise IncompleteTable(f"No minimum level for dimension {n}, rating {rating}.")
        if level not in LEVEL_RANK or level == EMERGENCY:
            raise IncompleteTable(f"Unknown level {level!r} for dimension {n}.")
        minimums[n] = level
    if imminent_danger:
        return Recommendation(EMERGENCY, (), minimums, emergency=True)
    top = max(LEVEL_RANK[level] for level in minimums.values())
    driving = tuple(n for n in DIMENSIONS if LEVEL_RANK[minimums[n]] == top)
    return Recommendation(minimums[driving[0]], driving, minimums, emergency=False)


def override_problems(*, recommended: str, chosen: str, reason: str, note: str) -> dict[str, str]:
    """A chosen level that differs from the recommendation needs a reason and a note."""
    if chosen == recommended:
        return {}
    problems = {}
    if not reason:
        problems["override_reason"] = (
            f"The level chosen differs from the recommendation ({level_label(recommended)}): "
            "choose the reason."
        )
    if not note.strip():
        problems["override_note"] = "Say briefly why the recommended level was not chosen."
    return problems


@dataclass(frozen=True)
class NecessityFacts:
    assessed_on: date
    ratings: Mapping[int, int]
    recommendation: Recommendation
    chosen_level: str
    imminent_danger_from_alert: bool = False
    override_reason_label: str = ""
    override_note: str = ""
    table_was_example: bool = False


def _dimension_phrase(n: int, rating: int) -> str:
    return f"Dimension {n} ({DIMENSIONS[n].lower()}: {RATING_LABELS[rating]}, {rating})"


def _join(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def medical_necessity_statement(facts: NecessityFacts) -> str:
    """Plain-language statement of why this level of care, for the record."""
    rec = facts.recommendation
    ratings = facts.ratings
    sentences = [
        f"Six-dimension level-of-care assessment on {facts.assessed_on.isoformat()}. "
        "Ratings: "
        + "; ".join(
            f"D{n} {DIMENSIONS[n].lower()} {ratings[n]} ({RATING_LABELS[ratings[n]]})"
            for n in DIMENSIONS
        )
        + "."
    ]
    if rec.emergency:
        cause = (
            "an open high suicide-risk alert"
            if facts.imminent_danger_from_alert
            else "the assessing clinician's finding"
        )
        sentences.append(
            f"Imminent danger was identified ({cause}), so an emergency evaluation is "
            f"recommended regardless of the ratings (without it, the minimum would be "
            f"{level_label(rec.most_intensive_minimum)})."
        )
    else:
        raised = [n for n in rec.driving_dimensions if ratings[n] > 0]
        if raised:
            phrases = [_dimension_phrase(n, ratings[n]) for n in rec.driving_dimensions]
            sentences.append(
                f"Based on the ratings in {_join(phrases)}, the recommended minimum level of "
                f"care is {rec.level}."
            )
        else:
            sentences.append(
                f"No dimension shows a problem; the recommended minimum level of care is "
                f"{rec.level}."
            )
    chosen = level_label(facts.chosen_level)
    if facts.chosen_level == rec.level:
        sentences.append(f"{chosen[0].upper()}{chosen[1:]} was chosen.")
    else:
        reason = facts.override_reason_label.lower() or "a reason not given"
        note = facts.override_note.strip()
        sentences.append(
            f"{chosen[0].upper()}{chosen[1:]} was chosen instead, because of {reason}"
            + (f": {note}" if note else "")
            + ("" if note.endswith((".", "!", "?")) else ".")
        )
    if facts.table_was_example:
        sentences.append(
            "The minimum levels came from the example table shipped with OpenIOP, not from "
            "licensed criteria."
        )
    return " ".join(sentences)


# --- Biopsychosocial dates --------------------------------------------------------


def substance_row_problems(
    *,
    age_first_use: int | None,
    last_use_on: date | None,
    date_of_birth: date,
    today: date,
) -> dict[str, str]:
    """Impossible answers in one substance row, keyed by field."""
    problems: dict[str, str] = {}
    current_age = age_on(date_of_birth, today)
    if age_first_use is not None and age_first_use > current_age:
        problems["age_first_use"] = (
            f"Age of first use ({age_first_use}) is above the patient's current age "
            f"({current_age})."
        )
    if last_use_on is not None:
        if last_use_on > today:
            problems["last_use_on"] = "The date of last use cannot be in the future."
        elif last_use_on < date_of_birth:
            problems["last_use_on"] = (
                f"The date of last use ({last_use_on.isoformat()}) is before the patient's "
                f"date of birth ({date_of_birth.isoformat()})."
            )
        elif (
            age_first_use is not None
            and "age_first_use" not in problems
            and age_on(date_of_birth, last_use_on) < age_first_use
        ):
            problems["last_use_on"] = (
                f"The date of last use ({last_use_on.isoformat()}) is before the patient "
                f"turned {age_first_use}, the age of first use."
            )
    return problems


def treatment_row_problems(
    *,
    started_on: date | None,
    ended_on: date | None,
    outcome: str,
    date_of_birth: date,
    today: date,
) -> dict[str, str]:
    """Impossible dates in one treatment history row, keyed by field."""
    problems: dict[str, str] = {}
    for name, value, label in (
        ("started_on", started_on, "start date"),
        ("ended_on", ended_on, "end date"),
    ):
        if value is None:
            continue
        if value > today:
            problems[name] = f"The {label} cannot be in the future."
        elif value < date_of_birth:
            problems[name] = f"The {label} is before the patient's date of birth."
    if (
        started_on is not None
        and ended_on is not None
        and ended_on < started_on
        and "ended_on" not in problems
    ):
        problems["ended_on"] = (
            f"The end date ({ended_on.isoformat()}) is before the start date "
            f"({started_on.isoformat()})."
        )
    if outcome == "ongoing" and ended_on is not None and "ended_on" not in problems:
        problems["ended_on"] = "An ongoing stay has no end date: clear it or change the outcome."
    return problems


def past_date_problem(
    *, value: date | None, label: str, date_of_birth: date, today: date
) -> str | None:
    """A date of the patient's life that must lie between birth and today."""
    if value is None:
        return None
    if value > today:
        return f"The {label} cannot be in the future."
    if value < date_of_birth:
        return f"The {label} is before the patient's date of birth."
    return None


def completion_problems(
    *, presenting_problem: str, readiness_stage: str, patient_goals: str
) -> dict[str, str]:
    """What a biopsychosocial assessment needs before it can be marked completed."""
    problems = {}
    if not presenting_problem.strip():
        problems["presenting_problem"] = "Describe the presenting problem before completing."
    if not readiness_stage:
        problems["readiness_stage"] = "Choose the stage of readiness to change before completing."
    if not patient_goals.strip():
        problems["patient_goals"] = (
            "Write the patient's goals in their own words before completing."
        )
    return problems


# --- ICD-10-CM codes and the dual-diagnosis flag ----------------------------------

_CODE_RE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")
# Substance use disorder codes "in remission": abuse .11, dependence .21, use .91
# (e.g. F10.21 "Alcohol dependence, in remission"). Source: ICD-10-CM tabular list,
# categories F10-F19, as shipped by simple-icd-10-cm (a test checks this pattern
# against every F10-F19 description that says "in remission").
_SUD_REMISSION_RE = re.compile(r"^F1[0-9]\.[129]1$")


def normalize_code(raw: str) -> str:
    """Upper case with the dot after the third character: "f1020" -> "F10.20"."""
    text = "".join(raw.split()).upper().replace(".", "")
    if len(text) > 3:
        text = f"{text[:3]}.{text[3:]}"
    return text


def looks_like_code(raw: str) -> bool:
    return bool(_CODE_RE.match(normalize_code(raw)))


def is_nicotine(code: str) -> bool:
    return code.startswith("F17")


def is_substance_use_disorder(code: str) -> bool:
    """F10-F19 except F17 (nicotine): see docs/ASSESSMENTS.md for why."""
    return bool(re.match(r"^F1[0-9]", code)) and not is_nicotine(code)


def is_sud_in_remission(code: str) -> bool:
    return bool(_SUD_REMISSION_RE.match(code))


def is_other_mental_disorder(code: str) -> bool:
    """Any other code of chapter 5 (F01-F99) outside F10-F19."""
    return code.startswith("F") and not re.match(r"^F1[0-9]", code)


@dataclass(frozen=True)
class DualDiagnosis:
    flag: bool
    substance_codes: tuple[str, ...]
    mental_codes: tuple[str, ...]
    remission_only_codes: tuple[str, ...] = field(default=())


def dual_diagnosis(active_codes: Iterable[str]) -> DualDiagnosis:
    """True when the active diagnoses include a current substance use disorder
    (F10-F19 except nicotine F17 and except codes "in remission") and another mental
    disorder (another F code). Source: product decision, docs/ASSESSMENTS.md."""
    codes = sorted(set(active_codes))
    substance = tuple(
        c for c in codes if is_substance_use_disorder(c) and not is_sud_in_remission(c)
    )
    remission = tuple(c for c in codes if is_substance_use_disorder(c) and is_sud_in_remission(c))
    mental = tuple(c for c in codes if is_other_mental_disorder(c))
    return DualDiagnosis(bool(substance and mental), substance, mental, remission)


# --- Eligibility ------------------------------------------------------------------

MET = "met"
NOT_MET = "not_met"
UNKNOWN = "unknown"

TREATMENT_LABELS: dict[str, str] = {
    "withdrawal_management": "withdrawal management",
    "residential": "residential treatment",
    "inpatient_psychiatric": "an inpatient psychiatric stay",
    "php": "partial hospitalization",
    "iop": "intensive outpatient",
    "outpatient": "outpatient treatment",
    "mat": "medication for addiction treatment",
}
# Treatment types that are a higher level of care than an IOP (2.1), for step-down.
HIGHER_THAN_IOP = ("withdrawal_management", "residential", "inpatient_psychiatric", "php")


@dataclass(frozen=True)
class TreatmentStay:
    treatment_type: str
    started_on: date | None
    ended_on: date | None
    outcome: str  # completed, left_early, transferred, ongoing, unknown


@dataclass(frozen=True)
class LevelFinding:
    assessed_on: date
    recommended: str
    chosen: str
    driving_dimensions: tuple[int, ...]


@dataclass(frozen=True)
class EligibilityCriteria:
    min_age: int | None = None
    max_age: int | None = None
    prior_care_types: tuple[str, ...] = ()
    prior_care_must_be_completed: bool = False
    prior_care_within_days: int | None = None
    require_level_2_1_or_step_down: bool = False
    step_down_within_days: int = 30
    exclusions: tuple[str, ...] = ()


@dataclass(frozen=True)
class EligibilityFacts:
    date_of_birth: date
    # None when there is no biopsychosocial assessment to read a history from.
    treatment_history: tuple[TreatmentStay, ...] | None
    history_is_draft: bool = False
    level: LevelFinding | None = None
    exclusion_answers: Mapping[str, str] = field(default_factory=dict)  # present/absent


@dataclass(frozen=True)
class RuleResult:
    key: str
    label: str
    outcome: str  # met, not_met, unknown
    evidence: str


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def _stay_text(stay: TreatmentStay, today: date) -> str:
    verb = {
        "completed": "completed",
        "left_early": "left early from",
        "transferred": "transferred from",
        "ongoing": "currently in",
    }.get(stay.outcome, "")
    what = TREATMENT_LABELS.get(stay.treatment_type, stay.treatment_type)
    text = f"{verb} {what}".strip()
    if stay.started_on or stay.ended_on:
        start = stay.started_on.isoformat() if stay.started_on else "?"
        end = stay.ended_on.isoformat() if stay.ended_on else "?"
        text += f" {start} to {end}"
    if stay.ended_on:
        text += f", {_days((today - stay.ended_on).days)} ago"
    return text


def _age_rule(criteria: EligibilityCriteria, facts: EligibilityFacts, today: date) -> RuleResult:
    age = age_on(facts.date_of_birth, today)
    low, high = criteria.min_age, criteria.max_age
    if low is not None and high is not None:
        label, span = f"Age {low} to {high}", f"{low}-{high}"
    elif low is not None:
        label, span = f"Age {low} or older", f"{low} or older"
    else:
        label, span = f"Age {high} or younger", f"{high} or younger"
    ok = (low is None or age >= low) and (high is None or age <= high)
    return RuleResult("age", label, MET if ok else NOT_MET, f"age {age} (required {span})")


def _prior_care_rule(
    criteria: EligibilityCriteria, facts: EligibilityFacts, today: date
) -> RuleResult:
    kinds = [TREATMENT_LABELS.get(t, t) for t in criteria.prior_care_types]
    label = ("Completed " if criteria.prior_care_must_be_completed else "Prior ") + " or ".join(
        kinds
    )
    if criteria.prior_care_within_days is not None:
        label += f" within {_days(criteria.prior_care_within_days)}"
    if facts.treatment_history is None:
        return RuleResult(
            "prior_care", label, UNKNOWN, "no biopsychosocial assessment with a treatment history"
        )
    draft = " (from a draft assessment)" if facts.history_is_draft else ""
    stays = [s for s in facts.treatment_history if s.treatment_type in criteria.prior_care_types]
    if not stays:
        return RuleResult(
            "prior_care", label, NOT_MET, f"no {' or '.join(kinds)} in the treatment history{draft}"
        )
    window = criteria.prior_care_within_days
    best_unknown: TreatmentStay | None = None
    nearest_miss: TreatmentStay | None = None
    # Newest first: the most recent qualifying stay is the evidence.
    for stay in sorted(stays, key=lambda s: s.ended_on or s.started_on or date.min, reverse=True):
        outcome_ok: bool | None = True
        if criteria.prior_care_must_be_completed:
            outcome_ok = {"completed": True, "unknown": None}.get(stay.outcome, False)
        timing_ok: bool | None = True
        if window is not None:
            if stay.ended_on is None:
                timing_ok = None
            else:
                timing_ok = 0 <= (today - stay.ended_on).days <= window
        if outcome_ok and timing_ok:
            return RuleResult("prior_care", label, MET, _stay_text(stay, today) + draft)
        if outcome_ok is not False and timing_ok is not False and best_unknown is None:
            best_unknown = stay
        if nearest_miss is None:
            nearest_miss = stay
    if best_unknown is not None:
        missing = []
        if criteria.prior_care_must_be_completed and best_unknown.outcome == "unknown":
            missing.append("whether it was completed")
        if window is not None and best_unknown.ended_on is None:
            missing.append("the end date")
        return RuleResult(
            "prior_care",
            label,
            UNKNOWN,
            f"{_stay_text(best_unknown, today)}: {' and '.join(missing)} not recorded{draft}",
        )
    assert nearest_miss is not None
    return RuleResult("prior_care", label, NOT_MET, _stay_text(nearest_miss, today) + draft)


def _level_rule(criteria: EligibilityCriteria, facts: EligibilityFacts, today: date) -> RuleResult:
    label = "Recommended level 2.1, or a step-down from a higher level"
    finding = facts.level
    if finding is None:
        return RuleResult("level", label, UNKNOWN, "no level-of-care assessment")
    dims = ", ".join(f"Dimension {n}" for n in finding.driving_dimensions)
    text = f"recommended {level_label(finding.recommended)} on {finding.assessed_on.isoformat()}"
    if dims:
        text += f" (set by {dims})"
    if finding.chosen != finding.recommended:
        text += f"; {level_label(finding.chosen)} chosen"
    if finding.recommended == IOP_LEVEL:
        return RuleResult("level", label, MET, text)
    if more_intensive(finding.recommended, IOP_LEVEL):
        return RuleResult("level", label, NOT_MET, text + "; a more intensive level is needed")
    # Below 2.1: eligible only when stepping down from a recent higher-level stay.
    history = facts.treatment_history or ()
    recent = [
        s
        for s in history
        if s.treatment_type in HIGHER_THAN_IOP
        and s.ended_on is not None
        and 0 <= (today - s.ended_on).days <= criteria.step_down_within_days
    ]
    if recent:
        stay = max(recent, key=lambda s: s.ended_on or date.min)
        return RuleResult("level", label, MET, f"{text}; step-down after {_stay_text(stay, today)}")
    if facts.treatment_history is None:
        return RuleResult(
            "level", label, UNKNOWN, f"{text}; no treatment history to show a step-down"
        )
    return RuleResult(
        "level",
        label,
        NOT_MET,
        f"{text}; no higher-level stay ended in the last {_days(criteria.step_down_within_days)}",
    )


def evaluate_eligibility(
    criteria: EligibilityCriteria, facts: EligibilityFacts, today: date
) -> list[RuleResult]:
    """Each configured rule as met / not met / unknown, with the evidence that
    decided it. Source: issue 3 part 6 (product rules; thresholds are the program's)."""
    results: list[RuleResult] = []
    if criteria.min_age is not None or criteria.max_age is not None:
        results.append(_age_rule(criteria, facts, today))
    if criteria.prior_care_types:
        results.append(_prior_care_rule(criteria, facts, today))
    if criteria.require_level_2_1_or_step_down:
        results.append(_level_rule(criteria, facts, today))
    for index, text in enumerate(criteria.exclusions):
        answer = facts.exclusion_answers.get(str(index), "")
        if answer == "absent":
            results.append(RuleResult(f"exclusion_{index}", f"Not: {text}", MET, "marked absent"))
        elif answer == "present":
            results.append(
                RuleResult(f"exclusion_{index}", f"Not: {text}", NOT_MET, "marked present")
            )
        else:
            results.append(
                RuleResult(f"exclusion_{index}", f"Not: {text}", UNKNOWN, "not yet assessed")
            )
    return results


def eligibility_overall(results: Sequence[RuleResult]) -> str:
    if any(r.outcome == NOT_MET for r in results):
        return NOT_MET
    if any(r.outcome == UNKNOWN for r in results):
        return UNKNOWN
    return MET
