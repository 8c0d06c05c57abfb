"""Demo clinical notes on top of the demo's episodes, appointments and attendance:
signed individual therapy notes (linked to kept appointments where there is one),
medication-management notes by the prescriber, case-management notes, a few drafts for
the worklist, a trainee's note awaiting co-signature, one addendum, one SUD counseling
note, and group notes (shared part once, one note per attendee) for recent past group
sessions that have attendance; the newest of those is left as a draft.

Signed notes carry the same content hash the services compute
(`services.content_fields` -> `rules.content_digest`), so the integrity check passes.
Bulk inserts: a bounded number of queries whatever the number of patients; public ids
come from the seeded generator, so the same seed gives the same rows."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone

from openiop.accounts.models import User
from openiop.attendance.models import AttendanceRecord
from openiop.attendance.rules import ATTENDED
from openiop.episodes.models import Episode, EpisodeStatus
from openiop.notes import rules
from openiop.notes.models import (
    GroupNote,
    Note,
    NoteAddendum,
    NoteEvent,
    NoteFormat,
    NoteKind,
    NoteStatus,
)
from openiop.notes.services import addendum_fields, content_fields, shared_part
from openiop.scheduling.models import Appointment, GroupSession, SessionStatus

INDIVIDUAL = {
    "data": (
        "Reported {days} days without use; attended every group this week.",
        "Described a strong craving after an argument at home; left the situation and called "
        "a peer.",
        "Slept poorly for three nights; mood low in the mornings, better by afternoon.",
        "Returned to part-time work; worried about pay day as a trigger.",
    ),
    "assessment": (
        "Engaged and candid; cravings lower than at admission.",
        "Coping skills used under stress; insight improving.",
        "Mood symptoms persist; no thoughts of harm; motivation steady.",
    ),
    "plan": (
        "Continue IOP three days a week; practise urge surfing daily.",
        "Pay-day plan written with the patient; review next session.",
        "Discuss sleep with the prescriber; continue the thought record.",
    ),
}
MED = {
    "subjective": (
        "Taking buprenorphine as prescribed; no cravings in the last week.",
        "Sertraline since four weeks: sleeping better, some nausea in the morning.",
    ),
    "objective": (
        "Alert, calm, well groomed. No signs of intoxication or withdrawal.",
        "Vitals within normal limits; urine drug screen negative except prescribed.",
    ),
    "assessment": (
        "Stable on the current dose; adherent.",
        "Partial response; side effects tolerable.",
    ),
    "plan": ("Continue; next visit in four weeks.", "Continue; review in two weeks."),
    "medications_reviewed": (
        "Buprenorphine/naloxone 8/2 mg daily; no other medications.",
        "Sertraline 50 mg daily; melatonin 3 mg at night.",
    ),
    "medication_changes": ("None.", "Sertraline increased to 100 mg daily."),
}
CASE = {
    "data": (
        "Housing application submitted with the patient; call from the landlord expected.",
        "Helped apply for SNAP benefits; transport vouchers issued for next week.",
        "Contacted the employer (with the patient's written consent) about a schedule change.",
    ),
    "assessment": (
        "Housing is the main barrier to attending; patient organised and motivated.",
        "Benefits in progress; transport solved for now.",
    ),
    "plan": ("Follow up on Friday.", "Check the application status in one week."),
}
SUD = {
    "data": (
        "Explored the shame that follows each lapse and the family history of drinking in "
        "detail; the patient asked that this stay between us.",
    ),
    "assessment": ("Working through grief; no imminent risk.",),
    "plan": ("Continue weekly individual counseling.",),
}
GROUP_SUMMARY = (
    "Psychoeducation on the craving curve; urge surfing practised twice in the room.",
    "Relapse warning signs: each member listed three and received feedback.",
    "Communication skills: refusing a drink, asking for help, role-plays in pairs.",
    "Managing emotions: the thought record worked through on a recent example.",
)
PARTICIPATION = (
    "Described a craving at a family dinner and how urge surfing helped.",
    "Quiet in the first hour, then shared a conflict with a roommate and practised a script.",
    "Shared a relapse warning sign list and accepted feedback on two items.",
    "Talked about returning to work and the stress of the commute.",
    "Practised the breathing exercise twice; reported mild anxiety and no cravings.",
    "Gave supportive feedback to peers; named Sunday evenings as a risky time.",
    "Reported short sleep; agreed to raise it with the prescriber.",
    "Described a first sober birthday in years and the plan for the evening.",
    "Brought a trigger log and noticed a pattern after certain phone calls.",
    "Role-played refusing a drink at a party; felt more confident afterwards.",
    "Asked for help with a housing form; case manager to follow up.",
    "Reported one use on the weekend and discussed what led to it without judgement.",
)
RESPONSE = (
    "Receptive to feedback; used the skill in the room.",
    "Engaged once the topic turned to work; asked good questions.",
    "Needed prompting at first, then participated fully.",
    "Open and reflective; supported two peers.",
)
PROGRESS = (
    "Progress toward the abstinence objective: {days} days.",
    "Uses the coping card without prompting; objective on track.",
    "Attendance objective met this week.",
    "Mood objective: slow progress, PHQ-9 to be repeated next week.",
)


def _at(day: date, clock: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, clock))


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _pick(rng: random.Random, options: Mapping[str, tuple[str, ...]], **fmt: Any) -> dict[str, str]:
    return {k: rng.choice(v).format(**fmt) for k, v in options.items()}


def _seal(note: Note, when: datetime) -> None:
    """As services._seal does: the author's signature and the hash of the content."""
    note.signed_at = when
    note.signed_name = note.author.display_name
    note.late_entry = rules.is_late_entry(
        service_ended_at=note.ends_at, signed_at=when, late_after=timedelta(hours=72)
    )
    note.content_sha256 = rules.content_digest(content_fields(note))


