"""一人一方案: one development plan per trainee, the mentor's sign-off.

The trainee writes goals, milestones, progress notes and, at the end, a self-assessment; an
assigned mentor signs the plan off. After 结业 the plan is read-only for the trainee. Changing the goals or milestones of a signed-off plan
withdraws the sign-off (the mentor confirms the changed plan again); progress notes and the
self-assessment can be written at any time without touching the sign-off.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from mingxiao.database import get_db
from mingxiao.policy import authorize
from mingxiao.schema_forms import problem_text, schema_form, show_error
from mingxiao.sheetdb import Record, ValidationError

from .. import rules
from ..blueprint import bp
from ..forms import PLAN_FIELDS, SignoffForm
from .common import RecordData, choices_for, closed, parked, refuse_closed, trainee_or_404

SHEET = "development_plans"


def plan_of(trainee_id: str) -> Record | None:
    """The trainee's plan (the first live row; one plan per person)."""
    rows = [r for r in get_db().table(SHEET).where(trainee=trainee_id) if not r.voided]
    return sorted(rows, key=lambda r: r.id)[0] if rows else None


@bp.get("/plan/<trainee_id>")
@login_required
def plan(trainee_id: str) -> str:
    """The plan of one trainee, with its sign-off."""
    trainee = trainee_or_404(trainee_id, "plans.view")
    current = plan_of(trainee.id)
    archived = closed(trainee.id)
    return render_template(
        "deliverables/plan.html",
        trainee=trainee,
        plan=current,
        requirement=rules.plan_requirement(current),
        schema=get_db().schemas[SHEET],
        fields=PLAN_FIELDS,
        can_edit=not archived and authorize(current_user, "plans.edit", trainee),
        closed_note=problem_text(rules.CLOSED_PROBLEM) if archived else None,
        can_signoff=current is not None
        and current.get("mentor_signoff") is not True
        and authorize(current_user, "plans.signoff", trainee),
        signoff_form=SignoffForm(),
    )


@bp.route("/plan/<trainee_id>/edit", methods=["GET", "POST"])
@login_required
def plan_edit(trainee_id: str) -> Any:
    """The trainee writes (or first creates) their plan."""
    trainee = trainee_or_404(trainee_id, "plans.edit")
    refused = refuse_closed(trainee.id, url_for("deliverables.plan", trainee_id=trainee.id))
    if refused is not None:  # after 结业 the plan is read-only (GET and POST)
        return refused
    db = get_db()
    schema = db.schemas[SHEET]
    current = plan_of(trainee.id)
    form = schema_form(schema, PLAN_FIELDS, choices_for, obj=RecordData(current))
    if form.validate_on_submit():
        values = {k: (form[k].data or "").strip() or None for k in PLAN_FIELDS}
        withdraw = rules.plan_changes_need_signoff(current, values)
        if withdraw:
            values.update({"mentor_signoff": False, "signed_by": None, "signed_at": None})
        try:
            if current is None:
                db.table(SHEET).insert({"trainee": trainee.id, **values}, user=current_user.email)
            else:
                base = {k: current.get(k) for k in (*PLAN_FIELDS, "mentor_signoff")}
                result = db.table(SHEET).update(
                    current.id, values, base=base, user=current_user.email
                )
                conflict = parked(result)
                if conflict is not None:
                    return conflict
        except ValidationError as exc:
            for key, problem in exc.details.items():
                show_error(form, key if key in form else "goals", problem_text(problem))
        else:
            flash(_("已保存个人发展规划。"), "success")
            if withdraw:
                flash(
                    _("发展目标或阶段安排已改动，需要导师重新确认。"),
                    "warning",
                )
            return redirect(url_for("deliverables.plan", trainee_id=trainee.id))
    return render_template("deliverables/plan_form.html", trainee=trainee, plan=current, form=form)


@bp.post("/plan/<trainee_id>/signoff")
@login_required
def plan_signoff(trainee_id: str) -> Any:
    """An assigned mentor confirms the plan as it stands."""
    trainee = trainee_or_404(trainee_id, "plans.signoff")
    back = redirect(url_for("deliverables.plan", trainee_id=trainee.id))
    current = plan_of(trainee.id)
    if not SignoffForm().validate_on_submit():
        flash(_("表单已过期，请重试。"), "error")
        return back
    if current is None:
        flash(_("学员还没有制定个人发展规划，暂时无法确认。"), "warning")
        return back
    if current.get("mentor_signoff") is True:
        flash(_("这份方案已经确认过了。"), "info")
        return back
    db = get_db()
    result = db.table(SHEET).update(
        current.id,
        {"mentor_signoff": True, "signed_by": current_user.email, "signed_at": db.now()},
        base={"mentor_signoff": current.get("mentor_signoff")},
        user=current_user.email,
    )
    conflict = parked(result)
    if conflict is not None:
        return conflict
    flash(_("已确认个人发展规划。"), "success")
    return back
