"""Pure decisions for screening, suicide-risk alerts and safety plans.

No ORM and no clock: times are passed in. Scoring itself is the instruments engine
(`openiop.instruments`); these rules decide what the form layer does around it and
what a result means for the patient's safety.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from openiop.instruments import Flag, RiskLevel, asked_items, get_definition
from openiop.instruments.schema import AnswerValue, RuleInput

# A clock on another device may run a little ahead; beyond this a time is "in the future".
FUTURE_TOLERANCE = timedelta(minutes=5)

Answers = Mapping[int, AnswerValue | None]
Problem = tuple[str | None, str]  # (form field or None for the whole form, message)

# --- answers around the engine ------------------------------------------------------

# Source: WHO AUDIT manual (Babor 2001) paper form: "Never" on item 1 skips to item 9, and
# the skipped items score 0 (docs/INSTRUMENTS.md, "AUDIT paper-form skip").
AUDIT_NEVER_SKIPS: dict[str, tuple[int, ...]] = {
    "AUDIT": (2, 3, 4, 5, 6, 7, 8),
    "AUDIT-C": (2, 3),
}
AUDIT_NEVER = 0


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def fill_audit_never_drinks(code: str, answers: Answers) -> dict[int, AnswerValue | None]:
    """AUDIT/AUDIT-C: when item 1 is "Never", record 0 for the skipped items left blank.

    Answers actually given are never changed."""
    filled = dict(answers)
    skipped = AUDIT_NEVER_SKIPS.get(code)
    first = filled.get(1)
    if skipped is None or _blank(first) or str(first).strip() != str(AUDIT_NEVER):
        return filled
    for number in skipped:
        if _blank(filled.get(number)):
            filled[number] = AUDIT_NEVER
    return filled


def drop_unasked(
    code: str, answers: Answers
) -> tuple[dict[int, AnswerValue | None], tuple[int, ...]]:
    """Remove answers to items the skip logic says were not asked.

    A page without JavaScript shows every item, so a patient may answer C-SSRS item 3
    after a "No" to item 2. The engine refuses such answers (NOT_APPLICABLE); we drop
    them instead and tell the user which items were dropped.
    Source: docs/INSTRUMENTS.md "Skipped-item answers"; clinical.md §1.6 (Q2 = No -> Q6).
    """
    definition = get_definition(code)
    asked = set(asked_items(code, answers))
    kept: dict[int, AnswerValue | None] = {}
    dropped: list[int] = []
    for number, value in answers.items():
        if _blank(value):
            continue
        known = isinstance(number, int) and definition.item(number) is not None
        if known and number not in asked:
            dropped.append(number)
            continue
        kept[number] = value  # unknown items stay, for the engine to name
    return kept, tuple(sorted(dropped))


def normalize_answer(value: AnswerValue) -> int:
    """The stored option value of an answer the engine has accepted (2, "2", True, "yes")."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    text = value.strip().lower()
    if text in {"yes", "y", "true"}:
        return 1
    if text in {"no", "n", "false"}:
        return 0
    return int(text)


def skip_note(code: str, number: int) -> str:
    """The note shown beside an item that is asked only after another answer."""
    definition = get_definition(code)
    item = definition.item(number)
    if item is None or item.asked_if is None:
        return ""
    controlling = definition.item(item.asked_if.item)
    if controlling is None:  # pragma: no cover - definitions are checked by their tests
        return ""
    labels = [
        option.label for option in controlling.scale.options if option.value in item.asked_if.values
    ]
    if len(labels) == 1:
        wanted = f'is "{labels[0]}"'
    else:
        wanted = "is " + " or ".join(f'"{label}"' for label in labels)
    return f"Answer only if item {controlling.display_label} {wanted}."


# --- suicide risk -------------------------------------------------------------------

SEVERITY_RANK = {"low": 0, "moderate": 1, "high": 2}


@dataclass(frozen=True)
class AlertDecision:
    severity: str  # an alerts.AlertSeverity value
    requires_response: bool
    title: str
    task_title: str


def cssrs_draft_risk(values: Mapping[int, int]) -> str:
    """The C-SSRS risk tier the answers given so far already reach.

    Every trigger of the tier rule is a "yes" (or a behaviour answer), so more answers can
    only raise the tier: the tier of a partial answer set is a safe lower bound.
    Source: clinical.md §1.6 (categorical tiers; Q4/Q5/recent behaviour = high).
    """
    rule = get_definition("C-SSRS").rule
    assert rule is not None
    outcome = rule(RuleInput(values=values, points=values, total=None, subscales={}, thresholds={}))
    return str(outcome.risk_level or RiskLevel.NONE)


