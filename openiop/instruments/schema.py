"""The shapes an instrument definition is made of.

Definitions are data: items, options with point values, skip logic, bands, critical
items, thresholds, LOINC codes and licence text. The engine reads them; nothing here
scores anything. Rules that cannot be data (a diagnosis algorithm, a risk tier) are
small pure functions with the `ScoringRule` signature, registered on the definition.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

# Answers arrive keyed by item number. A value is an option value (int), a yes/no
# (bool, yes/no scales only) or the same as text from an HTML form ("2", "yes").
AnswerValue = int | str | bool

# The threshold key the engine itself applies: total >= value raises POSITIVE_SCREEN.
POSITIVE_SCREEN = "positive_screen"


class Flag(StrEnum):
    """Flags a score can raise. Values are the stable strings stored with a result."""

    SUICIDE_RISK = "suicide_risk"
    POSITIVE_SCREEN = "positive_screen"
    CSSRS_MODERATE = "cssrs_moderate"
    CSSRS_HIGH = "cssrs_high"
    PCL5_PROVISIONAL_PTSD = "pcl5_provisional_ptsd"
    AUDIT_NEXT_ZONE = "audit_next_zone"
    BAM_ANY_USE = "bam_any_use"
    BAM_HIGH_RISK = "bam_high_risk"
    BAM_LOW_PROTECTION = "bam_low_protection"


class RiskLevel(StrEnum):
    NONE = "none"
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"


class ItemText(StrEnum):
    """Whether `Item.text` is the instrument's own wording or our paraphrase."""

    VERBATIM = "verbatim"
    PARAPHRASE = "paraphrase"


@dataclass(frozen=True)
class Option:
    """One response option. `value` is what is stored; `points` is what it scores."""

    value: int
    label: str
    points: int


@dataclass(frozen=True)
class ResponseScale:
    options: tuple[Option, ...]
    # A yes/no scale (values 0 = No, 1 = Yes) also accepts True/False and "yes"/"no".
    yes_no: bool = False

    def option(self, value: int) -> Option | None:
        for option in self.options:
            if option.value == value:
                return option
        return None

    @property
    def min_points(self) -> int:
        return min(option.points for option in self.options)

    @property
    def max_points(self) -> int:
        return max(option.points for option in self.options)

    def describe(self) -> str:
        """Allowed values for error messages, e.g. '0 (No), 1 (Yes)'."""
        return ", ".join(f"{option.value} ({option.label})" for option in self.options)


@dataclass(frozen=True)
class AskedIf:
    """Skip logic: the item is asked only if an earlier item's value is in `values`."""

    item: int
    values: frozenset[int]


@dataclass(frozen=True)
class Item:
    number: int
    text: str
    scale: ResponseScale
    # Printed number where it differs from `number` (BAM sub-items 7A-7G).
    label: str = ""
    reverse_scored: bool = False
    # Unscored items are recorded but add to no total or subscale.
    scored: bool = True
    required: bool = True
    asked_if: AskedIf | None = None
    loinc: str | None = None

    @property
    def display_label(self) -> str:
        return self.label or str(self.number)

    def points(self, option: Option) -> int:
        if self.reverse_scored:
            return self.scale.min_points + self.scale.max_points - option.points
        return option.points

    @property
    def min_points(self) -> int:
        return min(self.points(option) for option in self.scale.options)

    @property
    def max_points(self) -> int:
        return max(self.points(option) for option in self.scale.options)


@dataclass(frozen=True)
class Subscale:
    key: str
    label: str
    items: tuple[int, ...]


@dataclass(frozen=True)
class CriticalItem:
    """An item whose points at or above `min_points` raise `flag`, whatever the total.

    Critical items are also checked on drafts, so a half-finished form still alerts.
    """

    item: int
    flag: Flag
    min_points: int = 1


class Band(NamedTuple):
    """An inclusive range of totals and its label. Plain (low, high, label) tuples work."""

    low: int
    high: int
    label: str
    description: str = ""


@dataclass(frozen=True)
class Threshold:
    """A named cut-off a caller may override per call; None switches its flag off."""

    key: str
    default: int | None
    description: str


@dataclass(frozen=True)
class Licence:
    holder: str
    terms: str
    attribution: str
    item_text: ItemText
    non_commercial: bool = False
    # False where clinical.md marks the licence Unverified or unresolved.
    verified: bool = True
    notes: str = ""


@dataclass(frozen=True)
class RuleInput:
    """What a registered rule sees: already validated, complete answers."""

    values: Mapping[int, int]
    points: Mapping[int, int]
    total: int | None
    subscales: Mapping[str, int]
    thresholds: Mapping[str, int | None]


@dataclass(frozen=True)
class RuleOutput:
    flags: tuple[Flag, ...] = ()
    risk_level: RiskLevel | None = None


ScoringRule = Callable[[RuleInput], RuleOutput]


@dataclass(frozen=True)
class InstrumentDefinition:
    code: str
    name: str
    # Bump when scoring changes, so stored results say which rules produced them.
    version: str
    instructions: str
    lookback: str
    items: tuple[Item, ...]
    licence: Licence
    has_total: bool = True
    bands: tuple[Band, ...] = ()
    subscales: tuple[Subscale, ...] = ()
    critical_items: tuple[CriticalItem, ...] = ()
    thresholds: tuple[Threshold, ...] = ()
    rule: ScoringRule | None = None
    loinc_panel: str | None = None
    loinc_total: str | None = None
    loinc_note: str = ""
    references: tuple[str, ...] = ()

    def item(self, number: int) -> Item | None:
        for item in self.items:
            if item.number == number:
                return item
        return None

    @property
    def total_range(self) -> tuple[int, int] | None:
        """(min, max) of the total. Skipped items score 0 and no skipped item is scored
        with a minimum above 0, so the plain sums are the bounds."""
        if not self.has_total:
            return None
        scored = [item for item in self.items if item.scored]
        return (
            sum(item.min_points for item in scored),
            sum(item.max_points for item in scored),
        )

    def subscale_range(self, key: str) -> tuple[int, int]:
        subscale = next(s for s in self.subscales if s.key == key)
        items = [self.item(number) for number in subscale.items]
        return (
            sum(item.min_points for item in items if item is not None),
            sum(item.max_points for item in items if item is not None),
        )

    def threshold_defaults(self) -> dict[str, int | None]:
        return {threshold.key: threshold.default for threshold in self.thresholds}
