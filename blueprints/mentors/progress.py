"""One line of progress per trainee for the mentor's portal: hours, absence risk, deliverables,
development plan, mentoring logs.

Hours and risk come from the curriculum plugin's rules (``blueprints.curriculum.rules``:
``hours_ledger``, ``summaries_by_trainee``, ``settings_from_config``), read from the
``attendance``, ``sessions`` and ``curriculum_modules`` sheets with each cohort's own total, so a row typed straight into the sheet counts like one
entered on the web. Deliverables and the plan are counted from their sheets directly.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from blueprints.curriculum import rules as curriculum

from . import rules

APPROVED = "已通过"
PENDING_REVIEW = "待审阅"
RETURNED = "已退回"


@dataclass
class Progress:
    """What a mentor needs to see about one trainee at a glance."""

    trainee: Mapping[str, Any]
    absence: curriculum.AbsenceSummary
    ledger: curriculum.HoursLedger
    role: str = ""
    deliverables: dict[str, int] = field(default_factory=dict)  # review status → count
    plan: Mapping[str, Any] | None = None
    logs: int = 0
    last_log: dt.date | None = None

    @property
    def id(self) -> str:
        return str(self.trainee.get("id") or "")

    @property
    def attended(self) -> Decimal:
        """Hours attended in held sessions of the curriculum modules."""
        return self.ledger.done

    @property
    def required_hours(self) -> Decimal:
        return self.ledger.required

    @property
    def percent_done(self) -> int:
        """Hours done against the modules' required hours (0–100, for the bar)."""
        return self.ledger.percent

    @property
    def level(self) -> str:
        return self.absence.level

    @property
    def level_label(self) -> str:
        return curriculum.LEVEL_LABELS[self.absence.level]

    @property
    def at_risk(self) -> bool:
        return self.absence.level != curriculum.OK or self.absence.flagged_unapproved

    @property
    def submitted(self) -> int:
        return sum(self.deliverables.values())

    @property
    def approved(self) -> int:
        return self.deliverables.get(APPROVED, 0)

    @property
    def to_review(self) -> int:
        return self.deliverables.get(PENDING_REVIEW, 0)

    @property
    def plan_state(self) -> str:
        """``missing``, ``draft`` (not signed off by a mentor) or ``signed``."""
        if self.plan is None:
            return "missing"
        return "signed" if self.plan.get("mentor_signoff") else "draft"


def programme_hours(cohort: Mapping[str, Any] | None, modules: list[Any]) -> Decimal:
    """The programme total from the data: the cohort's 总学时, else the curriculum's sum
    (what the curriculum plugin measures the absence allowance against)."""
    hours = rules.as_hours(cohort.get("total_hours")) if cohort is not None else Decimal(0)
    return hours if hours > 0 else curriculum.curriculum_total(modules)


def trainee_progress(
    db: Any,
    config: Mapping[str, Any],
    trainee_ids: Iterable[str],
    *,
    roles: Mapping[str, str] | None = None,
    mentor: str | None = None,
) -> list[Progress]:
    """A :class:`Progress` per existing trainee in ``trainee_ids``, most at risk first.

    ``roles`` maps trainee id → this mentor's role (主导师 / 协作导师); ``mentor`` limits the
    log counts to that mentor's own logs. Sessions after today do not count yet.
    """
    ids = sorted(set(trainee_ids))
    trainees = [t for t in (db.table("trainees").get(tid) for tid in ids) if t is not None]
    if not trainees:
        return []
    wanted = {t.id for t in trainees}
    today = db.today()
    modules = db.table("curriculum_modules").all()
    cohorts = {c.id: c for c in db.table("cohorts").all()}
    sessions: dict[str, list[Any]] = defaultdict(list)
    for s in db.table("sessions").all():
        sessions[str(s.get("cohort") or "")].append(s)
    attendance = [a for a in db.table("attendance").all() if str(a.get("trainee")) in wanted]
    absence: dict[str, curriculum.AbsenceSummary] = {}
    by_cohort: dict[str, list[str]] = defaultdict(list)
    for t in trainees:
        by_cohort[str(t.get("cohort") or "")].append(t.id)
    for cid, members in by_cohort.items():
        settings = curriculum.settings_from_config(
            config, programme_hours(cohorts.get(cid), modules)
        )
        absence.update(
            curriculum.summaries_by_trainee(attendance, sessions[cid], settings, members, today)
        )
    deliverables: dict[str, dict[str, int]] = {tid: {} for tid in wanted}
    for d in db.table("deliverables").all():
        tid = str(d.get("trainee") or "")
        if tid in deliverables:
            status = str(d.get("review_status") or PENDING_REVIEW)
            deliverables[tid][status] = deliverables[tid].get(status, 0) + 1
    plans: dict[str, Any] = {}
    for p in db.table("development_plans").all():
        tid = str(p.get("trainee") or "")
        if tid in wanted:
            plans[tid] = p  # the last row of the sheet is the current plan
    logs: dict[str, list[dt.date]] = {tid: [] for tid in wanted}
    for log in db.table("mentoring_logs").all():
        tid = str(log.get("trainee") or "")
        if tid in logs and (mentor is None or str(log.get("mentor") or "") == mentor):
            day = rules.as_date(log.get("date"))
            if day is not None:
                logs[tid].append(day)
    out = [
        Progress(
            trainee=t,
            absence=absence[t.id],
            ledger=curriculum.hours_ledger(
                t.id, modules, sessions[str(t.get("cohort") or "")], attendance, today
            ),
            role=(roles or {}).get(t.id, ""),
            deliverables=deliverables[t.id],
            plan=plans.get(t.id),
            logs=len(logs[t.id]),
            last_log=max(logs[t.id]) if logs[t.id] else None,
        )
        for t in trainees
    ]
    out.sort(key=lambda p: (-curriculum.LEVEL_ORDER.get(p.level, 0), -p.absence.counted, p.id))
    return out
