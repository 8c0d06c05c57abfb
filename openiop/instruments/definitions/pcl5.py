"""PCL-5 (PTSD checklist for DSM-5). US Government work, public domain: verbatim text."""

from __future__ import annotations

from openiop.instruments.definitions._scales import ordinal
from openiop.instruments.schema import (
    POSITIVE_SCREEN,
    Flag,
    InstrumentDefinition,
    Item,
    ItemText,
    Licence,
    RuleInput,
    RuleOutput,
    Subscale,
    Threshold,
)

# Source: awell-score pcl_5 README; clinical-toolkit pcl-5.md / clinical.md §1.7
SEVERITY = ordinal("Not at all", "A little bit", "Moderately", "Quite a bit", "Extremely")

_STEMS = (
    "Repeated, disturbing, and unwanted memories of the stressful experience?",
    "Repeated, disturbing dreams of the stressful experience?",
    (
        "Suddenly feeling or acting as if the stressful experience were actually happening again "
        "(as if you were actually back there reliving it)?"
    ),
    "Feeling very upset when something reminded you of the stressful experience?",
    (
        "Having strong physical reactions when something reminded you of the stressful experience "
        "(for example, heart pounding, trouble breathing, sweating)?"
    ),
    "Avoiding memories, thoughts, or feelings related to the stressful experience?",
    (
        "Avoiding external reminders of the stressful experience (for example, people, places, "
        "conversations, activities, objects, or situations)?"
    ),
    "Trouble remembering important parts of the stressful experience?",
    (
        "Having strong negative beliefs about yourself, other people, or the world (for example, "
        "having thoughts such as: I am bad, there is something seriously wrong with me, no one "
        "can be trusted, the world is completely dangerous)?"
    ),
    "Blaming yourself or someone else for the stressful experience or what happened after it?",
    "Having strong negative feelings such as fear, horror, anger, guilt, or shame?",
    "Loss of interest in activities that you used to enjoy?",
    "Feeling distant or cut off from other people?",
    (
        "Trouble experiencing positive feelings (for example, being unable to feel happiness or "
        "have loving feelings for people close to you)?"
    ),
    "Irritable behavior, angry outbursts, or acting aggressively?",
    "Taking too many risks or doing things that could cause you harm?",
    'Being "superalert" or watchful or on guard?',
    "Feeling jumpy or easily startled?",
    "Having difficulty concentrating?",
    "Trouble falling or staying asleep?",
)
PCL5_ITEMS = tuple(Item(n, stem, SEVERITY) for n, stem in enumerate(_STEMS, start=1))

# Source: awell-score pcl_5 README / clinical.md §1.7 (B 1-5, C 6-7, D 8-14, E 15-20)
CLUSTERS = (
    Subscale("B", "Intrusion", (1, 2, 3, 4, 5)),
    Subscale("C", "Avoidance", (6, 7)),
    Subscale("D", "Negative alterations in cognition and mood", tuple(range(8, 15))),
    Subscale("E", "Alterations in arousal and reactivity", tuple(range(15, 21))),
)
# Source: awell-score pcl_5 README / clinical.md §1.7 (needs 1 B, 1 C, 2 D and 2 E symptoms)
SYMPTOMS_REQUIRED = {"B": 1, "C": 1, "D": 2, "E": 2}


def pcl5_provisional_diagnosis(rule_input: RuleInput) -> RuleOutput:
    """DSM-5 symptom rule: an item rated at or above `symptom_endorsed` counts.

    Source: awell-score pcl_5 README (Weathers 2013) / clinical.md §1.7.
    """
    endorsed_at = rule_input.thresholds.get("symptom_endorsed")
    if endorsed_at is None:
        return RuleOutput()
    for cluster in CLUSTERS:
        endorsed = sum(
            1 for number in cluster.items if rule_input.points.get(number, 0) >= endorsed_at
        )
        if endorsed < SYMPTOMS_REQUIRED[cluster.key]:
            return RuleOutput()
    return RuleOutput(flags=(Flag.PCL5_PROVISIONAL_PTSD,))


PCL5 = InstrumentDefinition(
    code="PCL-5",
    name="PTSD Checklist for DSM-5",
    version="1",
    instructions=(
        "Below is a list of problems that people sometimes have in response to a very "
        "stressful experience. In the past month, how much were you bothered by:"
    ),
    lookback="past month",
    items=PCL5_ITEMS,
    licence=Licence(
        holder="National Center for PTSD (US Department of Veterans Affairs)",
        terms="US Government work; public domain.",
        attribution=(
            "Weathers FW, Litz BT, Keane TM, Palmieri PA, Marx BP, Schnurr PP. The PTSD "
            "Checklist for DSM-5 (PCL-5). National Center for PTSD; 2013."
        ),
        item_text=ItemText.VERBATIM,
    ),
    subscales=CLUSTERS,
    # No official severity bands (clinical.md §1.7: invented 5-band schemes are Low); callers
    # may pass their own with bands=.
    thresholds=(
        # Source: awell-score pcl_5 README / clinical.md §1.7 (31-33 probable PTSD; 33 common)
        Threshold(
            POSITIVE_SCREEN,
            33,
            "Total at or above this suggests probable PTSD (provisional). Sources give 31-33.",
        ),
        # Source: awell-score pcl_5 README / clinical.md §1.7 (rated 2 "Moderately" or more)
        Threshold("symptom_endorsed", 2, "An item rated at or above this counts as a symptom."),
    ),
    rule=pcl5_provisional_diagnosis,
    loinc_note="PCL-5 LOINC codes not found; verify on loinc.org (clinical.md §1.7).",
    references=(
        "Weathers FW et al. The PTSD Checklist for DSM-5 (PCL-5). National Center for PTSD; 2013.",
    ),
)
