"""The nominations plugin (人选推荐): cohort windows, entry, district review, 《人选汇总表》."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from mingxiao.hookspecs import hookimpl


@hookimpl
def register_blueprints(app: Any) -> list[Any]:
    from .publicity import calendar_from_config
    from .views import bp

    # A mistyped PUBLICITY_* date stops the start-up with its key and value named, instead
    # of failing later on the publicity pages.
    calendar_from_config(app.config)

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
        items.append(
            NavItem(label=_l("填表邀请"), endpoint="nominations.invitation_list", order=105)
        )
    if role == "admin":
        items.append(NavItem(label=_l("推荐设置"), endpoint="nominations.windows", order=110))
        items.append(NavItem(label=_l("差额评审"), endpoint="nominations.review_index", order=115))
        items.append(
            NavItem(label=_l("公示与录取"), endpoint="nominations.publicity_index", order=120)
        )
    if role == "expert":
        items.append(NavItem(label=_l("专家评分"), endpoint="nominations.score_list", order=100))
    return items
