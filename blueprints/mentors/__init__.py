"""The mentors plugin (导师团队): the mentor roster, assignments of lead and co-mentors, the
load view, the mentor's portal 我的学员, mentoring logs and the guidance hours behind the
导师指导费; a 导师团队 section on the trainee profile and dashboard widgets."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from mingxiao.hookspecs import hookimpl

WIDGET_ROWS = 6  # trainees listed in the mentor's dashboard widget
SECTION_LOGS = 5  # recent logs in the 导师团队 section of a trainee profile


@hookimpl
def register_blueprints(app: Any) -> list[Any]:
    from .views import bp

    return [bp]


@hookimpl
def register_sheets() -> list[Any]:
    return ["mentors", "mentor_assignments", "mentoring_logs"]


@hookimpl
def register_permissions() -> dict[str, Any]:
    from .policy import PERMISSIONS

    return PERMISSIONS


@hookimpl
def nav_items(user: Any) -> list[Any]:
    from mingxiao.plugins import NavItem
    from mingxiao.policy import authorize

    items = []
    if authorize(user, "mentors.portal"):
        items.append(NavItem(label=_l("我的学员"), endpoint="mentors.my", order=200))
        items.append(NavItem(label=_l("指导记录"), endpoint="mentors.logs", order=210))
    if authorize(user, "mentors.roster"):
        items.append(NavItem(label=_l("导师团队"), endpoint="mentors.index", order=200))
    return items


@hookimpl
def dashboard_widgets(user: Any) -> list[Any]:
    from flask import current_app

    from mingxiao.database import get_db
    from mingxiao.plugins import Widget
    from mingxiao.policy import authorize

    from . import rules
    from .views.portal import my_progress

    widgets = []
    if authorize(user, "mentors.portal"):
        rows = my_progress(user)
        widgets.append(
            Widget(
                _l("我的学员"),
                "mentors/_my_widget.html",
                {
                    "rows": rows[:WIDGET_ROWS],
                    "total": len(rows),
                    "at_risk": sum(1 for p in rows if p.at_risk),
                    "to_review": sum(p.to_review for p in rows),
                },
                order=20,
            )
        )
    if authorize(user, "mentors.assign"):
        db = get_db()
        day = db.today()
        mentors = {m.id: m for m in db.table("mentors").all()}
        assignments = db.table("mentor_assignments").all()
        trainees = {t.id: t for t in db.table("trainees").all()}
        loads = rules.mentor_load(mentors, assignments, day)
        max_co = int(current_app.config.get("MENTORS_MAX_CO_MENTORS", 2))
        widgets.append(
            Widget(
                _l("导师工作量"),
                "mentors/_load_widget.html",
                {
                    "loads": [x for x in loads if x.total][:WIDGET_ROWS],
                    "mentors": mentors,
                    "active_mentors": sum(
                        1 for m in mentors.values() if m.get("active") is not False
                    ),
                    "no_lead": rules.trainees_without_lead(assignments, trainees, day),
                    "problems": len(
                        rules.assignment_problems(assignments, trainees, day, max_co=max_co)
                    ),
                    "peak": max((x.total for x in loads), default=0),
                },
                order=60,
            )
        )
    return widgets


@hookimpl
def trainee_sections(trainee: Any, user: Any) -> list[Any]:
    """导师团队: the trainee's current mentors and recent logs, as ``user`` may see them."""
    from mingxiao.database import get_db
    from mingxiao.plugins import Widget
    from mingxiao.policy import authorize

    from . import rules

    if not authorize(user, "mentors.team", trainee):
        return []
    db = get_db()
    day = db.today()
    tid = str(trainee.get("id") or "")
    assignments = db.table("mentor_assignments").where(trainee=tid)
    mentors = {m.id: m for m in db.table("mentors").all()}
    logs = sorted(
        db.table("mentoring_logs").where(trainee=tid),
        key=lambda r: (rules.as_date(r.get("date")) or day, r.id),
        reverse=True,
    )
    return [
        Widget(
            _l("导师团队"),
            "mentors/_team_section.html",
            {
                "trainee_id": tid,
                "team": rules.team_of(tid, assignments, day),
                "past": [a for a in assignments if not rules.active_on(a, day)],
                "mentors": mentors,
                "logs": logs[:SECTION_LOGS],
                "log_count": len(logs),
                "log_hours": sum((rules.as_hours(r.get("hours")) for r in logs), rules.as_hours(0)),
                "notes": authorize(user, "mentors.log_notes", trainee),
                "can_log": authorize(user, "mentors.trainee", trainee),
            },
            order=30,
        )
    ]
