from __future__ import annotations

from django import forms

from openiop.audit.models import AuditAction
from openiop.audit.selectors import AuditFilter

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AuditFilterForm(forms.Form):
    username = forms.CharField(label="User", max_length=150, required=False)
    patient_mrn = forms.CharField(label="Patient MRN", max_length=20, required=False)
    action = forms.ChoiceField(choices=[("", "Any"), *list(AuditAction.choices)], required=False)
    date_from = forms.DateField(label="From", widget=DATE, required=False)
    date_to = forms.DateField(label="To", widget=DATE, required=False)

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned

    def filters(self) -> AuditFilter:
        c = self.cleaned_data
        return AuditFilter(
            username=c.get("username", "").strip(),
            patient_mrn=c.get("patient_mrn", "").strip(),
            action=c.get("action", ""),
            date_from=c.get("date_from"),
            date_to=c.get("date_to"),
        )
