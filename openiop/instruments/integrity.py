"""Consistency checks for a definition, run by the tests over every registered one."""

from __future__ import annotations

from openiop.instruments.schema import InstrumentDefinition


def definition_problems(definition: InstrumentDefinition) -> list[str]:
    """Everything wrong with a definition's data; an empty list means it is sound."""
    problems: list[str] = []
    seen: set[int] = set()
    for item in definition.items:
        where = f"{definition.code} item {item.display_label}"
        if item.number < 1 or item.number in seen:
            problems.append(f"{where}: number must be unique and start at 1")
        if not item.text.strip():
            problems.append(f"{where}: no text")
        values = [option.value for option in item.scale.options]
        if len(values) < 2 or len(set(values)) != len(values):
            problems.append(f"{where}: needs two or more options with unique values")
        if item.scale.yes_no and set(values) != {0, 1}:
            problems.append(f"{where}: a yes/no scale must use values 0 (No) and 1 (Yes)")
        condition = item.asked_if
        if condition is not None:
            controlling = definition.item(condition.item)
            if controlling is None or condition.item not in seen:
                problems.append(f"{where}: skip logic must point at an earlier item")
            elif not condition.values <= {o.value for o in controlling.scale.options}:
                problems.append(f"{where}: skip logic names values item {condition.item} lacks")
            if item.scored and item.min_points != 0:
                problems.append(f"{where}: a skippable scored item must have a minimum of 0")
        seen.add(item.number)

    scored = {item.number for item in definition.items if item.scored}
    problems.extend(
        f"{definition.code} subscale {subscale.key}: item {number} is missing or unscored"
        for subscale in definition.subscales
        for number in subscale.items
        if number not in scored
    )
    problems.extend(
        f"{definition.code} critical item {critical.item} does not exist"
        for critical in definition.critical_items
        if definition.item(critical.item) is None
    )

    total_range = definition.total_range
    if definition.bands:
        if total_range is None:
            problems.append(f"{definition.code}: bands without a total")
        else:
            expected = total_range[0]
            for band in definition.bands:
                if band.low != expected or band.high < band.low:
                    problems.append(f"{definition.code}: band {band.label} breaks the tiling")
                expected = band.high + 1
            if expected != total_range[1] + 1:
                problems.append(f"{definition.code}: bands do not reach {total_range[1]}")

    keys = [threshold.key for threshold in definition.thresholds]
    if len(set(keys)) != len(keys):
        problems.append(f"{definition.code}: duplicate threshold keys")
    if not definition.licence.attribution.strip():
        problems.append(f"{definition.code}: licence needs attribution text")
    return problems
