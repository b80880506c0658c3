"""Curriculum rules in plain functions: the absence rule (实施方案“考核认定”) and hours.

A trainee whose absence adds up to more than one fifth of the programme's hours (270 h → over
54 h) becomes an elimination candidate. Absence is measured in hours missed per session
(session hours − hours attended), by kind:

- 缺勤: absent without approval — counts, and is flagged for review under elimination ground (1)
  “未经同意不参加培训”;
- 迟到早退: the hours not attended count;
- 请假 with 已批准: approved leave — counts when ``leave_counts`` (the default), shown separately;
- 请假 with 已拒绝: refused leave is an absence without approval (flagged like 缺勤);
- 请假 still 待审批 (or with no leave status): counts as absence until decided, shown separately.

Everything here is Decimal arithmetic, so 54 h is kept and 54.5 h is a candidate, exactly.
"""

from __future__ import annotations

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
APPROVED = "已批准"
REFUSED = "已拒绝"
PENDING = "待审批"
UNAPPROVED_GROUND = "未经同意不参加培训"  # elimination ground (1)
ABSENCE_GROUND = "累计缺勤超过五分之一"  # elimination ground (2)

DEFAULT_TOTAL_HOURS = Decimal(270)
DEFAULT_LIMIT = Fraction(1, 5)
DEFAULT_WARN_LEVELS = (Fraction(1, 2), Fraction(3, 4))

# Risk levels, from none to the rule's line.
OK = "ok"
WARN_50 = "warn50"
WARN_75 = "warn75"
CANDIDATE = "candidate"
LEVEL_LABELS = {
    OK: N_("正常"),
    WARN_50: N_("已用缺勤额度一半"),
    WARN_75: N_("已用缺勤额度四分之三"),
    CANDIDATE: N_("淘汰候选（累计缺勤超过五分之一）"),
}


def _dec(value: Any) -> Decimal:
    if value is None or value == "":
        return Decimal(0)
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)


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


def settings_from_config(
    config: Mapping[str, Any], curriculum_hours: Decimal | None = None
) -> AbsenceSettings:
    """Settings from ``ABSENCE_TOTAL_HOURS`` (None: the curriculum's total, else 270),
    ``ABSENCE_LIMIT`` ("1/5"), ``ABSENCE_LEAVE_COUNTS`` (True) and ``ABSENCE_WARN_LEVELS``."""
    total = config.get("ABSENCE_TOTAL_HOURS")
    total_hours = (
        _dec(total) if total not in (None, "") else (curriculum_hours or DEFAULT_TOTAL_HOURS)
    )
    if total_hours <= 0:
        raise ValueError(f"ABSENCE_TOTAL_HOURS must be positive, got {total!r}")
    levels = config.get("ABSENCE_WARN_LEVELS") or DEFAULT_WARN_LEVELS
    if isinstance(levels, str):
        levels = [p for p in levels.split(",") if p.strip()]
    return AbsenceSettings(
        total_hours=total_hours,
        limit=parse_fraction(config.get("ABSENCE_LIMIT") or DEFAULT_LIMIT),
        leave_counts=bool(config.get("ABSENCE_LEAVE_COUNTS", True)),
        warn_levels=tuple(sorted(parse_fraction(v) for v in levels)),
    )


def curriculum_total(modules: Iterable[Mapping[str, Any]]) -> Decimal:
    """The programme's hours: the sum of the curriculum modules' 学时 (270 in the plan)."""
    return sum((_dec(m.get("hours")) for m in modules), Decimal(0))


def missed_hours(session_hours: Any, row: Mapping[str, Any]) -> Decimal:
    """Hours of a session not attended: session hours − hours attended, never below 0."""
    missed = _dec(session_hours) - _dec(row.get("hours_attended"))
    if row.get("status") in (ABSENT, LEAVE) and not row.get("hours_attended"):
        missed = _dec(session_hours)
    return max(missed, Decimal(0))


@dataclass
class AbsenceSummary:
    """One trainee's absence against the allowance, split by kind."""

    settings: AbsenceSettings
    unapproved: Decimal = Decimal(0)  # 缺勤 and refused leave
    partial: Decimal = Decimal(0)  # 迟到早退
    approved_leave: Decimal = Decimal(0)
    pending_leave: Decimal = Decimal(0)
    attended: Decimal = Decimal(0)
    held: Decimal = Decimal(0)  # hours of the sessions recorded for the trainee
    unapproved_sessions: list[str] = field(default_factory=list)  # session ids, for review

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
        if self.candidate:
            return CANDIDATE
        used = self.used
        levels = self.settings.warn_levels
        if len(levels) >= 2 and used >= levels[1]:
            return WARN_75
        if levels and used >= levels[0]:
            return WARN_50
        return OK

    @property
    def flagged_unapproved(self) -> bool:
        """Any absence without approval: to be reviewed under elimination ground (1)."""
        return bool(self.unapproved_sessions)

    @property
    def percent_used(self) -> int:
        return min(int(self.used * 100), 999)


def absence_summary(
    rows: Iterable[tuple[Any, Mapping[str, Any]]], settings: AbsenceSettings
) -> AbsenceSummary:
    """Sum a trainee's attendance ``rows`` given as ``(session hours, attendance row)``."""
    out = AbsenceSummary(settings)
    for session_hours, row in rows:
        hours = _dec(session_hours)
        missed = missed_hours(hours, row)
        out.held += hours
        out.attended += max(hours - missed, Decimal(0))
        status = row.get("status")
        if status == LEAVE:
            leave_status = row.get("leave_status")
            if leave_status == APPROVED:
                out.approved_leave += missed
            elif leave_status == REFUSED:
                out.unapproved += missed
                out.unapproved_sessions.append(str(row.get("session") or ""))
            else:
                out.pending_leave += missed
        elif status == ABSENT:
            out.unapproved += missed
            out.unapproved_sessions.append(str(row.get("session") or ""))
        else:  # 出勤 or 迟到早退: whatever was not attended
            out.partial += missed
    return out


def summaries_by_trainee(
    attendance: Iterable[Mapping[str, Any]],
    session_hours: Mapping[str, Any],
    settings: AbsenceSettings,
    trainees: Sequence[str] | None = None,
) -> dict[str, AbsenceSummary]:
    """An :class:`AbsenceSummary` per trainee id (every id in ``trainees``, even without rows).

    ``session_hours`` maps session id → hours; rows of unknown sessions are skipped (the
    sheet's health check reports the broken reference).
    """
    grouped: dict[str, list[tuple[Any, Mapping[str, Any]]]] = {t: [] for t in trainees or ()}
    for row in attendance:
        sid = str(row.get("session") or "")
        if sid not in session_hours:
            continue
        grouped.setdefault(str(row.get("trainee") or ""), []).append((session_hours[sid], row))
    return {tid: absence_summary(rows, settings) for tid, rows in grouped.items()}
