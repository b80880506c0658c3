"""Curriculum rules in plain functions (no Flask): the absence rule (实施方案“考核认定”) and hours.

Other plugins import these (``from blueprints.curriculum import rules``): they take sheet rows
(any mapping: a ``sheetdb.Record`` or a dict) and an :class:`AbsenceSettings`, and return
dataclasses. Rows typed straight into the workbook are rows like any other: everything here is
computed from the sheets, never from what the web forms remember.

A trainee whose absence adds up to more than one fifth of the programme's hours (270 h → over
54 h) becomes an elimination candidate. Absence is measured in hours missed per session
(session hours − hours attended), by kind:

- 缺勤: absent without approval — counts, and is flagged for review under elimination ground (1)
  “未经同意不参加培训”;
- 迟到早退: the hours not attended count;
- 请假 with 已批准: approved leave — counts when ``leave_counts`` (the default), shown separately;
- 请假 with 已拒绝: refused leave is an absence without approval (flagged like 缺勤);
- 请假 still 待审批 (or with no leave status): counts as absence until decided, shown separately.

Only sessions already held (date ≤ today) count; a leave request for a coming session is shown
as planned leave. Everything is Decimal arithmetic, so 54 h is kept and 54.5 h is a candidate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from mingxiao.sheetdb.types import N_

PRESENT = "出勤"
PARTIAL = "迟到早退"
LEAVE = "请假"
ABSENT = "缺勤"
STATUSES = (PRESENT, PARTIAL, LEAVE, ABSENT)
APPROVED = "已批准"
REFUSED = "已拒绝"
PENDING = "待审批"
UNAPPROVED_GROUND = "未经同意不参加培训"  # elimination ground (1)
ABSENCE_GROUND = "累计缺勤超过五分之一"  # elimination ground (2)

DEFAULT_TOTAL_HOURS = Decimal(270)
DEFAULT_LIMIT = Fraction(1, 5)
DEFAULT_WARN_LEVELS = (Fraction(1, 2), Fraction(3, 4))

# Configuration keys and their defaults (set with app.config.setdefault by the plugin).
CONFIG_DEFAULTS: dict[str, Any] = {
    "ABSENCE_TOTAL_HOURS": None,  # None: the cohort's 总学时, else the curriculum's sum, else 270
    "ABSENCE_LIMIT": "1/5",
    "ABSENCE_LEAVE_COUNTS": True,
    "ABSENCE_WARN_LEVELS": "1/2,3/4",
}

# Risk levels, from none to the rule's line.
OK = "ok"
WARN_50 = "warn50"
WARN_75 = "warn75"
CANDIDATE = "candidate"
LEVEL_ORDER = {OK: 0, WARN_50: 1, WARN_75: 2, CANDIDATE: 3}
LEVEL_LABELS = {
    OK: N_("正常"),
    WARN_50: N_("已用缺勤额度一半"),
    WARN_75: N_("已用缺勤额度四分之三"),
    CANDIDATE: N_("淘汰候选（累计缺勤超过五分之一）"),
}


def dec(value: Any) -> Decimal:
    """A cell as a Decimal; blanks and text that is not a number are 0."""
    if value is None or value == "" or isinstance(value, bool):
        return Decimal(0)
    try:
        out = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return Decimal(0)
    return out if out.is_finite() else Decimal(0)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def as_date(value: Any) -> dt.date | None:
    """A cell as a date (datetime cells lose their time), else None."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None


def parse_fraction(value: Any) -> Fraction:
    """``"1/5"``, ``0.2`` or ``Fraction(1, 5)`` as a Fraction in (0, 1]; ValueError otherwise."""
    try:
        frac = Fraction(str(value).strip())
    except (ValueError, ZeroDivisionError) as exc:
        raise ValueError(f"{value!r} is not a fraction such as 1/5") from exc
    if not 0 < frac <= 1:
        raise ValueError(f"{value!r} must be above 0 and at most 1")
    return frac


