"""Reading trainees, cohorts and absence evidence for the pages (Flask app context needed)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import abort, current_app

from mingxiao.database import get_db
from mingxiao.policy import require
from mingxiao.sheetdb import Record


def trainee_or_404(trainee_id: str, action: str = "trainees.view") -> Record:
    """The stored trainee if the user may ``action`` it; 404 otherwise (nothing confirmed)."""
    rec = get_db().table("trainees").get(trainee_id)
    if rec is None or rec.voided:
        abort(404)
    require(action, rec, status=404)
    return rec


def case_or_404(case_id: str, action: str = "trainees.eliminations") -> Record:
    """The stored elimination case if the user may ``action`` it; 404 otherwise."""
    rec = get_db().table("elimination_cases").get(case_id)
    if rec is None or rec.voided:
        abort(404)
    require(action, rec, status=404)
    return rec


def cohorts() -> list[Record]:
    """Every cohort, in the order of their 期次序号."""
    return sorted(get_db().table("cohorts").all(), key=lambda c: (c.get("number") or 0, c.id))


def cohort_names() -> dict[str, str]:
    return {c.id: str(c.get("name") or c.id) for c in cohorts()}


def curriculum_total() -> int:
    """The programme's hours as the curriculum data has them (the sum of 课程模块 学时)."""
    return sum(int(m.get("hours") or 0) for m in get_db().table("curriculum_modules").all())


def _curriculum_rules() -> Any | None:
    """The curriculum plugin's absence rule, if that plugin is installed and has it."""
    try:
        from blueprints.curriculum import rules
    except ImportError:
        return None
    needed = ("summaries_by_trainee", "settings_from_config", "curriculum_total")
    return rules if all(hasattr(rules, n) for n in needed) else None


def absence_summaries(trainee_ids: list[str]) -> dict[str, Any]:
    """Each trainee's absence against the allowance (the curriculum plugin's rule), or {} when
    that rule is not available."""
    rules = _curriculum_rules()
    if rules is None or not trainee_ids:
        return {}
    db = get_db()
    try:
        total = rules.curriculum_total(db.table("curriculum_modules").all())
        settings = rules.settings_from_config(current_app.config, total or None)
    except ValueError:
        return {}
    hours = {s.id: s.get("hours") for s in db.table("sessions").all()}
    wanted = set(trainee_ids)
    rows = [r for r in db.table("attendance").all() if str(r.get("trainee") or "") in wanted]
    result: dict[str, Any] = rules.summaries_by_trainee(rows, hours, settings, trainee_ids)
    return result


def absence_evidence(summary: Any) -> str:
    """A sentence of the absence facts, to start the evidence text of a proposal."""

    def fmt(value: Decimal) -> str:
        return f"{value.normalize():f}"

    return (
        f"累计缺勤 {fmt(summary.counted)} 学时（未经同意缺勤 {fmt(summary.unapproved)} 学时，"
        f"迟到早退 {fmt(summary.partial)} 学时，请假 {fmt(summary.approved_leave + summary.pending_leave)} 学时），"
        f"允许缺勤上限为总学时 {fmt(summary.settings.total_hours)} 的五分之一即 {fmt(summary.allowance)} 学时。"
    )
