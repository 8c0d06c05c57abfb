"""One engine scores every instrument from its definition. Pure: no ORM, clock or I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from openiop.instruments.definitions import get_definition
from openiop.instruments.errors import ErrorCode, InstrumentError
from openiop.instruments.schema import (
    POSITIVE_SCREEN,
    AnswerValue,
    Band,
    Flag,
    InstrumentDefinition,
    Item,
    ResponseScale,
    RiskLevel,
    RuleInput,
)

Answers = Mapping[int, AnswerValue | None]
BandsArg = Sequence[Band | tuple[int, int, str]]
ThresholdsArg = Mapping[str, int | None]

_YES = frozenset({"yes", "y", "true"})
_NO = frozenset({"no", "n", "false"})


@dataclass(frozen=True)
class ScoreResult:
    code: str
    # None for instruments scored without a total (C-SSRS, BAM).
    total: int | None
    subscales: dict[str, int]
    band: str | None
    flags: tuple[str, ...]
    risk_level: RiskLevel | None
    answered_items: tuple[int, ...]
    # Points each scored, answered item contributed (after reverse scoring).
    item_points: dict[int, int]
    # The thresholds in force, defaults merged with overrides, for the record.
    thresholds: dict[str, int | None]
    definition_version: str


@dataclass(frozen=True)
class DraftCheck:
    """What `validate_partial` learned about a draft that passed its checks."""

    code: str
    answered_items: tuple[int, ...]
    # Required items still unanswered (including ones whose skip logic is not yet known).
    missing_items: tuple[int, ...]
    # Critical-item flags already raised: a half-finished form must still alert.
    flags: tuple[str, ...]


def score(
    code: str,
    answers: Answers,
    *,
    bands: BandsArg | None = None,
    thresholds: ThresholdsArg | None = None,
) -> ScoreResult:
    """Score a complete answer set. Raises InstrumentError for anything it cannot score.

    `bands` replaces the default bands for this call (must tile the total's range).
    `thresholds` overrides named cut-offs, e.g. {"positive_screen": 3}; None disables one.
    A blank answer (None or "") counts as unanswered.
    """
    definition = get_definition(code)
    effective_bands = _resolve_bands(definition, bands)
    effective_thresholds = _resolve_thresholds(definition, thresholds)
    values, problems = _read_answers(definition, answers, partial=False)
    if problems:
        raise problems[0]

    points = {number: _points(definition, number, value) for number, value in values.items()}
    item_points = {
        number: value for number, value in points.items() if _item(definition, number).scored
    }
    total = sum(item_points.values()) if definition.has_total else None
    subscales = {
        subscale.key: sum(item_points.get(number, 0) for number in subscale.items)
        for subscale in definition.subscales
    }

    flags: list[str] = _critical_flags(definition, points)
    cutoff = effective_thresholds.get(POSITIVE_SCREEN)
    if total is not None and cutoff is not None and total >= cutoff:
        flags.append(Flag.POSITIVE_SCREEN)
    risk_level = None
    if definition.rule is not None:
        outcome = definition.rule(
            RuleInput(
                values=dict(values),
                points=dict(points),
                total=total,
                subscales=dict(subscales),
                thresholds=dict(effective_thresholds),
            )
        )
        flags.extend(outcome.flags)
        risk_level = outcome.risk_level

    return ScoreResult(
        code=definition.code,
        total=total,
        subscales=subscales,
        band=_band_for(total, effective_bands),
        flags=tuple(str(flag) for flag in dict.fromkeys(flags)),
        risk_level=risk_level,
        answered_items=tuple(sorted(values)),
        item_points=dict(sorted(item_points.items())),
        thresholds=effective_thresholds,
        definition_version=definition.version,
    )


def validate_partial(code: str, answers: Answers) -> DraftCheck:
    """Check a draft so it can be saved without a score.

    Checks item numbers, values and skip logic (an answer to an item the other answers
    say was not asked is an error); allows missing items. Raises InstrumentError.
    """
    definition = get_definition(code)
    values, problems = _read_answers(definition, answers, partial=True)
    if problems:
        raise problems[0]
    asked = _asked(definition, values)
    missing = tuple(
        item.number
        for item in definition.items
        if item.required and item.number not in values and asked[item.number] is not False
    )
    points = {number: _points(definition, number, value) for number, value in values.items()}
    flags = _critical_flags(definition, points)
    return DraftCheck(
        code=definition.code,
        answered_items=tuple(sorted(values)),
        missing_items=missing,
        flags=tuple(str(flag) for flag in dict.fromkeys(flags)),
    )


def check_answers(
    code: str, answers: Answers, *, partial: bool = False
) -> tuple[InstrumentError, ...]:
    """Every problem with an answer set, in item order, for a form to show at once."""
    definition = get_definition(code)
    _values, problems = _read_answers(definition, answers, partial=partial)
    return tuple(problems)


def asked_items(code: str, answers: Answers) -> tuple[int, ...]:
    """Items to show given the answers so far: skip logic applied, unknowns included."""
    definition = get_definition(code)
    values, _problems = _read_answers(definition, answers, partial=True)
    asked = _asked(definition, values)
    return tuple(item.number for item in definition.items if asked[item.number] is not False)


# --- answers -----------------------------------------------------------------------


def _read_answers(
    definition: InstrumentDefinition, answers: Answers, *, partial: bool
) -> tuple[dict[int, int], list[InstrumentError]]:
    """Parse answers to option values and collect every problem, sorted by item."""
    code = definition.code
    values: dict[int, int] = {}
    given: set[int] = set()
    problems: list[InstrumentError] = []

    for key, raw in answers.items():
        item = _lookup(definition, key)
        if item is None:
            problems.append(_unknown_item(code, key))
            continue
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        given.add(item.number)
        value = _parse(item.scale, raw)
        if value is None:
            problems.append(
                InstrumentError(
                    ErrorCode.OUT_OF_RANGE,
                    f"{code} item {item.display_label}: the answer must be one of "
                    f"{item.scale.describe()}.",
                    instrument=code,
                    item=item.number,
                )
            )
            continue
        values[item.number] = value

    asked = _asked(definition, values)
    for item in definition.items:
        state = asked[item.number]
        if state is False and item.number in given:
            controlling = _item(definition, item.asked_if.item) if item.asked_if else None
            because = (
                f" given the answer to item {controlling.display_label}" if controlling else ""
            )
            problems.append(
                InstrumentError(
                    ErrorCode.NOT_APPLICABLE,
                    f"{code} item {item.display_label} is not asked{because}; remove its answer.",
                    instrument=code,
                    item=item.number,
                )
            )
            values.pop(item.number, None)
        elif state is True and item.required and item.number not in given and not partial:
            problems.append(
                InstrumentError(
                    ErrorCode.MISSING_ITEM,
                    f"{code} item {item.display_label} is required and has no answer.",
                    instrument=code,
                    item=item.number,
                )
            )

    problems.sort(key=lambda error: _form_order(definition, error.item))
    return values, problems


def _form_order(definition: InstrumentDefinition, number: int | None) -> tuple[int, int]:
    """Sort key: bad keys first, then items in form order (7A-7G before 8), then unknowns."""
    if number is None:
        return (0, 0)
    for position, item in enumerate(definition.items):
        if item.number == number:
            return (1, position)
    return (2, number)


def _asked(definition: InstrumentDefinition, values: Mapping[int, int]) -> dict[int, bool | None]:
    """Per item: True asked, False skipped, None unknown (its controlling item has no
    valid answer yet). Skip conditions only point at earlier items."""
    asked: dict[int, bool | None] = {}
    for item in definition.items:
        condition = item.asked_if
        if condition is None:
            asked[item.number] = True
            continue
        controlling = asked.get(condition.item)
        if controlling is False:
            asked[item.number] = False
        elif controlling is None or condition.item not in values:
            # Unanswered, or answered with an invalid value: cannot tell yet.
            asked[item.number] = None
        else:
            asked[item.number] = values[condition.item] in condition.values
    return asked


def _lookup(definition: InstrumentDefinition, key: object) -> Item | None:
    if not isinstance(key, int) or isinstance(key, bool):
        return None
    return definition.item(key)


def _unknown_item(code: str, key: object) -> InstrumentError:
    if isinstance(key, int) and not isinstance(key, bool):
        return InstrumentError(
            ErrorCode.UNKNOWN_ITEM,
            f"{code} has no item {key}.",
            instrument=code,
            item=key,
        )
    return InstrumentError(
        ErrorCode.UNKNOWN_ITEM,
        f"{code}: answers must be keyed by item number (int).",
        instrument=code,
    )


def _parse(scale: ResponseScale, raw: object) -> int | None:
    """An option value from an int, a yes/no bool or form text; None if not allowed."""
    value: int
    if isinstance(raw, bool):
        if not scale.yes_no:
            return None
        value = int(raw)
    elif isinstance(raw, int):
        value = raw
    elif isinstance(raw, str):
        text = raw.strip().lower()
        if scale.yes_no and text in _YES:
            value = 1
        elif scale.yes_no and text in _NO:
            value = 0
        elif text.isascii() and text.isdigit():
            value = int(text)
        else:
            return None
    else:
        return None
    return value if scale.option(value) is not None else None


def _item(definition: InstrumentDefinition, number: int) -> Item:
    item = definition.item(number)
    if item is None:  # pragma: no cover - numbers come from validated answers
        raise KeyError(number)
    return item


def _points(definition: InstrumentDefinition, number: int, value: int) -> int:
    item = _item(definition, number)
    option = item.scale.option(value)
    if option is None:  # pragma: no cover - values come from _parse
        raise KeyError(value)
    return item.points(option)


def _critical_flags(definition: InstrumentDefinition, points: Mapping[int, int]) -> list[str]:
    return [
        critical.flag
        for critical in definition.critical_items
        if critical.item in points and points[critical.item] >= critical.min_points
    ]


# --- parameters --------------------------------------------------------------------


def _invalid(definition: InstrumentDefinition, message: str) -> InstrumentError:
    return InstrumentError(
        ErrorCode.INVALID_PARAMETER, f"{definition.code}: {message}", instrument=definition.code
    )


def _resolve_bands(definition: InstrumentDefinition, bands: BandsArg | None) -> tuple[Band, ...]:
    if bands is None:
        return definition.bands
    total_range = definition.total_range
    if total_range is None:
        raise _invalid(definition, "has no total, so it takes no bands.")
    resolved: list[Band] = []
    for band in bands:
        if isinstance(band, Band):
            resolved.append(band)
        elif isinstance(band, tuple) and len(band) == 3:
            resolved.append(Band(*band))
        else:
            raise _invalid(definition, "each band must be a (min, max, label) tuple.")
    for band in resolved:
        low_ok = isinstance(band.low, int) and not isinstance(band.low, bool)
        high_ok = isinstance(band.high, int) and not isinstance(band.high, bool)
        if not (low_ok and high_ok and isinstance(band.label, str) and band.label):
            raise _invalid(definition, "each band needs int min and max and a non-empty label.")
    if not _tiles(resolved, total_range):
        low, high = total_range
        raise _invalid(
            definition,
            f"bands must cover {low}-{high} in ascending order without gaps or overlaps.",
        )
    return tuple(resolved)


def _tiles(bands: Sequence[Band], total_range: tuple[int, int]) -> bool:
    """True if the bands, in the order given, cover the range exactly once."""
    expected = total_range[0]
    for band in bands:
        if band.low != expected or band.high < band.low:
            return False
        expected = band.high + 1
    return bool(bands) and expected == total_range[1] + 1


def _resolve_thresholds(
    definition: InstrumentDefinition, overrides: ThresholdsArg | None
) -> dict[str, int | None]:
    effective = definition.threshold_defaults()
    for key, value in (overrides or {}).items():
        if key not in effective:
            known = ", ".join(effective) or "none"
            raise _invalid(definition, f"unknown threshold {key!r} (known: {known}).")
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise _invalid(definition, f"threshold {key!r} must be an int or None.")
        effective[key] = value
    return effective


def _band_for(total: int | None, bands: Sequence[Band]) -> str | None:
    if total is None:
        return None
    for band in bands:
        if band.low <= total <= band.high:
            return band.label
    return None
