"""Forms: an instrument form generated from its definition, risk responses, safety plans.

Item answers are plain text fields so that the scoring engine, not the form, judges
them: its errors name the item and are placed next to it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import QuerySet

from openiop.accounts.models import User
from openiop.instruments import InstrumentDefinition, InstrumentError
from openiop.instruments.schema import Item
from openiop.screening import rules
from openiop.screening.models import Disposition, SafetyPlan

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def new_token() -> uuid.UUID:
    return uuid.uuid4()


@dataclass(frozen=True)
class OptionRow:
    value: str
    label: str
    checked: bool
    input_id: str


@dataclass(frozen=True)
class ItemRow:
    number: int
    label: str
    text: str
    name: str
    options: list[OptionRow]
    skip_note: str
    errors: list[str]
    required: bool
    asked_if_item: int | None
    asked_if_values: str


class InstrumentForm(forms.Form):
    submission_token = forms.UUIDField(widget=forms.HiddenInput, initial=new_token)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    administered_at = forms.DateTimeField(label="Given on", widget=DATETIME)
    self_reported = forms.BooleanField(
        required=False,
        label="The patient filled this in themselves (self-report)",
        help_text="Leave unticked when staff read the questions and recorded the answers.",
    )

    def __init__(self, *args: Any, definition: InstrumentDefinition, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.definition = definition
        for item in definition.items:
            self.fields[self.item_field(item.number)] = forms.CharField(
                required=False, label=f"{item.display_label}. {item.text}", strip=True
            )

    @staticmethod
    def item_field(number: int) -> str:
        return f"item_{number}"

    def answers(self) -> dict[int, str]:
        return {
            item.number: self.cleaned_data.get(self.item_field(item.number)) or ""
            for item in self.definition.items
        }

    def add_answer_errors(self, errors: Iterable[InstrumentError]) -> None:
        for error in errors:
            name = self.item_field(error.item) if error.item is not None else None
            self.add_error(name if name in self.fields else None, error.message)

    def item_rows(self) -> list[ItemRow]:
        rows = []
        for item in self.definition.items:
            name = self.item_field(item.number)
            bound = self[name]
            current = bound.value()
            current_text = "" if current is None else str(current).strip()
            rows.append(
                ItemRow(
                    number=item.number,
                    label=item.display_label,
                    text=item.text,
                    name=name,
                    options=self._options(item, name, current_text),
                    skip_note=rules.skip_note(self.definition.code, item.number),
                    errors=[str(error) for error in self.errors.get(name, [])],
                    required=item.required,
                    asked_if_item=item.asked_if.item if item.asked_if else None,
                    asked_if_values=(
                        " ".join(str(v) for v in sorted(item.asked_if.values))
                        if item.asked_if
                        else ""
                    ),
                )
            )
        return rows

    @staticmethod
    def _options(item: Item, name: str, current: str) -> list[OptionRow]:
        options = [
            OptionRow(
                value=str(option.value),
                label=option.label,
                checked=current == str(option.value),
                input_id=f"id_{name}_{option.value}",
            )
            for option in item.scale.options
        ]
        if current and not any(option.checked for option in options):
            # A value that is no answer (sent by hand or from an old page) stays selected
            # and visible, next to the engine's error, so nothing typed is lost.
            options.append(
                OptionRow(
                    value=current,
                    label=f"{current} (not one of the answers)",
                    checked=True,
                    input_id=f"id_{name}_other",
                )
            )
        options.append(
            OptionRow(value="", label="No answer", checked=not current, input_id=f"id_{name}_none")
        )
        return options


def initial_answers(answers: Mapping[str, int]) -> dict[str, str]:
    return {InstrumentForm.item_field(int(key)): str(value) for key, value in answers.items()}


class EnteredInErrorForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example: given to the wrong patient, or answers recorded wrongly.",
    )


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.display_name)


class RiskResponseForm(forms.Form):
    submission_token = forms.UUIDField(widget=forms.HiddenInput, initial=new_token)
    assessed_by = StaffChoiceField(
        queryset=User.objects.none(), label="Assessed by", empty_label=None
    )
    assessed_at = forms.DateTimeField(label="Assessed at", widget=DATETIME)
    disposition = forms.ChoiceField(choices=Disposition.choices, widget=forms.RadioSelect)
    notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text="What was assessed and decided; required for 'Other'.",
    )

    def __init__(self, *args: Any, assessors: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assessed_by"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = assessors


class ResolveForm(forms.Form):
    note = forms.CharField(
        label="How was it addressed?",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="A short note for the record (at least 10 characters).",
    )


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.splitlines() if line.strip())


LINE_SECTIONS = ("warning_signs", "coping_strategies", "social_distractions", "environment_safety")
CONTACT_SECTIONS = ("help", "professional")
EXTRA_ROWS = 2
MIN_ROWS = 3


class SafetyPlanForm(forms.Form):
    """The six steps, in the order they are used. Labels are our own wording."""

    submission_token = forms.UUIDField(widget=forms.HiddenInput, initial=new_token)
    base_number = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    administration = forms.UUIDField(widget=forms.HiddenInput, required=False)
    warning_signs = forms.CharField(
        label="1. Warning signs that a crisis may be starting",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Thoughts, images, moods, situations or behaviours, in the patient's words. "
        "One per line.",
    )
    coping_strategies = forms.CharField(
        label="2. Things I can do on my own to take my mind off problems",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line.",
    )
    social_distractions = forms.CharField(
        label="3. People and places that help me take my mind off things",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Not about the crisis itself: company and places that distract. One per line.",
    )
    environment_safety = forms.CharField(
        label="6. Making my surroundings safer",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="How access to lethal means (firearms, medicines, other) is limited or removed. "
        "One per line.",
    )
    reasons_for_living = forms.CharField(
        label="What matters most to me and is worth living for (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    developed_with_patient = forms.BooleanField(
        required=False,
        initial=True,
        label="Written together with the patient, who has a copy",
    )

    def __init__(self, *args: Any, rows: Mapping[str, int] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        counts = dict(rows or {})
        for prefix in CONTACT_SECTIONS:
            count = max(counts.get(prefix, MIN_ROWS), self._posted_rows(prefix))
            for index in range(count):
                self.fields[f"{prefix}_name_{index}"] = forms.CharField(
                    required=False, max_length=120, label="Name"
                )
                self.fields[f"{prefix}_phone_{index}"] = forms.CharField(
                    required=False, max_length=40, label="Phone"
                )
        self.row_counts = {
            prefix: sum(1 for name in self.fields if name.startswith(f"{prefix}_name_"))
            for prefix in CONTACT_SECTIONS
        }

    def _posted_rows(self, prefix: str) -> int:
        if not self.is_bound:
            return 0
        pattern = re.compile(rf"^{prefix}_(?:name|phone)_(\d{{1,2}})$")
        indexes = [int(m.group(1)) for key in self.data if (m := pattern.match(key))]
        return max(indexes) + 1 if indexes else 0

    def contact_rows(self, prefix: str) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [
            (self[f"{prefix}_name_{i}"], self[f"{prefix}_phone_{i}"])
            for i in range(self.row_counts[prefix])
        ]

    def help_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return self.contact_rows("help")

    def professional_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return self.contact_rows("professional")

    def content(self) -> rules.SafetyPlanContent:
        data = self.cleaned_data

        def contacts(prefix: str) -> tuple[rules.Contact, ...]:
            return tuple(
                rules.Contact(
                    name=data.get(f"{prefix}_name_{i}", ""),
                    phone=data.get(f"{prefix}_phone_{i}", ""),
                )
                for i in range(self.row_counts[prefix])
            )

        return rules.SafetyPlanContent(
            warning_signs=_lines(data["warning_signs"]),
            coping_strategies=_lines(data["coping_strategies"]),
            social_distractions=_lines(data["social_distractions"]),
            help_contacts=contacts("help"),
            professional_contacts=contacts("professional"),
            environment_safety=_lines(data["environment_safety"]),
            reasons_for_living=data["reasons_for_living"],
            developed_with_patient=data["developed_with_patient"],
        )


def safety_plan_initial(plan: SafetyPlan | None) -> tuple[dict[str, Any], dict[str, int]]:
    """Initial values and contact row counts: the current version, or a new plan with the
    988 Lifeline already listed."""
    if plan is None:
        initial: dict[str, Any] = {
            "base_number": 0,
            "developed_with_patient": True,
            "professional_name_0": rules.CRISIS_LINE.name,
            "professional_phone_0": rules.CRISIS_LINE.phone,
        }
        return initial, {"help": MIN_ROWS, "professional": MIN_ROWS}
    initial = {
        "base_number": plan.number,
        "developed_with_patient": plan.developed_with_patient,
        "reasons_for_living": plan.reasons_for_living,
    }
    for section in LINE_SECTIONS:
        initial[section] = "\n".join(getattr(plan, section))
    counts = {}
    for prefix, rows in (
        ("help", plan.help_contacts),
        ("professional", plan.professional_contacts),
    ):
        for index, row in enumerate(rows):
            initial[f"{prefix}_name_{index}"] = row.get("name", "")
            initial[f"{prefix}_phone_{index}"] = row.get("phone", "")
        counts[prefix] = max(len(rows) + EXTRA_ROWS, MIN_ROWS)
    return initial, counts
