"""The admin plugin: sheet health, sync status and conflicts, audit trail, backups, incidents."""

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
    from .rules import can_manage_workbook

    return {"admin.workbook": can_manage_workbook}


@hookimpl
def nav_items(user: Any) -> list[Any]:
    from mingxiao.plugins import NavItem

    if getattr(user, "role", None) != "admin":
        return []
    return [
        NavItem(label=_l("工作簿健康"), endpoint="admin.health", order=900),
        NavItem(label=_l("同步与冲突"), endpoint="admin.sync", order=910),
        NavItem(label=_l("审计记录"), endpoint="admin.audit", order=920),
        NavItem(label=_l("备份"), endpoint="admin.backups", order=930),
    ]


@hookimpl
def dashboard_widgets(user: Any) -> list[Any]:
    from mingxiao.plugins import Widget

    if getattr(user, "role", None) != "admin":
        return []
    from mingxiao.database import get_db

    return [Widget(title=_l("工作簿状态"), template="admin/_widget.html", context={"status": get_db().status()}, order=10)]


@hookimpl
def cli_commands() -> list[Any]:
    from mingxiao.cli import demo_command, sheets_group

    return [sheets_group, demo_command]