@dataclass(frozen=True)
class AbsenceSettings:
    """The rule's inputs (configuration): the programme total, the limit, what counts."""

    total_hours: Decimal = DEFAULT_TOTAL_HOURS
    limit: Fraction = DEFAULT_LIMIT
    leave_counts: bool = True
    warn_levels: tuple[Fraction, ...] = DEFAULT_WARN_LEVELS

    @property
    def allowance(self) -> Decimal:
        """Hours of absence a trainee may have and stay (270 × 1/5 = 54)."""
        return self.total_hours * self.limit.numerator / self.limit.denominator


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off", "否")
    return bool(value)


def settings_from_config(
    config: Mapping[str, Any], curriculum_hours: Any = None
) -> AbsenceSettings:
    """Settings from ``ABSENCE_TOTAL_HOURS`` (None: ``curriculum_hours``, else 270),
    ``ABSENCE_LIMIT`` ("1/5"), ``ABSENCE_LEAVE_COUNTS`` (True) and ``ABSENCE_WARN_LEVELS``.

    ``curriculum_hours`` is the programme total from the data: the cohort's 总学时 or the sum
    of the curriculum modules (:func:`curriculum_total`). A bad value raises ValueError naming it.
    """
    total = config.get("ABSENCE_TOTAL_HOURS")
    if not _blank(total):
        total_hours = dec(total)
        if total_hours <= 0:
            raise ValueError(f"ABSENCE_TOTAL_HOURS must be positive, got {total!r}")
    else:
        total_hours = dec(curriculum_hours) if dec(curriculum_hours) > 0 else DEFAULT_TOTAL_HOURS
    levels: Any = config.get("ABSENCE_WARN_LEVELS") or DEFAULT_WARN_LEVELS
    if isinstance(levels, str):
        levels = [p for p in levels.split(",") if p.strip()]
    try:
        limit = parse_fraction(config.get("ABSENCE_LIMIT") or DEFAULT_LIMIT)
        warn = tuple(sorted(parse_fraction(v) for v in levels))
    except ValueError as exc:
        raise ValueError(f"ABSENCE_LIMIT / ABSENCE_WARN_LEVELS: {exc}") from exc
    return AbsenceSettings(
        total_hours=total_hours,
        limit=limit,
        leave_counts=_flag(config.get("ABSENCE_LEAVE_COUNTS", True)),
        warn_levels=warn,
    )


def curriculum_total(modules: Iterable[Mapping[str, Any]]) -> Decimal:
    """The programme's hours: the sum of the curriculum modules' 学时 (270 in the plan)."""
    return sum((dec(m.get("hours")) for m in modules), Decimal(0))


# --------------------------------------------------------------------------- one row


def missed_hours(session_hours: Any, row: Mapping[str, Any]) -> Decimal:
    """Hours of a session not attended, between 0 and the session's hours.

    缺勤 and 请假 miss the whole session unless hours attended are typed; 出勤 with the hours
    left blank (a row typed in the sheet) attended it all; otherwise session − attended.
    """
    hours = dec(session_hours)
    status = _text(row.get("status"))
    attended_cell = row.get("hours_attended")
    if _blank(attended_cell):
        missed = Decimal(0) if status == PRESENT else hours
    else:
        missed = hours - dec(attended_cell)
    return min(max(missed, Decimal(0)), hours)


def is_unapproved(row: Mapping[str, Any]) -> bool:
    """缺勤, or 请假 that was refused: absence without approval (ground (1))."""
    status = _text(row.get("status"))
    return status == ABSENT or (status == LEAVE and _text(row.get("leave_status")) == REFUSED)


# --------------------------------------------------------------------------- absence


