"""One exception type for refused service calls, with a code and the field at fault."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    NOT_ALLOWED = "not_allowed"
    INVALID = "invalid"
    CONFLICT = "conflict"
    DUPLICATE_SUSPECTED = "duplicate_suspected"
    TRANSITION_NOT_ALLOWED = "transition_not_allowed"
    NOT_FOUND = "not_found"


class ServiceError(Exception):
    def __init__(self, code: ErrorCode, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
