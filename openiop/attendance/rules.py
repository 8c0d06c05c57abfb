"""Pure rules of attendance and weekly hours compliance (no ORM, no clock).

Everything here works on plain values so it is table-tested without a database
(openiop/attendance/tests/test_rules.py). Status names are the values of
`openiop.attendance.models.AttendanceStatus`; they are spelled out here so the rules
read on their own.

Weeks run Monday to Sunday (local dates). Hours are counted from minutes attended in
group sessions and kept appointments (individual, medication management, case
management, family), because hours of service are what ASAM 2.1 and the Medicare IOP
benefit count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

# --- Attendance marks -----------------------------------------------------------------

PRESENT = "present"
LATE = "late"
LEFT_EARLY = "left_early"
ABSENT_EXCUSED = "absent_excused"
ABSENT_UNEXCUSED = "absent_unexcused"

ATTENDED = frozenset({PRESENT, LATE, LEFT_EARLY})
ABSENT = frozenset({ABSENT_EXCUSED, ABSENT_UNEXCUSED})
STATUSES = ATTENDED | ABSENT


def default_minutes(
    *, status: str, duration_minutes: int, late_minutes: int = 0, left_early_minutes: int = 0
) -> int:
    """Minutes attended when the facilitator does not type them: the session's length,
    less lateness and early leaving; none for an absence. Source: product decision
    (issue 4, "minutes attended defaulting from the session")."""
    if status not in ATTENDED:
        return 0
    late = late_minutes if status == LATE else 0
    early = left_early_minutes if status == LEFT_EARLY else 0
    return max(0, duration_minutes - late - early)


def mark_problems(
    *,
    status: str,
    duration_minutes: int,
    late_minutes: int | None,
    left_early_minutes: int | None,
    minutes_attended: int | None,
) -> dict[str, str]:
    """What is wrong with one roster line, by field ("" when nothing)."""
    problems: dict[str, str] = {}
    if status not in STATUSES:
        problems["status"] = "Choose present, late, left early or absent."
        return problems
    if status == LATE and not late_minutes:
        problems["late_minutes"] = "How many minutes late?"
    if status == LEFT_EARLY and not left_early_minutes:
        problems["left_early_minutes"] = "How many minutes before the end did they leave?"
    for name, value in (("late_minutes", late_minutes), ("left_early_minutes", left_early_minutes)):
        if value is not None and not 0 <= value <= duration_minutes:
            problems[name] = f"Between 0 and {duration_minutes} minutes."
    if minutes_attended is not None:
        if status in ABSENT and minutes_attended:
            problems["minutes_attended"] = "An absence has no minutes attended."
        elif not 0 <= minutes_attended <= duration_minutes:
            problems["minutes_attended"] = f"Between 0 and {duration_minutes} minutes."
    return problems


# --- Disengagement --------------------------------------------------------------------


def trailing_unexcused(outcomes: Sequence[str]) -> int:
    """How many unexcused absences end the patient's history (oldest first).

    An attended session ends the run; an excused absence neither ends nor extends it
    (the patient called ahead, so it says nothing either way); sessions the program
    cancelled are not in the history at all. Source: product decision, docs/ATTENDANCE.md
    "Disengagement"."""
    run = 0
    for outcome in reversed(outcomes):
        if outcome == ABSENT_UNEXCUSED:
            run += 1
        elif outcome == ABSENT_EXCUSED:
            continue
        else:
            break
    return run


def disengaged(outcomes: Sequence[str], *, threshold: int) -> bool:
    """Whether the last outcomes reach the program's consecutive-absence threshold
    (issue 4: two consecutive unexcused absences by default, configurable per program)."""
    return threshold > 0 and trailing_unexcused(outcomes) >= threshold


# --- Weeks ----------------------------------------------------------------------------


def week_start(day: date) -> date:
    """The Monday of the week holding `day` (weeks run Monday to Sunday)."""
    return day - timedelta(days=day.weekday())


def week_days(start: date) -> list[date]:
    return [start + timedelta(days=i) for i in range(7)]


# --- Weekly hours compliance ----------------------------------------------------------

# How a week the patient was enrolled for only part of (admitted or discharged
# mid-week) is judged. Neither ASAM nor the Medicare material in
# shared/reference/clinical.md settles it, so it is a per-program setting.
PRORATE = "prorate"  # the minimum scales with the share of the track's days enrolled
EXEMPT = "exempt"  # a partial week is shown but not judged
FULL = "full"  # the full minimum applies anyway
PARTIAL_WEEK_POLICIES = (PRORATE, EXEMPT, FULL)

MET = "met"
NOT_MET = "not_met"
# Short, but by no more than the hours of sessions the program itself cancelled: the
# shortfall is the program's, not held against the patient.
SHORT_BY_PROGRAM = "short_by_program"
NOT_JUDGED = "not_judged"  # partial week under the "exempt" policy
NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True)
class HourRule:
    """One weekly minimum: the track's own, ASAM 2.1, Medicare IOP, a payer's, a state's."""

    code: str
    label: str
    adult_hours: Decimal
    adolescent_hours: Decimal
    min_days: int | None = None
    source: str = ""
    applies: bool = True


