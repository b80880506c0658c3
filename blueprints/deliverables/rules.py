"""Completion rules as plain functions (no Flask): deliverables, research, forum talks, plans.

The thresholds are data (``requirements.toml`` beside this file): five kinds of deliverables
(结业作业), research and presentations. Every check returns a :class:`Requirement` — met or
not, and the reason as a :data:`Problem` (a Chinese msgid template marked with ``N_`` plus its
parameters; the UI shows ``_(template).format(**params)``). The final-assessment checklist
(issue 6 item 4) calls :func:`deliverable_requirements`, :func:`research_requirement`,
:func:`presentation_requirement` and :func:`plan_requirement`.

Versions: a deliverable is identified by (trainee, kind, title); each upload is a row with a
``version`` (1, 2, …). A new upload after a return is a new row with the next version, so every
version, its file and its review stay in the sheet. Only the latest version of each item counts.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from mingxiao.sheetdb.types import N_

R = TypeVar("R", bound=Mapping[str, Any])
Problem = tuple[str, dict[str, Any]]
"""(Chinese msgid template with ``{placeholders}``, params); the UI does ``_(t).format(**p)``."""

REQUIREMENTS_FILE = Path(__file__).with_name("requirements.toml")

PENDING, PASSED, RETURNED = "待审阅", "已通过", "已退回"
LEVELS = ("区县级", "市级", "省级", "国家级", "国际")  # the ``levels`` choice list, in order
ACTIVE_RESEARCH = ("已立项", "研究中", "已结题")  # approved and not stopped
AWARD, PUBLICATION = "获奖", "发表"
MANUAL_REASON_MIN = 4  # a reason for a typed 字数 is a sentence, not "无"
MAX_MANUAL_CHARS = 5_000_000
# 培养状态 after which the trainee's own training record is archived: the plan, deliverables,
# research, talks and pairings become read-only for them (they feed the 结业 checklist, and an
# edit after 结业 would e.g. withdraw the plan's sign-off). Admins still correct in the sheet.
CLOSED_STATUSES = frozenset({"结业"})
CLOSED_PROBLEM: Problem = (
    N_("已结业：培养档案已归档，学员本人不能再修改；如需更正，请联系管理员。"),
    {},
)


def record_closed(trainee: Mapping[str, Any] | None) -> bool:
    """True once the trainee (a trainees row) has 结业: their own records are read-only."""
    return trainee is not None and str(trainee.get("status") or "") in CLOSED_STATUSES


# --------------------------------------------------------------------------- thresholds


@dataclass(frozen=True)
class KindRule:
    """One kind of deliverable: how many passed items, each with at least ``min_chars`` 字."""

    kind: str
    min_count: int
    min_chars: int | None = None
    unit: str = "篇"
    description: str = ""


@dataclass(frozen=True)
class Requirements:
    """Everything ``requirements.toml`` says."""

    kinds: tuple[KindRule, ...]
    research_min_projects: int = 1
    research_min_level: str = "市级"
    presentations_min_count: int = 3
    presentations_min_level: str = "市级"

    def rule(self, kind: str) -> KindRule | None:
        return next((r for r in self.kinds if r.kind == kind), None)


class RequirementsError(ValueError):
    """``requirements.toml`` is malformed (named key and value)."""


def load_requirements(
    path: str | Path | None = None,
    *,
    kinds: Sequence[str] | None = None,
    levels: Sequence[str] = LEVELS,
) -> Requirements:
    """Read and check the thresholds; ``kinds``/``levels`` are the schema's choice lists."""
    source = Path(path) if path else REQUIREMENTS_FILE
    with source.open("rb") as fh:
        data = tomllib.load(fh)
    rules = []
    for entry in data.get("kinds", []):
        kind = entry.get("kind")
        if kinds is not None and kind not in kinds:
            raise RequirementsError(f"{source}: kind {kind!r} is not in deliverable_kinds")
        min_count = entry.get("min_count", 1)
        min_chars = entry.get("min_chars")
        if not isinstance(min_count, int) or min_count < 1:
            raise RequirementsError(f"{source}: {kind}: min_count must be an integer ≥ 1")
        if min_chars is not None and (not isinstance(min_chars, int) or min_chars < 1):
            raise RequirementsError(f"{source}: {kind}: min_chars must be an integer ≥ 1")
        rules.append(
            KindRule(
                kind=str(kind),
                min_count=min_count,
                min_chars=min_chars,
                unit=str(entry.get("unit", "篇")),
                description=str(entry.get("description", "")),
            )
        )
    if kinds is not None and {r.kind for r in rules} != set(kinds):
        raise RequirementsError(f"{source}: every deliverable kind needs exactly one entry")
    research = data.get("research", {})
    talks = data.get("presentations", {})
    for name, level in (
        ("research", research.get("min_level")),
        ("presentations", talks.get("min_level")),
    ):
        if level is not None and level not in levels:
            raise RequirementsError(f"{source}: [{name}] min_level {level!r} is not a level")
    return Requirements(
        kinds=tuple(rules),
        research_min_projects=int(research.get("min_projects", 1)),
        research_min_level=str(research.get("min_level", "市级")),
        presentations_min_count=int(talks.get("min_count", 3)),
        presentations_min_level=str(talks.get("min_level", "市级")),
    )


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Requirement:
    """One line of a checklist: met or not, with the reason in words."""

    key: str
    label: str  # sheet data (a kind) or a msgid
    met: bool
    reason: Problem
    count: int = 0
    needed: int = 0
    chars: int | None = None  # the best 字数 among the items (kinds with a 字数 threshold)
    min_chars: int | None = None
    pending: int = 0
    returned: int = 0


