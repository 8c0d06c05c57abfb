"""Properties every registered definition must have. DB-free."""

from __future__ import annotations

import random
import re

import pytest

from openiop.instruments import InstrumentDefinition, definitions, get_definition, score
from openiop.instruments.integrity import definition_problems
from openiop.instruments.schema import Item, ItemText, Option
from openiop.instruments.tests.builders import extreme_answers, highest, lowest

ALL = definitions()
IDS = [definition.code for definition in ALL]
LOINC = re.compile(r"^\d{1,7}-\d$")


def test_registry_holds_exactly_the_agreed_codes() -> None:
    assert set(IDS) == {
        "PHQ-9",
        "PHQ-2",
        "GAD-7",
        "GAD-2",
        "AUDIT",
        "AUDIT-C",
        "DAST-10",
        "C-SSRS",
        "PCL-5",
        "BAM",
    }
    assert all(get_definition(code).code == code for code in IDS)


@pytest.mark.parametrize("definition", ALL, ids=IDS)
def test_definition_is_internally_consistent(definition: InstrumentDefinition) -> None:
    assert definition_problems(definition) == []


@pytest.mark.parametrize("definition", ALL, ids=IDS)
def test_all_minimum_answers_give_the_minimum(definition: InstrumentDefinition) -> None:
    result = score(definition.code, extreme_answers(definition.code, lowest))
    expected_total = None if definition.total_range is None else definition.total_range[0]
    assert result.total == expected_total
    for subscale in definition.subscales:
        assert result.subscales[subscale.key] == definition.subscale_range(subscale.key)[0]


@pytest.mark.parametrize("definition", ALL, ids=IDS)
def test_all_maximum_answers_give_the_maximum(definition: InstrumentDefinition) -> None:
    result = score(definition.code, extreme_answers(definition.code, highest))
    expected_total = None if definition.total_range is None else definition.total_range[1]
    assert result.total == expected_total
    for subscale in definition.subscales:
        assert result.subscales[subscale.key] == definition.subscale_range(subscale.key)[1]


# Source: clinical.md §1.1-§1.8 (ranges as published)
PUBLISHED_RANGES = {
    "PHQ-9": (0, 27),
    "PHQ-2": (0, 6),
    "GAD-7": (0, 21),
    "GAD-2": (0, 6),
    "AUDIT": (0, 40),
    "AUDIT-C": (0, 12),
    "DAST-10": (0, 10),
    "C-SSRS": None,
    "PCL-5": (0, 80),
    "BAM": None,
}


@pytest.mark.parametrize("definition", ALL, ids=IDS)
def test_total_range_matches_the_published_range(definition: InstrumentDefinition) -> None:
    assert definition.total_range == PUBLISHED_RANGES[definition.code]


def test_cssrs_extremes_give_the_extreme_tiers() -> None:
    assert score("C-SSRS", extreme_answers("C-SSRS", lowest)).risk_level == "none"
    assert score("C-SSRS", extreme_answers("C-SSRS", highest)).risk_level == "high"


@pytest.mark.parametrize("definition", ALL, ids=IDS)
def test_random_answer_sets_stay_in_range(definition: InstrumentDefinition) -> None:
    rng = random.Random(definition.code)

    def any_option(item: Item) -> Option:
        return rng.choice(item.scale.options)

    for _ in range(200):
        result = score(definition.code, extreme_answers(definition.code, any_option))
        if definition.total_range is not None:
            assert result.total is not None
            low, high = definition.total_range
            assert low <= result.total <= high
            if definition.bands:
                assert result.band is not None
        for subscale in definition.subscales:
            low, high = definition.subscale_range(subscale.key)
            assert low <= result.subscales[subscale.key] <= high


@pytest.mark.parametrize("definition", ALL, ids=IDS)
def test_loinc_codes_are_well_formed(definition: InstrumentDefinition) -> None:
    codes = [definition.loinc_panel, definition.loinc_total]
    codes += [item.loinc for item in definition.items]
    assert all(LOINC.match(code) for code in codes if code is not None)


# Source: clinical.md §1.4-§1.6 (AUDIT and DAST-10 non-commercial; C-SSRS unresolved)
@pytest.mark.parametrize(
    ("code", "non_commercial", "item_text"),
    [
        ("AUDIT", True, ItemText.PARAPHRASE),
        ("DAST-10", True, ItemText.PARAPHRASE),
        ("C-SSRS", False, ItemText.PARAPHRASE),
        ("PHQ-9", False, ItemText.VERBATIM),
        ("PCL-5", False, ItemText.VERBATIM),
    ],
)
def test_licence_terms_travel_with_the_definition(
    code: str, non_commercial: bool, item_text: ItemText
) -> None:
    licence = get_definition(code).licence
    assert (licence.non_commercial, licence.item_text) == (non_commercial, item_text)
    if non_commercial:
        assert "NON-COMMERCIAL" in licence.notes