@dataclass
class AbsenceSummary:
    """One trainee's absence against the allowance, split by kind (hours)."""

    settings: AbsenceSettings
    unapproved: Decimal = Decimal(0)  # 缺勤 and refused leave
    partial: Decimal = Decimal(0)  # 迟到早退 (and 出勤 rows with fewer hours)
    approved_leave: Decimal = Decimal(0)
    pending_leave: Decimal = Decimal(0)
    planned_leave: Decimal = Decimal(0)  # leave asked for sessions not yet held (not counted)
    attended: Decimal = Decimal(0)
    held: Decimal = Decimal(0)  # hours of the held sessions recorded for the trainee
    sessions: int = 0
    unapproved_sessions: list[str] = field(default_factory=list)  # session ids, for review
    pending_sessions: list[str] = field(default_factory=list)

    @property
    def counted(self) -> Decimal:
        """The hours measured against the allowance."""
        leave = self.approved_leave if self.settings.leave_counts else Decimal(0)
        return self.unapproved + self.partial + self.pending_leave + leave

    @property
    def allowance(self) -> Decimal:
        return self.settings.allowance

    @property
    def remaining(self) -> Decimal:
        """Hours still allowed before the line (0 once over it)."""
        return max(self.allowance - self.counted, Decimal(0))

    @property
    def over_by(self) -> Decimal:
        """Hours beyond the allowance (0 while within it)."""
        return max(self.counted - self.allowance, Decimal(0))

    @property
    def used(self) -> Fraction:
        """Share of the allowance used (may exceed 1)."""
        if self.allowance <= 0:
            return Fraction(0)
        return Fraction(self.counted) / Fraction(self.allowance)

    @property
    def candidate(self) -> bool:
        """More than the allowance: an elimination candidate (54 h is kept, 54.5 h is not)."""
        return self.counted > self.allowance

    @property
    def level(self) -> str:
        """:data:`OK`, :data:`WARN_50`, :data:`WARN_75` or :data:`CANDIDATE`."""
        if self.candidate:
            return CANDIDATE
        used = self.used
        levels = self.settings.warn_levels
        if len(levels) >= 2 and used >= levels[-1]:
            return WARN_75
        if levels and used >= levels[0]:
            return WARN_50
        return OK

    @property
    def level_label(self) -> str:
        return LEVEL_LABELS[self.level]

    @property
    def flagged_unapproved(self) -> bool:
        """Any absence without approval: to be reviewed under elimination ground (1)."""
        return bool(self.unapproved_sessions)

    @property
    def at_risk(self) -> bool:
        """Worth a line on a risk list: a warning level, or an absence without approval."""
        return self.level != OK or self.flagged_unapproved

    @property
    def percent_used(self) -> int:
        """Whole percent of the allowance used (capped at 999 for display)."""
        return min(int(self.used * 100), 999)

    @property
    def percent_bar(self) -> int:
        """Percent for a bar (0–100)."""
        return min(self.percent_used, 100)


def absence_summary(
    rows: Iterable[tuple[Any, Mapping[str, Any]]], settings: AbsenceSettings
) -> AbsenceSummary:
    """Sum a trainee's attendance ``rows`` of HELD sessions, given as ``(session hours, row)``."""
    out = AbsenceSummary(settings)
    for session_hours, row in rows:
        hours = dec(session_hours)
        missed = missed_hours(hours, row)
        sid = _text(row.get("session"))
        out.sessions += 1
        out.held += hours
        out.attended += hours - missed
        status = _text(row.get("status"))
        if status == LEAVE:
            leave_status = _text(row.get("leave_status"))
            if leave_status == APPROVED:
                out.approved_leave += missed
            elif leave_status == REFUSED:
                out.unapproved += missed
                out.unapproved_sessions.append(sid)
            else:
                out.pending_leave += missed
                out.pending_sessions.append(sid)
        elif status == ABSENT:
            out.unapproved += missed
            out.unapproved_sessions.append(sid)
        else:  # 出勤 or 迟到早退 (or an unknown status): whatever was not attended
            out.partial += missed
    return out


def _session_index(
    sessions: Iterable[Mapping[str, Any]] | Mapping[str, Any],
) -> dict[str, Mapping[str, Any]]:
    """Session id → session row. A mapping of session id → hours (the older call) works too."""
    if isinstance(sessions, Mapping):
        return {_text(k): {"id": k, "hours": v} for k, v in sessions.items() if _text(k)}
    return {_text(s.get("id")): s for s in sessions if _text(s.get("id"))}


