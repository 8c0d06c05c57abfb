from __future__ import annotations

import pytest

from openiop.assessments.models import LevelOfCareTable
from openiop.assessments.services import level_table_load_example


@pytest.fixture
def example_table(world) -> LevelOfCareTable:  # type: ignore[no-untyped-def]
    return level_table_load_example(organization=world.org)
