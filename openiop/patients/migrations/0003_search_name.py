"""One generated column with the three names (given, family, preferred), and on
PostgreSQL one trigram index on it in place of the three per-name indexes of 0002: a
search by part of a name probes one index instead of three (measured in
docs/PERFORMANCE.md). Django's icontains is UPPER(column) LIKE UPPER('%mar%'), which the
index's expression matches. The index is built without GIN's pending list
(fastupdate off): patients are added a few a day, and with the list a search after a
bulk load scanned thousands of pending entries until the next vacuum (2.5 ms instead of
0.1 ms for "mar" on 10,000 patients)."""

import django.db.models.functions.text
from django.db import migrations, models

NAMES = ("legal_given_name", "legal_family_name", "preferred_name")


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS patient_search_name_trgm ON patients_patient "
        "USING gin (UPPER(search_name::text) gin_trgm_ops) WITH (fastupdate = off)",
        params=None,
    )
    for name in NAMES:
        schema_editor.execute(f"DROP INDEX IF EXISTS patient_{name}_trgm", params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in NAMES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS patient_{name}_trgm ON patients_patient "
            f"USING gin (UPPER({name}::text) gin_trgm_ops)",
            params=None,
        )
    schema_editor.execute("DROP INDEX IF EXISTS patient_search_name_trgm", params=None)


class Migration(migrations.Migration):
    dependencies = [("patients", "0002_name_trigram_indexes")]

    operations = [
        migrations.AddField(
            model_name="patient",
            name="search_name",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.functions.text.Concat(
                    "legal_given_name",
                    models.Value(" "),
                    "legal_family_name",
                    models.Value(" "),
                    "preferred_name",
                ),
                output_field=models.CharField(max_length=302),
            ),
        ),
        migrations.RunPython(forward, backward),
    ]
