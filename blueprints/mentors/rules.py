"""Mentor-team rules (导师团队) as plain functions: assignments, mentoring logs, guidance hours.

Every check returns ``{field key: Problem}``; a :data:`Problem` is a Chinese msgid template
marked with ``N_`` plus its parameters, and the UI shows ``_(template).format(**params)`` at
the field it names. Nothing here knows Flask or the database: the views pass rows in.

Assignments (导师分配): each trainee has exactly one lead mentor (主导师) at a time and 0–2
co-mentors (协作导师). An assignment runs from its 开始日期 to its 结束日期 **inclusive**; an
empty 结束日期 means it is still running. So a new lead can start the day after the old one's
end date. Rows typed straight into the sheet are read with the same functions, and
:func:`assignment_problems` reports what the sheet breaks (two leads, no lead, duplicates).

Mentoring logs (导师指导记录) feed the 导师指导费: :func:`guidance_hours` sums the hours per
mentor per period (month, quarter, year or the whole range).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from mingxiao.sheetdb.types import N_

Problem = tuple[str, dict[str, Any]]
"""(Chinese msgid template with ``{placeholders}``, params); the UI does ``_(t).format(**p)``."""

LEAD = "主导师"
CO = "协作导师"
DEFAULT_MAX_CO_MENTORS = 2
# Trainees who still need a lead mentor; the others (淘汰, 结业, 未结业) have finished.
IN_TRAINING = ("在训", "预警")
PERIODS = ("month", "quarter", "year", "all")
OPEN_END = N_("至今")


# ---------------------------------------------------------------------------------- values


def as_date(value: Any) -> dt.date | None:
    """A date from a date or datetime cell; anything else (empty, bad text) is None."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None


def as_hours(value: Any) -> Decimal:
    """A cell's hours as a Decimal (0 for empty or unreadable cells)."""
    if value is None or value == "" or isinstance(value, bool):
        return Decimal(0)
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _iso(day: dt.date | None) -> str:
    return day.isoformat() if day else ""


# ---------------------------------------------------------------------------------- periods


def active_on(row: Mapping[str, Any], day: dt.date) -> bool:
    """True if the assignment ``row`` runs on ``day`` (start and end dates inclusive)."""
    if row.get("voided"):
        return False
    start, end = as_date(row.get("start_date")), as_date(row.get("end_date"))
    if start is not None and day < start:
        return False
    return end is None or day <= end


def overlaps(
    a_start: dt.date | None, a_end: dt.date | None, b_start: dt.date | None, b_end: dt.date | None
) -> bool:
    """True if two inclusive periods share a day; a missing end runs on, a missing start
    began long ago."""
    lo = dt.date.min
    hi = dt.date.max
    return (a_start or lo) <= (b_end or hi) and (b_start or lo) <= (a_end or hi)


def _period_of(row: Mapping[str, Any]) -> tuple[dt.date | None, dt.date | None]:
    return as_date(row.get("start_date")), as_date(row.get("end_date"))


def _span(row: Mapping[str, Any]) -> dict[str, str]:
    start, end = _period_of(row)
    return {"start": _iso(start) or "?", "end": _iso(end) or OPEN_END}


# ---------------------------------------------------------------------------------- assignments


