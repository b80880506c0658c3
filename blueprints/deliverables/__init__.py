"""The deliverables plugin (结业作业与培养过程): deliverables with 字数 checks and mentor review,
one plan per person (一人一方案), research projects, forum presentations and pairings.

Thresholds are data (``requirements.toml``); the met/not-met checks are plain functions in
``rules.py`` (the final-assessment checklist calls them); 字数 is ``mingxiao.wordcount``.
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
    from mingxiao.plugins import NavItem

    if getattr(user, "role", None) in ("admin", "district", "mentor", "trainee"):
        return [NavItem(label=_l("结业作业"), endpoint="deliverables.index", order=300)]
    return []


@hookimpl
def dashboard_widgets(user: Any) -> list[Any]:
    from .widgets import dashboard_widgets as widgets

    return widgets(user)


@hookimpl
def trainee_sections(trainee: Any, user: Any) -> list[Any]:
    from .widgets import trainee_sections as sections

    return sections(trainee, user)
