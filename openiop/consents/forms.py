from __future__ import annotations

import uuid
from typing import Any

from django import forms

from openiop.consents.models import (
    DISCLOSURE_KINDS,
    ConsentKind,
    ExpiryEvent,
    InfoCategory,
    Purpose,
    RecipientClass,
    RevocationMethod,
)
from openiop.consents.selectors import NEVER_REQUIRED_FOR_ADMISSION
from openiop.consents.services import ROI_RECIPIENT_CLASS, ConsentInput
from openiop.organizations.models import Program

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

_GENERAL_CATEGORIES = [c for c in InfoCategory.choices if c[0] != InfoCategory.SUD_COUNSELING_NOTES]
_PART2_RECIPIENT_CLASSES = [
    ("", "—"),
    (RecipientClass.NAMED_INDIVIDUAL, RecipientClass.NAMED_INDIVIDUAL.label),
    (RecipientClass.NAMED_ORGANIZATION, RecipientClass.NAMED_ORGANIZATION.label),
    (RecipientClass.OUTSIDE_PROVIDER, RecipientClass.OUTSIDE_PROVIDER.label),
    (RecipientClass.HEALTH_PLAN, RecipientClass.HEALTH_PLAN.label),
    (RecipientClass.TPO_GENERAL, RecipientClass.TPO_GENERAL.label),
]


class ConsentForm(forms.Form):
    """The elements of one consent; which fields appear depends on the kind."""

    program = forms.ModelChoiceField(
        label="Who may disclose (program)", queryset=Program.objects.none(), empty_label=None
    )
    effective_on = forms.DateField(label="Takes effect on", widget=DATE)
    is_tpo = forms.BooleanField(
        label="Single consent for all future treatment, payment and health care operations (TPO)",
        required=False,
        help_text="Tick all three purposes below. Recipients may then be described generally.",
    )
    recipient_name = forms.CharField(
        label="Recipient name",
        max_length=200,
        required=False,
        help_text="A person or organization. Left empty only for a TPO consent with a general "
        "description of recipients.",
    )
    recipient_class = forms.ChoiceField(
        label="Kind of recipient", choices=_PART2_RECIPIENT_CLASSES, required=False
    )
    recipient_relationship = forms.CharField(
        label="Relationship to the patient", max_length=100, required=False
    )
    recipient_contact = forms.CharField(
        label="Recipient's contact details",
        max_length=300,
        required=False,
        help_text="Phone, address or secure email.",
    )
    information_description = forms.CharField(
        label="What information, specifically",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="For example: attendance and progress in the program from admission to "
        "discharge.",
    )
    categories = forms.MultipleChoiceField(
        label="Information categories",
        choices=_GENERAL_CATEGORIES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    purposes = forms.MultipleChoiceField(
        label="Purpose of the disclosure",
        choices=Purpose.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    purpose_description = forms.CharField(
        label="Purpose, in words (optional)", max_length=500, required=False
    )
    expires_on = forms.DateField(label="Expires on", widget=DATE, required=False)
    expiry_event = forms.ChoiceField(
        label="Or expires at this event",
        choices=[("", "—")] + [c for c in ExpiryEvent.choices if c[0]],
        required=False,
    )
    expiry_event_description = forms.CharField(
        label="The event, described", max_length=200, required=False
    )

    def __init__(self, *args: Any, kind: str, programs: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.fields["program"].queryset = programs  # type: ignore[attr-defined]
        if kind not in DISCLOSURE_KINDS:
            keep = {"program", "effective_on", "expires_on", "submission_token", "version"}
            for name in list(self.fields):
                if name not in keep:
                    del self.fields[name]
            self.fields["expires_on"].label = "Ends on (optional)"
            self.fields["expires_on"].help_text = "Leave empty: it lasts for this episode of care."
            return
        if kind != ConsentKind.PART2_DISCLOSURE:
            del self.fields["is_tpo"]
            choices = [c for c in self.fields["expiry_event"].choices if c[0] != "none"]  # type: ignore[attr-defined]
            self.fields["expiry_event"].choices = choices  # type: ignore[attr-defined]
        if kind in ROI_RECIPIENT_CLASS:
            del self.fields["recipient_class"]
            self.fields["recipient_name"].help_text = ""
        if kind == ConsentKind.SUD_COUNSELING_NOTES:
            # This consent covers SUD counseling notes and nothing else.
            del self.fields["categories"]
            self.fields["recipient_class"].choices = _PART2_RECIPIENT_CLASSES[:4]  # type: ignore[attr-defined]
            self.fields["recipient_name"].help_text = ""

    def consent_input(self) -> ConsentInput:
        d = self.cleaned_data
        if self.kind == ConsentKind.SUD_COUNSELING_NOTES:
            categories: tuple[str, ...] = (InfoCategory.SUD_COUNSELING_NOTES,)
        else:
            categories = tuple(d.get("categories") or ())
        return ConsentInput(
            program=d["program"],
            effective_on=d["effective_on"],
            is_tpo=bool(d.get("is_tpo")),
            recipient_name=d.get("recipient_name", ""),
            recipient_class=d.get("recipient_class", ""),
            recipient_relationship=d.get("recipient_relationship", ""),
            recipient_contact=d.get("recipient_contact", ""),
            purposes=tuple(d.get("purposes") or ()),
            purpose_description=d.get("purpose_description", ""),
            categories=categories,
            information_description=d.get("information_description", ""),
            expires_on=d.get("expires_on"),
            expiry_event=d.get("expiry_event", ""),
            expiry_event_description=d.get("expiry_event_description", ""),
        )


class ConsentCreateForm(ConsentForm):
    submission_token = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("submission_token", uuid.uuid4())


class ConsentEditForm(ConsentForm):
    version = forms.IntegerField(widget=forms.HiddenInput)


class SignForm(forms.Form):
    shown_text_sha256 = forms.CharField(widget=forms.HiddenInput, max_length=64)
    signature_data = forms.CharField(widget=forms.HiddenInput, required=False, max_length=500_000)
    typed_name = forms.CharField(
        label="Type your full legal name",
        max_length=300,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    signing_electronically = forms.BooleanField(
        label="I am signing electronically. My typed name is my signature.",
        required=False,
    )


class VerbalConsentForm(forms.Form):
    shown_text_sha256 = forms.CharField(widget=forms.HiddenInput, max_length=64)
    unable_to_sign_reason = forms.CharField(
        label="Why the patient could not sign", max_length=300, required=False
    )
    second_witness_name = forms.CharField(
        label="Second witness (name and role)", max_length=200, required=False
    )
    read_aloud = forms.BooleanField(
        label="I read the consent to the patient, who said they understood and agreed.",
        required=False,
    )


class RevokeForm(forms.Form):
    method = forms.ChoiceField(
        label="How the revocation was received",
        choices=RevocationMethod.choices,
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label="Details",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For a written revocation: the date on the letter. For a verbal one: what "
        "the patient said and who else heard it. You are recorded as the person who "
        "received it.",
    )


class VoidForm(forms.Form):
    reason = forms.CharField(label="Why this consent was entered in error", max_length=500)


class ProgramConsentSettingsForm(forms.Form):
    required_kinds = forms.MultipleChoiceField(
        label="Consents required before admission",
        choices=[c for c in ConsentKind.choices if c[0] not in NEVER_REQUIRED_FOR_ADMISSION],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="A consent to disclose or a release of information can never be required: "
        "treatment cannot be conditioned on it.",
    )