def latest_rows(
    attendance: Iterable[Mapping[str, Any]],
) -> dict[tuple[str, str], Mapping[str, Any]]:
    """One row per (session, trainee): a pair typed twice counts once, the lower row wins.

    Voided rows (``voided`` true) are skipped.
    """
    out: dict[tuple[str, str], Mapping[str, Any]] = {}
    for row in attendance:
        if row.get("voided"):
            continue
        key = (_text(row.get("session")), _text(row.get("trainee")))
        if key[0] and key[1]:
            out[key] = row
    return out


def summaries_by_trainee(
    attendance: Iterable[Mapping[str, Any]],
    sessions: Iterable[Mapping[str, Any]] | Mapping[str, Any],
    settings: AbsenceSettings,
    trainees: Sequence[str] | None = None,
    today: dt.date | None = None,
) -> dict[str, AbsenceSummary]:
    """An :class:`AbsenceSummary` per trainee id (every id in ``trainees``, even without rows).

    ``sessions`` are session rows (id, hours, date), or a mapping session id → hours; rows of
    unknown sessions are skipped (the sheet's health check reports the broken reference). With
    ``today`` (and dated sessions), rows of sessions after it are not counted; their leave
    shows as ``planned_leave``.
    """
    index = _session_index(sessions)
    grouped: dict[str, list[tuple[Any, Mapping[str, Any]]]] = {t: [] for t in trainees or ()}
    planned: dict[str, Decimal] = {}
    for (sid, tid), row in latest_rows(attendance).items():
        session = index.get(sid)
        if session is None or (trainees is not None and tid not in grouped):
            continue
        day = as_date(session.get("date"))
        if today is not None and day is not None and day > today:
            if _text(row.get("status")) == LEAVE and _text(row.get("leave_status")) != REFUSED:
                planned[tid] = planned.get(tid, Decimal(0)) + dec(session.get("hours"))
            grouped.setdefault(tid, [])
            continue
        grouped.setdefault(tid, []).append((session.get("hours"), row))
    out = {tid: absence_summary(rows, settings) for tid, rows in grouped.items()}
    for tid, hours in planned.items():
        out[tid].planned_leave = hours
    return out


def trainee_absence(
    trainee_id: str,
    attendance: Iterable[Mapping[str, Any]],
    sessions: Iterable[Mapping[str, Any]],
    settings: AbsenceSettings,
    today: dt.date | None = None,
) -> AbsenceSummary:
    """The :class:`AbsenceSummary` of one trainee (``attendance`` may hold everyone's rows)."""
    rows = [r for r in attendance if _text(r.get("trainee")) == trainee_id]
    return summaries_by_trainee(rows, sessions, settings, [trainee_id], today)[trainee_id]


# --------------------------------------------------------------------------- hours ledger


@dataclass
class ModuleHours:
    """Hours of one curriculum module for one trainee."""

    module_id: str
    series: str
    topic: str
    required: Decimal
    done: Decimal = Decimal(0)  # hours attended in held sessions of the module
    held: Decimal = Decimal(0)  # hours of the module's held sessions recorded for the trainee
    planned: Decimal = Decimal(0)  # hours of all the module's sessions in the cohort

    @property
    def percent(self) -> int:
        """Done against required, in whole percent, 0–100 (for the bar)."""
        if self.required <= 0:
            return 100 if self.done > 0 else 0
        return min(int(self.done * 100 / self.required), 100)

    @property
    def missing(self) -> Decimal:
        return max(self.required - self.done, Decimal(0))


@dataclass
class HoursLedger:
    """A trainee's hours: per module done vs required, plus sessions outside any module."""

    modules: list[ModuleHours]
    other_done: Decimal = Decimal(0)  # attended sessions without a (known) module

    @property
    def required(self) -> Decimal:
        return sum((m.required for m in self.modules), Decimal(0))

    @property
    def done(self) -> Decimal:
        return sum((m.done for m in self.modules), Decimal(0))

    @property
    def percent(self) -> int:
        if self.required <= 0:
            return 0
        return min(int(self.done * 100 / self.required), 100)


def _module_sort(m: Mapping[str, Any]) -> tuple[int, str]:
    sort = m.get("sort")
    return (int(dec(sort)) if not _blank(sort) else 9999, _text(m.get("id")))


