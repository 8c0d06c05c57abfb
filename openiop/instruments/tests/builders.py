"""Answer-set builders shared by the instrument tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from openiop.instruments import asked_items, get_definition
from openiop.instruments.schema import Item, Option


def answers_for_total(code: str, total: int, order: Iterable[int] | None = None) -> dict[int, int]:
    """Answer every required item, greedily spending `total` points in `order`."""
    definition = get_definition(code)
    numbers = list(order) if order is not None else [item.number for item in definition.items]
    answers: dict[int, int] = {}
    remaining = total
    for number in numbers:
        item = definition.item(number)
        assert item is not None
        if not item.required:
            continue
        options = sorted(item.scale.options, key=item.points)
        fitting = [option for option in options if item.points(option) <= remaining]
        chosen = fitting[-1] if item.scored else options[0]
        answers[number] = chosen.value
        if item.scored:
            remaining -= item.points(chosen)
    assert remaining == 0, f"could not spend {total} on {code}"
    return answers


def extreme_answers(code: str, pick: Callable[[Item], Option]) -> dict[int, int]:
    """Answer every item the skip logic asks, in order, with `pick`'s option."""
    definition = get_definition(code)
    answers: dict[int, int] = {}
    for item in definition.items:
        if item.number in asked_items(code, answers):
            answers[item.number] = pick(item).value
    return answers


def lowest(item: Item) -> Option:
    return min(item.scale.options, key=item.points)


def highest(item: Item) -> Option:
    return max(item.scale.options, key=item.points)
