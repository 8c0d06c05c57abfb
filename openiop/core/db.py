"""Facts about the database connection that the hand-written fast paths depend on."""

from __future__ import annotations

from typing import Any


def takes_many_statements(connection: Any) -> bool:
    """Whether one execute() may carry several statements separated by ";": PostgreSQL
    with the driver's client-side binding (Django's default; not with the
    "server_side_binding" option, which binds each statement on the server)."""
    return connection.vendor == "postgresql" and not connection.settings_dict.get(
        "OPTIONS", {}
    ).get("server_side_binding")
