"""Attendance screens: the roster of a group session, front-desk check-in, the daily
census (htmx polling), marking appointments, outreach, and the weekly compliance
report per track with its CSV export.

Every view fetches its session, appointment or patient scoped to the actor first: a
session or appointment outside the actor's programs is a 404, a patient outside them
an audited 404 (`patient_get_for_user`).
"""

from __future__ import annotations

import csv
import uuid
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_POST

from openiop.access.policy import staff
from openiop.accounts.roles import Perm
from openiop.attendance import rules, selectors, services
from openiop.attendance.forms import (
    VISITOR_KINDS,
    AppointmentMarkForm,
    OutreachForm,
    RequirementForm,
    RosterPost,
    SettingsForm,
    roster_parse,
)
from openiop.attendance.models import (
    DEFAULT_ABSENCE_THRESHOLD,
    DEFAULT_PARTIAL_WEEK_POLICY,
    AttendanceRecord,
    AttendanceSettings,
    AttendanceStatus,
)
from openiop.audit.models import AuditAction, AuditOutcome
from openiop.audit.services import audit_record
from openiop.core.errors import ErrorCode, ServiceError
from openiop.core.http import actor_of, form_error, now, today
from openiop.patients.selectors import patient_get_for_user

CENSUS_POLL_SECONDS = 30  # settings.ATTENDANCE_CENSUS_POLL_SECONDS overrides (tests: short)


def census_poll_seconds() -> int:
    return int(getattr(settings, "ATTENDANCE_CENSUS_POLL_SECONDS", CENSUS_POLL_SECONDS))


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _refuse(request: HttpRequest, object_type: str, public_id: UUID) -> Http404:
    """An object outside the actor's programs: the same 404 as one that does not
    exist, with the refusal audited."""
    audit_record(
        actor=actor_of(request),
        action=AuditAction.ACCESS_DENIED,
        outcome=AuditOutcome.DENIED,
        object_type=object_type,
        object_id=public_id,
    )
    return Http404("Not found.")


def _day(raw: str | None, default: date) -> date:
    parsed = parse_date(raw or "") if raw else None
    return parsed or default


# --- Roster --------------------------------------------------------------------------------


def _apply_typed(roster: selectors.Roster, post: RosterPost) -> None:
    """Put what was typed (and its errors) back on the lines after a refused save."""
    from openiop.patients.models import Patient

    known = {str(line.patient.public_id): line for line in roster.lines}
    extra = [pid for pid in post.typed if pid not in known]
    if extra:
        for patient in Patient.objects.filter(public_id__in=extra):
            added = selectors.RosterLine(patient, None, True)
            roster.lines.append(added)
            known[str(patient.public_id)] = added
            roster.candidates = [c for c in roster.candidates if c.pk != patient.pk]
    for key, values in post.typed.items():
        line = known.get(key)
        if line is None:
            continue
        line.status = values["status"]
        line.late_minutes = values["late_minutes"]
        line.left_early_minutes = values["left_early_minutes"]
        line.minutes_attended = values["minutes_attended"]
        line.errors = post.errors.get(key, {})


def _add_walk_in(roster: selectors.Roster, patient_id: UUID | None) -> str:
    if patient_id is None:
        return "Choose a patient to add."
    match = next((c for c in roster.candidates if c.public_id == patient_id), None)
    if match is None:
        return "That patient cannot be added to this group."
    roster.lines.append(selectors.RosterLine(match, None, True, status=rules.PRESENT))
    roster.candidates = [c for c in roster.candidates if c.pk != match.pk]
    return ""


