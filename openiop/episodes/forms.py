from __future__ import annotations

from typing import Any

from django import forms

from openiop.accounts.models import User
from openiop.episodes.models import EpisodeStatus
from openiop.organizations.models import LevelOfCare, Program

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class EpisodeOpenForm(forms.Form):
    program = forms.ModelChoiceField(queryset=Program.objects.none(), empty_label="—")
    status = forms.ChoiceField(
        label="Start as", choices=[("referred", "Referred"), ("screening", "Screening")]
    )
    level_of_care = forms.ChoiceField(choices=LevelOfCare.choices, initial=LevelOfCare.L2_1)
    referred_on = forms.DateField(widget=DATE)
    reason = forms.CharField(
        label="Note",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For example: readmission after relapse; step-down from residential care.",
    )

    def __init__(self, *args: Any, programs: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = programs  # type: ignore[attr-defined]


class EpisodeStatusForm(forms.Form):
    to_status = forms.ChoiceField(label="New status", choices=EpisodeStatus.choices)
    effective_on = forms.DateField(widget=DATE)
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(widget=forms.HiddenInput)


class EpisodeLevelForm(forms.Form):
    to_level = forms.ChoiceField(label="New level of care", choices=LevelOfCare.choices)
    effective_on = forms.DateField(widget=DATE)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(widget=forms.HiddenInput)


class CareTeamForm(forms.Form):
    primary_counselor = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="—"
    )
    prescriber = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="—"
    )
    case_manager = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="—"
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, staff: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("primary_counselor", "prescriber", "case_manager"):
            self.fields[name].queryset = staff  # type: ignore[attr-defined]