def _n(value: int) -> str:
    return f"{value:,}"


# --------------------------------------------------------------------------- versions


def item_key(row: Mapping[str, Any]) -> tuple[str, str, str]:
    """What makes versions one deliverable: the trainee, the kind and the title."""
    return (str(row.get("trainee") or ""), str(row.get("kind") or ""), str(row.get("title") or ""))


def _version(row: Mapping[str, Any]) -> tuple[int, Any, str]:
    version = row.get("version")
    submitted = row.get("submitted_at")
    return (
        version if isinstance(version, int) else 1,
        submitted if isinstance(submitted, dt.datetime) else dt.datetime.min,
        str(row.get("id") or ""),
    )


def latest_versions(rows: Iterable[R]) -> list[R]:
    """The latest version of every deliverable among ``rows``, in first-seen order."""
    best: dict[tuple[str, str, str], R] = {}
    for row in rows:
        key = item_key(row)
        if key not in best or _version(row) > _version(best[key]):
            best[key] = row
    return list(best.values())


def versions_of(rows: Iterable[R], row: Mapping[str, Any]) -> list[R]:
    """Every version of ``row``'s deliverable, newest first."""
    key = item_key(row)
    return sorted((r for r in rows if item_key(r) == key), key=_version, reverse=True)


def is_latest(rows: Iterable[Mapping[str, Any]], row: Mapping[str, Any]) -> bool:
    """True if no other version of the same deliverable is newer than ``row``."""
    versions = versions_of(rows, row)
    return bool(versions) and versions[0].get("id") == row.get("id")


def next_version(rows: Iterable[Mapping[str, Any]], row: Mapping[str, Any]) -> int:
    """The version number of a new upload replacing ``row``'s deliverable."""
    return max((_version(r)[0] for r in versions_of(rows, row)), default=0) + 1


def resubmit_problem(rows: Iterable[Mapping[str, Any]], row: Mapping[str, Any]) -> Problem | None:
    """Why a new version of ``row`` cannot be uploaded now, or None."""
    rows = list(rows)
    if not is_latest(rows, row):
        return (N_("这不是最新版本，请在最新版本上重新提交。"), {})
    if row.get("review_status") != RETURNED:
        return (N_("只有导师退回的作业才能重新提交；待审阅或已通过的作业不能替换。"), {})
    return None


def review_problem(
    rows: Iterable[Mapping[str, Any]], row: Mapping[str, Any], decision: str, comment: str
) -> Problem | None:
    """Why this review cannot be recorded, or None."""
    if not is_latest(list(rows), row):
        return (N_("这不是最新版本，请审阅最新版本。"), {})
    if row.get("review_status") != PENDING:
        return (N_("这份作业已经审阅过了。"), {})
    if decision not in (PASSED, RETURNED):
        return (N_("请选择“通过”或“退回修改”。"), {})
    if decision == RETURNED and not (comment or "").strip():
        return (N_("退回时请写明需要修改的地方。"), {})
    return None


def duplicate_title_problem(
    rows: Iterable[Mapping[str, Any]], trainee: str, kind: str, title: str
) -> Problem | None:
    """A new deliverable may not reuse the title of one the trainee already has of that kind."""
    key = (trainee, kind, title.strip())
    if any(item_key(r) == key for r in rows):
        return (
            N_(
                "已有同名的“{kind}”作业“{title}”。修改后重新提交请在原作业页面操作，新作业请换一个标题。"
            ),
            {"kind": kind, "title": title.strip()},
        )
    return None


