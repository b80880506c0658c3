"""The nominations plugin (人选推荐): cohort windows, entry, district review, 《人选汇总表》."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from mingxiao.hookspecs import hookimpl


@hookimpl
def register_blueprints(app: Any) -> list[Any]:
    from .views import bp

    return [bp]


@hookimpl
def register_sheets() -> list[Any]:
    # The nominations sheet itself is the core schema's (other plugins read it too); the
    # guide numbers are this plugin's alone.
    return [
        "nomination_quotas",
        "nomination_invitations",
        "score_weights",
        "publicity_objections",
    ]


@hookimpl
def register_permissions() -> dict[str, Any]:
    from .policy import PERMISSIONS

    return PERMISSIONS


@hookimpl
def nav_items(user: Any) -> list[Any]:
    from mingxiao.plugins import NavItem

    role = getattr(user, "role", None)
    items = []
    if role in ("admin", "district"):
        items.append(NavItem(label=_l("人选推荐"), endpoint="nominations.index", order=100))
    if role == "admin":
        items.append(NavItem(label=_l("推荐设置"), endpoint="nominations.windows", order=110))
    return items
