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


def _curriculum_data() -> Any | None:
    """The curriculum plugin's absence figures (``blueprints.curriculum.data``), if that plugin
    is installed and enabled; None otherwise (the evidence is then typed by hand)."""
    if "curriculum" not in current_app.blueprints:
        return None
    try:
        from blueprints.curriculum import data
    except ImportError:
        return None
    return data if hasattr(data, "cohort_summaries") else None


def absence_summaries(trainees: list[Record]) -> dict[str, Any]:
    """trainee id → their absence against the allowance (the curriculum plugin's rule, per
    cohort: its 总学时 and sessions), or {} when that rule is not available."""
    data = _curriculum_data()
    if data is None or not trainees:
        return {}
    db = get_db()
    out: dict[str, Any] = {}
    for cohort_id in sorted({str(t.get("cohort") or "") for t in trainees} - {""}):
        cohort = db.table("cohorts").get(cohort_id)
        if cohort is None:
            continue
        mine = [t.id for t in trainees if str(t.get("cohort") or "") == cohort_id]
        # Only the trainees asked about (a district's roster), not the whole cohort.
        summaries = data.cohort_summaries(cohort, mine)
        for t in trainees:
            if str(t.get("cohort") or "") == cohort_id and t.id in summaries:
                out[t.id] = summaries[t.id]
    return out


def absence_evidence(summary: Any) -> str:
    """A sentence of the absence facts, to start the evidence text of a proposal."""

    def fmt(value: Decimal) -> str:
        return f"{value.normalize():f}"

    return (
        f"累计缺勤 {fmt(summary.counted)} 学时（未经同意缺勤 {fmt(summary.unapproved)} 学时，"
        f"迟到早退 {fmt(summary.partial)} 学时，请假 {fmt(summary.approved_leave + summary.pending_leave)} 学时），"
        f"允许缺勤上限为总学时 {fmt(summary.settings.total_hours)} 的 {summary.settings.limit}，"
        f"即 {fmt(summary.allowance)} 学时。"
    )
