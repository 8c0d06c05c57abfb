"""Authentication backend: Django's ModelBackend, with the per-request user read as one
plain statement (every signed-in request loads its user)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from openiop.accounts.models import User

_SQL = f"SELECT * FROM {User._meta.db_table} WHERE id = %s"  # noqa: S608 (model table)


class StaffBackend(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        try:
            pk = int(user_id)
        except (TypeError, ValueError):
            return None
        user = next(iter(User.objects.raw(_SQL, [pk])), None)
        return user if user is not None and self.user_can_authenticate(user) else None
