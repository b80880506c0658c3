"""Leave (请假): a trainee asks for a coming session; the training centre approves or refuses.

A request creates or updates the trainee's own attendance row for that session with 请假,
待审批 and the reason. The trainee is always the signed-in trainee (never a form field); a
session outside their cohort, or one already held, is a 404. An admin's decision sets
已批准 or 已拒绝 (refused leave counts as absence without approval, ground (1)).
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from mingxiao.database import get_db
from mingxiao.policy import require
from mingxiao.sheetdb import Record

from .. import data, rules
from ..blueprint import bp
from ..forms import LeaveRequestForm, PostForm

DECISIONS = {"approve": rules.APPROVED, "refuse": rules.REFUSED}


def _me() -> Record:
    """The signed-in trainee's own row (404 if the account points nowhere)."""
    rec = get_db().table("trainees").get(str(current_user.trainee_id or ""))
    if rec is None:
        abort(404)
    return rec


def _own_row(trainee: Record, session_id: str) -> Record | None:
    rows = get_db().table("attendance").where(session=session_id, trainee=trainee.id)
    return rows[-1] if rows else None


def _upcoming(session: Record) -> bool:
    day = rules.as_date(session.get("date"))
    return day is not None and day > data.today()


@bp.get("/leave")
@login_required
def leave() -> Any:
    """The trainee's coming sessions, each with their leave request if any."""
    require("curriculum.leave")
    me = _me()
    sessions = [s for s in data.sessions_of(str(me.get("cohort") or "")) if _upcoming(s)]
    mine = rules.latest_rows(get_db().table("attendance").where(trainee=me.id))
    requests = [r for (sid, _tid), r in mine.items() if r.get("status") == rules.LEAVE]
    session_titles = {s.id: s for s in data.sessions_of(str(me.get("cohort") or ""))}
    return render_template(
        "curriculum/leave.html",
        trainee=me,
        sessions=sessions,
        rows={sid: r for (sid, _tid), r in mine.items()},
        requests=sorted(requests, key=lambda r: str(r.get("session") or ""), reverse=True),
        session_titles=session_titles,
        form=PostForm(),
    )


@bp.route("/leave/<session_id>", methods=["GET", "POST"])
@login_required
def leave_request(session_id: str) -> Any:
    """Ask (or change the reason) for leave from one coming session of one's own cohort."""
    require("curriculum.leave")
    me = _me()
    session = get_db().table("sessions").get(session_id)
    if session is None or str(session.get("cohort") or "") != str(me.get("cohort") or ""):
        abort(404)
    if not _upcoming(session):
        abort(404)
    row = _own_row(me, session.id)
    if row is not None and not row.id:  # typed into the sheet, its id not assigned yet
        flash(_("培训中心刚在表格中登记了您这次培训的考勤，请稍后再试。"), "warning")
        return redirect(url_for("curriculum.leave"))
    if (
        row is not None
        and row.get("status") == rules.LEAVE
        and row.get("leave_status")
        in (
            rules.APPROVED,
            rules.REFUSED,
        )
    ):
        flash(
            _("这次请假已审批（%(s)s），如需变更请联系培训中心。", s=row.get("leave_status")),
            "info",
        )
        return redirect(url_for("curriculum.leave"))
    form = LeaveRequestForm(
        data={"leave_reason": row.get("leave_reason")} if row and request.method == "GET" else None
    )
    if form.validate_on_submit():
        table = get_db().table("attendance")
        values = {
            "status": rules.LEAVE,
            "hours_attended": 0,
            "leave_reason": form.leave_reason.data.strip(),
            "leave_status": rules.PENDING,
        }
        if row is None:
            table.insert(
                {
                    "session": session.id,
                    "trainee": me.id,
                    "recorded_by": current_user.email,
                    **values,
                },
                user=current_user.email,
            )
        else:
            table.update(row.id, values, user=current_user.email)
        flash(_("请假申请已提交，等待培训中心审批。"), "success")
        return redirect(url_for("curriculum.leave"))
    return render_template("curriculum/leave_form.html", session=session, form=form, row=row)


@bp.post("/leave/row/<attendance_id>/withdraw")
@login_required
def leave_withdraw(attendance_id: str) -> Any:
    """Withdraw one's own leave request that is still waiting (the row is voided, not deleted)."""
    row = get_db().table("attendance").get(attendance_id)
    if row is None:
        abort(404)
    require("curriculum.leave", row)
    PostForm().validate_on_submit()
    if row.get("status") != rules.LEAVE or row.get("leave_status") != rules.PENDING:
        flash(_("只能撤回待审批的请假申请。"), "warning")
        return redirect(url_for("curriculum.leave"))
    session = get_db().table("sessions").get(str(row.get("session") or ""))
    if session is None or not _upcoming(session):
        flash(_("培训已经举行，不能再撤回请假。"), "warning")
        return redirect(url_for("curriculum.leave"))
    get_db().table("attendance").void(row.id, user=current_user.email, reason=_("学员撤回请假申请"))
    flash(_("已撤回请假申请。"), "success")
    return redirect(url_for("curriculum.leave"))


@bp.get("/leave/requests")
@login_required
def leave_requests() -> Any:
    """Every leave request (admin): waiting ones first, then decided ones."""
    require("curriculum.manage")
    rows = [r for r in get_db().table("attendance").where(status=rules.LEAVE)]
    sessions = {s.id: s for s in get_db().table("sessions").all()}
    trainees = {t.id: t for t in get_db().table("trainees").all()}
    waiting = [r for r in rows if (r.get("leave_status") or rules.PENDING) == rules.PENDING]
    decided = [r for r in rows if r not in waiting]

    def when(r: Record) -> Any:
        s = sessions.get(str(r.get("session") or ""))
        return rules.as_date(s.get("date")) if s else None

    waiting.sort(key=lambda r: (when(r) is None, when(r) or data.today()))
    decided.sort(key=lambda r: (when(r) is not None, when(r) or data.today()), reverse=True)
    return render_template(
        "curriculum/leave_requests.html",
        waiting=waiting,
        decided=decided[:100],
        sessions=sessions,
        trainees=trainees,
        form=PostForm(),
    )


@bp.post("/leave/row/<attendance_id>/decide")
@login_required
def leave_decide(attendance_id: str) -> Any:
    """Approve or refuse a leave request (admin); the decision is kept on the row."""
    require("curriculum.manage")
    row = get_db().table("attendance").get(attendance_id)
    if row is None or row.get("status") != rules.LEAVE:
        abort(404)
    PostForm().validate_on_submit()
    decision = DECISIONS.get(request.form.get("decision", ""))
    if decision is None:
        abort(400)
    result = (
        get_db()
        .table("attendance")
        .update(
            row.id,
            {"leave_status": decision},
            base={
                "leave_status": request.form.get("base_leave_status", row.get("leave_status") or "")
            },
            user=current_user.email,
        )
    )
    if result.status == "parked":
        flash(_("审批未生效：表格中的审批结果已被他人修改，请到“同步与冲突”页面处理。"), "warning")
    else:
        approved = decision == rules.APPROVED
        flash(_("已批准请假申请。") if approved else _("已拒绝请假申请。"), "success")
    return redirect(url_for("curriculum.leave_requests"))
