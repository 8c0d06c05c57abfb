"""Standardized instruments (PHQ-9, GAD-7, AUDIT, DAST-10, C-SSRS, PCL-5, BAM, ...).

Definitions are data; one pure engine scores them all. See docs/INSTRUMENTS.md.

    >>> from openiop.instruments import score
    >>> score("PHQ-2", {1: 2, 2: 1}).flags
    ('positive_screen',)
"""

from openiop.instruments.definitions import definitions, get_definition
from openiop.instruments.engine import (
    DraftCheck,
    ScoreResult,
    asked_items,
    check_answers,
    score,
    validate_partial,
)
from openiop.instruments.errors import ErrorCode, InstrumentError
from openiop.instruments.schema import Band, Flag, InstrumentDefinition, RiskLevel

__all__ = [
    "Band",
    "DraftCheck",
    "ErrorCode",
    "Flag",
    "InstrumentDefinition",
    "InstrumentError",
    "RiskLevel",
    "ScoreResult",
    "asked_items",
    "check_answers",
    "definitions",
    "get_definition",
    "score",
    "validate_partial",
]
