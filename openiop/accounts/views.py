"""Sign-in, second factor and sign-out."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import match_token

from openiop.access.policy import public, signed_in
from openiop.accounts import mfa
from openiop.accounts.forms import TokenForm
from openiop.accounts.models import User
from openiop.audit.models import AuditAction, AuditOutcome
from openiop.audit.services import audit_record
from openiop.core.http import actor_of
from openiop.core.middleware import session_mark_login


class StaffLoginView(LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = False

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        session_mark_login(self.request)
        user = form.get_user()
        audit_record(actor=user, action=AuditAction.LOGIN, object_type="session")
        # The second factor comes next; keep where the user was going.
        del response
        query = urlencode({"next": self.get_success_url()})
        return HttpResponseRedirect(f"{_mfa_url(user)}?{query}")

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        audit_record(
            actor=None,
            action=AuditAction.LOGIN_FAILED,
            outcome=AuditOutcome.DENIED,
            object_type="session",
            username=str(self.request.POST.get("username", ""))[:150],
        )
        return super().form_invalid(form)


def _mfa_url(user: User) -> str:
    from django.urls import reverse

    return reverse("accounts:mfa") if mfa.confirmed_totp(user) else reverse("accounts:mfa_setup")


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


login_view = public(StaffLoginView.as_view())


@signed_in
def mfa_verify(request: HttpRequest) -> HttpResponse:
    user = actor_of(request)
    if mfa.confirmed_totp(user) is None:
        return redirect("accounts:mfa_setup")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(user, form.cleaned_data["token"])
        if device is not None:
            otp_login(request, device)
            audit_record(
                actor=user,
                action=AuditAction.MFA_VERIFY,
                object_type="session",
                detail={"method": "recovery_code" if "Static" in type(device).__name__ else "totp"},
            )
            return HttpResponseRedirect(_safe_next(request))
        audit_record(
            actor=user,
            action=AuditAction.MFA_FAILED,
            outcome=AuditOutcome.DENIED,
            object_type="session",
        )
        form.add_error("token", "That code is not valid. Codes change every 30 seconds.")
    return render(
        request,
        "accounts/mfa_verify.html",
        {"form": form, "next": _safe_next(request)},
        status=422 if form.errors else 200,
    )


@signed_in
def mfa_setup(request: HttpRequest) -> HttpResponse:
    user = actor_of(request)
    if mfa.confirmed_totp(user) is not None:
        return redirect("accounts:mfa")
    device = mfa.pending_totp(user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            codes = mfa.recovery_codes_issue(user)
            audit_record(actor=user, action=AuditAction.MFA_ENROLL, object_type="totp_device")
            return render(
                request,
                "accounts/recovery_codes.html",
                {"codes": codes, "next": _safe_next(request)},
            )
        form.add_error("token", "That code does not match. Check your phone's clock and try again.")
    context: dict[str, Any] = {
        "form": form,
        "qr": mfa.provisioning_qr_data_uri(device),
        "secret": mfa.secret_base32(device),
        "secret_grouped": mfa.secret_grouped(device),
        "next": _safe_next(request),
    }
    return render(request, "accounts/mfa_setup.html", context, status=422 if form.errors else 200)


@public
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        audit_record(actor=request.user, action=AuditAction.LOGOUT, object_type="session")
    logout(request)
    messages.info(request, "You have signed out.")
    return redirect("accounts:login")
