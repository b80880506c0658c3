"""The final-assessment checklist of one trainee, built from the other plugins' rules.

Each line is met, not met, or 无法判断 (``met`` None) with the reason. The rules come from
their owners: hours and absence from ``blueprints.curriculum`` (``data.trainee_hours``), the
five deliverables, research, forum talks and the plan from ``blueprints.deliverables.rules``,
the workshop from ``blueprints.workshops.rules``. When a plugin or a function is missing (or
fails on odd sheet data) the line says 无法判断 and why, instead of guessing.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mingxiao.sheetdb import Record
from mingxiao.sheetdb.types import N_

from . import rules

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Line:
    """One checklist line: ``met`` True / False, or None when it cannot be judged."""

    key: str
    label: str  # a msgid or sheet data (a deliverable kind)
    met: bool | None
    reason: rules.Problem


@dataclass(frozen=True)
class Checklist:
    trainee: Record
    lines: list[Line]

    @property
    def met(self) -> int:
        return sum(1 for line in self.lines if line.met is True)

    @property
    def unmet(self) -> int:
        return sum(1 for line in self.lines if line.met is False)

    @property
    def unknown(self) -> int:
        return sum(1 for line in self.lines if line.met is None)

    @property
    def complete(self) -> bool:
        return bool(self.lines) and all(line.met is True for line in self.lines)


def _unknown(key: str, label: str, why: str) -> Line:
    return Line(key, label, None, (N_("无法判断：{why}"), {"why": why}))


def _guarded(key: str, label: str, build: Callable[[], list[Line]]) -> list[Line]:
    try:
        return build()
    except (ImportError, AttributeError) as exc:
        log.info("checklist line %s cannot be judged: %s", key, exc)
        return [_unknown(key, label, "相关功能模块尚未提供判断规则")]
    except Exception as exc:  # odd sheet data must not break the whole page
        log.warning("checklist line %s failed: %s", key, exc, exc_info=True)
        return [_unknown(key, label, "表格数据无法解析，请检查相关工作表")]


def _from_requirement(req: Any) -> Line:
    template, params = req.reason
    return Line(str(req.key), str(req.label), bool(req.met), (str(template), dict(params)))


def _hours(trainee: Record) -> list[Line]:
    curriculum = importlib.import_module("blueprints.curriculum.data")

    th = curriculum.trainee_hours(trainee)
    absence, ledger = th.absence, th.ledger
    params = {
        "done": rules.hours_text(rules.dec(ledger.done) + rules.dec(ledger.other_done)),
        "required": rules.hours_text(ledger.required),
        "absent": rules.hours_text(absence.counted),
        "allowance": rules.hours_text(absence.allowance),
    }
    if absence.candidate:
        return [
            Line(
                "hours",
                N_("学时与考勤"),
                False,
                (
                    N_(
                        "累计缺勤 {absent} 学时，超过允许的 {allowance} 学时；已完成 {done} / {required} 学时。"
                    ),
                    params,
                ),
            )
        ]
    return [
        Line(
            "hours",
            N_("学时与考勤"),
            True,
            (
                N_(
                    "已完成 {done} / {required} 学时；累计缺勤 {absent} 学时，未超过 {allowance} 学时。"
                ),
                params,
            ),
        )
    ]


class Shared:
    """What every trainee's checklist reads the same way, loaded once for a batch (the
    thresholds file, the workshops and their activities): :func:`checklists` of 150 trainees
    parses the thresholds once instead of four times per trainee."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self._requirements: Any = None
        self._workshops: tuple[list[Any], dict[str, list[Any]]] | None = None

    def requirements(self) -> Any:
        if self._requirements is None:
            deliverables = importlib.import_module("blueprints.deliverables.rules")
            self._requirements = (
                deliverables,
                deliverables.load_requirements(kinds=self.db.choices("deliverable_kinds")),
            )
        return self._requirements

    def workshops(self) -> tuple[list[Any], dict[str, list[Any]]]:
        if self._workshops is None:
            activities: dict[str, list[Any]] = {}
            for a in self.db.table("workshop_activities").all():
                activities.setdefault(str(a.get("workshop") or ""), []).append(a)
            self._workshops = (self.db.table("workshops").all(), activities)
        return self._workshops


def _requirements(db: Any, shared: Shared | None = None) -> Any:
    return (shared or Shared(db)).requirements()


