from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.template.response import TemplateResponse

from openiop.access.policy import Audience, rule_for
from openiop.accounts.mfa import is_verified
from openiop.accounts.models import User
from openiop.audit.models import AuditAction, AuditOutcome
from openiop.audit.services import audit_record

logger = logging.getLogger(__name__)


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return TemplateResponse(
        request, "core/forbidden.html", {"message": message}, status=403
    ).render()


class AccessPolicyMiddleware:
    """Enforces each view's AccessRule: sign-in, the second factor, and permissions."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        match = getattr(request, "resolver_match", None)
        if match is not None and match.app_name == "admin":
            # The admin site enforces its own rule (OpenIOPAdminSite.has_permission).
            return None
        if request.path.startswith(settings.STATIC_URL):
            return None
        rule = rule_for(view_func)
        if rule is None:
            logger.error("Refused a request to an unclassified view: %s", request.resolver_match)
            return forbidden(request, "This page has not been opened to anyone yet.")
        if rule.audience == Audience.PUBLIC:
            return None
        user = request.user
        if not isinstance(user, User):
            if request.headers.get("HX-Request"):
                response = HttpResponse(status=401)
                response["HX-Redirect"] = resolve_url(settings.LOGIN_URL)
                return response
            return redirect_to_login(request.get_full_path(), resolve_url(settings.LOGIN_URL))
        if rule.audience == Audience.SIGNED_IN:
            return None
        if not is_verified(user):
            return redirect_to_login(request.get_full_path(), resolve_url("accounts:mfa"))
        missing = [p for p in rule.perms if not user.has_perm_code(p)]
        if missing or not user.role:
            audit_record(
                actor=user,
                action=AuditAction.ACCESS_DENIED,
                outcome=AuditOutcome.DENIED,
                object_type="view",
                object_id=(request.resolver_match.view_name if request.resolver_match else ""),
                detail={"missing": sorted(missing)},
            )
            return forbidden(request, "Your role does not allow this.")
        return None