def suicide_alert_for(
    *, code: str, flags: tuple[str, ...] | list[str], risk_level: str | None
) -> AlertDecision | None:
    """Whether a (possibly draft) result raises a suicide-risk alert, and how severe.

    - C-SSRS high risk: severity high, a documented response and a safety plan required
      before the alert can be resolved. Source: clinical.md §1.6 (Q4, Q5 or behaviour in the
      past 3 months = high risk, immediate evaluation and safety precautions); §9.
    - C-SSRS moderate risk: severity moderate. Source: clinical.md §1.6 (Q3, or behaviour
      more than 3 months ago). C-SSRS low risk (Q1/Q2 only) raises no alert.
    - PHQ-9 item 9 above 0 (the `suicide_risk` flag of any other instrument): severity
      moderate; the task asks for a same-day risk assessment (for example a C-SSRS), whose
      result escalates if needed. Source: clinical.md §1.1 (critical item 9).
    """
    if code == "C-SSRS":
        if risk_level == RiskLevel.HIGH:
            return AlertDecision(
                severity="high",
                requires_response=True,
                title="C-SSRS screener: high suicide risk",
                task_title=(
                    "High suicide risk (C-SSRS): evaluate now, record the response and a "
                    "safety plan"
                ),
            )
        if risk_level == RiskLevel.MODERATE:
            return AlertDecision(
                severity="moderate",
                requires_response=False,
                title="C-SSRS screener: moderate suicide risk",
                task_title="Moderate suicide risk (C-SSRS): assess today, review the safety plan",
            )
        return None
    if Flag.SUICIDE_RISK in flags:
        what = f"{code} item 9 positive" if code == "PHQ-9" else f"{code} suicide-risk answer"
        return AlertDecision(
            severity="moderate",
            requires_response=False,
            title=f"{what}: suicide risk",
            task_title=f"{what}: assess suicide risk today (e.g. C-SSRS)",
        )
    return None


def risk_alert_resolution_problems(
    *,
    kind: str,
    severity: str,
    requires_response: bool,
    response_count: int,
    has_safety_plan: bool,
) -> list[str]:
    """What still stands between an open suicide-risk alert and its resolution.

    A high-risk alert needs a documented response (who assessed, disposition, time) and
    a safety plan for the patient. Source: issue 3 part 3; clinical.md §1.6 (high risk:
    immediate evaluation and safety precautions), §9 (Stanley-Brown safety plan).
    """
    if kind != "suicide_risk" or not (requires_response or severity == "high"):
        return []
    problems = []
    if response_count == 0:
        problems.append("Record the risk response (who assessed, disposition, time) first.")
    if not has_safety_plan:
        problems.append("Write the patient's safety plan first.")
    return problems


def risk_response_problems(
    *,
    disposition: str,
    notes: str,
    assessed_at: datetime,
    screened_at: datetime | None,
    now: datetime,
) -> list[Problem]:
    """Checks on a documented risk response. Source: issue 3 part 3 (who, disposition, time)."""
    problems: list[Problem] = []
    if assessed_at > now + FUTURE_TOLERANCE:
        problems.append(("assessed_at", "The assessment time is in the future."))
    elif screened_at is not None and assessed_at < screened_at - FUTURE_TOLERANCE:
        problems.append(("assessed_at", "The assessment time is before the screen it responds to."))
    if disposition == "other" and not notes.strip():
        problems.append(("notes", "Describe the disposition in the notes."))
    return problems


def administered_at_problem(*, administered_at: datetime, now: datetime) -> str | None:
    if administered_at > now + FUTURE_TOLERANCE:
        return "The time given is in the future."
    return None


# --- safety plan --------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    name: str
    phone: str


@dataclass(frozen=True)
class SafetyPlanContent:
    """The six steps (our own labels; the Stanley-Brown form itself is copyrighted,
    clinical.md §9), plus optional reasons for living."""

    warning_signs: tuple[str, ...]
    coping_strategies: tuple[str, ...]
    social_distractions: tuple[str, ...]
    help_contacts: tuple[Contact, ...]
    professional_contacts: tuple[Contact, ...]
    environment_safety: tuple[str, ...]
    reasons_for_living: str = ""
    developed_with_patient: bool = True


# Source: clinical.md §9 step 5 (crisis line: 988 in the US).
CRISIS_LINE = Contact(name="988 Suicide & Crisis Lifeline (call or text)", phone="988")


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _contact_problems(prefix: str, contacts: tuple[Contact, ...]) -> list[Problem]:
    problems: list[Problem] = []
    for index, contact in enumerate(contacts):
        name, phone = contact.name.strip(), contact.phone.strip()
        if name and not phone:
            problems.append((f"{prefix}_phone_{index}", "Add a phone number for this person."))
        elif phone and not name:
            problems.append((f"{prefix}_name_{index}", "Add who this number reaches."))
        elif phone and len(_digits(phone)) < 3:
            problems.append((f"{prefix}_phone_{index}", "Enter a phone number (digits)."))
    return problems


def safety_plan_problems(content: SafetyPlanContent) -> list[Problem]:
    """What a safety plan must hold before it is saved.

    Steps 1, 2, 5 and 6 are required: warning signs, the patient's own coping strategies,
    at least one professional or crisis line, and how the environment is made safe. Steps 3
    and 4 (people and places) may be empty: some patients name nobody yet.
    Source: clinical.md §9 (steps 1-6; Stanley & Brown 2012).
    """
    problems: list[Problem] = []
    if not content.warning_signs:
        problems.append(
            ("warning_signs", "List at least one warning sign, in the patient's words.")
        )
    if not content.coping_strategies:
        problems.append(("coping_strategies", "List at least one thing the patient can do alone."))
    problems += _contact_problems("help", content.help_contacts)
    problems += _contact_problems("professional", content.professional_contacts)
    if not any(c.name.strip() and c.phone.strip() for c in content.professional_contacts):
        problems.append(
            ("professional_name_0", "Give at least one professional or crisis line (988).")
        )
    if not content.environment_safety:
        problems.append(
            ("environment_safety", "Say how access to lethal means is restricted or removed.")
        )
    return problems
