"""PostgreSQL: the database itself refuses overlapping active bookings of one staff
member, room or patient (btree_gist exclusion constraint over tstzrange), so two
concurrent bookings cannot both commit. SQLite relies on the services' check, which
runs inside BEGIN IMMEDIATE transactions (writers queue)."""

from __future__ import annotations

from django.db import migrations

EXTENSION = "CREATE EXTENSION IF NOT EXISTS btree_gist"

CREATE = """
ALTER TABLE scheduling_occupancy ADD CONSTRAINT occupancy_no_overlap
  EXCLUDE USING gist (
    resource_kind WITH =,
    resource_id WITH =,
    tstzrange(starts_at, ends_at, '[)') WITH &&
  ) WHERE (is_active)
"""

DROP = "ALTER TABLE scheduling_occupancy DROP CONSTRAINT IF EXISTS occupancy_no_overlap;"


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(EXTENSION, params=None)
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
