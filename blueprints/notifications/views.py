"""The notification centre: a user's own notifications, newest first, and marking them read."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from mingxiao import notifications
from mingxiao.policy import require

from .forms import MarkReadForm

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


def _app() -> Any:
    return current_app._get_current_object()  # type: ignore[attr-defined]


@bp.get("/")
@login_required
def index() -> Any:
    require("notifications.view")
    unread_only = request.args.get("unread") == "1"
    items = notifications.for_user(_app(), current_user, unread_only=unread_only)
    return render_template(
        "notifications/index.html",
        items=items,
        unread_only=unread_only,
        unread=notifications.unread_count(_app(), current_user),
        form=MarkReadForm(),
    )


@bp.post("/<int:notification_id>/read")
@login_required
def mark_read(notification_id: int) -> Any:
    require("notifications.view")
    form = MarkReadForm()
    if not form.validate_on_submit():
        abort(400)
    if not notifications.mark_read(_app(), current_user, notification_id):
        abort(404)  # not addressed to this user: the id is not confirmed
    item = notifications.get_for_user(_app(), current_user, notification_id)
    if request.form.get("open") == "1" and item is not None and item.link:
        return redirect(item.link)
    return redirect(url_for("notifications.index"))


@bp.post("/read-all")
@login_required
def mark_all_read() -> Any:
    require("notifications.view")
    form = MarkReadForm()
    if not form.validate_on_submit():
        abort(400)
    count = notifications.mark_all_read(_app(), current_user)
    flash(_("已将 %(n)d 条通知标为已读。", n=count), "success")
    return redirect(url_for("notifications.index"))
