"""Cohort settings (期次设置, admins): name, number, dates, total programme hours, stage.

The nomination window of a cohort (deadline, quota, guide numbers, open/closed) belongs to the
nominations plugin's 推荐设置 page; this page links there instead of editing it twice. A new
cohort needs a deadline and a quota once (required columns of 期次).
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from mingxiao.database import get_db
from mingxiao.policy import require
from mingxiao.schema_forms import merge_base, parse_merge_base, show_problems
from mingxiao.sheetdb import ValidationError

from .. import rules
from ..blueprint import bp
from ..forms import CohortForm, NewCohortForm
from ..queries import cohorts, curriculum_total

FIELDS = ("name", "number", "start_date", "end_date", "total_hours", "status", "note")
NEW_FIELDS = (*FIELDS, "nomination_deadline", "quota")


def _has_window_page() -> bool:
    return "nominations.window" in current_app.view_functions


def _values(form: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    values = {k: form[k].data for k in keys}
    if isinstance(values.get("note"), str):
        values["note"] = values["note"].strip() or None
    return values


def _dates_ok(form: Any) -> bool:
    if form.start_date.data and form.end_date.data and form.end_date.data <= form.start_date.data:
        form.end_date.errors = [_("结业日期应晚于开班日期。")]
        return False
    return True


@bp.get("/cohorts")
@login_required
def cohort_list() -> Any:
    require("trainees.cohorts")
    db = get_db()
    trainees = db.table("trainees").all()
    counts = {
        c.id: rules.status_counts(t for t in trainees if str(t.get("cohort")) == c.id)
        for c in cohorts()
    }
    return render_template(
        "trainees/cohorts.html",
        cohorts=cohorts(),
        counts=counts,
        statuses=rules.STATUSES,
        curriculum_hours=curriculum_total(),
        window_page=_has_window_page(),
    )


@bp.route("/cohorts/new", methods=["GET", "POST"])
@login_required
def cohort_new() -> Any:
    require("trainees.cohorts")
    db = get_db()
    form = NewCohortForm()
    form.status.choices = [(s, s) for s in db.choices("cohort_statuses")]
    if request.method == "GET":
        form.total_hours.data = curriculum_total() or None
        form.number.data = min(3, len(cohorts()) + 1)
    if form.validate_on_submit() and _dates_ok(form):
        try:
            rec = db.table("cohorts").insert(
                {**_values(form, NEW_FIELDS), "nomination_open": False}, user=current_user.email
            )
        except ValidationError as exc:
            show_problems(form, exc.details)
        else:
            flash(
                _("已新建“%(name)s”。推荐通道默认关闭，可在推荐设置中开放。", name=rec.get("name")),
                "success",
            )
            return redirect(url_for("trainees.cohort_list"))
    return render_template(
        "trainees/cohort_form.html",
        form=form,
        cohort=None,
        curriculum_hours=curriculum_total(),
        window_page=_has_window_page(),
        base="",
    )


@bp.route("/cohorts/<cohort_id>", methods=["GET", "POST"])
@login_required
def cohort_edit(cohort_id: str) -> Any:
    require("trainees.cohorts")
    db = get_db()
    cohort = db.table("cohorts").get(cohort_id)
    if cohort is None or cohort.voided:
        abort(404)
    form = CohortForm(data={k: cohort.get(k) for k in FIELDS})
    form.status.choices = [(s, s) for s in db.choices("cohort_statuses")]
    base = request.form.get("_base") or merge_base(cohort, FIELDS)
    if form.validate_on_submit() and _dates_ok(form):
        try:
            result = db.table("cohorts").update(
                cohort.id,
                _values(form, FIELDS),
                base=parse_merge_base(base),
                user=current_user.email,
            )
        except ValidationError as exc:
            show_problems(form, exc.details)
        else:
            if result.status == "parked":
                flash(
                    _(
                        "有人同时在表格里改了同一项，您的修改已搁置，请到“同步与冲突”中选择保留哪一边。"
                    ),
                    "warning",
                )
            else:
                flash(_("已保存“%(name)s”的设置。", name=form.name.data), "success")
            return redirect(url_for("trainees.cohort_list"))
    return render_template(
        "trainees/cohort_form.html",
        form=form,
        cohort=cohort,
        curriculum_hours=curriculum_total(),
        window_page=_has_window_page(),
        base=base,
    )
