"""A small scheduled world on top of conftest's: a room, a Mon/Tue/Thu morning track in
program A with a topic cycle and a weekly template."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal

from openiop.scheduling import services
from openiop.scheduling.models import Room, SessionTemplate, Topic, Track, TrackTopic

MONDAY = date(2030, 3, 4)  # a Monday well in the future; tests pass `today` explicitly


@dataclass
class Sched:
    room: Room
    small_room: Room
    track: Track
    topics: list[Topic]
    template: SessionTemplate


def make_track(world, *, name: str = "Morning SUD", max_group_size: int = 12) -> Track:  # type: ignore[no-untyped-def]
    return Track.objects.create(
        program=world.program_a,
        name=name,
        kind="day_sud",
        population="adult",
        weekdays="013",
        day_start=time(9, 0),
        day_end=time(12, 0),
        min_hours_per_week=Decimal("9"),
        min_days_per_week=3,
        max_group_size=max_group_size,
        typical_weeks=8,
    )


def make_sched(world, *, valid_from: date = MONDAY) -> Sched:  # type: ignore[no-untyped-def]
    site = world.program_a.site
    room = Room.objects.create(site=site, name="Group room 1", capacity=14)
    small = Room.objects.create(site=site, name="Office 2", capacity=3)
    track = make_track(world)
    topics = [
        Topic.objects.create(organization=world.org, name=n, duration_minutes=180)
        for n in ("Relapse prevention", "Coping with cravings", "Identifying triggers")
    ]
    TrackTopic.objects.bulk_create(
        [TrackTopic(track=track, topic=t, position=i) for i, t in enumerate(topics)]
    )
    template = services.template_create(
        actor=world.dana,
        track=track,
        data=services.TemplateInput(
            name="Morning group",
            weekdays="013",
            start_time=time(9, 0),
            end_time=time(12, 0),
            room=room,
            facilitator=world.alice,
            co_facilitator=None,
            topic=None,
            capacity=12,
            valid_from=valid_from,
            valid_until=None,
        ),
    )
    return Sched(room, small, track, topics, template)
