"""Scheduling: rooms, program tracks and their curriculum, weekly templates that
generate group sessions, enrolments (rolling admission), individual appointments,
closures, and the occupancy rows that stop double bookings.

Rosters are not stored: a patient is on the roster of every session of a track whose
date falls inside one of their enrolments in that track (`start_on <= date` and
`ended_on` empty or later than the date). Ending an enrolment therefore removes the
patient from future rosters only, and past rosters never change.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from openiop.core.models import PublicModel
from openiop.episodes.models import Episode
from openiop.organizations.models import Organization, Program, Site
from openiop.patients.models import Patient


class Room(PublicModel):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="rooms")
    name = models.CharField(max_length=120)
    capacity = models.PositiveSmallIntegerField(help_text="Most people the room seats.")
    is_active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["site", "name"], name="room_unique_name_per_site"),
            models.CheckConstraint(condition=models.Q(capacity__gte=1), name="room_capacity_pos"),
        ]

    def __str__(self) -> str:
        return self.name


class TrackKind(models.TextChoices):
    DAY_SUD = "day_sud", "Day SUD"
    EVENING = "evening", "Evening"
    MENTAL_HEALTH = "mental_health", "Mental health"
    DUAL_DIAGNOSIS = "dual_diagnosis", "Dual diagnosis"
    ADOLESCENT = "adolescent", "Adolescent"
    OTHER = "other", "Other"


class Population(models.TextChoices):
    ADULT = "adult", "Adults"
    ADOLESCENT = "adolescent", "Adolescents"


class Track(PublicModel):
    """A program's track: its days and hours and its own weekly minimums.

    `weekdays` is a string of ISO-less weekday digits, Monday = 0 ("013" is Monday,
    Tuesday, Thursday). Payer or jurisdiction overrides of the minimums belong to
    attendance's compliance settings, not here.
    """

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="tracks")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=TrackKind.choices)
    population = models.CharField(
        max_length=12, choices=Population.choices, default=Population.ADULT
    )
    weekdays = models.CharField(max_length=7, help_text="Digits 0-6, Monday = 0.")
    day_start = models.TimeField(help_text="Earliest start of the track's sessions.")
    day_end = models.TimeField(help_text="Latest end of the track's sessions.")
    min_hours_per_week = models.DecimalField(max_digits=4, decimal_places=1)
    min_days_per_week = models.PositiveSmallIntegerField()
    max_group_size = models.PositiveSmallIntegerField()
    typical_weeks = models.PositiveSmallIntegerField()
    is_active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["program", "name"], name="track_unique_name"),
            models.CheckConstraint(
                condition=models.Q(day_end__gt=models.F("day_start")), name="track_hours_order"
            ),
            models.CheckConstraint(
                condition=models.Q(max_group_size__gte=1), name="track_group_size_pos"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PinAnchor(models.TextChoices):
    NONE = "", "Not pinned"
    FIRST_DAYS = "first_days", "In the patient's first days"
    LAST_DAYS = "last_days", "In the patient's last days"


class Topic(PublicModel):
    """A group topic in the organization's curriculum library."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="group_topics"
    )
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    duration_minutes = models.PositiveSmallIntegerField(default=60)
    credentials_accepted = models.CharField(
        max_length=120,
        blank=True,
        help_text="Credentials that may facilitate, comma separated (any one). Blank: anyone.",
    )
    pin_anchor = models.CharField(
        max_length=12, choices=PinAnchor.choices, blank=True, default=PinAnchor.NONE
    )
    pin_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="With a pin: how many days from the start or end."
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="topic_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class TrackTopic(models.Model):
    """One step of a track's topic cycle; sessions take topics in `position` order."""

    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="cycle")
    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["track", "position"]
        constraints = [
            models.UniqueConstraint(fields=["track", "position"], name="tracktopic_unique_pos")
        ]

    def __str__(self) -> str:
        return f"{self.track_id}#{self.position}"


