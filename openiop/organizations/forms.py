from __future__ import annotations

from typing import Any

from django import forms

from openiop.accounts.models import User
from openiop.accounts.roles import Role
from openiop.organizations.models import Payer, Program, Site


class SiteForm(forms.ModelForm):
    class Meta:
        model = Site
        fields = ["name", "address", "phone", "is_active"]


class ProgramForm(forms.ModelForm):
    class Meta:
        model = Program
        fields = ["site", "name", "program_type", "level_of_care", "is_active"]

    def __init__(self, *args: Any, organization_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = Site.objects.filter(  # type: ignore[attr-defined]
            organization_id=organization_id
        )


class PayerForm(forms.ModelForm):
    class Meta:
        model = Payer
        fields = ["name", "payer_code", "plan_type", "is_active"]


class StaffForm(forms.Form):
    username = forms.RegexField(
        regex=r"^[a-z0-9._-]{3,40}$",
        error_messages={"invalid": "Use 3 to 40 lower-case letters, digits, dots, dashes."},
    )
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    role = forms.ChoiceField(choices=Role.choices)
    credentials = forms.CharField(max_length=60, required=False)
    is_trainee = forms.BooleanField(required=False, label="Trainee (needs co-signature)")
    is_active = forms.BooleanField(required=False, initial=True, label="Account active")
    programs = forms.ModelMultipleChoiceField(
        queryset=Program.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Required for a new account; leave empty to keep the current password.",
    )

    def __init__(
        self, *args: Any, organization_id: int, editing: User | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.editing = editing
        self.fields["programs"].queryset = Program.objects.filter(  # type: ignore[attr-defined]
            site__organization_id=organization_id
        ).select_related("site")
        if editing is not None:
            self.fields["username"].disabled = True

    def clean_username(self) -> str:
        username = str(self.cleaned_data["username"])
        clash = User.objects.filter(username=username)
        if self.editing is not None:
            clash = clash.exclude(pk=self.editing.pk)
        if clash.exists():
            raise forms.ValidationError("That username is taken.")
        return username

    def clean_password(self) -> str:
        from django.contrib.auth.password_validation import validate_password

        password = str(self.cleaned_data.get("password") or "")
        if self.editing is None and not password:
            raise forms.ValidationError("Set a first password for the new account.")
        if password:
            validate_password(password, self.editing)
        return password
