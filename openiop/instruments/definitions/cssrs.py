"""C-SSRS Screener (short screening version, recent).

Licence note: copyright Research Foundation for Mental Hygiene; Clario holds an exclusive
licence for electronic implementations. Whether an open-source EHR may ship the item
text is unresolved (clinical.md §1.6, open item 9), so `text` holds category labels,
not the questions. A deploying site loads the licensed wording; the scoring logic here
does not depend on it.

Item 6 combines the behaviour question and its "within the past 3 months?" follow-up
into one answer (0 = No, 1 = Yes, more than 3 months ago, 2 = Yes, within 3 months),
keeping the form's own numbering 1-6.
"""

from __future__ import annotations

from openiop.instruments.definitions._scales import YES_NO
from openiop.instruments.schema import (
    AskedIf,
    CriticalItem,
    Flag,
    InstrumentDefinition,
    Item,
    ItemText,
    Licence,
    Option,
    ResponseScale,
    RiskLevel,
    RuleInput,
    RuleOutput,
)

BEHAVIOUR = ResponseScale(
    options=(
        Option(value=0, label="No", points=0),
        Option(value=1, label="Yes, more than 3 months ago", points=1),
        Option(value=2, label="Yes, within the past 3 months", points=2),
    )
)
BEHAVIOUR_LIFETIME = 1
BEHAVIOUR_RECENT = 2

# Source: Rula C-SSRS article / clinical.md §1.6 (if Q2 = No go to Q6; else ask Q3-Q5 and Q6)
AFTER_ACTIVE_THOUGHTS = AskedIf(item=2, values=frozenset({1}))

# Source: Rula; docsbay triage guidelines / clinical.md §1.6 (category of each question)
CSSRS_ITEMS = (
    Item(1, "Wish to be dead", YES_NO),
    Item(2, "Non-specific active suicidal thoughts", YES_NO),
    Item(
        3,
        "Suicidal thoughts with a method, without intent to act",
        YES_NO,
        asked_if=AFTER_ACTIVE_THOUGHTS,
    ),
    Item(4, "Suicidal intent, without a specific plan", YES_NO, asked_if=AFTER_ACTIVE_THOUGHTS),
    Item(5, "Suicidal intent with a specific plan", YES_NO, asked_if=AFTER_ACTIVE_THOUGHTS),
    Item(6, "Suicidal behaviour (ever; and whether within the past 3 months)", BEHAVIOUR),
)


def cssrs_risk(rule_input: RuleInput) -> RuleOutput:
    """Categorical risk tier. Never a sum of yes answers (a vendor invention).

    Source: docsbay C-SSRS triage guidelines; Blueprint / clinical.md §1.6 (high: High
    confidence; low/moderate split: Medium).
    """
    values = rule_input.values

    def yes(number: int) -> bool:
        return values.get(number) == 1

    behaviour = values.get(6, 0)
    if yes(4) or yes(5) or behaviour == BEHAVIOUR_RECENT:
        return RuleOutput(flags=(Flag.CSSRS_HIGH,), risk_level=RiskLevel.HIGH)
    if yes(3) or behaviour == BEHAVIOUR_LIFETIME:
        return RuleOutput(flags=(Flag.CSSRS_MODERATE,), risk_level=RiskLevel.MODERATE)
    if yes(1) or yes(2):
        return RuleOutput(risk_level=RiskLevel.LOW)
    return RuleOutput(risk_level=RiskLevel.NONE)


CSSRS = InstrumentDefinition(
    code="C-SSRS",
    name="Columbia-Suicide Severity Rating Scale, Screener",
    version="1",
    instructions="Questions about the past month (Q6: ever, and within the past 3 months).",
    lookback="past month; behaviour: lifetime and past 3 months",
    items=CSSRS_ITEMS,
    licence=Licence(
        holder="Research Foundation for Mental Hygiene (RFMH); electronic licence: Clario",
        terms=(
            "Columbia describes the scale as free for community and clinical use; Clario holds "
            "an exclusive licence for electronic implementations (sublicence, fees, "
            "certification). Status for an OSS EHR unresolved."
        ),
        attribution="Posner K et al. Columbia-Suicide Severity Rating Scale (C-SSRS).",
        item_text=ItemText.PARAPHRASE,
        verified=False,
        notes=(
            "Item text is category labels only. Contact the Columbia Lighthouse Project / RFMH "
            "before shipping the questions (clinical.md §1.6, open item 9)."
        ),
    ),
    has_total=False,
    # Any yes starts a suicide-risk follow-up, also on drafts; the tier comes from the rule.
    # Source: docsbay triage guidelines / clinical.md §1.6 (Q1/Q2 alone are already low risk)
    critical_items=tuple(
        CriticalItem(item=number, flag=Flag.SUICIDE_RISK, min_points=1) for number in range(1, 7)
    ),
    rule=cssrs_risk,
    loinc_panel="93373-9",
    loinc_note="Panel 93373-9 Medium confidence; Q1 = 93246-7 (clinical.md §1.6).",
    references=(
        (
            "Posner K et al. The Columbia-Suicide Severity Rating Scale. Am J Psychiatry "
            "2011;168:1266-1277."
        ),
    ),
)
