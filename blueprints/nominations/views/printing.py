"""The printable 《“杭州市中小学名校长培养工程”人选推荐表》 and its PDF.

One template serves both: the browser page (site chrome hidden when printed, a 打印 button)
and, on a bare layout, the PDF made by ``mingxiao.pdf``. It is the official form, so the
people allowed to print it (``nominations.print``: the nominee's own district and admins)
see the full ID and phone numbers on it; the URLs carry the nomination id only.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from urllib.parse import quote

from flask import Response, abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from mingxiao import pdf
from mingxiao.database import get_db
from mingxiao.policy import authorize, require
from mingxiao.sheetdb import Record

from .. import workflow
from ..blueprint import bp
from ..forms import CONDITIONS, DECLARATIONS

log = logging.getLogger(__name__)

# The six selection conditions of the 实施方案 (二、选拔条件), in the order of the form.
CONDITION_TITLES: dict[str, Any] = dict(
    zip(
        CONDITIONS,
        (
            _l("一、责任心强，政治素质好"),
            _l("二、理念先进，管理水平高"),
            _l("三、廉洁自律，自身要求严"),
            _l("四、立德树人，办学方向正"),
            _l("五、以人为本，师生发展优"),
            _l("六、引领发展，社会声誉佳"),
        ),
        strict=True,
    )
)
# What the nominee declares about their school (选拔条件三), one line per sheet column.
DECLARATION_TEXTS: dict[str, Any] = dict(
    zip(
        DECLARATIONS,
        (
            _l("所任学校无重大安全责任事故"),
            _l("所任学校无严重违规办学行为"),
            _l("所任学校无意识形态问题"),
            _l("所任学校无重大舆情发生"),
        ),
        strict=True,
    )
)
# Statuses in which the 市教育局 has decided and its 审定意见 belongs on the form.
CITY_DECIDED = frozenset({"拟录取", "公示中", "已录取", "未录取"})


def _nomination_or_404(nomination_id: str) -> Record:
    """The nomination if the user may print it; a bare 404 otherwise (nothing confirmed)."""
    rec = get_db().table("nominations").get(nomination_id)
    if rec is None:
        abort(404)
    require("nominations.print", rec, status=404)
    return rec


def _person(value: Any) -> str:
    """An account's name for the email the sheet recorded (the email itself if unknown)."""
    text = str(value or "").strip()
    if not text:
        return ""
    for user in get_db().table("users").where(email=text):
        if user.get("name"):
            return str(user["name"])
    return text


def _context(rec: Record) -> dict[str, Any]:
    db = get_db()
    status = rec.get("status")
    stamped_at = rec.get("stamped_at")
    stamped = isinstance(stamped_at, dt.date) and status in workflow.SUMMARY_STATUSES
    return {
        "nomination": rec,
        "schema": db.schemas["nominations"],
        "cohort": db.table("cohorts").get(str(rec.get("cohort") or "")),
        "routes": db.choices("nomination_routes"),
        "reveal": authorize(current_user, "nominations.personal_data", rec),
        "conditions": list(CONDITION_TITLES.items()),
        "declarations": list(DECLARATION_TEXTS.items()),
        "stamped": stamped,
        "stamped_by": _person(rec.get("stamped_by")) if stamped else "",
        "city_decided": status in CITY_DECIDED,
        "printed_at": db.now(),
    }


def _can_print(nomination: Any) -> bool:
    return nomination is not None and authorize(current_user, "nominations.print", nomination)


@bp.context_processor
def print_helpers() -> dict[str, Any]:
    """``can_print_nomination(rec)`` for the nominations templates (the detail page's links)."""
    return {"can_print_nomination": _can_print}


@bp.get("/<nomination_id>/print")
@login_required
def print_form(nomination_id: str) -> Any:
    """The 推荐表 as a print-ready page (A4), with 打印 and 下载 PDF."""
    rec = _nomination_or_404(nomination_id)
    return render_template("nominations/print.html", layout="base.html", **_context(rec))


@bp.get("/<nomination_id>/print.pdf")
@login_required
def print_pdf(nomination_id: str) -> Any:
    """The same 推荐表 as a PDF download; a Chinese 503 page if this server cannot make one."""
    rec = _nomination_or_404(nomination_id)
    html = render_template(
        "nominations/print.html", layout="nominations/_print_document.html", **_context(rec)
    )
    try:
        body = pdf.html_to_pdf(html, base_url=request.url_root)
    except pdf.PdfUnavailable as exc:
        log.warning("推荐表 PDF unavailable: %s", exc)
        page = render_template(
            "errors/error.html",
            code=503,
            title=_("暂时无法生成 PDF"),
            message=_(
                "服务器缺少生成 PDF 所需的组件或中文字体。请先打开“打印推荐表”页面，用浏览器打印或另存为 PDF，并请管理员按 README 安装 PDF 组件。"
            ),
        )
        return Response(page, status=503, mimetype="text/html")
    name = _("人选推荐表-%(id)s.pdf", id=rec.id)
    response = Response(body, mimetype="application/pdf")
    # RFC 5987: the Chinese name for browsers that read filename*, an ASCII one for the rest.
    response.headers["Content-Disposition"] = (
        f'attachment; filename="nomination-{quote(rec.id, safe="")}.pdf"; '
        f"filename*=UTF-8''{quote(name, safe='')}"
    )
    return response
