"""Laying events out on a week or day grid: pure, no ORM, no clock.

The grid has one row per SLOT_MINUTES from FIRST_HOUR to LAST_HOUR. The page's CSS
(scheduling/calendar.css, no inline styles under the CSP) has classes for each row
start/end (`rs-N`, `re-N`), lane (`ln-N`) and lane count (`lanes-N`), so an event's
position is a handful of class names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Generic, TypeVar

SLOT_MINUTES = 15
FIRST_HOUR = 7
LAST_HOUR = 22
ROWS = (LAST_HOUR - FIRST_HOUR) * 60 // SLOT_MINUTES
MAX_LANES = 6

T = TypeVar("T")


@dataclass
class Placed(Generic[T]):
    item: T
    start: datetime
    end: datetime
    row_start: int
    row_end: int
    lane: int = 1
    clipped: bool = False
    hidden: bool = False  # beyond the lanes side by side: listed, not drawn on the grid
    to_end: bool = False  # last lane of its overlap group: widened to the column's edge

    @property
    def short(self) -> bool:
        """Too short for two lines of text (30 minutes or less)."""
        return self.row_end - self.row_start <= 2


@dataclass
class DayColumn(Generic[T]):
    day: date
    placed: list[Placed[T]] = field(default_factory=list)
    lanes: int = 1
    closed: str = ""
    more: int = 0  # events not drawn on the grid (too many at once); the agenda lists them


def _row(moment: datetime, day: date) -> int:
    """Grid line (1-based) for a local time, clamped to the grid."""
    minutes = (moment.date() - day).days * 24 * 60 + moment.hour * 60 + moment.minute
    line = (minutes - FIRST_HOUR * 60) // SLOT_MINUTES + 1
    return max(1, min(ROWS + 1, line))


def layout(
    days: list[date],
    events: list[tuple[T, datetime, datetime]],
    max_lanes: int = MAX_LANES,
) -> list[DayColumn[T]]:
    """Put each (item, local start, local end) in its day's column, with overlapping
    events side by side in at most `max_lanes` lanes; events beyond them are marked
    hidden and counted in the column's `more` (the page lists them)."""
    columns = {d: DayColumn[T](d) for d in days}
    for item, start, end in sorted(events, key=lambda e: (e[1], e[2])):
        column = columns.get(start.date())
        if column is None:
            continue
        rs, re_ = _row(start, start.date()), _row(end, start.date())
        clipped = rs == re_ or re_ - rs < 1
        if re_ <= rs:
            rs, re_ = (min(rs, ROWS), min(rs, ROWS) + 1)
        column.placed.append(Placed(item, start, end, rs, re_, clipped=clipped))
    for column in columns.values():
        _assign_lanes(column, min(max_lanes, MAX_LANES))
    return [columns[d] for d in days]


def _assign_lanes(column: DayColumn[T], max_lanes: int) -> None:
    lane_ends: list[int] = []
    group: list[Placed[T]] = []
    group_end = 0

    def close(group: list[Placed[T]], lanes: int) -> None:
        # The last lane of a group narrower than the column takes the remaining width.
        for p in group:
            p.to_end = p.lane == min(lanes, max_lanes)

    for p in column.placed:
        if group and p.row_start >= group_end:
            close(group, len(lane_ends))
            lane_ends = []
            group = []
        for i, end in enumerate(lane_ends):
            if end <= p.row_start:
                p.lane = i + 1
                lane_ends[i] = p.row_end
                break
        else:
            lane_ends.append(p.row_end)
            p.lane = len(lane_ends)
        group.append(p)
        group_end = max(group_end, p.row_end)
        column.lanes = min(max_lanes, max(column.lanes, len(lane_ends)))
    close(group, len(lane_ends))
    for p in column.placed:
        if p.lane > max_lanes:
            p.hidden = True
            column.more += 1


def hour_labels() -> list[tuple[int, str]]:
    """(grid line, 'HH:00') for each hour on the grid."""
    return [
        ((h - FIRST_HOUR) * 60 // SLOT_MINUTES + 1, f"{h:02d}:00")
        for h in range(FIRST_HOUR, LAST_HOUR)
    ]


def week_days(anchor: date) -> list[date]:
    start = anchor - timedelta(days=anchor.weekday())
    return [start + timedelta(days=i) for i in range(7)]


def css() -> str:
    """The generated part of scheduling/calendar.css (python -m openiop.scheduling.calendar)."""
    lines = [f".cal-day, .cal-times {{ grid-template-rows: repeat({ROWS}, var(--slot)); }}"]
    lines += [f".rs-{i} {{ grid-row-start: {i}; }}" for i in range(1, ROWS + 2)]
    lines += [f".re-{i} {{ grid-row-end: {i}; }}" for i in range(1, ROWS + 2)]
    lines += [f".ln-{i} {{ grid-column: {i}; }}" for i in range(1, MAX_LANES + 1)]
    lines += [
        f".lanes-{i} {{ grid-template-columns: repeat({i}, minmax(0, 1fr)); }}"
        for i in range(1, MAX_LANES + 1)
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.stdout.write(css())
