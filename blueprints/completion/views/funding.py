"""The funding ledger (admin only): a cohort's expenses by the 8 categories and 2 sources,
budget (sheet 经费预算) against spent with CSS bars, spending per trainee, and the proposed
导师指导费 from the mentoring logs (hours × ``MENTOR_FEE_PER_HOUR``), which the admin can
record as an expense with one click (the amount is recomputed on the server)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from mingxiao.database import get_db
from mingxiao.policy import permission_required
from mingxiao.sheetdb import ValidationError

from .. import data, rules
from ..blueprint import bp
from ..forms import MentorFeeForm


def _cohort(cohort_id: str) -> Any:
    db = get_db()
    cohorts = data.cohorts(db)
    if cohort_id:
        found = db.table("cohorts").get(cohort_id)
        if found is None:
            abort(404)
        return found, cohorts
    return (cohorts[0] if cohorts else None), cohorts


@bp.get("/funding")
@login_required
@permission_required("completion.funding")
def funding() -> Any:
    db = get_db()
    cohort, cohorts = _cohort(request.args.get("cohort", ""))
    rate = rules.positive_setting(current_app.config, "MENTOR_FEE_PER_HOUR")
    fees = data.mentor_fee_proposals(db, cohort, rate) if cohort is not None else []
    form = MentorFeeForm()
    form.source.choices = [(s, s) for s in db.choices("fund_sources")]
    return render_template(
        "completion/funding.html",
        ledger=data.ledger(db, cohort),
        cohort=cohort,
        cohorts=cohorts,
        fees=fees,
        rate=rate,
        fee_form=form,
        today=db.today(),
    )


@bp.post("/funding/mentor-fee")
@login_required
@permission_required("completion.funding")
def record_mentor_fee() -> Any:
    db = get_db()
    form = MentorFeeForm()
    form.source.choices = [(s, s) for s in db.choices("fund_sources")]
    if not form.validate_on_submit():
        flash(_("请选择经费来源，并检查支出日期。"), "error")
        return redirect(url_for("completion.funding", cohort=form.cohort.data or ""))
    cohort = db.table("cohorts").get(str(form.cohort.data or ""))
    if cohort is None:
        abort(404)
    rate = rules.positive_setting(current_app.config, "MENTOR_FEE_PER_HOUR")
    fee = next(
        (f for f in data.mentor_fee_proposals(db, cohort, rate) if f.mentor_id == form.mentor.data),
        None,
    )
    if fee is None or fee.outstanding <= 0:
        flash(_("这位导师本期没有待记录的指导费。"), "warning")
        return redirect(url_for("completion.funding", cohort=cohort.id))
    note = _(
        "导师指导费：%(hours)s 学时 × %(rate)s 元/学时（据导师指导记录，共 %(n)d 次）",
        hours=fee.hours,
        rate=rate,
        n=fee.sessions,
    )
    try:
        db.table("expenses").insert(
            {
                "cohort": cohort.id,
                "category": data.MENTOR_FEE_CATEGORY,
                "amount": float(fee.outstanding.quantize(Decimal("0.01"))),
                "date": form.date.data or db.today(),
                "payee": fee.mentor_name,
                "source": form.source.data,
                "voucher_no": (form.voucher_no.data or "").strip() or None,
                "note": note,
            },
            user=current_user.email,
        )
    except ValidationError as exc:
        flash(str(exc), "error")
    else:
        flash(
            _(
                "已记入经费台账：%(name)s 导师指导费 %(amount)s 元。",
                name=fee.mentor_name,
                amount=fee.outstanding,
            ),
            "success",
        )
    return redirect(url_for("completion.funding", cohort=cohort.id))
