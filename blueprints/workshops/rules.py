"""Rules of the 名校长工作室: plain functions over records (mappings), no Flask.

- one workshop per trainee (``second_workshop_problem``; ``duplicate_workshops`` finds the
  ones typed straight into the sheet);
- a member leaves on or after the day they joined (``member_dates_problem``; ``bad_member_dates``
  for rows typed into the sheet);
- what the workshop brought on: counts of member outcomes by kind (``outcome_counts``) and the
  number of principals (``principals_brought_on``);
- activity totals (``activity_totals``).

A problem is ``(msgid, params)``: the view translates it (``_(msgid).format(**params)``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mingxiao.sheetdb.types import N_

Problem = tuple[str, dict[str, Any]]

NO_OUTCOME = "暂无"
# Outcomes that make a member a principal the workshop “brought on” (带出的校长): promoted to
# the head post, or recognised as a famous principal. The other kinds (副校长, 获奖…) are growth
# that is counted and shown, but not a new principal.
PRINCIPAL_OUTCOMES: tuple[str, ...] = ("提任校长", "获评名校长")

SECOND_WORKSHOP = N_(
    "每位学员只领衔一个名校长工作室，您已有工作室“{name}”（{id}）。如需修改名称或方向，请编辑已有的工作室。"
)
LEFT_BEFORE_JOINED = N_("退出日期（{left}）不能早于加入日期（{joined}）。")


def _day(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else None


def _live(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in rows if not r.get("voided")]


def workshops_of(
    trainee_id: str, workshops: Iterable[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """The (not voided) workshops led by ``trainee_id``, oldest id first."""
    own = [w for w in _live(workshops) if str(w.get("trainee") or "") == str(trainee_id)]
    return sorted(own, key=lambda w: str(w.get("id") or ""))


def second_workshop_problem(
    trainee_id: str,
    workshops: Iterable[Mapping[str, Any]],
    *,
    exclude_id: str | None = None,
) -> Problem | None:
    """Refuse a workshop for a trainee who already leads one (``exclude_id``: the one being edited)."""
    others = [w for w in workshops_of(trainee_id, workshops) if w.get("id") != exclude_id]
    if not others:
        return None
    first = others[0]
    return SECOND_WORKSHOP, {"name": first.get("name") or "", "id": first.get("id") or ""}


def duplicate_workshops(
    workshops: Iterable[Mapping[str, Any]],
) -> dict[str, list[Mapping[str, Any]]]:
    """Trainee id → their workshops, for every trainee with more than one (typed into the sheet)."""
    by_trainee: dict[str, list[Mapping[str, Any]]] = {}
    for w in _live(workshops):
        trainee = str(w.get("trainee") or "")
        if trainee:
            by_trainee.setdefault(trainee, []).append(w)
    return {
        t: sorted(ws, key=lambda w: str(w.get("id") or ""))
        for t, ws in sorted(by_trainee.items())
        if len(ws) > 1
    }


def member_dates_problem(joined_on: Any, left_on: Any) -> Problem | None:
    """A member cannot leave before joining (the same day is allowed: a one-day guest)."""
    joined, left = _day(joined_on), _day(left_on)
    if joined is None or left is None or left >= joined:
        return None
    return LEFT_BEFORE_JOINED, {"left": left.isoformat(), "joined": joined.isoformat()}


def bad_member_dates(members: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Member rows whose leave date is before their join date."""
    return [m for m in _live(members) if member_dates_problem(m.get("joined_on"), m.get("left_on"))]


def is_current_member(member: Mapping[str, Any], day: dt.date) -> bool:
    """Joined on or before ``day`` and not yet left (the leave day itself still counts)."""
    joined, left = _day(member.get("joined_on")), _day(member.get("left_on"))
    if joined is not None and joined > day:
        return False
    return left is None or left >= day


def outcome_counts(
    members: Iterable[Mapping[str, Any]], kinds: Sequence[str] = ()
) -> dict[str, int]:
    """How many members reached each outcome, in the order of ``kinds`` (the choice list) and
    then any other kind typed into the sheet; members without an outcome (blank, 暂无) are left out."""
    counts: dict[str, int] = {k: 0 for k in kinds if k != NO_OUTCOME}
    for m in _live(members):
        outcome = str(m.get("outcome") or "").strip()
        if outcome and outcome != NO_OUTCOME:
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def principals_brought_on(counts: Mapping[str, int]) -> int:
    """The principals the workshop brought on: members promoted to or recognised as principals."""
    return sum(counts.get(kind, 0) for kind in PRINCIPAL_OUTCOMES)


@dataclass(frozen=True)
class ActivityTotals:
    """How many activities, their hours and the participants they reached (sums)."""

    count: int = 0
    hours: Decimal = Decimal(0)
    participants: int = 0


def activity_totals(activities: Iterable[Mapping[str, Any]]) -> ActivityTotals:
    """Totals of the (not voided) activities; blank hours or participants count as nothing."""
    count, hours, people = 0, Decimal(0), 0
    for a in _live(activities):
        count += 1
        h = a.get("hours")
        if isinstance(h, (int, float, Decimal)) and not isinstance(h, bool):
            hours += Decimal(str(h))
        p = a.get("participants")
        if isinstance(p, int) and not isinstance(p, bool):
            people += p
    return ActivityTotals(count=count, hours=hours, participants=people)
