"""Queries of the completion pages over the database (no Flask request state).

Hours come from the certificate's 认定学时 when it has one, else from attendance through the
curriculum plugin's :func:`blueprints.curriculum.rules.hours_ledger` (hours attended in held
sessions, modules and others together).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from mingxiao.sheetdb import Record

from . import rules

try:  # the curriculum plugin owns attendance; without it hours come from certificates only
    from blueprints.curriculum import rules as curriculum_rules
except ImportError:  # pragma: no cover - the curriculum plugin ships with the site
    curriculum_rules = None  # type: ignore[assignment]


def cohorts(db: Any) -> list[Record]:
    return sorted(db.table("cohorts").all(), key=lambda c: (rules.dec(c.get("number")), c.id))


def cohort_label(cohort: Mapping[str, Any] | None) -> str:
    if cohort is None:
        return ""
    return str(cohort.get("name") or getattr(cohort, "id", "") or "")


def attendance_hours(db: Any, trainees: Iterable[Record]) -> dict[str, Decimal]:
    """Hours each trainee attended in held sessions (0 without the curriculum plugin)."""
    people = list(trainees)
    if curriculum_rules is None or not people:
        return {t.id: Decimal(0) for t in people}
    modules = db.table("curriculum_modules").all()
    sessions_by_cohort: dict[str, list[Record]] = {}
    for s in db.table("sessions").all():
        sessions_by_cohort.setdefault(str(s.get("cohort") or ""), []).append(s)
    rows_by_trainee: dict[str, list[Record]] = {}
    wanted = {t.id for t in people}
    for row in db.table("attendance").all():
        tid = str(row.get("trainee") or "")
        if tid in wanted:
            rows_by_trainee.setdefault(tid, []).append(row)
    today = db.today()
    out = {}
    for t in people:
        ledger = curriculum_rules.hours_ledger(
            t.id,
            modules,
            sessions_by_cohort.get(str(t.get("cohort") or ""), []),
            rows_by_trainee.get(t.id, []),
            today,
        )
        out[t.id] = Decimal(ledger.done) + Decimal(ledger.other_done)
    return out


def credit_rows(
    db: Any,
    *,
    hours_per_credit: Decimal,
    decimals: int,
    cohort_id: str = "",
    everyone: bool = False,
) -> list[rules.CreditRow]:
    """One row per trainee holding a valid certificate (``everyone``: every live trainee)."""
    cohort_names = {c.id: cohort_label(c) for c in db.table("cohorts").all()}
    certs: dict[str, Record] = {}
    for c in rules.valid_certificates(db.table("certificates").all()):
        certs.setdefault(str(c.get("trainee") or ""), c)  # type: ignore[arg-type]
    people = [
        t
        for t in db.table("trainees").all()
        if (not cohort_id or str(t.get("cohort") or "") == cohort_id)
        and (everyone or t.id in certs)
    ]
    need_attendance = [
        t for t in people if t.id not in certs or certs[t.id].get("hours") in (None, "")
    ]
    attended = attendance_hours(db, need_attendance)
    out = []
    for t in sorted(people, key=lambda r: (str(r.get("cohort") or ""), r.id)):
        cert = certs.get(t.id)
        if cert is not None and cert.get("hours") not in (None, ""):
            hours, source = rules.dec(cert.get("hours")), "certificate"
        else:
            hours, source = attended.get(t.id, Decimal(0)), "attendance"
        out.append(
            rules.CreditRow(
                trainee_id=t.id,
                name=str(t.get("name") or ""),
                cohort=cohort_names.get(str(t.get("cohort") or ""), str(t.get("cohort") or "")),
                district=str(t.get("district") or ""),
                school=str(t.get("school") or ""),
                status=str(t.get("status") or ""),
                certificate=str(cert.get("number") or "") if cert is not None else "",
                hours=hours,
                hours_source=source,
                credits=rules.credits_for(hours, hours_per_credit, decimals),
            )
        )
    return out


# --------------------------------------------------------------------------- funding


@dataclass
class CategoryLine:
    category: str
    budget: Decimal
    spent: Decimal
    by_source: dict[str, Decimal] = field(default_factory=dict)

    @property
    def percent(self) -> int:
        return rules.percent(self.spent, self.budget)

    @property
    def over(self) -> bool:
        return self.budget > 0 and self.spent > self.budget


@dataclass
class Ledger:
    cohort: Record | None
    lines: list[CategoryLine]
    sources: list[str]
    totals: rules.Totals
    budget_total: Decimal
    per_trainee: list[tuple[Record, Decimal, int]]
    unassigned: Decimal
    expenses: list[Record]
    max_spent: Decimal

    @property
    def percent(self) -> int:
        return rules.percent(self.totals.total, self.budget_total)


def ledger(db: Any, cohort: Record | None) -> Ledger:
    """Budget against spent per category and source, and spending per trainee, for a cohort."""
    categories = db.choices("expense_categories")
    sources = db.choices("fund_sources")
    cid = cohort.id if cohort is not None else ""
    expenses = [e for e in db.table("expenses").all() if str(e.get("cohort") or "") == cid]
    totals = rules.expense_totals(expenses, categories, sources)
    budgets = rules.budget_totals(
        b for b in db.table("budgets").all() if str(b.get("cohort") or "") == cid
    )
    lines = []
    for cat in list(totals.by_category):
        split = {s: Decimal(0) for s in sources}
        for e in expenses:
            if str(e.get("category") or "") == cat:
                src = str(e.get("source") or "")
                split[src] = split.get(src, Decimal(0)) + rules.dec(e.get("amount"))
        lines.append(
            CategoryLine(cat, budgets.get(cat, Decimal(0)), totals.by_category[cat], split)
        )
    trainees = {t.id: t for t in db.table("trainees").where(cohort=cid)} if cid else {}
    spent_by: dict[str, tuple[Decimal, int]] = {}
    unassigned = Decimal(0)
    for e in expenses:
        tid = str(e.get("trainee") or "")
        if tid:
            amount, n = spent_by.get(tid, (Decimal(0), 0))
            spent_by[tid] = (amount + rules.dec(e.get("amount")), n + 1)
        else:
            unassigned += rules.dec(e.get("amount"))
    per_trainee = [
        (trainees[tid], amount, n)
        for tid, (amount, n) in sorted(spent_by.items())
        if tid in trainees
    ]
    biggest = max([line.spent for line in lines] + [line.budget for line in lines] + [Decimal(0)])
    return Ledger(
        cohort=cohort,
        lines=lines,
        sources=list(sources),
        totals=totals,
        budget_total=sum(budgets.values(), Decimal(0)),
        per_trainee=per_trainee,
        unassigned=unassigned,
        expenses=sorted(expenses, key=lambda e: (str(e.get("date") or ""), e.id), reverse=True),
        max_spent=biggest,
    )


MENTOR_FEE_CATEGORY = "导师指导费"


def mentor_fee_proposals(db: Any, cohort: Record, rate: Decimal) -> list[rules.MentorFee]:
    """导师指导费 per mentor from the cohort's mentoring logs × ``rate``, with what is recorded."""
    trainee_ids = {t.id for t in db.table("trainees").where(cohort=cohort.id)}
    names = {m.id: str(m.get("name") or m.id) for m in db.table("mentors").all()}
    recorded: dict[str, Decimal] = {}
    for e in db.table("expenses").where(cohort=cohort.id, category=MENTOR_FEE_CATEGORY):
        payee = str(e.get("payee") or "")
        recorded[payee] = recorded.get(payee, Decimal(0)) + rules.dec(e.get("amount"))
    return rules.mentor_fees(db.table("mentoring_logs").all(), trainee_ids, names, rate, recorded)


def today(db: Any) -> dt.date:
    return db.today()
