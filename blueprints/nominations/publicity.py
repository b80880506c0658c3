"""公示与录取 (publicity and admission) of a cohort's selection, as plain functions without Flask.

The city publishes the 拟录取 list for a period of working days (公示), records the objections
it receives and checks them, then finalises: every 公示中 nomination becomes 已录取 (and a row
of the 学员 roster) unless an objection against it was upheld, and every other nomination
still in the city's selection is closed as 未录取 with its reason in ``decision_note``.

Working days: Monday to Friday, minus the configured public holidays, plus the configured
make-up workdays (调休上班, usually a Saturday or Sunday). A period of N working days that starts
on a given date ends on the N-th working day counting the start date itself when it is one:
Monday → Friday for five days, as the city's notices print it (“公示期为 5 个工作日”).

Like ``rules.py`` and ``workflow.py``, every check returns ``None`` (or an empty dict) when the
step is allowed, else a :data:`Problem` ``(Chinese msgid template with {placeholders}, params)``
that the view shows with ``_(template).format(**params)``.

The decision notes written into the workbook (``decision_note``, the trainee's history reason)
are plain Chinese, not catalogue messages: they are data in the office's Chinese workbook, the
same whatever language the admin's browser uses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from mingxiao.sheetdb.types import N_

Problem = tuple[str, dict[str, Any]]
"""(Chinese msgid template with ``{placeholders}``, params); the UI does ``_(t).format(**p)``."""
N = TypeVar("N", bound=Mapping[str, Any])  # a nomination: a sheetdb Record or a plain mapping

# Nomination statuses (sheets_schema/choices.toml ``nomination_statuses``).
SUBMITTED = "已报送"
IN_REVIEW = "专家评审"
PROPOSED = "拟录取"
IN_PUBLICITY = "公示中"
ADMITTED = "已录取"
NOT_ADMITTED = "未录取"
# What is still in the city's selection when the cohort is finalised; closed as 未录取 then.
# Drafts, returned and stamped-but-unsent nominations never reached the city: left alone.
STILL_IN_SELECTION = frozenset({SUBMITTED, IN_REVIEW, PROPOSED})

# Objection statuses (sheets_schema/publicity_objections.toml).
PENDING = "待核查"
UPHELD = "异议成立"
NOT_UPHELD = "异议不成立"
OUTCOMES = (UPHELD, NOT_UPHELD)

TRAINEE_ACTIVE = "在训"  # trainee_statuses: the status of a newly admitted trainee

DEFAULT_WORKING_DAYS = 5
# Plausible periods: a typo in a year or month is likelier than a publicity this far off.
MAX_DAYS_BACK = 60  # a period entered after the fact (published on paper first)
MAX_DAYS_AHEAD = 180
MAX_LENGTH_DAYS = 90
_SEARCH_LIMIT = 3 * 366  # a calendar with (almost) no working days must not loop forever

# Decision notes and history reasons, written into the workbook as they are (see the docstring).
NOTE_ADMITTED = "公示期（{start} 至 {end}）期满无异议，经市教育局审定，录取为培养人选。"
NOTE_ADMITTED_AFTER_CHECK = (
    "公示期（{start} 至 {end}）收到的异议经核查不成立，经市教育局审定，录取为培养人选。"
)
NOTE_UPHELD = "公示期间收到的异议经核查成立，不予录取。核查结果：{resolution}"
NOTE_NOT_SELECTED = "差额评审未入选：经专家组差额评审，未进入本期拟录取名单，未录取。"
NOTE_NOT_PUBLICISED = "本期录取名单已于 {date} 确定，该人选未列入公示名单，未录取。"
HISTORY_ADMITTED = "经专家组差额评审、市教育局审定并公示，录取为培养人选。"


# ---------------------------------------------------------------------------------------------
# working days


class CalendarConfigError(ValueError):
    """A ``PUBLICITY_*`` setting cannot be read; the message names the key and the value."""


@dataclass(frozen=True)
class WorkCalendar:
    """The working-day calendar of publicity periods (from ``PUBLICITY_*`` settings)."""

    working_days: int = DEFAULT_WORKING_DAYS
    holidays: frozenset[dt.date] = frozenset()
    extra_workdays: frozenset[dt.date] = frozenset()

    def is_working_day(self, day: dt.date) -> bool:
        """A make-up workday always; otherwise Monday–Friday that is not a holiday."""
        if day in self.extra_workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def period_end(self, start: dt.date, days: int | None = None) -> dt.date:
        """The last day of a period of ``days`` (default: the configured number) working days
        starting on ``start``; ``start`` counts when it is itself a working day."""
        wanted = self.working_days if days is None else days
        if wanted < 1:
            raise ValueError("a publicity period has at least one working day")
        day, counted = start, 0
        for _ in range(_SEARCH_LIMIT):
            if self.is_working_day(day):
                counted += 1
                if counted == wanted:
                    return day
            day += dt.timedelta(days=1)
        raise CalendarConfigError(
            f"{_SEARCH_LIMIT} 天内找不到 {wanted} 个工作日：请检查 PUBLICITY_HOLIDAYS 设置。"
        )

    def count_working_days(self, start: dt.date, end: dt.date) -> int:
        """Working days from ``start`` to ``end``, both included (0 when ``end < start``)."""
        days = (end - start).days + 1
        return sum(1 for i in range(max(days, 0)) if self.is_working_day(start + dt.timedelta(i)))


def _dates(key: str, value: Any) -> frozenset[dt.date]:
    if value is None or value == "":
        return frozenset()
    if isinstance(value, (str, dt.date)):
        value = [value]
    out = set()
    for item in value:
        if isinstance(item, dt.datetime):
            out.add(item.date())
        elif isinstance(item, dt.date):
            out.add(item)
        else:
            try:
                out.add(dt.date.fromisoformat(str(item).strip()))
            except ValueError as exc:
                raise CalendarConfigError(
                    f"{key} 中的 {item!r} 不是日期，请写成 2026-10-01 这样的格式。"
                    f" / {key}: {item!r} is not an ISO date such as 2026-10-01."
                ) from exc
    return frozenset(out)


def calendar_from_config(config: Mapping[str, Any]) -> WorkCalendar:
    """The calendar of ``PUBLICITY_WORKING_DAYS``, ``PUBLICITY_HOLIDAYS`` and
    ``PUBLICITY_EXTRA_WORKDAYS`` (lists of ISO dates or ``datetime.date``)."""
    raw = config.get("PUBLICITY_WORKING_DAYS", DEFAULT_WORKING_DAYS)
    try:
        days = int(raw)
    except (TypeError, ValueError):
        days = 0
    if days < 1:
        raise CalendarConfigError(
            f"PUBLICITY_WORKING_DAYS 应为正整数（公示的工作日数），当前为 {raw!r}。"
            f" / PUBLICITY_WORKING_DAYS must be a positive integer, got {raw!r}."
        )
    return WorkCalendar(
        working_days=days,
        holidays=_dates("PUBLICITY_HOLIDAYS", config.get("PUBLICITY_HOLIDAYS")),
        extra_workdays=_dates("PUBLICITY_EXTRA_WORKDAYS", config.get("PUBLICITY_EXTRA_WORKDAYS")),
    )


# ---------------------------------------------------------------------------------------------
# opening a period


def period_problems(
    start: dt.date | None, end: dt.date | None, *, today: dt.date, calendar: WorkCalendar
) -> dict[str, Problem]:
    """What is wrong with a period from ``start`` to ``end``, keyed by the field to mark."""
    if start is None:
        return {"publicity_start": (N_("请填写公示开始日期。"), {})}
    if start < today - dt.timedelta(days=MAX_DAYS_BACK):
        return {
            "publicity_start": (
                N_("公示开始日期 {start} 已是 {days} 天以前，请核对年份和月份。"),
                {"start": start.isoformat(), "days": MAX_DAYS_BACK},
            )
        }
    if start > today + dt.timedelta(days=MAX_DAYS_AHEAD):
        return {
            "publicity_start": (
                N_("公示开始日期 {start} 在 {days} 天以后，请核对年份和月份。"),
                {"start": start.isoformat(), "days": MAX_DAYS_AHEAD},
            )
        }
    if end is None:
        return {"publicity_end": (N_("请填写公示结束日期，或留空由系统按工作日计算。"), {})}
    if end < start:
        return {
            "publicity_end": (
                N_("公示结束日期 {end} 早于开始日期 {start}，请改为 {start} 或以后的日期。"),
                {"end": end.isoformat(), "start": start.isoformat()},
            )
        }
    if end > start + dt.timedelta(days=MAX_LENGTH_DAYS):
        return {
            "publicity_end": (
                N_("公示期从 {start} 到 {end} 超过 {days} 天，请核对结束日期。"),
                {"start": start.isoformat(), "end": end.isoformat(), "days": MAX_LENGTH_DAYS},
            )
        }
    counted = calendar.count_working_days(start, end)
    if counted < calendar.working_days:
        return {
            "publicity_end": (
                N_(
                    "公示期 {start} 至 {end} 只有 {n} 个工作日，公示应不少于 {required} 个工作日：结束日期最早为 {earliest}。"
                ),
                {
                    "start": start.isoformat(),
                    "end": end.isoformat(),
                    "n": counted,
                    "required": calendar.working_days,
                    "earliest": calendar.period_end(start).isoformat(),
                },
            )
        }
    return {}


def publicisable(nominations: Iterable[N]) -> list[N]:
    """The nominations that enter publicity when a period opens: the 拟录取 ones."""
    return [n for n in nominations if n.get("status") == PROPOSED]


def open_problem(cohort_name: str, nominations: Iterable[Mapping[str, Any]]) -> Problem | None:
    """A period needs someone to publicise: at least one 拟录取 nomination of the cohort."""
    if publicisable(nominations):
        return None
    return (
        N_("“{cohort}”没有拟录取的人选，不能开始公示。请先完成专家评审，把入选人选定为“拟录取”。"),
        {"cohort": cohort_name},
    )


def open_changes(start: dt.date, end: dt.date) -> dict[str, Any]:
    """What opening a period writes on each 拟录取 nomination."""
    return {"status": IN_PUBLICITY, "publicity_start": start, "publicity_end": end}


def periods(nominations: Iterable[Mapping[str, Any]]) -> list[tuple[dt.date, dt.date]]:
    """The distinct (start, end) periods of the 公示中 nominations, earliest first."""
    found = {
        (n["publicity_start"], n["publicity_end"])
        for n in nominations
        if n.get("status") == IN_PUBLICITY
        and isinstance(n.get("publicity_start"), dt.date)
        and isinstance(n.get("publicity_end"), dt.date)
    }
    return sorted(found)


def on_public_list(nomination: Mapping[str, Any], today: dt.date) -> bool:
    """A nomination shows on the public page while 公示中, from its period's first day on."""
    start = nomination.get("publicity_start")
    return (
        nomination.get("status") == IN_PUBLICITY and isinstance(start, dt.date) and start <= today
    )


