"""Nomination pages: parse the form, ask the policy and the rules, call the engine, render.

District staff work on their own district's nominations only: the district of a new
nomination is the signed-in user's (admins choose one), and every record-level route asks
``require(action, record)``, which refuses another district's record with a bare 404.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from mingxiao import exports
from mingxiao.database import get_db
from mingxiao.policy import authorize, require
from mingxiao.schema_forms import merge_base, parse_merge_base, problem_text, show_error
from mingxiao.sheetdb import Record, ValidationError
from mingxiao.sheetdb.types import N_

from .. import attachments, rules, workflow
from ..blueprint import bp
from ..forms import (
    CONDITIONS,
    DECLARATIONS,
    ENTRY_FIELDS,
    FilterForm,
    ReasonForm,
    ReopenForm,
    SubmitBatchForm,
    nomination_form,
    options,
    window_form,
)
from .attachments import forget_files, not_saved_notice, save_files

PER_PAGE = 25
DUPLICATE_PRIVATE = N_(
    "系统中本期已有与您的身份证号或姓名、出生日期相同的推荐，不能重复申报。如有疑问，请联系发出邀请的区县教育局。"
)
LIST_COLUMNS = ("id", "name", "school", "position", "cohort", "district", "status")
# 《人选汇总表》: the official column order (序号 first, then the nominee as on the 推荐表).
SUMMARY_COLUMNS = (
    "name", "gender", "birth_date", "political_status", "education", "school", "school_type",
    "position", "head_since", "title", "route", "recommending_unit", "phone", "status",
)  # fmt: skip


def _is_admin() -> bool:
    return authorize(current_user, "nominations.all_districts")


def _nomination_or_404(nomination_id: str, action: str) -> Record:
    """The stored nomination if the user may ``action`` it; 404 otherwise (nothing confirmed)."""
    rec = get_db().table("nominations").get(nomination_id)
    if rec is None:
        abort(404)
    require(action, rec, status=404)
    return rec


def _cohorts() -> list[Record]:
    return sorted(get_db().table("cohorts").all(), key=lambda c: (c.get("number") or 0, c.id))


def _cohort_choices() -> list[tuple[str, str]]:
    return [(c.id, str(c.get("name") or c.id)) for c in _cohorts()]


def _choices_for(col: Any) -> list[tuple[str, str]]:
    if col.type == "ref" and col.key == "cohort":
        return _cohort_choices()
    return [(v, v) for v in get_db().choices_for(col)]


def _form_values(form: Any) -> dict[str, Any]:
    values = {}
    for key in ENTRY_FIELDS:
        if key in form and key != "attachments":  # files: views/attachments.save_files
            data = form[key].data
            values[key] = data.strip() if isinstance(data, str) else data
    for key in (
        "route",
        "gender",
        "political_status",
        "education",
        "school_type",
        "position",
        "title",
    ):
        if values.get(key) == "":
            values[key] = None
    return values


def _check(
    form: Any,
    values: dict[str, Any],
    district: str,
    exclude_id: str | None,
    window: bool,
    *,
    private: bool = False,
) -> bool:
    """The rules behind the form: the window, then rules.validate_nomination. True if clean.

    ``private``: the person filling in may not see other records (an invitation link), so a
    duplicate is reported without the other record's id, district or status.
    """
    db = get_db()
    cohort = db.table("cohorts").get(str(values.get("cohort") or ""))
    ok = True
    if window:
        problem = workflow.window_problem(cohort, db.today())
        if problem is not None:
            form.form_errors.append(problem_text(problem))
            show_error(form, "cohort", problem_text(problem))
            return False
    if cohort is None:
        return False
    deadline = cohort.get("nomination_deadline") or db.today()
    problems = rules.validate_nomination(
        {**values, "district": district},
        deadline=deadline,
        today=db.today(),
        nominations=db.table("nominations").all(),
        trainees=db.table("trainees").all(),
        cohort=cohort.id,
        exclude_id=exclude_id,
    )
    for key, problem in problems.items():
        if private and key == rules.DUPLICATE_KEY:
            problem = (DUPLICATE_PRIVATE, {})
        show_error(form, key, problem_text(problem))
        ok = False
    return ok


def _render_form(form: Any, rec: Record | None, base: str) -> str:
    return render_template(
        "nominations/form.html",
        form=form,
        nomination=rec,
        base=base,
        conditions=CONDITIONS,
        declarations=DECLARATIONS,
    )


# --------------------------------------------------------------------------- list and detail


def _filters() -> dict[str, str | None]:
    keys = ("cohort", "status", "district") if _is_admin() else ("cohort", "status")
    return {k: (request.args.get(k) or None) for k in keys}


@bp.get("/")
@login_required
def index() -> Any:
    require("nominations.view")
    db = get_db()
    filters = _filters()
    form = FilterForm(request.args)
    everything = [("", _("全部"))]
    form.cohort.choices = options(everything + _cohort_choices())
    form.status.choices = options(everything + [(s, s) for s in db.choices("nomination_statuses")])
    if _is_admin():
        form.district.choices = options(everything + [(d, d) for d in db.choices("districts")])
    else:
        del form.district
    equals = {k: v for k, v in filters.items() if v}
    if not _is_admin():
        equals["district"] = current_user.district
    number = max(1, request.args.get("page", 1, type=int) or 1)
    shown = {k: v for k, v in filters.items() if v}

    def table() -> Markup:
        page = db.table("nominations").page(number, PER_PAGE, order_by="-id", **equals)
        schema = db.schemas["nominations"]
        columns = [(k, _("编号") if k == "id" else schema.column(k).header) for k in LIST_COLUMNS]
        html = render_template(
            "nominations/_table.html",
            page=page,
            columns=columns,
            filters=shown,
            filter_form=form,
            cohorts={c.id: c.get("name") or c.id for c in _cohorts()},
        )
        return Markup(html)  # noqa: S704 - our own autoescaped template's output

    # The list is the same for everyone of one scope asking the same question in the same
    # language, until the nominations or cohorts sheet changes (or holds pending saves: then
    # it is rendered afresh each time, with its 同步中 badges).
    scope = ("admin",) if _is_admin() else ("district", str(current_user.district))
    key = ("nominations.table", scope, tuple(sorted(request.args.items(multi=True))), str(get_locale()))
    return render_template(
        "nominations/index.html",
        table=db.cached(key, ("nominations", "cohorts"), table),
        filters=shown,
        submit_form=_submit_form(),
        can_create=authorize(current_user, "nominations.create"),
    )


@bp.get("/<nomination_id>")
@login_required
def detail(nomination_id: str) -> Any:
    rec = _nomination_or_404(nomination_id, "nominations.view")
    db = get_db()
    cohort = db.table("cohorts").get(str(rec.get("cohort") or ""))
    from ..history import nomination_history  # 修改记录: web and direct sheet edits

    reveal = authorize(current_user, "nominations.personal_data", rec)
    return render_template(
        "nominations/detail.html",
        nomination=rec,
        schema=db.schemas["nominations"],
        fields=ENTRY_FIELDS,
        cohort=cohort,
        reveal=reveal,
        history=nomination_history(db, rec.id, reveal=reveal),
        can_edit=authorize(current_user, "nominations.edit", rec)
        and workflow.edit_problem(rec.get("status")) is None,
        can_stamp=authorize(current_user, "nominations.stamp", rec),
        can_reopen=authorize(current_user, "nominations.reopen", rec),
        editable=workflow.edit_problem(rec.get("status")) is None,
        stamped=rec.get("status") == workflow.STAMPED,
        submitted=rec.get("status") == workflow.SUBMITTED,
        reason_form=ReasonForm(),
        reopen_form=ReopenForm(),
    )


# --------------------------------------------------------------------------- entry


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    require("nominations.create")
    db = get_db()
    admin = _is_admin()
    form = nomination_form(db.schemas["nominations"], _choices_for, with_district=admin)
    if form.validate_on_submit():
        values = _form_values(form)
        district = values.pop("district", None) if admin else current_user.district
        stored = None
        if _check(form, values, district or "", None, window=True):
            stored = save_files(form, [], user=current_user.email)
        if stored is not None:
            values.update(
                district=district, status=workflow.DRAFT, attachments=attachments.join(stored)
            )
            try:
                rec = db.table("nominations").insert(values, user=current_user.email)
            except ValidationError as exc:
                forget_files(stored)
                for key, problem in exc.details.items():
                    show_error(form, key, problem_text(problem))
            else:
                flash(_("已保存推荐 %(id)s（草稿）。核对无误后请盖章。", id=rec.id), "success")
                return redirect(url_for("nominations.detail", nomination_id=rec.id))
    not_saved_notice(form)  # files chosen in a form that had errors
    return _render_form(form, None, "")


@bp.route("/<nomination_id>/edit", methods=["GET", "POST"])
@login_required
def edit(nomination_id: str) -> Any:
    rec = _nomination_or_404(nomination_id, "nominations.edit")
    locked = workflow.edit_problem(rec.get("status"))
    if locked is not None:
        flash(problem_text(locked), "warning")
        return redirect(url_for("nominations.detail", nomination_id=rec.id))
    db = get_db()
    admin = _is_admin()
    form = nomination_form(
        db.schemas["nominations"], _choices_for, with_district=admin, data=dict(rec)
    )
    base = request.form.get("_base") or merge_base(rec, ENTRY_FIELDS)
    if form.validate_on_submit():
        values = _form_values(form)
        district = values.pop("district", None) if admin else rec["district"]
        existing = attachments.parse(rec.get("attachments"))
        stored = None
        if _check(form, values, district or "", rec.id, window=not admin):
            stored = save_files(form, existing, user=current_user.email)
        if stored is not None:
            changes = dict(
                values, status=workflow.DRAFT
            )  # a corrected, returned one is a draft again
            if stored:  # new files join the ones already attached
                changes["attachments"] = attachments.join(existing + stored)
            if admin:
                changes["district"] = district
            base_values = parse_merge_base(base)
            if base_values is not None:
                base_values.setdefault("status", rec.get("status"))
            try:
                result = db.table("nominations").update(
                    rec.id, changes, base=base_values, user=current_user.email
                )
            except ValidationError as exc:
                forget_files(stored)
                for key, problem in exc.details.items():
                    show_error(form, key, problem_text(problem))
            else:
                if result.status == "parked" and result.op is not None:
                    flash(
                        _(
                            "有人在您编辑期间改了同一项内容，您的修改已暂存为冲突，尚未生效。请打开冲突页面选择保留哪一方的值。"
                        ),
                        "warning",
                    )
                    return redirect(url_for("admin.conflict", seq=result.op.seq))
                flash(_("已保存修改。"), "success")
                return redirect(url_for("nominations.detail", nomination_id=rec.id))
    not_saved_notice(form)  # files chosen in a form that had errors
    return _render_form(form, rec, base)


# --------------------------------------------------------------------------- district review


def _save(rec: Record, changes: dict[str, Any], message: str) -> Any:
    result = get_db().table("nominations").update(rec.id, changes, user=current_user.email)
    if result.status == "parked" and result.op is not None:
        flash(_("这份推荐刚被别人改过，操作已暂存为冲突。请打开冲突页面处理。"), "warning")
        return redirect(url_for("admin.conflict", seq=result.op.seq))
    flash(message, "success")
    return redirect(url_for("nominations.detail", nomination_id=rec.id))


def _refuse(rec: Record, problem: tuple[str, dict[str, Any]]) -> Any:
    flash(problem_text(problem), "error")
    return redirect(url_for("nominations.detail", nomination_id=rec.id))


@bp.post("/<nomination_id>/stamp")
@login_required
def stamp(nomination_id: str) -> Any:
    rec = _nomination_or_404(nomination_id, "nominations.stamp")
    problem = workflow.stamp_problem(rec.get("status"))
    if problem is not None:
        return _refuse(rec, problem)
    changes = {
        "status": workflow.STAMPED,
        "stamped_by": current_user.email,
        "stamped_at": get_db().now(),
    }
    return _save(rec, changes, _("已盖章。这份推荐已锁定，报送前如需修改请先退回。"))


@bp.post("/<nomination_id>/return")
@login_required
def return_(nomination_id: str) -> Any:
    rec = _nomination_or_404(nomination_id, "nominations.stamp")
    form = ReasonForm()
    form.validate_on_submit()  # CSRF is checked app-wide; the rule below says what is missing
    problem = workflow.return_problem(rec.get("status"), form.return_reason.data or "")
    if problem is not None:
        return _refuse(rec, problem)
    changes = {"status": workflow.RETURNED, "return_reason": form.return_reason.data.strip()}
    return _save(rec, changes, _("已退回，推荐可以重新修改。"))


@bp.post("/<nomination_id>/reopen")
@login_required
def reopen(nomination_id: str) -> Any:
    rec = _nomination_or_404(nomination_id, "nominations.reopen")
    form = ReopenForm()
    form.validate_on_submit()  # CSRF is checked app-wide; the rule below says what is missing
    reason = (form.reason.data or "").strip()
    problem = workflow.reopen_problem(rec.get("status"), form.status.data or "", reason)
    if problem is not None:
        return _refuse(rec, problem)
    changes: dict[str, Any] = {"status": form.status.data}
    if form.status.data == workflow.RETURNED:
        changes["return_reason"] = reason
    else:
        changes["decision_note"] = _("重新打开：%(reason)s", reason=reason)
    return _save(rec, changes, _("已重新打开，状态改为“%(status)s”。", status=form.status.data))


def _submit_form() -> Any:
    form = SubmitBatchForm()
    form.cohort.choices = options(_cohort_choices())
    if _is_admin():
        form.district.choices = options([(d, d) for d in get_db().choices("districts")])
    else:
        del form.district
    return form


@bp.post("/submit")
@login_required
def submit() -> Any:
    require("nominations.submit")
    form = _submit_form()
    if not form.validate_on_submit():
        flash(_("请选择要报送的期次。"), "error")
        return redirect(url_for("nominations.index"))
    district = form.district.data if _is_admin() else current_user.district
    db = get_db()
    table = db.table("nominations")
    batch = workflow.submittable(table.where(district=district, cohort=form.cohort.data))
    if not batch:
        flash(
            _("%(district)s在这一期没有已盖章的推荐，没有可报送的内容。", district=district),
            "warning",
        )
        return redirect(url_for("nominations.index", cohort=form.cohort.data))
    now = db.now()
    for rec in batch:
        table.update(
            rec.id, {"status": workflow.SUBMITTED, "submitted_at": now}, user=current_user.email
        )
    flash(
        _("已向市教育局报送 %(n)d 份推荐。报送后如需修改，须由市教育局重新打开。", n=len(batch)),
        "success",
    )
    return redirect(url_for("nominations.index", cohort=form.cohort.data))


# --------------------------------------------------------------------------- 《人选汇总表》


@bp.get("/summary.<fmt>")
@login_required
def summary(fmt: str) -> Any:
    require("nominations.view")
    if fmt not in exports.FORMATS:
        abort(404)
    db = get_db()
    cohort = db.table("cohorts").get(request.args.get("cohort") or "")
    if cohort is None:
        flash(_("导出《人选汇总表》前请先选择期次。"), "warning")
        return redirect(url_for("nominations.index"))
    district = request.args.get("district") if _is_admin() else current_user.district
    if not district:
        flash(_("导出《人选汇总表》前请先选择区、县（市）。"), "warning")
        return redirect(url_for("nominations.index", cohort=cohort.id))
    rows = summary_rows(db, cohort.id, district)
    schema = db.schemas["nominations"]
    columns = [("seq", _("序号")), *((k, schema.column(k).header) for k in SUMMARY_COLUMNS)]
    name = _(
        "人选汇总表-%(district)s-%(cohort)s",
        district=district,
        cohort=cohort.get("name") or cohort.id,
    )
    return exports.export_response(rows, columns, fmt, name)


def summary_rows(db: Any, cohort_id: str, district: str) -> list[dict[str, Any]]:
    """The rows of a district's 《人选汇总表》: stamped nominations and beyond, numbered."""
    recs = [
        r
        for r in db.table("nominations").where(district=district, cohort=cohort_id)
        if r.get("status") in workflow.SUMMARY_STATUSES
    ]
    recs.sort(key=lambda r: r.id)
    return [{**r, "seq": i} for i, r in enumerate(recs, start=1)]


