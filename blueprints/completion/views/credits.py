"""The credits export for the provincial training platform (省培管理平台): completed hours and
credits per trainee, on a page and as xlsx/CSV (``mingxiao.exports`` neutralises formulas).

Credits = hours ÷ ``CREDITS_HOURS_PER_CREDIT`` (default 10 hours = 1 credit), rounded half
up to ``CREDITS_DECIMALS`` places. Hours are the certificate's 认定学时, else the hours
attended (curriculum plugin)."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from mingxiao import exports
from mingxiao.database import get_db
from mingxiao.policy import permission_required

from .. import data, rules
from ..blueprint import bp

COLUMNS: tuple[tuple[str, Any], ...] = (
    ("trainee", _l("学员编号")),
    ("name", _l("姓名")),
    ("cohort", _l("期次")),
    ("district", _l("区、县（市）")),
    ("school", _l("所在学校")),
    ("certificate", _l("证书编号")),
    ("hours", _l("培训学时")),
    ("credits", _l("学分")),
    ("hours_source", _l("学时来源")),
)
SOURCES = {"certificate": _l("证书认定学时"), "attendance": _l("考勤累计")}


def _rows() -> tuple[list[rules.CreditRow], dict[str, Any]]:
    cfg = current_app.config
    rate = rules.positive_setting(cfg, "CREDITS_HOURS_PER_CREDIT")
    decimals = rules.decimals_setting(cfg)
    cohort_id = request.args.get("cohort", "")
    everyone = request.args.get("scope") == "all"
    rows = data.credit_rows(
        get_db(), hours_per_credit=rate, decimals=decimals, cohort_id=cohort_id, everyone=everyone
    )
    return rows, {"rate": rate, "cohort_id": cohort_id, "everyone": everyone}


@bp.get("/credits")
@login_required
@permission_required("completion.credits")
def credits() -> Any:
    rows, ctx = _rows()
    return render_template(
        "completion/credits.html",
        rows=rows,
        columns=COLUMNS,
        sources=SOURCES,
        cohorts=data.cohorts(get_db()),
        **ctx,
    )


@bp.get("/credits.<fmt>")
@login_required
@permission_required("completion.credits")
def credits_export(fmt: str) -> Any:
    if fmt not in exports.FORMATS:
        abort(404)
    rows, _ctx = _rows()
    dicts = []
    for r in rows:
        d = r.as_dict()
        d["hours_source"] = str(SOURCES.get(r.hours_source, r.hours_source))
        dicts.append(d)
    columns = [(k, str(h)) for k, h in COLUMNS]
    return exports.export_response(dicts, columns, fmt, _("省培学分"))
