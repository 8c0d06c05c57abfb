"""Forms of attendance. The roster is one form of many lines, parsed here into the
service's `MarkInput`s (fields named `<name>-<patient public id>`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from uuid import UUID

from django import forms
from django.http import QueryDict

from openiop.attendance.models import (
    OutreachMethod,
    OutreachOutcome,
    PartialWeekPolicy,
    RuleScope,
    VisitorKind,
)
from openiop.attendance.services import MarkInput, RequirementInput, VisitorInput
from openiop.organizations.models import Payer, PlanType, Program


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


# --- Configuration (program directors) ------------------------------------------------------


class SettingsForm(forms.Form):
    absence_alert_threshold = forms.IntegerField(
        label="Absences in a row that raise a disengagement alert",
        help_text="Unexcused absences in a row; 0 turns the alert off.",
    )
    partial_week_policy = forms.ChoiceField(
        label="A week the patient was admitted or discharged in",
        choices=PartialWeekPolicy.choices,
        widget=forms.RadioSelect,
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


class RequirementForm(forms.Form):
    """A weekly minimum; `program` and `payer` are chosen by public id among the
    organization's own (the view passes them)."""

    label = forms.CharField(max_length=80, label="Name", help_text="Shown on the report.")
    code = forms.SlugField(
        max_length=40,
        help_text=(
            "Short code, e.g. state_iop. asam_2_1 or medicare_iop replaces that default's "
            "hours for the patients chosen below."
        ),
    )
    scope = forms.ChoiceField(label="Applies to", choices=RuleScope.choices)
    program = forms.ChoiceField(required=False, help_text="When it applies to one program.")
    payer = forms.ChoiceField(required=False, help_text="When it applies to one payer.")
    plan_type = forms.ChoiceField(
        required=False,
        choices=[("", "—"), *PlanType.choices],
        help_text="When it applies to a plan type.",
    )
    adult_min_hours = forms.DecimalField(
        label="Adults: hours a week", max_digits=4, decimal_places=1, min_value=0
    )
    adolescent_min_hours = forms.DecimalField(
        label="Adolescents: hours a week", max_digits=4, decimal_places=1, min_value=0
    )
    min_days = forms.IntegerField(
        label="Days a week", required=False, help_text="Blank: no minimum number of days."
    )
    source = forms.CharField(
        max_length=300, required=False, help_text="Where the rule comes from (contract, rule)."
    )
    is_active = forms.BooleanField(
        label="In use", required=False, initial=True, help_text="Untick to retire the rule."
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0, initial=0)
    submission_token = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)

    def __init__(
        self, *args: object, programs: list[Program], payers: list[Payer], **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.programs = {str(p.public_id): p for p in programs}
        self.payers = {str(p.public_id): p for p in payers}
        program_field = self.fields["program"]
        payer_field = self.fields["payer"]
        assert isinstance(program_field, forms.ChoiceField)
        assert isinstance(payer_field, forms.ChoiceField)
        program_field.choices = [("", "—"), *((k, p.name) for k, p in self.programs.items())]
        payer_field.choices = [("", "—"), *((k, p.name) for k, p in self.payers.items())]

    def data_input(self) -> RequirementInput:
        c = self.cleaned_data
        return RequirementInput(
            code=c["code"],
            label=c["label"],
            scope=c["scope"],
            program=self.programs.get(c["program"] or ""),
            payer=self.payers.get(c["payer"] or ""),
            plan_type=c["plan_type"] or "",
            adult_min_hours=c["adult_min_hours"],
            adolescent_min_hours=c["adolescent_min_hours"],
            min_days=c["min_days"],
            source=c["source"],
            is_active=c["is_active"],
        )
