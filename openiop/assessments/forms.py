"""Forms parse input only; the domain checks live in rules.py and run in services."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms

from openiop.assessments import rules
from openiop.assessments.models import (
    PLACEMENT_CHOICES,
    DiagnosisRank,
    DiagnosisStatus,
    OverrideReason,
    ReadinessStage,
    Route,
    Substance,
    TreatmentOutcome,
    TreatmentType,
    UseFrequency,
)
from openiop.assessments.services import (
    BiopsychosocialInput,
    EligibilityRuleInput,
    LevelOfCareInput,
    SubstanceRowInput,
    TreatmentRowInput,
)
from openiop.organizations.models import LevelOfCare

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATE_ERRORS = {"invalid": "Enter a date as YYYY-MM-DD."}


def _blank(choices: Any) -> list[tuple[str, str]]:
    return [("", "—"), *list(choices)]


def _text(label: str, rows: int = 3, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        widget=forms.Textarea(attrs={"rows": rows}),
        help_text=help_text,
    )


class SubmissionTokenMixin(forms.Form):
    submission_token = forms.UUIDField(widget=forms.HiddenInput, required=False)

    def _init_token(self) -> None:
        if not self.is_bound:
            self.initial.setdefault("submission_token", uuid.uuid4())


# --- Biopsychosocial --------------------------------------------------------------


class BiopsychosocialForm(SubmissionTokenMixin):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    assessed_on = forms.DateField(
        label="Assessment date", widget=DATE, error_messages=DATE_ERRORS, help_text="YYYY-MM-DD"
    )
    presenting_problem = _text("Presenting problem", 4, "What brings the patient in now.")
    withdrawal_history = _text("Withdrawal history", 3, "Past withdrawal, seizures, delirium.")
    overdose_history = _text("Overdose history")
    last_overdose_on = forms.DateField(
        label="Date of last overdose", widget=DATE, required=False, error_messages=DATE_ERRORS
    )
    psychiatric_history = _text("Psychiatric history")
    medical_history = _text("Medical history")
    current_medications = _text("Current medications", 3, "Name, dose and prescriber.")
    family = _text("Family and relationships")
    housing = _text("Housing")
    employment = _text("Employment")
    education = _text("Education")
    legal = _text("Legal")
    military = _text("Military service")
    trauma = _text("Trauma")
    strengths = _text("Strengths")
    readiness_stage = forms.ChoiceField(
        label="Readiness to change", choices=_blank(ReadinessStage.choices), required=False
    )
    patient_goals = _text(
        "The patient's goals, in their own words", 4, "Write them as the patient says them."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._init_token()

    def data_input(self) -> BiopsychosocialInput:
        c = self.cleaned_data
        values: dict[str, Any] = {
            name: c[name].strip() if isinstance(c[name], str) else c[name]
            for name in BiopsychosocialInput.__dataclass_fields__
        }
        return BiopsychosocialInput(**values)


class SubstanceRowForm(forms.Form):
    row_id = forms.UUIDField(widget=forms.HiddenInput, required=False)
    substance = forms.ChoiceField(choices=_blank(Substance.choices))
    substance_other = forms.CharField(label="If other, which", max_length=100, required=False)
    route = forms.ChoiceField(choices=_blank(Route.choices), required=False)
    frequency = forms.ChoiceField(choices=_blank(UseFrequency.choices), required=False)
    age_first_use = forms.IntegerField(
        label="Age of first use",
        min_value=0,
        max_value=120,
        required=False,
        error_messages={"invalid": "Enter the age in whole years."},
    )
    last_use_on = forms.DateField(
        label="Date of last use", widget=DATE, required=False, error_messages=DATE_ERRORS
    )
    amount = forms.CharField(label="Typical amount", max_length=200, required=False)

    def row(self) -> SubstanceRowInput:
        c = self.cleaned_data
        return SubstanceRowInput(
            row_id=c.get("row_id"),
            remove=bool(c.get("DELETE")),
            substance=c.get("substance", ""),
            substance_other=c.get("substance_other", "").strip(),
            route=c.get("route", ""),
            frequency=c.get("frequency", ""),
            age_first_use=c.get("age_first_use"),
            last_use_on=c.get("last_use_on"),
            amount=c.get("amount", "").strip(),
        )


class TreatmentRowForm(forms.Form):
    row_id = forms.UUIDField(widget=forms.HiddenInput, required=False)
    treatment_type = forms.ChoiceField(label="Type", choices=_blank(TreatmentType.choices))
    facility = forms.CharField(max_length=200, required=False)
    started_on = forms.DateField(
        label="Start date", widget=DATE, required=False, error_messages=DATE_ERRORS
    )
    ended_on = forms.DateField(
        label="End date", widget=DATE, required=False, error_messages=DATE_ERRORS
    )
    outcome = forms.ChoiceField(
        choices=TreatmentOutcome.choices, initial=TreatmentOutcome.UNKNOWN, required=False
    )

    def row(self) -> TreatmentRowInput:
        c = self.cleaned_data
        return TreatmentRowInput(
            row_id=c.get("row_id"),
            remove=bool(c.get("DELETE")),
            treatment_type=c.get("treatment_type", ""),
            facility=c.get("facility", "").strip(),
            started_on=c.get("started_on"),
            ended_on=c.get("ended_on"),
            outcome=c.get("outcome") or TreatmentOutcome.UNKNOWN,
        )


SubstanceFormSet = forms.formset_factory(SubstanceRowForm, extra=0, can_delete=True)
TreatmentFormSet = forms.formset_factory(TreatmentRowForm, extra=0, can_delete=True)


def filled_rows(formset: forms.BaseFormSet) -> list[Any]:
    """Row inputs of the forms that hold something (blank extra rows are skipped)."""
    return [
        f.row()
        for f in formset.forms
        if f.has_changed() and hasattr(f, "cleaned_data") and f.cleaned_data
    ]


# --- Diagnoses --------------------------------------------------------------------


class DiagnosisAddForm(SubmissionTokenMixin):
    code = forms.CharField(
        label="ICD-10-CM code", max_length=10, help_text="For example F10.20. Billable codes only."
    )
    rank = forms.ChoiceField(choices=DiagnosisRank.choices)
    onset_on = forms.DateField(
        label="Onset date", widget=DATE, required=False, error_messages=DATE_ERRORS
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._init_token()


class DiagnosisEditForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    rank = forms.ChoiceField(choices=DiagnosisRank.choices)
    status = forms.ChoiceField(choices=DiagnosisStatus.choices)
    onset_on = forms.DateField(
        label="Onset date", widget=DATE, required=False, error_messages=DATE_ERRORS
    )
    reason = forms.CharField(
        label="Reason (required for entered in error)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class StatusReasonForm(forms.Form):
    reason = forms.CharField(label="Why was this entered in error?", max_length=500)


# --- Level of care ----------------------------------------------------------------


def _rating_field(n: int) -> forms.IntegerField:
    message = f"Rate Dimension {n} from 0 (none) to 4 (severe)."
    return forms.IntegerField(
        label="Rating",
        widget=forms.NumberInput(attrs={"min": 0, "max": 4, "step": 1}),
        error_messages={"invalid": message, "required": message},
        help_text="0 none · 1 mild · 2 moderate · 3 significant · 4 severe",
    )


class LevelOfCareForm(SubmissionTokenMixin):
    assessed_on = forms.DateField(
        label="Assessment date", widget=DATE, error_messages=DATE_ERRORS, help_text="YYYY-MM-DD"
    )
    d1_rating = _rating_field(1)
    d1_rationale = _text("Rationale (required from 2)", 2)
    d2_rating = _rating_field(2)
    d2_rationale = _text("Rationale (required from 2)", 2)
    d3_rating = _rating_field(3)
    d3_rationale = _text("Rationale (required from 2)", 2)
    d4_rating = _rating_field(4)
    d4_rationale = _text("Rationale (required from 2)", 2)
    d5_rating = _rating_field(5)
    d5_rationale = _text("Rationale (required from 2)", 2)
    d6_rating = _rating_field(6)
    d6_rationale = _text("Rationale (required from 2)", 2)
    imminent_danger = forms.BooleanField(
        label="Imminent danger (e.g. high suicide risk, severe withdrawal): emergency evaluation",
        required=False,
    )
    chosen_level = forms.ChoiceField(
        label="Level of care chosen", choices=_blank(PLACEMENT_CHOICES), required=False
    )
    override_reason = forms.ChoiceField(
        label="Reason, when the level chosen differs from the recommendation",
        choices=_blank(OverrideReason.choices),
        required=False,
    )
    override_note = forms.CharField(
        label="Note on the difference", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._init_token()

    def dimension_rows(self) -> list[tuple[int, forms.BoundField, forms.BoundField]]:
        return [(n, self[f"d{n}_rating"], self[f"d{n}_rationale"]) for n in rules.DIMENSIONS]

    def data_input(self) -> LevelOfCareInput:
        c = self.cleaned_data
        return LevelOfCareInput(
            assessed_on=c["assessed_on"],
            ratings={n: c.get(f"d{n}_rating") for n in rules.DIMENSIONS},
            rationales={n: c.get(f"d{n}_rationale", "") for n in rules.DIMENSIONS},
            imminent_danger=c.get("imminent_danger", False),
            chosen_level=c.get("chosen_level", ""),
            override_reason=c.get("override_reason", ""),
            override_note=c.get("override_note", ""),
        )


TABLE_LEVEL_CHOICES = [(v, label) for v, label in LevelOfCare.choices if v in rules.TABLE_LEVELS]


class LevelTableForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    is_example = forms.BooleanField(
        label="These are still the example values (keep the 'Example only' label)",
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for d in rules.DIMENSIONS:
            for r in rules.RATINGS:
                self.fields[f"d{d}_r{r}"] = forms.ChoiceField(
                    label=f"Dimension {d}, rating {r}",
                    choices=_blank(TABLE_LEVEL_CHOICES),
                    error_messages={"invalid_choice": "Choose a level."},
                )

    def grid(self) -> list[tuple[int, str, list[forms.BoundField]]]:
        return [
            (d, name, [self[f"d{d}_r{r}"] for r in rules.RATINGS])
            for d, name in rules.DIMENSIONS.items()
        ]

    def cells(self) -> dict[tuple[int, int], str]:
        return {
            (d, r): self.cleaned_data.get(f"d{d}_r{r}", "")
            for d in rules.DIMENSIONS
            for r in rules.RATINGS
        }


# --- Eligibility ------------------------------------------------------------------


class EligibilityRuleForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    min_age = forms.IntegerField(label="Minimum age", min_value=0, max_value=120, required=False)
    max_age = forms.IntegerField(label="Maximum age", min_value=0, max_value=120, required=False)
    prior_care_types = forms.MultipleChoiceField(
        label="Required prior care (any one of)",
        choices=TreatmentType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    prior_care_must_be_completed = forms.BooleanField(
        label="The prior care must have been completed", required=False
    )
    prior_care_within_days = forms.IntegerField(
        label="...ended within this many days",
        min_value=1,
        max_value=3650,
        required=False,
        help_text="Leave empty for any time.",
    )
    require_level_2_1_or_step_down = forms.BooleanField(
        label="Recommended level must be 2.1, or a step-down from a higher level", required=False
    )
    step_down_within_days = forms.IntegerField(
        label="A step-down counts when the higher-level stay ended within (days)",
        min_value=1,
        max_value=3650,
        initial=30,
    )
    exclusions = forms.CharField(
        label="Exclusions (one per line)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Each one is ticked present or absent by the clinician checking eligibility.",
    )

    def data_input(self) -> EligibilityRuleInput:
        c = self.cleaned_data
        return EligibilityRuleInput(
            min_age=c.get("min_age"),
            max_age=c.get("max_age"),
            prior_care_types=tuple(c.get("prior_care_types") or ()),
            prior_care_must_be_completed=c.get("prior_care_must_be_completed", False),
            prior_care_within_days=c.get("prior_care_within_days"),
            require_level_2_1_or_step_down=c.get("require_level_2_1_or_step_down", False),
            step_down_within_days=c.get("step_down_within_days") or 30,
            exclusions="\n".join(
                line.strip() for line in c.get("exclusions", "").splitlines() if line.strip()
            ),
        )


EXCLUSION_CHOICES = [("", "Not assessed"), ("absent", "Absent"), ("present", "Present")]


class EligibilityCheckForm(SubmissionTokenMixin):
    def __init__(self, *args: Any, exclusions: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._init_token()
        for index, text in enumerate(exclusions):
            self.fields[f"exclusion_{index}"] = forms.ChoiceField(
                label=text, choices=EXCLUSION_CHOICES, required=False, widget=forms.RadioSelect
            )

    def answers(self) -> dict[str, str]:
        return {
            name.removeprefix("exclusion_"): value
            for name, value in self.cleaned_data.items()
            if name.startswith("exclusion_") and value
        }