def hours_ledger(
    trainee_id: str,
    modules: Iterable[Mapping[str, Any]],
    sessions: Iterable[Mapping[str, Any]],
    attendance: Iterable[Mapping[str, Any]],
    today: dt.date | None = None,
) -> HoursLedger:
    """Hours done per curriculum module: the hours attended in held sessions of that module.

    ``sessions`` should be the trainee's cohort's sessions (their hours make ``planned``);
    ``attendance`` may hold everyone's rows. Sessions after ``today`` do not count.
    """
    ordered = sorted((m for m in modules if not m.get("voided")), key=_module_sort)
    by_id = {
        _text(m.get("id")): ModuleHours(
            module_id=_text(m.get("id")),
            series=_text(m.get("series")),
            topic=_text(m.get("topic")),
            required=dec(m.get("hours")),
        )
        for m in ordered
    }
    index = _session_index(s for s in sessions if not s.get("voided"))
    for s in index.values():
        mod = by_id.get(_text(s.get("module")))
        if mod is not None:
            mod.planned += dec(s.get("hours"))
    ledger = HoursLedger(modules=list(by_id.values()))
    for (sid, tid), row in latest_rows(attendance).items():
        session = index.get(sid)
        if tid != trainee_id or session is None:
            continue
        day = as_date(session.get("date"))
        if today is not None and day is not None and day > today:
            continue
        hours = dec(session.get("hours"))
        done = hours - missed_hours(hours, row)
        mod = by_id.get(_text(session.get("module")))
        if mod is None:
            ledger.other_done += done
        else:
            mod.done += done
            mod.held += hours
    return ledger


# --------------------------------------------------------------------------- cohort hours


@dataclass
class CohortHours:
    """Hours of a cohort's programme: delivered (held) vs planned (scheduled) vs required."""

    required: Decimal
    planned: Decimal
    delivered: Decimal
    sessions_planned: int
    sessions_held: int

    @property
    def percent_delivered(self) -> int:
        base = self.required if self.required > 0 else self.planned
        if base <= 0:
            return 0
        return min(int(self.delivered * 100 / base), 100)

    @property
    def percent_planned(self) -> int:
        base = self.required if self.required > 0 else self.planned
        if base <= 0:
            return 0
        return min(int(self.planned * 100 / base), 100)


def cohort_hours(
    sessions: Iterable[Mapping[str, Any]], required: Any, today: dt.date
) -> CohortHours:
    """Sum a cohort's sessions: scheduled hours, and hours of the sessions held by ``today``."""
    planned = delivered = Decimal(0)
    n = held = 0
    for s in sessions:
        if s.get("voided"):
            continue
        hours = dec(s.get("hours"))
        planned += hours
        n += 1
        day = as_date(s.get("date"))
        if day is not None and day <= today:
            delivered += hours
            held += 1
    return CohortHours(dec(required), planned, delivered, n, held)


# --------------------------------------------------------------------------- grid input


def grid_values(
    status: str, hours_text: Any, session_hours: Any
) -> tuple[dict[str, Any] | None, str | None]:
    """The attendance values for one grid cell, or ``(None, message)`` when they do not fit.

    出勤 attends the whole session; 缺勤 and 请假 attend 0 h; 迟到早退 needs the hours attended,
    more than 0 and less than the session's hours.
    """
    hours = dec(session_hours)
    if status == PRESENT:
        return {"status": PRESENT, "hours_attended": hours}, None
    if status in (ABSENT, LEAVE):
        return {"status": status, "hours_attended": Decimal(0)}, None
    if status == PARTIAL:
        if _blank(hours_text):
            return None, N_("迟到早退请填写实到学时。")
        try:
            attended = Decimal(str(hours_text).strip())
        except (InvalidOperation, ValueError):
            return None, N_("实到学时应是数字，如 2.5。")
        if not attended.is_finite() or attended <= 0 or attended >= hours:
            return None, N_("迟到早退的实到学时应大于 0、小于本次学时。")
        return {"status": PARTIAL, "hours_attended": attended}, None
    return None, N_("请选择出勤情况。")
