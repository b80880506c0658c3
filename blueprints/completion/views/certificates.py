"""The certificate register (admin), issuing and revoking, and each certificate's print page
and PDF (admin, and the trainee it belongs to). Anyone else gets a bare 404 on a certificate
(the id is not confirmed) and 403 on the register."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from mingxiao import pdf
from mingxiao.database import get_db
from mingxiao.policy import authorize, permission_required, require
from mingxiao.schema_forms import problem_text
from mingxiao.sheetdb import Record, ValidationError

from .. import certificates, data, rules
from ..blueprint import bp
from ..forms import IssueForm, RevokeForm

log = logging.getLogger(__name__)


def _certificate_or_404(cert_id: str) -> Record:
    rec = get_db().table("certificates").get(cert_id)
    if rec is None:
        abort(404)
    require("completion.certificate", rec, status=404)
    return rec


@bp.get("/")
@login_required
@permission_required("completion.manage")
def index() -> Any:
    """Issued certificates and the trainees who qualify but have none yet."""
    db = get_db()
    cohort_id = request.args.get("cohort", "")
    cohorts = data.cohorts(db)
    names = {c.id: data.cohort_label(c) for c in cohorts}
    trainees = {t.id: t for t in db.table("trainees").all()}
    every = db.table("certificates").all(include_voided=True)
    live = [c for c in every if not c.voided]
    cohort_of = {tid: str(t.get("cohort") or "") for tid, t in trainees.items()}
    shown = [
        c for c in live if not cohort_id or cohort_of.get(str(c.get("trainee") or "")) == cohort_id
    ]
    shown.sort(key=lambda c: (rules.parse_number(c.get("number")) or (0, 0, 0), c.id))
    by_trainee: dict[str, list[Record]] = {}
    for c in every:
        by_trainee.setdefault(str(c.get("trainee") or ""), []).append(c)
    assessments: dict[str, list[Record]] = {}
    for a in db.table("assessments").all():
        assessments.setdefault(str(a.get("trainee") or ""), []).append(a)
    eligible = [
        t
        for t in trainees.values()
        if (not cohort_id or str(t.get("cohort") or "") == cohort_id)
        and rules.issue_problem(t, assessments.get(t.id, []), by_trainee.get(t.id, [])) is None
    ]
    numbers = [c.get("number") for c in every]
    return render_template(
        "completion/index.html",
        certificates=shown,
        trainees=trainees,
        cohort_names=names,
        cohorts=cohorts,
        cohort_id=cohort_id,
        eligible=sorted(eligible, key=lambda t: (str(t.get("cohort") or ""), t.id)),
        gaps=rules.sequence_gaps(numbers),
        duplicates=rules.duplicate_numbers(numbers),
        malformed=[c for c in live if rules.parse_number(c.get("number")) is None],
        schema=db.schemas["certificates"],
        issue_form=IssueForm(),
        state=rules.certificate_state,
    )


@bp.post("/certificates/issue")
@login_required
@permission_required("completion.manage")
def issue() -> Any:
    form = IssueForm()
    db = get_db()
    if not form.validate_on_submit():
        flash(_("请检查颁发日期和认定学时。"), "error")
        return redirect(url_for("completion.index"))
    trainee = db.table("trainees").get(str(form.trainee.data or ""))
    if trainee is None:
        abort(404)
    hours: Decimal | None = form.hours.data
    if hours is None:
        hours = data.attendance_hours(db, [trainee]).get(trainee.id, Decimal(0))
    try:
        issued = certificates.issue(
            db,
            trainee,
            user=current_user.email,
            instance_path=current_app.instance_path,
            issued_on=form.issued_on.data,
            hours=float(hours),
        )
    except certificates.IssueError as exc:
        flash(problem_text(exc.problem), "error")
        return redirect(url_for("completion.index"))
    except ValidationError as exc:
        flash(str(exc), "error")
        return redirect(url_for("completion.index"))
    flash(_("已颁发证书 %(number)s。", number=issued.number), "success")
    return redirect(url_for("completion.certificate", cert_id=issued.record.id))


def _context(cert: Record) -> dict[str, Any]:
    db = get_db()
    trainee = db.table("trainees").get(str(cert.get("trainee") or ""))
    cohort = db.table("cohorts").get(str(trainee.get("cohort") or "")) if trainee else None
    return {
        "cert": cert,
        "trainee": trainee,
        "cohort": cohort,
        "state": rules.certificate_state(cert),
        "verify_url": url_for("completion.verify", _external=True),
        "schema": db.schemas["certificates"],
        "can_manage": authorize(current_user, "completion.manage"),
    }


@bp.get("/certificates/<cert_id>")
@login_required
def certificate(cert_id: str) -> Any:
    """The certificate as a print-ready page (A4 landscape), with 打印 and 下载 PDF."""
    cert = _certificate_or_404(cert_id)
    return render_template(
        "completion/certificate.html",
        layout="base.html",
        revoke_form=RevokeForm(),
        **_context(cert),
    )


@bp.get("/certificates/<cert_id>.pdf")
@login_required
def certificate_pdf(cert_id: str) -> Any:
    cert = _certificate_or_404(cert_id)
    html = render_template(
        "completion/certificate.html",
        layout="completion/_print_document.html",
        revoke_form=None,
        **_context(cert),
    )
    try:
        body = pdf.html_to_pdf(html, base_url=request.url_root)
    except pdf.PdfUnavailable as exc:
        log.warning("certificate PDF unavailable: %s", exc)
        page = render_template(
            "errors/error.html",
            code=503,
            title=_("暂时无法生成 PDF"),
            message=_(
                "服务器缺少生成 PDF 所需的组件或中文字体。请先打开证书页面，用浏览器打印或另存为 PDF，并请管理员按 README 安装 PDF 组件。"
            ),
        )
        return Response(page, status=503, mimetype="text/html")
    number = str(cert.get("number") or cert.id)
    name = _("结业证书-%(number)s.pdf", number=number)
    response = Response(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="certificate-{quote(cert.id, safe="")}.pdf"; '
        f"filename*=UTF-8''{quote(name, safe='')}"
    )
    return response


@bp.post("/certificates/<cert_id>/revoke")
@login_required
@permission_required("completion.manage")
def revoke(cert_id: str) -> Any:
    cert = get_db().table("certificates").get(cert_id)
    if cert is None:
        abort(404)
    form = RevokeForm()
    if not form.validate_on_submit():
        flash(_("请写明撤销原因（至少 4 个字）。"), "error")
        return redirect(url_for("completion.certificate", cert_id=cert.id))
    try:
        certificates.revoke(get_db(), cert, form.revoke_reason.data or "", user=current_user.email)
    except certificates.IssueError as exc:
        flash(problem_text(exc.problem), "error")
    else:
        flash(
            _("证书 %(number)s 已撤销；编号保留，不再使用。", number=cert.get("number")), "success"
        )
    return redirect(url_for("completion.certificate", cert_id=cert.id))


@bp.get("/mine")
@login_required
@permission_required("completion.certificate")
def mine() -> Any:
    """A trainee's own certificates (admins, who hold none, are sent to the register)."""
    tid = str(getattr(current_user, "trainee_id", None) or "")
    if not tid:
        return redirect(url_for("completion.index"))
    certs = get_db().table("certificates").where(trainee=tid)
    return render_template(
        "completion/mine.html",
        certificates=certs,
        state=rules.certificate_state,
        schema=get_db().schemas["certificates"],
    )