def load(*, seed: int, today: date) -> str:
    rng = random.Random(seed * 7331 + 17)  # noqa: S311 (demo data, not security)
    users = {
        u.username: u
        for u in User.objects.select_related("organization").filter(
            username__in=[
                "director",
                "counselor",
                "therapist",
                "prescriber",
                "casemanager",
                "trainee",
            ]
        )
    }
    org = users["director"].organization
    assert org is not None
    episodes = list(
        Episode.objects.filter(program__site__organization=org, status=EpisodeStatus.ACTIVE)
        .select_related("patient", "program", "primary_counselor", "prescriber", "case_manager")
        .order_by("admitted_on", "id")
    )
    if not episodes:
        return "notes: no active episodes"
    kept: dict[tuple[int, str], list[Appointment]] = defaultdict(list)
    for record in (
        AttendanceRecord.objects.filter(
            appointment__program__site__organization=org,
            appointment__on__lt=today,
            appointment__on__gte=today - timedelta(days=21),
            status__in=sorted(ATTENDED),
        )
        .select_related("appointment__staff")
        .order_by("appointment__starts_at", "id")
    ):
        appt = record.appointment
        assert appt is not None
        kept[(appt.patient_id, appt.kind)].append(appt)

    notes: list[Note] = []
    signed_at: dict[int, datetime] = {}  # index in notes -> when signed (None: draft)

    def add(
        episode: Episode,
        kind: str,
        fmt: str,
        author: User,
        sections: dict[str, str],
        *,
        days_ago: int,
        sign: bool = True,
        appt_kinds: tuple[str, ...] = (),
        **extra: Any,
    ) -> Note:
        appt = next(
            (a for k in appt_kinds for a in kept.get((episode.patient_id, k), []) if a.pk),
            None,
        )
        if appt is not None:
            kept[(episode.patient_id, appt.kind)].remove(appt)
            starts, ends = appt.starts_at, appt.ends_at
            author = appt.staff  # who held the appointment writes its note
        else:
            day = today - timedelta(days=days_ago)
            hour = 13 + rng.randint(0, 3)
            starts = _at(day, time(hour, 0))
            ends = starts + timedelta(minutes=rng.choice((45, 50, 55)))
        note = Note(
            public_id=_uuid(rng),
            patient=episode.patient,
            program=episode.program,
            episode=episode,
            kind=kind,
            format=fmt,
            appointment=appt,
            service_date=timezone.localtime(starts).date(),
            starts_at=starts,
            ends_at=ends,
            minutes=rules.minutes_between(starts, ends),
            location=rng.choice(("office", "office", "office", "telehealth")),
            sections=sections,
            author=author,
            **extra,
        )
        if sign:
            signed_at[len(notes)] = min(
                ends + timedelta(hours=rng.randint(1, 20)), _at(today, time(7, 30))
            )
        notes.append(note)
        return note

    counselor, prescriber = users["counselor"], users["prescriber"]
    casemanager, trainee = users["casemanager"], users["trainee"]
    for n, e in enumerate(episodes):
        author = e.primary_counselor or (users["therapist"] if n % 2 else counselor)
        days = (today - e.admitted_on).days if e.admitted_on else 10
        add(
            e,
            NoteKind.INDIVIDUAL,
            rules.DAP,
            author,
            _pick(rng, INDIVIDUAL, days=max(days - 2, 1)),
            days_ago=1 + n % 9,
            appt_kinds=("individual", "family"),
            # Drafts for the worklist: a few recent, one over 72 hours.
            sign=n % 9 not in (0, 4),
        )
        if n % 3 == 0:
            add(
                e,
                NoteKind.MED_MANAGEMENT,
                rules.SOAP,
                e.prescriber or prescriber,
                _pick(rng, MED),
                days_ago=2 + n % 12,
                appt_kinds=("med_management",),
            )
        if n % 4 == 1:
            add(
                e,
                NoteKind.CASE_MANAGEMENT,
                rules.DAP,
                e.case_manager or casemanager,
                _pick(rng, CASE),
                days_ago=1 + n % 6,
                appt_kinds=("case_management",),
            )
    # The trainee's note waits for a supervisor; one SUD counseling note.
    trainee_programs = set(trainee.memberships.values_list("program_id", flat=True))
    for_trainee = next((e for e in episodes if e.program_id in trainee_programs), episodes[0])
    trainee_note = add(
        for_trainee,
        NoteKind.INDIVIDUAL,
        rules.BIRP,
        trainee,
        {
            "behavior": "Arrived on time; tearful when describing the week.",
            "intervention": "Motivational interviewing; reviewed the coping card.",
            "response": "Identified two people to call when cravings rise.",
            "plan": "Meet again next week; practise the breathing exercise daily.",
        },
        days_ago=1,
    )
    sud_episode = episodes[len(episodes) // 2]
    sud_note = add(
        sud_episode,
        NoteKind.INDIVIDUAL,
        rules.DAP,
        sud_episode.primary_counselor or counselor,
        _pick(rng, SUD),
        days_ago=3,
        is_sud_counseling=True,
    )

    # Group notes for the most recent past sessions with attendance.
    sessions = list(
        GroupSession.objects.filter(
            program__site__organization=org,
            on__lt=today,
            on__gte=today - timedelta(days=10),
            status=SessionStatus.SCHEDULED,
        )
        .select_related("track", "topic", "facilitator", "co_facilitator")
        .order_by("-starts_at", "id")[:12]
    )
    attendees: dict[int, list[AttendanceRecord]] = defaultdict(list)
    for record in (
        AttendanceRecord.objects.filter(session__in=sessions, status__in=sorted(ATTENDED))
        .select_related("patient")
        .order_by("patient__legal_family_name", "patient__legal_given_name", "id")
    ):
        assert record.session_id is not None
        attendees[record.session_id].append(record)
    sessions = [s for s in sessions if attendees.get(s.pk) and s.facilitator_id]
    episode_of = {(e.patient_id, e.program_id): e for e in episodes}
    groups: list[GroupNote] = []
    group_signed: dict[int, datetime | None] = {}
    for i, s in enumerate(sessions):
        names = [u.display_name for u in (s.facilitator, s.co_facilitator) if u]
        draft = i == 0  # the newest stays a draft: the worklist shows it
        when = None if draft else s.ends_at + timedelta(hours=rng.randint(1, 6))
        group = GroupNote(
            public_id=_uuid(rng),
            session=s,
            program_id=s.program_id,
            topic=s.topic.name if s.topic else s.track.name,
            curriculum=s.topic,
            facilitators="; ".join(names),
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            summary=GROUP_SUMMARY[i % len(GROUP_SUMMARY)],
            interventions="CBT skills training, guided practice, peer feedback.",
            author=s.facilitator,
            status=NoteStatus.DRAFT if draft else NoteStatus.SIGNED,
            signed_at=when,
        )
        if when is not None:
            group.content_sha256 = rules.content_digest(shared_part(group, s))
        group_signed[len(groups)] = when
        groups.append(group)
    groups = GroupNote.objects.bulk_create(groups)
    group_notes: list[Note] = []
    for gi, (group, s) in enumerate(zip(groups, sessions, strict=True)):
        when = group_signed[gi]
        shared = shared_part(group, s) if when is not None else {}
        order = rng.sample(range(len(PARTICIPATION)), k=len(PARTICIPATION))
        for j, record in enumerate(attendees[s.pk]):
            days = rng.randint(5, 60)
            note = Note(
                public_id=_uuid(rng),
                patient=record.patient,
                program_id=s.program_id,
                episode=episode_of.get((record.patient_id, s.program_id)),
                kind=NoteKind.GROUP,
                format=NoteFormat.GROUP,
                group_note=group,
                service_date=s.on,
                starts_at=group.starts_at,
                ends_at=group.ends_at,
                minutes=record.minutes_attended
                or rules.minutes_between(group.starts_at, group.ends_at),
                sections={
                    "participation": PARTICIPATION[order[j % len(order)]]
                    + (f" (week {j // len(order) + 2} of the program.)" if j >= len(order) else ""),
                    "response": RESPONSE[(j + gi) % len(RESPONSE)],
                    "progress": PROGRESS[(j * 3 + gi) % len(PROGRESS)].format(days=days),
                    "risk": "" if j % 5 else "Denied thoughts of harm.",
                    "plan": "Continue group; review the coping card next session.",
                },
                shared=shared,
                author=group.author,
            )
            if when is not None:
                note.status = NoteStatus.SIGNED
                _seal(note, when)
            group_notes.append(note)

    director = users["director"]
    for index, when in signed_at.items():
        note = notes[index]
        note.cosign_required = note.author.is_trainee
        note.status = NoteStatus.PENDING_COSIGN if note.cosign_required else NoteStatus.SIGNED
        _seal(note, when)
        if note.cosign_required and note is not trainee_note:
            # The trainee's earlier notes: co-signed by the director (their supervisor).
            note.status = NoteStatus.COSIGNED
            note.cosigned_by = director
            note.cosigned_name = director.display_name
            note.cosigned_at = when + timedelta(hours=3)
    created = Note.objects.bulk_create([*notes, *group_notes])
    events = []
    for note in created:
        events.append(
            NoteEvent(
                note=note,
                kind=NoteEvent.Kind.DRAFTED,
                at=note.ends_at + timedelta(minutes=10),
                actor=note.author,
            )
        )
        if note.signed_at is not None:
            events.append(
                NoteEvent(
                    note=note,
                    kind=NoteEvent.Kind.COSIGN_REQUESTED
                    if note.cosign_required
                    else NoteEvent.Kind.SIGNED,
                    at=note.signed_at,
                    actor=note.author,
                    detail={"content_sha256": note.content_sha256, "late_entry": note.late_entry},
                )
            )
        if note.cosigned_at is not None:
            events.append(
                NoteEvent(
                    note=note, kind=NoteEvent.Kind.COSIGNED, at=note.cosigned_at, actor=director
                )
            )
    # One addendum on a signed individual note.
    amended = next(
        n for n in notes if n.status == NoteStatus.SIGNED and n.kind == NoteKind.INDIVIDUAL
    )
    assert amended.signed_at is not None
    addendum = NoteAddendum(
        public_id=_uuid(rng),
        note=amended,
        text="Patient called the next morning: slept well, used the coping card, no use.",
        author=amended.author,
        author_name=amended.author.display_name,
        written_at=amended.signed_at + timedelta(hours=16),
    )
    addendum.content_sha256 = rules.content_digest(addendum_fields(addendum))
    addendum.save()
    events.append(
        NoteEvent(
            note=amended,
            kind=NoteEvent.Kind.ADDENDUM,
            at=addendum.written_at,
            actor=amended.author,
            detail={"addendum": str(addendum.public_id)},
        )
    )
    NoteEvent.objects.bulk_create(events)
    signed = sum(1 for n in created if n.status in rules.LOCKED)
    return (
        f"notes: {len(notes)} individual/med/case notes, {len(group_notes)} group-note copies "
        f"for {len(groups)} sessions ({signed} signed, {len(created) - signed} drafts), "
        f"trainee note {trainee_note.status}, SUD counseling note {sud_note.status}, 1 addendum"
    )
