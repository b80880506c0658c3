"""Mentoring logs (导师指导记录) and the guidance-hours report.

A mentor records guidance for their own current trainees only (any other trainee: 404) and
edits or withdraws their own logs while the trainee is still theirs; admins see and correct
every log and may record one for any mentor of the trainee's team. The hours report sums the
logs per mentor per period (``rules.guidance_hours``): the basis of the 导师指导费.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from mingxiao import exports
from mingxiao.database import get_db
from mingxiao.policy import authorize, mentor_trainee_ids, require
from mingxiao.schema_forms import form_values, merge_base, parse_merge_base, show_problems
from mingxiao.sheetdb import Record

from .. import rules
from ..blueprint import bp
from ..forms import LOG_FIELDS, HoursFilterForm, LogFilterForm, VoidForm, merge_form, options
from .common import insert, names, profile_url, record_or_404, trainee_label, update

SHEET = "mentoring_logs"
PER_PAGE = 30
LIST_COLUMNS = ("id", "date", "mentor", "trainee", "form", "hours", "topic")


def _is_admin() -> bool:
    return authorize(current_user, "mentors.roster")


def _my_mentor_id() -> str:
    return str(getattr(current_user, "mentor_id", None) or "")


# --------------------------------------------------------------------------- lists


@bp.get("/logs")
@login_required
def logs() -> Any:
    require("mentors.logs")
    db = get_db()
    admin = _is_admin()
    mentor_names, trainee_names = names("mentors"), names("trainees")
    form = LogFilterForm(request.args)
    everything = [("", _("全部"))]
    if admin:
        form.mentor.choices = options(everything + sorted(mentor_names.items()))
        form.trainee.choices = options(everything + sorted(trainee_names.items()))
        scope = None
    else:
        del form.mentor
        mine, me = mentor_trainee_ids(current_user), _my_mentor_id()
        form.trainee.choices = options(
            everything + [(t, trainee_names.get(t, t)) for t in sorted(mine)]
        )

        def scope(r: Record) -> bool:
            return str(r.get("mentor") or "") == me or str(r.get("trainee") or "") in mine

    filters: dict[str, Any] = {
        k: request.args[k] for k in ("mentor", "trainee") if request.args.get(k)
    }
    if not admin:
        filters.pop("mentor", None)
    page = db.table(SHEET).page(
        max(1, request.args.get("page", 1, type=int) or 1),
        PER_PAGE,
        where=scope,
        order_by="-date",
        **filters,
    )
    schema = db.schemas[SHEET]
    columns = [(k, _("编号") if k == "id" else schema.column(k).header) for k in LIST_COLUMNS]
    return render_template(
        "mentors/logs.html",
        page=page,
        columns=columns,
        filters=filters,
        filter_form=form,
        mentor_names=mentor_names,
        trainee_names=trainee_names,
        can_hours=authorize(current_user, "mentors.hours"),
    )


@bp.get("/hours")
@login_required
def hours() -> Any:
    """Guidance hours per mentor per period; ``?format=xlsx|csv`` downloads the table."""
    require("mentors.hours")
    db = get_db()
    form = HoursFilterForm(request.args)
    form.validate()
    period = form.period.data if form.period.data in rules.PERIODS else "month"
    start, end = form.start.data, form.end.data
    if start and end and end < start:
        start, end = end, start
    sums = rules.guidance_hours(db.table(SHEET).all(), period=period, start=start, end=end)
    mentors = {m.id: m for m in db.table("mentors").all()}
    rows = [
        {
            "mentor": mid,
            "name": str(mentors[mid].get("name") or "") if mid in mentors else "",
            "organisation": str(mentors[mid].get("organisation") or "") if mid in mentors else "",
            "period": _("合计") if key == "all" else key,
            "hours": total,
        }
        for (mid, key), total in sums.items()
    ]
    totals = rules.hours_by_mentor(db.table(SHEET).all(), start=start, end=end)
    fmt = request.args.get("format")
    if fmt:
        if fmt not in exports.FORMATS:
            abort(404)
        columns = [
            ("mentor", _("导师编号")),
            ("name", _("姓名")),
            ("organisation", _("工作单位")),
            ("period", _("周期")),
            ("hours", _("指导学时")),
        ]
        return exports.export_response(rows, columns, fmt, _("导师指导学时"))
    args = {k: v for k, v in request.args.items() if k in ("start", "end", "period") and v}
    return render_template(
        "mentors/hours.html",
        form=form,
        rows=rows,
        totals=sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])),
        mentors=mentors,
        args=args,
        grand_total=sum(totals.values()),
    )


# --------------------------------------------------------------------------- one trainee


def _trainee_or_404(trainee_id: str) -> Record:
    return record_or_404("trainees", trainee_id, "mentors.trainee")


@bp.get("/trainees/<trainee_id>/logs")
@login_required
def trainee_logs(trainee_id: str) -> Any:
    trainee = _trainee_or_404(trainee_id)
    db = get_db()
    day = db.today()
    assignments = db.table("mentor_assignments").where(trainee=trainee.id)
    rows = sorted(
        db.table(SHEET).where(trainee=trainee.id),
        key=lambda r: (rules.as_date(r.get("date")) or day, r.id),
        reverse=True,
    )
    return render_template(
        "mentors/trainee_logs.html",
        trainee=trainee,
        team=rules.team_of(trainee.id, assignments, day),
        past=[a for a in assignments if not rules.active_on(a, day)],
        rows=rows,
        total=sum((rules.as_hours(r.get("hours")) for r in rows), rules.as_hours(0)),
        mentor_names=names("mentors"),
        profile=profile_url(trainee.id),
        me=_my_mentor_id(),
        admin=_is_admin(),
    )


def _log_form(trainee: Record, rec: Record | None, keys: tuple[str, ...], **kwargs: Any) -> Any:
    db = get_db()
    choices: dict[str, list[tuple[str, str]]] = {
        "form": [(v, v) for v in db.choices("guidance_forms")]
    }
    if "mentor" in keys:
        mentor_names = names("mentors")
        team = sorted(
            {str(a["mentor"]) for a in db.table("mentor_assignments").where(trainee=trainee.id)}
        )
        choices["mentor"] = [(m, f"{mentor_names.get(m, m)}（{m}）") for m in team]
    return merge_form(db.schemas[SHEET], keys, choices, **kwargs)


def _log_keys() -> tuple[str, ...]:
    """Admins choose the mentor; a mentor records their own guidance."""
    return LOG_FIELDS if _is_admin() else tuple(k for k in LOG_FIELDS if k != "mentor")


def _check_log(form: Any, values: dict[str, Any]) -> bool:
    db = get_db()
    problems = rules.validate_log(values, db.table("mentor_assignments").all(), db.today())
    show_problems(form, problems)
    return not problems


@bp.route("/trainees/<trainee_id>/logs/new", methods=["GET", "POST"])
@login_required
def log_new(trainee_id: str) -> Any:
    trainee = _trainee_or_404(trainee_id)
    db = get_db()
    keys = _log_keys()
    form = _log_form(trainee, None, keys, data={"date": db.today(), "form": "面谈"})
    if form.validate_on_submit():
        values = form_values(form, keys)
        values["trainee"] = trainee.id
        if "mentor" not in keys:
            values["mentor"] = _my_mentor_id()
        if _check_log(form, values):
            rec = insert(SHEET, form, values)
            if rec is not None:
                flash(_("已保存指导记录 %(id)s。", id=rec.id), "success")
                return redirect(url_for("mentors.trainee_logs", trainee_id=trainee.id))
    return render_template(
        "mentors/log_form.html",
        form=form,
        trainee=trainee,
        log=None,
        trainee_name=trainee_label(trainee, trainee.id),
    )


# --------------------------------------------------------------------------- one log


@bp.get("/logs/<log_id>")
@login_required
def log_detail(log_id: str) -> Any:
    log = record_or_404(SHEET, log_id, "mentors.log_view")
    db = get_db()
    trainee = db.table("trainees").get(str(log.get("trainee") or ""))
    return render_template(
        "mentors/log_detail.html",
        log=log,
        schema=db.schemas[SHEET],
        fields=("date", "form", "hours", "topic", "notes"),
        mentor_names=names("mentors"),
        trainee_names=names("trainees"),
        can_edit=authorize(current_user, "mentors.log_edit", log),
        can_trainee=trainee is not None and authorize(current_user, "mentors.trainee", trainee),
        void_form=VoidForm(),
    )


@bp.route("/logs/<log_id>/edit", methods=["GET", "POST"])
@login_required
def log_edit(log_id: str) -> Any:
    log = record_or_404(SHEET, log_id, "mentors.log_edit")
    db = get_db()
    trainee = db.table("trainees").get(str(log.get("trainee") or ""))
    if trainee is None:
        abort(404)
    keys = _log_keys()
    form = _log_form(trainee, log, keys, data=dict(log))
    if request.method == "GET":
        form["form_base"].data = merge_base(log, keys)
    if form.validate_on_submit():
        changes = form_values(form, keys)
        if _check_log(form, {**log, **changes}):
            done = update(
                SHEET,
                log,
                changes,
                base=parse_merge_base(form["form_base"].data),
                form=form,
                done=_("已保存指导记录。"),
                next_url=url_for("mentors.log_detail", log_id=log.id),
            )
            if done is not None:
                return done
    return render_template(
        "mentors/log_form.html",
        form=form,
        trainee=trainee,
        log=log,
        trainee_name=trainee_label(trainee, trainee.id),
    )


@bp.post("/logs/<log_id>/void")
@login_required
def log_void(log_id: str) -> Any:
    log = record_or_404(SHEET, log_id, "mentors.log_edit")
    form = VoidForm()
    form.validate_on_submit()  # CSRF is checked app-wide
    reason = (form.reason.data or "").strip() or _("录入有误")
    get_db().table(SHEET).void(log.id, user=current_user.email, reason=reason)
    flash(_("已作废指导记录 %(id)s（表格中保留，标记为作废）。", id=log.id), "success")
    return redirect(url_for("mentors.trainee_logs", trainee_id=str(log.get("trainee") or "")))
