"""The mentor roster (导师库): admins list, add and edit mentors; a mentor sees their own row
and may update its title and expertise (everything else, phone included, goes through the
office)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from mingxiao.database import get_db
from mingxiao.policy import authorize, require
from mingxiao.schema_forms import form_values, merge_base, parse_merge_base

from .. import rules
from ..blueprint import bp
from ..forms import MENTOR_FIELDS, MENTOR_SELF_FIELDS, merge_form
from .common import insert, names, record_or_404, update

LIST_COLUMNS = ("id", "name", "organisation", "expertise", "phone", "active")


@bp.get("/")
@login_required
def index() -> Any:
    require("mentors.roster")
    db = get_db()
    day = db.today()
    mentors = sorted(db.table("mentors").all(), key=lambda m: (m.get("active") is False, m.id))
    loads = {
        load.mentor: load
        for load in rules.mentor_load(
            [m.id for m in mentors], db.table("mentor_assignments").all(), day
        )
    }
    accounts = {
        str(u.get("mentor"))
        for u in db.table("users").all()
        if u.get("mentor") and u.get("active") is not False
    }
    schema = db.schemas["mentors"]
    columns = [(k, _("编号") if k == "id" else schema.column(k).header) for k in LIST_COLUMNS]
    return render_template(
        "mentors/index.html",
        mentors=mentors,
        columns=columns,
        loads=loads,
        accounts=accounts,
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    require("mentors.roster")
    db = get_db()
    form = merge_form(db.schemas["mentors"], MENTOR_FIELDS, data={"active": True})
    if form.validate_on_submit():
        rec = insert("mentors", form, form_values(form, MENTOR_FIELDS))
        if rec is not None:
            flash(_("已添加导师 %(id)s。", id=rec.id), "success")
            return redirect(url_for("mentors.detail", mentor_id=rec.id))
    return render_template("mentors/form.html", form=form, mentor=None)


@bp.get("/<mentor_id>")
@login_required
def detail(mentor_id: str) -> Any:
    mentor = record_or_404("mentors", mentor_id, "mentors.view")
    db = get_db()
    day = db.today()
    assignments = [
        a for a in db.table("mentor_assignments").where(mentor=mentor.id) if a.get("trainee")
    ]
    assignments.sort(
        key=lambda a: (not rules.active_on(a, day), rules.as_date(a.get("start_date")) or day)
    )
    logs = db.table("mentoring_logs").where(mentor=mentor.id)
    by_year = rules.guidance_hours(logs, period="year")
    return render_template(
        "mentors/detail.html",
        mentor=mentor,
        schema=db.schemas["mentors"],
        fields=MENTOR_FIELDS,
        assignments=assignments,
        active={a.id for a in assignments if rules.active_on(a, day)},
        trainee_names=names("trainees"),
        hours_by_year=sorted(((p, h) for (_m, p), h in by_year.items()), reverse=True),
        total_hours=sum(by_year.values()),
        log_count=len(logs),
        reveal=authorize(current_user, "mentors.roster"),
        can_edit=authorize(current_user, "mentors.edit", mentor),
        can_assign=authorize(current_user, "mentors.assign"),
    )


@bp.route("/<mentor_id>/edit", methods=["GET", "POST"])
@login_required
def edit(mentor_id: str) -> Any:
    mentor = record_or_404("mentors", mentor_id, "mentors.edit")
    db = get_db()
    keys = MENTOR_FIELDS if authorize(current_user, "mentors.roster") else MENTOR_SELF_FIELDS
    form = merge_form(db.schemas["mentors"], keys, data=dict(mentor))
    if request.method == "GET":
        form["form_base"].data = merge_base(mentor, keys)
    if form.validate_on_submit():
        done = update(
            "mentors",
            mentor,
            form_values(form, keys),
            base=parse_merge_base(form["form_base"].data),
            form=form,
            done=_("已保存导师信息。"),
            next_url=url_for("mentors.detail", mentor_id=mentor.id),
        )
        if done is not None:
            return done
    return render_template("mentors/form.html", form=form, mentor=mentor)
