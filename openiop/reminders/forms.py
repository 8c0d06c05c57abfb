from __future__ import annotations

from django import forms

from openiop.reminders import rules


class PreferenceForm(forms.Form):
    email_enabled = forms.BooleanField(
        label="Send reminders by email", required=False, help_text="To the email on file."
    )
    sms_enabled = forms.BooleanField(
        label="Send reminders by text message",
        required=False,
        help_text="To the phone number on file (US numbers).",
    )
    lead_minutes = forms.TypedChoiceField(
        label="When", choices=rules.LEAD_CHOICES, coerce=int, empty_value=None
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
