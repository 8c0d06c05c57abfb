"""How stored results read on screen: labels for flags, bands, risk levels and answers."""

from __future__ import annotations

from dataclasses import dataclass

from openiop.instruments import Flag, InstrumentDefinition, get_definition
from openiop.instruments.schema import Licence
from openiop.screening.models import InstrumentAdministration

FLAG_LABELS: dict[str, str] = {
    Flag.SUICIDE_RISK: "Suicide risk",
    Flag.POSITIVE_SCREEN: "Positive screen",
    Flag.CSSRS_MODERATE: "C-SSRS moderate",
    Flag.CSSRS_HIGH: "C-SSRS high",
    Flag.PCL5_PROVISIONAL_PTSD: "Provisional PTSD",
    Flag.AUDIT_NEXT_ZONE: "Next zone up (WHO)",
    Flag.BAM_ANY_USE: "Any use",
    Flag.BAM_HIGH_RISK: "High risk factors",
    Flag.BAM_LOW_PROTECTION: "Low protective factors",
}
DANGER_FLAGS = {Flag.SUICIDE_RISK, Flag.CSSRS_HIGH, Flag.CSSRS_MODERATE}


def flag_label(flag: str) -> str:
    return FLAG_LABELS.get(flag, flag.replace("_", " "))


def band_label(code: str, band: str) -> str:
    """The band's description from the definition ("Moderate depression"), else the label."""
    if not band:
        return ""
    for candidate in get_definition(code).bands:
        if candidate.label == band:
            return candidate.description or band.replace("_", " ")
    return band.replace("_", " ")


@dataclass(frozen=True)
class AnswerRow:
    label: str
    text: str
    answer: str
    points: int | None
    scored: bool


@dataclass(frozen=True)
class FlagRow:
    code: str
    label: str
    danger: bool


@dataclass(frozen=True)
class ResultView:
    definition: InstrumentDefinition
    band: str
    flags: list[FlagRow]
    subscales: list[tuple[str, int]]
    answers: list[AnswerRow]
    licence: Licence
    total_range: tuple[int, int] | None


def result_view(administration: InstrumentAdministration) -> ResultView:
    definition = get_definition(administration.instrument_code)
    values = administration.answer_values()
    rows = []
    for item in definition.items:
        value = values.get(item.number)
        option = item.scale.option(value) if value is not None else None
        rows.append(
            AnswerRow(
                label=item.display_label,
                text=item.text,
                answer=option.label if option else "—",
                points=item.points(option) if option and item.scored else None,
                scored=item.scored,
            )
        )
    labels = {s.key: s.label for s in definition.subscales}
    return ResultView(
        definition=definition,
        band=band_label(definition.code, administration.band),
        flags=[
            FlagRow(code=f, label=flag_label(f), danger=f in DANGER_FLAGS)
            for f in administration.flags
        ],
        subscales=[(labels.get(k, k), v) for k, v in administration.subscales.items()],
        answers=rows,
        licence=definition.licence,
        total_range=definition.total_range,
    )
