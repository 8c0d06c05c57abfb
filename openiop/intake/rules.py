"""Pure rules of intake (no ORM, no clock: the time is passed in).

Stage names are the values of `openiop.intake.models.ReferralStage`; they are spelled
out here so the rules read on their own and are table-tested without a database.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

# --- The referral pipeline ------------------------------------------------------------

# The order a referral normally travels (used to move forward, never back, when a
# referral is registered as a patient).
PIPELINE = (
    "new",
    "contacted",
    "screening_scheduled",
    "assessed",
    "offered_admission",
    "admitted",
)
OPEN_STAGES = frozenset(
    {"new", "contacted", "screening_scheduled", "assessed", "offered_admission"}
)
CLOSED_STAGES = frozenset({"admitted", "declined", "referred_elsewhere", "unable_to_reach"})
# A closed referral stays closed, except that one closed without admission may be
# reopened (the person calls back, the other program had no place): it goes back to
# "contacted", with a reason. "admitted" is final: a return to care is a new referral
# and a new episode (a readmission), as episodes do.
REOPENABLE = frozenset({"declined", "referred_elsewhere", "unable_to_reach"})
REOPEN_TO = "contacted"
# "admitted" is reached only by admitting the patient (openiop.intake.services.
# episode_admit), which checks consents; it is never a card move on the board. An
# admission closes the referral from any open stage (staff do not always move the card
# through every stage first).
ADMISSION_ONLY = frozenset({"admitted"})

_ENDINGS = frozenset({"declined", "referred_elsewhere", "unable_to_reach"})

# Allowed moves. Forward steps may skip ahead (a hospital referral arrives with an
# assessment); the only step back is a missed screening (screening scheduled →
# contacted). Every open stage may end as declined, referred elsewhere or unable to
# reach. Source: product decision, docs/INTAKE.md "Stages".
ALLOWED_MOVES: dict[str, frozenset[str]] = {
    "new": frozenset({"contacted", "screening_scheduled"}) | _ENDINGS,
    "contacted": frozenset({"screening_scheduled", "assessed"}) | _ENDINGS,
    "screening_scheduled": frozenset({"contacted", "assessed"}) | _ENDINGS,
    "assessed": frozenset({"offered_admission"}) | _ENDINGS,
    "offered_admission": frozenset({"admitted"}) | _ENDINGS,
    "admitted": frozenset(),
    "declined": frozenset({REOPEN_TO}),
    "referred_elsewhere": frozenset({REOPEN_TO}),
    "unable_to_reach": frozenset({REOPEN_TO}),
}

# Moves that need a reason in words: why the person declined, where they were sent,
# why a closed referral is reopened.
REASON_REQUIRED_TO = frozenset({"declined", "referred_elsewhere"})

STAGE_LABELS: dict[str, str] = {
    "new": "New",
    "contacted": "Contacted",
    "screening_scheduled": "Screening scheduled",
    "assessed": "Assessed",
    "offered_admission": "Offered admission",
    "admitted": "Admitted",
    "declined": "Declined",
    "referred_elsewhere": "Referred elsewhere",
    "unable_to_reach": "Unable to reach",
}


def stage_move_allowed(from_stage: str, to_stage: str) -> bool:
    return to_stage in ALLOWED_MOVES.get(from_stage, frozenset())


def stage_move_problem(
    *, from_stage: str, to_stage: str, reason: str, by_admission: bool = False
) -> str | None:
    """Why a referral may not move between two stages, or None when it may."""
    if to_stage not in STAGE_LABELS:
        return "Choose a stage."
    if from_stage == to_stage:
        return "The referral is already in this stage."
    if to_stage in ADMISSION_ONLY:
        if not by_admission:
            return (
                "A referral becomes admitted when its patient is admitted (Admit, on the "
                "patient's chart), which checks the required consents."
            )
        # Admitting closes the referral from wherever it stood in the open pipeline.
        if from_stage in OPEN_STAGES:
            return None
    if not stage_move_allowed(from_stage, to_stage):
        if from_stage == "admitted":
            return "An admitted referral is final; a return to care is a new referral."
        if from_stage in REOPENABLE:
            return (
                f"This referral is closed ({STAGE_LABELS[from_stage]}); it can only be "
                f"reopened to {STAGE_LABELS[REOPEN_TO]}."
            )
        return (
            f"A referral cannot move from {STAGE_LABELS[from_stage]} to {STAGE_LABELS[to_stage]}."
        )
    if to_stage in REASON_REQUIRED_TO and not reason.strip():
        return f"Give a reason for {STAGE_LABELS[to_stage].lower()}."
    if from_stage in REOPENABLE and not reason.strip():
        return "Give a reason for reopening this referral."
    return None


def board_moves(from_stage: str) -> list[str]:
    """The stages a card may be moved to from the board, in pipeline order."""
    allowed = ALLOWED_MOVES.get(from_stage, frozenset()) - ADMISSION_ONLY
    return [stage for stage in STAGE_LABELS if stage in allowed]


def days_between(earlier: datetime, later: datetime) -> int:
    """Whole days from one moment to another (0 on the same day or for a future moment)."""
    return max(0, (later - earlier) // timedelta(days=1))


# --- Contact attempts -----------------------------------------------------------------

FAILED_OUTCOMES = frozenset({"voicemail", "no_answer", "wrong_number"})
# Three unanswered attempts in a row suggest closing the referral as unable to reach.
# Source: product decision (issue 3 part 1), a common intake-line practice.
UNREACHED_AFTER = 3


def failed_attempts_in_a_row(outcomes_oldest_first: Sequence[str]) -> int:
    """Failed attempts since the person was last reached."""
    count = 0
    for outcome in reversed(outcomes_oldest_first):
        if outcome not in FAILED_OUTCOMES:
            break
        count += 1
    return count


def suggest_unable_to_reach(*, stage: str, outcomes_oldest_first: Sequence[str]) -> bool:
    """Whether to suggest moving an open referral to "unable to reach"."""
    return (
        stage in OPEN_STAGES
        and stage_move_allowed(stage, "unable_to_reach")
        and failed_attempts_in_a_row(outcomes_oldest_first) >= UNREACHED_AFTER
    )


def contact_attempt_problem(
    *, attempted_at: datetime, received_at: datetime, now: datetime
) -> str | None:
    if attempted_at > now + timedelta(minutes=5):
        return "A contact attempt cannot be in the future."
    if attempted_at < received_at - timedelta(days=1):
        return "This is before the referral was received."
    return None


# --- Recording a referral -------------------------------------------------------------


def referral_problems(
    *,
    date_of_birth: date | None,
    received_at: datetime,
    phone_digits: str,
    email: str,
    referrer_phone_digits: str,
    today: date,
    now: datetime,
) -> dict[str, str]:
    """Field-by-field problems of a referral's details (field name → message)."""
    problems: dict[str, str] = {}
    if date_of_birth is not None:
        if date_of_birth > today:
            problems["date_of_birth"] = "Date of birth cannot be in the future."
        elif date_of_birth.year < today.year - 120:
            problems["date_of_birth"] = "Check the year of birth."
    if received_at > now + timedelta(minutes=5):
        problems["received_at"] = "The referral cannot be received in the future."
    if phone_digits and len(phone_digits) != 10:
        problems["phone"] = "Enter a 10-digit phone number, for example 555-201-3344."
    if referrer_phone_digits and len(referrer_phone_digits) != 10:
        problems["referrer_phone"] = "Enter a 10-digit phone number, for example 555-201-3344."
    if not (phone_digits or email.strip() or referrer_phone_digits) and "phone" not in problems:
        problems["phone"] = (
            "Give at least one way to reach the person: their phone or email, or the "
            "referring contact's phone."
        )
    return problems


