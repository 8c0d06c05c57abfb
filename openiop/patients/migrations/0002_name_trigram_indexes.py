"""On PostgreSQL, trigram indexes so that a search by part of a name ("mar") does not
read every patient: Django's icontains is UPPER(column) LIKE UPPER('%mar%'), which
these GIN indexes serve. SQLite has no equivalent; it scans, which is fine at the
sizes the embedded default is for."""

from django.db import migrations

FIELDS = ("legal_given_name", "legal_family_name", "preferred_name")


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm", params=None)
    for field in FIELDS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS patient_{field}_trgm ON patients_patient "
            f"USING gin (UPPER({field}::text) gin_trgm_ops)",
            params=None,
        )
    # Phone search is a case-sensitive LIKE '%digits%' on the digits-only column.
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS patient_phone_digits_trgm ON patients_patient "
        "USING gin (phone_digits gin_trgm_ops)",
        params=None,
    )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for field in FIELDS:
        schema_editor.execute(f"DROP INDEX IF EXISTS patient_{field}_trgm", params=None)
    schema_editor.execute("DROP INDEX IF EXISTS patient_phone_digits_trgm", params=None)


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
