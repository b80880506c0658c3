"""我的学员: the mentor's own trainees (``mentor_trainee_ids``: today's assignments) with their
hours, attendance risk, deliverables, development plan and the mentor's logs."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template
from flask_login import current_user, login_required

from mingxiao.database import get_db
from mingxiao.policy import mentor_trainee_ids, require

from .. import progress, rules
from ..blueprint import bp
from .common import names, profile_url


def my_progress(user: Any) -> list[progress.Progress]:
    """Progress of ``user``'s current trainees, most at risk first."""
    db = get_db()
    mine = mentor_trainee_ids(user)
    day = db.today()
    roles = {
        str(a["trainee"]): str(a.get("role") or "")
        for a in db.table("mentor_assignments").where(mentor=user.mentor_id)
        if rules.active_on(a, day) and str(a.get("trainee")) in mine
    }
    return progress.trainee_progress(
        db, current_app.config, mine, roles=roles, mentor=str(user.mentor_id)
    )


@bp.get("/my")
@login_required
def my() -> Any:
    require("mentors.portal")
    rows = my_progress(current_user)
    return render_template(
        "mentors/my.html",
        rows=rows,
        cohorts=names("cohorts"),
        profiles={p.id: profile_url(p.id) for p in rows},
        allowance=rows[0].absence.allowance if rows else None,
    )
