"""A trainee's hours ledger (per module, with bars) and the attendance risk list."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from mingxiao.database import get_db
from mingxiao.policy import authorize, require
from mingxiao.sheetdb import Page

from .. import data, rules
from ..blueprint import bp

# trainees per page of the attendance risk list
PER_PAGE = 50


@bp.get("/hours/<trainee_id>")
@login_required
def hours(trainee_id: str) -> Any:
    """Hours done vs required per module, and absence against the allowance (404 if not yours)."""
    trainee = get_db().table("trainees").get(trainee_id)
    if trainee is None:
        abort(404)
    require("curriculum.hours", trainee, status=404)
    info = data.trainee_hours(trainee)
    return render_template(
        "curriculum/hours.html",
        info=info,
        trainee=trainee,
        today=data.today(),
        can_manage=authorize(current_user, "curriculum.manage"),
        level_labels=rules.LEVEL_LABELS,
    )


@bp.get("/risk")
@login_required
def risk() -> Any:
    """Trainees near or over the absence line, and every absence without approval."""
    require("curriculum.risk")
    cohort_id = request.args.get("cohort") or ""
    cohort = data.current_cohort(cohort_id) if cohort_id else None
    if cohort_id and cohort is None:
        abort(404)
    district = None if authorize(current_user, "curriculum.manage") else current_user.district
    # who is at risk, and the order (worst first), depend on every figure: all are worked out
    # (for the district's trainees only), the page shows 50 of them
    rows = data.risk_rows(cohort, district=district)
    number = max(1, request.args.get("page", 1, type=int) or 1)
    start = (number - 1) * PER_PAGE
    page = Page(
        items=rows[start : start + PER_PAGE], total=len(rows), page=number, per_page=PER_PAGE
    )
    return render_template(
        "curriculum/risk.html",
        page=page,
        filters={"cohort": cohort.id} if cohort is not None else {},
        cohort=cohort,
        cohorts=data.cohorts(),
        district=district,
        settings=data.settings_for(cohort),
        level_labels=rules.LEVEL_LABELS,
    )


@bp.get("/hours/mine")
@login_required
def my_hours() -> Any:
    """A trainee's shortcut to their own ledger."""
    require("curriculum.leave")
    return redirect(url_for("curriculum.hours", trainee_id=current_user.trainee_id))
