"""The registry of instrument definitions, keyed by code."""

from __future__ import annotations

from openiop.instruments.definitions.audit import AUDIT, AUDIT_C
from openiop.instruments.definitions.bam import BAM
from openiop.instruments.definitions.cssrs import CSSRS
from openiop.instruments.definitions.dast import DAST10
from openiop.instruments.definitions.gad import GAD2, GAD7
from openiop.instruments.definitions.pcl5 import PCL5
from openiop.instruments.definitions.phq import PHQ2, PHQ9
from openiop.instruments.errors import ErrorCode, InstrumentError
from openiop.instruments.schema import InstrumentDefinition

_ALL = (PHQ9, PHQ2, GAD7, GAD2, AUDIT, AUDIT_C, DAST10, CSSRS, PCL5, BAM)
_REGISTRY: dict[str, InstrumentDefinition] = {definition.code: definition for definition in _ALL}


def definitions() -> tuple[InstrumentDefinition, ...]:
    """Every definition, in a stable order."""
    return _ALL


def get_definition(code: str) -> InstrumentDefinition:
    try:
        return _REGISTRY[code]
    except (KeyError, TypeError):
        raise InstrumentError(
            ErrorCode.UNKNOWN_INSTRUMENT,
            f"Unknown instrument code {code!r}. Known codes: {', '.join(_REGISTRY)}.",
            instrument=None,
        ) from None
