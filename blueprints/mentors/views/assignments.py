"""Who guides whom (导师分配) and the load view: the city office's pages.

A new assignment is checked by ``rules.validate_assignment`` (one lead at a time, end not
before start, no duplicate pair, co-mentor limit, mentor 在聘). Taking over as lead can end
the old lead's assignment the day before (更换主导师). The list also shows what the sheet
itself breaks (``rules.assignment_problems``), since staff edit the tab directly.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from mingxiao.database import get_db
from mingxiao.policy import require
from mingxiao.schema_forms import (
    form_values,
    merge_base,
    parse_merge_base,
    problem_text,
    show_problems,
)
from mingxiao.sheetdb import ValidationError

from .. import rules
from ..blueprint import bp
from ..forms import (
    ASSIGNMENT_EDIT_FIELDS,
    ASSIGNMENT_FIELDS,
    EndForm,
    merge_form,
    replace_lead_field,
)
from .common import insert, max_co, names, record_or_404, trainee_label, update

SHEET = "mentor_assignments"


def _trainee_choices() -> list[tuple[str, str]]:
    db = get_db()
    cohorts = names("cohorts")
    trainees = sorted(db.table("trainees").all(), key=lambda t: (str(t.get("cohort")), t.id))
    return [
        (
            t.id,
            f"{trainee_label(t, t.id)} · {cohorts.get(str(t.get('cohort')), '')} · {t.get('status') or ''}",
        )
        for t in trainees
    ]


def _mentor_choices(*, active_only: bool) -> list[tuple[str, str]]:
    rows = get_db().table("mentors").all()
    return [
        (m.id, f"{m.get('name') or ''}（{m.id}）· {m.get('organisation') or ''}")
        for m in rows
        if not active_only or m.get("active") is not False
    ]


def _choices(keys: tuple[str, ...]) -> dict[str, list[tuple[str, str]]]:
    db = get_db()
    out: dict[str, list[tuple[str, str]]] = {"role": [(r, r) for r in db.choices("mentor_roles")]}
    if "trainee" in keys:
        out["trainee"] = _trainee_choices()
    if "mentor" in keys:
        out["mentor"] = _mentor_choices(active_only=True)
    return out


@bp.get("/assignments")
@login_required
def assignments() -> Any:
    require("mentors.assign")
    db = get_db()
    day = db.today()
    show_all = request.args.get("show") == "all"
    trainees = {t.id: t for t in db.table("trainees").all()}
    rows = db.table(SHEET).all()
    problems = rules.assignment_problems(rows, trainees, day, max_co=max_co())
    listed = rows if show_all else [r for r in rows if rules.active_on(r, day)]
    listed.sort(key=lambda r: (str(r.get("trainee")), r.get("role") != rules.LEAD, r.id))
    return render_template(
        "mentors/assignments.html",
        rows=listed,
        show_all=show_all,
        active={r.id for r in rows if rules.active_on(r, day)},
        problems=[(tid, problem_text(p)) for tid, p in problems],
        trainees=trainees,
        mentor_names=names("mentors"),
        cohorts=names("cohorts"),
        end_form=EndForm(),
        today=day,
    )


@bp.route("/assignments/new", methods=["GET", "POST"])
@login_required
def assignment_new() -> Any:
    require("mentors.assign")
    db = get_db()
    day = db.today()
    prefill = {
        "trainee": request.args.get("trainee") or None,
        "mentor": request.args.get("mentor") or None,
        "role": rules.CO,
        "start_date": day,
    }
    form = merge_form(
        db.schemas[SHEET],
        ASSIGNMENT_FIELDS,
        _choices(ASSIGNMENT_FIELDS),
        extra={"replace_lead": replace_lead_field()},
        data=prefill,
    )
    if form.validate_on_submit():
        values = form_values(form, ASSIGNMENT_FIELDS)
        table = db.table(SHEET)
        existing = table.all()
        old_lead = rules.lead_to_replace(values, existing) if form["replace_lead"].data else None
        if old_lead is not None:
            handover = rules.handover_end(values["start_date"])
            existing = [
                r.copy_with({"end_date": handover}) if r.id == old_lead["id"] else r
                for r in existing
            ]
        problems = rules.validate_assignment(
            values,
            existing,
            mentors={m.id: m for m in db.table("mentors").all()},
            trainees={t.id: t for t in db.table("trainees").all()},
            max_co=max_co(),
        )
        if old_lead is not None:
            problem = rules.handover_problem(old_lead, values["start_date"])
            if problem is not None:
                problems.setdefault("start_date", problem)
        if not problems:
            try:
                table.validate(values, partial=False)
            except ValidationError as exc:
                problems = exc.details
        show_problems(form, problems)
        if not problems:
            if old_lead is not None:
                note = _("更换主导师：由 %(mentor)s 接任", mentor=values["mentor"])
                table.update(
                    old_lead["id"],
                    {"end_date": handover, "note": _join(old_lead.get("note"), note)},
                    user=current_user.email,
                )
            rec = insert(SHEET, form, values)
            if rec is not None:
                flash(_("已分配导师（%(id)s）。", id=rec.id), "success")
                return redirect(url_for("mentors.assignments"))
    return render_template("mentors/assignment_form.html", form=form, assignment=None)


def _join(old: Any, new: str) -> str:
    old_text = str(old or "").strip()
    return f"{old_text}；{new}" if old_text else new


@bp.route("/assignments/<assignment_id>/edit", methods=["GET", "POST"])
@login_required
def assignment_edit(assignment_id: str) -> Any:
    row = record_or_404(SHEET, assignment_id, "mentors.assign")
    db = get_db()
    form = merge_form(
        db.schemas[SHEET], ASSIGNMENT_EDIT_FIELDS, _choices(ASSIGNMENT_EDIT_FIELDS), data=dict(row)
    )
    if request.method == "GET":
        form["form_base"].data = merge_base(row, ASSIGNMENT_EDIT_FIELDS)
    if form.validate_on_submit():
        changes = form_values(form, ASSIGNMENT_EDIT_FIELDS)
        problems = rules.validate_assignment(
            {**row, **changes},
            db.table(SHEET).all(),
            exclude_id=row.id,
            max_co=max_co(),
        )
        show_problems(form, problems)
        if not problems:
            done = update(
                SHEET,
                row,
                changes,
                base=parse_merge_base(form["form_base"].data),
                form=form,
                done=_("已保存导师分配。"),
                next_url=url_for("mentors.assignments"),
            )
            if done is not None:
                return done
    return render_template(
        "mentors/assignment_form.html",
        form=form,
        assignment=row,
        trainee=db.table("trainees").get(str(row.get("trainee") or "")),
        mentor=db.table("mentors").get(str(row.get("mentor") or "")),
    )


@bp.post("/assignments/<assignment_id>/end")
@login_required
def assignment_end(assignment_id: str) -> Any:
    row = record_or_404(SHEET, assignment_id, "mentors.assign")
    form = EndForm()
    form.validate_on_submit()  # CSRF is checked app-wide; the rule below says what is missing
    end = form.end_date.data
    problem = rules.end_problem(row, end)
    if problem is not None:
        flash(problem_text(problem), "error")
        return redirect(url_for("mentors.assignments"))
    changes: dict[str, Any] = {"end_date": end}
    reason = (form.note.data or "").strip()
    if reason:
        changes["note"] = _join(row.get("note"), _("结束：%(reason)s", reason=reason))
    result = get_db().table(SHEET).update(row.id, changes, user=current_user.email)
    if result.status == "parked" and result.op is not None:
        flash(_("这条分配刚被别人改过，操作已暂存为冲突。请打开冲突页面处理。"), "warning")
        return redirect(url_for("admin.conflict", seq=result.op.seq))
    flash(_("已结束分配 %(id)s，最后指导日为 %(end)s。", id=row.id, end=end.isoformat()), "success")
    return redirect(url_for("mentors.assignments"))


@bp.get("/load")
@login_required
def load() -> Any:
    require("mentors.assign")
    db = get_db()
    day = db.today()
    mentors = {m.id: m for m in db.table("mentors").all()}
    trainees = {t.id: t for t in db.table("trainees").all()}
    loads = rules.mentor_load(mentors, db.table(SHEET).all(), day)
    year_start = day.replace(month=1, day=1)
    hours = rules.hours_by_mentor(db.table("mentoring_logs").all(), start=year_start, end=day)
    problems = rules.assignment_problems(db.table(SHEET).all(), trainees, day, max_co=max_co())
    no_lead = rules.trainees_without_lead(db.table(SHEET).all(), trainees, day)
    peak = max((x.total for x in loads), default=0)
    return render_template(
        "mentors/load.html",
        loads=loads,
        mentors=mentors,
        trainees=trainees,
        hours=hours,
        year=day.year,
        peak=peak,
        no_lead=no_lead,
        problem_count=len(problems),
    )
