"""Fill-in invitations (填表邀请): district staff issue and withdraw expiring links; the public
page behind a link lets the applicant fill in their own 推荐表 without an account.

- ``/nominations/invitations``: the district's invitations (admins: every district) with
  their status, and the form that issues one. The link is shown once, on the page that
  answers the form; afterwards only its hash exists (in the credential store).
- ``/nominations/invite/<token>``: public, CSRF-protected. District and cohort come from the
  invitation, the route is 个人自主申报; the nomination lands in the district's queue as 草稿.
  A link that does not open answers a Chinese page: 404 for an unknown or withdrawn link,
  410 (Gone) for an expired or used one, and writes nothing.
"""

from __future__ import annotations

from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, Length

from mingxiao.auth import credentials
from mingxiao.database import get_db
from mingxiao.policy import authorize, require
from mingxiao.schema_forms import problem_text, show_error
from mingxiao.sheetdb import Record, ValidationError
from mingxiao.sheetdb.types import N_

from .. import attachments, invitations, workflow
from ..blueprint import bp
from ..forms import CONDITIONS, DECLARATIONS, nomination_form, options
from .attachments import forget_files, not_saved_notice, save_files
from .entry import _check, _choices_for, _cohort_choices, _form_values

PER_PAGE = 25
# Fields of the 推荐表 the invitation fixes (or that a self-application leaves out).
FIXED_FIELDS = ("cohort", "route", "recommending_unit", "district")


class InvitationForm(FlaskForm):
    """Issue a link: cohort, invitee, validity (admins also choose the district)."""

    cohort = SelectField(_l("期次"), choices=[], validators=[InputRequired(_l("请选择期次。"))])
    district = SelectField(
        _l("区、县（市）"), choices=[], validators=[InputRequired(_l("请选择区、县（市）。"))]
    )
    invitee_name = StringField(
        _l("受邀人姓名"),
        description=_l("申报人本人的姓名，只用于区分邀请；申报人在推荐表里填写自己的信息。"),
        validators=[
            InputRequired(_l("请填写受邀人姓名。")),
            Length(max=30, message=_l("受邀人姓名最多 30 个字。")),
        ],
    )
    days = IntegerField(
        _l("有效期（天）"),
        default=invitations.DEFAULT_DAYS,
        description=_l("链接在这么多天后失效，可填 1 到 30 天。"),
        validators=[InputRequired(_l("请填写有效期天数（1 到 30 天）。"))],
    )


def _is_admin() -> bool:
    return authorize(current_user, "nominations.all_districts")


def _private(resp: Response) -> Response:
    """The token is in the path: never cached, never sent on as a Referer."""
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


def _invitation_form() -> Any:
    form = InvitationForm()
    form.cohort.choices = options([("", _("请选择")), *_cohort_choices()])
    if _is_admin():
        districts = get_db().choices("districts")
        form.district.choices = options([("", _("请选择")), *((d, d) for d in districts)])
    else:
        del form.district
    return form


def _invitation_or_404(invitation_id: str) -> Record:
    """An invitation of the user's own district (admins: any), else 404."""
    rec = get_db().table(invitations.SHEET).get(invitation_id)
    if rec is None:
        abort(404)
    require("nominations.invite", rec, status=404)
    require("nominations.view", rec, status=404)  # the district of the stored row
    return rec


def _link(token: str) -> str:
    """The absolute link: ``BASE_URL`` when configured, else this request's root."""
    path = url_for("nominations.invite", token=token)
    base = current_app.config.get("BASE_URL") or request.host_url
    return str(base).rstrip("/") + path


def _list_page(form: Any) -> str:
    db = get_db()
    equals = {} if _is_admin() else {"district": current_user.district}
    page = db.table(invitations.SHEET).page(
        max(1, request.args.get("page", 1, type=int) or 1), PER_PAGE, order_by="-id", **equals
    )
    now = db.now()
    schema = db.schemas[invitations.SHEET]
    keys = ["id", "invitee_name", "cohort", "district", "expires_at", "status", "nomination"]
    if not _is_admin():
        keys.remove("district")
    headers = {"id": _("编号"), "status": _("状态"), "actions": _("操作")}
    columns = [(k, headers.get(k) or schema.column(k).header) for k in [*keys, "actions"]]
    return render_template(
        "nominations/invite_list.html",
        page=page,
        columns=columns,
        form=form,
        statuses={r.id: invitations.status_of(r, now) for r in page.items},
        unused=invitations.UNUSED,
        cohorts=dict(_cohort_choices()),
    )