def validate_assignment(
    values: Mapping[str, Any],
    assignments: Iterable[Mapping[str, Any]],
    *,
    mentors: Mapping[str, Mapping[str, Any]] | None = None,
    trainees: Mapping[str, Mapping[str, Any]] | None = None,
    exclude_id: str | None = None,
    max_co: int = DEFAULT_MAX_CO_MENTORS,
) -> dict[str, Problem]:
    """Problems of an assignment (new, or ``exclude_id`` edited) against the stored ones.

    - the trainee and the mentor exist (when ``trainees`` / ``mentors`` are given), and a new
      assignment goes to a mentor who is 在聘;
    - 结束日期 is not before 开始日期;
    - the same mentor does not guide the same trainee twice in overlapping periods;
    - one 主导师 per trainee at a time; at most ``max_co`` 协作导师 in the period.
    """
    problems: dict[str, Problem] = {}
    trainee, mentor = _text(values.get("trainee")), _text(values.get("mentor"))
    role = _text(values.get("role"))
    start, end = as_date(values.get("start_date")), as_date(values.get("end_date"))

    if trainees is not None and trainee and trainee not in trainees:
        problems["trainee"] = (
            N_("找不到学员编号 {trainee}：请从列表中选择学员。"),
            {"trainee": trainee},
        )
    if mentors is not None and mentor:
        row = mentors.get(mentor)
        if row is None:
            problems["mentor"] = (
                N_("找不到导师编号 {mentor}：请从列表中选择导师。"),
                {"mentor": mentor},
            )
        elif exclude_id is None and row.get("active") is False:
            problems["mentor"] = (
                N_(
                    "导师 {name}（{mentor}）已不在聘，不能再分配学员：请另选导师，或先在导师库中把“在聘”改为“是”。"
                ),
                {"name": _text(row.get("name")) or mentor, "mentor": mentor},
            )
    if start is not None and end is not None and end < start:
        problems["end_date"] = (
            N_("“结束日期”（{end}）不能早于“开始日期”（{start}）：请核对日期。"),
            {"end": _iso(end), "start": _iso(start)},
        )
    if not trainee or start is None or "end_date" in problems:
        return problems

    same_trainee = [
        r
        for r in assignments
        if not r.get("voided")
        and _text(r.get("trainee")) == trainee
        and _text(r.get("id")) != (exclude_id or "")
        and overlaps(start, end, *_period_of(r))
    ]
    duplicate = next((r for r in same_trainee if _text(r.get("mentor")) == mentor), None)
    if duplicate is not None and "mentor" not in problems:
        problems["mentor"] = (
            N_(
                "这位导师在 {start} 至 {end} 已经指导这名学员（{id}），同一时段不能重复分配：如需改为主导师或协作导师，请编辑原来的分配。"
            ),
            {"id": _text(duplicate.get("id")), **_span(duplicate)},
        )
    if role == LEAD:
        lead = next((r for r in same_trainee if _text(r.get("role")) == LEAD), None)
        if lead is not None and lead is not duplicate:
            problems["role"] = (
                N_(
                    "这名学员在 {start} 至 {end} 已有主导师 {mentor}（{id}），同一时段只能有一位主导师：请先结束原主导师的分配（新主导师从其结束日期的次日开始），或把本条设为协作导师。"
                ),
                {"mentor": _text(lead.get("mentor")), "id": _text(lead.get("id")), **_span(lead)},
            )
    elif role == CO:
        co = [r for r in same_trainee if _text(r.get("role")) == CO and r is not duplicate]
        if len(co) >= max_co:
            problems["role"] = (
                N_(
                    "这名学员在这段时间已有 {n} 位协作导师（最多 {max} 位）：请先结束其中一位的分配，或调整开始日期。"
                ),
                {"n": len(co), "max": max_co},
            )
    return problems