def manual_count_problem(has_text: bool, manual: int | None, reason: str | None) -> Problem | None:
    """A typed 字数 needs a reason; a file without text (a scan) needs a typed 字数."""
    reason = (reason or "").strip()
    if manual is None:
        if not has_text:
            return (
                N_(
                    "这个文件中没有可以提取的文字（可能是扫描件或图片），系统无法统计字数。"
                    "请在“人工统计字数”中填写字数，并说明原因。"
                ),
                {},
            )
        if reason:
            return (N_("填写了人工统计的原因，但没有填写字数。请填写字数，或清空原因。"), {})
        return None
    if manual < 0 or manual > MAX_MANUAL_CHARS:
        return (N_("人工统计的字数应在 0 到 {max} 之间。"), {"max": _n(MAX_MANUAL_CHARS)})
    if len(reason) < MANUAL_REASON_MIN:
        return (N_("人工填报字数时，请说明原因（如：扫描件、纸质专著按版权页字数）。"), {})
    return None


# --------------------------------------------------------------------------- deliverables


def meets_chars(rule: KindRule, chars: Any) -> bool:
    """True if ``chars`` reaches the kind's 字数 threshold (always, for kinds without one)."""
    if rule.min_chars is None:
        return True
    return isinstance(chars, int) and chars >= rule.min_chars


def kind_requirement(rule: KindRule, rows: Iterable[Mapping[str, Any]]) -> Requirement:
    """Met when ``rule.min_count`` deliverables of the kind are passed and long enough.

    ``rows`` may hold every version of every deliverable of one trainee; only the latest
    version of each counts, voided rows never.
    """
    latest = [
        r
        for r in latest_versions(r for r in rows if not getattr(r, "voided", False))
        if r.get("kind") == rule.kind
    ]
    passed = [r for r in latest if r.get("review_status") == PASSED]
    qualifying = [r for r in passed if meets_chars(rule, r.get("char_count"))]
    short = [r for r in passed if not meets_chars(rule, r.get("char_count"))]
    pending = sum(1 for r in latest if r.get("review_status") == PENDING)
    returned = sum(1 for r in latest if r.get("review_status") == RETURNED)
    counts = [c for r in latest if isinstance(c := r.get("char_count"), int)]
    chars = max(counts) if counts and rule.min_chars is not None else None
    met = len(qualifying) >= rule.min_count
    params = {
        "kind": rule.kind,
        "unit": rule.unit,
        "count": len(qualifying),
        "needed": rule.min_count,
        "missing": max(rule.min_count - len(qualifying), 0),
        "pending": pending,
        "returned": returned,
        "min_chars": _n(rule.min_chars or 0),
        "chars": _n(chars or 0),
    }
    reason: Problem
    if met:
        if rule.min_chars is not None:
            reason = (
                N_("已通过 {count} {unit}，字数 {chars}，达到不少于 {min_chars} 字的要求。"),
                params,
            )
        else:
            reason = (N_("已通过 {count} {unit}，达到 {needed} {unit}的要求。"), params)
    elif not latest:
        reason = (N_("尚未提交{kind}（要求 {needed} {unit}）。"), params)
    elif short and rule.min_chars is not None:
        params["chars"] = _n(max(r.get("char_count") or 0 for r in short))
        reason = (N_("已通过的{kind}字数为 {chars}，少于 {min_chars} 字的要求。"), params)
    elif pending:
        reason = (
            N_("已通过 {count} {unit}，还差 {missing} {unit}；另有 {pending} {unit}待导师审阅。"),
            params,
        )
    elif returned:
        reason = (
            N_(
                "已通过 {count} {unit}，还差 {missing} {unit}；有 {returned} {unit}被退回，待修改后重新提交。"
            ),
            params,
        )
    else:
        reason = (
            N_("已通过 {count} {unit}，还差 {missing} {unit}（要求 {needed} {unit}）。"),
            params,
        )
    return Requirement(
        key=f"deliverable:{rule.kind}",
        label=rule.kind,
        met=met,
        reason=reason,
        count=len(qualifying),
        needed=rule.min_count,
        chars=chars,
        min_chars=rule.min_chars,
        pending=pending,
        returned=returned,
    )


def deliverable_requirements(
    requirements: Requirements, rows: Iterable[Mapping[str, Any]]
) -> list[Requirement]:
    """One line per kind of deliverable, in the order of ``requirements.toml``."""
    rows = list(rows)
    return [kind_requirement(rule, rows) for rule in requirements.kinds]


# --------------------------------------------------------------------------- research, talks


def is_city_or_above(level: Any, minimum: str = "市级", levels: Sequence[str] = LEVELS) -> bool:
    """True for 市级, 省级, 国家级, 国际 (any level at or above ``minimum`` in ``levels``)."""
    if level not in levels or minimum not in levels:
        return False
    return list(levels).index(str(level)) >= list(levels).index(minimum)


