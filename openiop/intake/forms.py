from __future__ import annotations

import uuid
from typing import Any

from django import forms

from openiop.accounts.models import User
from openiop.intake.models import (
    ContactMethod,
    ContactOutcome,
    ObservationOutcome,
    ReferralSource,
    SchedulePreference,
    Urgency,
)
from openiop.intake.services import (
    AdmissionInput,
    ContactAttemptInput,
    ObservationInput,
    ReferralInput,
)
from openiop.organizations.models import LevelOfCare, Program

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]


class _TokenForm(forms.Form):
    submission_token = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("submission_token", uuid.uuid4())


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class ReferralForm(forms.Form):
    program = forms.ModelChoiceField(
        label="Program wanted",
        queryset=Program.objects.none(),
        required=False,
        empty_label="Not decided yet (intake pool)",
    )
    urgency = forms.ChoiceField(choices=Urgency.choices, initial=Urgency.ROUTINE)
    received_at = forms.DateTimeField(
        label="Received", widget=DATETIME, input_formats=DATETIME_FORMATS
    )
    given_name = forms.CharField(label="First name", max_length=100)
    family_name = forms.CharField(label="Last name", max_length=100)
    date_of_birth = forms.DateField(widget=DATE, required=False, help_text="YYYY-MM-DD, if known.")
    phone = forms.CharField(max_length=40, required=False)
    email = forms.EmailField(required=False)
    preferred_contact_method = forms.ChoiceField(
        label="Preferred contact", choices=[("", "—"), *ContactMethod.choices], required=False
    )
    source_type = forms.ChoiceField(
        label="Referred by", choices=[("", "—"), *ReferralSource.choices]
    )
    referring_organization = forms.CharField(max_length=200, required=False)
    referrer_name = forms.CharField(
        label="Referring contact person", max_length=200, required=False
    )
    referrer_phone = forms.CharField(label="Referring contact phone", max_length=40, required=False)
    reason = forms.CharField(label="Reason for referral", widget=forms.Textarea(attrs={"rows": 3}))
    schedule_preference = forms.ChoiceField(
        label="Preferred schedule",
        choices=SchedulePreference.choices,
        initial=SchedulePreference.EITHER,
        help_text="Many patients keep working or studying: day or evening groups.",
    )
    schedule_notes = forms.CharField(
        max_length=300, required=False, help_text="For example: works until 4 pm on weekdays."
    )
    insurance_payer_name = forms.CharField(
        label="Insurance (as given)", max_length=200, required=False
    )
    insurance_member_id = forms.CharField(
        label="Member id (as given)", max_length=60, required=False
    )
    insurance_notes = forms.CharField(
        label="Insurance notes", widget=forms.Textarea(attrs={"rows": 2}), required=False
    )

    def __init__(self, *args: Any, programs: list[Program], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["program"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Program.objects.filter(pk__in=[p.pk for p in programs])

    def referral(self) -> ReferralInput:
        c = {name: _strip(value) for name, value in self.cleaned_data.items()}
        return ReferralInput(
            program=c["program"],
            source_type=c["source_type"],
            referring_organization=c["referring_organization"],
            referrer_name=c["referrer_name"],
            referrer_phone=c["referrer_phone"],
            reason=c["reason"],
            urgency=c["urgency"],
            given_name=c["given_name"],
            family_name=c["family_name"],
            date_of_birth=c["date_of_birth"],
            phone=c["phone"],
            email=c["email"],
            preferred_contact_method=c["preferred_contact_method"],
            insurance_payer_name=c["insurance_payer_name"],
            insurance_member_id=c["insurance_member_id"],
            insurance_notes=c["insurance_notes"],
            schedule_preference=c["schedule_preference"],
            schedule_notes=c["schedule_notes"],
            received_at=c["received_at"],
        )


class ReferralCreateForm(ReferralForm):
    submission_token = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("submission_token", uuid.uuid4())


class ReferralEditForm(ReferralForm):
    version = forms.IntegerField(widget=forms.HiddenInput)


class StageMoveForm(forms.Form):
    to_stage = forms.CharField(label="Move to", max_length=20)
    reason = forms.CharField(max_length=500, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput)


class ContactAttemptForm(_TokenForm):
    attempted_at = forms.DateTimeField(
        label="When", widget=DATETIME, input_formats=DATETIME_FORMATS
    )
    method = forms.ChoiceField(choices=ContactMethod.choices)
    outcome = forms.ChoiceField(choices=[("", "—"), *ContactOutcome.choices])
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def attempt(self) -> ContactAttemptInput:
        c = self.cleaned_data
        return ContactAttemptInput(
            attempted_at=c["attempted_at"],
            method=c["method"],
            outcome=c["outcome"],
            note=c["note"].strip(),
        )


class ObservationForm(_TokenForm):
    visit_date = forms.DateField(label="Date", widget=DATE)
    visit_time = forms.TimeField(label="Time", widget=TIME, required=False)
    session_description = forms.CharField(
        label="Group or session",
        max_length=200,
        help_text="For example: Tuesday evening relapse-prevention group.",
    )
    facilitator = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="—"
    )
    outcome = forms.ChoiceField(
        choices=ObservationOutcome.choices, initial=ObservationOutcome.UNDECIDED
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args: Any, staff: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["facilitator"].queryset = staff  # type: ignore[attr-defined]

    def observation(self) -> ObservationInput:
        c = self.cleaned_data
        return ObservationInput(
            visit_date=c["visit_date"],
            visit_time=c["visit_time"],
            session_description=c["session_description"].strip(),
            facilitator=c["facilitator"],
            outcome=c["outcome"],
            note=c["note"].strip(),
        )


class EnteredInErrorForm(forms.Form):
    reason = forms.CharField(max_length=300)


class AdmissionForm(_TokenForm):
    start_date = forms.DateField(widget=DATE)
    level_of_care = forms.ChoiceField(choices=LevelOfCare.choices)
    track = forms.CharField(
        label="Program track",
        max_length=100,
        help_text="For example: Day SUD, Evening MH (scheduling will replace this).",
    )
    expected_weeks = forms.IntegerField(label="Expected length (weeks)", min_value=1, max_value=26)
    schedule_preference = forms.ChoiceField(choices=SchedulePreference.choices)
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

    def admission(self) -> AdmissionInput:
        c = self.cleaned_data
        return AdmissionInput(
            start_date=c["start_date"],
            level_of_care=c["level_of_care"],
            track=c["track"].strip(),
            expected_weeks=c["expected_weeks"],
            primary_counselor=c["primary_counselor"],
            prescriber=c["prescriber"],
            case_manager=c["case_manager"],
            schedule_preference=c["schedule_preference"],
        )
