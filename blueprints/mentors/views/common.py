"""Helpers shared by the mentors route modules: lookups, form plumbing, saving updates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import abort, current_app, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from mingxiao.database import get_db
from mingxiao.policy import require
from mingxiao.schema_forms import show_problems
from mingxiao.sheetdb import Record, ValidationError


def record_or_404(sheet: str, record_id: str, action: str) -> Record:
    """The stored record if the user may ``action`` it; a bare 404 otherwise."""
    rec = get_db().table(sheet).get(record_id)
    if rec is None:
        abort(404)
    require(action, rec, status=404)
    return rec


def names(sheet: str) -> dict[str, str]:
    """Record id → name (or id) of every row of ``sheet``."""
    return {r.id: str(r.get("name") or r.id) for r in get_db().table(sheet).all()}


def max_co() -> int:
    """``MENTORS_MAX_CO_MENTORS`` (default 2, as the 导师分配 sheet's note says)."""
    return int(current_app.config.get("MENTORS_MAX_CO_MENTORS", 2))


def insert(sheet: str, form: Any, values: dict[str, Any]) -> Record | None:
    """Insert a row; the engine's own refusals are shown at their fields (None then)."""
    try:
        return get_db().table(sheet).insert(values, user=current_user.email)
    except ValidationError as exc:
        show_problems(form, exc.details)
        return None


def update(
    sheet: str,
    rec: Record,
    changes: dict[str, Any],
    *,
    base: dict[str, Any] | None,
    form: Any,
    done: str,
    next_url: str,
) -> Any:
    """Update a row and redirect; a parked conflict goes to its page, refusals to the form
    (None: render the form again)."""
    try:
        result = get_db().table(sheet).update(rec.id, changes, base=base, user=current_user.email)
    except ValidationError as exc:
        show_problems(form, exc.details)
        return None
    if result.status == "parked" and result.op is not None:
        flash(
            _(
                "有人在您编辑期间改了同一项内容，您的修改已暂存为冲突，尚未生效。请打开冲突页面选择保留哪一方的值。"
            ),
            "warning",
        )
        return redirect(url_for("admin.conflict", seq=result.op.seq))
    flash(done, "success")
    return redirect(next_url)


def profile_url(trainee_id: str) -> str | None:
    """The trainee profile page ``/trainees/<id>`` if a plugin serves it, else None."""
    path = f"/trainees/{trainee_id}"
    adapter = current_app.url_map.bind("localhost")
    try:
        adapter.match(path, method="GET")
    except RequestRedirect:
        return path + "/"
    except HTTPException:
        return None
    return path


def trainee_label(trainee: Mapping[str, Any] | None, trainee_id: str) -> str:
    """“姓名（编号）” for select lists and headings."""
    if trainee is None:
        return trainee_id
    return f"{trainee.get('name') or ''}（{trainee_id}）"
