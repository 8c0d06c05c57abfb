"""On PostgreSQL, refuse changes to signed plan versions and their rows, by trigger.

`PlanVersion.save`, the rows' `save()` and the querysets' `update()`/`delete()` already
refuse these in Python; the triggers also stop raw SQL and any other path:

- `plans_planversion`: DELETE always refused; on a locked (signed or superseded)
  version only `status`, `status_reason`, `superseded_at`, `updated_at` and `is_locked`
  may change (supersession, voiding). The comparison is over the whole row as JSON
  minus those columns, so a column added later is protected without editing this.
- problems, objectives, interventions and objective reviews: DELETE always refused;
  UPDATE refused while their version is locked.
- signatures: never updated or deleted.

SQLite (the embedded default) has no equivalent; there the stored content digest
(`content_sha256`, checked by every signer) and the model guards are what protect it.
"""

from django.db import migrations

ROW_TABLES = (
    "plans_planproblem",
    "plans_planobjective",
    "plans_planintervention",
    "plans_objectivereview",
)

FORWARD = """
CREATE OR REPLACE FUNCTION plans_version_signed_immutable() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'plan versions are never deleted'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.is_locked AND (
        (to_jsonb(NEW) - ARRAY['status', 'status_reason', 'superseded_at', 'updated_at',
                               'is_locked'])
        IS DISTINCT FROM
        (to_jsonb(OLD) - ARRAY['status', 'status_reason', 'superseded_at', 'updated_at',
                               'is_locked'])
    ) THEN
        RAISE EXCEPTION 'a signed plan version cannot be changed; start a review'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER plans_version_signed_immutable
    BEFORE UPDATE OR DELETE ON plans_planversion
    FOR EACH ROW EXECUTE FUNCTION plans_version_signed_immutable();

CREATE OR REPLACE FUNCTION plans_row_signed_immutable() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'plan rows are never deleted'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF EXISTS (
        SELECT 1 FROM plans_planversion
        WHERE id IN (OLD.plan_version_id, NEW.plan_version_id) AND is_locked
    ) THEN
        RAISE EXCEPTION 'a row of a signed plan version cannot be changed'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION plans_signature_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'plan signatures are never changed: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER plans_signature_append_only
    BEFORE UPDATE OR DELETE ON plans_plansignature
    FOR EACH ROW EXECUTE FUNCTION plans_signature_append_only();
""" + "".join(
    f"""
CREATE TRIGGER {table}_signed_immutable
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION plans_row_signed_immutable();
"""
    for table in ROW_TABLES
)

BACKWARD = (
    "".join(f"DROP TRIGGER IF EXISTS {t}_signed_immutable ON {t};\n" for t in ROW_TABLES)
    + """
DROP TRIGGER IF EXISTS plans_signature_append_only ON plans_plansignature;
DROP TRIGGER IF EXISTS plans_version_signed_immutable ON plans_planversion;
DROP FUNCTION IF EXISTS plans_signature_append_only();
DROP FUNCTION IF EXISTS plans_row_signed_immutable();
DROP FUNCTION IF EXISTS plans_version_signed_immutable();
"""
)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("plans", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