def _render_roster(
    request: HttpRequest,
    roster: selectors.Roster,
    *,
    version: int,
    token: UUID,
    status: int = 200,
    error: str = "",
    conflict: services.RosterConflict | None = None,
    visitor: Any = None,
) -> HttpResponse:
    actor = actor_of(request)
    selectors.audit_listed(
        actor=actor,
        patients=[line.patient for line in roster.lines],
        object_type="attendance_roster",
        detail={"session": str(roster.session.public_id)},
    )
    if conflict is not None:
        labels = dict(AttendanceStatus.choices)
        for line in roster.lines:
            mark = conflict.current.get(line.patient.public_id)
            line.changed = line.patient.public_id in conflict.changed
            if mark is not None:
                line.current = (
                    f"{labels.get(mark.status, mark.status)}, {mark.minutes_attended} min"
                )
    return render(
        request,
        "attendance/roster.html",
        {
            "roster": roster,
            "session": roster.session,
            "statuses": AttendanceStatus.choices,
            "visitor_kinds": VISITOR_KINDS,
            "version": version,
            "token": token,
            "error": error,
            "conflict": conflict,
            "visitor": visitor,
        },
        status=status,
    )


@staff(Perm.ATTENDANCE_RECORD)
def roster(request: HttpRequest, session_id: UUID) -> HttpResponse:
    """Mark every rostered patient of a group session in one screen."""
    actor = actor_of(request)
    session = selectors.session_get_for_user(actor=actor, public_id=session_id)
    if session is None:
        raise _refuse(request, "group_session", session_id)
    data = selectors.roster_get(session=session)
    if request.method != "POST":
        return _render_roster(request, data, version=data.version, token=uuid.uuid4())
    post = roster_parse(request.POST)
    if post.action == "add":
        _apply_typed(data, post)
        problem = _add_walk_in(data, post.add_walk_in)
        return _render_roster(
            request,
            data,
            version=post.version,
            token=post.token,
            error=problem,
            status=422 if problem else 200,
            visitor=post.visitor,
        )
    if post.errors:
        _apply_typed(data, post)
        return _render_roster(
            request,
            data,
            version=post.version,
            token=post.token,
            status=422,
            error="Some lines need attention; nothing was saved.",
            visitor=post.visitor,
        )
    try:
        saved = services.roster_save(
            actor=actor,
            session=session,
            base_version=post.version,
            lines=post.lines,
            visitors=[post.visitor] if post.visitor else [],
            submission_token=post.token,
            now=now(),
        )
    except services.RosterConflict as conflict:
        fresh = selectors.roster_get(session=session)
        _apply_typed(fresh, post)
        return _render_roster(
            request,
            fresh,
            version=conflict.sheet.version,
            token=uuid.uuid4(),
            status=409,
            conflict=conflict,
            error=conflict.message,
            visitor=post.visitor,
        )
    except services.RosterInvalid as invalid:
        post.errors = invalid.errors
        _apply_typed(data, post)
        return _render_roster(
            request,
            data,
            version=post.version,
            token=post.token,
            status=422,
            error=invalid.message,
            visitor=post.visitor,
        )
    except ServiceError as error:
        _apply_typed(data, post)
        return _render_roster(
            request, data, version=post.version, token=post.token, status=422, error=error.message
        )
    note = f"Attendance saved ({saved.changed} changed)."
    if saved.follow_ups:
        note += f" {saved.follow_ups} follow-up task(s) created."
    if saved.alerts:
        note += f" {saved.alerts} disengagement alert(s) raised."
    messages.success(request, note)
    return redirect("attendance:roster", session_id=session.public_id)


# --- Census and check-in ----------------------------------------------------------------------


def _census_programs(request: HttpRequest) -> tuple[list[Any], list[int], str]:
    actor = actor_of(request)
    programs = selectors.programs_for(actor)
    chosen = request.GET.get("program", "") or request.POST.get("program", "")
    ids = [p.pk for p in programs if not chosen or str(p.public_id) == chosen]
    return programs, ids, chosen


