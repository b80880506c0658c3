"""Workshop pages: parse the form, ask the policy and the rules, call the engine, render.

A trainee founds and runs their own workshop (details, members with their outcomes,
activities); district staff read the workshops of their area, mentors those of their assigned
trainees, admins all of them. Every record-level route asks ``require(action, workshop)``,
which refuses anyone else's workshop with a bare 404; a member or activity is only found
through the workshop it belongs to.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.exceptions import HTTPException

from mingxiao.database import get_db
from mingxiao.policy import authorize, mentor_trainee_ids, require
from mingxiao.schema_forms import (
    form_values,
    merge_base,
    parse_merge_base,
    problem_text,
    schema_form,
    show_error,
    show_problems,
)
from mingxiao.sheetdb import Page, Record, ValidationError

from . import rules
from .blueprint import bp
from .forms import ACTIVITY_FIELDS, MEMBER_FIELDS, WORKSHOP_FIELDS
from .summary import summarize, summary_of

# workshops per page of the list
PER_PAGE = 50

CONFLICT_MESSAGE = "有人在您编辑期间改了同一项内容，您的修改已暂存为冲突，尚未生效。请打开冲突页面选择保留哪一方的值。"


# --------------------------------------------------------------------------- helpers


def _workshop_or_404(workshop_id: str, action: str) -> Record:
    """The stored workshop if the user may ``action`` it; a bare 404 otherwise."""
    rec = get_db().table("workshops").get(workshop_id)
    if rec is None:
        abort(404)
    require(action, rec, status=404)
    return rec


def _child_or_404(sheet: str, child_id: str, workshop: Record) -> Record:
    """A member or activity row of ``workshop`` (another workshop's row is a 404)."""
    rec = get_db().table(sheet).get(child_id)
    if rec is None or str(rec.get("workshop") or "") != workshop.id:
        abort(404)
    return rec


def _own_trainee() -> Record | None:
    tid = getattr(current_user, "trainee_id", None)
    return get_db().table("trainees").get(str(tid)) if tid else None


def _choices_for(col: Any) -> Sequence[str]:
    return get_db().choices_for(col) if col.type == "enum" else ()


def _update(sheet: str, rec: Record, values: dict[str, Any], form: Any, done: str) -> Any:
    """Save an edit (three-way merge against what the form showed); None if the form has errors."""
    try:
        result = (
            get_db()
            .table(sheet)
            .update(
                rec.id,
                values,
                base=parse_merge_base(request.form.get("_base")),
                user=current_user.email,
            )
        )
    except ValidationError as exc:
        show_problems(form, exc.details)
        return None
    if result.status == "parked" and result.op is not None:
        flash(_(CONFLICT_MESSAGE), "warning")
        return redirect(url_for("admin.conflict", seq=result.op.seq))
    flash(done, "success")
    return redirect(url_for("workshops.detail", workshop_id=str(rec.get("workshop") or rec.id)))


def trainee_profile_url(trainee_id: str) -> str | None:
    """The trainee's profile page (``/trainees/<id>``) if the app has one."""
    from flask import current_app

    path = f"/trainees/{trainee_id}"
    try:
        current_app.url_map.bind("localhost").match(path, method="GET")
    except HTTPException:
        return None
    return path


@bp.context_processor
def workshop_helpers() -> dict[str, Any]:
    return {"trainee_profile_url": trainee_profile_url}


# --------------------------------------------------------------------------- list and detail


def _visible_workshops(district: str | None) -> list[Record]:
    """The workshops the signed-in user may read (admins: filtered by ``district`` if given)."""
    table = get_db().table("workshops")
    role = getattr(current_user, "role", None)
    if authorize(current_user, "workshops.all_districts"):
        rows = table.where(district=district) if district else table.all()
    elif role == "district":
        rows = table.where(district=current_user.district)
    elif role == "mentor":
        mine = mentor_trainee_ids(current_user)
        rows = [w for w in table.all() if str(w.get("trainee") or "") in mine]
    else:
        rows = table.where(trainee=str(getattr(current_user, "trainee_id", "") or ""))
    # the rule has the last word on every row (deny by default)
    rows = [w for w in rows if authorize(current_user, "workshops.view", w)]
    return sorted(rows, key=lambda w: (str(w.get("district") or ""), w.id))


@bp.get("/")
@login_required
def index() -> Any:
    require("workshops.view")
    db = get_db()
    admin = authorize(current_user, "workshops.all_districts")
    district = (request.args.get("district") or None) if admin else None
    rows = _visible_workshops(district)
    number = max(1, request.args.get("page", 1, type=int) or 1)
    start = (number - 1) * PER_PAGE
    page = Page(items=[], total=len(rows), page=number, per_page=PER_PAGE)
    shown = rows[start : start + PER_PAGE]
    # members, activities and leaders are read for this page's workshops only
    page.items = summarize(db, shown)
    table = db.table("trainees")
    leaders = {str(w.get("trainee") or "") for w in shown}
    trainees = {tid: t for tid in leaders if tid and (t := table.get(tid)) is not None}
    can_found = authorize(current_user, "workshops.manage") and not rules.workshops_of(
        str(getattr(current_user, "trainee_id", "") or ""), db.table("workshops").all()
    )
    return render_template(
        "workshops/index.html",
        page=page,
        trainees=trainees,
        schema=db.schemas["workshops"],
        admin=admin,
        districts=db.choices("districts") if admin else [],
        district=district,
        can_found=can_found,
        can_check=authorize(current_user, "workshops.health"),
    )


@bp.get("/<workshop_id>")
@login_required
def detail(workshop_id: str) -> Any:
    rec = _workshop_or_404(workshop_id, "workshops.view")
    db = get_db()
    summary = summary_of(db, rec)
    return render_template(
        "workshops/detail.html",
        s=summary,
        workshop=rec,
        trainee=db.table("trainees").get(str(rec.get("trainee") or "")),
        schema=db.schemas["workshops"],
        member_schema=db.schemas["workshop_members"],
        activity_schema=db.schemas["workshop_activities"],
        principal_outcomes=rules.PRINCIPAL_OUTCOMES,
        can_manage=authorize(current_user, "workshops.manage", rec),
        today=db.today(),
    )


# --------------------------------------------------------------------------- the workshop


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    require("workshops.manage")
    db = get_db()
    trainee = _own_trainee()
    if trainee is None:
        abort(404)
    problem = rules.second_workshop_problem(trainee.id, db.table("workshops").all())
    if problem is not None:  # one workshop per trainee: send them to the one they lead
        flash(problem_text(problem), "error")
        existing = rules.workshops_of(trainee.id, db.table("workshops").all())[0]
        return redirect(url_for("workshops.detail", workshop_id=existing["id"]))
    schema = db.schemas["workshops"]
    form = schema_form(
        schema,
        WORKSHOP_FIELDS,
        _choices_for,
        # A suggested name: workbook data, Chinese in every UI language.
        data={"name": f"{trainee.get('name') or ''}名校长工作室",
              "base_school": trainee.get("school")},
    )  # fmt: skip
    if form.validate_on_submit():
        values = form_values(form, WORKSHOP_FIELDS)
        values.update(trainee=trainee.id, district=trainee.get("district"))
        try:
            rec = db.table("workshops").insert(values, user=current_user.email)
        except ValidationError as exc:
            show_problems(form, exc.details)
        else:
            flash(_("工作室已建立。接下来可以登记成员和活动。"), "success")
            return redirect(url_for("workshops.detail", workshop_id=rec.id))
    return render_template("workshops/form.html", form=form, workshop=None, kind="workshop")


@bp.route("/<workshop_id>/edit", methods=["GET", "POST"])
@login_required
def edit(workshop_id: str) -> Any:
    rec = _workshop_or_404(workshop_id, "workshops.manage")
    schema = get_db().schemas["workshops"]
    form = schema_form(schema, WORKSHOP_FIELDS, _choices_for, data=dict(rec))
    if form.validate_on_submit():
        done = _update(
            "workshops", rec, form_values(form, WORKSHOP_FIELDS), form, _("已保存工作室信息。")
        )
        if done is not None:
            return done
    return render_template(
        "workshops/form.html",
        form=form,
        workshop=rec,
        kind="workshop",
        base=request.form.get("_base") or merge_base(rec, WORKSHOP_FIELDS),
    )


# --------------------------------------------------------------------------- members


def _check_member(form: Any, values: dict[str, Any]) -> bool:
    problem = rules.member_dates_problem(values.get("joined_on"), values.get("left_on"))
    if problem is not None:
        show_error(form, "left_on", problem_text(problem))
        return False
    return True


@bp.route("/<workshop_id>/members/new", methods=["GET", "POST"])
@login_required
def member_new(workshop_id: str) -> Any:
    workshop = _workshop_or_404(workshop_id, "workshops.manage")
    db = get_db()
    form = schema_form(
        db.schemas["workshop_members"],
        MEMBER_FIELDS,
        _choices_for,
        data={"district": workshop.get("district"), "role": "成员", "joined_on": db.today()},
    )
    if form.validate_on_submit():
        values = form_values(form, MEMBER_FIELDS)
        if _check_member(form, values):
            try:
                db.table("workshop_members").insert(
                    {**values, "workshop": workshop.id}, user=current_user.email
                )
            except ValidationError as exc:
                show_problems(form, exc.details)
            else:
                flash(_("已登记成员 %(name)s。", name=values.get("name")), "success")
                return redirect(url_for("workshops.detail", workshop_id=workshop.id))
    return render_template("workshops/form.html", form=form, workshop=workshop, kind="member")


@bp.route("/<workshop_id>/members/<member_id>/edit", methods=["GET", "POST"])
@login_required
def member_edit(workshop_id: str, member_id: str) -> Any:
    workshop = _workshop_or_404(workshop_id, "workshops.manage")
    member = _child_or_404("workshop_members", member_id, workshop)
    form = schema_form(
        get_db().schemas["workshop_members"], MEMBER_FIELDS, _choices_for, data=dict(member)
    )
    if form.validate_on_submit():
        values = form_values(form, MEMBER_FIELDS)
        if _check_member(form, values):
            done = _update(
                "workshop_members",
                member,
                values,
                form,
                _("已保存成员 %(name)s。", name=values["name"]),
            )
            if done is not None:
                return done
    return render_template(
        "workshops/form.html",
        form=form,
        workshop=workshop,
        record=member,
        kind="member",
        base=request.form.get("_base") or merge_base(member, MEMBER_FIELDS),
    )


# --------------------------------------------------------------------------- activities


@bp.route("/<workshop_id>/activities/new", methods=["GET", "POST"])
@login_required
def activity_new(workshop_id: str) -> Any:
    workshop = _workshop_or_404(workshop_id, "workshops.manage")
    db = get_db()
    form = schema_form(
        db.schemas["workshop_activities"],
        ACTIVITY_FIELDS,
        _choices_for,
        data={"date": db.today(), "location": workshop.get("base_school")},
    )
    if form.validate_on_submit():
        values = form_values(form, ACTIVITY_FIELDS)
        try:
            db.table("workshop_activities").insert(
                {**values, "workshop": workshop.id}, user=current_user.email
            )
        except ValidationError as exc:
            show_problems(form, exc.details)
        else:
            flash(_("已登记活动“%(topic)s”。", topic=values.get("topic")), "success")
            return redirect(url_for("workshops.detail", workshop_id=workshop.id))
    return render_template("workshops/form.html", form=form, workshop=workshop, kind="activity")


@bp.route("/<workshop_id>/activities/<activity_id>/edit", methods=["GET", "POST"])
@login_required
def activity_edit(workshop_id: str, activity_id: str) -> Any:
    workshop = _workshop_or_404(workshop_id, "workshops.manage")
    activity = _child_or_404("workshop_activities", activity_id, workshop)
    form = schema_form(
        get_db().schemas["workshop_activities"], ACTIVITY_FIELDS, _choices_for, data=dict(activity)
    )
    if form.validate_on_submit():
        done = _update(
            "workshop_activities",
            activity,
            form_values(form, ACTIVITY_FIELDS),
            form,
            _("已保存活动。"),
        )
        if done is not None:
            return done
    return render_template(
        "workshops/form.html",
        form=form,
        workshop=workshop,
        record=activity,
        kind="activity",
        base=request.form.get("_base") or merge_base(activity, ACTIVITY_FIELDS),
    )


# --------------------------------------------------------------------------- sheet health


@bp.get("/health")
@login_required
def health() -> Any:
    require("workshops.health")
    from .sheet_health import workshop_sheet_check

    return render_template("workshops/health.html", check=workshop_sheet_check(get_db()))
