"""Evidence attachments (附件) of a nomination: saving the files a 推荐表 form carries, the
download and the removal routes, and ``nomination_attachments()`` for the templates.

A download is a record-level read: the nomination must be one the user may view
(``nominations.view``: another district's → 404) and the file must be listed in its 附件 cell
(a stored name alone opens nothing). Removing needs ``nominations.edit`` and an editable
status. A removed file stays in the upload folder (the audit trail may still name it); it is
no longer reachable through the nomination.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from flask import abort, flash, redirect, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from mingxiao import uploads
from mingxiao.database import get_db
from mingxiao.policy import require
from mingxiao.schema_forms import problem_text, show_error
from mingxiao.sheetdb import Record

from .. import attachments, workflow
from ..blueprint import bp

FIELD = "attachments"


def selected_files(form: Any) -> list[Any]:
    """The files chosen in the form's 附件 field (empty file inputs left out)."""
    data = form[FIELD].data if FIELD in form else None
    if not isinstance(data, list):  # an edit form's object data is the 附件 cell's text
        return []
    return [f for f in data if getattr(f, "filename", None)]


def save_files(form: Any, existing: list[str], *, user: str) -> list[str] | None:
    """Check and store the chosen files; their stored names, or None after showing the
    problem at the 附件 field (then nothing of this request is kept)."""
    files = selected_files(form)
    if not files:
        return []
    problem = attachments.count_problem(existing, len(files))
    if problem is not None:
        show_error(form, FIELD, problem_text(problem))
        return None
    saved: list[uploads.StoredFile] = []
    try:
        for file in files:
            stored = uploads.save_upload(file, kinds=attachments.KINDS)
            saved.append(stored)
            uploads.write_metadata(stored, uploaded_by=user)
    except uploads.UploadError as exc:
        name = uploads.clean_original_name(getattr(file, "filename", ""))
        show_error(form, FIELD, _("附件“%(name)s”未能上传：%(reason)s", name=name, reason=str(exc)))
        forget_files([s.name for s in saved])
        return None
    return [s.name for s in saved]


def forget_files(names: list[str] | None) -> None:
    """Remove stored files and their metadata (files of a request that did not go through)."""
    for name in names or ():
        try:
            path = uploads.upload_path(name)
        except (uploads.UploadError, FileNotFoundError):
            continue
        path.with_name(path.name + ".json").unlink(missing_ok=True)
        path.unlink(missing_ok=True)


def not_saved_notice(form: Any) -> None:
    """Tell the person that the files they chose were not kept because of other errors."""
    if selected_files(form) and not form[FIELD].errors:
        show_error(
            form, FIELD, _("表单中还有需要改正的内容，所选附件尚未保存。改正后请重新选择附件文件。")
        )


@bp.app_template_global()
def nomination_attachments(nomination: Any) -> list[dict[str, Any]]:
    """The 附件 of ``nomination`` for a page: name, label and whether it can be downloaded."""
    out = []
    for entry in attachments.parse(nomination.get(FIELD) if nomination else None):
        stored = attachments.is_stored(entry)
        meta = uploads.read_metadata(entry) if stored else {}
        out.append(
            {
                "name": entry,
                "label": meta.get("original_name") or entry,
                "size": meta.get("size"),
                "stored": stored,
            }
        )
    return out


def _nomination_or_404(nomination_id: str, action: str) -> Record:
    rec = get_db().table("nominations").get(nomination_id)
    if rec is None:
        abort(404)
    require(action, rec, status=404)
    return rec


@bp.get("/<nomination_id>/attachments/<name>")
@login_required
def attachment(nomination_id: str, name: str) -> Any:
    """Download one attachment of a nomination the user may view."""
    rec = _nomination_or_404(nomination_id, "nominations.view")
    if name not in attachments.parse(rec.get(FIELD)) or not attachments.is_stored(name):
        abort(404)
    try:
        fh = uploads.open_upload(name)
    except (uploads.UploadError, FileNotFoundError):
        abort(404)
    meta = uploads.read_metadata(name)
    mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return send_file(
        fh,
        mimetype=mimetype,
        as_attachment=True,
        download_name=str(meta.get("original_name") or name),
        max_age=0,
    )


@bp.post("/<nomination_id>/attachments/<name>/remove")
@login_required
def attachment_remove(nomination_id: str, name: str) -> Any:
    """Take one attachment off an editable nomination."""
    rec = _nomination_or_404(nomination_id, "nominations.edit")
    back = redirect(url_for("nominations.detail", nomination_id=rec.id))
    if name not in attachments.parse(rec.get(FIELD)):
        abort(404)
    locked = workflow.edit_problem(rec.get("status"))
    if locked is not None:
        flash(problem_text(locked), "warning")
        return back
    result = (
        get_db()
        .table("nominations")
        .update(
            rec.id,
            {FIELD: attachments.without(rec.get(FIELD), name)},
            base={FIELD: rec.get(FIELD)},
            user=current_user.email,
        )
    )
    if result.status == "parked" and result.op is not None:
        flash(_("这份推荐的附件刚被别人改过，操作已暂存为冲突。请打开冲突页面处理。"), "warning")
        return redirect(url_for("admin.conflict", seq=result.op.seq))
    label = uploads.read_metadata(name).get("original_name") or name
    flash(_("已删除附件“%(name)s”。", name=label), "success")
    return back
