"""AUDIT (10 items) and AUDIT-C (items 1-3).

Licence note, kept with the definition on purpose: the full AUDIT is copyright WHO
2001 and may be reproduced "but not for sale or for commercial purposes". That clause
does not sit with a permissive OSI licence, so items 4-10 carry our paraphrase, not
WHO's wording (legal review pending, clinical.md §1.4). Items 1-3 are the AUDIT-C,
which SAMHSA-HRSA material calls public domain, so their wording is verbatim.
"""

from __future__ import annotations

from openiop.instruments.definitions._scales import ordinal
from openiop.instruments.schema import (
    POSITIVE_SCREEN,
    Band,
    Flag,
    InstrumentDefinition,
    Item,
    ItemText,
    Licence,
    Option,
    ResponseScale,
    RuleInput,
    RuleOutput,
    Threshold,
)

# Source: auditscreen.org scoring; WHO manual (Babor 2001) / clinical.md §1.4 (items 1-8: 0-4)
DRINKING_FREQUENCY = ordinal(
    "Never",
    "Monthly or less",
    "2 to 4 times a month",
    "2 to 3 times a week",
    "4 or more times a week",
)
# Source: clinical.md §1.4 note (item 2: the first option, "1 or 2", scores 0)
DRINKS_PER_DAY = ordinal("1 or 2", "3 or 4", "5 or 6", "7 to 9", "10 or more")
HOW_OFTEN = ordinal("Never", "Less than monthly", "Monthly", "Weekly", "Daily or almost daily")
# Source: auditscreen.org; solsticecares; eapassist / clinical.md §1.4 (items 9-10: 0, 2 or 4)
NO_YES_YEAR = ResponseScale(
    options=(
        Option(value=0, label="No", points=0),
        Option(value=2, label="Yes, but not in the last year", points=2),
        Option(value=4, label="Yes, during the last year", points=4),
    )
)

# Source: CamCOPS audit.rst (Bush 1998; Bradley 2003); jmandel generate.py / clinical.md §1.4
AUDIT_C_ITEMS = (
    Item(
        1, "How often do you have a drink containing alcohol?", DRINKING_FREQUENCY, loinc="68518-0"
    ),
    Item(
        2,
        "How many standard drinks containing alcohol do you have on a typical day when you "
        "are drinking?",
        DRINKS_PER_DAY,
        loinc="68519-8",
    ),
    Item(
        3, "How often do you have six or more drinks on one occasion?", HOW_OFTEN, loinc="68520-6"
    ),
)

# Paraphrased stems (see module docstring). Source: docest WHO form / clinical.md §1.4
AUDIT_ITEMS = (
    *AUDIT_C_ITEMS,
    Item(4, "Past year: could not stop drinking once started (how often)", HOW_OFTEN),
    Item(5, "Past year: failed to do what was expected because of drinking (how often)", HOW_OFTEN),
    Item(6, "Past year: needed a morning drink after a heavy session (how often)", HOW_OFTEN),
    Item(7, "Past year: guilt or remorse after drinking (how often)", HOW_OFTEN),
    Item(
        8,
        "Past year: could not remember the night before because of drinking (how often)",
        HOW_OFTEN,
    ),
    Item(9, "Has drinking led to an injury to you or to someone else?", NO_YES_YEAR),
    Item(
        10,
        "Has a relative, friend or health worker been concerned about the drinking or "
        "suggested cutting down?",
        NO_YES_YEAR,
    ),
)

# Source: WHO manual via comorbidityguidelines.org.au / clinical.md §1.4 (item 4-6 escalation)
DEPENDENCE_ITEMS = (4, 5, 6)
HARM_ITEMS = (9, 10)

# Common cut-off variants, for callers to pass as thresholds={"positive_screen": ...}.
# Source: WHO manual / clinical.md §1.4 (7 for women and adults over 65 raises sensitivity)
AUDIT_CUTOFF_WOMEN_OR_OVER_65 = 7
# Source: Bush 1998; Bradley 2003 via CamCOPS audit.rst / clinical.md §1.4 (>= 4 men, >= 3 women)
AUDIT_C_CUTOFF_MEN = 4
AUDIT_C_CUTOFF_WOMEN = 3


def audit_next_zone(rule_input: RuleInput) -> RuleOutput:
    """WHO: give the next level of intervention for dependence or harm signs.

    Source: Babor 2001 via comorbidityguidelines.org.au / clinical.md §1.4. The text says
    "2 or more on Questions 4, 5 and 6"; we read it as the sum of items 4-6 (the more
    sensitive reading) and expose the number as the `dependence_items_sum` threshold.
    """
    threshold = rule_input.thresholds.get("dependence_items_sum")
    dependence = sum(rule_input.points.get(number, 0) for number in DEPENDENCE_ITEMS)
    harm = any(rule_input.points.get(number, 0) == 4 for number in HARM_ITEMS)
    if harm or (threshold is not None and dependence >= threshold):
        return RuleOutput(flags=(Flag.AUDIT_NEXT_ZONE,))
    return RuleOutput()


