"""django-otp's middleware, with the per-request device read as one plain statement.

OTPMiddleware loads the device that verified the session on every request, to check it
still exists, belongs to the user and is confirmed (its _finalize_device, unchanged).
"""

from __future__ import annotations

from django_otp.middleware import OTPMiddleware as DjangoOTPMiddleware
from django_otp.plugins.otp_totp.models import TOTPDevice

_TOTP_LABEL = TOTPDevice.model_label()
_SQL = f"SELECT * FROM {TOTPDevice._meta.db_table} WHERE id = %s"  # noqa: S608 (model table)


class OTPMiddleware(DjangoOTPMiddleware):
    def _device_from_persistent_id(self, persistent_id: str):  # type: ignore[no-untyped-def]
        label, _, key = self._normalize_persistent_id(persistent_id).partition("/")
        if label == _TOTP_LABEL and key.isdigit():
            return next(iter(TOTPDevice.objects.raw(_SQL, [int(key)])), None)
        return super()._device_from_persistent_id(persistent_id)