def _deliverables(db: Any, trainee: Record, shared: Shared | None = None) -> list[Line]:
    mod, reqs = _requirements(db, shared)
    rows = db.table("deliverables").where(trainee=trainee.id)
    return [_from_requirement(r) for r in mod.deliverable_requirements(reqs, rows)]


def _research(db: Any, trainee: Record, shared: Shared | None = None) -> list[Line]:
    mod, reqs = _requirements(db, shared)
    return [
        _from_requirement(
            mod.research_requirement(reqs, db.table("research_projects").where(trainee=trainee.id))
        )
    ]


def _presentations(db: Any, trainee: Record, shared: Shared | None = None) -> list[Line]:
    mod, reqs = _requirements(db, shared)
    return [
        _from_requirement(
            mod.presentation_requirement(reqs, db.table("presentations").where(trainee=trainee.id))
        )
    ]


def _plan(db: Any, trainee: Record, shared: Shared | None = None) -> list[Line]:
    mod, _reqs = _requirements(db, shared)
    plans = db.table("development_plans").where(trainee=trainee.id)
    latest = max(plans, key=lambda p: (str(p.get("updated_at") or ""), p.id)) if plans else None
    return [_from_requirement(mod.plan_requirement(latest))]


def _workshop(db: Any, trainee: Record, shared: Shared | None = None) -> list[Line]:
    workshops = importlib.import_module("blueprints.workshops.rules")

    all_workshops, activities_of = (shared or Shared(db)).workshops()
    own = workshops.workshops_of(trainee.id, all_workshops)
    if not own:
        return [Line("workshop", N_("名校长工作室"), False, (N_("尚未组建名校长工作室。"), {}))]
    ids = sorted({str(w.get("id") or "") for w in own})
    activities = [a for wid in ids for a in activities_of.get(wid, [])]
    totals = workshops.activity_totals(activities)
    params = {"name": str(own[0].get("name") or own[0].get("id") or ""), "count": totals.count}
    if totals.count < 1:
        return [
            Line(
                "workshop",
                N_("名校长工作室"),
                False,
                (N_("工作室“{name}”还没有活动记录。"), params),
            )
        ]
    return [
        Line(
            "workshop",
            N_("名校长工作室"),
            True,
            (N_("工作室“{name}”已开展活动 {count} 次。"), params),
        )
    ]


def checklist(db: Any, trainee: Record, shared: Shared | None = None) -> Checklist:
    """The computed checklist of ``trainee`` (a trainees Record)."""
    sh = shared or Shared(db)
    lines: list[Line] = []
    lines += _guarded("hours", N_("学时与考勤"), lambda: _hours(trainee))
    lines += _guarded("deliverables", N_("结业作业"), lambda: _deliverables(db, trainee, sh))
    lines += _guarded("research", N_("课题研究"), lambda: _research(db, trainee, sh))
    lines += _guarded("presentations", N_("高端论坛展示"), lambda: _presentations(db, trainee, sh))
    lines += _guarded("workshop", N_("名校长工作室"), lambda: _workshop(db, trainee, sh))
    lines += _guarded("plan", N_("一人一方案"), lambda: _plan(db, trainee, sh))
    return Checklist(trainee, lines)


def checklists(db: Any, trainees: list[Record]) -> dict[str, Checklist]:
    """The checklists of many trainees (trainee id → checklist), sharing what they all read."""
    shared = Shared(db)
    return {t.id: checklist(db, t, shared) for t in trainees}


def graduate(
    db: Any, trainees: list[Record], assessments: dict[str, list[Any]], *, user: str
) -> tuple[list[str], list[tuple[str, str]]]:
    """Batch: each trainee whose latest decision passes becomes 结业 (history row written).

    Returns (ids changed, [(id, why not)]). Uses the trainees plugin's ``change_status`` (which
    checks the transition and writes 学员状态变更); trainees already 结业 are skipped.
    """
    from blueprints.trainees import status as trainee_status

    changed: list[str] = []
    refused: list[tuple[str, str]] = []
    for t in trainees:
        latest = rules.latest_assessment(assessments.get(t.id, []))
        if latest is None or str(latest.get("decision") or "") not in rules.PASSING_DECISIONS:
            continue
        if str(t.get("status") or "") == rules.COMPLETED_STATUS:
            continue
        reason = f"结业综合考核{latest.get('decision')}（{latest.get('id', '')}），批量结业。"
        try:
            trainee_status.change_status(db, t, rules.COMPLETED_STATUS, reason, user)
        except trainee_status.StatusError as exc:
            refused.append((t.id, str(exc)))
        else:
            changed.append(t.id)
    return changed, refused
