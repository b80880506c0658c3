"""The core plugin: the home dashboard, ``/healthz``, the language switch and the layout context."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from mingxiao.hookspecs import hookimpl
from mingxiao.plugins import NavItem, Widget

from .views import bp


@hookimpl
def register_blueprints(app: Any) -> list[Any]:
    """The ``core`` blueprint at the site root."""
    return [bp]


@hookimpl
def nav_items(user: Any) -> list[Any]:
    """“首页” for anyone signed in."""
    if not getattr(user, "is_authenticated", False):
        return []
    return [NavItem(_l("首页"), "core.index", order=0, icon="home")]


@hookimpl
def dashboard_widgets(user: Any) -> list[Any]:
    """“我的账号”: who is signed in, with which role and scope."""
    if not getattr(user, "is_authenticated", False):
        return []
    return [Widget(_l("我的账号"), "core/_account_widget.html", {"account": user}, order=0)]
