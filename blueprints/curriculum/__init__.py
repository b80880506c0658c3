"""The curriculum plugin (课程与考勤): the 9 modules, sessions, attendance, leave, the absence rule.

Configuration (``app.config``, defaults set here):

- ``ABSENCE_TOTAL_HOURS``: the programme total the limit is taken of; None (default) uses the
  cohort's 总学时, else the curriculum modules' sum (270);
- ``ABSENCE_LIMIT``: the share of the total a trainee may miss, "1/5" (over it: candidate);
- ``ABSENCE_LEAVE_COUNTS``: whether approved leave counts as absence (True);
- ``ABSENCE_WARN_LEVELS``: the projection warnings, "1/2,3/4" of the allowance.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from mingxiao.hookspecs import hookimpl


@hookimpl
def register_blueprints(app: Any) -> list[Any]:
    from . import rules
    from .views import bp

    for key, value in rules.CONFIG_DEFAULTS.items():
        app.config.setdefault(key, value)
    # A mistyped ABSENCE_* value stops the start-up with its key named, not a page later.
    rules.settings_from_config(app.config)
    return [bp]


@hookimpl
def register_permissions() -> dict[str, Any]:
    from .policy import PERMISSIONS

    return PERMISSIONS


@hookimpl
def nav_items(user: Any) -> list[Any]:
    from mingxiao.plugins import NavItem

    role = getattr(user, "role", None)
    items = []
    if role in ("admin", "district", "expert", "mentor", "trainee"):
        items.append(NavItem(label=_l("课程安排"), endpoint="curriculum.sessions", order=300))
    if role in ("admin", "district"):
        items.append(NavItem(label=_l("考勤预警"), endpoint="curriculum.risk", order=310))
    if role == "admin":
        items.append(NavItem(label=_l("请假审批"), endpoint="curriculum.leave_requests", order=320))
    if role == "trainee" and getattr(user, "trainee_id", None):
        items.append(NavItem(label=_l("我的请假"), endpoint="curriculum.leave", order=300))
        items.append(NavItem(label=_l("我的学时"), endpoint="curriculum.my_hours", order=305))
    return items


@hookimpl
def dashboard_widgets(user: Any) -> list[Any]:
    from .widgets import dashboard_widgets as widgets

    return widgets(user)


@hookimpl
def trainee_sections(trainee: Any, user: Any) -> list[Any]:
    from .widgets import trainee_section

    return trainee_section(trainee, user)
