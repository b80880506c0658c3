"""The completion plugin (结业): certificates with numbers and a public verification page,
the credits export for 省培管理平台, and the funding ledger.

Configuration (``app.config``, defaults set here; see ``rules.CONFIG_DEFAULTS``):

- ``CREDITS_HOURS_PER_CREDIT``: training hours per credit (10: 10 学时 = 1 学分);
- ``CREDITS_DECIMALS``: decimal places of exported credits (1);
- ``MENTOR_FEE_PER_HOUR``: yuan per recorded guidance hour for the proposed 导师指导费 (300);
- ``VERIFY_RATE_LIMIT`` / ``VERIFY_RATE_WINDOW``: look-ups per client address per window in
  seconds on the public verification page (20 per 600 s);
- ``REMINDER_DELIVERABLE_DAYS`` (60) / ``REMINDER_PUBLICITY_DAYS`` (2): how early the
  ``reminders send`` command warns before a cohort's end and a publicity period's end;
- ``REMINDER_EMAIL`` (False): also email each reminder through ``MAIL_SERVER`` (links made
  absolute with ``BASE_URL``); ``REMINDER_MAIL_PATH``: the sent-mail store (default
  ``<instance>/reminder_mail.sqlite3``). See ``reminders.py``.

Home-page widgets (``dashboard.py``): assessment readiness for admins (per cohort, with the
decisions), district staff (their 区县), mentors (their trainees) and trainees (their own
checklist), and budget against spent per cohort for admins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l

from mingxiao.hookspecs import hookimpl

SHEETS_DIR = Path(__file__).with_name("sheets")
SECTION_ORDER = 80


@hookimpl
def register_blueprints(app: Any) -> list[Any]:
    from . import rules
    from .reminders import CONFIG_DEFAULTS as REMINDER_DEFAULTS
    from .views import bp

    for key, value in {**rules.CONFIG_DEFAULTS, **REMINDER_DEFAULTS}.items():
        app.config.setdefault(key, value)
    # A mistyped setting stops the start-up with its key named, not a page later.
    rules.check_config(app.config)
    return [bp]


@hookimpl
def cli_commands() -> list[Any]:
    from .reminders import reminders_group

    return [reminders_group]


@hookimpl
def register_sheets() -> list[Any]:
    # 结业证书, 结业考核 and 经费 are core sheets; the budget is this plugin's own.
    return [str(SHEETS_DIR / "budgets.toml")]


@hookimpl
def register_permissions() -> dict[str, Any]:
    from .policy import PERMISSIONS

    return PERMISSIONS


@hookimpl
def nav_items(user: Any) -> list[Any]:
    from mingxiao.plugins import NavItem

    role = getattr(user, "role", None)
    if role == "admin":
        return [
            NavItem(label=_l("结业证书"), endpoint="completion.index", order=600),
            NavItem(label=_l("学分导出"), endpoint="completion.credits", order=610),
            NavItem(label=_l("经费台账"), endpoint="completion.funding", order=620),
            NavItem(label=_l("结业考核"), endpoint="completion.assessment_index", order=590),
        ]
    if role == "trainee" and getattr(user, "trainee_id", None):
        return [NavItem(label=_l("我的证书"), endpoint="completion.mine", order=600)]
    return []


@hookimpl
def dashboard_widgets(user: Any) -> list[Any]:
    """Assessment readiness for admins, district staff, mentors and trainees; funding for
    admins (see ``dashboard.py``)."""
    from .dashboard import dashboard_widgets as widgets

    return widgets(user)


@hookimpl
def trainee_sections(trainee: Any, user: Any) -> list[Any]:
    """The trainee's certificates, for admins and for the trainee themselves."""
    from mingxiao.database import get_db
    from mingxiao.plugins import Widget
    from mingxiao.policy import authorize

    from . import rules

    trainee_id = getattr(trainee, "id", None)
    if not trainee_id:
        return []
    certs = [
        c
        for c in get_db().table("certificates").where(trainee=str(trainee_id))
        if authorize(user, "completion.certificate", c)
    ]
    if not certs:
        return []
    return [
        Widget(
            title=_l("结业证书"),
            template="completion/_certificates.html",
            context={"certificates": certs, "state": rules.certificate_state},
            order=SECTION_ORDER,
        )
    ]
