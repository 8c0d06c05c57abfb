"""On PostgreSQL, refuse changes to a signed note's content and any DELETE, by trigger.

`Note.save` already refuses these in Python; the trigger also stops `QuerySet.update`,
raw SQL and any other path. Status, co-signature columns and `version` may still
change on a signed note (co-signing, returning, entered in error); its content, author,
signature time and hash may not. Addenda are never updated or deleted.
SQLite has no equivalent; there the stored hash (checked on display and printing) is
the guard.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION notes_note_signed_immutable() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'notes are never deleted' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.status IN ('pending_cosign', 'signed', 'cosigned') AND (
        NEW.patient_id IS DISTINCT FROM OLD.patient_id
        OR NEW.program_id IS DISTINCT FROM OLD.program_id
        OR NEW.episode_id IS DISTINCT FROM OLD.episode_id
        OR NEW.kind IS DISTINCT FROM OLD.kind
        OR NEW.format IS DISTINCT FROM OLD.format
        OR NEW.group_note_id IS DISTINCT FROM OLD.group_note_id
        OR NEW.appointment_id IS DISTINCT FROM OLD.appointment_id
        OR NEW.service_date IS DISTINCT FROM OLD.service_date
        OR NEW.starts_at IS DISTINCT FROM OLD.starts_at
        OR NEW.ends_at IS DISTINCT FROM OLD.ends_at
        OR NEW.minutes IS DISTINCT FROM OLD.minutes
        OR NEW.location IS DISTINCT FROM OLD.location
        OR NEW.location_detail IS DISTINCT FROM OLD.location_detail
        OR NEW.sections::jsonb IS DISTINCT FROM OLD.sections::jsonb
        OR NEW.shared::jsonb IS DISTINCT FROM OLD.shared::jsonb
        OR NEW.objectives::jsonb IS DISTINCT FROM OLD.objectives::jsonb
        OR NEW.homework::jsonb IS DISTINCT FROM OLD.homework::jsonb
        OR NEW.is_sud_counseling IS DISTINCT FROM OLD.is_sud_counseling
        OR NEW.author_id IS DISTINCT FROM OLD.author_id
        OR NEW.signed_at IS DISTINCT FROM OLD.signed_at
        OR NEW.signed_name IS DISTINCT FROM OLD.signed_name
        OR NEW.late_entry IS DISTINCT FROM OLD.late_entry
        OR NEW.content_sha256 IS DISTINCT FROM OLD.content_sha256
    ) THEN
        RAISE EXCEPTION 'a signed note cannot be changed; add an addendum'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER notes_note_signed_immutable
    BEFORE UPDATE OR DELETE ON notes_note
    FOR EACH ROW EXECUTE FUNCTION notes_note_signed_immutable();

CREATE OR REPLACE FUNCTION notes_groupnote_signed_immutable() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'notes are never deleted' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.status IN ('pending_cosign', 'signed', 'cosigned') AND (
        NEW.session_id IS DISTINCT FROM OLD.session_id
        OR NEW.topic IS DISTINCT FROM OLD.topic
        OR NEW.curriculum_id IS DISTINCT FROM OLD.curriculum_id
        OR NEW.facilitators IS DISTINCT FROM OLD.facilitators
        OR NEW.starts_at IS DISTINCT FROM OLD.starts_at
        OR NEW.ends_at IS DISTINCT FROM OLD.ends_at
        OR NEW.summary IS DISTINCT FROM OLD.summary
        OR NEW.interventions IS DISTINCT FROM OLD.interventions
        OR NEW.author_id IS DISTINCT FROM OLD.author_id
        OR NEW.signed_at IS DISTINCT FROM OLD.signed_at
        OR NEW.content_sha256 IS DISTINCT FROM OLD.content_sha256
    ) THEN
        RAISE EXCEPTION 'a signed group note cannot be changed'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER notes_groupnote_signed_immutable
    BEFORE UPDATE OR DELETE ON notes_groupnote
    FOR EACH ROW EXECUTE FUNCTION notes_groupnote_signed_immutable();

CREATE OR REPLACE FUNCTION notes_addendum_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'addenda are append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER notes_addendum_append_only
    BEFORE UPDATE OR DELETE ON notes_noteaddendum
    FOR EACH ROW EXECUTE FUNCTION notes_addendum_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS notes_note_signed_immutable ON notes_note;
DROP FUNCTION IF EXISTS notes_note_signed_immutable();
DROP TRIGGER IF EXISTS notes_groupnote_signed_immutable ON notes_groupnote;
DROP FUNCTION IF EXISTS notes_groupnote_signed_immutable();
DROP TRIGGER IF EXISTS notes_addendum_append_only ON notes_noteaddendum;
DROP FUNCTION IF EXISTS notes_addendum_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("notes", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
