"""结业作业: progress, upload with automatic 字数, versions, review, resubmission, download.

Every upload is a new row of ``deliverables`` (version 1, 2, … of one (trainee, kind, title)),
so every file, its 字数 and its review stay in the sheet. A file enters through
``mingxiao.uploads.save_upload`` (type, size, content and zip-bomb checks), then
``mingxiao.wordcount`` counts it; a file without text (a scan) needs a typed 字数 and a reason.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from mingxiao import notifications, uploads, wordcount
from mingxiao.database import get_db
from mingxiao.policy import authorize, mentor_trainee_ids, require
from mingxiao.schema_forms import problem_text, show_error
from mingxiao.sheetdb import Page, Record, ValidationError

from .. import rules
from ..blueprint import bp
from ..forms import UPLOAD_KINDS, ReviewForm, resubmit_form, upload_form
from .common import (
    parked,
    record_or_404,
    refuse_closed,
    requirements,
    trainee_or_404,
    visible_trainees,
)

SHEET = "deliverables"
# trainees per page of the progress list
PER_PAGE = 50


def _rows_of(trainee_id: str) -> list[Record]:
    return [r for r in get_db().table(SHEET).where(trainee=trainee_id) if not r.voided]


def stored_file(rec: Any) -> str | None:
    """The stored upload name of a deliverable, if its file is in the upload folder."""
    name = rec.get("file_ref") if rec else None
    if not isinstance(name, str) or not uploads.STORED_NAME_RE.match(name):
        return None
    try:
        uploads.upload_path(name)
    except (uploads.UploadError, FileNotFoundError):
        return None
    return name


def _file_label(rec: Any) -> str | None:
    name = stored_file(rec)
    if name is None:
        return None
    return str(uploads.read_metadata(name).get("original_name") or name)


@bp.app_template_global()
def deliverable_file_label(rec: Any) -> str | None:
    """The original file name of a deliverable's stored file (None: not downloadable)."""
    return _file_label(rec)


@bp.app_template_global()
def requirement_text(req: rules.Requirement) -> str:
    """The reason of a checklist line in the reader's language."""
    return problem_text(req.reason)


def progress_of(trainee_id: str) -> list[rules.Requirement]:
    """The five deliverable lines of one trainee."""
    return rules.deliverable_requirements(requirements(), _rows_of(trainee_id))


def review_queue() -> list[Record]:
    """Latest versions waiting for the current mentor's review, oldest first."""
    mine = mentor_trainee_ids(current_user)
    if not mine:
        return []
    rows = [r for r in get_db().table(SHEET).all() if not r.voided and r.get("trainee") in mine]
    waiting = [r for r in rules.latest_versions(rows) if r.get("review_status") == rules.PENDING]
    return sorted(waiting, key=lambda r: (str(r.get("submitted_at") or ""), str(r.get("id"))))


# --------------------------------------------------------------------------- pages


@bp.get("/")
@login_required
def index() -> str:
    """Trainee: own progress and deliverables. Others: the trainees they may see."""
    require("deliverables.view")
    reqs = requirements()
    if current_user.role == "trainee":
        trainee = get_db().table("trainees").get(str(current_user.trainee_id))
        if trainee is None:
            abort(404)
        return _trainee_page(trainee, own=True)
    trainees = visible_trainees("deliverables.view")
    number = max(1, request.args.get("page", 1, type=int) or 1)
    start = (number - 1) * PER_PAGE
    # progress is worked out for the trainees on this page only (their rows via the index)
    page = Page(items=[], total=len(trainees), page=number, per_page=PER_PAGE)
    shown = trainees[start : start + PER_PAGE]
    # computed once per state of the sheet and shared between requests: read, never change
    progress = get_db().cached(
        ("deliverables.progress", tuple(t.id for t in shown)),
        (SHEET,),
        lambda: [rules.deliverable_requirements(reqs, _rows_of(t.id)) for t in shown],
    )
    page.items = list(zip(shown, progress, strict=True))
    queue = review_queue() if current_user.role == "mentor" else []
    names = {t.id: t.get("name") for t in trainees}
    return render_template(
        "deliverables/index.html", page=page, kinds=reqs.kinds, queue=queue, names=names
    )


@bp.get("/trainee/<trainee_id>")
@login_required
def trainee(trainee_id: str) -> str:
    """One trainee's deliverables and progress."""
    rec = trainee_or_404(trainee_id, "deliverables.view")
    return _trainee_page(rec, own=authorize(current_user, "deliverables.submit", rec))


def _trainee_page(trainee: Record, *, own: bool) -> str:
    rows = _rows_of(trainee.id)
    latest = rules.latest_versions(rows)
    order = {rule.kind: i for i, rule in enumerate(requirements().kinds)}
    latest.sort(key=lambda r: (order.get(str(r.get("kind")), 99), str(r.get("title"))))
    versions = {r.get("id"): len(rules.versions_of(rows, r)) for r in latest}
    archived = rules.record_closed(trainee)
    return render_template(
        "deliverables/trainee.html",
        trainee=trainee,
        progress=rules.deliverable_requirements(requirements(), rows),
        latest=latest,
        versions=versions,
        own=own and not archived,
        closed_note=problem_text(rules.CLOSED_PROBLEM) if archived else None,
    )


