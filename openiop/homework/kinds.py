"""The homework library as data: each kind and its validated fields.

Pure (no ORM, no clock). `validate_entry(kind, raw)` turns submitted strings into the
stored `data` dict or field -> message errors; the same function serves the staff form
now and the patient portal later. Bump a kind's `version` when its fields change:
entries keep the version they were validated against.

Sources: thought record columns (situation, automatic thought, emotion rated 0-100,
evidence for and against, balanced thought, re-rating) follow the standard CBT
seven-column record; craving intensity 0-10 follows common craving logs (issue 5).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

TEXT = "text"
LONG_TEXT = "long_text"
INTEGER = "integer"
DATE = "date"
DATETIME = "datetime"
BOOLEAN = "boolean"
CHOICE = "choice"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    type: str = TEXT
    required: bool = True
    min: int | None = None
    max: int | None = None
    choices: tuple[tuple[str, str], ...] = ()
    max_length: int = 2000


@dataclass(frozen=True)
class KindSpec:
    code: str
    label: str
    description: str
    fields: tuple[FieldSpec, ...]
    version: int = 1


OUTCOMES = (
    ("did_not_use", "Did not use"),
    ("lapse", "Used (lapse)"),
    ("unsure", "Unsure"),
)

MEETING_TYPES = (
    ("aa", "AA"),
    ("na", "NA"),
    ("smart", "SMART Recovery"),
    ("other", "Other"),
)

KINDS: dict[str, KindSpec] = {
    k.code: k
    for k in (
        KindSpec(
            "thought_record",
            "Thought record",
            "Catch an automatic thought, weigh the evidence, find a balanced thought.",
            (
                FieldSpec("situation", "Situation", LONG_TEXT),
                FieldSpec("automatic_thought", "Automatic thought", LONG_TEXT),
                FieldSpec("emotion", "Emotion", TEXT, max_length=100),
                FieldSpec("intensity", "Emotion intensity (0-100)", INTEGER, min=0, max=100),
                FieldSpec("evidence_for", "Evidence for the thought", LONG_TEXT),
                FieldSpec("evidence_against", "Evidence against the thought", LONG_TEXT),
                FieldSpec("balanced_thought", "Balanced thought", LONG_TEXT),
                FieldSpec("rerated", "Emotion re-rated (0-100)", INTEGER, min=0, max=100),
            ),
        ),
        KindSpec(
            "trigger_log",
            "Trigger log",
            "Note each trigger: when, where, what happened, how you responded.",
            (
                FieldSpec("when", "When", DATETIME),
                FieldSpec("trigger", "Trigger", LONG_TEXT),
                FieldSpec("place", "Where", TEXT, required=False, max_length=200),
                FieldSpec("response", "How I responded", LONG_TEXT),
            ),
        ),
        KindSpec(
            "craving_log",
            "Craving log",
            "Each craving: time, intensity, trigger, coping used and outcome.",
            (
                FieldSpec("when", "Time", DATETIME),
                FieldSpec("intensity", "Intensity (0-10)", INTEGER, min=0, max=10),
                FieldSpec("trigger", "Trigger", LONG_TEXT),
                FieldSpec("coping", "Coping used", LONG_TEXT),
                FieldSpec("outcome", "Outcome", CHOICE, choices=OUTCOMES),
            ),
        ),
        KindSpec(
            "coping_plan",
            "Coping plan",
            "A high-risk situation and the plan for it.",
            (
                FieldSpec("situation", "High-risk situation", LONG_TEXT),
                FieldSpec("plan", "What I will do", LONG_TEXT),
                FieldSpec("support", "Who can help", TEXT, required=False, max_length=300),
            ),
        ),
        KindSpec(
            "relaxation_log",
            "Relaxation practice log",
            "Each practice: technique, minutes, tension before and after (0-10).",
            (
                FieldSpec("on", "Date", DATE),
                FieldSpec("technique", "Technique", TEXT, max_length=200),
                FieldSpec("minutes", "Minutes", INTEGER, min=1, max=240),
                FieldSpec("tension_before", "Tension before (0-10)", INTEGER, min=0, max=10),
                FieldSpec("tension_after", "Tension after (0-10)", INTEGER, min=0, max=10),
            ),
        ),
        KindSpec(
            "meeting_attendance",
            "Self-help meeting attendance",
            "Each self-help meeting attended.",
            (
                FieldSpec("on", "Date", DATE),
                FieldSpec("meeting_type", "Meeting", CHOICE, choices=MEETING_TYPES),
                FieldSpec("meeting_name", "Group name", TEXT, required=False, max_length=200),
                FieldSpec("spoke_with_sponsor", "Spoke with sponsor", BOOLEAN, required=False),
            ),
        ),
    )
}


def kind_spec(code: str) -> KindSpec:
    return KINDS[code]


def _parse(spec: FieldSpec, raw: str) -> tuple[Any, str | None]:
    if spec.type in (TEXT, LONG_TEXT):
        if len(raw) > spec.max_length:
            return None, f"At most {spec.max_length} characters."
        return raw, None
    if spec.type == INTEGER:
        try:
            value = int(raw)
        except ValueError:
            return None, "Enter a whole number."
        if (spec.min is not None and value < spec.min) or (
            spec.max is not None and value > spec.max
        ):
            return None, f"Enter a number from {spec.min} to {spec.max}."
        return value, None
    if spec.type == DATE:
        try:
            return date.fromisoformat(raw).isoformat(), None
        except ValueError:
            return None, "Enter a date."
    if spec.type == DATETIME:
        try:
            return datetime.fromisoformat(raw).replace(tzinfo=None).isoformat(
                timespec="minutes"
            ), None
        except ValueError:
            return None, "Enter a date and time."
    if spec.type == CHOICE:
        if raw not in {c for c, _ in spec.choices}:
            return None, "Choose one of the options."
        return raw, None
    if spec.type == BOOLEAN:
        return raw in {"on", "true", "1", "yes"}, None
    raise ValueError(f"unknown field type {spec.type}")


def validate_entry(code: str, raw: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """(data, errors) for one entry of kind `code`; errors are keyed by field name."""
    spec = KINDS.get(code)
    if spec is None:
        return {}, {"kind": "Unknown kind of homework."}
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in spec.fields:
        value = (raw.get(f.name) or "").strip()
        if f.type == BOOLEAN:
            data[f.name] = value in {"on", "true", "1", "yes"}
            continue
        if not value:
            if f.required:
                errors[f.name] = f"Enter {f.label[0].lower() + f.label[1:]}."
            continue
        parsed, error = _parse(f, value)
        if error:
            errors[f.name] = error
        else:
            data[f.name] = parsed
    return data, errors


def display_rows(code: str, data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, text) pairs of an entry for showing it, in the kind's field order."""
    spec = KINDS.get(code)
    if spec is None:
        return [(k, str(v)) for k, v in data.items()]
    rows = []
    for f in spec.fields:
        if f.name not in data:
            continue
        value = data[f.name]
        if f.type == CHOICE:
            value = dict(f.choices).get(value, value)
        elif f.type == BOOLEAN:
            value = "Yes" if value else "No"
        rows.append((f.label, str(value)))
    return rows