# TEDS referral source (PSOURCE) of each source type, for state admission records.
# Source: clinical.md section 7 (PSOURCE: 1 individual/self, 2 alcohol/drug use care
# provider, 3 other health care provider, 4 school, 5 employer/EAP, 6 other community
# referral, 7 court/criminal justice/DUI/DWI).
TEDS_PSOURCE: dict[str, int] = {
    "self": 1,
    "family": 1,
    "detox": 2,
    "residential": 2,
    "primary_care": 3,
    "hospital": 3,
    "school": 4,
    "employer": 5,
    "other": 6,
    "court": 7,
}


def teds_referral_source(source_type: str) -> int:
    return TEDS_PSOURCE[source_type]


# --- Registering a referral as a patient -------------------------------------------------


def conversion_problem(*, stage: str, already_linked: bool) -> str | None:
    if already_linked:
        return "This referral is already registered as a patient."
    if stage in CLOSED_STAGES:
        return (
            f"This referral is closed ({STAGE_LABELS[stage]}). Reopen it before "
            "registering the person."
        )
    return None


def stage_after_conversion(*, stage: str, episode_status: str) -> str:
    """Registering moves the referral forward to match its new episode, never back:
    an episode in screening means screening is scheduled; a referred episode means the
    person was at least contacted (their details were taken)."""
    target = "screening_scheduled" if episode_status == "screening" else "contacted"
    if stage in PIPELINE and PIPELINE.index(stage) >= PIPELINE.index(target):
        return stage
    return target


# --- Observation visits ------------------------------------------------------------------


def observation_problem(
    *, visit_date: date, today: date, referral_stage: str | None, episode_status: str | None
) -> str | None:
    """An observation visit is for someone still deciding: an open referral, or a
    patient whose episode is referred or in screening (not yet active)."""
    if visit_date > today:
        return "Record the visit on or after the day it took place."
    if referral_stage is not None and referral_stage not in OPEN_STAGES:
        return "Observation visits are for open referrals (this one is closed)."
    if episode_status is not None and episode_status not in {"referred", "screening"}:
        return "Observation visits are for patients not yet admitted."
    return None


# --- Admission ---------------------------------------------------------------------------

DEFAULT_LEVEL_OF_CARE = "2.1"  # ASAM 2.1, intensive outpatient (clinical.md section 2.1)
MAX_EXPECTED_WEEKS = 26  # an IOP stay runs "weeks to about three months" (PRODUCT.md)
MAX_DAYS_AHEAD = 30


def admission_level(*, assessed_level: str | None, valid_levels: Sequence[str]) -> str:
    """The level offered at admission: the level-of-care assessment's, else 2.1."""
    if assessed_level and assessed_level in valid_levels:
        return assessed_level
    return DEFAULT_LEVEL_OF_CARE


def admission_problems(
    *,
    episode_status: str,
    start_date: date,
    referred_on: date,
    expected_weeks: int,
    today: date,
) -> dict[str, str]:
    """Field-by-field problems of an admission (field name, or "" for the form)."""
    problems: dict[str, str] = {}
    if episode_status == "active":
        problems[""] = "This episode is already active (the patient is admitted)."
    elif episode_status not in {"referred", "screening"}:
        problems[""] = "Only a referred or screening episode can be admitted."
    if start_date < referred_on:
        problems["start_date"] = "The start date is before the episode was opened."
    elif start_date > today + timedelta(days=MAX_DAYS_AHEAD):
        problems["start_date"] = f"Admit at most {MAX_DAYS_AHEAD} days ahead."
    if not 1 <= expected_weeks <= MAX_EXPECTED_WEEKS:
        problems["expected_weeks"] = f"Expect between 1 and {MAX_EXPECTED_WEEKS} weeks."
    return problems