# ---------------------------------------------------------------------------------------------
# objections


def objection_problems(
    nomination: Mapping[str, Any] | None,
    received_on: dt.date | None,
    content: str,
    *,
    today: dt.date,
) -> dict[str, Problem]:
    """Whether an objection can be recorded against ``nomination``, keyed by field."""
    problems: dict[str, Problem] = {}
    if nomination is None:
        problems["nomination"] = (N_("请选择被提出异议的人选（只能选择公示中的人选）。"), {})
    elif nomination.get("status") != IN_PUBLICITY:
        problems["nomination"] = (
            N_("只能对公示中的人选登记异议，这位人选的状态是“{status}”。"),
            {"status": nomination.get("status") or ""},
        )
    if received_on is None:
        problems["received_on"] = (N_("请填写收到异议的日期。"), {})
    elif received_on > today:
        problems["received_on"] = (
            N_("收到日期 {date} 晚于今天，请核对。"),
            {"date": received_on.isoformat()},
        )
    elif nomination is not None and "nomination" not in problems:
        start, end = nomination.get("publicity_start"), nomination.get("publicity_end")
        if isinstance(start, dt.date) and received_on < start:
            problems["received_on"] = (
                N_(
                    "收到日期 {date} 早于公示开始日期 {start}：公示开始前收到的意见不作为公示异议登记。"
                ),
                {"date": received_on.isoformat(), "start": start.isoformat()},
            )
        elif isinstance(end, dt.date) and received_on > end:
            problems["received_on"] = (
                N_("收到日期 {date} 晚于公示结束日期 {end}：公示期满后收到的异议不再登记。"),
                {"date": received_on.isoformat(), "end": end.isoformat()},
            )
    if not content.strip():
        problems["content"] = (N_("请填写异议内容，写明反映的具体问题。"), {})
    return problems


