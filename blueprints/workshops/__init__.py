"""The workshops plugin (名校长工作室): each trainee founds and runs one workshop that brings
on other principals — its members (with their outcomes) and its activities."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from mingxiao.hookspecs import hookimpl

SECTION_ORDER = 40


@hookimpl
def register_blueprints(app: Any) -> list[Any]:
    from . import views  # noqa: F401  (registers the pages on bp)
    from .blueprint import bp

    return [bp]


@hookimpl
def register_permissions() -> dict[str, Any]:
    from .policy import PERMISSIONS

    return PERMISSIONS


@hookimpl
def nav_items(user: Any) -> list[Any]:
    from mingxiao.plugins import NavItem
    from mingxiao.policy import authorize

    if not authorize(user, "workshops.view"):
        return []
    return [NavItem(label=_l("名校长工作室"), endpoint="workshops.index", order=300)]


def _glance(trainee_id: str, user: Any) -> dict[str, Any]:
    """The context of the at-a-glance box: the trainee's workshop (if any) and its figures."""
    from mingxiao.database import get_db
    from mingxiao.policy import authorize

    from . import rules
    from .summary import summarize

    db = get_db()
    own = rules.workshops_of(trainee_id, db.table("workshops").all())
    visible = [w for w in own if authorize(user, "workshops.view", w)]
    return {
        "summaries": summarize(db, visible),
        "duplicates": len(own) > 1,
        "has_any": bool(own),
        "can_found": not own and authorize(user, "workshops.manage"),
        "principal_outcomes": rules.PRINCIPAL_OUTCOMES,
    }


@hookimpl
def dashboard_widgets(user: Any) -> list[Any]:
    from mingxiao.plugins import Widget
    from mingxiao.policy import is_role

    tid = getattr(user, "trainee_id", None)
    if not is_role(user, "trainee") or not tid:
        return []
    return [
        Widget(
            title=_l("我的名校长工作室"),
            template="workshops/_glance.html",
            context=_glance(str(tid), user),
            order=SECTION_ORDER,
        )
    ]


@hookimpl
def trainee_sections(trainee: Any, user: Any) -> list[Any]:
    from mingxiao.plugins import Widget
    from mingxiao.policy import authorize

    trainee_id = getattr(trainee, "id", None)
    if not trainee_id:
        return []
    context = _glance(str(trainee_id), user)
    # The workshop the user may read; without one, the “not founded yet” note only for those
    # who could read it once founded (judged on the trainee row: their district, mentors…).
    if not context["summaries"] and (
        context["has_any"] or not authorize(user, "workshops.view", trainee)
    ):
        return []
    return [
        Widget(
            title=_l("名校长工作室"),
            template="workshops/_glance.html",
            context=context,
            order=SECTION_ORDER,
        )
    ]
