"""DAST-10 (drug use other than alcohol or tobacco, past 12 months).

Licence note, kept with the definition on purpose: copyright 1982 Harvey A. Skinner and
CAMH, Toronto; reproduction allowed for NON-COMMERCIAL clinical, research and training
use with credit. Not OSI-compatible if bundled, so item text here is our paraphrase;
a site with permission may load the official wording (clinical.md §1.5).
"""

from __future__ import annotations

from openiop.instruments.definitions._scales import YES_NO
from openiop.instruments.schema import (
    POSITIVE_SCREEN,
    Band,
    InstrumentDefinition,
    Item,
    ItemText,
    Licence,
    Threshold,
)

# Paraphrased topics. Source: comorbidityguidelines.org.au appendix W / clinical.md §1.5
DAST10_ITEMS = (
    Item(1, "Used drugs other than those needed for medical reasons", YES_NO),
    Item(2, "Used more than one drug at a time", YES_NO),
    # Source: comorbidityguidelines.org.au appendix W / clinical.md §1.5 (item 3: No = 1)
    Item(3, "Always able to stop using drugs when wanted", YES_NO, reverse_scored=True),
    Item(4, "Had blackouts or flashbacks as a result of drug use", YES_NO),
    Item(5, "Felt bad or guilty about drug use", YES_NO),
    Item(6, "Spouse or parents complained about involvement with drugs", YES_NO),
    Item(7, "Neglected family because of drug use", YES_NO),
    Item(8, "Engaged in illegal activities to obtain drugs", YES_NO),
    Item(9, "Had withdrawal symptoms (felt sick) on stopping drugs", YES_NO),
    Item(10, "Had medical problems as a result of drug use", YES_NO),
)

DAST10 = InstrumentDefinition(
    code="DAST-10",
    name="Drug Abuse Screening Test-10",
    version="1",
    instructions=(
        "Questions about drug use in the past 12 months, not including alcohol or tobacco."
    ),
    lookback="past 12 months",
    items=DAST10_ITEMS,
    licence=Licence(
        holder="Harvey A. Skinner and the Centre for Addiction and Mental Health (CAMH), Toronto",
        terms=(
            "Copyright 1982. May be reproduced for non-commercial clinical, research and "
            "training use, with credit to the author."
        ),
        attribution="DAST-10 (c) 1982 Harvey A. Skinner, PhD, and CAMH, Toronto.",
        item_text=ItemText.PARAPHRASE,
        non_commercial=True,
        notes=(
            "NON-COMMERCIAL TERMS. Ship official wording only as a separately licensed data "
            "pack or with CAMH's permission (clinical.md §1.5)."
        ),
    ),
    # Source: comorbidityguidelines.org.au; NIDA CDE value list / clinical.md §1.5
    bands=(
        Band(0, 0, "none", "No problems reported"),
        Band(1, 2, "low", "Low level. Monitor and reassess."),
        Band(3, 5, "moderate", "Moderate level. Further investigation."),
        Band(6, 8, "substantial", "Substantial level. Intensive assessment."),
        Band(9, 10, "severe", "Severe level. Intensive assessment."),
    ),
    thresholds=(
        # Source: comorbidityguidelines.org.au / clinical.md §1.5 (>= 3 common positive screen)
        Threshold(POSITIVE_SCREEN, 3, "Total at or above this is a positive drug-use screen."),
    ),
    loinc_panel="82666-9",
    loinc_total="82667-7",
    loinc_note=(
        "Panel Medium, total Low-Medium (one repository; another uses 82666-9 as the total). "
        "Verify on loinc.org (clinical.md §1.5, open item 1)."
    ),
    references=("Skinner HA. The Drug Abuse Screening Test. Addict Behav 1982;7:363-371.",),
)