# --------------------------------------------------------------------------- cohort windows


@bp.get("/windows")
@login_required
def windows() -> Any:
    require("nominations.window")
    db = get_db()
    quotas = _guide_numbers(db)
    totals = {
        c.id: sum(n or 0 for (cid, _d), n in quotas.items() if cid == c.id) for c in _cohorts()
    }
    return render_template(
        "nominations/windows.html", cohorts=_cohorts(), totals=totals, today=db.today()
    )


def _guide_numbers(db: Any) -> dict[tuple[str, str], int]:
    return {
        (str(q["cohort"]), str(q["district"])): q.get("guide_number")
        for q in db.table("nomination_quotas").all()
    }


@bp.route("/windows/<cohort_id>", methods=["GET", "POST"])
@login_required
def window(cohort_id: str) -> Any:
    require("nominations.window")
    db = get_db()
    cohort = db.table("cohorts").get(cohort_id)
    if cohort is None:
        abort(404)
    districts = list(db.choices("districts"))
    quotas = _guide_numbers(db)
    form = window_form(
        districts,
        data={
            "nomination_deadline": cohort.get("nomination_deadline"),
            "quota": cohort.get("quota") or workflow.DEFAULT_QUOTA,
            "nomination_open": bool(cohort.get("nomination_open")),
            **{f"guide_{i}": quotas.get((cohort.id, d)) for i, d in enumerate(districts)},
        },
    )
    if not form.validate_on_submit():
        return render_template(
            "nominations/window.html", cohort=cohort, form=form, districts=districts
        )
    user = current_user.email
    db.table("cohorts").update(
        cohort.id,
        {
            "nomination_deadline": form.nomination_deadline.data,
            "quota": form.quota.data,
            "nomination_open": bool(form.nomination_open.data),
        },
        user=user,
    )
    table = db.table("nomination_quotas")
    existing = {str(q["district"]): q for q in table.where(cohort=cohort.id)}
    for i, district in enumerate(districts):
        number = form[f"guide_{i}"].data
        row = existing.get(district)
        if row is not None and number is not None and row.get("guide_number") != number:
            table.update(row.id, {"guide_number": number}, user=user)
        elif row is None and number is not None:
            table.insert(
                {"cohort": cohort.id, "district": district, "guide_number": number}, user=user
            )
    state = _("已开放") if form.nomination_open.data else _("已关闭")
    flash(
        _(
            "已保存“%(cohort)s”的推荐设置（推荐%(state)s）。",
            cohort=cohort.get("name") or cohort.id,
            state=state,
        ),
        "success",
    )
    return redirect(url_for("nominations.windows"))
