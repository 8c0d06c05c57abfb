"""django-otp's middleware, without a second read of the session's device.

OTPMiddleware loads the device that verified the session on every request, to check it
still exists, belongs to the user and is confirmed (its _finalize_device, unchanged).
The user's read (openiop.accounts.backends) brought that device along already; it is
used when the request's session names the very device it was read for, and otherwise
the device is read here as before, with one plain statement.
"""

from __future__ import annotations

from typing import Any

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.middleware import OTPMiddleware as DjangoOTPMiddleware
from django_otp.plugins.otp_totp.models import TOTPDevice

from openiop.accounts.sessions import totp_id

_SQL = f"SELECT * FROM {TOTPDevice._meta.db_table} WHERE id = %s"  # noqa: S608 (model table)


class OTPMiddleware(DjangoOTPMiddleware):
    def _verify_user_sync(self, request: Any, user: Any) -> Any:
        prefetched = getattr(user, "openiop_session_device", None)
        persistent_id = request.session.get(DEVICE_ID_SESSION_KEY)
        if prefetched is None or not persistent_id or prefetched[0] != persistent_id:
            return super()._verify_user_sync(request, user)
        self._init_user_fields(user)
        user.otp_device = self._finalize_device(request, user, prefetched[1])
        return user

    def _device_from_persistent_id(self, persistent_id: str):  # type: ignore[no-untyped-def]
        key = totp_id(self._normalize_persistent_id(persistent_id))
        if key is not None:
            return next(iter(TOTPDevice.objects.raw(_SQL, [key])), None)
        return super()._device_from_persistent_id(persistent_id)
