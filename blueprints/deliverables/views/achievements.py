"""Research projects (课题研究), forum presentations (论坛展示) and pairings (结对帮扶).

The trainee enters their own; mentors, district staff (own area) and admins read them. The
"city level or above" checks are the plain functions of ``rules.py``; this page shows their
result per project and per talk.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from mingxiao.database import get_db
from mingxiao.policy import authorize, require
from mingxiao.schema_forms import problem_text, schema_form, show_error
from mingxiao.sheetdb import Record, ValidationError

from .. import rules
from ..blueprint import bp
from ..forms import SHEET_FIELDS
from .common import (
    RecordData,
    choices_for,
    closed,
    parked,
    record_or_404,
    refuse_closed,
    requirements,
    trainee_or_404,
)

SHEETS = tuple(SHEET_FIELDS)
TITLES = {
    "research_projects": _l("课题研究"),
    "presentations": _l("论坛展示"),
    "pairings": _l("结对帮扶"),
}
SHEET_CONVERTER = "any(" + ", ".join(SHEETS) + ")"


def _rows(sheet: str, trainee_id: str) -> list[Record]:
    rows = [r for r in get_db().table(sheet).where(trainee=trainee_id) if not r.voided]
    return sorted(rows, key=lambda r: r.id)


@bp.get("/achievements/<trainee_id>")
@login_required
def achievements(trainee_id: str) -> str:
    """One trainee's research projects, forum talks and pairings, with the checks."""
    trainee = trainee_or_404(trainee_id, "achievements.view")
    reqs = requirements()
    archived = closed(trainee.id)
    projects = _rows("research_projects", trainee.id)
    talks = _rows("presentations", trainee.id)
    return render_template(
        "deliverables/achievements.html",
        trainee=trainee,
        projects=projects,
        talks=talks,
        pairings=_rows("pairings", trainee.id),
        research=rules.research_requirement(reqs, projects),
        talk_req=rules.presentation_requirement(reqs, talks),
        reqs=reqs,
        project_ok=lambda p: rules.research_project_ok(p, reqs.research_min_level),
        outcome_ok=lambda p: rules.research_outcome_ok(p, reqs.research_min_level),
        talk_ok=lambda t: rules.is_city_or_above(t.get("level"), reqs.presentations_min_level),
        can_edit=not archived and authorize(current_user, "achievements.edit", trainee),
        closed_note=problem_text(rules.CLOSED_PROBLEM) if archived else None,
        schemas={s: get_db().schemas[s] for s in SHEETS},
        titles=TITLES,
    )


def _save(sheet: str, rec: Record | None) -> Any:
    db = get_db()
    schema = db.schemas[sheet]
    keys = SHEET_FIELDS[sheet]
    form = schema_form(schema, keys, choices_for, obj=RecordData(rec))
    trainee_id = str(rec.get("trainee")) if rec is not None else str(current_user.trainee_id)
    back = url_for("deliverables.achievements", trainee_id=trainee_id)
    refused = refuse_closed(trainee_id, back)
    if refused is not None:  # after 结业: read-only for the trainee (GET and POST)
        return refused
    if form.validate_on_submit():
        values = {}
        for k in keys:
            value = form[k].data
            values[k] = value.strip() or None if isinstance(value, str) else value
        try:
            if rec is None:
                db.table(sheet).insert({"trainee": trainee_id, **values}, user=current_user.email)
            else:
                result = db.table(sheet).update(
                    rec.id, values, base={k: rec.get(k) for k in keys}, user=current_user.email
                )
                conflict = parked(result)
                if conflict is not None:
                    return conflict
        except ValidationError as exc:
            for key, problem in exc.details.items():
                show_error(form, key if key in form else keys[0], problem_text(problem))
        else:
            flash(_("已保存。"), "success")
            return redirect(back)
    return render_template(
        "deliverables/record_form.html",
        form=form,
        title=TITLES[sheet],
        rec=rec,
        trainee_id=trainee_id,
    )


@bp.route(f"/<{SHEET_CONVERTER}:sheet>/new", methods=["GET", "POST"])
@login_required
def achievement_new(sheet: str) -> Any:
    """The trainee adds a research project, a forum talk or a pairing of their own."""
    require("achievements.edit")
    if not get_db().table("trainees").get(str(current_user.trainee_id)):
        abort(404)
    return _save(sheet, None)


@bp.route(f"/<{SHEET_CONVERTER}:sheet>/<record_id>/edit", methods=["GET", "POST"])
@login_required
def achievement_edit(sheet: str, record_id: str) -> Any:
    """The trainee corrects one of their own entries."""
    rec = record_or_404(sheet, record_id, "achievements.edit")
    return _save(sheet, rec)