# Source: shared/reference/clinical.md §2.1 (ASAM 3rd ed. level 2.1: 9 or more h/week
# adults, 6 or more adolescents; SAMHSA Advisory 2021 citing Mee-Lee et al. 2013).
ASAM_2_1 = HourRule(
    code="asam_2_1",
    label="ASAM 2.1",
    adult_hours=Decimal(9),
    adolescent_hours=Decimal(6),
    source="ASAM Criteria 3rd ed. level 2.1 (SAMHSA Advisory 2021)",
)
# Source: shared/reference/clinical.md §3 (CAA 2023 §4124; CY2024 OPPS final rule:
# at least 9 hours of services per week). No adolescent distinction in the rule.
MEDICARE_IOP = HourRule(
    code="medicare_iop",
    label="Medicare IOP",
    adult_hours=Decimal(9),
    adolescent_hours=Decimal(9),
    source="Medicare IOP, CAA 2023 §4124 / CY2024 OPPS final rule",
)
DEFAULT_RULES = (ASAM_2_1, MEDICARE_IOP)


@dataclass(frozen=True)
class Service:
    """Minutes of one attended group session or kept appointment."""

    on: date
    minutes: int


@dataclass(frozen=True)
class WeekFacts:
    """What the rule needs to judge one patient's week."""

    week_start: date
    services: Sequence[Service]
    # Minutes of the patient's sessions and appointments that the program cancelled.
    program_cancelled: Sequence[Service] = ()
    # The patient's enrolment: first day on the rosters and first day off them (None
    # = still enrolled). Days outside it are not expected of the patient.
    enrolled_from: date | None = None
    enrolled_until: date | None = None
    # The track's weekdays (Monday = 0): the days a partial week is prorated over.
    track_weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    adolescent: bool = False


@dataclass(frozen=True)
class RuleResult:
    code: str
    label: str
    status: str
    required_hours: Decimal
    required_days: int | None
    shortfall_hours: Decimal
    source: str = ""

    @property
    def met(self) -> bool:
        return self.status == MET


@dataclass(frozen=True)
class WeekCompliance:
    week_start: date
    hours: Decimal
    days: int
    partial_week: bool
    enrolled_share: Decimal
    program_cancelled_hours: Decimal
    results: list[RuleResult] = field(default_factory=list)

    @property
    def all_met(self) -> bool:
        judged = [r for r in self.results if r.status not in (NOT_APPLICABLE, NOT_JUDGED)]
        return all(r.status in (MET, SHORT_BY_PROGRAM) for r in judged)

    def result(self, code: str) -> RuleResult | None:
        return next((r for r in self.results if r.code == code), None)


_HUNDREDTH = Decimal("0.01")


def _hours(minutes: int) -> Decimal:
    return (Decimal(minutes) / Decimal(60)).quantize(_HUNDREDTH, rounding=ROUND_HALF_UP)


def _in_week(day: date, start: date) -> bool:
    return start <= day < start + timedelta(days=7)


def enrolled_share(facts: WeekFacts) -> Decimal:
    """The share of the track's days this week inside the patient's enrolment (1 when
    the enrolment covers the whole week)."""
    track_days = [d for d in week_days(facts.week_start) if d.weekday() in facts.track_weekdays]
    if not track_days:
        return Decimal(1)
    inside = [
        d
        for d in track_days
        if (facts.enrolled_from is None or d >= facts.enrolled_from)
        and (facts.enrolled_until is None or d < facts.enrolled_until)
    ]
    return Decimal(len(inside)) / Decimal(len(track_days))


