"""The database session store, with the per-request read as one plain statement.

Every signed-in request reads its session row; Django's store builds that read with the
ORM each time, which costs several times the query itself. Writes, expiry and
everything else are Django's own (SESSION_ENGINE = "openiop.accounts.sessions").

Loading a session also notes which second-factor device verified it
(`session_device`), so that the user's read can bring that device along in the same
statement (openiop.accounts.backends, openiop.accounts.middleware).
"""

from __future__ import annotations

import contextvars
from typing import Any

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.db import connections, router
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from openiop.core.db import statement_cursor

_TABLE = Session._meta.db_table

# The persistent id of the device that verified the session loaded last in this
# context (thread or task); a hint only: the device it names is checked against the
# request's own session and user before it counts (OTPMiddleware).
session_device: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "openiop_session_device", default=None
)


class SessionStore(DatabaseSessionStore):
    def load(self) -> dict[str, Any]:
        session_device.set(None)
        if self.session_key is None:
            return {}
        connection = connections[router.db_for_read(Session)]
        with statement_cursor(connection) as cursor:
            cursor.execute(
                f"SELECT session_data FROM {_TABLE} WHERE session_key = %s AND expire_date > %s",  # noqa: S608
                [self.session_key, connection.ops.adapt_datetimefield_value(timezone.now())],
            )
            row = cursor.fetchone()
        if row is None:
            self._session_key = None  # as Django's store does: a new key on save
            return {}
        data: dict[str, Any] = self.decode(row[0])
        device = data.get(DEVICE_ID_SESSION_KEY)
        session_device.set(device if isinstance(device, str) else None)
        return data
