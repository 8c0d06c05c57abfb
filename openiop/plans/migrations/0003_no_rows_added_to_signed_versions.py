"""On PostgreSQL, refuse adding rows to a signed plan version, by trigger.

Migration 0002 refuses UPDATE and DELETE of a locked (signed or superseded) version's
problems, objectives, interventions and objective reviews; this one refuses INSERT into
one too, so `bulk_create` or raw SQL cannot grow a signed plan either (the models'
`save()` already refuses it). A review is a new version: its rows go into that draft.
"""

from django.db import migrations

ROW_TABLES = (
    "plans_planproblem",
    "plans_planobjective",
    "plans_planintervention",
    "plans_objectivereview",
)

FORWARD = """
CREATE OR REPLACE FUNCTION plans_row_insert_into_signed() RETURNS trigger AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM plans_planversion WHERE id = NEW.plan_version_id AND is_locked
    ) THEN
        RAISE EXCEPTION 'rows cannot be added to a signed plan version; start a review'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
""" + "".join(
    f"""
CREATE TRIGGER {table}_no_insert_into_signed
    BEFORE INSERT ON {table}
    FOR EACH ROW EXECUTE FUNCTION plans_row_insert_into_signed();
"""
    for table in ROW_TABLES
)

BACKWARD = "".join(
    f"DROP TRIGGER IF EXISTS {t}_no_insert_into_signed ON {t};\n" for t in ROW_TABLES
) + "DROP FUNCTION IF EXISTS plans_row_insert_into_signed();\n"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("plans", "0002_signed_versions_immutable")]
    operations = [migrations.RunPython(forward, backward)]
