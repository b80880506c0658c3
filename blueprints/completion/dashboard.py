"""Home-page widgets of the completion plugin: assessment readiness per role and funding.

- admin: readiness per cohort (trainees meeting each checklist line, fully ready, the latest
  decisions, 结业) and budget against spent per category and per source for each cohort;
- district staff: readiness of their own 区县's trainees per cohort (counts only);
- mentor: one row per trainee assigned to them (lines met / total, what is missing);
- trainee: their own checklist (met / total and the missing lines with the reason).

Whose trainees are counted is the ``completion.readiness`` rule (policy.py), judged per stored
trainee row. Checklists are computed once per request for all the trainees in scope
(:func:`checklists_for`, sharing the thresholds and workshop rows between trainees), not per
widget line. Eliminated trainees (淘汰) are left out of the readiness counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask import current_app, g
from flask_babel import lazy_gettext as _l

from mingxiao.database import get_db
from mingxiao.plugins import Widget
from mingxiao.policy import authorize, is_role, scoped
from mingxiao.sheetdb import Record

from . import assessment, data, rules

ELIMINATED = "淘汰"
READINESS_ORDER = 70
FUNDING_ORDER = 320
MISSING_SHOWN = 4  # missing lines named per trainee in the mentor's widget
_CACHE = "_completion_checklists"


def checklists_for(db: Any, trainees: list[Record]) -> dict[str, assessment.Checklist]:
    """The checklists of ``trainees``, computed at most once per request (kept in ``g``)."""
    cache: dict[str, assessment.Checklist] = g.setdefault(_CACHE, {})
    missing = [t for t in trainees if t.id not in cache]
    if missing:
        cache.update(assessment.checklists(db, missing))
    return {t.id: cache[t.id] for t in trainees}


# --------------------------------------------------------------------------- readiness


@dataclass
class LineCount:
    """How many trainees meet one checklist line (``unknown``: cannot be judged)."""

    key: str
    label: str
    met: int = 0
    unknown: int = 0
    total: int = 0

    @property
    def percent(self) -> int:
        return rules.percent(Decimal(self.met), Decimal(self.total))


@dataclass
class CohortReadiness:
    cohort: Record
    trainees: int = 0
    ready: int = 0  # every line met
    completed: int = 0  # status 结业
    lines: list[LineCount] = field(default_factory=list)
    decisions: dict[str, int] = field(default_factory=dict)  # latest decision → trainees
    undecided: int = 0

    @property
    def ready_percent(self) -> int:
        return rules.percent(Decimal(self.ready), Decimal(self.trainees))


def _counted(trainees: list[Record]) -> list[Record]:
    return [t for t in trainees if str(t.get("status") or "") != ELIMINATED]


def cohort_readiness(
    db: Any, trainees: list[Record], *, with_decisions: bool
) -> list[CohortReadiness]:
    """Readiness per cohort of ``trainees`` (cohorts without any of them are left out)."""
    people = _counted(trainees)
    checks = checklists_for(db, people)
    latest: dict[str, Any] = {}
    if with_decisions:
        by_trainee: dict[str, list[Any]] = {}
        for a in db.table("assessments").all():
            by_trainee.setdefault(str(a.get("trainee") or ""), []).append(a)
        latest = {tid: rules.latest_assessment(rows) for tid, rows in by_trainee.items()}
    decision_values = list(db.choices("assessment_decisions")) if with_decisions else []
    out = []
    for cohort in data.cohorts(db):
        mine = [t for t in people if str(t.get("cohort") or "") == cohort.id]
        if not mine:
            continue
        row = CohortReadiness(cohort, trainees=len(mine))
        row.decisions = {d: 0 for d in decision_values}
        lines: dict[str, LineCount] = {}
        for t in sorted(mine, key=lambda r: r.id):
            check = checks[t.id]
            for line in check.lines:
                count = lines.setdefault(line.key, LineCount(line.key, line.label))
                count.total += 1
                count.met += line.met is True
                count.unknown += line.met is None
            row.ready += check.complete
            row.completed += str(t.get("status") or "") == rules.COMPLETED_STATUS
            if with_decisions:
                decided = latest.get(t.id)
                value = str(decided.get("decision") or "") if decided is not None else ""
                if value:
                    row.decisions[value] = row.decisions.get(value, 0) + 1
                else:
                    row.undecided += 1
        row.lines = list(lines.values())
        out.append(row)
    return out


@dataclass
class ReadinessTable:
    """Cohorts as columns, checklist lines as rows (a cell is None when a cohort lacks it)."""

    cohorts: list[CohortReadiness]
    lines: list[tuple[str, list[LineCount | None]]]
    decision_values: list[str]


def readiness_table(cohorts: list[CohortReadiness], decision_values: list[str]) -> ReadinessTable:
    labels: dict[str, str] = {}
    for c in cohorts:
        for line in c.lines:
            labels.setdefault(line.key, line.label)
    lines = []
    for key, label in labels.items():
        cells: list[LineCount | None] = []
        for c in cohorts:
            cells.append(next((n for n in c.lines if n.key == key), None))
        lines.append((label, cells))
    return ReadinessTable(cohorts, lines, decision_values)


@dataclass
class TraineeReadiness:
    trainee: Record
    cohort: str
    checklist: assessment.Checklist

    @property
    def total(self) -> int:
        return len(self.checklist.lines)

    @property
    def percent(self) -> int:
        return rules.percent(Decimal(self.checklist.met), Decimal(self.total))

    @property
    def missing(self) -> list[assessment.Line]:
        return [line for line in self.checklist.lines if line.met is not True]


def trainee_rows(db: Any, trainees: list[Record]) -> list[TraineeReadiness]:
    """One row per trainee (eliminated ones left out), by cohort then id."""
    names = {c.id: data.cohort_label(c) for c in db.table("cohorts").all()}
    people = sorted(_counted(trainees), key=lambda t: (str(t.get("cohort") or ""), t.id))
    checks = checklists_for(db, people)
    return [
        TraineeReadiness(t, names.get(str(t.get("cohort") or ""), ""), checks[t.id]) for t in people
    ]


# --------------------------------------------------------------------------- funding


@dataclass
class BudgetBar:
    """Budget against spent of one category or source (``label`` is sheet data or a msgid)."""

    label: Any
    budget: Decimal
    spent: Decimal

    @property
    def over(self) -> bool:
        return self.budget > 0 and self.spent > self.budget


@dataclass
class CohortFunding:
    cohort: Record
    budget: Decimal
    spent: Decimal
    categories: list[BudgetBar]
    sources: list[BudgetBar]

    @staticmethod
    def width(amount: Decimal, bars: list[BudgetBar]) -> float:
        """``amount`` as a percentage of the largest figure among ``bars`` (their 100 %)."""
        scale = max([b.budget for b in bars] + [b.spent for b in bars] + [Decimal(0)])
        if scale <= 0:
            return 0.0
        return float(min(max(amount * 100 / scale, Decimal(0)), Decimal(100)))


def funding_rows(db: Any) -> list[CohortFunding]:
    """Budget (经费预算) against spent (经费) per category and per source, newest cohort first."""
    out = []
    budget_rows = db.table("budgets").all()
    for cohort in reversed(data.cohorts(db)):
        ledger = data.ledger(db, cohort)
        mine = [b for b in budget_rows if str(b.get("cohort") or "") == cohort.id]
        by_source = rules.budget_totals(mine, by="source")
        categories = [BudgetBar(line.category, line.budget, line.spent) for line in ledger.lines]
        sources = [
            BudgetBar(s, by_source.get(s, Decimal(0)), ledger.totals.by_source.get(s, Decimal(0)))
            for s in ledger.sources
        ]
        if by_source.get(""):
            sources.append(BudgetBar(_l("不分来源"), by_source[""], Decimal(0)))
        out.append(
            CohortFunding(
                cohort=cohort,
                budget=ledger.budget_total,
                spent=ledger.totals.total,
                categories=categories,
                sources=sources,
            )
        )
    return out


# --------------------------------------------------------------------------- widgets


def _trainees_in_scope(db: Any, user: Any) -> list[Record]:
    trainees = db.table("trainees").all()
    if is_role(user, "admin"):
        return trainees
    if is_role(user, "mentor"):  # look only at the assigned ones, then judge each
        from mingxiao.policy import mentor_trainee_ids

        own = mentor_trainee_ids(user)
        trainees = [t for t in trainees if t.id in own]
    elif is_role(user, "trainee"):
        trainees = [t for t in trainees if t.id == str(getattr(user, "trainee_id", "") or "")]
    return scoped(user, "completion.readiness", trainees)


def _profile_links(user: Any) -> bool:
    return "trainees.profile" in current_app.view_functions and authorize(user, "trainees.view")


def dashboard_widgets(user: Any) -> list[Widget]:
    role = getattr(user, "role", None)
    if role not in ("admin", "district", "mentor", "trainee"):
        return []
    if not authorize(user, "completion.readiness"):
        return []
    db = get_db()
    trainees = _trainees_in_scope(db, user)
    if role == "admin":
        widgets = [
            Widget(
                title=_l("结业考核准备情况"),
                template="completion/_widget_readiness.html",
                context={
                    "table": readiness_table(
                        cohort_readiness(db, trainees, with_decisions=True),
                        list(db.choices("assessment_decisions")),
                    ),
                    "decisions": True,
                    "completed_status": rules.COMPLETED_STATUS,
                },
                order=READINESS_ORDER,
            )
        ]
        if authorize(user, "completion.funding"):
            widgets.append(
                Widget(
                    title=_l("各期经费预算与支出"),
                    template="completion/_widget_funding.html",
                    context={"funding": funding_rows(db)},
                    order=FUNDING_ORDER,
                )
            )
        return widgets
    if role == "district":
        return [
            Widget(
                title=_l("本区学员结业考核准备情况"),
                template="completion/_widget_readiness.html",
                context={
                    "table": readiness_table(
                        cohort_readiness(db, trainees, with_decisions=False), []
                    ),
                    "decisions": False,
                    "completed_status": rules.COMPLETED_STATUS,
                },
                order=READINESS_ORDER,
            )
        ]
    if role == "mentor":
        return [
            Widget(
                title=_l("我的学员结业准备情况"),
                template="completion/_widget_mentor.html",
                context={
                    "rows": trainee_rows(db, trainees),
                    "links": _profile_links(user),
                    "shown": MISSING_SHOWN,
                },
                order=READINESS_ORDER,
            )
        ]
    from .views.assessment import line_text

    rows = trainee_rows(db, trainees)
    if not rows:
        return []
    return [
        Widget(
            title=_l("我的结业核对清单"),
            template="completion/_widget_trainee.html",
            context={"row": rows[0], "line_text": line_text},
            order=READINESS_ORDER,
        )
    ]
