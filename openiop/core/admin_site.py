"""The Django admin, for system administrators only (configuration, never charts)."""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.http import HttpRequest

from openiop.accounts.mfa import is_verified
from openiop.accounts.models import User
from openiop.accounts.roles import Perm


class OpenIOPAdminSite(AdminSite):
    site_header = "OpenIOP administration"
    site_title = "OpenIOP admin"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(
            isinstance(user, User)
            and user.is_active
            and is_verified(user)
            and user.has_perm_code(Perm.ADMIN_SITE)
            and user.is_staff
        )


admin_site = OpenIOPAdminSite(name="admin")
