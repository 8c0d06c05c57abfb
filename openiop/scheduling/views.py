"""Scheduling pages: calendars (room, staff member, track, patient), tracks and their
weekly templates, group sessions and rosters, enrolments and appointments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from openiop.access.policy import staff
from openiop.accounts.models import User
from openiop.accounts.roles import Perm
from openiop.audit.models import AuditAction
from openiop.audit.services import AuditEntry, audit_record, audit_record_many
from openiop.core.errors import ServiceError
from openiop.core.http import actor_of, form_error, now, patient_access, today
from openiop.episodes.models import Episode
from openiop.organizations.models import Site
from openiop.patients.models import Patient
from openiop.patients.selectors import PatientAccess
from openiop.scheduling import calendar, forms, rules, selectors, services
from openiop.scheduling.models import (
    Appointment,
    AppointmentKind,
    Closure,
    Enrolment,
    GroupSession,
    ScheduleChange,
    WaitlistEntry,
)


def _errors(form: Any, error: ServiceError) -> None:
    if isinstance(error, services.ScheduleInvalid):
        for field, message in error.errors.items():
            form.add_error(field if field in form.fields else None, message)
    else:
        form_error(form, error)


def _status(form: Any) -> int:
    return 422 if form.errors else 200


def _form_page(request: HttpRequest, form: Any, **context: Any) -> HttpResponse:
    """The shared form page (title, intro, back link, "now saved" beside a conflict),
    422 when the form has errors so nothing typed is lost."""
    return render(request, "scheduling/form.html", {"form": form, **context}, status=_status(form))


def _audit_patients_listed(
    actor: User, patients: list[Patient], object_type: str, oid: Any
) -> None:
    seen: dict[int, Patient] = {p.pk: p for p in patients}
    if seen:
        audit_record_many(
            actor=actor,
            entries=[
                AuditEntry(
                    action=AuditAction.READ,
                    patient=p,
                    object_type=object_type,
                    object_id=str(oid),
                )
                for p in seen.values()
            ],
        )


# --- calendars ---------------------------------------------------------------------


@dataclass(frozen=True)
class CalItem:
    title: str
    detail: str
    url: str
    css: str
    cancelled: bool


def _period(request: HttpRequest) -> tuple[str, date, list[date]]:
    mode = "day" if request.GET.get("view") == "day" else "week"
    try:
        anchor = date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        anchor = today()
    days = [anchor] if mode == "day" else calendar.week_days(anchor)
    return mode, anchor, days


def _session_item(s: GroupSession, visible: bool, roster_size: int | None) -> CalItem:
    if not visible:
        return CalItem("Booked", "another program", "", "kind-busy", s.is_cancelled)
    detail = s.topic.name if s.topic_id and s.topic else ""
    extra = [s.room.name, s.facilitator.last_name or s.facilitator.username]
    if roster_size is not None:
        extra.append(f"{roster_size}/{s.capacity}")
    if s.is_cancelled:
        extra.append("cancelled by program")
    return CalItem(
        s.track.name,
        " · ".join([d for d in [detail, *extra] if d]),
        reverse("scheduling:session", args=[s.public_id]),
        "kind-group",
        s.is_cancelled,
    )


def _appointment_item(a: Appointment, visible: bool, show_patient: bool) -> CalItem:
    if not visible:
        return CalItem("Booked", "another program", "", "kind-busy", a.is_cancelled)
    label = str(AppointmentKind(a.kind).label)
    who = a.patient.display_name if show_patient else (a.staff.last_name or a.staff.username)
    extra = [who, a.room.name if a.room else ""]
    if a.after_hours:
        extra.append("after hours")
    if a.is_cancelled:
        extra.append(f"cancelled ({a.get_cancelled_by_display().lower()})")
    return CalItem(
        label,
        " · ".join(e for e in extra if e),
        reverse("scheduling:appointment", args=[a.patient.public_id, a.public_id]),
        f"kind-{a.kind}",
        a.is_cancelled,
    )


def _render_calendar(
    request: HttpRequest,
    *,
    title: str,
    subtitle: str,
    mode: str,
    anchor: date,
    days: list[date],
    items: list[tuple[CalItem, datetime, datetime]],
    closures: dict[date, str],
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    tz = services.local_tz()
    local = [(item, s.astimezone(tz), e.astimezone(tz)) for item, s, e in items]
    # A week's day columns are narrow: three events side by side at most there.
    columns = calendar.layout(days, local, max_lanes=3 if mode == "week" else calendar.MAX_LANES)
    for column in columns:
        column.closed = closures.get(column.day, "")
    step = timedelta(days=1 if mode == "day" else 7)
    context = {
        "title": title,
        "subtitle": subtitle,
        "mode": mode,
        "anchor": anchor,
        "columns": columns,
        "hours": calendar.hour_labels(),
        "today": today(),
        "prev": (anchor - step).isoformat(),
        "next": (anchor + step).isoformat(),
        "count": len(items),
        **(extra or {}),
    }
    return render(request, "scheduling/calendar.html", context)


def _closures(org_id: int, days: list[date]) -> dict[date, str]:
    rows = Closure.objects.filter(organization_id=org_id, on__gte=days[0], on__lte=days[-1])
    return {c.on: c.name for c in rows}


@staff(Perm.PATIENT_VIEW)
def home(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    program_ids = selectors.member_program_ids(actor)
    day = today()
    sessions = selectors.sessions_on_day(day=day, program_ids=program_ids)
    sizes = selectors.rosters(sessions)
    return render(
        request,
        "scheduling/home.html",
        {
            "today": day,
            "sessions": [(s, len(sizes[s.pk])) for s in sessions],
            "tracks": list(selectors.tracks_for(actor)),
            "rooms": list(selectors.rooms_for(actor)),
            "staff_members": list(selectors.staff_visible(actor)),
            "can_configure": actor.has_perm_code(Perm.SCHEDULE_CONFIGURE),
        },
    )


@staff(Perm.PATIENT_VIEW)
def track_calendar(request: HttpRequest, track_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    track = selectors.track_get(actor=actor, public_id=track_id)
    if track is None:
        raise Http404("No such track.")
    mode, anchor, days = _period(request)
    sessions = selectors.sessions_in_range(
        start=days[0], end=days[-1] + timedelta(days=1), track_ids=[track.pk]
    )
    sizes = selectors.rosters(sessions)
    items = [(_session_item(s, True, len(sizes[s.pk])), s.starts_at, s.ends_at) for s in sessions]
    return _render_calendar(
        request,
        title=f"{track.name}",
        subtitle=f"{track.program.name} · {rules.weekdays_text(track.weekdays)} "
        f"{track.day_start:%H:%M}-{track.day_end:%H:%M}",
        mode=mode,
        anchor=anchor,
        days=days,
        items=items,
        closures=_closures(actor.org_id, days),
        extra={"back": reverse("scheduling:track", args=[track.public_id])},
    )


@staff(Perm.PATIENT_VIEW)
def room_calendar(request: HttpRequest, room_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    room = selectors.room_get(actor=actor, public_id=room_id)
    if room is None:
        raise Http404("No such room.")
    mode, anchor, days = _period(request)
    end = days[-1] + timedelta(days=1)
    mine = set(selectors.member_program_ids(actor))
    sessions = selectors.sessions_in_range(start=days[0], end=end, room_ids=[room.pk])
    appts = list(
        Appointment.objects.filter(room=room, on__gte=days[0], on__lt=end).select_related(
            "patient", "staff", "room"
        )
    )
    items = [
        (_session_item(s, s.program_id in mine, None), s.starts_at, s.ends_at) for s in sessions
    ]
    items += [
        (_appointment_item(a, a.program_id in mine, True), a.starts_at, a.ends_at) for a in appts
    ]
    _audit_patients_listed(
        actor, [a.patient for a in appts if a.program_id in mine], "room_calendar", room.public_id
    )
    return _render_calendar(
        request,
        title=room.name,
        subtitle=f"{room.site.name} · seats {room.capacity}",
        mode=mode,
        anchor=anchor,
        days=days,
        items=items,
        closures=_closures(actor.org_id, days),
    )


@staff(Perm.PATIENT_VIEW)
def staff_calendar(request: HttpRequest, staff_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    person = selectors.staff_get(actor=actor, public_id=staff_id)
    if person is None:
        raise Http404("No such staff member.")
    mode, anchor, days = _period(request)
    end = days[-1] + timedelta(days=1)
    mine = set(selectors.member_program_ids(actor))
    sessions = selectors.sessions_in_range(start=days[0], end=end, staff_id=person.pk)
    appts = list(
        Appointment.objects.filter(staff=person, on__gte=days[0], on__lt=end).select_related(
            "patient", "staff", "room"
        )
    )
    items = [
        (_session_item(s, s.program_id in mine, None), s.starts_at, s.ends_at) for s in sessions
    ]
    items += [
        (_appointment_item(a, a.program_id in mine, True), a.starts_at, a.ends_at) for a in appts
    ]
    _audit_patients_listed(
        actor,
        [a.patient for a in appts if a.program_id in mine],
        "staff_calendar",
        person.public_id,
    )
    return _render_calendar(
        request,
        title=person.display_name,
        subtitle=person.get_role_display(),
        mode=mode,
        anchor=anchor,
        days=days,
        items=items,
        closures=_closures(actor.org_id, days),
    )


@staff(Perm.PATIENT_VIEW)
def patient_calendar(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, patient_id)
    mode, anchor, days = _period(request)
    end = days[-1] + timedelta(days=1)
    sessions = selectors.patient_sessions(patient=access.patient, start=days[0], end=end)
    appts = selectors.patient_appointments(patient=access.patient, start=days[0], end=end)
    items = [(_session_item(s, True, None), s.starts_at, s.ends_at) for s in sessions]
    items += [(_appointment_item(a, True, False), a.starts_at, a.ends_at) for a in appts]
    audit_record(
        actor=actor,
        action=AuditAction.READ,
        patient=access.patient,
        object_type="patient_calendar",
        object_id=access.patient.public_id,
        break_glass=access.via_break_glass,
    )
    return _render_calendar(
        request,
        title=f"Schedule: {access.patient.display_name}",
        subtitle=f"MRN {access.patient.mrn}",
        mode=mode,
        anchor=anchor,
        days=days,
        items=items,
        closures=_closures(actor.org_id, days),
        extra={
            "back": reverse("patients:chart_section", args=[access.patient.public_id, "schedule"]),
            "patient": access.patient,
        },
    )


# --- tracks, templates, sessions ----------------------------------------------------------


@staff(Perm.SCHEDULE_CONFIGURE)
def track_new(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = forms.TrackForm(
        request.POST or None,
        programs=selectors.programs_for(actor),
        initial={"min_days_per_week": None, "population": "adult"},
    )
    if request.method == "POST" and form.is_valid():
        try:
            track = services.track_create(
                actor=actor,
                program=form.cleaned_data["program"],
                data=form.track_input(),
                submission_token=form.cleaned_data["submission_token"],
            )
        except ServiceError as error:
            _errors(form, error)
        else:
            messages.success(
                request, "Track created. Add a weekly template to generate its sessions."
            )
            return redirect("scheduling:track", track_id=track.public_id)
    return _form_page(request, form, title="New track")


@staff(Perm.PATIENT_VIEW)
def track_detail(request: HttpRequest, track_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    track = selectors.track_get(actor=actor, public_id=track_id)
    if track is None:
        raise Http404("No such track.")
    day = today()
    due = selectors.pinned_topics_due(track=track, start=day, end=day + timedelta(days=7))
    _audit_patients_listed(
        actor, [p for d in due for p, *_ in d.entries], "pinned_topics_due", track.public_id
    )
    return render(
        request,
        "scheduling/track.html",
        {
            "track": track,
            "weekdays": rules.weekdays_text(track.weekdays),
            "templates": selectors.templates_of(track),
            "cycle": list(track.cycle.select_related("topic")),
            "enrolled": services.tracks_counts([track], day).get(track.pk, 0),
            "free": services.places_free(track, day),
            "waiting": selectors.waitlist_counts([track]).get(track.pk, 0),
            "due": due,
            "today": day,
            "can_configure": actor.has_perm_code(Perm.SCHEDULE_CONFIGURE),
            "can_manage": actor.has_perm_code(Perm.SCHEDULE_MANAGE),
            "generate_form": forms.GenerateForm(initial={"through": day + timedelta(weeks=8)}),
        },
    )


def _slot_choices(actor: User, track: Any) -> dict[str, Any]:
    return {
        "rooms": selectors.rooms_for(actor).filter(site_id=track.program.site_id),
        "staff": selectors.staff_visible(actor).filter(memberships__program=track.program),
        "topics": selectors.topics_for(actor).filter(is_active=True),
    }


@staff(Perm.SCHEDULE_CONFIGURE)
def template_new(request: HttpRequest, track_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    track = selectors.track_get(actor=actor, public_id=track_id)
    if track is None:
        raise Http404("No such track.")
    form = forms.TemplateForm(
        request.POST or None,
        **_slot_choices(actor, track),
        initial={
            "valid_from": today(),
            "weekdays": list(track.weekdays),
            "start_time": track.day_start,
            "end_time": track.day_end,
            "capacity": track.max_group_size,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.template_create(
                actor=actor,
                track=track,
                data=form.template_input(),
                submission_token=form.cleaned_data["submission_token"],
            )
        except ServiceError as error:
            _errors(form, error)
        else:
            messages.success(request, "Weekly template saved. Generate its sessions below.")
            return redirect("scheduling:track", track_id=track.public_id)
    return _form_page(request, form, title=f"Weekly template for {track.name}", track=track)


@staff(Perm.SCHEDULE_CONFIGURE)
def template_generate(request: HttpRequest, template_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    template = selectors.templates_qs_for(actor).filter(public_id=template_id).first()
    if template is None:
        raise Http404("No such template.")
    form = forms.GenerateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.template_generate(
                actor=actor,
                template_public_id=template.public_id,
                through=form.cleaned_data["through"],
                today=today(),
            )
        except ServiceError as error:
            _errors(form, error)
        else:
            messages.success(request, f"{len(created)} sessions generated.")
            return redirect("scheduling:track", track_id=template.track.public_id)
    return _form_page(
        request, form, title=f"Generate sessions: {template.name}", track=template.track
    )


@staff(Perm.SCHEDULE_MANAGE)
def session_new(request: HttpRequest, track_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    track = selectors.track_get(actor=actor, public_id=track_id)
    if track is None:
        raise Http404("No such track.")
    form = forms.SessionForm(
        request.POST or None,
        **_slot_choices(actor, track),
        initial={
            "on": today(),
            "start_time": track.day_start,
            "end_time": track.day_end,
            "capacity": track.max_group_size,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            session = services.session_create(
                actor=actor,
                track=track,
                data=form.session_input(),
                submission_token=form.cleaned_data["submission_token"],
            )
        except ServiceError as error:
            _errors(form, error)
        else:
            messages.success(request, "Session scheduled.")
            return redirect("scheduling:session", session_id=session.public_id)
    return _form_page(request, form, title=f"Extra session for {track.name}", track=track)


@staff(Perm.PATIENT_VIEW)
def session_detail(request: HttpRequest, session_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    session = selectors.session_get(actor=actor, public_id=session_id)
    if session is None:
        raise Http404("No such session.")
    roster = selectors.session_roster(session)
    _audit_patients_listed(actor, [r.patient for r in roster], "session_roster", session.public_id)
    can_manage = actor.has_perm_code(Perm.SCHEDULE_MANAGE)
    return render(
        request,
        "scheduling/session.html",
        {
            "session": session,
            "roster": roster,
            "changes": list(
                ScheduleChange.objects.filter(session=session).select_related("changed_by")
            ),
            "can_manage": can_manage and not session.is_cancelled,
            "cancel_form": forms.CancelForm(initial={"version": session.version}),
        },
    )


@staff(Perm.SCHEDULE_MANAGE)
def session_cancel(request: HttpRequest, session_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    session = selectors.session_get(actor=actor, public_id=session_id)
    if session is None:
        raise Http404("No such session.")
    form = forms.CancelForm(request.POST or None, initial={"version": session.version})
    if request.method == "POST" and form.is_valid():
        try:
            services.session_cancel(
                actor=actor,
                session_public_id=session.public_id,
                reason=form.cleaned_data["reason"],
                base_version=form.cleaned_data["version"],
                now=now(),
            )
        except ServiceError as error:
            _errors(form, error)
        else:
            messages.success(
                request,
                "Session cancelled by the program; it will not count against anyone's attendance.",
            )
            return redirect("scheduling:session", session_id=session.public_id)
    return _form_page(request, form, title="Cancel this session", submit="Cancel session")


@staff(Perm.SCHEDULE_MANAGE)
def session_edit(request: HttpRequest, session_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    session = selectors.session_get(actor=actor, public_id=session_id)
    if session is None:
        raise Http404("No such session.")
    tz = services.local_tz()
    form = forms.RescheduleSessionForm(
        request.POST or None,
        **_slot_choices(actor, session.track),
        initial={
            "on": session.on,
            "start_time": session.starts_at.astimezone(tz).time(),
            "end_time": session.ends_at.astimezone(tz).time(),
            "room": session.room,
            "facilitator": session.facilitator,
            "co_facilitator": session.co_facilitator,
            "topic": session.topic,
            "capacity": session.capacity,
            "version": session.version,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.session_reschedule(
                actor=actor,
                session_public_id=session.public_id,
                data=form.session_input(),
                reason=form.cleaned_data["reason"],
                base_version=form.cleaned_data["version"],
                now=now(),
            )
        except ServiceError as error:
            _errors(form, error)
        else:
            messages.success(request, "Session changed.")
            return redirect("scheduling:session", session_id=session.public_id)
    return _form_page(request, form, title="Reschedule or reassign this session")


# --- enrolments and appointments ---------------------------------------------------------


def _episodes(patient: Patient, actor: User) -> list[Episode]:
    return list(
        Episode.objects.filter(patient=patient, program_id__in=selectors.member_program_ids(actor))
        .select_related("program")
        .order_by("-referred_on")
    )


@staff(Perm.SCHEDULE_MANAGE)
def enrol(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, patient_id, "enrol")
    episodes = [e for e in _episodes(access.patient, actor) if e.is_open]
    tracks = selectors.tracks_for(actor).filter(
        program_id__in=[e.program_id for e in episodes], is_active=True
    )
    form = forms.EnrolForm(
        request.POST or None, episodes=episodes, tracks=tracks, initial={"start_on": today()}
    )
    if request.method == "POST" and form.is_valid():
        track = form.cleaned_data["track"]
        try:
            outcome = services.enrolment_request(
                actor=actor,
                access=access,
                episode_public_id=UUID(form.cleaned_data["episode"]),
                track=track,
                start_on=form.cleaned_data["start_on"],
                submission_token=form.cleaned_data["submission_token"],
            )
        except ServiceError as error:
            _errors(form, error)
        else:
            if outcome.waitlist_entry is not None:
                messages.warning(
                    request,
                    f"{track.name} is full ({track.max_group_size} places): the patient is "
                    "on its waitlist and can be enrolled with one click when a place frees.",
                )
            else:
                messages.success(
                    request,
                    "Enrolled: the patient is on every session of the track from the start date.",
                )
            return redirect("patients:chart_section", public_id=patient_id, section="schedule")
    return _form_page(request, form, title="Enrol in a track", patient=access.patient)


def _enrolment(access: PatientAccess, enrolment_id: UUID) -> Enrolment:
    enrolment = (
        Enrolment.objects.filter(patient=access.patient, public_id=enrolment_id)
        .select_related("track__program")
        .first()
    )
    if enrolment is None:
        raise Http404("No such enrolment.")
    return enrolment


@staff(Perm.SCHEDULE_MANAGE)
def enrolment_end(request: HttpRequest, patient_id: UUID, enrolment_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, patient_id, "enrolment")
    enrolment = _enrolment(access, enrolment_id)
    form = forms.EndEnrolmentForm(
        request.POST or None, initial={"ended_on": today(), "version": enrolment.version}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.enrolment_end(
                actor=actor,
                access=access,
                enrolment_public_id=enrolment.public_id,
                ended_on=form.cleaned_data["ended_on"],
                reason=form.cleaned_data["reason"],
                base_version=form.cleaned_data["version"],
            )
        except ServiceError as error:
            _errors(form, error)
        else:
            messages.success(request, "Enrolment ended; earlier rosters are unchanged.")
            return redirect("patients:chart_section", public_id=patient_id, section="schedule")
    return _form_page(
        request, form, title=f"End enrolment in {enrolment.track.name}", patient=access.patient
    )


@staff(Perm.SCHEDULE_MANAGE)
def enrolment_change(request: HttpRequest, patient_id: UUID, enrolment_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, patient_id, "enrolment")
    enrolment = _enrolment(access, enrolment_id)
    tracks = selectors.tracks_for(actor).filter(program=enrolment.track.program, is_active=True)
    form = forms.ChangeTrackForm(
        request.POST or None,
        tracks=tracks.exclude(pk=enrolment.track_id),
        initial={"effective_on": today(), "version": enrolment.version},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.enrolment_change_track(
                actor=actor,
                access=access,
                enrolment_public_id=enrolment.public_id,
                track=form.cleaned_data["track"],
                effective_on=form.cleaned_data["effective_on"],
                base_version=form.cleaned_data["version"],
            )
        except ServiceError as error:
            _errors(form, error)
        else:
            messages.success(
                request, "Track changed from the date given; earlier rosters are unchanged."
            )
            return redirect("patients:chart_section", public_id=patient_id, section="schedule")
    return _form_page(
        request, form, title=f"Change track (now {enrolment.track.name})", patient=access.patient
    )


@staff(Perm.SCHEDULE_MANAGE)
def appointment_new(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, patient_id, "appointment")
    program_ids = [e.program_id for e in _episodes(access.patient, actor)]
    programs = selectors.programs_for(actor).filter(pk__in=program_ids)
    form = forms.AppointmentForm(
        request.POST or None,
        programs=programs,
        staff=selectors.staff_visible(actor)
        .filter(memberships__program_id__in=program_ids)
        .distinct(),
        rooms=selectors.rooms_for(actor),
        initial={"on": today(), "program": programs.first(), "kind": request.GET.get("kind", "")},
    )
    if request.method == "POST" and form.is_valid():
        try:
            appt = services.appointment_book(
                actor=actor,
                access=access,
                data=form.appointment_input(),
                submission_token=form.cleaned_data["submission_token"],
            )
        except ServiceError as error:
            _errors(form, error)
        else:
            messages.success(request, "Appointment booked.")
            return redirect(
                "scheduling:appointment", patient_id=patient_id, appointment_id=appt.public_id
            )
    return _form_page(request, form, title="Book an appointment", patient=access.patient)


def _appointment(access: PatientAccess, appointment_id: UUID) -> Appointment:
    appt = (
        Appointment.objects.filter(patient=access.patient, public_id=appointment_id)
        .select_related("program__site", "staff", "room", "created_by")
        .first()
    )
    if appt is None:
        raise Http404("No such appointment.")
    return appt


@staff(Perm.PATIENT_VIEW)
def appointment_detail(
    request: HttpRequest, patient_id: UUID, appointment_id: UUID
) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, patient_id)
    appt = _appointment(access, appointment_id)
    audit_record(
        actor=actor,
        action=AuditAction.READ,
        patient=access.patient,
        object_type="appointment",
        object_id=appt.public_id,
        break_glass=access.via_break_glass,
    )
    return render(
        request,
        "scheduling/appointment.html",
        {
            "patient": access.patient,
            "appt": appt,
            "changes": list(
                ScheduleChange.objects.filter(appointment=appt).select_related("changed_by")
            ),
            "can_manage": actor.has_perm_code(Perm.SCHEDULE_MANAGE) and not appt.is_cancelled,
        },
    )


@staff(Perm.SCHEDULE_MANAGE)
def appointment_cancel(
    request: HttpRequest, patient_id: UUID, appointment_id: UUID
) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, patient_id, "appointment")
    appt = _appointment(access, appointment_id)
    form = forms.AppointmentCancelForm(request.POST or None, initial={"version": appt.version})
    if request.method == "POST" and form.is_valid():
        try:
            services.appointment_cancel(
                actor=actor,
                access=access,
                appointment_public_id=appt.public_id,
                cancelled_by=form.cleaned_data["cancelled_by"],
                reason=form.cleaned_data["reason"],
                base_version=form.cleaned_data["version"],
                now=now(),
            )
        except ServiceError as error:
            _errors(form, error)
        else:
            messages.success(request, "Appointment cancelled.")
            return redirect(
                "scheduling:appointment", patient_id=patient_id, appointment_id=appt.public_id
            )
    return _form_page(
        request,
        form,
        title="Cancel appointment",
        patient=access.patient,
        submit="Cancel appointment",
    )


@staff(Perm.SCHEDULE_MANAGE)
def appointment_reschedule(
    request: HttpRequest, patient_id: UUID, appointment_id: UUID
) -> HttpResponse:
    actor = actor_of(request)
    access = patient_access(request, patient_id, "appointment")
    appt = _appointment(access, appointment_id)
    tz = services.local_tz()
    form = forms.RescheduleAppointmentForm(
        request.POST or None,
        initial={
            "on": appt.on,
            "start_time": appt.starts_at.astimezone(tz).time(),
            "end_time": appt.ends_at.astimezone(tz).time(),
            "version": appt.version,
        },
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.appointment_reschedule(
                actor=actor,
                access=access,
                appointment_public_id=appt.public_id,
                on=d["on"],
                start_time=d["start_time"],
                end_time=d["end_time"],
                reason=d["reason"],
                base_version=d["version"],
                now=now(),
            )
        except ServiceError as error:
            _errors(form, error)
        else:
            messages.success(request, "Appointment moved.")
            return redirect(
                "scheduling:appointment", patient_id=patient_id, appointment_id=appt.public_id
            )
    return _form_page(request, form, title="Reschedule appointment", patient=access.patient)


# --- curriculum ------------------------------------------------------------------------


@staff(Perm.PATIENT_VIEW)
def topics(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    can_configure = actor.has_perm_code(Perm.SCHEDULE_CONFIGURE)
    form = forms.TopicForm(request.POST or None) if can_configure else None
    if request.method == "POST":
        if form is None:
            return HttpResponse(status=403)
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.topic_create(
                    actor=actor,
                    organization=actor.organization,  # type: ignore[arg-type]
                    name=d["name"],
                    description=d["description"],
                    duration_minutes=d["duration_minutes"],
                    credentials_accepted=d["credentials_accepted"],
                    pin_anchor=d["pin_anchor"] or "",
                    pin_days=d["pin_days"],
                    submission_token=d["submission_token"],
                )
            except ServiceError as error:
                _errors(form, error)
            else:
                messages.success(request, "Topic added to the curriculum.")
                return redirect("scheduling:topics")
    return render(
        request,
        "scheduling/topics.html",
        {"topics": list(selectors.topics_for(actor)), "form": form},
        status=_status(form) if form is not None else 200,
    )


# --- rooms, closures -----------------------------------------------------------------


def _sites_for(actor: User) -> Any:
    return Site.objects.filter(programs__memberships__user=actor).distinct().order_by("name")


def _with_version(form_class: Any, request: HttpRequest, version: int, **kwargs: Any) -> Any:
    """Rebind the user's entries to the version now saved, after a conflict, so a second
    save is a deliberate overwrite of what they were shown."""
    data = request.POST.copy()
    data["version"] = str(version)
    form = form_class(data, **kwargs)
    form.is_valid()
    return form


@staff(Perm.SCHEDULE_CONFIGURE)
def rooms(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = forms.RoomForm(request.POST or None, sites=_sites_for(actor))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.room_create(
                actor=actor,
                site=d["site"],
                name=d["name"],
                capacity=d["capacity"],
                submission_token=d["submission_token"],
            )
        except ServiceError as error:
            _errors(form, error)
        else:
            messages.success(request, "Room added.")
            return redirect("scheduling:rooms")
    return render(
        request,
        "scheduling/rooms.html",
        {"rooms": list(selectors.rooms_configurable(actor)), "form": form},
        status=_status(form),
    )


@staff(Perm.SCHEDULE_CONFIGURE)
def room_edit(request: HttpRequest, room_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    room = selectors.rooms_configurable(actor).filter(public_id=room_id).first()
    if room is None:
        raise Http404("No such room.")
    initial = {
        "name": room.name,
        "capacity": room.capacity,
        "is_active": room.is_active,
        "version": room.version,
    }
    form = forms.RoomEditForm(request.POST or None, initial=initial)
    saved = None
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.room_update(
                actor=actor,
                room_public_id=room.public_id,
                name=d["name"],
                capacity=d["capacity"],
                is_active=d["is_active"],
                base_version=d["version"],
            )
        except services.VersionConflict as error:
            room.refresh_from_db()
            form = _with_version(forms.RoomEditForm, request, room.version)
            form_error(form, error)
            saved = [
                ("Name", room.name),
                ("Seats", room.capacity),
                ("In use", "yes" if room.is_active else "no"),
            ]
        except ServiceError as error:
            _errors(form, error)
        else:
            messages.success(request, "Room saved.")
            return redirect("scheduling:rooms")
    return _form_page(
        request,
        form,
        title=f"Room: {room.name}",
        saved=saved,
        back=reverse("scheduling:rooms"),
        intro="Sessions already booked keep their own capacity; "
        "a new number of seats applies to new templates and sessions.",
    )


@staff(Perm.SCHEDULE_CONFIGURE)
def closures(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = forms.ClosureForm(request.POST or None, sites=_sites_for(actor))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            closure = services.closure_create(
                actor=actor,
                organization=actor.organization,  # type: ignore[arg-type]
                on=d["on"],
                name=d["name"],
                site=d["site"],
                submission_token=d["submission_token"],
            )
        except ServiceError as error:
            _errors(form, error)
        else:
            messages.success(request, "Closure recorded: new sessions will skip that day.")
            return redirect("scheduling:closure", closure_id=closure.public_id)
    return render(
        request,
        "scheduling/closures.html",
        {
            "closures": list(selectors.closures_for(actor, since=today() - timedelta(days=31))),
            "form": form,
        },
        status=_status(form),
    )


@staff(Perm.SCHEDULE_CONFIGURE)
def closure_detail(request: HttpRequest, closure_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    closure = (
        Closure.objects.filter(public_id=closure_id, organization_id=actor.org_id)
        .select_related("site")
        .first()
    )
    if closure is None:
        raise Http404("No such closure.")
    form = forms.ClosureCancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            count = services.closure_cancel_sessions(
                actor=actor,
                closure_public_id=closure.public_id,
                reason=form.cleaned_data["reason"],
                now=now(),
            )
        except ServiceError as error:
            _errors(form, error)
        else:
            messages.success(
                request,
                f"{count} session{'s' if count != 1 else ''} cancelled by the program; "
                "they do not count against anyone's attendance.",
            )
            return redirect("scheduling:closure", closure_id=closure.public_id)
    sessions = services.closure_sessions(closure, selectors.member_program_ids(actor))
    return render(
        request,
        "scheduling/closure.html",
        {"closure": closure, "sessions": sessions, "form": form},
        status=_status(form),
    )


# --- editing tracks, their cycle and templates ----------------------------------------------


def _track_saved(track: Any) -> list[tuple[str, Any]]:
    return [
        ("Name", track.name),
        ("Days", rules.weekdays_text(track.weekdays)),
        ("Hours", f"{track.day_start:%H:%M} to {track.day_end:%H:%M}"),
        ("Minimum per week", f"{track.min_hours_per_week} h on {track.min_days_per_week} days"),
        ("Most per group", track.max_group_size),
        ("Typical weeks", track.typical_weeks),
        ("In use", "yes" if track.is_active else "no"),
    ]


@staff(Perm.SCHEDULE_CONFIGURE)
def track_edit(request: HttpRequest, track_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    track = selectors.track_get(actor=actor, public_id=track_id)
    if track is None:
        raise Http404("No such track.")
    initial = {
        "name": track.name,
        "kind": track.kind,
        "population": track.population,
        "weekdays": list(track.weekdays),
        "day_start": track.day_start,
        "day_end": track.day_end,
        "min_hours_per_week": track.min_hours_per_week,
        "min_days_per_week": track.min_days_per_week,
        "max_group_size": track.max_group_size,
        "typical_weeks": track.typical_weeks,
        "is_active": track.is_active,
        "version": track.version,
    }
    form = forms.TrackEditForm(request.POST or None, initial=initial)
    saved = None
    if request.method == "POST" and form.is_valid():
        try:
            services.track_update(
                actor=actor,
                track_public_id=track.public_id,
                data=form.track_input(),
                is_active=form.cleaned_data["is_active"],
                base_version=form.cleaned_data["version"],
            )
        except services.VersionConflict as error:
            track.refresh_from_db()
            form = _with_version(forms.TrackEditForm, request, track.version)
            form_error(form, error)
            saved = _track_saved(track)
        except ServiceError as error:
            _errors(form, error)
        else:
            messages.success(request, "Track saved.")
            return redirect("scheduling:track", track_id=track.public_id)
    return _form_page(
        request,
        form,
        title=f"Edit track: {track.name}",
        track=track,
        saved=saved,
        back=reverse("scheduling:track", args=[track.public_id]),
        intro="Sessions already generated are not moved; weekly templates must fit "
        "the track's days and hours.",
    )


@staff(Perm.SCHEDULE_CONFIGURE)
def track_cycle(request: HttpRequest, track_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    track = selectors.track_get(actor=actor, public_id=track_id)
    if track is None:
        raise Http404("No such track.")
    topics = list(selectors.topics_for(actor).filter(is_active=True))
    current = {c.topic_id: c.position + 1 for c in track.cycle.all()}
    initial: dict[str, Any] = {"version": track.version}
    initial.update({f"pos_{t.public_id.hex}": current.get(t.pk) for t in topics})
    form = forms.CycleForm(request.POST or None, topics=topics, initial=initial)
    saved = None
    if request.method == "POST" and form.is_valid():
        try:
            services.track_cycle_set(
                actor=actor,
                track=track,
                topics=form.ordered_topics(),
                base_version=form.cleaned_data["version"],
            )
        except services.VersionConflict as error:
            track.refresh_from_db()
            form = _with_version(forms.CycleForm, request, track.version, topics=topics)
            form_error(form, error)
            saved = [
                (f"{c.position + 1}.", c.topic.name) for c in track.cycle.select_related("topic")
            ]
        except ServiceError as error:
            _errors(form, error)
        else:
            messages.success(
                request, "Topic cycle saved; sessions generated from now on follow it."
            )
            return redirect("scheduling:track", track_id=track.public_id)
    return _form_page(
        request,
        form,
        title=f"Topic cycle of {track.name}",
        track=track,
        saved=saved,
        back=reverse("scheduling:track", args=[track.public_id]),
        intro="Number the topics in the order sessions take them (1 first); leave a "
        "topic blank to leave it out. Sessions already generated keep their topic.",
    )


def _template_for(actor: User, template_id: UUID) -> Any:
    template = (
        selectors.templates_qs_for(actor)
        .select_related("track__program", "room", "facilitator", "co_facilitator", "topic")
        .filter(public_id=template_id)
        .first()
    )
    if template is None:
        raise Http404("No such template.")
    return template


@staff(Perm.SCHEDULE_CONFIGURE)
def template_edit(request: HttpRequest, template_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    template = _template_for(actor, template_id)
    track = template.track
    initial = {
        "name": template.name,
        "weekdays": list(template.weekdays),
        "start_time": template.start_time,
        "end_time": template.end_time,
        "room": template.room,
        "capacity": template.capacity,
        "facilitator": template.facilitator,
        "co_facilitator": template.co_facilitator,
        "topic": template.topic,
        "valid_from": template.valid_from,
        "valid_until": template.valid_until,
        "version": template.version,
    }
    choices = _slot_choices(actor, track)
    form = forms.TemplateEditForm(request.POST or None, initial=initial, **choices)
    saved = None
    if request.method == "POST" and form.is_valid():
        try:
            services.template_update(
                actor=actor,
                template_public_id=template.public_id,
                data=form.template_input(),
                base_version=form.cleaned_data["version"],
            )
        except services.VersionConflict as error:
            template.refresh_from_db()
            form = _with_version(forms.TemplateEditForm, request, template.version, **choices)
            form_error(form, error)
            saved = [
                ("Name", template.name),
                ("Days", rules.weekdays_text(template.weekdays)),
                ("Time", f"{template.start_time:%H:%M} to {template.end_time:%H:%M}"),
                ("Room", template.room.name),
                ("Capacity", template.capacity),
                ("Facilitator", template.facilitator.display_name),
            ]
        except ServiceError as error:
            _errors(form, error)
        else:
            messages.success(
                request,
                "Template saved. Sessions already generated are unchanged; "
                "the next generation uses the new values.",
            )
            return redirect("scheduling:track", track_id=track.public_id)
    return _form_page(
        request,
        form,
        title=f"Edit weekly template: {template.name}",
        track=track,
        saved=saved,
        back=reverse("scheduling:track", args=[track.public_id]),
        intro="Sessions already generated are not changed (reschedule or cancel them "
        "one by one); templates are retired, never deleted.",
    )


@staff(Perm.SCHEDULE_CONFIGURE)
def template_retire(request: HttpRequest, template_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    template = _template_for(actor, template_id)
    form = forms.RetireTemplateForm(
        request.POST or None, initial={"last_day": today(), "version": template.version}
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            _, count = services.template_retire(
                actor=actor,
                template_public_id=template.public_id,
                last_day=d["last_day"],
                cancel_later=d["cancel_later"],
                reason=d["reason"],
                base_version=d["version"],
                now=now(),
            )
        except ServiceError as error:
            _errors(form, error)
        else:
            messages.success(
                request, f"Template retired; {count} later sessions cancelled by the program."
            )
            return redirect("scheduling:track", track_id=template.track.public_id)
    return _form_page(
        request,
        form,
        title=f"Retire weekly template: {template.name}",
        track=template.track,
        submit="Retire template",
        back=reverse("scheduling:track", args=[template.track.public_id]),
        intro="The template and the sessions it generated stay on record; it "
        "generates nothing after its last day.",
    )


# --- waitlist ------------------------------------------------------------------------------


@staff(Perm.PATIENT_VIEW)
def track_waitlist(request: HttpRequest, track_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    track = selectors.track_get(actor=actor, public_id=track_id)
    if track is None:
        raise Http404("No such track.")
    rows = selectors.waitlist_of(track)
    _audit_patients_listed(actor, [r.entry.patient for r in rows], "waitlist", track.public_id)
    return render(
        request,
        "scheduling/waitlist.html",
        {
            "track": track,
            "rows": rows,
            "free": services.places_free(track, today()),
            "today": today(),
            "can_manage": actor.has_perm_code(Perm.SCHEDULE_MANAGE),
            "token": uuid4(),
            "remove_form": forms.WaitlistRemoveForm(),
        },
    )


def _entry_access(request: HttpRequest, entry_id: UUID) -> tuple[Any, PatientAccess]:
    actor = actor_of(request)
    entry = (
        WaitlistEntry.objects.filter(public_id=entry_id, track__program__memberships__user=actor)
        .select_related("track", "patient")
        .first()
    )
    if entry is None:
        raise Http404("No such waitlist entry.")
    return entry, patient_access(request, entry.patient.public_id, "waitlist")


@staff(Perm.SCHEDULE_MANAGE)
def waitlist_enrol(request: HttpRequest, entry_id: UUID) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405)
    entry, access = _entry_access(request, entry_id)
    try:
        token = UUID(request.POST.get("submission_token", ""))
    except ValueError:
        token = None
    try:
        services.waitlist_enrol(
            actor=actor_of(request),
            access=access,
            entry_public_id=entry.public_id,
            start_on=today(),
            now=now(),
            submission_token=token,
        )
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Enrolled from the waitlist: on every session from today.")
    return redirect("scheduling:waitlist", track_id=entry.track.public_id)


@staff(Perm.SCHEDULE_MANAGE)
def waitlist_remove(request: HttpRequest, entry_id: UUID) -> HttpResponse:
    entry, access = _entry_access(request, entry_id)
    form = forms.WaitlistRemoveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.waitlist_remove(
                actor=actor_of(request),
                access=access,
                entry_public_id=entry.public_id,
                reason=form.cleaned_data["reason"],
                now=now(),
            )
        except ServiceError as error:
            _errors(form, error)
        else:
            messages.success(request, "Taken off the waitlist.")
            return redirect("scheduling:waitlist", track_id=entry.track.public_id)
    return _form_page(
        request,
        form,
        title=f"Take off the {entry.track.name} waitlist",
        patient=access.patient,
        submit="Take off the waitlist",
        back=reverse("scheduling:waitlist", args=[entry.track.public_id]),
    )
