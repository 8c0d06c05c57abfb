"""Brief Addiction Monitor (BAM), VA VISN 4 MIRECC. 17 items, past 30 days.

Item 7 has sub-items 7A-7G. Answers are keyed by int, so they are numbered 71-77 with
display labels "7A"-"7G". They elaborate item 6, are asked only if item 6 is above 0,
are optional and are not scored. Item 17 is asked but not scored. There is no total.

Licence: VA-developed, so probably a US Government work in the public domain, but
clinical.md §1.8 marks that Unverified. Item text follows the VA form as published.
"""

from __future__ import annotations

from openiop.instruments.definitions._scales import ordinal
from openiop.instruments.errors import ErrorCode, InstrumentError
from openiop.instruments.schema import (
    AskedIf,
    Flag,
    InstrumentDefinition,
    Item,
    ItemText,
    Licence,
    Option,
    ResponseScale,
    RuleInput,
    RuleOutput,
    Subscale,
    Threshold,
)

# Source: VA BAM form (jjcurtin/arc_measures BAM.pdf) / clinical.md §1.8 (bins scored 0-4)
DAYS = ordinal("0 days", "1-3 days", "4-8 days", "9-15 days", "16-30 days")
DAY_BINS = ((0, 0), (1, 3), (4, 8), (9, 15), (16, 30))
# Source: VA BAM form / clinical.md §1.8 (item 1 runs Excellent -> Poor, 0-4)
HEALTH = ordinal("Excellent", "Very good", "Good", "Fair", "Poor")
EXTENT = ordinal("Not at all", "Slightly", "Moderately", "Considerably", "Extremely")
# Source: two public BAM implementations seen in the code corpus (No = 0, Yes = 4); Medium
INCOME = ResponseScale(
    options=(Option(value=0, label="No", points=0), Option(value=1, label="Yes", points=4)),
    yes_no=True,
)

ANY_DAYS = frozenset({1, 2, 3, 4})
# Source: VA BAM form (item 4: "0 (Skip to #6)"; item 6: "If 0, skip to #8")
AFTER_DRINKING = AskedIf(item=4, values=ANY_DAYS)
AFTER_DRUG_USE = AskedIf(item=6, values=ANY_DAYS)

_DRUGS = (
    ("7A", "Marijuana (cannabis, pot, weed)"),
    ("7B", "Sedatives or tranquilizers"),
    ("7C", "Cocaine or crack"),
    ("7D", "Other stimulants"),
    ("7E", "Opiates"),
    ("7F", "Inhalants"),
    ("7G", "Other drugs"),
)

BAM_ITEMS = (
    Item(1, "In the past 30 days, would you say your physical health has been:", HEALTH),
    Item(
        2,
        "In the past 30 days, how many nights did you have trouble falling asleep or staying "
        "asleep?",
        DAYS,
    ),
    Item(
        3,
        "In the past 30 days, how many days have you felt depressed, anxious, angry or very "
        "upset throughout most of the day?",
        DAYS,
    ),
    Item(4, "In the past 30 days, how many days did you drink ANY alcohol?", DAYS),
    Item(
        5,
        "In the past 30 days, how many days did you have at least 5 drinks (4 if female or "
        "over 65)?",
        DAYS,
        asked_if=AFTER_DRINKING,
    ),
    Item(
        6,
        "In the past 30 days, how many days did you use any illegal/street drugs or abuse any "
        "prescription medications?",
        DAYS,
    ),
    *(
        Item(
            70 + index,
            f"In the past 30 days, how many days did you use: {drug}?",
            DAYS,
            label=label,
            scored=False,
            required=False,
            asked_if=AFTER_DRUG_USE,
        )
        for index, (label, drug) in enumerate(_DRUGS, start=1)
    ),
    Item(
        8,
        "In the past 30 days, how much were you bothered by cravings or urges to drink alcohol "
        "or use drugs?",
        EXTENT,
    ),
    Item(
        9,
        "How confident are you in your ability to be completely abstinent (clean) from alcohol "
        "and drugs in the next 30 days?",
        EXTENT,
    ),
    Item(
        10,
        "In the past 30 days, how many days did you attend self-help meetings like AA or NA to "
        "support your recovery?",
        DAYS,
    ),
    Item(
        11,
        "In the past 30 days, how many days were you in any situations or with any people that "
        "might put you at an increased risk for using alcohol or drugs (i.e., around risky "
        '"people, places or things")?',
        DAYS,
    ),
    Item(12, "Does your religion or spirituality help support your recovery?", EXTENT),
    Item(
        13,
        "In the past 30 days, how many days did you spend much of the time at work, school, or "
        "doing volunteer work?",
        DAYS,
    ),
    Item(
        14,
        "Do you have enough income (from legal sources) to pay for necessities such as housing, "
        "transportation, food and clothing for yourself and your dependents?",
        INCOME,
    ),
    Item(
        15,
        "In the past 30 days, how much have you been bothered by arguments or problems getting "
        "along with any family members or friends?",
        EXTENT,
    ),
    Item(
        16,
        "In the past 30 days, how many days were you in contact or spent time with any family "
        "members or friends who are supportive of your recovery?",
        DAYS,
    ),
    Item(
        17,
        "How satisfied are you with your progress toward achieving your recovery goals?",
        EXTENT,
        scored=False,
    ),
)