class Closure(PublicModel):
    """A day without sessions (holiday, closure) for an organization or one site."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, null=True, blank=True)
    on = models.DateField()
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["on"]
        indexes = [models.Index(fields=["organization", "on"], name="closure_org_on_idx")]

    def __str__(self) -> str:
        return f"{self.on} {self.name}"


class SessionTemplate(PublicModel):
    """A weekly slot of a track that generates group sessions (dateutil rrule)."""

    track = models.ForeignKey(Track, on_delete=models.PROTECT, related_name="templates")
    name = models.CharField(max_length=120)
    weekdays = models.CharField(max_length=7, help_text="Digits 0-6, Monday = 0.")
    start_time = models.TimeField()
    end_time = models.TimeField()
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="+")
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    co_facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    topic = models.ForeignKey(
        Topic,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="A fixed topic; blank takes the track's topic cycle.",
    )
    capacity = models.PositiveSmallIntegerField()
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True)
    generated_through = models.DateField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["track", "start_time"]

    def __str__(self) -> str:
        return self.name


class SessionStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CANCELLED = "cancelled", "Cancelled"


class CancelledBy(models.TextChoices):
    NONE = "", "—"
    PROGRAM = "program", "Cancelled by the program"
    PATIENT = "patient", "Cancelled by the patient"


class GroupSession(PublicModel):
    """One group session of a track. Its roster is computed from enrolments."""

    track = models.ForeignKey(Track, on_delete=models.PROTECT, related_name="sessions")
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="+")
    template = models.ForeignKey(
        SessionTemplate, on_delete=models.PROTECT, null=True, blank=True, related_name="sessions"
    )
    on = models.DateField()
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="+")
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    co_facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, null=True, blank=True)
    capacity = models.PositiveSmallIntegerField()
    status = models.CharField(
        max_length=12, choices=SessionStatus.choices, default=SessionStatus.SCHEDULED
    )
    cancelled_by = models.CharField(
        max_length=10, choices=CancelledBy.choices, blank=True, default=CancelledBy.NONE
    )
    cancel_reason = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(fields=["program", "on"], name="groupsession_program_on_idx"),
            models.Index(fields=["track", "on"], name="groupsession_track_on_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "on"],
                condition=models.Q(template__isnull=False),
                name="groupsession_one_per_template_day",
            ),
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="groupsession_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"Group session {self.public_id}"

    @property
    def is_cancelled(self) -> bool:
        return self.status == SessionStatus.CANCELLED


class Enrolment(PublicModel):
    """A patient's place in a track from `start_on` until `ended_on` (exclusive)."""

    class EndReason(models.TextChoices):
        NONE = "", "—"
        TRACK_CHANGE = "track_change", "Changed track"
        DISCHARGE = "discharge", "Discharged"
        ENTERED_IN_ERROR = "entered_in_error", "Entered in error"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="enrolments")
    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="enrolments")
    track = models.ForeignKey(Track, on_delete=models.PROTECT, related_name="enrolments")
    start_on = models.DateField()
    expected_end_on = models.DateField(null=True, blank=True)
    ended_on = models.DateField(
        null=True, blank=True, help_text="First day no longer on the rosters."
    )
    end_reason = models.CharField(
        max_length=20, choices=EndReason.choices, blank=True, default=EndReason.NONE
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["start_on", "id"]
        indexes = [
            models.Index(fields=["track", "start_on"], name="enrolment_track_start_idx"),
            models.Index(fields=["patient", "start_on"], name="enrolment_patient_start_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["episode"],
                condition=models.Q(ended_on__isnull=True),
                name="enrolment_one_open_per_episode",
            ),
            models.CheckConstraint(
                condition=models.Q(ended_on__isnull=True)
                | models.Q(ended_on__gte=models.F("start_on")),
                name="enrolment_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"Enrolment {self.public_id}"


class WaitlistEntry(PublicModel):
    """A patient waiting for a place in a full track."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        ENROLLED = "enrolled", "Enrolled"
        REMOVED = "removed", "Removed"

    track = models.ForeignKey(Track, on_delete=models.PROTECT, related_name="waitlist")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="+")
    wanted_from = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    enrolment = models.ForeignKey(
        Enrolment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The enrolment that took the patient off the waitlist.",
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    close_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["track", "status"], name="waitlist_track_status_idx")]

    def __str__(self) -> str:
        return f"Waitlist {self.public_id}"


class AppointmentKind(models.TextChoices):
    INDIVIDUAL = "individual", "Individual therapy"
    MED_MANAGEMENT = "med_management", "Medication management"
    CASE_MANAGEMENT = "case_management", "Case management"
    FAMILY = "family", "Family session"


class Appointment(PublicModel):
    """A booked session for one patient with one staff member."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    episode = models.ForeignKey(
        Episode, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=AppointmentKind.choices)
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    room = models.ForeignKey(
        Room, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    on = models.DateField()
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    after_hours = models.BooleanField(default=False)
    family_members = models.TextField(
        blank=True, help_text="Family members taking part (names and relationship)."
    )
    status = models.CharField(
        max_length=12, choices=SessionStatus.choices, default=SessionStatus.SCHEDULED
    )
    cancelled_by = models.CharField(
        max_length=10, choices=CancelledBy.choices, blank=True, default=CancelledBy.NONE
    )
    cancel_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(fields=["patient", "on"], name="appointment_patient_on_idx"),
            models.Index(fields=["staff", "on"], name="appointment_staff_on_idx"),
            models.Index(fields=["program", "on"], name="appointment_program_on_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="appointment_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"Appointment {self.public_id}"

    @property
    def is_cancelled(self) -> bool:
        return self.status == SessionStatus.CANCELLED


class ScheduleChange(models.Model):
    """History of a session or appointment: each cancellation or reschedule, with reason."""

    class Kind(models.TextChoices):
        CANCELLED = "cancelled", "Cancelled"
        RESCHEDULED = "rescheduled", "Rescheduled"
        REASSIGNED = "reassigned", "Room or staff changed"

    session = models.ForeignKey(
        GroupSession, on_delete=models.PROTECT, null=True, blank=True, related_name="changes"
    )
    appointment = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, null=True, blank=True, related_name="changes"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    cancelled_by = models.CharField(
        max_length=10, choices=CancelledBy.choices, blank=True, default=CancelledBy.NONE
    )
    from_starts_at = models.DateTimeField()
    from_ends_at = models.DateTimeField()
    to_starts_at = models.DateTimeField(null=True, blank=True)
    to_ends_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["changed_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(session__isnull=False, appointment__isnull=True)
                | models.Q(session__isnull=True, appointment__isnull=False),
                name="schedulechange_one_target",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk}"


class ResourceKind(models.TextChoices):
    STAFF = "staff", "Staff member"
    ROOM = "room", "Room"
    PATIENT = "patient", "Patient"


class Occupancy(models.Model):
    """One resource (staff member, room or patient) held for a time by a session or
    appointment. Active rows of the same resource must not overlap: checked by the
    services everywhere, and on PostgreSQL also by an exclusion constraint over
    `tstzrange(starts_at, ends_at)` (migration 0002), so two concurrent bookings cannot
    both commit. Cancelling or moving a booking deactivates or moves its rows."""

    resource_kind = models.CharField(max_length=8, choices=ResourceKind.choices)
    resource_id = models.BigIntegerField()
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    session = models.ForeignKey(
        GroupSession, on_delete=models.PROTECT, null=True, blank=True, related_name="occupancy"
    )
    appointment = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, null=True, blank=True, related_name="occupancy"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["resource_kind", "resource_id", "starts_at"], name="occupancy_lookup_idx"
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="occupancy_ends_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(session__isnull=False, appointment__isnull=True)
                | models.Q(session__isnull=True, appointment__isnull=False),
                name="occupancy_one_owner",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resource_kind}:{self.resource_id}"
