"""Import of a district's existing 《人选汇总表》: upload, preview, confirm (in chunks), result.

Nothing is written before the confirm. The upload is stored through ``mingxiao.uploads``
(xlsx only, magic bytes and package checked) in the imports folder; its random id is bound
to the person who uploaded it and the district it is for, and anyone else gets a bare 404.
The confirm re-reads and re-checks the file under a per-upload lock before every chunk, so a
repeated or double-clicked chunk writes nothing twice. The checks are ``importer.py``'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField
from wtforms.validators import InputRequired, Optional

from mingxiao import uploads
from mingxiao.database import get_db
from mingxiao.policy import authorize, require
from mingxiao.schema_forms import problem_text
from mingxiao.sheetdb import Record

from .. import importer, workflow
from ..blueprint import bp
from ..forms import options

MAX_CHUNK = 200
REFUSED_KINDS = ("xls", "et", "csv", "ods", "wps")  # spreadsheets to save as .xlsx first
PREVIEW_FIELDS = ("name", "school", "position", "title")
STATUS_LABELS = {
    importer.NEW: _l("新增"),
    importer.EXISTING: _l("已存在（跳过）"),
    importer.ERROR: _l("错误"),
    importer.CREATED: _l("已导入"),
}


class ImportForm(FlaskForm):
    """The upload: cohort, (admins) district, and the xlsx file."""

    cohort = SelectField(
        _l("导入到期次"), choices=[], validators=[InputRequired(_l("请选择导入到哪一期。"))]
    )
    district = SelectField(_l("区、县（市）"), choices=[], validators=[Optional()])
    file = FileField(
        _l("《人选汇总表》文件"),
        description=_l(
            "Excel 工作簿（.xlsx）。表头行写“姓名”“性别”“出生日期”等列名，上方可以有标题行；本系统导出的《人选汇总表》可以直接导入。"
        ),
        validators=[FileRequired(_l("请选择要导入的 .xlsx 文件。"))],
        render_kw={
            "accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        },
    )


class ConfirmForm(FlaskForm):
    """The confirm (CSRF only; the chunk's ``start``/``size`` are read from the request)."""


def _is_admin() -> bool:
    return authorize(current_user, "nominations.all_districts")


def _folder() -> Path:
    return importer.imports_folder(current_app.config["UPLOAD_FOLDER"])


def _cohorts() -> list[Record]:
    return sorted(get_db().table("cohorts").all(), key=lambda c: (c.get("number") or 0, c.id))


def _state_or_404(upload_id: str) -> dict[str, Any]:
    """The import ``upload_id`` if it is the current user's (and district's); 404 otherwise."""
    require("nominations.import")
    state = importer.load_state(_folder(), upload_id)
    district = state.get("district") if _is_admin() and state else current_user.district
    if not importer.owned_by(state, current_user.email, district):
        abort(404)
    assert state is not None
    if importer.expired(state, get_db().now()):
        importer.remove_import(_folder(), upload_id)
        abort(404)
    return state


def _cohort_of(state: dict[str, Any]) -> Record:
    cohort = get_db().table("cohorts").get(str(state.get("cohort") or ""))
    if cohort is None:
        abort(404)
    return cohort


def _analyse(state: dict[str, Any], cohort: Record) -> importer.Analysis:
    db = get_db()
    path = _folder() / str(state["file"])
    table = importer.read_summary(path, db.schemas["nominations"])
    return importer.analyse(
        table,
        db,
        cohort=cohort,
        district=str(state["district"]),
        created=importer.created_rows(state),
    )


def _messages(row: importer.ImportRow) -> list[dict[str, str | None]]:
    out = []
    for p in row.problems:
        text = problem_text((p.template, p.params))
        if p.fix:
            text = f"{text}；{_(p.fix)}"
        out.append({"address": p.address, "header": p.header, "text": text})
    return out


@bp.context_processor
def import_helpers() -> dict[str, Any]:
    """``can_import_nominations()`` for the nominations templates (the link on the list)."""
    return {"can_import_nominations": lambda: authorize(current_user, "nominations.import")}


# --------------------------------------------------------------------------- upload


def _import_form() -> ImportForm:
    form = ImportForm()
    form.cohort.choices = options([(c.id, str(c.get("name") or c.id)) for c in _cohorts()])
    if _is_admin():
        form.district.choices = options([(d, d) for d in get_db().choices("districts")])
    else:
        del form.district
    return form


def _store(form: ImportForm, cohort: Record, district: str) -> str | None:
    """Store and read the uploaded file; its import id, or None with the error on the form."""
    original = uploads.clean_original_name(getattr(form.file.data, "filename", ""))
    kind = original.rpartition(".")[2].lower() if "." in original else ""
    if kind in REFUSED_KINDS:
        form.file.errors.append(
            _(
                "“.%(kind)s”文件不能直接导入。请在 Excel 或 WPS 中打开，“另存为”Excel 工作簿（.xlsx）后再上传。",
                kind=kind,
            )
        )
        return None
    folder = _folder()
    try:
        stored = uploads.save_upload(form.file.data, kinds=("xlsx",), folder=folder)
    except uploads.UploadError as exc:
        form.file.errors.append(str(exc))
        return None
    try:
        importer.read_summary(folder / stored.name, get_db().schemas["nominations"])
    except importer.ImportFileError as exc:
        (folder / stored.name).unlink(missing_ok=True)
        form.file.errors.append(problem_text((exc.template, exc.params)))
        return None
    db = get_db()
    importer.purge_expired(folder, db.now())
    return importer.start_import(
        folder,
        stored.name,
        original_name=stored.original_name,
        owner=current_user.email,
        district=district,
        cohort_id=cohort.id,
        now=db.now(),
    )


@bp.route("/import", methods=["GET", "POST"])
@login_required
def import_upload() -> Any:
    require("nominations.import")
    db = get_db()
    form = _import_form()
    if form.validate_on_submit():
        cohort = db.table("cohorts").get(form.cohort.data or "")
        district = form.district.data if _is_admin() else current_user.district
        problem = workflow.window_problem(cohort, db.today())
        if problem is not None:
            form.cohort.errors = [*form.cohort.errors, problem_text(problem)]
        elif not district or district not in db.choices("districts"):
            target = form.district if _is_admin() else form.cohort
            target.errors = [*target.errors, _("请选择导入到哪个区、县（市）。")]
        elif cohort is not None:
            upload_id = _store(form, cohort, district)
            if upload_id is not None:
                return redirect(url_for("nominations.import_preview", upload_id=upload_id))
    return render_template("nominations/import_upload.html", form=form)


# --------------------------------------------------------------------------- preview


@bp.get("/import/<upload_id>")
@login_required
def import_preview(upload_id: str) -> Any:
    state = _state_or_404(upload_id)
    if state.get("finished"):
        return redirect(url_for("nominations.import_result", upload_id=upload_id))
    cohort = _cohort_of(state)
    try:
        analysis = _analyse(state, cohort)
    except (importer.ImportFileError, OSError):
        importer.remove_import(_folder(), upload_id)
        flash(_("找不到已上传的文件，请重新上传。"), "warning")
        return redirect(url_for("nominations.import_upload"))
    window = workflow.window_problem(cohort, get_db().today())
    rows = [
        {
            "number": r.number,
            "status": r.status,
            "label": STATUS_LABELS[r.status],
            "values": r.values,
            "existing_id": r.existing_id,
            "created_id": r.created_id,
            "messages": _messages(r),
        }
        for r in analysis.rows
    ]
    schema = get_db().schemas["nominations"]
    return render_template(
        "nominations/import_preview.html",
        upload_id=upload_id,
        state=state,
        cohort=cohort,
        analysis=analysis,
        totals=analysis.totals,
        rows=rows,
        headers={k: schema.column(k).header for k in PREVIEW_FIELDS},
        recognised=[schema.column(k).header for k in analysis.table.columns],
        window_problem=problem_text(window) if window else None,
        form=ConfirmForm(),
        chunk_size=importer.CHUNK_SIZE,
    )


# --------------------------------------------------------------------------- confirm


def _chunk_bounds() -> tuple[int, int] | None:
    """(start, size) of a chunked confirm (import.js), or None for everything at once."""
    if "start" not in request.form:
        return None
    try:
        start = max(int(request.form["start"]), 0)
        size = int(request.form.get("size") or importer.CHUNK_SIZE)
    except ValueError:
        abort(400)
    return start, min(max(size, 1), MAX_CHUNK)


@bp.post("/import/<upload_id>/confirm")
@login_required
def import_confirm(upload_id: str) -> Any:
    _state_or_404(upload_id)
    ConfirmForm().validate_on_submit()  # CSRF is checked app-wide before this view
    chunk = _chunk_bounds()
    result_url = url_for("nominations.import_result", upload_id=upload_id)
    preview_url = url_for("nominations.import_preview", upload_id=upload_id)
    folder = _folder()
    db = get_db()
    with importer.upload_lock(folder, upload_id):
        state = importer.load_state(folder, upload_id)
        if state is None:
            abort(404)
        if state.get("finished"):
            if chunk is not None:
                return jsonify(
                    processed=state.get("totals", {}).get("rows", 0),
                    total=state.get("totals", {}).get("rows", 0),
                    created=len(state.get("created") or {}),
                    finished=True,
                    result_url=result_url,
                )
            return redirect(result_url)
        cohort = _cohort_of(state)
        problem = workflow.window_problem(cohort, db.today())
        if problem is not None:
            if chunk is not None:
                return jsonify(message=problem_text(problem)), 409
            flash(problem_text(problem), "error")
            return redirect(preview_url)
        try:
            analysis = _analyse(state, cohort)
        except (importer.ImportFileError, OSError):
            if chunk is not None:
                return jsonify(message=_("找不到已上传的文件，请重新上传。")), 409
            flash(_("找不到已上传的文件，请重新上传。"), "warning")
            return redirect(url_for("nominations.import_upload"))
        total = len(analysis.rows)
        last = chunk is None or chunk[0] + chunk[1] >= total
        # The last chunk writes every row still new (also any an interrupted run left behind).
        start, size = (0, None) if last or chunk is None else chunk
        written = importer.write_rows(
            db,
            analysis,
            cohort_id=cohort.id,
            district=str(state["district"]),
            start=start,
            size=size,
            user=current_user.email,
        )
        state["created"] = {
            **(state.get("created") or {}),
            **{str(k): v for k, v in written.items()},
        }
        if last:
            state["finished"] = True
            state["totals"] = analysis.totals
            importer.remove_file(folder, state)
        importer.save_state(folder, upload_id, state)
    processed = total if last else start + (size or 0)
    if chunk is not None:
        return jsonify(
            processed=processed,
            total=total,
            created=len(state["created"]),
            finished=last,
            result_url=result_url,
        )
    flash(_("导入完成：新建 %(n)d 份推荐（草稿）。", n=len(state["created"])), "success")
    return redirect(result_url)


# --------------------------------------------------------------------------- result, discard


@bp.get("/import/<upload_id>/result")
@login_required
def import_result(upload_id: str) -> Any:
    state = _state_or_404(upload_id)
    cohort = _cohort_of(state)
    table = get_db().table("nominations")
    created = []
    for number, rid in sorted(importer.created_rows(state).items()):
        rec = table.get(rid)
        created.append({"number": number, "id": rid, "name": rec.get("name") if rec else None})
    totals = state.get("totals") or {}
    return render_template(
        "nominations/import_result.html",
        upload_id=upload_id,
        state=state,
        cohort=cohort,
        created=created,
        totals=totals,
        finished=bool(state.get("finished")),
    )


@bp.post("/import/<upload_id>/discard")
@login_required
def import_discard(upload_id: str) -> Any:
    state = _state_or_404(upload_id)
    ConfirmForm().validate_on_submit()
    if state.get("finished"):  # written rows are nominations now: edit or void them there
        return redirect(url_for("nominations.import_result", upload_id=upload_id))
    folder = _folder()
    with importer.upload_lock(folder, upload_id):
        importer.remove_import(folder, upload_id)
    flash(_("已取消这次导入，上传的文件已删除。"), "success")
    return redirect(url_for("nominations.import_upload"))
