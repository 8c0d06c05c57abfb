"""Scheduling forms: parse input; the services decide what is allowed."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.db.models import QuerySet

from openiop.accounts.models import User
from openiop.organizations.models import Program, Site
from openiop.scheduling import rules, services
from openiop.scheduling.models import (
    AppointmentKind,
    CancelledBy,
    Enrolment,
    PinAnchor,
    Population,
    Room,
    Topic,
    Track,
    TrackKind,
)

WEEKDAY_CHOICES = [(str(i), name) for i, name in enumerate(rules.WEEKDAY_NAMES)]


class _TokenForm(forms.Form):
    submission_token = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("submission_token", uuid.uuid4())


class StaffChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg,unused-ignore]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.display_name)


class TrackFields(forms.Form):
    name = forms.CharField(max_length=120)
    kind = forms.ChoiceField(choices=TrackKind.choices)
    population = forms.ChoiceField(choices=Population.choices)
    weekdays = forms.MultipleChoiceField(
        choices=WEEKDAY_CHOICES, widget=forms.CheckboxSelectMultiple
    )
    day_start = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))
    day_end = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))
    min_hours_per_week = forms.DecimalField(
        max_digits=4,
        decimal_places=1,
        min_value=0,
        required=False,
        help_text="Blank: 9 for adults, 6 for adolescents (ASAM 2.1).",
    )
    min_days_per_week = forms.IntegerField(
        min_value=0, max_value=7, required=False, help_text="Blank: 3."
    )
    max_group_size = forms.IntegerField(min_value=1, max_value=200, initial=12)
    typical_weeks = forms.IntegerField(min_value=1, max_value=104, initial=8)

    def track_input(self) -> services.TrackInput:
        d = self.cleaned_data
        hours, days = rules.default_minimums(d["population"])
        return services.TrackInput(
            name=d["name"],
            kind=d["kind"],
            population=d["population"],
            weekdays=rules.normalize_weekdays(d["weekdays"]),
            day_start=d["day_start"],
            day_end=d["day_end"],
            min_hours_per_week=d["min_hours_per_week"]
            if d["min_hours_per_week"] is not None
            else hours,
            min_days_per_week=d["min_days_per_week"]
            if d["min_days_per_week"] is not None
            else days,
            max_group_size=d["max_group_size"],
            typical_weeks=d["typical_weeks"],
        )


class TrackForm(_TokenForm, TrackFields):
    program = forms.ModelChoiceField(queryset=Program.objects.none())
    field_order = ["program"]

    def __init__(self, *args: Any, programs: QuerySet[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = programs  # type: ignore[attr-defined]


class TrackEditForm(TrackFields):
    is_active = forms.BooleanField(
        required=False, label="In use", help_text="Untick to stop new enrolments."
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


class CycleForm(forms.Form):
    """One position box per curriculum topic: the numbers give the cycle's order;
    blank leaves the topic out."""

    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, topics: list[Topic], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.topics = {f"pos_{t.public_id.hex}": t for t in topics}
        for name, topic in self.topics.items():
            self.fields[name] = forms.IntegerField(
                min_value=1,
                max_value=99,
                required=False,
                label=topic.name,
                help_text=f"{topic.duration_minutes} min"
                + (f" · {topic.credentials_accepted}" if topic.credentials_accepted else ""),
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        seen: dict[int, str] = {}
        for name in self.topics:
            position = data.get(name)
            if position is None:
                continue
            if position in seen:
                self.add_error(
                    name, f"Position {position} is already taken by {self.topics[seen[position]]}."
                )
            else:
                seen[position] = name
        return data

    def ordered_topics(self) -> list[Topic]:
        d = self.cleaned_data
        chosen = [(d[n], t.name, t) for n, t in self.topics.items() if d.get(n) is not None]
        return [t for _, _, t in sorted(chosen, key=lambda c: (c[0], c[1]))]


class RoomForm(_TokenForm):
    site = forms.ModelChoiceField(queryset=Site.objects.none())
    name = forms.CharField(max_length=120)
    capacity = forms.IntegerField(min_value=1, max_value=500, help_text="Seats.")

    def __init__(self, *args: Any, sites: QuerySet[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites  # type: ignore[attr-defined]


class RoomEditForm(forms.Form):
    name = forms.CharField(max_length=120)
    capacity = forms.IntegerField(min_value=1, max_value=500, help_text="Seats.")
    is_active = forms.BooleanField(required=False, label="In use")
    version = forms.IntegerField(widget=forms.HiddenInput)


class ClosureForm(_TokenForm):
    on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Date")
    name = forms.CharField(max_length=120, help_text="For example the holiday's name.")
    site = forms.ModelChoiceField(
        queryset=Site.objects.none(),
        required=False,
        empty_label="Whole organization",
        help_text="One site, or blank for every site.",
    )

    def __init__(self, *args: Any, sites: QuerySet[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites  # type: ignore[attr-defined]


class ClosureCancelForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="Blank: the closure's name.",
    )


class RetireTemplateForm(forms.Form):
    last_day = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), label="Last day of the template"
    )
    cancel_later = forms.BooleanField(
        required=False, label="Cancel its sessions after that day (cancelled by the program)"
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    version = forms.IntegerField(widget=forms.HiddenInput)


class WaitlistRemoveForm(forms.Form):
    reason = forms.CharField(max_length=200)


class _SlotFields(forms.Form):
    room = forms.ModelChoiceField(queryset=Room.objects.none())
    facilitator = StaffChoiceField(queryset=User.objects.none())
    co_facilitator = StaffChoiceField(queryset=User.objects.none(), required=False)
    topic = forms.ModelChoiceField(queryset=Topic.objects.none(), required=False)
    capacity = forms.IntegerField(min_value=1, max_value=500)

    def setup(
        self, *, rooms: QuerySet[Room], staff: QuerySet[User], topics: QuerySet[Topic]
    ) -> None:
        self.fields["room"].queryset = rooms  # type: ignore[attr-defined]
        self.fields["facilitator"].queryset = staff  # type: ignore[attr-defined]
        self.fields["co_facilitator"].queryset = staff  # type: ignore[attr-defined]
        self.fields["topic"].queryset = topics  # type: ignore[attr-defined]


class TemplateForm(_TokenForm, _SlotFields):
    name = forms.CharField(max_length=120)
    weekdays = forms.MultipleChoiceField(
        choices=WEEKDAY_CHOICES, widget=forms.CheckboxSelectMultiple
    )
    start_time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))
    end_time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))
    valid_from = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    valid_until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    field_order = [
        "name",
        "weekdays",
        "start_time",
        "end_time",
        "room",
        "capacity",
        "facilitator",
        "co_facilitator",
        "topic",
        "valid_from",
        "valid_until",
    ]

    def __init__(self, *args: Any, rooms: Any, staff: Any, topics: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup(rooms=rooms, staff=staff, topics=topics)
        self.fields["topic"].help_text = "Blank: the track's topic cycle."

    def template_input(self) -> services.TemplateInput:
        d = self.cleaned_data
        return services.TemplateInput(
            name=d["name"],
            weekdays=rules.normalize_weekdays(d["weekdays"]),
            start_time=d["start_time"],
            end_time=d["end_time"],
            room=d["room"],
            facilitator=d["facilitator"],
            co_facilitator=d["co_facilitator"],
            topic=d["topic"],
            capacity=d["capacity"],
            valid_from=d["valid_from"],
            valid_until=d["valid_until"],
        )


class TemplateEditForm(TemplateForm):
    version = forms.IntegerField(widget=forms.HiddenInput)


class GenerateForm(forms.Form):
    through = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), label="Generate sessions through"
    )


class SessionForm(_TokenForm, _SlotFields):
    on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Date")
    start_time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))
    end_time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))
    field_order = [
        "on",
        "start_time",
        "end_time",
        "room",
        "capacity",
        "facilitator",
        "co_facilitator",
        "topic",
    ]

    def __init__(self, *args: Any, rooms: Any, staff: Any, topics: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup(rooms=rooms, staff=staff, topics=topics)

    def session_input(self) -> services.SessionInput:
        d = self.cleaned_data
        return services.SessionInput(
            on=d["on"],
            start_time=d["start_time"],
            end_time=d["end_time"],
            room=d["room"],
            facilitator=d["facilitator"],
            co_facilitator=d["co_facilitator"],
            topic=d["topic"],
            capacity=d["capacity"],
        )


class RescheduleSessionForm(SessionForm):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(widget=forms.HiddenInput)


class CancelForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(widget=forms.HiddenInput)


class AppointmentCancelForm(CancelForm):
    cancelled_by = forms.ChoiceField(
        choices=[(CancelledBy.PROGRAM, "The program"), (CancelledBy.PATIENT, "The patient")],
        widget=forms.RadioSelect,
    )


class EnrolForm(_TokenForm):
    episode = forms.ChoiceField()
    track = forms.ModelChoiceField(queryset=Track.objects.none())
    start_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Start date")

    def __init__(self, *args: Any, episodes: list[Any], tracks: QuerySet[Track], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["episode"].choices = [  # type: ignore[attr-defined]
            (str(e.public_id), f"{e.program.name} ({e.get_status_display()})") for e in episodes
        ]
        self.fields["track"].queryset = tracks  # type: ignore[attr-defined]


class EndEnrolmentForm(forms.Form):
    ended_on = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), label="First day off the rosters"
    )
    reason = forms.ChoiceField(
        choices=[(v, lbl) for v, lbl in Enrolment.EndReason.choices if v],
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


class ChangeTrackForm(forms.Form):
    track = forms.ModelChoiceField(queryset=Track.objects.none(), label="New track")
    effective_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, tracks: QuerySet[Track], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["track"].queryset = tracks  # type: ignore[attr-defined]


class AppointmentForm(_TokenForm):
    kind = forms.ChoiceField(choices=AppointmentKind.choices)
    program = forms.ModelChoiceField(queryset=Program.objects.none())
    staff = StaffChoiceField(queryset=User.objects.none(), label="With")
    room = forms.ModelChoiceField(queryset=Room.objects.none(), required=False)
    on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Date")
    start_time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))
    end_time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))
    family_members = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Family sessions: one person per line (name, relationship).",
    )

    def __init__(self, *args: Any, programs: Any, staff: Any, rooms: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = programs  # type: ignore[attr-defined]
        self.fields["staff"].queryset = staff  # type: ignore[attr-defined]
        self.fields["room"].queryset = rooms  # type: ignore[attr-defined]

    def appointment_input(self) -> services.AppointmentInput:
        d = self.cleaned_data
        return services.AppointmentInput(
            kind=d["kind"],
            program=d["program"],
            staff=d["staff"],
            room=d["room"],
            on=d["on"],
            start_time=d["start_time"],
            end_time=d["end_time"],
            family_members=d["family_members"],
        )


class RescheduleAppointmentForm(forms.Form):
    on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Date")
    start_time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))
    end_time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(widget=forms.HiddenInput)


class TopicForm(_TokenForm):
    name = forms.CharField(max_length=120)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    duration_minutes = forms.IntegerField(min_value=15, max_value=480, initial=60)
    credentials_accepted = forms.CharField(
        max_length=120,
        required=False,
        help_text="Any one of these, comma separated; blank: anyone.",
    )
    pin_anchor = forms.ChoiceField(choices=PinAnchor.choices, required=False)
    pin_days = forms.IntegerField(min_value=1, max_value=90, required=False)
