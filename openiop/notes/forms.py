"""Note forms: individual notes, the group note (shared part + one section per
attendee), addenda, returning a note, search, program settings."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from django import forms
from django.db.models import QuerySet

from openiop.accounts.models import User
from openiop.accounts.roles import Role
from openiop.notes import rules
from openiop.notes.links import LinkChoice
from openiop.notes.models import Location, Note, NoteFormat, NoteKind, NoteStatus
from openiop.notes.services import IndividualInput, NoteInput, SharedInput
from openiop.organizations.models import Program
from openiop.scheduling.models import Topic

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
TEXT = forms.Textarea(attrs={"rows": 3})

FORMAT_CHOICES = [c for c in NoteFormat.choices if c[0] != rules.GROUP]


class NoteForm(forms.Form):
    submission_token = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    # The kept appointment a new note documents; the view resolves it for the patient.
    appointment = forms.UUIDField(widget=forms.HiddenInput, required=False)
    program = forms.ModelChoiceField(queryset=Program.objects.none(), empty_label=None)
    format = forms.ChoiceField(choices=FORMAT_CHOICES)
    service_date = forms.DateField(label="Date of service", widget=DATE, required=False)
    start_time = forms.TimeField(widget=TIME, required=False)
    end_time = forms.TimeField(widget=TIME, required=False)
    location = forms.ChoiceField(choices=Location.choices)
    location_detail = forms.CharField(
        label="Location details",
        required=False,
        max_length=200,
        help_text="Room, or the telehealth platform and where the patient was.",
    )

    def __init__(
        self,
        *args: Any,
        kind: str,
        fmt: str,
        programs: QuerySet[Program],
        objectives: Sequence[LinkChoice] = (),
        homework: Sequence[LinkChoice] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.fields["program"].queryset = programs  # type: ignore[attr-defined]
        chosen = self.data.get("format") or fmt
        self.fmt = chosen if chosen in dict(FORMAT_CHOICES) else fmt
        for key in rules.sections_for(kind, self.fmt):
            self.fields[f"section_{key}"] = forms.CharField(
                label=rules.SECTION_LABELS[key],
                required=False,
                widget=forms.Textarea(attrs={"rows": 4}),
            )
        self.fields["objectives"] = forms.MultipleChoiceField(
            label="Plan objectives addressed",
            choices=[(o.id, o.text) for o in objectives],
            required=False,
            widget=forms.CheckboxSelectMultiple,
            help_text="" if objectives else "No signed treatment plan objectives to link yet.",
        )
        if homework:
            self.fields["homework_ids"] = forms.MultipleChoiceField(
                label="Homework reviewed",
                choices=[(h.id, h.text) for h in homework],
                required=False,
                widget=forms.CheckboxSelectMultiple,
            )
        self.fields["homework"] = forms.CharField(
            label="Homework reviewed (notes)", required=False, widget=TEXT
        )
        if kind == NoteKind.INDIVIDUAL:
            self.fields["is_sud_counseling"] = forms.BooleanField(
                label="SUD counseling note (kept apart, tighter access, excluded from exports)",
                required=False,
            )

    def note_input(self) -> NoteInput:
        d = self.cleaned_data
        return NoteInput(
            program=d["program"],
            format=d["format"],
            service_date=d.get("service_date"),
            start_time=d.get("start_time"),
            end_time=d.get("end_time"),
            location=d["location"],
            location_detail=d.get("location_detail", ""),
            sections={
                key: d.get(f"section_{key}", "") for key in rules.sections_for(self.kind, self.fmt)
            },
            objective_ids=d.get("objectives", []),
            homework=d.get("homework", ""),
            homework_ids=d.get("homework_ids", []),
            is_sud_counseling=bool(d.get("is_sud_counseling")),
        )

    @staticmethod
    def initial_from(note: Note) -> dict[str, Any]:
        from django.utils import timezone

        initial: dict[str, Any] = {
            "version": note.version,
            "program": note.program_id,
            "format": note.format,
            "service_date": note.service_date,
            "start_time": timezone.localtime(note.starts_at).time(),
            "end_time": timezone.localtime(note.ends_at).time(),
            "location": note.location,
            "location_detail": note.location_detail,
            "objectives": [o["id"] for o in note.objectives or []],
            "homework_ids": [h["id"] for h in note.homework or [] if h.get("id")],
            "homework": "\n".join(h["text"] for h in note.homework or [] if not h.get("id")),
            "is_sud_counseling": note.is_sud_counseling,
        }
        for key, value in (note.sections or {}).items():
            initial[f"section_{key}"] = value
        return initial


class GroupNoteForm(forms.Form):
    """The shared part once, then one individualised section per attendee, named
    `<patient public id>-<section>`."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    topic = forms.CharField(max_length=200, required=False)
    curriculum = forms.ModelChoiceField(
        queryset=Topic.objects.none(), required=False, label="Curriculum item"
    )
    facilitators = forms.CharField(max_length=300, required=False)
    start_time = forms.TimeField(widget=TIME, required=False)
    end_time = forms.TimeField(widget=TIME, required=False)
    summary = forms.CharField(label="Summary of content", required=False, widget=TEXT)
    interventions = forms.CharField(required=False, widget=TEXT)
    names_checked = forms.BooleanField(
        required=False,
        label="I checked: no other attendee is named or identifiable in any patient's copy.",
    )

    def __init__(
        self,
        *args: Any,
        notes: Sequence[Note],
        topics: QuerySet[Topic],
        objectives: dict[int, list[LinkChoice]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["curriculum"].queryset = topics  # type: ignore[attr-defined]
        self.attendees: list[tuple[Note, list[str]]] = []
        for n in notes:
            ref = str(n.patient.public_id)
            names = []
            for key in rules.FORMAT_SECTIONS[rules.GROUP]:
                name = f"{ref}-{key}"
                self.fields[name] = forms.CharField(
                    label=rules.SECTION_LABELS[key],
                    required=False,
                    widget=forms.Textarea(attrs={"rows": 3}),
                    initial=(n.sections or {}).get(key, ""),
                    disabled=n.status not in rules.EDITABLE,
                )
                names.append(name)
            self.fields[f"{ref}-objectives"] = forms.MultipleChoiceField(
                label="Progress toward objectives of this patient's plan",
                choices=[(o.id, o.text) for o in objectives.get(n.patient_id, [])],
                required=False,
                widget=forms.CheckboxSelectMultiple,
                initial=[o["id"] for o in n.objectives or []],
                disabled=n.status not in rules.EDITABLE,
            )
            names.append(f"{ref}-objectives")
            self.attendees.append((n, names))

    def shared_input(self) -> SharedInput:
        d = self.cleaned_data
        return SharedInput(
            topic=d.get("topic", ""),
            curriculum=d.get("curriculum"),
            facilitators=d.get("facilitators", ""),
            start_time=d.get("start_time"),
            end_time=d.get("end_time"),
            summary=d.get("summary", ""),
            interventions=d.get("interventions", ""),
        )

    def individual_inputs(self) -> dict[str, IndividualInput]:
        d = self.cleaned_data
        out: dict[str, IndividualInput] = {}
        for n, _ in self.attendees:
            ref = str(n.patient.public_id)
            out[ref] = IndividualInput(
                sections={k: d.get(f"{ref}-{k}", "") for k in rules.FORMAT_SECTIONS[rules.GROUP]},
                objective_ids=d.get(f"{ref}-objectives", []),
            )
        return out


class AddendumForm(forms.Form):
    submission_token = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)
    text = forms.CharField(
        label="Addendum", required=False, widget=forms.Textarea(attrs={"rows": 5})
    )


class ReturnForm(forms.Form):
    comment = forms.CharField(
        label="What should the author change?",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class VoidForm(forms.Form):
    reason = forms.CharField(max_length=500, required=False)


class SignForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)


KIND_CHOICES = [("", "Any type"), *NoteKind.choices]
STATUS_CHOICES = [("", "Any status"), ("unsigned", "Unsigned (any)"), *NoteStatus.choices]


class SearchForm(forms.Form):
    q = forms.CharField(label="Patient (MRN or name)", required=False, max_length=100)
    author = forms.ModelChoiceField(queryset=User.objects.none(), required=False)
    kind = forms.ChoiceField(choices=KIND_CHOICES, required=False, label="Type")
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)
    start = forms.DateField(label="From", required=False, widget=DATE)
    end = forms.DateField(label="To", required=False, widget=DATE)

    def __init__(self, *args: Any, authors: Sequence[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["author"].queryset = User.objects.filter(  # type: ignore[attr-defined]
            pk__in=[a.pk for a in authors]
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", "The end date is before the start date.")
        return data


class SettingsForm(forms.Form):
    default_format = forms.ChoiceField(choices=FORMAT_CHOICES)
    cosign_roles = forms.MultipleChoiceField(
        choices=Role.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Roles whose notes need a co-signature (trainees always do)",
    )
    late_entry_hours = forms.IntegerField(min_value=1, max_value=720)
    sud_notes_roles = forms.MultipleChoiceField(
        choices=Role.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Roles that may read others' SUD counseling notes",
    )
