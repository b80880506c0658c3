"""The curriculum table (9 modules, 270 h) and the timetable of sessions per cohort."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from mingxiao.database import get_db
from mingxiao.policy import authorize, require
from mingxiao.schema_forms import problem_text
from mingxiao.sheetdb import Record, ValidationError

from .. import data, rules
from ..blueprint import bp
from ..forms import SessionForm

SESSION_FIELDS = (
    "cohort", "module", "title", "date", "start_time", "hours", "location", "type", "lecturer", "note",
)  # fmt: skip


def _error_text(exc: ValidationError) -> dict[str, str]:
    return {key: problem_text(problem) for key, problem in exc.details.items()}


@bp.context_processor
def curriculum_helpers() -> dict[str, Any]:
    """``can_manage_curriculum()`` for the curriculum templates."""
    return {"can_manage_curriculum": lambda: authorize(current_user, "curriculum.manage")}


@bp.get("/")
@login_required
def modules() -> Any:
    """The curriculum: 3 series, 9 topics, their hours and the sum (the programme total)."""
    require("curriculum.view")
    items = data.modules()
    series: dict[str, list[Record]] = {}
    for m in items:
        series.setdefault(str(m.get("series") or ""), []).append(m)
    return render_template(
        "curriculum/modules.html",
        series=series,
        total=rules.curriculum_total(items),
        count=len(items),
    )


@bp.get("/sessions")
@login_required
def sessions() -> Any:
    """One cohort's sessions by date, with module, hours, place and type."""
    require("curriculum.view")
    cohort = data.current_cohort(request.args.get("cohort") or None)
    if cohort is None and request.args.get("cohort"):
        abort(404)
    rows = data.sessions_of(cohort.id) if cohort is not None else []
    module_names = {m.id: m.get("topic") for m in data.modules()}
    hours = rules.cohort_hours(rows, data.programme_hours(cohort), data.today())
    return render_template(
        "curriculum/sessions.html",
        cohort=cohort,
        cohorts=data.cohorts(),
        sessions=rows,
        module_names=module_names,
        hours=hours,
        upcoming={
            s.id for s in rows if (rules.as_date(s.get("date")) or data.today()) > data.today()
        },
    )


def _options(pairs: list[tuple[str, Any]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def _session_form(obj: Record | None = None) -> SessionForm:
    form = SessionForm(data=dict(obj) if obj is not None and request.method == "GET" else None)
    db = get_db()
    form.cohort.choices = _options(
        [("", _("请选择"))] + [(c.id, str(c.get("name") or c.id)) for c in data.cohorts()]
    )
    form.module.choices = _options(
        [("", _("（不计入模块）"))]
        + [
            (m.id, f"{m.get('series')} · {m.get('topic')}（{m.get('hours')}）")
            for m in data.modules()
        ]
    )
    form.type.choices = _options(
        [("", _("请选择"))] + [(t, t) for t in db.choices("session_types")]
    )
    if obj is not None and request.method == "GET":
        for key in ("cohort", "module", "type"):
            getattr(form, key).data = obj.get(key) or ""
    return form


def _values(form: SessionForm) -> dict[str, Any]:
    return {key: getattr(form, key).data for key in SESSION_FIELDS}


def _apply_errors(form: SessionForm, exc: ValidationError) -> None:
    for key, text in _error_text(exc).items():
        target = getattr(form, key, None)
        if target is not None:
            target.errors = [*target.errors, text]
        else:
            form.form_errors.append(text)


@bp.route("/sessions/new", methods=["GET", "POST"])
@login_required
def session_new() -> Any:
    """Add a session to a cohort's timetable (admin)."""
    require("curriculum.manage")
    form = _session_form()
    if request.method == "GET" and request.args.get("cohort"):
        form.cohort.data = request.args["cohort"]
    if form.validate_on_submit():
        try:
            rec = get_db().table("sessions").insert(_values(form), user=current_user.email)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            flash(_("已添加培训安排 %(id)s。", id=rec.id), "success")
            return redirect(url_for("curriculum.sessions", cohort=rec.get("cohort")))
    return render_template("curriculum/session_form.html", form=form, session=None)


@bp.route("/sessions/<session_id>/edit", methods=["GET", "POST"])
@login_required
def session_edit(session_id: str) -> Any:
    """Edit a session (admin); a value changed in the sheet meanwhile is a conflict, not lost."""
    require("curriculum.manage")
    table = get_db().table("sessions")
    rec = table.get(session_id)
    if rec is None:
        abort(404)
    form = _session_form(rec)
    if form.validate_on_submit():
        # What the form showed; a field without its base merges against the sheet as it is.
        base = {k: request.form[f"base_{k}"] for k in SESSION_FIELDS if f"base_{k}" in request.form}
        try:
            result = table.update(rec.id, _values(form), base=base, user=current_user.email)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            if result.status == "parked":
                flash(
                    _(
                        "保存未生效：有人在表格中同时修改了“%(fields)s”。请到“同步与冲突”页面选择保留哪个值。",
                        fields="、".join(c.header for c in result.conflicts),
                    ),
                    "warning",
                )
            else:
                flash(_("已保存培训安排 %(id)s。", id=rec.id), "success")
            return redirect(url_for("curriculum.sessions", cohort=rec.get("cohort")))
    shown: dict[str, Any] = {k: rec.get(k) for k in SESSION_FIELDS}
    return render_template("curriculum/session_form.html", form=form, session=rec, base=shown)
