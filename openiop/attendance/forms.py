"""Forms of attendance. The roster is one form of many lines, parsed here into the
service's `MarkInput`s (fields named `<name>-<patient public id>`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from uuid import UUID

from django import forms
from django.http import QueryDict

from openiop.attendance.models import OutreachMethod, OutreachOutcome, VisitorKind
from openiop.attendance.services import MarkInput, VisitorInput


def _int_or_none(raw: str) -> tuple[int | None, str]:
    raw = raw.strip()
    if not raw:
        return None, ""
    try:
        value = int(raw)
    except ValueError:
        return None, "A whole number of minutes."
    if value < 0:
        return None, "A whole number of minutes."
    return value, ""


def _uuid(raw: str) -> UUID | None:
    try:
        return UUID(raw)
    except ValueError:
        return None


@dataclass
class RosterPost:
    version: int
    token: UUID
    lines: list[MarkInput]
    typed: dict[str, dict[str, str]]
    errors: dict[str, dict[str, str]] = field(default_factory=dict)
    add_walk_in: UUID | None = None
    visitor: VisitorInput | None = None
    action: str = "save"


def roster_parse(data: QueryDict) -> RosterPost:
    """Every line's typed values (kept for a re-render) and the inputs for the service;
    a number that is not a number is an error on its own field."""
    version_raw = data.get("version", "0")
    token = _uuid(data.get("submission_token", "")) or uuid.uuid4()
    lines: list[MarkInput] = []
    typed: dict[str, dict[str, str]] = {}
    errors: dict[str, dict[str, str]] = {}
    for raw in data.getlist("line"):
        pid = _uuid(raw)
        if pid is None:
            continue
        key = str(pid)
        values = {
            name: data.get(f"{name}-{key}", "")
            for name in ("status", "late_minutes", "left_early_minutes", "minutes_attended")
        }
        values["walk_in"] = data.get(f"walk_in-{key}", "")
        typed[key] = values
        numbers: dict[str, int | None] = {}
        for name in ("late_minutes", "left_early_minutes", "minutes_attended"):
            value, problem = _int_or_none(values[name])
            numbers[name] = value
            if problem:
                errors.setdefault(key, {})[name] = problem
        if not values["status"]:
            errors.setdefault(key, {})["status"] = "Mark every patient."
        lines.append(
            MarkInput(
                patient_id=pid,
                status=values["status"],
                late_minutes=numbers["late_minutes"],
                left_early_minutes=numbers["left_early_minutes"],
                minutes_attended=numbers["minutes_attended"],
                walk_in=bool(values["walk_in"]),
            )
        )
    visitor = None
    if data.get("visitor_name", "").strip():
        visitor = VisitorInput(
            name=data.get("visitor_name", ""),
            kind=data.get("visitor_kind", ""),
            note=data.get("visitor_note", ""),
        )
    return RosterPost(
        version=int(version_raw) if version_raw.isdigit() else -1,
        token=token,
        lines=lines,
        typed=typed,
        errors=errors,
        add_walk_in=_uuid(data.get("walk_in_patient", "")),
        visitor=visitor,
        action=data.get("action", "save"),
    )


class AppointmentMarkForm(forms.Form):
    kept = forms.TypedChoiceField(
        label="Outcome",
        choices=[("yes", "Kept"), ("no", "No-show")],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    minutes = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=600,
        help_text="Minutes of service; blank takes the appointment's length.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


class OutreachForm(forms.Form):
    method = forms.ChoiceField(choices=OutreachMethod.choices, initial=OutreachMethod.PHONE)
    outcome = forms.ChoiceField(choices=OutreachOutcome.choices)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    record = forms.UUIDField(widget=forms.HiddenInput, required=False)
    submission_token = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)


VISITOR_KINDS = VisitorKind.choices
