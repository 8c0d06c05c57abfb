"""Clinical notes: group notes written once, individual, medication-management and
case-management notes, their signatures, co-signatures and addenda.

A note is a draft until its author signs it. Signing stores the content's SHA-256
(`content_sha256`) and freezes the content: `Note.save` refuses to change a signed
note's content (and on PostgreSQL a trigger refuses the UPDATE, migration 0002).
Corrections are `NoteAddendum` rows, dated and attributed, shown with the original.
Nothing is deleted: a draft written by mistake is marked entered in error.

A group note (`GroupNote`) holds the shared part of one group session, written once;
each attendee gets their own `Note` (kind "group") with their individualised section.
At signing the shared part is copied into each patient's note, so each patient's
note stands alone, names no one else, and carries its own hash.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from openiop.core.models import PublicModel
from openiop.episodes.models import Episode
from openiop.notes import rules
from openiop.organizations.models import Program
from openiop.patients.models import Patient
from openiop.scheduling.models import Appointment, GroupSession, Topic


class NoteKind(models.TextChoices):
    GROUP = "group", "Group therapy"
    INDIVIDUAL = "individual", "Individual therapy"
    MED_MANAGEMENT = rules.MED_MANAGEMENT, "Medication management"
    CASE_MANAGEMENT = "case_management", "Case management"


class NoteFormat(models.TextChoices):
    DAP = rules.DAP, "DAP (data, assessment, plan)"
    BIRP = rules.BIRP, "BIRP (behaviour, intervention, response, plan)"
    SOAP = rules.SOAP, "SOAP (subjective, objective, assessment, plan)"
    GROUP = rules.GROUP, "Group (participation, response, progress, risk, plan)"


class NoteStatus(models.TextChoices):
    DRAFT = rules.DRAFT, "Draft"
    RETURNED = rules.RETURNED, "Returned by supervisor"
    PENDING_COSIGN = rules.PENDING_COSIGN, "Awaiting co-signature"
    SIGNED = rules.SIGNED, "Signed"
    COSIGNED = rules.COSIGNED, "Signed and co-signed"
    ENTERED_IN_ERROR = rules.ENTERED_IN_ERROR, "Entered in error"


class Location(models.TextChoices):
    OFFICE = "office", "In person, at the program"
    TELEHEALTH = "telehealth", "Telehealth (video)"
    TELEPHONE = "telephone", "Telephone"
    COMMUNITY = "community", "In the community"


class ImmutableNote(Exception):
    """Raised when code tries to change a signed note's content or delete a note."""


