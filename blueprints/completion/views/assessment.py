"""The final assessment (admin): each trainee's computed checklist, the decision recorded in
the 结业考核 sheet (合格 / 不合格 / 优秀, against the plan), and the batch “pass → 结业”."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from mingxiao.database import get_db
from mingxiao.policy import permission_required
from mingxiao.schema_forms import problem_text
from mingxiao.sheetdb import ValidationError

from .. import assessment, data, rules
from ..blueprint import bp
from ..forms import AssessForm, GraduateForm


def line_text(line: assessment.Line) -> str:
    return problem_text(line.reason)


def _assessments_by_trainee(db: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for a in db.table("assessments").all():
        out.setdefault(str(a.get("trainee") or ""), []).append(a)
    return out


@bp.get("/assessment")
@login_required
@permission_required("completion.assess")
def assessment_index() -> Any:
    db = get_db()
    cohorts = data.cohorts(db)
    cohort_id = request.args.get("cohort", "") or (cohorts[-1].id if cohorts else "")
    cohort = db.table("cohorts").get(cohort_id) if cohort_id else None
    if cohort_id and cohort is None:
        abort(404)
    trainees = (
        sorted(db.table("trainees").where(cohort=cohort_id), key=lambda t: t.id) if cohort else []
    )
    by_trainee = _assessments_by_trainee(db)
    rows = [
        (t, assessment.checklist(db, t), rules.latest_assessment(by_trainee.get(t.id, [])))
        for t in trainees
    ]
    ready = sum(
        1
        for t, _c, latest in rows
        if latest is not None
        and str(latest.get("decision") or "") in rules.PASSING_DECISIONS
        and str(t.get("status") or "") != rules.COMPLETED_STATUS
    )
    form = GraduateForm()
    form.cohort.data = cohort_id
    return render_template(
        "completion/assessment_index.html",
        cohorts=cohorts,
        cohort=cohort,
        rows=rows,
        ready=ready,
        graduate_form=form,
    )


def _form(db: Any) -> AssessForm:
    form = AssessForm()
    form.decision.choices = [(d, d) for d in db.choices("assessment_decisions")]
    return form


@bp.route("/assessment/<trainee_id>", methods=["GET", "POST"])
@login_required
@permission_required("completion.assess")
def assessment_detail(trainee_id: str) -> Any:
    db = get_db()
    trainee = db.table("trainees").get(trainee_id)
    if trainee is None:
        abort(404)
    form = _form(db)
    if request.method == "POST":
        if form.validate_on_submit() and form.trainee.data == trainee.id:
            try:
                db.table("assessments").insert(
                    {
                        "trainee": trainee.id,
                        "decision": form.decision.data,
                        "plan_review": (form.plan_review.data or "").strip() or None,
                        "note": (form.note.data or "").strip() or None,
                        "decided_by": current_user.email,
                        "decided_at": db.now(),
                    },
                    user=current_user.email,
                )
            except ValidationError as exc:
                flash(str(exc), "error")
            else:
                flash(_("已记录考核结论：%(decision)s。", decision=form.decision.data), "success")
                return redirect(url_for("completion.assessment_detail", trainee_id=trainee.id))
        else:
            flash(_("请选择考核结论。"), "error")
    form.trainee.data = trainee.id
    history = sorted(
        db.table("assessments").where(trainee=trainee.id),
        key=lambda a: str(a.get("decided_at") or ""),
        reverse=True,
    )
    cohort = db.table("cohorts").get(str(trainee.get("cohort") or ""))
    return render_template(
        "completion/assessment_detail.html",
        trainee=trainee,
        cohort=cohort,
        checklist=assessment.checklist(db, trainee),
        line_text=line_text,
        history=history,
        form=form,
        schema=db.schemas["assessments"],
    )


@bp.post("/assessment/graduate")
@login_required
@permission_required("completion.assess")
def graduate() -> Any:
    db = get_db()
    form = GraduateForm()
    if not form.validate_on_submit():
        abort(400)
    cohort = db.table("cohorts").get(str(form.cohort.data or ""))
    if cohort is None:
        abort(404)
    trainees = db.table("trainees").where(cohort=cohort.id)
    changed, refused = assessment.graduate(
        db, trainees, _assessments_by_trainee(db), user=current_user.email
    )
    if changed:
        flash(_("%(n)d 名学员已改为“结业”，并记入学员状态变更。", n=len(changed)), "success")
    else:
        flash(_("没有需要改为“结业”的学员（须有“合格”或“优秀”的考核结论）。"), "info")
    for tid, why in refused:
        flash(_("%(id)s 未能改为结业：%(why)s", id=tid, why=why), "warning")
    return redirect(url_for("completion.assessment_index", cohort=cohort.id))
