"""Homework forms: assigning, and one entry of a kind (fields built from the kind's data)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms

from openiop.homework import kinds
from openiop.homework.models import HomeworkKind

_WIDGETS: dict[str, Any] = {
    kinds.LONG_TEXT: lambda: forms.Textarea(attrs={"rows": 2}),
    kinds.DATE: lambda: forms.DateInput(attrs={"type": "date"}),
    kinds.DATETIME: lambda: forms.DateTimeInput(attrs={"type": "datetime-local"}),
    kinds.INTEGER: lambda: forms.NumberInput(),
}


class AssignForm(forms.Form):
    submission_token = forms.UUIDField(widget=forms.HiddenInput)
    kind = forms.ChoiceField(label="Homework", choices=[("", "—"), *HomeworkKind.choices])
    due_on = forms.DateField(label="Due", widget=forms.DateInput(attrs={"type": "date"}))
    instructions = forms.CharField(
        label="Instructions", widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    objective = forms.ChoiceField(label="For plan objective", required=False)
    group_session = forms.ChoiceField(
        label="Assigned in group session",
        required=False,
        help_text="Group sessions the patient attended in the last 30 days.",
    )
    appointment = forms.ChoiceField(label="Assigned in appointment", required=False)

    def __init__(
        self,
        *args: Any,
        objectives: Sequence[Any] = (),
        sessions: Sequence[Any] = (),
        appointments: Sequence[Any] = (),
        **kwargs: Any,
    ) -> None:
        from openiop.homework.selectors import appointment_label, session_label

        super().__init__(*args, **kwargs)
        self._choices("objective", [(str(o.public_id), o.text[:80]) for o in objectives])
        self._choices("group_session", [(str(s.public_id), session_label(s)) for s in sessions])
        self._choices(
            "appointment", [(str(a.public_id), appointment_label(a)) for a in appointments]
        )

    def _choices(self, name: str, choices: list[tuple[str, str]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "—"), *choices]


class EntryForm(forms.Form):
    """Fields from the kind's spec; validation is `kinds.validate_entry` (the service's)."""

    submission_token = forms.UUIDField(widget=forms.HiddenInput)
    complete = forms.BooleanField(
        label="This completes the assignment", required=False, initial=True
    )

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        spec = kinds.kind_spec(kind)
        for f in spec.fields:
            label = f.label
            if f.type == kinds.CHOICE:
                field: forms.Field = forms.ChoiceField(
                    label=label, choices=[("", "—"), *f.choices], required=False
                )
            elif f.type == kinds.BOOLEAN:
                field = forms.BooleanField(label=label, required=False)
            else:
                widget = _WIDGETS.get(f.type, forms.TextInput)()
                field = forms.CharField(label=label, required=False, widget=widget)
            field.required = False
            if f.required:
                field.widget.attrs["aria-required"] = "true"
            self.fields[f.name] = field
        self.order_fields([*[f.name for f in spec.fields], "complete", "submission_token"])

    def raw(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.data.items() if k in self.fields}


class ReviewForm(forms.Form):
    note = forms.CharField(
        label="Reviewed in session: note", widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class CancelForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=500)
