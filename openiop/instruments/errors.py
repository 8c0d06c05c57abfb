"""The one error type the instruments package raises, with a machine-readable code."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    MISSING_ITEM = "missing_item"
    OUT_OF_RANGE = "out_of_range"
    UNKNOWN_ITEM = "unknown_item"
    NOT_APPLICABLE = "not_applicable"
    UNKNOWN_INSTRUMENT = "unknown_instrument"
    INVALID_PARAMETER = "invalid_parameter"


class InstrumentError(ValueError):
    """Raised for an answer set or call the engine cannot score.

    The message names the instrument and item but never repeats the answer given:
    answers to these questions are PHI and messages end up in logs.
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        instrument: str | None = None,
        item: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.instrument = instrument
        self.item = item

    def __repr__(self) -> str:
        return (
            f"InstrumentError(code={self.code.value!r}, instrument={self.instrument!r}, "
            f"item={self.item!r}, message={self.message!r})"
        )
