"""The elimination workflow (淘汰审定): an admin proposes an elimination under one of the four
grounds of the plan with its evidence, then decides it. On confirmation the trainee becomes
淘汰 (history row written) and the trainee's district is told in-app; a confirmed elimination
can be reversed with a reason. Cases are never deleted; district staff read their own
district's cases.
"""

from __future__ import annotations

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

from mingxiao import notifications
from mingxiao.database import get_db
from mingxiao.policy import authorize, require, scoped
from mingxiao.uploads import (
    STORED_NAME_RE,
    UploadError,
    delete_upload,
    read_metadata,
    save_upload,
    upload_path,
    write_metadata,
)

from .. import rules
from ..blueprint import bp
from ..forms import DecideForm, ProposeForm, ReverseForm
from ..queries import absence_evidence, absence_summaries, case_or_404, cohort_names, trainee_or_404
from ..status import StatusError, decide, propose, reverse
from .status import problem_text

EVIDENCE_KINDS = ("pdf", "docx", "txt", "jpg", "jpeg", "png", "xlsx")


def _tell_district(trainee: Any, title: str, body: str) -> None:
    """An in-app notification for the trainee's district staff (the district as stored)."""
    district = trainee.get("district")
    if not district:
        return
    notifications.notify(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        role="district",
        district=str(district),
        title=title,
        body=body,
        link=url_for("trainees.profile", trainee_id=trainee.id),
        kind="trainees.elimination",
    )


@bp.get("/eliminations")
@login_required
def eliminations() -> Any:
    require("trainees.eliminations")
    db = get_db()
    trainees = {t.id: t for t in db.table("trainees").all()}
    cases = scoped(current_user, "trainees.eliminations", db.table("elimination_cases").all())
    order = {s: i for i, s in enumerate(rules.CASE_STATUSES)}
    cases.sort(key=lambda c: (order.get(str(c.get("status")), 9), str(c.get("proposed_at") or "")))
    candidates: list[tuple[Any, Any]] = []
    if authorize(current_user, "trainees.eliminate"):
        pending = {str(c.get("trainee")) for c in cases if c.get("status") == rules.PENDING}
        active = [t for t in trainees.values() if t.get("status") in rules.ACTIVE]
        summaries = absence_summaries(active)
        for t in active:
            summary = summaries.get(t.id)
            if (
                summary is not None
                and t.id not in pending
                and (summary.candidate or summary.flagged_unapproved)
            ):
                candidates.append((t, summary))
        candidates.sort(key=lambda pair: (-pair[1].counted, pair[0].id))
    return render_template(
        "trainees/eliminations.html",
        cases=cases,
        trainees=trainees,
        candidates=candidates,
        cohort_names=cohort_names(),
        can_eliminate=authorize(current_user, "trainees.eliminate"),
    )


@bp.route("/<trainee_id>/eliminate", methods=["GET", "POST"])
@login_required
def propose_elimination(trainee_id: str) -> Any:
    trainee = trainee_or_404(trainee_id, "trainees.eliminate")
    db = get_db()
    form = ProposeForm()
    form.ground.choices = [(g, g) for g in db.choices("elimination_grounds")]
    summary = absence_summaries([trainee]).get(trainee.id)
    if request.method == "GET" and summary is not None and summary.counted:
        form.evidence.data = absence_evidence(summary)
    if form.validate_on_submit():
        stored_name = None
        upload = request.files.get("evidence_file")
        try:
            if upload is not None and upload.filename:
                stored = save_upload(upload, kinds=EVIDENCE_KINDS)
                write_metadata(stored)
                stored_name = stored.name
            case = propose(
                db, trainee, form.ground.data, form.evidence.data, current_user.email, stored_name
            )
        except UploadError as exc:
            form.evidence_file.errors = [str(exc)]
        except StatusError as exc:
            if stored_name:
                delete_upload(stored_name)
            form.form_errors.append(problem_text(exc.problem))
        else:
            flash(_("已提出淘汰，等待审定。学员状态在审定淘汰后才会改变。"), "success")
            return redirect(url_for("trainees.case", case_id=case.id))
    return render_template("trainees/propose.html", trainee=trainee, form=form, summary=summary)