def _count(stored: uploads.StoredFile) -> wordcount.WordCount | None:
    try:
        return wordcount.count_file(uploads.upload_path(stored.name), stored.kind)
    except wordcount.WordCountError:
        return None


def _store_and_count(form: Any) -> tuple[uploads.StoredFile, dict[str, Any]] | None:
    """Save the file and work out its 字数 columns; None after showing the problem."""
    try:
        stored = uploads.save_upload(form.file_ref.data, kinds=UPLOAD_KINDS)
    except uploads.UploadError as exc:
        show_error(form, "file_ref", str(exc))
        return None
    counted = _count(stored)
    has_text = counted is not None and counted.has_text
    manual = form.char_count.data
    reason = (form.manual_count_reason.data or "").strip()
    problem = rules.manual_count_problem(has_text, manual, reason)
    if problem is not None:
        uploads.delete_upload(stored.name)
        show_error(form, "char_count", problem_text(problem))
        if manual is None and not has_text:
            show_error(form, "file_ref", _("请重新选择文件，并填写人工统计的字数和原因。"))
        return None
    if manual is not None:
        method = "人工填报" + (
            f"（系统自动统计为 {counted.total} 字）" if counted and has_text else ""
        )
        values = {"char_count": manual, "count_method": method, "manual_count_reason": reason}
    else:
        assert counted is not None
        values = {
            "char_count": counted.total,
            "count_method": counted.describe(),
            "manual_count_reason": None,
        }
    return stored, values


def _flash_saved(rec: Record, rule: rules.KindRule | None) -> None:
    chars = rec.get("char_count")
    flash(
        _(
            "已提交“%(title)s”（第 %(version)s 版），字数 %(chars)s。请等待导师审阅。",
            title=rec.get("title"),
            version=rec.get("version"),
            chars=chars,
        ),
        "success",
    )
    if rule is not None and not rules.meets_chars(rule, chars):
        flash(
            _(
                "注意：字数 %(chars)s 少于%(kind)s不少于 %(min)s 字的要求。",
                chars=chars,
                kind=rule.kind,
                min=rule.min_chars,
            ),
            "warning",
        )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    """A trainee uploads a new deliverable."""
    require("deliverables.submit")
    refused = refuse_closed(current_user.trainee_id, url_for("deliverables.index"))
    if refused is not None:
        return refused
    reqs = requirements()
    form = upload_form([r.kind for r in reqs.kinds])
    if request.method == "GET" and request.args.get("kind") in {r.kind for r in reqs.kinds}:
        form.kind.data = request.args["kind"]
    trainee_id = str(current_user.trainee_id)
    if form.validate_on_submit():
        rows = _rows_of(trainee_id)
        title = (form.title.data or "").strip()
        duplicate = rules.duplicate_title_problem(rows, trainee_id, form.kind.data, title)
        if duplicate is not None:
            show_error(form, "title", problem_text(duplicate))
        elif (saved := _store_and_count(form)) is not None:
            stored, counted = saved
            rec = _insert(
                form,
                stored,
                {
                    "trainee": trainee_id,
                    "kind": form.kind.data,
                    "title": title,
                    "version": 1,
                    **counted,
                },
            )
            if rec is not None:
                _flash_saved(rec, reqs.rule(form.kind.data))
                return redirect(url_for("deliverables.detail", deliverable_id=rec.id))
    return render_template("deliverables/upload.html", form=form, reqs=reqs, previous=None)


def _insert(form: Any, stored: uploads.StoredFile, values: dict[str, Any]) -> Record | None:
    db = get_db()
    values = {
        **values,
        "file_ref": stored.name,
        "review_status": rules.PENDING,
        "submitted_at": db.now(),
    }
    try:
        rec = db.table(SHEET).insert(values, user=current_user.email)
    except ValidationError as exc:
        uploads.delete_upload(stored.name)
        for key, problem in exc.details.items():
            show_error(form, key if key in form else "title", problem_text(problem))
        return None
    uploads.write_metadata(stored, uploaded_by=current_user.email, deliverable=rec.id)
    return rec


@bp.get("/<deliverable_id>")
@login_required
def detail(deliverable_id: str) -> str:
    """One deliverable: its 字数 against the threshold, every version, the review."""
    rec = record_or_404(SHEET, deliverable_id, "deliverables.view")
    return _detail_page(rec)


def _detail_page(rec: Record, form: ReviewForm | None = None) -> str:
    """The page of ``rec``; ``form`` is a review form coming back with its errors."""
    rows = _rows_of(str(rec.get("trainee")))
    versions = rules.versions_of(rows, rec)
    latest = rules.is_latest(rows, rec)
    trainee = get_db().table("trainees").get(str(rec.get("trainee")))
    can_review = (
        latest
        and rec.get("review_status") == rules.PENDING
        and authorize(current_user, "deliverables.review", rec)
    )
    can_resubmit = (
        rules.resubmit_problem(rows, rec) is None
        and authorize(current_user, "deliverables.submit", rec)
        and not rules.record_closed(trainee)
    )
    return render_template(
        "deliverables/detail.html",
        rec=rec,
        trainee=trainee,
        versions=versions,
        latest=latest,
        rule=requirements().rule(str(rec.get("kind"))),
        can_review=can_review,
        can_resubmit=can_resubmit,
        form=(form or ReviewForm()) if can_review else None,
        schema=get_db().schemas[SHEET],
    )