def week_compliance(
    *, facts: WeekFacts, rules: Iterable[HourRule], partial_week_policy: str = PRORATE
) -> WeekCompliance:
    """Hours and days attended in one week against each rule, and which are met.

    Only services inside the week count (Monday 00:00 to Sunday 24:00, local dates).
    A day counts when the patient attended any minutes that day. A rule is met when
    the hours (and its days, if it has a day minimum) reach its minimum; when the
    patient is short by no more than the hours the program cancelled, the result is
    `short_by_program` (not held against the patient). A partial week (enrolled for
    only some of the track's days) follows the program's policy: prorate the minimum
    (hours and days, rounded up to whole days), exempt it, or apply it in full.
    Sources: ASAM/Medicare minimums per shared/reference/clinical.md §2.1 and §3;
    partial weeks and program cancellations: product decision, docs/ATTENDANCE.md.
    """
    if partial_week_policy not in PARTIAL_WEEK_POLICIES:
        raise ValueError(f"Unknown partial-week policy {partial_week_policy!r}")
    minutes_by_day: dict[date, int] = {}
    for service in facts.services:
        if _in_week(service.on, facts.week_start) and service.minutes > 0:
            minutes_by_day[service.on] = minutes_by_day.get(service.on, 0) + service.minutes
    total = sum(minutes_by_day.values())
    hours = _hours(total)
    days = len(minutes_by_day)
    cancelled_hours = _hours(
        sum(s.minutes for s in facts.program_cancelled if _in_week(s.on, facts.week_start))
    )
    share = enrolled_share(facts)
    partial = share < 1
    results = []
    for rule in rules:
        full_hours = rule.adolescent_hours if facts.adolescent else rule.adult_hours
        required_hours = full_hours
        required_days = rule.min_days
        if partial and partial_week_policy == PRORATE:
            required_hours = (full_hours * share).quantize(_HUNDREDTH, rounding=ROUND_HALF_UP)
            if required_days is not None:
                required_days = int((Decimal(required_days) * share).to_integral_value("ROUND_UP"))
        shortfall = max(Decimal(0), required_hours - hours)
        days_short = required_days is not None and days < required_days
        if not rule.applies:
            status = NOT_APPLICABLE
        elif partial and partial_week_policy == EXEMPT:
            status = NOT_JUDGED
        elif shortfall == 0 and not days_short:
            status = MET
        elif shortfall <= cancelled_hours and cancelled_hours > 0:
            status = SHORT_BY_PROGRAM
        else:
            status = NOT_MET
        results.append(
            RuleResult(
                code=rule.code,
                label=rule.label,
                status=status,
                required_hours=required_hours,
                required_days=required_days,
                shortfall_hours=shortfall,
                source=rule.source,
            )
        )
    return WeekCompliance(
        week_start=facts.week_start,
        hours=hours,
        days=days,
        partial_week=partial,
        enrolled_share=share,
        program_cancelled_hours=cancelled_hours,
        results=results,
    )


# --- Which hour rules apply -----------------------------------------------------------

# A configured rule replaces the default or a broader rule of the same code; the most
# specific scope wins.
SCOPE_RANK = {"all": 0, "plan_type": 1, "payer": 2, "program": 3}


@dataclass(frozen=True)
class ConfiguredRule:
    """A row of the organization's hour-rule settings, as plain values."""

    rule: HourRule
    scope: str  # all | plan_type | payer | program
    program_id: int | None = None
    payer_id: int | None = None
    plan_type: str = ""


def rules_for(
    *,
    configured: Sequence[ConfiguredRule],
    program_id: int,
    level_of_care: str,
    payer_ids: frozenset[int],
    plan_types: frozenset[str],
    track_rule: HourRule | None,
) -> list[HourRule]:
    """The rules a patient's week is judged against: the track's own minimum, ASAM 2.1
    (applies when the episode's level of care is 2.1), Medicare IOP (applies when the
    patient has Medicare coverage), and every configured rule whose scope matches
    (program, payer, plan type or everyone). A configured rule with the code of a
    default (`asam_2_1`, `medicare_iop`) replaces that default's numbers; between
    configured rules of one code the most specific scope wins."""
    chosen: dict[str, tuple[int, ConfiguredRule]] = {}
    for row in configured:
        matches = (
            row.scope == "all"
            or (row.scope == "program" and row.program_id == program_id)
            or (row.scope == "payer" and row.payer_id in payer_ids)
            or (row.scope == "plan_type" and row.plan_type in plan_types)
        )
        if not matches:
            continue
        rank = SCOPE_RANK.get(row.scope, 0)
        if row.rule.code not in chosen or chosen[row.rule.code][0] < rank:
            chosen[row.rule.code] = (rank, row)
    out: list[HourRule] = [track_rule] if track_rule is not None else []
    defaults = {r.code: r for r in DEFAULT_RULES}
    for code, default in defaults.items():
        rule = chosen.pop(code)[1].rule if code in chosen else default
        applies = level_of_care == "2.1" if code == "asam_2_1" else "medicare" in plan_types
        out.append(_with_applies(rule, applies))
    out.extend(row.rule for _, row in sorted(chosen.values(), key=lambda v: v[1].rule.code))
    return out


def _with_applies(rule: HourRule, applies: bool) -> HourRule:
    return HourRule(
        code=rule.code,
        label=rule.label,
        adult_hours=rule.adult_hours,
        adolescent_hours=rule.adolescent_hours,
        min_days=rule.min_days,
        source=rule.source,
        applies=applies,
    )


def is_adolescent(*, date_of_birth: date, on: date, track_population: str) -> bool:
    """Adolescent minimums apply in an adolescent track, or to anyone under 18 on the
    first day of the week. Source: clinical.md §2.1 (ASAM adult/adolescent minimums)."""
    if track_population == "adolescent":
        return True
    years = (
        on.year
        - date_of_birth.year
        - ((on.month, on.day) < (date_of_birth.month, date_of_birth.day))
    )
    return years < 18
