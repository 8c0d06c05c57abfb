"""Reads of attendance: the roster screen, the daily census, weekly compliance (for the
chart, the census and the per-track report), each in a fixed number of queries
whatever the number of patients or the years of history (asserted in tests)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from uuid import UUID

from django.db.models import Q

from openiop.accounts.models import User
from openiop.alerts.models import Alert, AlertKind, AlertStatus
from openiop.attendance import rules
from openiop.attendance.models import (
    DEFAULT_ABSENCE_THRESHOLD,
    DEFAULT_PARTIAL_WEEK_POLICY,
    AttendanceRecord,
    AttendanceSettings,
    AttendanceSheet,
    HourRequirement,
    OutreachAttempt,
    SessionVisitor,
)
from openiop.audit.models import AuditAction
from openiop.audit.services import AuditEntry, audit_record_many
from openiop.episodes.models import Episode, EpisodeStatus
from openiop.organizations.models import Payer, Program
from openiop.patients.models import Coverage, CoverageStatus, Patient
from openiop.scheduling.models import (
    Appointment,
    CancelledBy,
    Enrolment,
    GroupSession,
    SessionStatus,
    Track,
)
from openiop.scheduling.selectors import RosterEntry, rosters, sessions_on_day

# --- Scope -------------------------------------------------------------------------------


def programs_for(actor: User) -> list[Program]:
    return list(
        Program.objects.filter(memberships__user=actor, site__organization_id=actor.org_id)
        .select_related("site")
        .order_by("name")
    )


def session_get_for_user(*, actor: User, public_id: UUID) -> GroupSession | None:
    """A group session of one of the actor's programs, else None (the view answers 404)."""
    return (
        GroupSession.objects.filter(
            public_id=public_id,
            program__memberships__user=actor,
            program__site__organization_id=actor.org_id,
        )
        .select_related("track", "program", "room__site", "facilitator", "topic")
        .first()
    )


def appointment_get_for_user(*, actor: User, public_id: UUID) -> Appointment | None:
    return (
        Appointment.objects.filter(
            public_id=public_id,
            program__memberships__user=actor,
            program__site__organization_id=actor.org_id,
        )
        .select_related("patient", "program", "staff")
        .first()
    )


def tracks_for(actor: User) -> list[Track]:
    return list(
        Track.objects.filter(
            program__memberships__user=actor, program__site__organization_id=actor.org_id
        )
        .select_related("program")
        .order_by("program__name", "name")
    )


def audit_listed(
    *, actor: User, patients: Iterable[Patient], object_type: str, detail: dict[str, object]
) -> None:
    """One read row per patient shown (in one locked insert), as search does."""
    seen: dict[int, Patient] = {}
    for p in patients:
        seen.setdefault(p.pk, p)
    if not seen:
        return
    audit_record_many(
        actor=actor,
        entries=[
            AuditEntry(
                action=AuditAction.READ,
                patient=p,
                object_type=object_type,
                object_id=str(p.public_id),
                detail=detail,
            )
            for p in seen.values()
        ],
    )


# --- Weekly compliance for many patients ---------------------------------------------------


@dataclass
class PatientWeek:
    """Who, in which track, and how their week stands."""

    patient: Patient
    episode: Episode | None
    track: Track
    compliance: rules.WeekCompliance


def _settings_by_program(program_ids: set[int]) -> dict[int, AttendanceSettings]:
    return {s.program_id: s for s in AttendanceSettings.objects.filter(program_id__in=program_ids)}