WHO_LICENCE = Licence(
    holder="World Health Organization",
    terms=(
        "Copyright WHO 2001. May be freely reviewed, reproduced and translated, but not "
        "for sale or for commercial purposes."
    ),
    attribution=(
        "Babor TF, Higgins-Biddle JC, Saunders JB, Monteiro MG. AUDIT: The Alcohol Use "
        "Disorders Identification Test. Guidelines for Use in Primary Care. 2nd ed. "
        "Geneva: World Health Organization; 2001."
    ),
    item_text=ItemText.PARAPHRASE,
    non_commercial=True,
    notes=(
        "NON-COMMERCIAL TERMS. Items 1-3 (the AUDIT-C) are verbatim; items 4-10 are "
        "paraphrased. A deploying site with permission may load WHO's wording. Legal "
        "review is pending before the full wording is bundled (clinical.md §1.4)."
    ),
)

AUDIT = InstrumentDefinition(
    code="AUDIT",
    name="Alcohol Use Disorders Identification Test",
    version="1",
    instructions="Questions about your use of alcoholic beverages during the past year.",
    lookback="past year",
    items=AUDIT_ITEMS,
    licence=WHO_LICENCE,
    # Sources conflict (auditscreen.org: 1-7 / 8-14 / 15+); default to the WHO 2001 zones.
    # Source: Babor 2001 via comorbidityguidelines.org.au / clinical.md §1.4 (zone IV: Medium)
    bands=(
        Band(0, 7, "zone_i", "Zone I: low risk. Alcohol education."),
        Band(8, 15, "zone_ii", "Zone II: hazardous. Simple advice."),
        Band(
            16,
            19,
            "zone_iii",
            "Zone III: harmful. Simple advice plus brief counselling and monitoring.",
        ),
        Band(
            20,
            40,
            "zone_iv",
            "Zone IV: possible dependence. Refer for diagnostic evaluation and treatment.",
        ),
    ),
    thresholds=(
        # Source: WHO manual / clinical.md §1.4 (>= 8; 7 for women and over-65s; 10 more specific)
        Threshold(
            POSITIVE_SCREEN,
            8,
            "Total at or above this indicates hazardous or harmful use. WHO suggests 7 for "
            "women and adults over 65 (AUDIT_CUTOFF_WOMEN_OR_OVER_65); 10 is more specific.",
        ),
        # Source: Babor 2001 via comorbidityguidelines.org.au / clinical.md §1.4
        Threshold(
            "dependence_items_sum",
            2,
            "Items 4-6 summing to at least this raise audit_next_zone. None: only items 9/10 "
            "scoring 4 raise it.",
        ),
    ),
    rule=audit_next_zone,
    loinc_total="75624-7",
    loinc_note=(
        "Total 75624-7 is Medium confidence and conflicts with repos that label it AUDIT-C; "
        "the 10-item panel code was not confirmed (clinical.md §1.4, open item 1)."
    ),
    references=("Babor TF et al. AUDIT: Guidelines for Use in Primary Care. 2nd ed. WHO; 2001.",),
)

AUDIT_C = InstrumentDefinition(
    code="AUDIT-C",
    name="AUDIT-Consumption",
    version="1",
    instructions="Questions about your use of alcoholic beverages during the past year.",
    lookback="past year",
    items=AUDIT_C_ITEMS,
    # Source: CamCOPS audit.rst / clinical.md §1.4 (SAMHSA-HRSA: public domain; Medium-High)
    licence=Licence(
        holder="Public domain (per SAMHSA-HRSA)",
        terms="Public domain according to SAMHSA-HRSA material.",
        attribution=(
            "Bush K et al. The AUDIT alcohol consumption questions (AUDIT-C). Arch Intern Med "
            "1998;158:1789-1795."
        ),
        item_text=ItemText.VERBATIM,
        notes="Public-domain status Medium-High confidence (clinical.md §1.4).",
    ),
    thresholds=(
        # Sex-specific cut-offs vary by source; default 4 (men). Pass AUDIT_C_CUTOFF_WOMEN (3)
        # for women. Source: Bush 1998; Bradley 2003 via CamCOPS audit.rst / clinical.md §1.4
        Threshold(
            POSITIVE_SCREEN,
            AUDIT_C_CUTOFF_MEN,
            "Total at or above this is a positive screen. Default 4 (men); use 3 for women "
            "(AUDIT_C_CUTOFF_WOMEN). Local thresholds vary.",
        ),
    ),
    loinc_panel="72109-2",
    loinc_total="75626-2",
    loinc_note="Medium-High confidence; checked against LOINC 2.82 by jmandel (clinical.md §1.4).",
    references=(
        "Bush K et al. Arch Intern Med 1998;158:1789-1795.",
        "Bradley KA et al. Arch Intern Med 2003;163:821-829.",
    ),
)
