"""The notifications plugin (站内通知): the list of a user's notifications, unread count in the nav.

The store itself is the core module ``mingxiao.notifications`` (other plugins call
``notify``); this plugin only shows a person what is addressed to them and marks it read.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from mingxiao.hookspecs import hookimpl


@hookimpl
def register_blueprints(app: Any) -> list[Any]:
    from .views import bp

    return [bp]


@hookimpl
def register_permissions() -> dict[str, Any]:
    from .policy import PERMISSIONS

    return PERMISSIONS


@hookimpl
def nav_items(user: Any) -> list[Any]:
    from flask import current_app

    from mingxiao import notifications
    from mingxiao.plugins import NavItem

    if not getattr(user, "is_authenticated", False):
        return []
    count = notifications.unread_count(current_app._get_current_object(), user)  # type: ignore[attr-defined]
    label = _l("通知（%(n)d）", n=count) if count else _l("通知")
    return [NavItem(label=label, endpoint="notifications.index", order=900)]
