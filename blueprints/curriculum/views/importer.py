"""A session's sign-in sheet (签到表, xlsx): upload, preview with row errors, confirm (admin).

Nothing is written before the confirm; the confirm reads the file and the workbook again
under a per-upload lock, so a double click or a second import of the same file adds nothing
(rows are keyed by session and trainee). Uploads belong to the admin who made them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from mingxiao import uploads
from mingxiao.database import get_db
from mingxiao.policy import require
from mingxiao.sheetdb import Record
from mingxiao.sheetdb.types import N_

from .. import data, signin
from ..blueprint import bp
from ..forms import PostForm, SignInImportForm

STATUS_LABELS = {
    signin.NEW: N_("新增"),
    signin.UPDATE: N_("更新"),
    signin.SAME: N_("无变化"),
    signin.ERROR: N_("错误"),
}


def _folder() -> Path:
    return signin.imports_folder(current_app.config["UPLOAD_FOLDER"])


def _session_or_404(session_id: str) -> Record:
    rec = get_db().table("sessions").get(session_id)
    if rec is None:
        abort(404)
    return rec


def _state_or_404(upload_id: str) -> dict[str, Any]:
    require("curriculum.manage")
    state = signin.load_state(_folder(), upload_id)
    if state is None or state.get("owner") != current_user.email:
        abort(404)
    if signin.expired(state, get_db().now()):
        signin.remove_import(_folder(), upload_id)
        abort(404)
    return state


def _analyse(state: dict[str, Any], session: Record) -> signin.Analysis:
    sheet = signin.read_sheet(_folder() / str(state["file"]))
    return signin.analyse(
        sheet,
        session=session,
        trainees=data.trainees_of(str(session.get("cohort") or "")),
        attendance=get_db().table("attendance").where(session=session.id),
    )


@bp.route("/sessions/<session_id>/import", methods=["GET", "POST"])
@login_required
def import_upload(session_id: str) -> Any:
    """Upload the sign-in sheet of one session."""
    require("curriculum.manage")
    session = _session_or_404(session_id)
    form = SignInImportForm()
    if form.validate_on_submit():
        folder = _folder()
        try:
            stored = uploads.save_upload(form.file.data, kinds=("xlsx",), folder=folder)
        except uploads.UploadError as exc:
            form.file.errors.append(str(exc))
        else:
            try:
                signin.read_sheet(folder / stored.name)
            except signin.SignInFileError as exc:
                (folder / stored.name).unlink(missing_ok=True)
                form.file.errors.append(_(exc.template).format(**exc.params))
            else:
                upload_id = signin.start_import(
                    folder,
                    stored.name,
                    original_name=stored.original_name,
                    owner=current_user.email,
                    session_id=session.id,
                    now=get_db().now(),
                )
                return redirect(url_for("curriculum.import_preview", upload_id=upload_id))
    return render_template("curriculum/import_upload.html", form=form, session=session)


def _messages(row: signin.ImportRow) -> list[dict[str, Any]]:
    return [
        {"address": p.address, "header": p.header, "text": _(p.template).format(**p.params)}
        for p in row.problems
    ]


@bp.get("/import/<upload_id>")
@login_required
def import_preview(upload_id: str) -> Any:
    """Every row of the sheet with what the confirm would do, and its errors."""
    state = _state_or_404(upload_id)
    session = _session_or_404(str(state.get("session") or ""))
    if state.get("finished"):
        return redirect(url_for("curriculum.attendance", session_id=session.id))
    try:
        analysis = _analyse(state, session)
    except (signin.SignInFileError, OSError):
        signin.remove_import(_folder(), upload_id)
        flash(_("找不到已上传的文件，请重新上传。"), "warning")
        return redirect(url_for("curriculum.import_upload", session_id=session.id))
    names = {t.id: t.get("name") for t in data.trainees_of(str(session.get("cohort") or ""))}
    return render_template(
        "curriculum/import_preview.html",
        upload_id=upload_id,
        state=state,
        session=session,
        analysis=analysis,
        totals=analysis.totals,
        rows=[(r, _(STATUS_LABELS[r.status]), _messages(r)) for r in analysis.rows],
        missing=[(tid, names.get(tid)) for tid in analysis.missing_trainees],
        form=PostForm(),
    )


@bp.post("/import/<upload_id>/confirm")
@login_required
def import_confirm(upload_id: str) -> Any:
    """Write the new and changed rows (rows with errors are left out)."""
    _state_or_404(upload_id)
    PostForm().validate_on_submit()
    folder = _folder()
    with signin.upload_lock(folder, upload_id):
        state = signin.load_state(folder, upload_id)
        if state is None:
            abort(404)
        session = _session_or_404(str(state.get("session") or ""))
        if state.get("finished"):
            return redirect(url_for("curriculum.attendance", session_id=session.id))
        try:
            analysis = _analyse(state, session)
        except (signin.SignInFileError, OSError):
            flash(_("找不到已上传的文件，请重新上传。"), "warning")
            return redirect(url_for("curriculum.import_upload", session_id=session.id))
        counts = signin.write_rows(
            get_db().table("attendance"), analysis, session_id=session.id, user=current_user.email
        )
        state["finished"] = True
        signin.save_state(folder, upload_id, state)
        (folder / str(state["file"])).unlink(missing_ok=True)
    message = _(
        "签到表已导入：新增 %(new)d 行，更新 %(update)d 行，%(error)d 行有错误未导入。",
        new=counts[signin.NEW],
        update=counts[signin.UPDATE],
        error=analysis.totals[signin.ERROR],
    )
    flash(message, "success")
    if counts["parked"]:
        flash(
            _(
                "%(n)d 行在表格中已被他人修改，已转为冲突待处理（见“同步与冲突”）。",
                n=counts["parked"],
            ),
            "warning",
        )
    return redirect(url_for("curriculum.attendance", session_id=session.id))
