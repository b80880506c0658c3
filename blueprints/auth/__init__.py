"""The auth plugin: login/logout/password pages, the core permissions and the ``users`` CLI."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from mingxiao.hookspecs import hookimpl
from mingxiao.plugins import NavItem
from mingxiao.policy import CORE_PERMISSIONS

from .cli import users
from .views import bp


@hookimpl
def register_blueprints(app: Any) -> list[Any]:
    """The ``auth`` blueprint under ``/auth``."""
    return [bp]


@hookimpl
def register_permissions() -> dict[str, Any]:
    """``admin.access`` (admins) and ``account.change_password`` (every signed-in user)."""
    return dict(CORE_PERMISSIONS)


@hookimpl
def cli_commands() -> list[Any]:
    """The ``users`` group."""
    return [users]


@hookimpl
def nav_items(user: Any) -> list[Any]:
    """“修改密码” for anyone signed in."""
    if not getattr(user, "is_authenticated", False):
        return []
    return [NavItem(_l("修改密码"), "auth.change_password", order=900)]
