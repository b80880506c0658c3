"""Login, logout, password change and password reset pages (``/auth/…``).

Views stay thin: the form checks shape, ``mingxiao.auth`` checks credentials, ``rules`` checks
the password policy and redirect targets.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from mingxiao.auth import (
    CredentialStore,
    account_active,
    credentials,
    find_account,
    load_user,
    normalize_email,
    send_reset_email,
)
from mingxiao.database import get_db
from mingxiao.i18n import SESSION_KEY as LANG_KEY
from mingxiao.policy import permission_required

from . import forms, rules

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__, url_prefix="/auth")


def _home() -> str:
    """The home page (the core plugin's), or the site root when it is not loaded."""
    return url_for("core.index") if "core.index" in current_app.view_functions else "/"


def _fresh_session() -> None:
    """Empty the session (nothing from before survives) but keep the chosen language."""
    lang = session.get(LANG_KEY)
    session.clear()
    if lang:
        session[LANG_KEY] = lang


def _private(resp: Response) -> Response:
    """Pages with secrets in the form or the path are never cached nor leaked by Referer."""
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


def _too_many(template: str, **context: Any) -> Response:
    store = credentials()
    minutes = max(1, int(store.throttle_window // 60))
    message = _(
        "登录失败次数过多，请 %(minutes)d 分钟后再试；如果忘记了密码，请使用“忘记密码”重设。",
        minutes=minutes,
    )
    resp = make_response(render_template(template, throttled_message=message, **context), 429)
    resp.headers["Retry-After"] = str(int(store.throttle_window))
    return _private(resp)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Sign in with email and password; a fresh session on success, a generic error otherwise."""
    next_url = rules.safe_next(request.args.get("next"), _home())
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(next_url)
    form = forms.LoginForm()
    error = None
    if form.validate_on_submit():
        store = credentials()
        email = normalize_email(form.email.data)
        attempt = store.begin_attempt(email, request.remote_addr)
        if attempt is None:
            return _too_many("auth/login.html", form=form)
        # The password is checked first (dummy hash for unknown emails), then the sheet row.
        user = load_user(email, store) if store.verify(email, form.password.data or "") else None
        if user is not None:
            store.forgive_attempt(attempt)
            _fresh_session()  # nothing from before login survives (session fixation)
            login_user(user)
            return redirect(next_url)
        error = _("邮箱或密码不正确，或者账号未启用。请检查后重试。")
    return _private(make_response(render_template("auth/login.html", form=form, error=error)))


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    """Sign out everywhere: the session version moves on, so copied cookies stop working too."""
    form = forms.LogoutForm()
    if not form.validate_on_submit():
        abort(400)
    if current_user.is_authenticated:
        credentials().bump_session_version(current_user.email)
    logout_user()
    _fresh_session()
    flash(_("您已退出登录。"), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@permission_required("account.change_password")
def change_password() -> Any:
    """Change one's own password; every other session of the account is signed out."""
    form = forms.ChangePasswordForm()
    email = current_user.email
    form.account_email = email
    if form.validate_on_submit():
        store = credentials()
        attempt = store.begin_attempt(email, request.remote_addr)
        if attempt is None:
            return _too_many("auth/password.html", form=form)
        if store.verify(email, form.current_password.data or ""):
            store.forgive_attempt(attempt)
            store.set_password(email, form.new_password.data or "")
            store.bump_session_version(email)
            user = load_user(email, store)
            _fresh_session()
            if user is not None:
                login_user(user)
            flash(_("密码已修改。其他设备上的登录已全部退出。"), "success")
            return redirect(_home())
        form.current_password.errors = [_("当前密码不正确。")]
    return _private(make_response(render_template("auth/password.html", form=form)))


def reset_url(token: str) -> str:
    """The absolute reset link: ``BASE_URL`` (scheme://host) + the path, else the request's root."""
    path = url_for("auth.reset", token=token)
    base = current_app.config.get("BASE_URL") or request.host_url
    return str(base).rstrip("/") + path


def issue_reset(store: CredentialStore, email: str) -> str | None:
    """A reset token for an active account, or None (unknown, inactive, disabled, too many today)."""
    account = find_account(get_db(), email)
    cred = store.get(email)
    if account is None or (cred is not None and cred.disabled):
        return None
    if (
        not account_active(account)
        or store.recent_reset_tokens(email) >= rules.MAX_RESET_MAILS_PER_HOUR
    ):
        return None
    return store.create_reset_token(email, ttl=rules.RESET_TTL)


@bp.route("/reset/request", methods=["GET", "POST"])
def reset_request() -> Any:
    """Ask for a reset link. The answer is the same whether or not the email is registered."""
    form = forms.ResetRequestForm()
    if form.validate_on_submit():
        email = normalize_email(form.email.data)
        token = issue_reset(credentials(), email)
        if token is not None:
            config = current_app.config
            if config.get("MAIL_SERVER") and config.get("BASE_URL"):
                url = reset_url(token)
                # A background send keeps the answer time the same for known and unknown emails.
                threading.Thread(
                    target=send_reset_email, args=(dict(config), email, url), daemon=True
                ).start()
            elif config.get("MAIL_SERVER"):
                log.warning("password reset mail not sent: BASE_URL is not configured")
        flash(
            _(
                "如果该邮箱已登记并启用，重设密码的链接已发送到该邮箱，1 小时内有效。"
                "没有收到邮件时，请联系培训中心管理员获取重设链接。"
            ),
            "info",
        )
        return redirect(url_for("auth.login"))
    return _private(make_response(render_template("auth/reset_request.html", form=form)))


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str) -> Any:
    """Set a new password through a one-time, expiring link."""
    store = credentials()
    email = store.peek_reset_token(token)
    if email is None:
        resp = make_response(render_template("auth/reset.html", form=None, invalid=True), 404)
        return _private(resp)
    form = forms.ResetForm()
    form.account_email = email
    if form.validate_on_submit():
        if store.consume_reset_token(token) != email:
            resp = make_response(render_template("auth/reset.html", form=None, invalid=True), 404)
            return _private(resp)
        store.set_password(email, form.new_password.data or "")
        store.bump_session_version(email)
        store.clear_failures(email)
        flash(_("新密码已设置，请用新密码登录。"), "success")
        return redirect(url_for("auth.login"))
    return _private(make_response(render_template("auth/reset.html", form=form, invalid=False)))
