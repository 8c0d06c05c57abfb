"""The database session store, reading a request's session, user and second-factor
device in one plain statement.

Every signed-in request reads its session row and then its user (and django-otp the
device that verified the session): three ORM reads, which cost several times the rows.
The session table (accounts.StaffSession, SESSION_ENGINE = "openiop.accounts.sessions")
keeps the user and the TOTP device of its data in two columns, written with the data,
so that loading the session joins both. The user read along is handed to the
authentication backend (openiop.accounts.backends), which takes it only for the user
the session's data names; the device goes with it to OTPMiddleware, which takes it only
for the device the session's data names (openiop.accounts.middleware). Writes, expiry
and everything else are Django's own.
"""

from __future__ import annotations

import contextvars
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connections, router
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from openiop.accounts.models import StaffSession, User
from openiop.core.db import RowReader, statement_cursor

_TOTP_LABEL = TOTPDevice.model_label()
USERS = RowReader(User)

# What the session loaded last in this context (thread or task) brought along: (the
# user's id, the user with `openiop_session_device` set). A hint for this request's
# get_user, taken once (openiop.accounts.backends).
session_user: contextvars.ContextVar[tuple[int, Any] | None] = contextvars.ContextVar(
    "openiop_session_user", default=None
)


def totp_id(persistent_id: object) -> int | None:
    """The TOTP device id in a django-otp persistent id ("otp_totp.totpdevice/7")."""
    if not isinstance(persistent_id, str):
        return None
    label, _, key = persistent_id.partition("/")
    return int(key) if label == _TOTP_LABEL and key.isdigit() else None


def device_from_row(alias: str, persistent_id: Any, values: tuple[Any, ...]) -> Any:
    """(persistent id, the TOTP device or None) from (id, user id, confirmed) columns."""
    device = None
    if values[0] is not None:
        device = TOTPDevice.from_db(alias, ["id", "user_id", "confirmed"],
                                    [values[0], values[1], bool(values[2])])  # fmt: skip
    return (persistent_id, device)


class SessionStore(DatabaseSessionStore):
    @classmethod
    def get_model_class(cls) -> Any:
        return StaffSession

    def create_model_instance(self, data: dict[str, Any]) -> Any:
        session: Any = super().create_model_instance(data)
        try:
            session.user_id = int(data[SESSION_KEY])
        except (KeyError, TypeError, ValueError):
            session.user_id = None
        session.otp_device_id = totp_id(data.get(DEVICE_ID_SESSION_KEY))
        return session

    def load(self) -> dict[str, Any]:
        session_user.set(None)
        if self.session_key is None:
            return {}
        model = self.get_model_class()
        alias = router.db_for_read(model)
        connection = connections[alias]
        with statement_cursor(connection) as cursor:
            now = connection.ops.adapt_datetimefield_value(timezone.now())
            cursor.execute(_LOAD_SQL, [self.session_key, now])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None  # as Django's store does: a new key on save
            return {}
        data: dict[str, Any] = self.decode(row[0])
        if row[4] is not None:  # the user's id: a signed-in session
            user = USERS.instance(alias, row[4:])
            # The device along only for a session verified by a TOTP device: any other
            # (a recovery code's) OTPMiddleware reads as django-otp does.
            named = data.get(DEVICE_ID_SESSION_KEY)
            key = totp_id(named)
            user.openiop_session_device = (
                None if key is None
                else device_from_row(alias, named, row[1:4] if row[1] == key else (None,) * 3)
            )  # fmt: skip
            session_user.set((user.pk, user))
        return data


_LOAD_SQL = (
    f"SELECT s.session_data, d.id, d.user_id, d.confirmed, {USERS.columns('u')} "  # noqa: S608
    f"FROM {StaffSession._meta.db_table} s "
    f"LEFT JOIN {User._meta.db_table} u ON u.id = s.user_id "
    f"LEFT JOIN {TOTPDevice._meta.db_table} d ON d.id = s.otp_device_id "
    "WHERE s.session_key = %s AND s.expire_date > %s"
)
