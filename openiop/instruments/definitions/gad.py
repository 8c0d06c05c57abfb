"""GAD-7 and GAD-2 (anxiety). Same Pfizer terms as the PHQ: item text is verbatim."""

from __future__ import annotations

from openiop.instruments.definitions._scales import DIFFICULTY, FREQUENCY_2_WEEKS
from openiop.instruments.definitions.phq import PFIZER_LICENCE
from openiop.instruments.schema import (
    POSITIVE_SCREEN,
    Band,
    InstrumentDefinition,
    Item,
    Threshold,
)

GAD_INSTRUCTIONS = (
    "Over the last 2 weeks, how often have you been bothered by the following problems?"
)

# Source: Spitzer 2006 item wording; LOINC from HL7 PHR-format IG, jmandel / clinical.md §1.2
GAD7_ITEMS = (
    Item(1, "Feeling nervous, anxious, or on edge", FREQUENCY_2_WEEKS, loinc="69725-0"),
    Item(2, "Not being able to stop or control worrying", FREQUENCY_2_WEEKS, loinc="68509-9"),
    Item(3, "Worrying too much about different things", FREQUENCY_2_WEEKS, loinc="69733-4"),
    Item(4, "Trouble relaxing", FREQUENCY_2_WEEKS, loinc="69734-2"),
    Item(5, "Being so restless that it is hard to sit still", FREQUENCY_2_WEEKS, loinc="69735-9"),
    Item(6, "Becoming easily annoyed or irritable", FREQUENCY_2_WEEKS, loinc="69689-8"),
    Item(
        7, "Feeling afraid, as if something awful might happen", FREQUENCY_2_WEEKS, loinc="69736-7"
    ),
    # Unscored and optional, as on the PHQ-9 (Spitzer 2006 scores items 1-7 only).
    Item(
        8,
        "If you checked off any problems, how difficult have these problems made it for you "
        "to do your work, take care of things at home, or get along with other people?",
        DIFFICULTY,
        scored=False,
        required=False,
    ),
)

GAD7 = InstrumentDefinition(
    code="GAD-7",
    name="Generalized Anxiety Disorder-7",
    version="1",
    instructions=GAD_INSTRUCTIONS,
    lookback="last 2 weeks",
    items=GAD7_ITEMS,
    licence=PFIZER_LICENCE,
    # Source: Spitzer 2006 / clinical.md §1.2 (calcipedia, mrcpsych.uk)
    bands=(
        Band(0, 4, "minimal", "Minimal anxiety"),
        Band(5, 9, "mild", "Mild anxiety"),
        Band(10, 14, "moderate", "Moderate anxiety"),
        Band(15, 21, "severe", "Severe anxiety"),
    ),
    thresholds=(
        # Source: Spitzer 2006 / clinical.md §1.2 (>= 10: sensitivity 89%, specificity 82%)
        Threshold(POSITIVE_SCREEN, 10, "Total at or above this is a positive anxiety screen."),
    ),
    loinc_panel="69737-5",
    loinc_total="70274-6",
    references=(
        (
            "Spitzer RL, Kroenke K, Williams JBW, Lowe B. A brief measure for assessing "
            "generalized anxiety disorder: the GAD-7. Arch Intern Med 2006;166:1092-1097."
        ),
    ),
)

GAD2 = InstrumentDefinition(
    code="GAD-2",
    name="Generalized Anxiety Disorder-2",
    version="1",
    instructions=GAD_INSTRUCTIONS,
    lookback="last 2 weeks",
    # Source: clinical.md §1.3 (GAD-7 items 1-2)
    items=GAD7_ITEMS[:2],
    licence=PFIZER_LICENCE,
    thresholds=(
        # Source: clinical.md §1.3 (>= 3 widely used; Low-Medium confidence)
        Threshold(
            POSITIVE_SCREEN,
            3,
            "Total at or above this is a positive screen. 3 is widely used; 2 is more "
            "sensitive and less specific.",
        ),
    ),
    # Unverified in clinical.md §1.3 / open item 1: no panel or total code shipped.
    loinc_note="GAD-2 panel and total LOINC codes not found; verify on loinc.org.",
    references=(
        (
            "Kroenke K et al. Anxiety disorders in primary care: prevalence, impairment, "
            "comorbidity, and detection. Ann Intern Med 2007;146:317-325."
        ),
    ),
)
