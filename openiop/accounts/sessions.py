"""The database session store, with the per-request read as one plain statement.

Every signed-in request reads its session row; Django's store builds that read with the
ORM each time, which costs several times the query itself. Writes, expiry and
everything else are Django's own (SESSION_ENGINE = "openiop.accounts.sessions").
"""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.db import connections, router
from django.utils import timezone

_TABLE = Session._meta.db_table


class SessionStore(DatabaseSessionStore):
    def load(self) -> dict[str, Any]:
        if self.session_key is None:
            return {}
        connection = connections[router.db_for_read(Session)]
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT session_data FROM {_TABLE} WHERE session_key = %s AND expire_date > %s",  # noqa: S608
                [self.session_key, connection.ops.adapt_datetimefield_value(timezone.now())],
            )
            row = cursor.fetchone()
        if row is None:
            self._session_key = None  # as Django's store does: a new key on save
            return {}
        return self.decode(row[0])
