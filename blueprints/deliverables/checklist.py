"""One trainee's completion lines from this plugin, read from the database (needs an app).

For the final-assessment checklist (issue 6 item 4) and the profile section::

    from blueprints.deliverables.checklist import trainee_requirements
    lines = trainee_requirements("T2026-0001")   # five deliverable kinds, research, talks, plan
    [(line.key, line.met, _(line.reason[0]).format(**line.reason[1])) for line in lines]

The decisions themselves are the plain functions of ``rules.py``; the thresholds are
``requirements.toml`` (or the file named by the ``DELIVERABLE_REQUIREMENTS`` setting).
"""

from __future__ import annotations

from typing import Any

from mingxiao.database import get_db

from . import rules
from .views.common import requirements
from .views.plans import plan_of


def _live(sheet: str, trainee_id: str) -> list[Any]:
    return [r for r in get_db().table(sheet).where(trainee=trainee_id) if not r.voided]


def deliverable_lines(trainee_id: str) -> list[rules.Requirement]:
    """The five deliverable kinds of one trainee."""
    return rules.deliverable_requirements(requirements(), _live("deliverables", trainee_id))


def other_lines(trainee_id: str) -> list[rules.Requirement]:
    """Research, forum presentations and the plan of one trainee."""
    reqs = requirements()
    return [
        rules.research_requirement(reqs, _live("research_projects", trainee_id)),
        rules.presentation_requirement(reqs, _live("presentations", trainee_id)),
        rules.plan_requirement(plan_of(trainee_id)),
    ]


def trainee_requirements(trainee_id: str) -> list[rules.Requirement]:
    """Every completion line this plugin decides, in checklist order."""
    return deliverable_lines(trainee_id) + other_lines(trainee_id)