def resolve_problem(objection: Mapping[str, Any], outcome: str, resolution: str) -> Problem | None:
    """A 待核查 objection is resolved once, as 异议成立 or 异议不成立, with the check's result."""
    if objection.get("status") != PENDING:
        return (
            N_(
                "这条异议已处理（{status}），不能再次处理。如需更正，请在工作簿“公示异议”表中修改并在核查结果中说明。"
            ),
            {"status": objection.get("status") or ""},
        )
    if outcome not in OUTCOMES:
        return N_("请选择核查结论：异议成立或异议不成立。"), {}
    if not resolution.strip():
        return N_("请填写核查结果，写明核查经过和处理意见。"), {}
    return None


# ---------------------------------------------------------------------------------------------
# finalising


@dataclass
class Plan:
    """What finalising a cohort writes: nomination status changes and new trainee rows."""

    admit: list[tuple[Mapping[str, Any], str]] = field(default_factory=list)  # (nom., note)
    reject: list[tuple[Mapping[str, Any], str]] = field(default_factory=list)  # (nom., note)
    trainees: list[dict[str, Any]] = field(default_factory=list)  # rows for the 学员 sheet

    @property
    def empty(self) -> bool:
        return not (self.admit or self.reject or self.trainees)


def _objections_by_nomination(
    objections: Iterable[Mapping[str, Any]],
) -> dict[str, list[Mapping[str, Any]]]:
    out: dict[str, list[Mapping[str, Any]]] = {}
    for o in objections:
        out.setdefault(str(o.get("nomination") or ""), []).append(o)
    return out