@bp.post("/<deliverable_id>/review")
@login_required
def review(deliverable_id: str) -> Any:
    """The mentor passes a deliverable, or returns it with comments.

    A decision the form cannot take (none chosen, a return without a comment, a comment too
    long) shows the page again with the error at the field and the mentor's choice and text
    kept; a stale form or an already reviewed version goes back to the page with a message."""
    rec = record_or_404(SHEET, deliverable_id, "deliverables.review")
    back = redirect(url_for("deliverables.detail", deliverable_id=rec.id))
    form = ReviewForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            flash(_("表单已过期或内容有误，请重新审阅。"), "error")
            return back
        return _detail_page(rec, form)
    decision = form.review_status.data or ""
    comment = (form.review_comment.data or "").strip()
    rows = _rows_of(str(rec.get("trainee")))
    problem = rules.review_problem(rows, rec, decision, comment)
    if problem is not None:
        if not rules.is_latest(rows, rec) or rec.get("review_status") != rules.PENDING:
            flash(problem_text(problem), "error")  # nothing to review here any more
            return back
        chosen = decision in (rules.PASSED, rules.RETURNED)
        show_error(form, "review_comment" if chosen else "review_status", problem_text(problem))
        return _detail_page(rec, form)
    db = get_db()
    result = db.table(SHEET).update(
        rec.id,
        {
            "review_status": decision,
            "review_comment": comment or None,
            "reviewed_by": current_user.email,
            "reviewed_at": db.now(),
        },
        base={
            "review_status": rec.get("review_status"),
            "review_comment": rec.get("review_comment"),
        },
        user=current_user.email,
    )
    conflict = parked(result)
    if conflict is not None:
        return conflict
    if decision == rules.PASSED:
        flash(_("已通过“%(title)s”。", title=rec.get("title")), "success")
    else:
        flash(_("已退回“%(title)s”，学员会看到您的审阅意见。", title=rec.get("title")), "success")
        _notify_returned(rec, comment)
    return back


def _notify_returned(rec: Record, comment: str) -> None:
    """An in-app notification (站内通知) for the trainee's login(s): what to change, and where."""
    trainee_id = str(rec.get("trainee"))
    accounts = [
        u
        for u in get_db().table("users").where(trainee=trainee_id)
        if not u.voided and u.get("email") and u.get("role") == "trainee"
    ]
    for account in accounts:
        notifications.notify(
            current_app._get_current_object(),  # type: ignore[attr-defined]
            email=str(account["email"]),
            title=f"结业作业“{rec.get('title')}”（第 {rec.get('version')} 版）被导师退回修改",
            body=comment,
            link=url_for("deliverables.detail", deliverable_id=rec.id),
            kind="deliverables.returned",
            key=f"deliverables.returned:{rec.id}",
        )


@bp.route("/<deliverable_id>/resubmit", methods=["GET", "POST"])
@login_required
def resubmit(deliverable_id: str) -> Any:
    """The trainee uploads a new version of a returned deliverable (a new row, version + 1)."""
    rec = record_or_404(SHEET, deliverable_id, "deliverables.submit")
    back = url_for("deliverables.detail", deliverable_id=rec.id)
    refused = refuse_closed(rec.get("trainee"), back)
    if refused is not None:
        return refused
    rows = _rows_of(str(rec.get("trainee")))
    problem = rules.resubmit_problem(rows, rec)
    if problem is not None:
        flash(problem_text(problem), "warning")
        return redirect(url_for("deliverables.detail", deliverable_id=rec.id))
    form = resubmit_form()
    if form.validate_on_submit() and (saved := _store_and_count(form)) is not None:
        stored, counted = saved
        new_rec = _insert(
            form,
            stored,
            {
                "trainee": rec.get("trainee"),
                "kind": rec.get("kind"),
                "title": rec.get("title"),
                "version": rules.next_version(rows, rec),
                **counted,
            },
        )
        if new_rec is not None:
            _flash_saved(new_rec, requirements().rule(str(rec.get("kind"))))
            return redirect(url_for("deliverables.detail", deliverable_id=new_rec.id))
    return render_template("deliverables/upload.html", form=form, reqs=requirements(), previous=rec)


@bp.get("/<deliverable_id>/file")
@login_required
def download(deliverable_id: str) -> Any:
    """The file of one version, for whoever may view the deliverable."""
    rec = record_or_404(SHEET, deliverable_id, "deliverables.view")
    name = stored_file(rec)
    if name is None:
        abort(404)
    meta = uploads.read_metadata(name)
    return send_file(
        uploads.open_upload(name),
        mimetype=mimetypes.guess_type(name)[0] or "application/octet-stream",
        as_attachment=True,
        download_name=str(meta.get("original_name") or name),
        max_age=0,
    )