def research_outcome_ok(project: Mapping[str, Any], minimum: str = "市级") -> bool:
    """An award at ``minimum`` level or above, or a publication (公开发表: any level)."""
    outcome = project.get("outcome_type")
    if outcome == PUBLICATION:
        return True
    return outcome == AWARD and is_city_or_above(project.get("outcome_level"), minimum)


def research_project_ok(project: Mapping[str, Any], minimum: str = "市级") -> bool:
    """Approved at ``minimum`` level or above and not stopped or still only applied for."""
    return project.get("status") in ACTIVE_RESEARCH and is_city_or_above(
        project.get("level"), minimum
    )


def research_requirement(
    requirements: Requirements, projects: Iterable[Mapping[str, Any]]
) -> Requirement:
    """≥ N projects approved at city level or above, one of them with a qualifying outcome."""
    minimum = requirements.research_min_level
    live = [p for p in projects if not getattr(p, "voided", False)]
    approved = [p for p in live if research_project_ok(p, minimum)]
    with_outcome = [p for p in approved if research_outcome_ok(p, minimum)]
    needed = requirements.research_min_projects
    params = {"count": len(approved), "needed": needed, "level": minimum}
    met = len(approved) >= needed and bool(with_outcome)
    if met:
        reason = (
            N_("主持{level}及以上立项课题 {count} 项，成果已获奖或公开发表。"),
            params,
        )
    elif not live:
        reason = (N_("尚未登记课题（要求主持 {needed} 项{level}及以上立项课题）。"), params)
    elif len(approved) < needed:
        reason = (
            N_(
                "{level}及以上立项课题 {count} 项，要求 {needed} 项（申报中、已终止或区县级课题不计）。"
            ),
            params,
        )
    else:
        reason = (
            N_("课题成果尚未获得{level}及以上奖项，也未公开发表。"),
            params,
        )
    return Requirement(
        key="research",
        label=N_("课题研究"),
        met=met,
        reason=reason,
        count=len(approved),
        needed=needed,
    )


def presentation_requirement(
    requirements: Requirements, talks: Iterable[Mapping[str, Any]]
) -> Requirement:
    """≥ 3 forum presentations at city level or above."""
    minimum = requirements.presentations_min_level
    live = [t for t in talks if not getattr(t, "voided", False)]
    counted = [t for t in live if is_city_or_above(t.get("level"), minimum)]
    needed = requirements.presentations_min_count
    params = {
        "count": len(counted),
        "needed": needed,
        "missing": max(needed - len(counted), 0),
        "level": minimum,
        "other": len(live) - len(counted),
    }
    met = len(counted) >= needed
    if met:
        reason = (N_("{level}及以上论坛展示 {count} 次，达到 {needed} 次的要求。"), params)
    elif params["other"]:
        reason = (
            N_(
                "{level}及以上论坛展示 {count} 次，还差 {missing} 次（另有 {other} 次级别不够，不计入）。"
            ),
            params,
        )
    else:
        reason = (N_("{level}及以上论坛展示 {count} 次，还差 {missing} 次。"), params)
    return Requirement(
        key="presentations",
        label=N_("论坛展示"),
        met=met,
        reason=reason,
        count=len(counted),
        needed=needed,
    )


# --------------------------------------------------------------------------- plan


def plan_requirement(plan: Mapping[str, Any] | None) -> Requirement:
    """The plan exists, is signed off by the mentor and has a final self-assessment."""
    if plan is None or getattr(plan, "voided", False):
        return Requirement(
            key="plan",
            label=N_("一人一方案"),
            met=False,
            reason=(N_("尚未制定个人发展规划（一人一方案）。"), {}),
        )
    if plan.get("mentor_signoff") is not True:
        return Requirement(
            key="plan",
            label=N_("一人一方案"),
            met=False,
            reason=(N_("个人发展规划尚未经导师确认。"), {}),
        )
    if not str(plan.get("self_assessment") or "").strip():
        return Requirement(
            key="plan",
            label=N_("一人一方案"),
            met=False,
            reason=(N_("个人发展规划已经导师确认，尚未填写结业自我评估。"), {}),
        )
    return Requirement(
        key="plan",
        label=N_("一人一方案"),
        met=True,
        reason=(N_("个人发展规划已经导师确认，并已完成自我评估。"), {}),
    )


SIGNOFF_FIELDS = ("goals", "milestones")
"""Editing these after the mentor signed off withdraws the sign-off (the mentor confirms again)."""


def plan_changes_need_signoff(plan: Mapping[str, Any] | None, values: Mapping[str, Any]) -> bool:
    """True if ``values`` change the goals or milestones of a signed-off plan."""
    if plan is None or plan.get("mentor_signoff") is not True:
        return False
    return any(
        (values.get(k) or "").strip() != (plan.get(k) or "").strip()
        for k in SIGNOFF_FIELDS
        if k in values
    )