def compliance_for_enrolments(
    *, enrolments: Sequence[Enrolment], week: date, organization_id: int
) -> dict[int, PatientWeek]:
    """Each enrolled patient's week (key: patient pk), in 7 queries for any number.

    `enrolments` carry their patient and episode (select_related). A patient with
    two enrolments in the week (a track change) is judged in the later track, enrolled
    from the earlier start."""
    start = rules.week_start(week)
    end = start + timedelta(days=7)
    by_patient: dict[int, list[Enrolment]] = defaultdict(list)
    for e in enrolments:
        by_patient[e.patient_id].append(e)
    if not by_patient:
        return {}
    patient_ids = list(by_patient)
    # Tracks in one query: callers' enrolments need not carry them (rosters don't).
    tracks = {t.pk: t for t in Track.objects.filter(pk__in={e.track_id for e in enrolments})}
    track_ids = set(tracks)
    program_ids = {t.program_id for t in tracks.values()}
    services: dict[int, list[rules.Service]] = defaultdict(list)
    for pid, on, minutes in AttendanceRecord.objects.filter(
        patient_id__in=patient_ids, on__gte=start, on__lt=end, minutes_attended__gt=0
    ).values_list("patient_id", "on", "minutes_attended"):
        services[pid].append(rules.Service(on, minutes))
    cancelled_sessions = list(
        GroupSession.objects.filter(
            track_id__in=track_ids,
            on__gte=start,
            on__lt=end,
            status=SessionStatus.CANCELLED,
            cancelled_by=CancelledBy.PROGRAM,
        ).values_list("track_id", "on", "starts_at", "ends_at")
    )
    cancelled: dict[int, list[rules.Service]] = defaultdict(list)
    for pid, on, st, en in Appointment.objects.filter(
        patient_id__in=patient_ids,
        on__gte=start,
        on__lt=end,
        status=SessionStatus.CANCELLED,
        cancelled_by=CancelledBy.PROGRAM,
    ).values_list("patient_id", "on", "starts_at", "ends_at"):
        cancelled[pid].append(rules.Service(on, int((en - st).total_seconds() // 60)))
    payers: dict[int, set[int]] = defaultdict(set)
    plans: dict[int, set[str]] = defaultdict(set)
    for pid, payer_id, plan in (
        Coverage.objects.filter(patient_id__in=patient_ids, status=CoverageStatus.ACTIVE)
        .filter(effective_start__lt=end)
        .filter(Q(effective_end__isnull=True) | Q(effective_end__gte=start))
        .values_list("patient_id", "payer_id", "plan_type")
    ):
        if payer_id:
            payers[pid].add(payer_id)
        plans[pid].add(plan)
    configured = [
        r.as_configured()
        for r in HourRequirement.objects.filter(organization_id=organization_id, is_active=True)
    ]
    settings = _settings_by_program(program_ids)
    out: dict[int, PatientWeek] = {}
    for pid, rows in by_patient.items():
        rows.sort(key=lambda e: (e.start_on, e.pk))
        latest = rows[-1]
        track = tracks[latest.track_id]
        enrolled_from = rows[0].start_on
        enrolled_until = None if any(e.ended_on is None for e in rows) else latest.ended_on
        program_cancelled = list(cancelled[pid]) + [
            rules.Service(on, int((en - st).total_seconds() // 60))
            for tid, on, st, en in cancelled_sessions
            if tid in {r.track_id for r in rows}
            and any(r.start_on <= on and (r.ended_on is None or on < r.ended_on) for r in rows)
        ]
        patient = latest.patient
        facts = rules.WeekFacts(
            week_start=start,
            services=services[pid],
            program_cancelled=program_cancelled,
            enrolled_from=enrolled_from,
            enrolled_until=enrolled_until,
            track_weekdays=frozenset(int(d) for d in track.weekdays if d.isdigit()),
            adolescent=rules.is_adolescent(
                date_of_birth=patient.date_of_birth, on=start, track_population=track.population
            ),
        )
        track_rule = rules.HourRule(
            code="track",
            label=f"Track ({track.name})",
            adult_hours=track.min_hours_per_week,
            adolescent_hours=track.min_hours_per_week,
            min_days=track.min_days_per_week,
            source="The track's own minimum (scheduling)",
        )
        episode = latest.episode
        chosen = rules.rules_for(
            configured=configured,
            program_id=track.program_id,
            level_of_care=episode.level_of_care if episode else "",
            payer_ids=frozenset(payers[pid]),
            plan_types=frozenset(plans[pid]),
            track_rule=track_rule,
        )
        program_settings = settings.get(track.program_id)
        out[pid] = PatientWeek(
            patient=patient,
            episode=episode,
            track=track,
            compliance=rules.week_compliance(
                facts=facts,
                rules=chosen,
                partial_week_policy=(
                    program_settings.partial_week_policy
                    if program_settings
                    else DEFAULT_PARTIAL_WEEK_POLICY
                ),
            ),
        )
    return out


def _enrolments_in_week(q: Q, week: date) -> list[Enrolment]:
    start = rules.week_start(week)
    end = start + timedelta(days=7)
    return list(
        Enrolment.objects.filter(q, start_on__lt=end)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=start))
        .exclude(end_reason=Enrolment.EndReason.ENTERED_IN_ERROR)
        .select_related("patient", "episode", "track")
    )


# --- Roster screen -------------------------------------------------------------------------


@dataclass
class RosterLine:
    patient: Patient
    record: AttendanceRecord | None
    walk_in: bool
    # What the form shows: the saved mark, or what was typed when a save was refused.
    status: str = ""
    late_minutes: str = ""
    left_early_minutes: str = ""
    minutes_attended: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    changed: bool = False
    current: str = ""  # for a conflict: what is now saved


@dataclass
class Roster:
    session: GroupSession
    sheet: AttendanceSheet | None
    lines: list[RosterLine]
    visitors: list[SessionVisitor]
    duration: int
    candidates: list[Patient]  # walk-ins the facilitator may add

    @property
    def version(self) -> int:
        return self.sheet.version if self.sheet else 0


def roster_get(*, session: GroupSession) -> Roster:
    """The roster screen: rostered patients with their marks, walk-ins, visitors, and the
    program's other patients that may be added as walk-ins (5 queries)."""
    entries = rosters([session])[session.pk]
    records = {
        r.patient_id: r
        for r in AttendanceRecord.objects.filter(session=session).select_related("patient")
    }
    sheet = AttendanceSheet.objects.filter(session=session).select_related("saved_by").first()
    visitors = list(SessionVisitor.objects.filter(session=session))
    rostered = {e.patient.pk for e in entries}
    lines = [RosterLine(e.patient, records.get(e.patient.pk), False) for e in entries]
    lines += [RosterLine(r.patient, r, True) for pid, r in records.items() if pid not in rostered]
    for line in lines:
        if line.record is not None:
            line.status = line.record.status
            line.late_minutes = str(line.record.late_minutes or "")
            line.left_early_minutes = str(line.record.left_early_minutes or "")
            line.minutes_attended = str(line.record.minutes_attended)
    present = {line.patient.pk for line in lines}
    candidates = [
        e.patient
        for e in Episode.objects.filter(
            program_id=session.program_id, status__in=["referred", "screening", "active"]
        )
        .select_related("patient")
        .order_by("patient__legal_family_name", "patient__legal_given_name")
        if e.patient.pk not in present
    ]
    return Roster(
        session=session,
        sheet=sheet,
        lines=lines,
        visitors=visitors,
        duration=int((session.ends_at - session.starts_at).total_seconds() // 60),
        candidates=candidates,
    )


# --- Census ------------------------------------------------------------------------------


@dataclass
class CensusLine:
    patient: Patient
    record: AttendanceRecord | None
    week: PatientWeek | None

    @property
    def arrived(self) -> bool:
        return self.record is not None and self.record.attended

    @property
    def missing(self) -> bool:
        return self.record is None or not self.record.attended

    @property
    def walk_in(self) -> bool:
        return self.record is not None and self.record.walk_in

    @property
    def track_result(self) -> rules.RuleResult | None:
        """This week's result against the track's own minimum (what the census shows)."""
        if self.week is None:
            return None
        return next((r for r in self.week.compliance.results if r.code == "track"), None)


@dataclass
class CensusSession:
    session: GroupSession
    lines: list[CensusLine]

    @property
    def expected(self) -> int:
        return len(self.lines)

    @property
    def arrived(self) -> int:
        return sum(1 for line in self.lines if line.arrived)


@dataclass
class CensusTrack:
    track: Track
    sessions: list[CensusSession]


@dataclass
class Census:
    day: date
    tracks: list[CensusTrack]
    patients: list[Patient]
    expected: int
    arrived: int

    @property
    def missing(self) -> int:
        return self.expected - self.arrived


def census(*, actor: User, day: date, program_ids: Sequence[int]) -> Census:
    """Everyone expected on a day per track and session, who has arrived and who is
    missing (with their phone), and each patient's hours this week (9 queries)."""
    sessions = [s for s in sessions_on_day(day=day, program_ids=program_ids) if not s.is_cancelled]
    roster = rosters(sessions)
    records: dict[tuple[int, int], AttendanceRecord] = {
        (r.session_id, r.patient_id): r  # type: ignore[misc]
        for r in AttendanceRecord.objects.filter(session__in=sessions).select_related("patient")
    }
    entries: dict[int, RosterEntry] = {}
    for roster_lines in roster.values():
        for entry in roster_lines:
            entries.setdefault(entry.patient.pk, entry)
    weeks = (
        compliance_for_enrolments(
            enrolments=[e.enrolment for e in entries.values()],
            week=day,
            organization_id=actor.org_id,
        )
        if entries
        else {}
    )
    by_track: dict[int, CensusTrack] = {}
    walk_in_patients: dict[int, Patient] = {}
    expected = arrived = 0
    for s in sessions:
        lines = [
            CensusLine(e.patient, records.get((s.pk, e.patient.pk)), weeks.get(e.patient.pk))
            for e in roster[s.pk]
        ]
        on_roster = {e.patient.pk for e in roster[s.pk]}
        walk_ins = [
            CensusLine(r.patient, r, None)
            for (session_id, patient_id), r in records.items()
            if session_id == s.pk and patient_id not in on_roster
        ]
        walk_ins.sort(key=lambda line: (line.patient.legal_family_name, line.patient.pk))
        lines.extend(walk_ins)
        for line in walk_ins:
            walk_in_patients.setdefault(line.patient.pk, line.patient)
        cs = CensusSession(s, lines)
        expected += cs.expected
        arrived += cs.arrived
        by_track.setdefault(s.track_id, CensusTrack(s.track, [])).sessions.append(cs)
    return Census(
        day=day,
        tracks=list(by_track.values()),
        patients=[e.patient for e in entries.values()]
        + [p for pk, p in walk_in_patients.items() if pk not in entries],
        expected=expected,
        arrived=arrived,
    )


# --- Weekly report per track ----------------------------------------------------------------


@dataclass
class TrackWeek:
    track: Track
    week: date
    rows: list[PatientWeek]
    rule_codes: list[tuple[str, str]]

    @property
    def met(self) -> int:
        return sum(1 for r in self.rows if r.compliance.all_met)


def track_week_report(*, track: Track, week: date, organization_id: int) -> TrackWeek:
    """Every patient enrolled in a track during a week, with hours, days and each rule
    (8 queries for any number of patients)."""
    start = rules.week_start(week)
    enrolments = _enrolments_in_week(Q(track=track), start)
    weeks = compliance_for_enrolments(
        enrolments=enrolments, week=start, organization_id=organization_id
    )
    rows = sorted(
        (w for w in weeks.values() if w.track.pk == track.pk),
        key=lambda w: (w.patient.legal_family_name, w.patient.legal_given_name, w.patient.pk),
    )
    codes: dict[str, str] = {}
    for row in rows:
        for result in row.compliance.results:
            codes.setdefault(result.code, result.label if result.code != "track" else "Track")
    return TrackWeek(track=track, week=start, rows=rows, rule_codes=list(codes.items()))


# --- Chart ---------------------------------------------------------------------------------

RECENT = 10


@dataclass
class ChartAttendance:
    week: PatientWeek | None
    recent: list[AttendanceRecord]
    disengagement: list[Alert]
    outreach: list[OutreachAttempt]
    missed_streak: int
    to_mark: list[Appointment] = field(default_factory=list)


def chart_attendance(*, patient: Patient, today: date) -> ChartAttendance:
    """This week's hours against the rules, recent attendance and outreach, and open
    disengagement alerts, appointments to mark (12 queries, whatever the history)."""
    enrolments = _enrolments_in_week(Q(patient=patient), today)
    weeks = compliance_for_enrolments(
        enrolments=enrolments, week=today, organization_id=patient.organization_id
    )
    recent = list(
        AttendanceRecord.objects.filter(patient=patient)
        .select_related("session__track", "appointment")
        .order_by("-on", "-id")[:RECENT]
    )
    alerts = list(
        Alert.objects.filter(
            patient=patient, kind=AlertKind.DISENGAGEMENT, status=AlertStatus.OPEN
        ).order_by("-raised_at")
    )
    outreach = list(OutreachAttempt.objects.filter(patient=patient).select_related("made_by")[:5])
    # Appointments of the last two weeks (and today) not yet marked kept or missed.
    to_mark = list(
        Appointment.objects.filter(
            patient=patient,
            on__gte=today - timedelta(days=14),
            on__lte=today,
            status=SessionStatus.SCHEDULED,
            attendance_records__isnull=True,
        )
        .select_related("staff")
        .order_by("starts_at")
    )
    return ChartAttendance(
        to_mark=to_mark,
        week=weeks.get(patient.pk),
        recent=recent,
        disengagement=alerts,
        outreach=outreach,
        missed_streak=rules.trailing_unexcused([r.status for r in reversed(recent)]),
    )


# --- Director dashboard ------------------------------------------------------------------


@dataclass
class DashboardAttendance:
    alerts: list[Alert]
    tracks: list[tuple[Track, int, int]]  # track, patients, meeting all rules
    week: date


def dashboard_attendance(*, actor: User, today: date) -> DashboardAttendance:
    """Open disengagement alerts in the director's programs and this week's compliance
    per track so far (a fixed number of queries)."""
    program_ids = [p.pk for p in programs_for(actor)]
    alerts = list(
        Alert.objects.filter(
            kind=AlertKind.DISENGAGEMENT,
            status=AlertStatus.OPEN,
            patient__episodes__program_id__in=program_ids,
        )
        .select_related("patient")
        .distinct()
        .order_by("-raised_at")[:50]
    )
    enrolments = _enrolments_in_week(Q(track__program_id__in=program_ids), today)
    weeks = compliance_for_enrolments(
        enrolments=enrolments, week=today, organization_id=actor.org_id
    )
    counts: dict[int, list[int]] = {}
    tracks: dict[int, Track] = {}
    for w in weeks.values():
        tracks[w.track.pk] = w.track
        c = counts.setdefault(w.track.pk, [0, 0])
        c[0] += 1
        c[1] += 1 if w.compliance.all_met else 0
    rows = [(tracks[k], v[0], v[1]) for k, v in counts.items()]
    rows.sort(key=lambda r: r[0].name)
    return DashboardAttendance(alerts=alerts, tracks=rows, week=rules.week_start(today))


def absence_threshold(program_id: int) -> int:
    s = AttendanceSettings.objects.filter(program_id=program_id).first()
    return s.absence_alert_threshold if s else DEFAULT_ABSENCE_THRESHOLD


# --- Configuration -----------------------------------------------------------------------


def org_programs(actor: User) -> list[Program]:
    """The actor's organization's programs with their attendance settings (one query)."""
    return list(
        Program.objects.filter(site__organization_id=actor.org_id)
        .select_related("site", "attendance_settings", "attendance_settings__updated_by")
        .order_by("name")
    )


def org_payers(actor: User) -> list[Payer]:
    return list(Payer.objects.filter(organization_id=actor.org_id).order_by("name"))


def org_requirements(actor: User) -> list[HourRequirement]:
    return list(
        HourRequirement.objects.filter(organization_id=actor.org_id)
        .select_related("program", "payer", "updated_by")
        .order_by("-is_active", "code", "scope", "id")
    )


def org_program_get(*, actor: User, public_id: UUID) -> Program | None:
    return (
        Program.objects.filter(site__organization_id=actor.org_id, public_id=public_id)
        .select_related("site")
        .first()
    )


def org_requirement_get(*, actor: User, public_id: UUID) -> HourRequirement | None:
    return (
        HourRequirement.objects.filter(organization_id=actor.org_id, public_id=public_id)
        .select_related("program", "payer", "updated_by")
        .first()
    )


# --- Walk-in check-in ----------------------------------------------------------------------

WALK_IN_LIMIT = 20


@dataclass
class WalkInCandidate:
    patient: Patient
    sessions: list[GroupSession]  # the day's sessions of the patient's programs


def walk_in_candidates(
    *, actor: User, day: date, program_ids: Sequence[int], query: str
) -> list[WalkInCandidate]:
    """Patients with an open episode in the given programs (the actor's) whose name or
    MRN matches, each with the day's sessions they could join (4 queries). Patients
    already marked at every one of those sessions are left out."""
    tokens = [t for t in query.split() if t]
    if not tokens or not program_ids:
        return []
    qs = Episode.objects.filter(
        program_id__in=list(program_ids),
        status__in=[EpisodeStatus.REFERRED, EpisodeStatus.SCREENING, EpisodeStatus.ACTIVE],
        patient__organization_id=actor.org_id,
    )
    for token in tokens:
        qs = qs.filter(Q(patient__search_name__icontains=token) | Q(patient__mrn__iexact=token))
    episodes = list(
        qs.select_related("patient").order_by(
            "patient__legal_family_name", "patient__legal_given_name", "patient_id"
        )[: WALK_IN_LIMIT * 3]
    )
    if not episodes:
        return []
    sessions = [
        s
        for s in sessions_on_day(day=day, program_ids={e.program_id for e in episodes})
        if not s.is_cancelled
    ]
    marked = set(
        AttendanceRecord.objects.filter(
            session__in=sessions, patient_id__in={e.patient_id for e in episodes}
        ).values_list("session_id", "patient_id")
    )
    by_patient: dict[int, WalkInCandidate] = {}
    for e in episodes:
        candidate = by_patient.setdefault(e.patient_id, WalkInCandidate(e.patient, []))
        for s in sessions:
            free = s.program_id == e.program_id and (s.pk, e.patient_id) not in marked
            if free and s not in candidate.sessions:
                candidate.sessions.append(s)
    return [c for c in by_patient.values() if c.sessions][:WALK_IN_LIMIT]
