"""The Django admin, for system administrators only (configuration, never charts)."""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.http import HttpRequest

from openiop.accounts.roles import Perm


class OpenIOPAdminSite(AdminSite):
    site_header = "OpenIOP administration"
    site_title = "OpenIOP admin"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(
            user.is_active
            and user.is_authenticated
            and user.is_verified()  # type: ignore[union-attr]
            and user.has_perm_code(Perm.ADMIN_SITE)  # type: ignore[union-attr]
            and user.is_staff
        )


admin_site = OpenIOPAdminSite(name="admin")
