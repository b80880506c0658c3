"""Dashboard widgets (admin: cohort hours, attendance risk) and the trainee profile section."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from mingxiao.plugins import Widget
from mingxiao.policy import authorize

from . import data, rules

RISK_WIDGET_ROWS = 8


def dashboard_widgets(user: Any) -> list[Widget]:
    """Admins: hours delivered vs planned per cohort, and the attendance risk list."""
    if not authorize(user, "curriculum.manage"):
        return []
    today = data.today()
    cohorts = []
    for c in data.cohorts():
        hours = rules.cohort_hours(data.sessions_of(c.id), data.programme_hours(c), today)
        cohorts.append((c, hours))
    risk = data.risk_rows()
    return [
        Widget(
            title=_l("各期课程学时"),
            template="curriculum/_widget_hours.html",
            context={"cohort_hours": cohorts},
            order=300,
        ),
        Widget(
            title=_l("考勤预警"),
            template="curriculum/_widget_risk.html",
            context={
                "risk_rows": risk[:RISK_WIDGET_ROWS],
                "risk_total": len(risk),
                "level_labels": rules.LEVEL_LABELS,
            },
            order=310,
        ),
    ]


def trainee_section(trainee: Any, user: Any) -> list[Widget]:
    """The hours ledger on the trainee's profile page, for whoever may see that ledger."""
    if trainee is None or not authorize(user, "curriculum.hours", trainee):
        return []
    return [
        Widget(
            title=_l("学时与考勤"),
            template="curriculum/_ledger_section.html",
            context={"info": data.trainee_hours(trainee), "level_labels": rules.LEVEL_LABELS},
            order=300,
        )
    ]
