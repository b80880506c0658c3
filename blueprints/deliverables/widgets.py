"""Dashboard widgets and the trainee-profile sections of the deliverables plugin."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from mingxiao.database import get_db
from mingxiao.plugins import Widget
from mingxiao.policy import authorize

from .checklist import deliverable_lines, other_lines
from .views.work import progress_of, review_queue


def dashboard_widgets(user: Any) -> list[Widget]:
    """Trainee: my deliverables progress. Mentor: deliverables waiting for my review."""
    role = getattr(user, "role", None)
    if role == "trainee" and authorize(user, "deliverables.submit"):
        trainee_id = str(user.trainee_id)
        if get_db().table("trainees").get(trainee_id) is None:
            return []
        progress = progress_of(trainee_id)
        return [
            Widget(
                title=_l("我的结业作业"),
                template="deliverables/_widget_progress.html",
                context={"progress": progress, "met": sum(1 for p in progress if p.met)},
                order=60,
            )
        ]
    if role == "mentor" and authorize(user, "deliverables.review"):
        queue = review_queue()
        names = {
            t.id: t.get("name")
            for t in get_db().table("trainees").all()
            if t.id in {str(r.get("trainee")) for r in queue}
        }
        return [
            Widget(
                title=_l("待我审阅的结业作业"),
                template="deliverables/_widget_queue.html",
                context={"queue": queue[:8], "total": len(queue), "names": names},
                order=60,
            )
        ]
    return []


def trainee_sections(trainee: Any, user: Any) -> list[Widget]:
    """The 结业作业 section (and research, talks, plan) of a trainee's profile page."""
    # Only a stored trainee row (a Record with an id) has deliverables; anything else: no section.
    if not getattr(trainee, "id", None) or not authorize(user, "deliverables.view", trainee):
        return []
    return [
        Widget(
            title=_l("结业作业"),
            template="deliverables/_section.html",
            context={"trainee": trainee, "progress": deliverable_lines(trainee.id)},
            order=300,
        ),
        Widget(
            title=_l("课题、论坛展示与一人一方案"),
            template="deliverables/_section_other.html",
            context={"trainee": trainee, "lines": other_lines(trainee.id)},
            order=310,
        ),
    ]
