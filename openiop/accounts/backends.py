"""Authentication backend: Django's ModelBackend, with the per-request user taken from
the session's own read (openiop.accounts.sessions joins the user and the TOTP device
that verified the session, for OTPMiddleware), or else read with one plain statement."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db import connections, router

from openiop.accounts.models import User
from openiop.accounts.sessions import USERS, session_user
from openiop.core.db import statement_cursor

_SQL = f"SELECT {USERS.columns('u')} FROM {User._meta.db_table} u WHERE u.id = %s"  # noqa: S608


class StaffBackend(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        try:
            pk = int(user_id)
        except (TypeError, ValueError):
            return None
        along = session_user.get()
        session_user.set(None)  # taken once
        if along is not None and along[0] == pk:
            user: User | None = along[1]
        else:
            user = self._read(pk)
        if user is None or not self.user_can_authenticate(user):
            return None
        return user

    def _read(self, pk: int) -> User | None:
        alias = router.db_for_read(User)
        with statement_cursor(connections[alias]) as cursor:
            cursor.execute(_SQL, [pk])
            row = cursor.fetchone()
        return None if row is None else USERS.instance(alias, row)