# Source: flutter.super.site VA scoring guide text / clinical.md §1.8 (item 5 scores 0 if skipped)
BAM_SUBSCALES = (
    Subscale("use", "Use", (4, 5, 6)),
    Subscale("risk", "Risk factors", (1, 2, 3, 8, 11, 15)),
    Subscale("protective", "Protective factors", (9, 10, 12, 13, 14, 16)),
)


def bam_flags(rule_input: RuleInput) -> RuleOutput:
    """Cut-offs are a vendor convention, not VA's, so each is an overridable threshold.

    Source: Blueprint BAM help article / clinical.md §1.8 (Low confidence).
    """
    flags: list[Flag] = []
    subscales = rule_input.subscales
    thresholds = rule_input.thresholds
    use_at_least = thresholds.get("use_at_least")
    risk_at_least = thresholds.get("risk_at_least")
    protective_at_most = thresholds.get("protective_at_most")
    if use_at_least is not None and subscales["use"] >= use_at_least:
        flags.append(Flag.BAM_ANY_USE)
    if risk_at_least is not None and subscales["risk"] >= risk_at_least:
        flags.append(Flag.BAM_HIGH_RISK)
    if protective_at_most is not None and subscales["protective"] <= protective_at_most:
        flags.append(Flag.BAM_LOW_PROTECTION)
    return RuleOutput(flags=tuple(flags))


def bam_days_value(days: int) -> int:
    """The option value (0-4) for a count of days in the past 30, e.g. 5 days -> 2.

    Source: VA BAM form (bins 0 / 1-3 / 4-8 / 9-15 / 16-30) / clinical.md §1.8.
    """
    for value, (low, high) in enumerate(DAY_BINS):
        if low <= days <= high:
            return value
    raise InstrumentError(
        ErrorCode.OUT_OF_RANGE,
        "BAM: a count of days in the past 30 must be between 0 and 30.",
        instrument="BAM",
    )


BAM = InstrumentDefinition(
    code="BAM",
    name="Brief Addiction Monitor",
    version="1",
    instructions=(
        "The following questions ask about several areas of your life such as your health, "
        "alcohol and drug use, thinking about the last 30 days."
    ),
    lookback="past 30 days",
    items=BAM_ITEMS,
    licence=Licence(
        holder="US Department of Veterans Affairs, VISN 4 MIRECC",
        terms="Probably a US Government work in the public domain (Unverified).",
        attribution=(
            "Cacciola JS et al. Development and initial evaluation of the Brief Addiction "
            "Monitor (BAM). J Subst Abuse Treat 2013;44:256-263."
        ),
        item_text=ItemText.VERBATIM,
        verified=False,
        notes="Confirm public-domain status with VA before relying on it (clinical.md §1.8).",
    ),
    has_total=False,
    subscales=BAM_SUBSCALES,
    thresholds=(
        # Source: Blueprint BAM help article / clinical.md §1.8 (vendor convention, Low)
        Threshold("use_at_least", 1, "Use subscale at or above this raises bam_any_use."),
        Threshold("risk_at_least", 12, "Risk subscale at or above this raises bam_high_risk."),
        Threshold(
            "protective_at_most",
            12,
            "Protective subscale at or below this raises bam_low_protection.",
        ),
    ),
    rule=bam_flags,
    loinc_note="BAM LOINC codes not found; verify on loinc.org (clinical.md §1.8).",
    references=("Cacciola JS et al. J Subst Abuse Treat 2013;44:256-263.",),
)
