"""The attendance grid: one session, every trainee of its cohort × a status (admin).

A trainee without a row shows as 未登记, which saving leaves alone (a second button records
every 未登记 trainee of a held session as 出勤). Saving writes one attendance row per trainee
whose cell changed: an insert for a trainee without a row, otherwise an update whose base is what the grid showed, so a cell changed in
the workbook meanwhile becomes a conflict to resolve instead of being overwritten.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from mingxiao.database import get_db
from mingxiao.policy import require
from mingxiao.sheetdb import Record, ValidationError

from .. import data, rules
from ..blueprint import bp
from ..forms import PostForm

LEAVE_STATUSES = (rules.APPROVED, rules.PENDING, rules.REFUSED)


def _session_or_404(session_id: str) -> Record:
    rec = get_db().table("sessions").get(session_id)
    if rec is None:
        abort(404)
    return rec


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def grid_rows(session: Record) -> list[dict[str, Any]]:
    """One entry per trainee of the session's cohort: the trainee, their row, the defaults."""
    cohort_id = str(session.get("cohort") or "")
    trainees = data.trainees_of(cohort_id)
    existing = rules.latest_rows(get_db().table("attendance").where(session=session.id))
    day = rules.as_date(session.get("date"))
    upcoming = day is not None and day > data.today()
    out = []
    for t in trainees:
        row = existing.get((session.id, t.id))
        if row is not None:
            status = str(row.get("status") or "")
            hours = _plain(row.get("hours_attended"))
            leave = str(row.get("leave_status") or "")
        else:
            # Unrecorded: 未登记 (blank), which saving leaves alone, so changing one row saves
            # one row. “未登记的记为出勤” fills these with 出勤, except for a session still to
            # come or an eliminated trainee.
            status, hours, leave = "", "", ""
        out.append(
            {
                "trainee": t,
                "row": row,
                "fillable": row is None and not upcoming and t.get("status") != data.ELIMINATED,
                "status": status,
                "hours": hours,
                "leave_status": leave,
                "base_status": str(row.get("status") or "") if row is not None else "",
                "base_hours": _plain(row.get("hours_attended")) if row is not None else "",
                "base_leave": str(row.get("leave_status") or "") if row is not None else "",
            }
        )
    return out


@bp.route("/sessions/<session_id>/attendance", methods=["GET", "POST"])
@login_required
def attendance(session_id: str) -> Any:
    """Show or save the grid of one session."""
    require("curriculum.manage")
    session = _session_or_404(session_id)
    form = PostForm()
    errors: dict[str, str] = {}
    rows = grid_rows(session)
    if form.validate_on_submit():
        saved, parked, errors = _save(session, rows)
        if not errors:
            if parked:
                flash(
                    _(
                        "已保存 %(n)d 名学员的考勤；%(m)d 行有人在表格中同时修改，已转为冲突待处理（见“同步与冲突”）。",
                        n=saved,
                        m=parked,
                    ),
                    "warning",
                )
            else:
                flash(_("已保存 %(n)d 名学员的考勤。", n=saved), "success")
            return redirect(url_for("curriculum.attendance", session_id=session.id))
        # keep what was typed, with the errors beside it
        for entry in rows:
            tid = entry["trainee"].id
            if f"status-{tid}" in request.form:
                entry["status"] = request.form.get(f"status-{tid}", "")
                entry["hours"] = request.form.get(f"hours-{tid}", "")
                entry["leave_status"] = request.form.get(f"leave-{tid}", "")
    counts: dict[str, int] = {}
    for entry in rows:
        if entry["row"] is not None:
            counts[entry["status"]] = counts.get(entry["status"], 0) + 1
    fillable = sum(1 for entry in rows if entry["fillable"] and not entry["status"])
    return render_template(
        "curriculum/attendance.html",
        fillable=fillable,
        session=session,
        cohort=get_db().table("cohorts").get(str(session.get("cohort") or "")),
        rows=rows,
        errors=errors,
        counts=counts,
        statuses=rules.STATUSES,
        leave_statuses=LEAVE_STATUSES,
        form=form,
        module=get_db().table("curriculum_modules").get(str(session.get("module") or "")),
    )


def _save(session: Record, rows: list[dict[str, Any]]) -> tuple[int, int, dict[str, str]]:
    """Write the changed cells; returns (rows written, rows parked, errors by trainee id)."""
    table = get_db().table("attendance")
    inserts: list[dict[str, Any]] = []
    updates: list[tuple[Record, dict[str, Any], dict[str, Any]]] = []
    errors: dict[str, str] = {}
    fill = request.form.get("fill_present") == "1"
    for entry in rows:
        tid = entry["trainee"].id
        key = f"status-{tid}"
        if key not in request.form:
            continue  # not on the submitted grid
        status = request.form.get(key, "").strip()
        if not status and fill and entry["fillable"]:
            status = rules.PRESENT  # “保存，并把未登记的学员记为出勤”
        if not status:
            continue  # 未登记 left as it is: nothing recorded for this trainee
        values, problem = rules.grid_values(
            status, request.form.get(f"hours-{tid}"), session.get("hours")
        )
        if values is None:
            errors[tid] = _(problem or "")
            continue
        if status == rules.LEAVE:
            leave = request.form.get(f"leave-{tid}", "").strip() or rules.APPROVED
            if leave not in LEAVE_STATUSES:
                errors[tid] = _("请选择请假审批结果。")
                continue
            values["leave_status"] = leave
        row = entry["row"]
        if row is not None and not row.id:
            errors[tid] = _(
                "这名学员的考勤行是直接在表格中添加的，系统正在为它分配编号，请稍后刷新本页再保存。"
            )
            continue
        if row is None:
            inserts.append(
                {"session": session.id, "trainee": tid, "recorded_by": current_user.email, **values}
            )
        else:
            # What the grid showed; a cell without its base merges against the sheet as it is.
            shown = {
                "status": f"base_status-{tid}",
                "hours_attended": f"base_hours-{tid}",
                "leave_status": f"base_leave-{tid}",
            }
            base = {k: request.form[name] for k, name in shown.items() if name in request.form}
            updates.append((row, values, base))
    if errors:
        return 0, 0, errors
    saved = parked = 0
    try:
        if inserts:
            table.insert_many(inserts, user=current_user.email)
            saved += len(inserts)
        for row, values, base in updates:
            result = table.update(row.id, values, base=base, user=current_user.email)
            if result.status == "parked":
                parked += 1
            elif result.status == "pending":
                saved += 1
    except ValidationError as exc:
        first = next(iter(exc.details.values()))
        return saved, parked, {"": _(first[0]).format(**first[1])}
    return saved, parked, {}
