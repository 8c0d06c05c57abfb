from __future__ import annotations

import uuid
from typing import Any

from django import forms

from openiop.organizations.models import Payer, PlanType, Program
from openiop.patients.models import GenderIdentity, SexAtBirth, SubscriberRelationship
from openiop.patients.services import ContactInput, CoverageInput, Demographics

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

US_STATES = [
    "AL",
    "AK",
    "AZ",
    "AR",
    "CA",
    "CO",
    "CT",
    "DE",
    "DC",
    "FL",
    "GA",
    "HI",
    "ID",
    "IL",
    "IN",
    "IA",
    "KS",
    "KY",
    "LA",
    "ME",
    "MD",
    "MA",
    "MI",
    "MN",
    "MS",
    "MO",
    "MT",
    "NE",
    "NV",
    "NH",
    "NJ",
    "NM",
    "NY",
    "NC",
    "ND",
    "OH",
    "OK",
    "OR",
    "PA",
    "PR",
    "RI",
    "SC",
    "SD",
    "TN",
    "TX",
    "UT",
    "VT",
    "VA",
    "WA",
    "WV",
    "WI",
    "WY",
]


class DemographicsForm(forms.Form):
    legal_given_name = forms.CharField(label="Legal first name", max_length=100)
    legal_middle_name = forms.CharField(label="Legal middle name", max_length=100, required=False)
    legal_family_name = forms.CharField(label="Legal last name", max_length=100)
    preferred_name = forms.CharField(max_length=100, required=False)
    pronouns = forms.CharField(
        max_length=40, required=False, help_text="For example she/her, he/him, they/them."
    )
    date_of_birth = forms.DateField(widget=DATE)
    sex_at_birth = forms.ChoiceField(choices=[("", "—"), *list(SexAtBirth.choices)])
    gender_identity = forms.ChoiceField(
        choices=[("", "—"), *list(GenderIdentity.choices)], required=False
    )
    phone = forms.CharField(max_length=40, required=False)
    email = forms.EmailField(required=False)
    address_line1 = forms.CharField(label="Address", max_length=200, required=False)
    address_line2 = forms.CharField(label="Address line 2", max_length=200, required=False)
    city = forms.CharField(max_length=100, required=False)
    state = forms.ChoiceField(choices=[("", "—")] + [(s, s) for s in US_STATES], required=False)
    postal_code = forms.RegexField(
        label="ZIP code",
        regex=r"^\d{5}(-\d{4})?$",
        required=False,
        error_messages={"invalid": "Enter a 5-digit ZIP code (or ZIP+4, 12345-6789)."},
    )
    preferred_language = forms.CharField(max_length=40, initial="English")

    def clean_phone(self) -> str:
        from openiop.patients.rules import phone_digits

        phone = str(self.cleaned_data.get("phone", "")).strip()
        if phone and len(phone_digits(phone)) != 10:
            raise forms.ValidationError("Enter a 10-digit phone number, for example 555-201-3344.")
        return phone

    def demographics(self) -> Demographics:
        data: dict[str, Any] = {
            name: self.cleaned_data[name] for name in Demographics.__dataclass_fields__
        }
        for name, value in data.items():
            if isinstance(value, str):
                data[name] = value.strip()
        return Demographics(**data)


class PatientRegisterForm(DemographicsForm):
    program = forms.ModelChoiceField(queryset=Program.objects.none(), empty_label="—")
    initial_status = forms.ChoiceField(
        label="Start as",
        choices=[("referred", "Referred"), ("screening", "Screening")],
        initial="referred",
    )
    contact_name = forms.CharField(label="Emergency contact name", max_length=200, required=False)
    contact_relationship = forms.CharField(label="Relationship", max_length=60, required=False)
    contact_phone = forms.CharField(label="Contact phone", max_length=40, required=False)
    submission_token = forms.UUIDField(widget=forms.HiddenInput)
    confirm_not_duplicate = forms.BooleanField(
        required=False,
        label="I have checked: this is a different person from the existing record(s).",
    )

    def __init__(self, *args: Any, programs: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = programs  # type: ignore[attr-defined]
        if not self.is_bound:
            self.initial.setdefault("submission_token", uuid.uuid4())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        contact = [
            cleaned.get(f, "") for f in ("contact_name", "contact_relationship", "contact_phone")
        ]
        if any(contact) and not all(contact):
            for field, value in zip(
                ("contact_name", "contact_relationship", "contact_phone"), contact, strict=True
            ):
                if not value:
                    self.add_error(field, "Fill in all three emergency contact fields, or none.")
        return cleaned

    def contact(self) -> ContactInput | None:
        name = self.cleaned_data.get("contact_name", "").strip()
        if not name:
            return None
        return ContactInput(
            name=name,
            relationship=self.cleaned_data["contact_relationship"].strip(),
            phone=self.cleaned_data["contact_phone"].strip(),
        )


class PatientEditForm(DemographicsForm):
    version = forms.IntegerField(widget=forms.HiddenInput)


class ContactForm(forms.Form):
    name = forms.CharField(max_length=200)
    relationship = forms.CharField(max_length=60)
    phone = forms.CharField(max_length=40)

    def contact(self) -> ContactInput:
        return ContactInput(
            name=self.cleaned_data["name"].strip(),
            relationship=self.cleaned_data["relationship"].strip(),
            phone=self.cleaned_data["phone"].strip(),
        )


class CoverageForm(forms.Form):
    plan_type = forms.ChoiceField(choices=PlanType.choices)
    payer = forms.ModelChoiceField(queryset=Payer.objects.none(), required=False, empty_label="—")
    member_id = forms.CharField(label="Member id", max_length=60, required=False)
    group_number = forms.CharField(max_length=60, required=False)
    subscriber_name = forms.CharField(
        max_length=200, required=False, help_text="Leave empty when the patient is the subscriber."
    )
    relationship_to_subscriber = forms.ChoiceField(
        label="Patient's relationship to subscriber",
        choices=SubscriberRelationship.choices,
        initial="self",
    )
    effective_start = forms.DateField(widget=DATE)
    effective_end = forms.DateField(widget=DATE, required=False)
    priority = forms.TypedChoiceField(
        choices=[(1, "Primary"), (2, "Secondary"), (3, "Tertiary")], coerce=int, initial=1
    )

    def __init__(self, *args: Any, payers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["payer"].queryset = payers  # type: ignore[attr-defined]

    def coverage(self) -> CoverageInput:
        c = self.cleaned_data
        return CoverageInput(
            payer=c["payer"],
            plan_type=c["plan_type"],
            member_id=c["member_id"].strip(),
            group_number=c["group_number"].strip(),
            subscriber_name=c["subscriber_name"].strip(),
            relationship_to_subscriber=c["relationship_to_subscriber"],
            effective_start=c["effective_start"],
            effective_end=c["effective_end"],
            priority=c["priority"],
        )


class BreakGlassForm(forms.Form):
    mrn = forms.CharField(label="MRN", max_length=20)
    date_of_birth = forms.DateField(widget=DATE)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=(
            "Why you need this chart now. This is recorded and reviewed by the program director."
        ),
    )
