"""Lookups every deliverables page needs: thresholds, scoped trainees, 404s, messages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import abort, current_app, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from mingxiao.database import get_db
from mingxiao.policy import authorize, require
from mingxiao.schema_forms import problem_text
from mingxiao.sheetdb import Record

from ..rules import CLOSED_PROBLEM, Requirements, load_requirements, record_closed

EXT_REQUIREMENTS = "deliverables.requirements"


def requirements() -> Requirements:
    """The thresholds of ``requirements.toml``, checked against the schema's choice lists."""
    cached = current_app.extensions.get(EXT_REQUIREMENTS)
    if cached is None:
        db = get_db()
        cached = load_requirements(
            current_app.config.get("DELIVERABLE_REQUIREMENTS"),
            kinds=db.choices("deliverable_kinds"),
            levels=db.choices("levels"),
        )
        current_app.extensions[EXT_REQUIREMENTS] = cached
    return cached


def record_or_404(sheet: str, record_id: str, action: str) -> Record:
    """The stored, live record ``record_id`` of ``sheet`` if the user may ``action`` it; else 404."""
    rec = get_db().table(sheet).get(record_id)
    if rec is None or rec.voided:
        abort(404)
    require(action, rec, status=404)
    return rec


def trainee_or_404(trainee_id: str, action: str) -> Record:
    return record_or_404("trainees", trainee_id, action)


def closed(trainee_id: Any) -> bool:
    """The trainee has 结业: their own plan, deliverables and achievements are read-only."""
    return record_closed(get_db().table("trainees").get(str(trainee_id or "")))


def refuse_closed(trainee_id: Any, back: str) -> Any | None:
    """After 结业, a trainee's write is refused with the reason (a redirect to ``back``)."""
    if not closed(trainee_id):
        return None
    flash(problem_text(CLOSED_PROBLEM), "error")
    return redirect(back)


def visible_trainees(action: str) -> list[Record]:
    """The live trainees the current user may ``action`` (admins: all), by id."""
    user = current_user
    db = get_db()
    trainees = db.table("trainees")
    if getattr(user, "role", None) == "trainee":
        rec = trainees.get(str(getattr(user, "trainee_id", "") or ""))
        rows: Iterable[Record] = [rec] if rec is not None else []
    elif getattr(user, "role", None) == "district" and getattr(user, "district", None):
        # a district sees its own 区县's trainees only: read them through the district index
        # (the rule below still has the last word on every row)
        rows = trainees.where(district=user.district)
    else:
        rows = trainees.all()
    return sorted(
        (r for r in rows if not r.voided and authorize(user, action, r)), key=lambda r: r.id
    )


def parked(result: Any) -> Any | None:
    """The redirect to the conflict page when an update was parked, else None."""
    if result.status == "parked" and result.op is not None:
        flash(_("这条记录刚被别人改过，您的修改已暂存为冲突。请打开冲突页面处理。"), "warning")
        return redirect(url_for("admin.conflict", seq=result.op.seq))
    return None


def choices_for(col: Any) -> list[str]:
    return list(get_db().choices_for(col))


class RecordData:
    """A record as WTForms object data (attribute access; None everywhere for a new record)."""

    def __init__(self, rec: Record | None) -> None:
        self._rec = rec

    def __getattr__(self, key: str) -> Any:
        return self._rec.get(key) if self._rec is not None else None
