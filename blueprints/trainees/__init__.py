"""The trainees plugin (学员): cohorts, the roster, the profile page, status and elimination.

Status changes append to 学员状态变更; eliminations are proposed and decided in 淘汰审定 (this
plugin's own sheet, ``sheets/elimination_cases.toml``) and tell the trainee's district in-app
(``mingxiao.notifications``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l

from mingxiao.hookspecs import hookimpl

SHEETS_DIR = Path(__file__).resolve().parent / "sheets"


@hookimpl
def register_blueprints(app: Any) -> list[Any]:
    from .views import bp

    return [bp]


@hookimpl
def register_sheets() -> list[Any]:
    # 学员, 期次 and 学员状态变更 are core sheets every plugin reads; 淘汰审定 is this plugin's.
    return [str(SHEETS_DIR / "elimination_cases.toml")]


@hookimpl
def register_permissions() -> dict[str, Any]:
    from .policy import PERMISSIONS

    return PERMISSIONS


@hookimpl
def nav_items(user: Any) -> list[Any]:
    from mingxiao.plugins import NavItem

    role = getattr(user, "role", None)
    items = []
    if role in ("admin", "district", "mentor"):
        items.append(NavItem(label=_l("学员名册"), endpoint="trainees.index", order=200))
    if role == "trainee" and getattr(user, "trainee_id", None):
        items.append(NavItem(label=_l("我的档案"), endpoint="trainees.index", order=200))
    if role in ("admin", "district"):
        items.append(NavItem(label=_l("淘汰审定"), endpoint="trainees.eliminations", order=210))
    if role == "admin":
        items.append(NavItem(label=_l("期次设置"), endpoint="trainees.cohort_list", order=205))
    return items


@hookimpl
def dashboard_widgets(user: Any) -> list[Any]:
    from mingxiao.database import get_db
    from mingxiao.plugins import Widget
    from mingxiao.policy import is_role

    from . import rules
    from .queries import cohort_names

    if not is_role(user, "district") or not getattr(user, "district", None):
        return []
    mine = get_db().table("trainees").where(district=user.district)
    names = cohort_names()
    by_cohort = {
        cid: rules.status_counts(t for t in mine if str(t.get("cohort")) == cid)
        for cid in names
        if any(str(t.get("cohort")) == cid for t in mine)
    }
    return [
        Widget(
            title=_l("本区县学员"),
            template="trainees/_district_widget.html",
            context={
                "district": user.district,
                "counts": rules.status_counts(mine),
                "by_cohort": by_cohort,
                "cohort_names": names,
                "total": len(mine),
            },
            order=150,
        )
    ]
