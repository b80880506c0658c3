"""公示与录取 pages: open a publicity period, record and resolve objections, finalise, and the
public list.

Everything but the public page is the city office's (``nominations.publicity``, admins). The
public page (``/nominations/publicity/<cohort>/public``) is open to anyone and shows only the
name, school, 区县 and cohort of the people currently 公示中, the period and how to object.
The rules are in ``publicity.py`` beside this package; this module parses, asks, writes, renders.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, TextAreaField
from wtforms.validators import Length, Optional

from mingxiao.database import get_db
from mingxiao.policy import require
from mingxiao.schema_forms import problem_text
from mingxiao.sheetdb import Record, ValidationError
from mingxiao.sheetdb.types import N_

from .. import publicity
from ..blueprint import bp
from ..forms import options

Problem = publicity.Problem
PERMISSION = "nominations.publicity"


# --------------------------------------------------------------------------- forms


class OpenForm(FlaskForm):
    """Open a period: start (default today), end (blank: computed), how to object."""

    publicity_start = DateField(
        _l("公示开始日期"), validators=[Optional()], render_kw={"type": "date"}
    )
    publicity_end = DateField(
        _l("公示结束日期"), validators=[Optional()], render_kw={"type": "date"}
    )
    publicity_contact = TextAreaField(
        _l("异议受理方式"),
        description=_l("显示在公开的公示页面上：受理单位、地址或电话，以及署名等要求。"),
        validators=[Length(max=1000)],
        render_kw={"rows": 3},
    )


class ObjectionForm(FlaskForm):
    """Record an objection received against a nomination in publicity."""

    nomination = SelectField(_l("被提出异议的人选"), choices=[], validate_choice=False)
    received_on = DateField(_l("收到日期"), validators=[Optional()], render_kw={"type": "date"})
    content = TextAreaField(_l("异议内容"), validators=[Length(max=5000)], render_kw={"rows": 3})


class ResolveForm(FlaskForm):
    """Resolve a 待核查 objection: the conclusion and what the check found."""

    status = SelectField(
        _l("核查结论"),
        choices=options([("", _l("请选择")), *((o, o) for o in publicity.OUTCOMES)]),
        validate_choice=False,
    )
    resolution = TextAreaField(_l("核查结果"), validators=[Length(max=5000)], render_kw={"rows": 2})


# --------------------------------------------------------------------------- helpers


def _calendar() -> publicity.WorkCalendar:
    return publicity.calendar_from_config(current_app.config)


def _cohort_or_404(cohort_id: str) -> Record:
    cohort = get_db().table("cohorts").get(cohort_id)
    if cohort is None:
        abort(404)
    return cohort


def _name(cohort: Record) -> str:
    return str(cohort.get("name") or cohort.id)


def _nominations(cohort: Record) -> list[Record]:
    return get_db().table("nominations").where(cohort=cohort.id)


def _objections(nominations: list[Record]) -> list[Record]:
    ids = {n.id for n in nominations}
    rows = [o for o in get_db().table("publicity_objections").all() if o.get("nomination") in ids]
    return sorted(rows, key=lambda o: (o.get("received_on") or dt.date.min, o.id))


def _district_order() -> dict[str, int]:
    return {d: i for i, d in enumerate(get_db().choices("districts"))}


def _by_district(nominations: list[Record]) -> list[Record]:
    order = _district_order()
    return sorted(
        nominations,
        key=lambda n: (order.get(str(n.get("district")), 99), str(n.get("name") or ""), n.id),
    )


def _default_contact() -> str:
    return _(
        "公示期间，对公示人选如有异议，请以书面形式向杭州市教育局组织处反映，写明具体事实并署真实姓名和联系方式（匿名或内容不具体的不予受理）。"
    )


def _objection_form(nominations: list[Record], **kwargs: Any) -> ObjectionForm:
    form = ObjectionForm(**kwargs)
    public = _by_district([n for n in nominations if n.get("status") == publicity.IN_PUBLICITY])
    form.nomination.choices = options(
        [("", _("请选择")), *((n.id, f"{n.get('name')}（{n.get('school')}）") for n in public)]
    )
    return form


def _attach(form: Any, problems: dict[str, Problem]) -> None:
    for key, problem in problems.items():
        field = form[key]
        field.errors = [*field.errors, problem_text(problem)]


# --------------------------------------------------------------------------- overview


@bp.get("/publicity/")
@login_required
def publicity_index() -> Any:
    require(PERMISSION)
    db = get_db()
    cohorts = sorted(db.table("cohorts").all(), key=lambda c: (c.get("number") or 0, c.id))
    counts: dict[str, Counter[str]] = {c.id: Counter() for c in cohorts}
    for n in db.table("nominations").all():
        if n.get("cohort") in counts:
            counts[str(n["cohort"])][str(n.get("status"))] += 1
    pending: Counter[str] = Counter()
    cohort_of = {n.id: str(n.get("cohort")) for n in db.table("nominations").all()}
    for o in db.table("publicity_objections").all():
        if o.get("status") == publicity.PENDING:
            pending[cohort_of.get(str(o.get("nomination")), "")] += 1
    return render_template(
        "nominations/publicity_index.html",
        cohorts=cohorts,
        counts=counts,
        pending=pending,
        statuses=(publicity.PROPOSED, publicity.IN_PUBLICITY, publicity.ADMITTED),
    )


def _render_cohort(cohort: Record, objection_form: ObjectionForm | None = None) -> str:
    db = get_db()
    today = db.today()
    nominations = _nominations(cohort)
    objections = _objections(nominations)
    names = {n.id: n for n in nominations}
    counts = Counter(str(n.get("status")) for n in nominations)
    problem = publicity.finalise_problem(_name(cohort), nominations, objections, today=today)
    plan = None
    if problem is None:
        plan = publicity.finalise_plan(
            nominations,
            objections,
            db.table("trainees").all(include_voided=True),
            today=today,
        )
    raised = Counter(str(o.get("nomination")) for o in objections)
    return render_template(
        "nominations/publicity_cohort.html",
        cohort=cohort,
        today=today,
        counts=counts,
        statuses=db.choices("nomination_statuses"),
        proposed=_by_district(publicity.publicisable(nominations)),
        public=_by_district([n for n in nominations if n.get("status") == publicity.IN_PUBLICITY]),
        periods=publicity.periods(nominations),
        objections=objections,
        raised=raised,
        names=names,
        objection_form=objection_form or _objection_form(nominations, received_on=today),
        resolve_form=ResolveForm(),
        problem=problem_text(problem) if problem else None,
        plan=plan,
        pending=publicity.PENDING,
        upheld=publicity.UPHELD,
    )


@bp.get("/publicity/<cohort_id>")
@login_required
def publicity_cohort(cohort_id: str) -> Any:
    require(PERMISSION)
    return _render_cohort(_cohort_or_404(cohort_id))


# --------------------------------------------------------------------------- opening a period


@bp.route("/publicity/<cohort_id>/open", methods=["GET", "POST"])
@login_required
def publicity_open(cohort_id: str) -> Any:
    require(PERMISSION)
    cohort = _cohort_or_404(cohort_id)
    db = get_db()
    today = db.today()
    calendar = _calendar()
    nominations = _nominations(cohort)
    candidates = _by_district(publicity.publicisable(nominations))
    form = OpenForm(
        data={
            "publicity_start": today,
            "publicity_contact": cohort.get("publicity_contact") or _default_contact(),
        }
    )
    if form.validate_on_submit():
        problem = publicity.open_problem(_name(cohort), nominations)
        if problem is not None:
            form.form_errors.append(problem_text(problem))
        else:
            start = form.publicity_start.data
            end = form.publicity_end.data
            if start is not None and end is None:
                end = calendar.period_end(start)
            problems = publicity.period_problems(start, end, today=today, calendar=calendar)
            if problems:
                _attach(form, problems)
            else:
                assert start is not None and end is not None
                return _open(cohort, candidates, start, end, form.publicity_contact.data or "")
    return render_template(
        "nominations/publicity_open.html",
        cohort=cohort,
        form=form,
        candidates=candidates,
        working_days=calendar.working_days,
        default_end=calendar.period_end(today),
    )


def _open(
    cohort: Record, candidates: list[Record], start: dt.date, end: dt.date, contact: str
) -> Any:
    db = get_db()
    user = current_user.email
    changes = publicity.open_changes(start, end)
    for n in candidates:
        db.table("nominations").update(n.id, changes, user=user)
    contact = contact.strip() or _default_contact()
    db.table("cohorts").update(cohort.id, {"publicity_contact": contact}, user=user)
    flash(
        _(
            "已开始公示：%(n)d 名拟录取人选，公示期 %(start)s 至 %(end)s。公开页面已可访问。",
            n=len(candidates),
            start=start.isoformat(),
            end=end.isoformat(),
        ),
        "success",
    )
    return redirect(url_for("nominations.publicity_cohort", cohort_id=cohort.id))


# --------------------------------------------------------------------------- objections


@bp.post("/publicity/<cohort_id>/objections")
@login_required
def publicity_objection_new(cohort_id: str) -> Any:
    require(PERMISSION)
    cohort = _cohort_or_404(cohort_id)
    db = get_db()
    nominations = _nominations(cohort)
    form = _objection_form(nominations)
    form.validate_on_submit()  # CSRF is checked app-wide; the rules below say what is missing
    nomination = next((n for n in nominations if n.id == form.nomination.data), None)
    content = (form.content.data or "").strip()
    problems = publicity.objection_problems(
        nomination, form.received_on.data, content, today=db.today()
    )
    if problems or form.errors or nomination is None:
        _attach(form, problems)
        return _render_cohort(cohort, form)
    rec = db.table("publicity_objections").insert(
        {
            "nomination": nomination.id,
            "received_on": form.received_on.data,
            "content": content,
            "status": publicity.PENDING,
        },
        user=current_user.email,
    )
    flash(
        _(
            "已登记对%(name)s的异议（%(id)s），状态为待核查。核查后请在下方填写核查结论。",
            name=nomination.get("name"),
            id=rec.id,
        ),
        "success",
    )
    return redirect(url_for("nominations.publicity_cohort", cohort_id=cohort.id))


@bp.post("/publicity/objections/<objection_id>/resolve")
@login_required
def publicity_objection_resolve(objection_id: str) -> Any:
    require(PERMISSION)
    db = get_db()
    objection = db.table("publicity_objections").get(objection_id)
    if objection is None:
        abort(404)
    nomination = db.table("nominations").get(str(objection.get("nomination") or ""))
    if nomination is None:
        abort(404)
    back = url_for("nominations.publicity_cohort", cohort_id=nomination.get("cohort"))
    form = ResolveForm()
    form.validate_on_submit()  # CSRF is checked app-wide; the rule below says what is missing
    outcome = form.status.data or ""
    resolution = (form.resolution.data or "").strip()
    problem = publicity.resolve_problem(objection, outcome, resolution)
    if problem is None and form.errors:
        problem = (N_("核查结果太长，请精简到 5000 字以内。"), {})
    if problem is not None:
        flash(problem_text(problem), "error")
        return redirect(back)
    db.table("publicity_objections").update(
        objection.id,
        {
            "status": outcome,
            "resolution": resolution,
            "resolved_by": current_user.email,
            "resolved_at": db.now(),
        },
        user=current_user.email,
    )
    flash(_("已记录核查结论：%(outcome)s。", outcome=outcome), "success")
    if outcome == publicity.UPHELD and nomination.get("status") != publicity.IN_PUBLICITY:
        flash(
            _(
                "%(name)s已不在公示中（状态：%(status)s），异议成立不会自动改变其录取结果，请另行处理。",
                name=nomination.get("name"),
                status=nomination.get("status"),
            ),
            "warning",
        )
    return redirect(back)


# --------------------------------------------------------------------------- finalising


@bp.post("/publicity/<cohort_id>/finalise")
@login_required
def publicity_finalise(cohort_id: str) -> Any:
    require(PERMISSION)
    cohort = _cohort_or_404(cohort_id)
    db = get_db()
    today = db.today()
    back = redirect(url_for("nominations.publicity_cohort", cohort_id=cohort.id))
    nominations = _nominations(cohort)
    objections = _objections(nominations)
    problem = publicity.finalise_problem(_name(cohort), nominations, objections, today=today)
    if problem is not None:
        flash(problem_text(problem), "error")
        return back
    trainees = db.table("trainees")
    plan = publicity.finalise_plan(
        nominations, objections, trainees.all(include_voided=True), today=today
    )
    if plan.empty:
        flash(
            _("“%(cohort)s”的录取名单已经确定，没有需要更新的人选。", cohort=_name(cohort)), "info"
        )
        return back
    # Check every roster row before writing anything, so a bad value stops the whole step.
    by_id = {n.id: n for n in nominations}
    for row in plan.trainees:
        try:
            trainees.validate(row, partial=False)
        except ValidationError as exc:
            key, (template, params) = next(iter(exc.details.items()))
            source = by_id[str(row["nomination"])]
            flash(
                _(
                    "%(name)s（%(id)s）的“%(header)s”不能写入学员名册：%(problem)s。请先在人选推荐表中改正，再确定录取。",
                    name=source.get("name"),
                    id=source.id,
                    header=trainees.schema.column(key).header
                    if key in trainees.schema.keys
                    else key,
                    problem=_(template).format(**params),
                ),
                "error",
            )
            return back
    user = current_user.email
    now = db.now()
    created = trainees.insert_many(plan.trainees, user=user) if plan.trainees else []
    if created:
        db.table("trainee_status_history").insert_many(
            [
                {
                    "trainee": t.id,
                    "from_status": None,
                    "to_status": publicity.TRAINEE_ACTIVE,
                    "reason": publicity.HISTORY_ADMITTED,
                    "changed_by": user,
                    "changed_at": now,
                }
                for t in created
            ],
            user=user,
        )
    table = db.table("nominations")
    for nom, note in plan.admit:
        table.update(
            str(nom["id"]), {"status": publicity.ADMITTED, "decision_note": note}, user=user
        )
    for nom, note in plan.reject:
        table.update(
            str(nom["id"]), {"status": publicity.NOT_ADMITTED, "decision_note": note}, user=user
        )
    db.table("cohorts").update(cohort.id, {"admission_finalised_at": now}, user=user)
    flash(
        _(
            "已确定“%(cohort)s”的录取名单：录取 %(admitted)d 人，未录取 %(rejected)d 人，学员名册新增 %(created)d 人。",
            cohort=_name(cohort),
            admitted=len(plan.admit),
            rejected=len(plan.reject),
            created=len(created),
        ),
        "success",
    )
    return back


# --------------------------------------------------------------------------- the public page


@bp.get("/publicity/<cohort_id>/public")
def publicity_public(cohort_id: str) -> Any:
    """Anyone may read it: names, schools and 区县 of the people in publicity, nothing else."""
    cohort = _cohort_or_404(cohort_id)
    today = get_db().today()
    nominations = _nominations(cohort)
    listed = [n for n in nominations if publicity.on_public_list(n, today)]
    groups = [
        (
            start,
            end,
            [
                _public_row(n)
                for n in _by_district(listed)
                if n.get("publicity_start") == start and n.get("publicity_end") == end
            ],
        )
        for start, end in publicity.periods(listed)
    ]
    upcoming = sorted(
        {
            n["publicity_start"]
            for n in nominations
            if n.get("status") == publicity.IN_PUBLICITY
            and isinstance(n.get("publicity_start"), dt.date)
            and n["publicity_start"] > today
        }
    )
    return render_template(
        "nominations/publicity_public.html",
        cohort_name=_name(cohort),
        groups=groups,
        ongoing=any(start <= today <= end for start, end, _rows in groups),
        upcoming=upcoming[0] if upcoming else None,
        contact=cohort.get("publicity_contact") or _default_contact(),
        today=today,
        minimal=True,
    )


def _public_row(nomination: Record) -> dict[str, str]:
    """Only what a 公示 prints: the person's name, school and 区县 (no ids, no contacts)."""
    return {
        "name": str(nomination.get("name") or ""),
        "school": str(nomination.get("school") or ""),
        "district": str(nomination.get("district") or ""),
    }