@bp.get("/eliminations/<case_id>")
@login_required
def case(case_id: str) -> Any:
    rec = case_or_404(case_id)
    db = get_db()
    trainee = db.table("trainees").get(str(rec.get("trainee") or ""))
    if trainee is None:
        abort(404)
    file_name = None
    stored = rec.get("evidence_file")
    if stored and STORED_NAME_RE.match(str(stored)):
        file_name = read_metadata(str(stored)).get("original_name") or str(stored)
    can = authorize(current_user, "trainees.eliminate")
    return render_template(
        "trainees/case.html",
        case=rec,
        trainee=trainee,
        file_name=file_name,
        decide_form=DecideForm() if can and rec.get("status") == rules.PENDING else None,
        reverse_form=ReverseForm() if can and rec.get("status") == rules.CONFIRMED else None,
        summary=absence_summaries([trainee]).get(trainee.id),
    )


@bp.get("/eliminations/<case_id>/file")
@login_required
def case_file(case_id: str) -> Any:
    rec = case_or_404(case_id)
    stored = str(rec.get("evidence_file") or "")
    if not STORED_NAME_RE.match(stored):
        abort(404)
    try:
        path = upload_path(stored)
    except (FileNotFoundError, ValueError):
        abort(404)
    if not path.is_file():
        abort(404)
    name = read_metadata(stored).get("original_name") or stored
    return send_file(path, as_attachment=True, download_name=name)


def _trainee_of(rec: Any) -> Any:
    trainee = get_db().table("trainees").get(str(rec.get("trainee") or ""))
    if trainee is None:
        abort(404)
    return trainee


@bp.post("/eliminations/<case_id>/decide")
@login_required
def decide_case(case_id: str) -> Any:
    rec = case_or_404(case_id, "trainees.eliminate")
    trainee = _trainee_of(rec)
    form = DecideForm()
    if not form.validate_on_submit():
        flash(_("请选择审定结论。"), "error")
        return redirect(url_for("trainees.case", case_id=rec.id))
    try:
        result = decide(
            get_db(), rec, trainee, form.decision.data, form.note.data or "", current_user.email
        )
    except StatusError as exc:
        flash(problem_text(exc.problem), "error")
        return redirect(url_for("trainees.case", case_id=rec.id))
    if result == rules.CONFIRMED:
        _tell_district(
            trainee,
            _("学员 %(name)s 已被淘汰", name=trainee.get("name")),
            _(
                "淘汰情形：%(ground)s。依据：%(evidence)s",
                ground=rec.get("ground"),
                evidence=rec.get("evidence"),
            ),
        )
        flash(_("已审定淘汰，学员状态改为“淘汰”，并已通知所在区县。"), "success")
    else:
        flash(_("已审定不予淘汰，学员状态不变。"), "success")
    return redirect(url_for("trainees.case", case_id=rec.id))


@bp.post("/eliminations/<case_id>/reverse")
@login_required
def reverse_case(case_id: str) -> Any:
    rec = case_or_404(case_id, "trainees.eliminate")
    trainee = _trainee_of(rec)
    form = ReverseForm()
    if not form.validate_on_submit():
        flash(_("撤销淘汰决定须写明原因。"), "error")
        return redirect(url_for("trainees.case", case_id=rec.id))
    try:
        restored = reverse(get_db(), rec, trainee, form.reason.data, current_user.email)
    except StatusError as exc:
        flash(problem_text(exc.problem), "error")
        return redirect(url_for("trainees.case", case_id=rec.id))
    _tell_district(
        trainee,
        _("学员 %(name)s 的淘汰决定已撤销", name=trainee.get("name")),
        _("恢复为“%(status)s”。撤销原因：%(reason)s", status=restored, reason=form.reason.data),
    )
    flash(
        _("已撤销淘汰决定，学员恢复为“%(status)s”，并已通知所在区县。", status=restored), "success"
    )
    return redirect(url_for("trainees.case", case_id=rec.id))
