"""Request plumbing: request ids and session time-outs."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
from django.utils import timezone

from openiop.core import context

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

SESSION_AUTH_AT = "_openiop_auth_at"
SESSION_SEEN_AT = "_openiop_seen_at"
# Refresh the idle clock at most this often, so ordinary page views do not write
# the session row on every request.
_SEEN_AT_GRANULARITY_SECONDS = 30


class RequestContextMiddleware:
    """Gives each request an id (kept from X-Request-ID when it is well formed)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else str(uuid.uuid4())
        token = context.activate(
            context.RequestContext(request_id=request_id, source_ip=request.META.get("REMOTE_ADDR"))
        )
        try:
            response = self.get_response(request)
        finally:
            context.deactivate(token)
        response["X-Request-ID"] = request_id
        return response


def session_mark_login(request: HttpRequest) -> None:
    now = timezone.now().timestamp()
    request.session[SESSION_AUTH_AT] = now
    request.session[SESSION_SEEN_AT] = now


class SessionTimeoutMiddleware:
    """Ends a session after SESSION_IDLE_TIMEOUT without requests, or after
    SESSION_ABSOLUTE_LIFETIME from login whatever the activity (HIPAA automatic logoff)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = timezone.now().timestamp()
            auth_at = request.session.get(SESSION_AUTH_AT)
            seen_at = request.session.get(SESSION_SEEN_AT)
            if auth_at is None or seen_at is None:
                session_mark_login(request)
            else:
                idle = settings.SESSION_IDLE_TIMEOUT.total_seconds()
                absolute = settings.SESSION_ABSOLUTE_LIFETIME.total_seconds()
                if now - seen_at > idle or now - auth_at > absolute:
                    return self._expired(request)
                if now - seen_at > _SEEN_AT_GRANULARITY_SECONDS:
                    request.session[SESSION_SEEN_AT] = now
        return self.get_response(request)

    def _expired(self, request: HttpRequest) -> HttpResponse:
        from openiop.audit.models import AuditAction
        from openiop.audit.services import audit_record

        user = request.user
        assert user.is_authenticated
        logout(request)
        audit_record(actor=user, action=AuditAction.SESSION_TIMEOUT, object_type="session")
        messages.info(request, "Your session timed out. Please sign in again.")
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=401)
            response["HX-Redirect"] = resolve_url(settings.LOGIN_URL)
            return response
        return redirect(settings.LOGIN_URL)
