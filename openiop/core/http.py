"""Small helpers every view uses."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, cast
from uuid import UUID

from django import forms
from django.http import HttpRequest
from django.utils import timezone

from openiop.accounts.models import User
from openiop.core.errors import ServiceError

if TYPE_CHECKING:
    from openiop.patients.selectors import PatientAccess


def actor_of(request: HttpRequest) -> User:
    """The signed-in staff member (views reach here only after AccessPolicyMiddleware)."""
    return cast(User, request.user)


def now() -> datetime:
    return timezone.now()


def today() -> date:
    return timezone.localdate()


def form_error(form: forms.Form, error: ServiceError) -> None:
    """Put a refused service call's message next to its field (or on top of the form)."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


def patient_access(
    request: HttpRequest, patient_id: UUID | str, purpose: str = "read"
) -> PatientAccess:
    """The patient a view works on, if the signed-in staff member may see it; otherwise
    the same audited 404 as a patient that does not exist (patients.selectors)."""
    from openiop.patients.selectors import patient_get_for_user

    return patient_get_for_user(
        actor=actor_of(request), public_id=patient_id, now=now(), purpose=purpose
    )