class NoteSettings(models.Model):
    """A program's note defaults. A program without a row uses the field defaults."""

    program = models.OneToOneField(Program, on_delete=models.CASCADE, related_name="note_settings")
    default_format = models.CharField(
        max_length=10,
        choices=[c for c in NoteFormat.choices if c[0] != rules.GROUP],
        default=rules.DAP,
    )
    cosign_roles = models.JSONField(
        default=list, blank=True, help_text="Roles whose notes need a supervisor's co-signature."
    )
    late_entry_hours = models.PositiveSmallIntegerField(
        default=72, help_text="A note signed later than this after the service is a late entry."
    )
    sud_notes_roles = models.JSONField(
        default=list,
        blank=True,
        help_text="Roles besides the author that may read SUD counseling notes.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Note settings {self.program_id}"


def _attname(obj: models.Model, name: str) -> str:
    field = obj._meta.get_field(name)
    return str(getattr(field, "attname", name))


class _Frozen(PublicModel):
    """Refuses changes to `FROZEN_FIELDS` once the stored row is locked, and deletes."""

    FROZEN_FIELDS: tuple[str, ...] = ()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            stored = (
                type(self)
                ._default_manager.filter(pk=self.pk)
                .values("status", *self.FROZEN_FIELDS)
                .first()
            )
            if stored is not None and stored["status"] in rules.LOCKED:
                changed = [
                    f for f in self.FROZEN_FIELDS if stored[f] != getattr(self, _attname(self, f))
                ]
                if changed:
                    raise ImmutableNote(f"A signed note cannot be changed ({', '.join(changed)}).")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableNote("Notes are never deleted; mark a draft as entered in error.")


class GroupNote(_Frozen):
    """The shared part of one group session's note, written once by the facilitator."""

    FROZEN_FIELDS = (
        "session",
        "topic",
        "curriculum",
        "facilitators",
        "starts_at",
        "ends_at",
        "summary",
        "interventions",
        "author",
        "signed_at",
        "content_sha256",
    )

    session = models.OneToOneField(
        GroupSession, on_delete=models.PROTECT, related_name="group_note"
    )
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="+")
    topic = models.CharField(max_length=200, blank=True)
    curriculum = models.ForeignKey(
        Topic, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    facilitators = models.CharField(max_length=300, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    summary = models.TextField("summary of content", blank=True)
    interventions = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=NoteStatus.choices, default=rules.DRAFT)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField(null=True, blank=True)
    content_sha256 = models.CharField(max_length=64, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-starts_at", "-id"]

    def __str__(self) -> str:
        return f"Group note {self.public_id}"


class Note(_Frozen):
    FROZEN_FIELDS = (
        "patient",
        "program",
        "episode",
        "kind",
        "format",
        "group_note",
        "appointment",
        "service_date",
        "starts_at",
        "ends_at",
        "minutes",
        "location",
        "location_detail",
        "sections",
        "shared",
        "objectives",
        "homework",
        "is_sud_counseling",
        "author",
        "signed_at",
        "signed_name",
        "late_entry",
        "content_sha256",
    )

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="notes")
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="+")
    episode = models.ForeignKey(
        Episode, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=NoteKind.choices)
    format = models.CharField(max_length=10, choices=NoteFormat.choices)
    group_note = models.ForeignKey(
        GroupNote, on_delete=models.PROTECT, null=True, blank=True, related_name="notes"
    )
    appointment = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    service_date = models.DateField()
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    minutes = models.PositiveIntegerField(default=0)
    location = models.CharField(max_length=20, choices=Location.choices, default="office")
    location_detail = models.CharField(max_length=200, blank=True)
    # Section key -> text (rules.FORMAT_SECTIONS); medication-management notes add
    # "medications_reviewed" and "medication_changes".
    sections = models.JSONField(default=dict, blank=True)
    # A group note's shared part as signed (topic, facilitators, times, summary...).
    shared = models.JSONField(default=dict, blank=True)
    # Plan objectives addressed: [{"id": public id, "text": objective as written}].
    objectives = models.JSONField(default=list, blank=True)
    # Homework reviewed: [{"id": public id or "", "text": ...}].
    homework = models.JSONField(default=list, blank=True)
    is_sud_counseling = models.BooleanField(
        "SUD counseling note",
        default=False,
        help_text="Kept apart from the rest of the record (42 CFR Part 2); excluded from exports.",
    )
    status = models.CharField(max_length=20, choices=NoteStatus.choices, default=rules.DRAFT)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_name = models.CharField(max_length=200, blank=True)
    late_entry = models.BooleanField(default=False)
    cosign_required = models.BooleanField(default=False)
    cosigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cosigned_name = models.CharField(max_length=200, blank=True)
    cosigned_at = models.DateTimeField(null=True, blank=True)
    return_comment = models.TextField(blank=True)
    content_sha256 = models.CharField(max_length=64, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-starts_at", "-id"]
        indexes = [
            models.Index(fields=["patient", "-starts_at"], name="note_patient_starts_idx"),
            models.Index(fields=["author", "status"], name="note_author_status_idx"),
            models.Index(fields=["program", "status"], name="note_program_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="note_ends_after_start",
            ),
            models.CheckConstraint(
                condition=~models.Q(status__in=sorted(rules.LOCKED))
                | (models.Q(signed_at__isnull=False) & ~models.Q(content_sha256="")),
                name="note_signed_has_hash",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="cosigned") | models.Q(cosigned_at__isnull=False),
                name="note_cosigned_has_time",
            ),
            models.UniqueConstraint(
                fields=["group_note", "patient"],
                condition=models.Q(group_note__isnull=False),
                name="note_one_per_group_patient",
            ),
        ]

    def __str__(self) -> str:
        return f"Note {self.public_id}"

    @property
    def is_locked(self) -> bool:
        return self.status in rules.LOCKED

    @property
    def section_rows(self) -> list[tuple[str, str, str]]:
        """(key, label, text) in the format's order."""
        keys = rules.sections_for(self.kind, self.format)
        return [
            (k, rules.SECTION_LABELS.get(k, k.title()), (self.sections or {}).get(k, ""))
            for k in keys
        ]


class NoteAddendum(PublicModel):
    """A correction or late addition to a signed note: dated, attributed, never changed."""

    note = models.ForeignKey(Note, on_delete=models.PROTECT, related_name="addenda")
    text = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    author_name = models.CharField(max_length=200)
    written_at = models.DateTimeField()
    content_sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["written_at", "id"]

    def __str__(self) -> str:
        return f"Addendum {self.public_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and type(self)._default_manager.filter(pk=self.pk).exists():
            raise ImmutableNote("An addendum is never changed; write another one.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableNote("Addenda are never deleted.")


class NoteEvent(models.Model):
    """One step in a note's life: drafted, edited, signed, co-signed, returned..."""

    class Kind(models.TextChoices):
        DRAFTED = "drafted", "Drafted"
        EDITED = "edited", "Draft edited"
        SIGNED = "signed", "Signed"
        COSIGN_REQUESTED = "cosign_requested", "Signed, co-signature requested"
        COSIGNED = "cosigned", "Co-signed"
        RETURNED = "returned", "Returned with comments"
        ADDENDUM = "addendum", "Addendum added"
        PRINTED = "printed", "Printed"
        ENTERED_IN_ERROR = "entered_in_error", "Entered in error"

    note = models.ForeignKey(Note, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    comment = models.TextField(blank=True)
    detail = models.JSONField(default=dict)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.note_id}"