@staff(Perm.ATTENDANCE_CHECKIN)
def census(request: HttpRequest) -> HttpResponse:
    """Everyone expected today per track and session: who has arrived, who is missing
    (with the phone number to call). The list refreshes itself (htmx polling)."""
    actor = actor_of(request)
    programs, ids, chosen = _census_programs(request)
    day = _day(request.GET.get("day"), today())
    data = selectors.census(actor=actor, day=day, program_ids=ids)
    selectors.audit_listed(
        actor=actor,
        patients=data.patients,
        object_type="census",
        detail={"day": day.isoformat(), "shown": len(data.patients)},
    )
    template = "attendance/census.html"
    if _is_htmx(request):
        template += "#census"
    response = render(
        request,
        template,
        {
            "census": data,
            "programs": programs,
            "program": chosen,
            "day": day,
            "is_today": day == today(),
            "previous": day - timedelta(days=1),
            "next": day + timedelta(days=1),
            "poll": census_poll_seconds(),
            "can_record": actor.has_perm_code(Perm.ATTENDANCE_RECORD),
        },
    )
    response["Vary"] = "HX-Request"
    return response


@staff(Perm.ATTENDANCE_CHECKIN)
@require_POST
def check_in(request: HttpRequest, session_id: UUID, patient_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    session = selectors.session_get_for_user(actor=actor, public_id=session_id)
    if session is None:
        raise _refuse(request, "group_session", session_id)
    try:
        services.check_in(actor=actor, session=session, patient_public_id=patient_id, now=now())
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Checked in.")
    query = f"?day={session.on.isoformat()}"
    if request.POST.get("program"):
        query += f"&program={request.POST['program']}"
    return redirect(f"{reverse('attendance:census')}{query}")


@staff(Perm.ATTENDANCE_CHECKIN)
def walk_in(request: HttpRequest) -> HttpResponse:
    """Front desk: find a patient of the program who is not on the day's rosters and
    check them in as a walk-in on one of the day's sessions."""
    actor = actor_of(request)
    programs, ids, chosen = _census_programs(request)
    source = request.POST if request.method == "POST" else request.GET
    day = _day(source.get("day"), today())
    query = source.get("q", "").strip()[:100]
    errors: dict[str, str] = {}
    if request.method == "POST":
        patient_id = _uuid_or_none(request.POST.get("patient", ""))
        session_id = _uuid_or_none(request.POST.get("session", ""))
        token = _uuid_or_none(request.POST.get("submission_token", ""))
        session = (
            selectors.session_get_for_user(actor=actor, public_id=session_id)
            if session_id
            else None
        )
        if patient_id is None:
            raise _refuse(request, "patient", uuid.UUID(int=0))
        if session_id is not None and session is None:
            raise _refuse(request, "group_session", session_id)
        if session is None:
            errors[str(patient_id)] = "Choose the session they are joining."
        else:
            try:
                services.walk_in_check_in(
                    actor=actor,
                    session=session,
                    patient_public_id=patient_id,
                    submission_token=token,
                    now=now(),
                )
            except ServiceError as error:
                if error.code == ErrorCode.NOT_FOUND:
                    _refuse(request, "patient", patient_id)  # audited; message shown below
                errors[str(patient_id)] = error.message
            else:
                messages.success(request, "Checked in as a walk-in.")
                back = f"?day={session.on.isoformat()}"
                if chosen:
                    back += f"&program={chosen}"
                return redirect(f"{reverse('attendance:census')}{back}")
    candidates = selectors.walk_in_candidates(actor=actor, day=day, program_ids=ids, query=query)
    selectors.audit_listed(
        actor=actor,
        patients=[c.patient for c in candidates],
        object_type="walk_in_search",
        detail={"day": day.isoformat(), "shown": len(candidates)},
    )
    return render(
        request,
        "attendance/walk_in.html",
        {
            "candidates": candidates,
            "programs": programs,
            "program": chosen,
            "day": day,
            "q": query,
            "errors": errors,
            "other_errors": [
                message
                for key, message in errors.items()
                if key not in {str(c.patient.public_id) for c in candidates}
            ],
            "chosen_session": request.POST.get("session", ""),
            "token": uuid.uuid4(),
        },
        status=422 if errors else 200,
    )


def _uuid_or_none(raw: str) -> UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


# --- Appointments ---------------------------------------------------------------------------


@staff(Perm.ATTENDANCE_RECORD)
def appointment_mark(request: HttpRequest, appointment_id: UUID) -> HttpResponse:
    """Mark an individual, medication-management, case-management or family
    appointment kept (with minutes) or a no-show."""
    actor = actor_of(request)
    appointment = selectors.appointment_get_for_user(actor=actor, public_id=appointment_id)
    if appointment is None:
        raise _refuse(request, "appointment", appointment_id)
    access = patient_get_for_user(
        actor=actor, public_id=appointment.patient.public_id, now=now(), purpose="attendance"
    )
    record = AttendanceRecord.objects.filter(appointment=appointment).first()
    version = record.version if record else 0
    form = AppointmentMarkForm(
        request.POST or None,
        initial={
            "version": version,
            "kept": "yes" if record is None or record.attended else "no",
            "minutes": record.minutes_attended if record and record.attended else None,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.appointment_mark(
                actor=actor,
                appointment=appointment,
                kept=form.cleaned_data["kept"],
                minutes=form.cleaned_data["minutes"],
                base_version=form.cleaned_data["version"],
                now=now(),
            )
        except services.AppointmentConflict as conflict:
            data = request.POST.copy()
            data["version"] = str(conflict.current.version)
            form = AppointmentMarkForm(data)
            form.is_valid()
            form.add_error(None, conflict.message)
        except ServiceError as error:
            form_error(form, error)
        else:
            messages.success(request, "Appointment marked.")
            return redirect(
                "patients:chart_section", public_id=access.patient.public_id, section="schedule"
            )
    audit_record(
        actor=actor,
        action=AuditAction.READ,
        patient=access.patient,
        object_type="appointment_attendance",
        object_id=appointment.public_id,
        break_glass=access.via_break_glass,
    )
    return render(
        request,
        "attendance/appointment.html",
        {"appointment": appointment, "patient": access.patient, "form": form, "record": record},
        status=422 if form.errors else 200,
    )


# --- Outreach -------------------------------------------------------------------------------


@staff(Perm.ATTENDANCE_RECORD)
def outreach(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Log an attempt to reach a patient after a missed session."""
    actor = actor_of(request)
    access = patient_get_for_user(actor=actor, public_id=public_id, now=now(), purpose="outreach")
    form = OutreachForm(request.POST or None, initial={"record": request.GET.get("record")})
    if request.method == "POST" and form.is_valid():
        try:
            services.outreach_log(
                actor=actor,
                access=access,
                method=form.cleaned_data["method"],
                outcome=form.cleaned_data["outcome"],
                note=form.cleaned_data["note"],
                record_public_id=form.cleaned_data["record"],
                submission_token=form.cleaned_data["submission_token"],
                now=now(),
            )
        except ServiceError as error:
            form_error(form, error)
        else:
            messages.success(request, "Outreach attempt logged.")
            return redirect(
                "patients:chart_section", public_id=access.patient.public_id, section="schedule"
            )
    else:
        audit_record(
            actor=actor,
            action=AuditAction.READ,
            patient=access.patient,
            object_type="outreach_form",
            object_id=access.patient.public_id,
            break_glass=access.via_break_glass,
        )
    return render(
        request,
        "attendance/outreach.html",
        {"form": form, "patient": access.patient},
        status=422 if form.errors else 200,
    )


# --- Weekly compliance report ------------------------------------------------------------------


def _report(request: HttpRequest) -> tuple[list[Any], Any, date, selectors.TrackWeek | None]:
    actor = actor_of(request)
    tracks = selectors.tracks_for(actor)
    chosen = request.GET.get("track", "")
    track = next((t for t in tracks if str(t.public_id) == chosen), tracks[0] if tracks else None)
    week = rules.week_start(_day(request.GET.get("week"), today()))
    report = (
        selectors.track_week_report(track=track, week=week, organization_id=actor.org_id)
        if track
        else None
    )
    return tracks, track, week, report


STATUS_LABELS = {
    rules.MET: "Met",
    rules.NOT_MET: "Not met",
    rules.SHORT_BY_PROGRAM: "Short (program cancelled)",
    rules.NOT_JUDGED: "Partial week, not judged",
    rules.NOT_APPLICABLE: "n/a",
}


@staff(Perm.ATTENDANCE_REPORT)
def compliance_report(request: HttpRequest) -> HttpResponse:
    """Hours and days per patient of a track for a week, against each rule."""
    actor = actor_of(request)
    tracks, track, week, report = _report(request)
    if report is not None:
        selectors.audit_listed(
            actor=actor,
            patients=[r.patient for r in report.rows],
            object_type="compliance_report",
            detail={"track": str(track.public_id), "week": week.isoformat()},
        )
    return render(
        request,
        "attendance/compliance.html",
        {
            "tracks": tracks,
            "track": track,
            "week": week,
            "week_end": week + timedelta(days=6),
            "previous": week - timedelta(days=7),
            "next": week + timedelta(days=7),
            "report": report,
            "labels": STATUS_LABELS,
        },
    )


@staff(Perm.ATTENDANCE_REPORT)
def compliance_export(request: HttpRequest) -> HttpResponse:
    """The same report as CSV (audited as an export)."""
    actor = actor_of(request)
    _, track, week, report = _report(request)
    if report is None or track is None:
        raise Http404("No track.")
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = (
        f'attachment; filename="compliance-{week.isoformat()}-{track.public_id}.csv"'
    )
    writer = csv.writer(response)
    codes = [code for code, _ in report.rule_codes]
    writer.writerow(
        ["mrn", "family_name", "given_name", "week_start", "hours", "days", "partial_week"]
        + [f"{code}_required_hours" for code in codes]
        + [f"{code}_status" for code in codes]
    )
    for row in report.rows:
        c = row.compliance
        results = {r.code: r for r in c.results}
        writer.writerow(
            [
                row.patient.mrn,
                row.patient.legal_family_name,
                row.patient.legal_given_name,
                week.isoformat(),
                f"{c.hours}",
                c.days,
                "yes" if c.partial_week else "no",
            ]
            + [f"{results[code].required_hours}" if code in results else "" for code in codes]
            + [results[code].status if code in results else "" for code in codes]
        )
    audit_record(
        actor=actor,
        action=AuditAction.EXPORT,
        object_type="compliance_report",
        object_id=track.public_id,
        detail={"week": week.isoformat(), "rows": len(report.rows)},
    )
    selectors.audit_listed(
        actor=actor,
        patients=[r.patient for r in report.rows],
        object_type="compliance_export",
        detail={"track": str(track.public_id), "week": week.isoformat()},
    )
    return response


# --- Configuration (program directors) ------------------------------------------------------


def _config_conflict_rows(
    form: Any, conflict: services.ConfigConflict | None
) -> list[tuple[str, str, str]]:
    """(field label, the user's entry, what is now saved) for the fields that differ."""
    if conflict is None:
        return []
    rows = []
    for name in conflict.changed:
        field = form.fields.get(name)
        label = str(field.label or name.replace("_", " ").capitalize()) if field else name
        typed = form.data.get(name, "")
        if field is not None and hasattr(field, "choices"):
            typed = str(dict(field.choices).get(typed, typed))
        if name == "is_active":
            typed = "yes" if typed else "no"
        rows.append((label, typed or "—", conflict.current.get(name, "")))
    return rows


def _put_problems(form: Any, error: ServiceError) -> None:
    if isinstance(error, services.FieldProblems):
        for name, message in error.fields.items():
            form.add_error(name if name in form.fields else None, message)
    else:
        form_error(form, error)


@staff(Perm.ORG_MANAGE)
def settings_home(request: HttpRequest) -> HttpResponse:
    """Each program's attendance settings and the organization's weekly hour minimums."""
    actor = actor_of(request)
    return render(
        request,
        "attendance/settings.html",
        {
            "programs": selectors.org_programs(actor),
            "requirements": selectors.org_requirements(actor),
            "defaults": rules.DEFAULT_RULES,
            "default_threshold": DEFAULT_ABSENCE_THRESHOLD,
        },
    )


@staff(Perm.ORG_MANAGE)
def settings_program(request: HttpRequest, program_id: UUID) -> HttpResponse:
    """A program's absence-alert threshold and partial-week policy."""
    actor = actor_of(request)
    program = selectors.org_program_get(actor=actor, public_id=program_id)
    if program is None:
        raise _refuse(request, "program", program_id)
    row = AttendanceSettings.objects.filter(program=program).first()
    conflict: services.ConfigConflict | None = None
    if request.method == "POST":
        form = SettingsForm(request.POST)
        if form.is_valid():
            try:
                services.settings_save(
                    actor=actor,
                    program=program,
                    absence_alert_threshold=form.cleaned_data["absence_alert_threshold"],
                    partial_week_policy=form.cleaned_data["partial_week_policy"],
                    base_version=form.cleaned_data["version"],
                    now=now(),
                )
            except services.ConfigConflict as error:
                conflict = error
                data = request.POST.copy()
                data["version"] = str(error.current_version)
                form = SettingsForm(data)
                form.is_valid()
                form.add_error(None, error.message)
            except ServiceError as error:
                _put_problems(form, error)
            else:
                messages.success(request, f"Attendance settings for {program.name} saved.")
                return redirect("attendance:settings")
    else:
        form = SettingsForm(
            initial={
                "absence_alert_threshold": (
                    row.absence_alert_threshold if row else DEFAULT_ABSENCE_THRESHOLD
                ),
                "partial_week_policy": (
                    row.partial_week_policy if row else DEFAULT_PARTIAL_WEEK_POLICY
                ),
                "version": row.version if row else 0,
            }
        )
    return render(
        request,
        "attendance/settings_program.html",
        {
            "form": form,
            "program": program,
            "row": row,
            "conflict": conflict,
            "conflict_rows": _config_conflict_rows(form, conflict),
        },
        status=409 if conflict else 422 if form.errors else 200,
    )


@staff(Perm.ORG_MANAGE)
def requirement_edit(request: HttpRequest, public_id: UUID | None = None) -> HttpResponse:
    """Add a weekly hour minimum for everyone, a plan type, a payer or a program, or
    change (or retire) one."""
    actor = actor_of(request)
    requirement = None
    if public_id is not None:
        requirement = selectors.org_requirement_get(actor=actor, public_id=public_id)
        if requirement is None:
            raise _refuse(request, "hour_requirement", public_id)
    programs, payers = selectors.org_programs(actor), selectors.org_payers(actor)
    conflict: services.ConfigConflict | None = None
    if request.method == "POST":
        form = RequirementForm(request.POST, programs=programs, payers=payers)
        if form.is_valid():
            try:
                saved = services.requirement_save(
                    actor=actor,
                    requirement=requirement,
                    data=form.data_input(),
                    base_version=form.cleaned_data["version"],
                    submission_token=form.cleaned_data["submission_token"],
                    now=now(),
                )
            except services.ConfigConflict as error:
                conflict = error
                data = request.POST.copy()
                data["version"] = str(error.current_version)
                form = RequirementForm(data, programs=programs, payers=payers)
                form.is_valid()
                form.add_error(None, error.message)
            except ServiceError as error:
                _put_problems(form, error)
            else:
                messages.success(request, f"Hour requirement “{saved.label}” saved.")
                return redirect("attendance:settings")
    elif requirement is not None:
        form = RequirementForm(
            initial={
                "label": requirement.label,
                "code": requirement.code,
                "scope": requirement.scope,
                "program": str(requirement.program.public_id) if requirement.program else "",
                "payer": str(requirement.payer.public_id) if requirement.payer else "",
                "plan_type": requirement.plan_type,
                "adult_min_hours": requirement.adult_min_hours,
                "adolescent_min_hours": requirement.adolescent_min_hours,
                "min_days": requirement.min_days,
                "source": requirement.source,
                "is_active": requirement.is_active,
                "version": requirement.version,
            },
            programs=programs,
            payers=payers,
        )
    else:
        form = RequirementForm(programs=programs, payers=payers)
    return render(
        request,
        "attendance/requirement.html",
        {
            "form": form,
            "requirement": requirement,
            "conflict": conflict,
            "conflict_rows": _config_conflict_rows(form, conflict),
        },
        status=409 if conflict else 422 if form.errors else 200,
    )
