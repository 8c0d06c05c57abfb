from __future__ import annotations

import pytest

from openiop.accounts.models import User
from openiop.accounts.roles import Role
from tests.factories import UserFactory


@pytest.fixture
def ivy(world) -> User:  # type: ignore[no-untyped-def]
    """An intake coordinator of program A (registers patients, admits)."""
    return UserFactory(
        username="ivy",
        organization=world.org,
        role=Role.INTAKE_COORDINATOR,
        programs=[world.program_a],
    )