@bp.route("/invitations", methods=["GET", "POST"])
@login_required
def invitation_list() -> Any:
    """The district's invitations; POST issues a new one and shows its link once."""
    require("nominations.invite")
    form = _invitation_form()
    if not form.validate_on_submit():
        return _list_page(form)
    db = get_db()
    cohort = db.table("cohorts").get(form.cohort.data or "")
    problem = workflow.window_problem(cohort, db.today())
    if problem is not None or cohort is None:
        show_error(form, "cohort", problem_text(problem or (N_("请选择推荐的期次。"), {})))
        return _list_page(form)
    problem = invitations.validity_problem(form.days.data)
    if problem is not None:
        show_error(form, "days", problem_text(problem))
        return _list_page(form)
    district = form.district.data if _is_admin() else current_user.district
    record, token = invitations.issue(
        db,
        credentials(),
        cohort=cohort.id,
        district=district,
        invitee_name=form.invitee_name.data or "",
        days=int(form.days.data),
        created_by=current_user.email,
    )
    page = render_template(
        "nominations/invite_created.html",
        invitation=record,
        cohort=cohort,
        link=_link(token),
    )
    return _private(make_response(page))


@bp.post("/invitations/<invitation_id>/withdraw")
@login_required
def invitation_withdraw(invitation_id: str) -> Any:
    """Withdraw an unused invitation: its link stops working at once."""
    rec = _invitation_or_404(invitation_id)
    db = get_db()
    now = db.now()
    problem = invitations.withdraw_problem(rec, now)
    if problem is not None:
        flash(problem_text(problem), "error")
    else:
        invitations.withdraw(db, credentials(), rec, user=current_user.email, now=now)
        flash(
            _("已撤回给“%(name)s”的邀请，链接已失效。", name=rec.get("invitee_name") or ""),
            "success",
        )
    return redirect(url_for("nominations.invitation_list"))


# --------------------------------------------------------------------------- the public page


def _closed(status: str | None) -> Response:
    """The page of a link that does not open (nothing about the invitation is shown)."""
    code = invitations.UNKNOWN_STATUS if status is None else invitations.HTTP_STATUS[status]
    page = render_template("nominations/invite_closed.html", status=status)
    return _private(make_response(page, code))


def _applicant_form() -> Any:
    form = nomination_form(get_db().schemas["nominations"], _choices_for, with_district=False)
    for key in FIXED_FIELDS:
        if key in form:
            delattr(form, key)
    return form


@bp.route("/invite/<token>", methods=["GET", "POST"])
def invite(token: str) -> Any:
    """The applicant's 推荐表 behind an invitation link (no account needed)."""
    db = get_db()
    store = credentials()
    stored = store.invitation_token(token, invitations.PURPOSE)
    invitation = db.table(invitations.SHEET).get(stored.subject) if stored else None
    now = db.now()
    status = invitations.link_status(invitation, stored, now)
    if status != invitations.UNUSED or invitation is None:
        return _closed(status)
    cohort = db.table("cohorts").get(str(invitation.get("cohort") or ""))
    form = _applicant_form()
    if form.validate_on_submit():
        values = invitations.nomination_values(invitation, _form_values(form))
        user = invitations.audit_user(invitation)
        saved = None
        if _check(form, values, str(invitation["district"]), None, window=True, private=True):
            saved = save_files(form, [], user=user)
        if saved is not None:
            # The store is the gate: one request only gets the link's subject.
            if (
                store.use_invitation_token(
                    token, invitations.PURPOSE, now=invitations.timestamp(now)
                )
                != invitation.id
            ):
                forget_files(saved)
                return _closed(invitations.USED)
            values.update(status=workflow.DRAFT, attachments=attachments.join(saved))
            try:
                rec = db.table("nominations").insert(values, user=user)
            except ValidationError as exc:
                store.release_invitation_token(token, invitations.PURPOSE)
                forget_files(saved)
                for key, problem in exc.details.items():
                    show_error(form, key, problem_text(problem))
            else:
                db.table(invitations.SHEET).update(
                    invitation.id, {"used_at": now, "nomination": rec.id}, user=user
                )
                page = render_template(
                    "nominations/invite_done.html", invitation=invitation, nomination=rec
                )
                return _private(make_response(page))
    elif request.method == "GET":
        closed = workflow.window_problem(cohort, db.today())
        if closed is not None:  # the link stays valid; the page says why it cannot be sent now
            form.form_errors.append(problem_text(closed))
    not_saved_notice(form)
    page = render_template(
        "nominations/invite_form.html",
        form=form,
        invitation=invitation,
        cohort=cohort,
        conditions=CONDITIONS,
        declarations=DECLARATIONS,
    )
    return _private(make_response(page))
