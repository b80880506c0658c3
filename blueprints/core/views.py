"""The shell's pages: home dashboard, ``/healthz``, the language switch, and layout context."""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from mingxiao import plugins
from mingxiao.database import get_db
from mingxiao.i18n import SESSION_KEY, language_names

from .forms import LanguageForm
from .rules import health_status, safe_next_url, sync_state

log = logging.getLogger(__name__)

bp = Blueprint("core", __name__)


@bp.route("/")
@login_required
def index() -> ResponseReturnValue:
    """The home page: every plugin's widgets for this user."""
    widgets = []
    for widget in plugins.dashboard_widgets(current_user):
        widgets.append((widget, plugins.render_widget(widget)))
    return render_template("core/index.html", widgets=widgets)


@bp.route("/healthz")
def healthz() -> ResponseReturnValue:
    """Machine-readable health for monitors: no login, no personal data."""
    try:
        status = get_db().status()
    except Exception:
        log.exception("health check could not read the database status")
        return jsonify(
            status="error", backend=None, pending=None, parked=None, last_sync=None, problems=None
        ), 503
    return jsonify(
        status=health_status(status),
        backend=status.get("backend"),
        pending=status.get("pending"),
        parked=status.get("parked"),
        last_sync=status.get("last_sync"),
        problems=status.get("problems"),
        writer=status.get("writer"),
    )


@bp.route("/lang", methods=["POST"])
def set_language() -> ResponseReturnValue:
    """Remember the chosen language in the session and go back to the page it came from."""
    form = LanguageForm()
    form.lang.choices = list(language_names().items())
    if form.validate_on_submit():
        session[SESSION_KEY] = form.lang.data
    return redirect(safe_next_url(form.next.data) or url_for("core.index"))


def _status() -> dict[str, Any] | None:
    """``db.status()`` once per request; None when the database cannot be read."""
    if "mingxiao_status" not in g:
        try:
            g.mingxiao_status = get_db().status()
        except Exception:
            log.exception("sync indicator could not read the database status")
            g.mingxiao_status = None
    status: dict[str, Any] | None = g.mingxiao_status
    return status


def _current_path() -> str:
    path = request.full_path if request.query_string else request.path
    return safe_next_url(path) or "/"


@bp.app_context_processor
def layout_context() -> dict[str, Any]:
    """What base.html needs on every page: navigation, the sync indicator, the language form."""

    def main_nav() -> list[plugins.NavItem]:
        try:
            return plugins.nav_items(current_user)
        except Exception:
            log.exception("building the navigation failed")
            return []

    def sync_indicator() -> dict[str, Any] | None:
        if not current_user.is_authenticated:
            return None
        status = _status()
        state = sync_state(status)
        is_admin = getattr(current_user, "role", None) == "admin"
        if state == "conflict" and not is_admin:
            # Conflicts are resolved by admins (and shown to their author on the record).
            state = "syncing" if status and status.get("pending") else "synced"
        pending = int(status.get("pending") or 0) if status else 0
        parked = int(status.get("parked") or 0) if status else 0
        labels = {
            "unknown": _("同步状态未知"),
            "conflict": _("有冲突：%(n)d 处", n=parked),
            "blocked": _("工作簿被占用：%(n)d 条待同步", n=pending),
            "syncing": _("同步中：%(n)s 条待同步", n=pending),
            "synced": _("已同步"),
        }
        return {
            "state": state,
            "label": labels[state],
            "pending": pending,
            "parked": parked,
            "last_sync": status.get("last_sync") if status else None,
            "link": "admin.sync" if is_admin else None,
        }

    return {
        "main_nav": main_nav,
        "sync_indicator": sync_indicator,
        "current_path": _current_path,
        "has_endpoint": _has_endpoint,
    }


def _has_endpoint(endpoint: str) -> bool:
    """Whether a route exists, so the layout can leave out links to disabled plugins."""
    return endpoint in current_app.view_functions
