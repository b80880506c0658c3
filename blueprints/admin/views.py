"""Admin pages: parse the request, call the engine, render. No rules live here."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import gettext as translate  # for msgids held in data (not extracted)
from flask_login import current_user, login_required

from mingxiao import exports
from mingxiao.database import get_db
from mingxiao.policy import authorize
from mingxiao.sheetdb.engine import RecordNotFound

from .forms import ConfirmForm, RestoreForm

bp = Blueprint("admin", __name__, url_prefix="/admin")

AUDIT_PAGE = 50
AUDIT_EXPORT_MAX = 50000


def _require_admin() -> None:
    if not authorize(current_user, "admin.workbook"):
        abort(403)


@bp.get("/health")
@login_required
def health() -> Any:
    _require_admin()
    db = get_db()
    problems = db.health()
    by_sheet: dict[str, list[Any]] = {}
    for p in problems:
        by_sheet.setdefault(p.sheet or _("工作簿"), []).append(p)
    return render_template("admin/health.html", by_sheet=by_sheet, total=len(problems), status=db.status())


@bp.get("/sync")
@login_required
def sync() -> Any:
    _require_admin()
    db = get_db()
    return render_template(
        "admin/sync.html",
        status=db.status(),
        pending=db.pending()[:200],
        conflicts=db.conflicts(),
        incidents=db.incidents(),
        form=ConfirmForm(),
        schemas=db.schemas,
    )


@bp.post("/sync")
@login_required
def sync_now() -> Any:
    _require_admin()
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    result = get_db().sync(blocking=False)
    if result is None:
        flash(_("另一个进程正在写入工作簿，请稍后刷新查看。"), "info")
    elif result.blocked:
        flash(_("暂时不能写入：%(reason)s", reason=result.blocked), "warning")
    elif result.error:
        flash(_("写入失败：%(reason)s", reason=result.error), "danger")
    else:
        flash(_("已写入 %(n)d 项修改。", n=result.applied), "success")
    return redirect(url_for("admin.sync"))


def _conflict_or_404(seq: int) -> Any:
    db = get_db()
    op = db.journal.op(seq)
    if op is None or op.status != "parked":
        abort(404)
    is_author = bool(op.user) and op.user == getattr(current_user, "email", None)
    if not (authorize(current_user, "admin.workbook") or is_author):
        abort(404)
    return op


@bp.route("/conflicts/<int:seq>", methods=["GET", "POST"])
@login_required
def conflict(seq: int) -> Any:
    op = _conflict_or_404(seq)
    db = get_db()
    schema = db.schemas[op.sheet]
    fields = (op.conflict or {}).get("fields", [])
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        decisions = {}
        for f in fields:
            choice = request.form.get(f"choice_{f['field']}", "theirs")
            decisions[f["field"]] = choice if choice in ("mine", "theirs") else "theirs"
        try:
            db.resolve(seq, decisions, user=current_user.email)
        except RecordNotFound:
            abort(404)
        flash(_("冲突已解决，所选的值会在下次同步时写入。"), "success")
        return redirect(url_for("admin.sync") if authorize(current_user, "admin.workbook") else url_for("core.index"))
    return render_template("admin/conflict.html", op=op, fields=fields, schema=schema, form=form)


@bp.post("/incidents/<int:incident_id>/<action>")
@login_required
def incident(incident_id: int, action: str) -> Any:
    _require_admin()
    form = ConfirmForm()
    if not form.validate_on_submit() or action not in ("reapply", "dismiss"):
        abort(400)
    db = get_db()
    try:
        if action == "reapply":
            n = db.reapply_incident(incident_id, user=current_user.email)
            flash(_("已从日志重新排队 %(n)d 项修改。", n=n), "success")
        else:
            if not any(inc["id"] == incident_id for inc in db.incidents()):  # open ones only
                raise RecordNotFound(str(incident_id))
            db.dismiss_incident(incident_id, user=current_user.email)
            flash(_("已忽略该提醒。"), "info")
    except RecordNotFound:
        abort(404)
    return redirect(url_for("admin.sync"))


@bp.get("/audit")
@login_required
def audit() -> Any:
    _require_admin()
    db = get_db()
    # The user filter takes the account's id (U0005), never an email: no personal data in URLs.
    filters = {k: (request.args.get(k) or None) for k in ("sheet", "record_id", "account", "source")}
    if filters["sheet"] and filters["sheet"] not in db.schemas.sheets:
        filters["sheet"] = None
    accounts = db.table("users").all(include_voided=True)
    account = db.table("users").get(filters["account"], include_voided=True) if filters["account"] else None
    if account is None:
        filters["account"] = None
    query = {
        "sheet": filters["sheet"],
        "record_id": filters["record_id"],
        "user": account["email"] if account else None,
        "source": filters["source"],
    }
    fmt = request.args.get("format")
    if fmt in exports.FORMATS:
        return _audit_export(db, db.audit(**query, limit=AUDIT_EXPORT_MAX), fmt)
    page = max(1, request.args.get("page", 1, type=int) or 1)
    entries = db.audit(**query, limit=AUDIT_PAGE + 1, offset=(page - 1) * AUDIT_PAGE)
    has_next = len(entries) > AUDIT_PAGE
    return render_template(
        "admin/audit.html",
        entries=entries[:AUDIT_PAGE],
        filters=filters,
        accounts=accounts,
        page=page,
        has_next=has_next,
        schemas=db.schemas,
    )


def _audit_export(db: Any, entries: list[dict[str, Any]], fmt: str) -> Any:
    sources = {"web": _("网页"), "sheet": _("直接编辑表格"), "system": _("系统")}
    rows = []
    for e in entries:
        schema = db.schemas.sheets.get(e["sheet"])
        header = e["field"]
        if schema is not None and e["field"] in schema.keys:
            header = schema.column(e["field"]).header
        rows.append(
            {
                **e,
                "source": sources.get(e["source"], e["source"]),
                "sheet": schema.title if schema is not None else e["sheet"],
                "field": header,
                "note": translate(e["note"]) if e["note"] else "",  # notes are msgids (N_)
            }
        )
    columns = [
        ("at", _("时间")),
        ("source", _("来源")),
        ("user", _("用户")),
        ("sheet", _("工作表")),
        ("record_id", _("编号")),
        ("field", _("字段")),
        ("old", _("原值")),
        ("new", _("新值")),
        ("note", _("说明")),
    ]
    return exports.export_response(rows, columns, fmt, _("审计记录"))


@bp.get("/backups")
@login_required
def backups() -> Any:
    _require_admin()
    db = get_db()
    files = [{"name": p.name, "size": p.stat().st_size, "mtime": p.stat().st_mtime} for p in db.list_backups()]
    return render_template("admin/backups.html", files=files, form=ConfirmForm(), restore_form=RestoreForm())


@bp.post("/backups")
@login_required
def backup_now() -> Any:
    _require_admin()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    path = get_db().backup()
    flash(_("已备份。") if path else _("没有可备份的工作簿。"), "success" if path else "warning")
    return redirect(url_for("admin.backups"))


@bp.get("/backups/<name>")
@login_required
def backup_download(name: str) -> Any:
    _require_admin()
    db = get_db()
    for p in db.list_backups():
        if p.name == name:
            return send_file(p, as_attachment=True, download_name=p.name)
    abort(404)


@bp.post("/backups/restore")
@login_required
def backup_restore() -> Any:
    _require_admin()
    form = RestoreForm()
    if not form.validate_on_submit():
        abort(400)
    if not form.confirm.data:
        flash(_("请先勾选确认框。恢复会替换当前工作簿。"), "warning")
        return redirect(url_for("admin.backups"))
    try:
        get_db().restore_backup(form.name.data or "", user=current_user.email)
    except RecordNotFound:
        abort(404)
    flash(_("已从备份恢复工作簿。恢复前的工作簿已另存为备份。"), "success")
    return redirect(url_for("admin.backups"))
