"""Authentication backend: Django's ModelBackend, with the per-request user read as one
plain statement (every signed-in request loads its user) that also brings the
second-factor device the session names (openiop.accounts.sessions), so that
OTPMiddleware does not read it again."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db import router
from django_otp.plugins.otp_totp.models import TOTPDevice

from openiop.accounts.models import User
from openiop.accounts.sessions import session_device
from openiop.core.db import raw_statement

_TOTP_LABEL = TOTPDevice.model_label()
# The user's columns by name, not u.*: a prepared statement (core/db.py) whose result
# shape changed under it (a column added by a migration) would fail until the
# connection closes.
_USER_COLUMNS = ", ".join(f"u.{field.column}" for field in User._meta.concrete_fields)
_SQL = (
    f"SELECT {_USER_COLUMNS}, "  # noqa: S608
    "d.id AS otp_id, d.user_id AS otp_user_id, d.confirmed AS otp_confirmed "
    f"FROM {User._meta.db_table} u LEFT JOIN {TOTPDevice._meta.db_table} d ON d.id = %s "
    "WHERE u.id = %s"
)


def totp_id(persistent_id: str | None) -> int | None:
    """The TOTP device id in a django-otp persistent id ("otp_totp.totpdevice/7")."""
    label, _, key = (persistent_id or "").partition("/")
    return int(key) if label == _TOTP_LABEL and key.isdigit() else None


class StaffBackend(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        try:
            pk = int(user_id)
        except (TypeError, ValueError):
            return None
        persistent_id = session_device.get()
        device_id = totp_id(persistent_id)
        user = next(iter(raw_statement(User, _SQL, [device_id, pk])), None)
        if user is None or not self.user_can_authenticate(user):
            return None
        device = None
        if user.otp_id is not None:  # type: ignore[attr-defined]
            device = TOTPDevice.from_db(
                router.db_for_read(TOTPDevice),
                ["id", "user_id", "confirmed"],
                [user.otp_id, user.otp_user_id, bool(user.otp_confirmed)],  # type: ignore[attr-defined]
            )
        # (the persistent id it was read for, the device or None): OTPMiddleware uses
        # it only for a request whose session names that same device.
        user.openiop_session_device = (persistent_id, device)  # type: ignore[attr-defined]
        return user
