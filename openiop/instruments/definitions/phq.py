"""PHQ-9 and PHQ-2 (depression). Free to reproduce: item text is verbatim."""

from __future__ import annotations

from openiop.instruments.definitions._scales import DIFFICULTY, FREQUENCY_2_WEEKS
from openiop.instruments.schema import (
    POSITIVE_SCREEN,
    Band,
    CriticalItem,
    Flag,
    InstrumentDefinition,
    Item,
    ItemText,
    Licence,
    Threshold,
)

# Source: CamCOPS phq9.rst quoting phqscreeners.com; LHC-Forms string / clinical.md §1.1
PFIZER_LICENCE = Licence(
    holder="Pfizer Inc.",
    terms="No permission required to reproduce, translate, display or distribute.",
    attribution=(
        "Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and "
        "colleagues, with an educational grant from Pfizer Inc. No permission required "
        "to reproduce, translate, display or distribute."
    ),
    item_text=ItemText.VERBATIM,
)

PHQ_INSTRUCTIONS = (
    "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
)

# Source: Kroenke 2001 item wording; item LOINC codes from jmandel generate.py / clinical.md §1.1
PHQ9_ITEMS = (
    Item(1, "Little interest or pleasure in doing things", FREQUENCY_2_WEEKS, loinc="44250-9"),
    Item(2, "Feeling down, depressed, or hopeless", FREQUENCY_2_WEEKS, loinc="44255-8"),
    Item(
        3,
        "Trouble falling or staying asleep, or sleeping too much",
        FREQUENCY_2_WEEKS,
        loinc="44259-0",
    ),
    Item(4, "Feeling tired or having little energy", FREQUENCY_2_WEEKS, loinc="44254-1"),
    Item(5, "Poor appetite or overeating", FREQUENCY_2_WEEKS, loinc="44251-7"),
    Item(
        6,
        "Feeling bad about yourself \u2014 or that you are a failure or have let yourself "
        "or your family down",
        FREQUENCY_2_WEEKS,
        loinc="44258-2",
    ),
    Item(
        7,
        "Trouble concentrating on things, such as reading the newspaper or watching television",
        FREQUENCY_2_WEEKS,
        loinc="44252-5",
    ),
    Item(
        8,
        "Moving or speaking so slowly that other people could have noticed? Or the opposite "
        "\u2014 being so fidgety or restless that you have been moving around a lot more "
        "than usual",
        FREQUENCY_2_WEEKS,
        loinc="44253-3",
    ),
    Item(
        9,
        "Thoughts that you would be better off dead or of hurting yourself in some way",
        FREQUENCY_2_WEEKS,
        loinc="44260-8",
    ),
    # Unscored and optional. clinical.md §1.1 marks "not added to the total" Unverified;
    # Kroenke 2001 scores items 1-9 only, so we record it and leave it out of the total.
    Item(
        10,
        "If you checked off any problems, how difficult have these problems made it for you "
        "to do your work, take care of things at home, or get along with other people?",
        DIFFICULTY,
        scored=False,
        required=False,
    ),
)

PHQ9 = InstrumentDefinition(
    code="PHQ-9",
    name="Patient Health Questionnaire-9",
    version="1",
    instructions=PHQ_INSTRUCTIONS,
    lookback="last 2 weeks",
    items=PHQ9_ITEMS,
    licence=PFIZER_LICENCE,
    # Source: Kroenke 2001 five-band scheme / clinical.md §1.1 (calcipedia, documentine)
    bands=(
        Band(0, 4, "minimal", "None to minimal depression"),
        Band(5, 9, "mild", "Mild depression"),
        Band(10, 14, "moderate", "Moderate depression"),
        Band(15, 19, "moderately_severe", "Moderately severe depression"),
        Band(20, 27, "severe", "Severe depression"),
    ),
    # Source: calcipedia; jmandel generate.py flag note / clinical.md §1.1 (any non-zero item 9)
    critical_items=(CriticalItem(item=9, flag=Flag.SUICIDE_RISK, min_points=1),),
    thresholds=(
        # Source: Kroenke 2010 via CamCOPS phq9.rst / clinical.md §1.1 (>= 10: major depression)
        Threshold(POSITIVE_SCREEN, 10, "Total at or above this is a positive depression screen."),
    ),
    loinc_panel="44249-1",
    loinc_total="44261-6",
    loinc_note="Panel and total High confidence; item codes Medium (clinical.md §1.1).",
    references=(
        "Kroenke K, Spitzer RL, Williams JBW. The PHQ-9. J Gen Intern Med 2001;16:606-613.",
    ),
)

PHQ2 = InstrumentDefinition(
    code="PHQ-2",
    name="Patient Health Questionnaire-2",
    version="1",
    instructions=PHQ_INSTRUCTIONS,
    lookback="last 2 weeks",
    # Source: Arroll 2010 / clinical.md §1.3 (PHQ-9 items 1-2)
    items=PHQ9_ITEMS[:2],
    licence=PFIZER_LICENCE,
    thresholds=(
        # Source: Arroll 2010 / clinical.md §1.3 (3 conventional; 2 more sensitive)
        Threshold(
            POSITIVE_SCREEN,
            3,
            "Total at or above this is a positive screen. 3 is conventional; 2 is more "
            "sensitive (86% vs 61%) and less specific (78% vs 92%).",
        ),
    ),
    loinc_panel="55757-9",
    loinc_total="55758-7",
    loinc_note="Medium confidence: two independent public repositories (clinical.md §1.3).",
    references=(
        (
            "Arroll B et al. Validation of PHQ-2 and PHQ-9 to screen for major depression in the "
            "primary care population. Ann Fam Med 2010;8:348-353."
        ),
    ),
)
