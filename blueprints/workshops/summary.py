"""One workshop at a glance: its members, activities and outcomes gathered from the sheets.

Used by the detail page, the list, the trainee's dashboard widget and the trainee profile
section, so they all count the same way. Reads through the engine; no Flask.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import rules


@dataclass
class WorkshopSummary:
    """A workshop with its rows and the figures the pages show."""

    workshop: Any
    members: list[Any] = field(default_factory=list)
    activities: list[Any] = field(default_factory=list)
    current_members: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    brought_on: int = 0
    totals: rules.ActivityTotals = field(default_factory=rules.ActivityTotals)


# more workshops than this are summarised from one pass over the member and activity sheets
_WHOLE_SHEETS = 100


def _by_workshop(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for r in rows:
        out.setdefault(str(r.get("workshop") or ""), []).append(r)
    return out


def _day_key(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else dt.date.min


SUMMARY_SHEETS = ("workshops", "workshop_members", "workshop_activities")


def summarize(db: Any, workshops: Iterable[Any]) -> list[WorkshopSummary]:
    """Summaries of ``workshops`` (in their order): their members and activities only.

    Computed once per state of the three workshop sheets and shared between requests
    (``Database.cached``): read them, never change them."""
    workshops = list(workshops)
    key = ("workshops.summaries", tuple(w.id for w in workshops), db.today(), db.choices("member_outcomes"))
    return list(db.cached(key, SUMMARY_SHEETS, lambda: _summarize(db, workshops)))


def _summarize(db: Any, workshops: list[Any]) -> list[WorkshopSummary]:
    if len(workshops) > _WHOLE_SHEETS:  # many: one pass over each sheet
        members = _by_workshop(db.table("workshop_members").all())
        activities = _by_workshop(db.table("workshop_activities").all())
    else:  # a page or one workshop: read through the sheets' workshop index
        members = {w.id: db.table("workshop_members").where(workshop=w.id) for w in workshops}
        activities = {w.id: db.table("workshop_activities").where(workshop=w.id) for w in workshops}
    kinds = db.choices("member_outcomes")
    today = db.today()
    out = []
    for w in workshops:
        ms = sorted(
            members.get(w.id, []),
            key=lambda m: (m.get("left_on") is not None, _day_key(m.get("joined_on")), m.id),
        )
        acts = sorted(
            activities.get(w.id, []), key=lambda a: (_day_key(a.get("date")), a.id), reverse=True
        )
        counts = rules.outcome_counts(ms, kinds)
        out.append(
            WorkshopSummary(
                workshop=w,
                members=ms,
                activities=acts,
                current_members=sum(1 for m in ms if rules.is_current_member(m, today)),
                outcomes=counts,
                brought_on=rules.principals_brought_on(counts),
                totals=rules.activity_totals(acts),
            )
        )
    return out


def summary_of(db: Any, workshop: Any) -> WorkshopSummary:
    """The summary of one workshop."""
    return summarize(db, [workshop])[0]