def lead_to_replace(
    values: Mapping[str, Any], assignments: Iterable[Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    """The running lead assignment a new lead (``values``) would take over from, if any.

    The view ends it on the day before the new one starts (更换主导师), after which
    :func:`validate_assignment` finds no second lead.
    """
    start = as_date(values.get("start_date"))
    if _text(values.get("role")) != LEAD or start is None:
        return None
    trainee = _text(values.get("trainee"))
    for r in assignments:
        if (
            not r.get("voided")
            and _text(r.get("trainee")) == trainee
            and _text(r.get("role")) == LEAD
            and _text(r.get("mentor")) != _text(values.get("mentor"))
            and active_on(r, start)
        ):
            return r
    return None


def handover_end(start: dt.date) -> dt.date:
    """The old lead's last day when a new lead starts on ``start``."""
    return start - dt.timedelta(days=1)


def handover_problem(old_lead: Mapping[str, Any], start: dt.date) -> Problem | None:
    """Why a new lead starting on ``start`` cannot take over from ``old_lead`` (None if it can):
    the old lead's assignment must have begun before the new one starts."""
    old_start = as_date(old_lead.get("start_date"))
    if old_start is not None and handover_end(start) < old_start:
        return (
            N_(
                "新主导师的“开始日期”须晚于原主导师开始指导的日期（{start}）；如原分配是误录，请编辑或结束原分配。"
            ),
            {"start": _iso(old_start)},
        )
    return None


def end_problem(row: Mapping[str, Any], end: dt.date | None) -> Problem | None:
    """Why ``row`` cannot be ended on ``end`` (None if it can)."""
    start, current_end = _period_of(row)
    if end is None:
        return N_("请填写“结束日期”：最后一天指导的日期。"), {}
    if start is not None and end < start:
        return (
            N_("“结束日期”（{end}）不能早于“开始日期”（{start}）：请核对日期。"),
            {"end": _iso(end), "start": _iso(start)},
        )
    if current_end is not None and current_end < end:
        return (
            N_("这条分配已于 {current} 结束；如需延长，请用“编辑”修改结束日期。"),
            {"current": _iso(current_end)},
        )
    return None


@dataclass(frozen=True)
class TeamMember:
    """One mentor of a trainee's team (导师团队) and the assignment behind it."""

    mentor: str
    role: str
    assignment: Mapping[str, Any]

    @property
    def is_lead(self) -> bool:
        return self.role == LEAD


def team_of(
    trainee: str, assignments: Iterable[Mapping[str, Any]], day: dt.date
) -> list[TeamMember]:
    """The mentors guiding ``trainee`` on ``day``: the lead first, then co-mentors by start."""
    rows = [
        r
        for r in assignments
        if _text(r.get("trainee")) == trainee and r.get("mentor") and active_on(r, day)
    ]
    rows.sort(
        key=lambda r: (_text(r.get("role")) != LEAD, as_date(r.get("start_date")) or dt.date.min)
    )
    return [TeamMember(_text(r["mentor"]), _text(r.get("role")), r) for r in rows]


def assignment_problems(
    assignments: Iterable[Mapping[str, Any]],
    trainees: Mapping[str, Mapping[str, Any]],
    day: dt.date,
    *,
    max_co: int = DEFAULT_MAX_CO_MENTORS,
) -> list[tuple[str, Problem]]:
    """What the stored assignments break on ``day``, as ``(trainee id, Problem)`` pairs.

    Catches rows typed straight into the sheet: a trainee in training without a lead, two
    leads at once, one mentor assigned twice, too many co-mentors, an end before the start.
    """
    rows = [r for r in assignments if not r.get("voided")]
    out: list[tuple[str, Problem]] = []
    for r in rows:
        start, end = _period_of(r)
        if start is not None and end is not None and end < start:
            out.append(
                (
                    _text(r.get("trainee")),
                    (
                        N_("分配 {id} 的“结束日期”（{end}）早于“开始日期”（{start}）。"),
                        {"id": _text(r.get("id")), "end": _iso(end), "start": _iso(start)},
                    ),
                )
            )
    by_trainee: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for r in rows:
        if active_on(r, day):
            by_trainee[_text(r.get("trainee"))].append(r)
    for tid, trainee in sorted(trainees.items()):
        current = by_trainee.get(tid, [])
        leads = [r for r in current if _text(r.get("role")) == LEAD]
        co = [r for r in current if _text(r.get("role")) == CO]
        mentors = [_text(r.get("mentor")) for r in current]
        if not leads and trainee.get("status") in IN_TRAINING:
            out.append((tid, (N_("学员 {trainee} 目前没有主导师。"), {"trainee": tid})))
        if len(leads) > 1:
            out.append(
                (
                    tid,
                    (
                        N_("学员 {trainee} 同时有 {n} 位主导师（{ids}），只能保留一位。"),
                        {
                            "trainee": tid,
                            "n": len(leads),
                            "ids": "、".join(_text(r.get("id")) for r in leads),
                        },
                    ),
                )
            )
        if len(co) > max_co:
            out.append(
                (
                    tid,
                    (
                        N_("学员 {trainee} 同时有 {n} 位协作导师，最多 {max} 位。"),
                        {"trainee": tid, "n": len(co), "max": max_co},
                    ),
                )
            )
        for mid in sorted({m for m in mentors if mentors.count(m) > 1}):
            out.append(
                (
                    tid,
                    (
                        N_("导师 {mentor} 被重复分配给学员 {trainee}。"),
                        {"mentor": mid, "trainee": tid},
                    ),
                )
            )
    return out


def trainees_without_lead(
    assignments: Iterable[Mapping[str, Any]],
    trainees: Mapping[str, Mapping[str, Any]],
    day: dt.date,
) -> list[str]:
    """Ids of the trainees in training (在训, 预警) who have no lead mentor on ``day``."""
    led = {
        _text(r.get("trainee"))
        for r in assignments
        if _text(r.get("role")) == LEAD and active_on(r, day)
    }
    return sorted(
        tid for tid, t in trainees.items() if t.get("status") in IN_TRAINING and tid not in led
    )


@dataclass
class MentorLoad:
    """How many trainees one mentor guides on a day, as lead and as co-mentor."""

    mentor: str
    lead: list[str] = field(default_factory=list)
    co: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(set(self.lead) | set(self.co))


def mentor_load(
    mentor_ids: Iterable[str], assignments: Iterable[Mapping[str, Any]], day: dt.date
) -> list[MentorLoad]:
    """One :class:`MentorLoad` per mentor (every id of ``mentor_ids``, and any mentor the
    assignments name), the busiest first."""
    loads = {m: MentorLoad(m) for m in mentor_ids}
    for r in assignments:
        mid, tid = _text(r.get("mentor")), _text(r.get("trainee"))
        if not mid or not tid or not active_on(r, day):
            continue
        load = loads.setdefault(mid, MentorLoad(mid))
        (load.lead if _text(r.get("role")) == LEAD else load.co).append(tid)
    return sorted(loads.values(), key=lambda x: (-x.total, -len(x.lead), x.mentor))


# ---------------------------------------------------------------------------------- logs


def validate_log(
    values: Mapping[str, Any], assignments: Iterable[Mapping[str, Any]], today: dt.date
) -> dict[str, Problem]:
    """Problems of a mentoring log: a date that has happened, within a period in which this
    mentor guided this trainee, and hours above 0 (the sheet allows up to 24)."""
    problems: dict[str, Problem] = {}
    day = as_date(values.get("date"))
    hours = as_hours(values.get("hours"))
    if values.get("hours") not in (None, "") and hours <= 0:
        problems["hours"] = (N_("“指导学时”须大于 0，如 1.5。"), {})
    if day is None:
        return problems
    if day > today:
        problems["date"] = (
            N_("“指导日期”（{date}）在今天之后：请填写已经进行的指导的日期。"),
            {"date": _iso(day)},
        )
        return problems
    pair = [
        r
        for r in assignments
        if not r.get("voided")
        and _text(r.get("mentor")) == _text(values.get("mentor"))
        and _text(r.get("trainee")) == _text(values.get("trainee"))
    ]
    if pair and not any(active_on(r, day) for r in pair):
        spans = "、".join(
            "{start}–{end}".format(**_span(r))
            for r in sorted(pair, key=lambda r: as_date(r.get("start_date")) or dt.date.min)
        )
        problems["date"] = (
            N_("“指导日期”（{date}）不在这位导师指导该学员的期间（{periods}）内：请核对日期。"),
            {"date": _iso(day), "periods": spans},
        )
    elif not pair:
        problems["trainee"] = (
            N_("这位导师没有被分配指导该学员，不能记录指导：请先在“导师分配”中分配。"),
            {},
        )
    return problems


def period_key(day: dt.date, period: str) -> str:
    """The period ``day`` falls in: ``2026-03`` (month), ``2026-Q1`` (quarter), ``2026``
    (year) or ``all``."""
    if period == "month":
        return f"{day.year}-{day.month:02d}"
    if period == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    if period == "year":
        return str(day.year)
    if period == "all":
        return "all"
    raise ValueError(f"unknown period {period!r}; expected one of {PERIODS}")


def guidance_hours(
    logs: Iterable[Mapping[str, Any]],
    *,
    period: str = "month",
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> dict[tuple[str, str], Decimal]:
    """Guidance hours (指导学时) per ``(mentor id, period key)``, summed exactly (Decimal).

    Only logs dated within ``start``–``end`` (inclusive; None = open) count; voided rows and
    rows without a mentor or a readable date are skipped (the sheet's health check reports
    the broken cells). The 导师指导费 is derived from these sums.
    """
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in logs:
        mentor, day = _text(row.get("mentor")), as_date(row.get("date"))
        if row.get("voided") or not mentor or day is None:
            continue
        if (start is not None and day < start) or (end is not None and day > end):
            continue
        totals[(mentor, period_key(day, period))] += as_hours(row.get("hours"))
    return dict(sorted(totals.items()))


def hours_by_mentor(
    logs: Iterable[Mapping[str, Any]],
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> dict[str, Decimal]:
    """Total guidance hours per mentor within ``start``–``end``."""
    return {m: h for (m, _), h in guidance_hours(logs, period="all", start=start, end=end).items()}