def finalise_problem(
    cohort_name: str,
    nominations: Iterable[Mapping[str, Any]],
    objections: Iterable[Mapping[str, Any]],
    *,
    today: dt.date,
) -> Problem | None:
    """Why the cohort's admission cannot be finalised today (``nominations``: the cohort's)."""
    noms = list(nominations)
    public = [n for n in noms if n.get("status") == IN_PUBLICITY]
    if not public and not any(n.get("status") == ADMITTED for n in noms):
        return (
            N_("“{cohort}”还没有公示中的人选，不能确定录取名单。请先开始公示。"),
            {"cohort": cohort_name},
        )
    ends = [n.get("publicity_end") for n in public]
    if any(not isinstance(e, dt.date) for e in ends):
        return (
            N_(
                "有公示中的人选没有公示结束日期（工作簿中被清空了？），请在“公示与录取”页面重新开始公示，或在工作簿中补上日期。"
            ),
            {},
        )
    if ends:
        last = max(e for e in ends if isinstance(e, dt.date))
        if today <= last:
            return (
                N_("公示期到 {end} 才结束，{next} 起才能确定录取名单。"),
                {"end": last.isoformat(), "next": (last + dt.timedelta(days=1)).isoformat()},
            )
    public_ids = {n.get("id") for n in public}
    pending = [
        o for o in objections if o.get("status") == PENDING and o.get("nomination") in public_ids
    ]
    if pending:
        names = {n.get("id"): n.get("name") or n.get("id") for n in public}
        who = "、".join(sorted({str(names[o.get("nomination")]) for o in pending}))
        return (
            N_("还有 {n} 条异议待核查（{names}），全部核查处理后才能确定录取名单。"),
            {"n": len(pending), "names": who},
        )
    return None


def trainee_row(nomination: Mapping[str, Any], admitted_on: dt.date) -> dict[str, Any]:
    """The 学员 roster row of an admitted nomination."""
    return {
        "nomination": nomination["id"],
        "cohort": nomination.get("cohort"),
        "name": nomination.get("name"),
        "gender": nomination.get("gender"),
        "district": nomination.get("district"),
        "school": nomination.get("school"),
        "position": nomination.get("position"),
        "phone": nomination.get("phone"),
        "email": nomination.get("email"),
        "status": TRAINEE_ACTIVE,
        "admitted_at": admitted_on,
    }


def finalise_plan(
    nominations: Iterable[Mapping[str, Any]],
    objections: Iterable[Mapping[str, Any]],
    trainees: Iterable[Mapping[str, Any]],
    *,
    today: dt.date,
) -> Plan:
    """The changes that finalise a cohort (call :func:`finalise_problem` first).

    ``nominations`` are the cohort's; ``trainees`` every trainee row, voided ones included, so
    a nomination never gets a second trainee: running it again after it succeeded plans
    nothing new, and after an interruption it only completes what is missing.
    """
    noms = list(nominations)
    by_nomination = _objections_by_nomination(objections)
    has_trainee = {str(t.get("nomination")) for t in trainees if t.get("nomination")}
    plan = Plan()
    for n in noms:
        status = n.get("status")
        if status == IN_PUBLICITY:
            raised = by_nomination.get(str(n.get("id")), [])
            upheld = [o for o in raised if o.get("status") == UPHELD]
            if upheld:
                text = "；".join(str(o.get("resolution") or "").strip() for o in upheld)
                plan.reject.append((n, NOTE_UPHELD.format(resolution=text)))
                continue
            start, end = n.get("publicity_start"), n.get("publicity_end")
            template = NOTE_ADMITTED_AFTER_CHECK if raised else NOTE_ADMITTED
            note = template.format(
                start=start.isoformat() if isinstance(start, dt.date) else "",
                end=end.isoformat() if isinstance(end, dt.date) else "",
            )
            plan.admit.append((n, note))
        elif status in (SUBMITTED, IN_REVIEW):
            plan.reject.append((n, NOTE_NOT_SELECTED))
        elif status == PROPOSED:
            plan.reject.append((n, NOTE_NOT_PUBLICISED.format(date=today.isoformat())))
    admitted = [n for n, _note in plan.admit] + [n for n in noms if n.get("status") == ADMITTED]
    for n in admitted:
        if str(n.get("id")) not in has_trainee:
            has_trainee.add(str(n.get("id")))
            plan.trainees.append(trainee_row(n, today))
    return plan
