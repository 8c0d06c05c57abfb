"""Small helpers every view uses."""

from __future__ import annotations

from datetime import date, datetime
from typing import cast

from django import forms
from django.http import HttpRequest
from django.utils import timezone

from openiop.accounts.models import User
from openiop.core.errors import ServiceError


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
