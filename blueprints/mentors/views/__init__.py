"""Mentor-team pages (导师团队), one module per concern, all on the ``mentors`` blueprint.

- ``roster``: the mentor roster (导师库): list, new, detail, edit;
- ``assignments``: who guides whom (导师分配): list with the sheet's problems, new, edit, end,
  and the load view (trainees per mentor);
- ``portal``: 我的学员, the mentor's own trainees with hours, risk, deliverables and plan;
- ``logs``: mentoring logs (导师指导记录) and the guidance-hours report (导师指导费 basis).

Importing a module registers its routes on ``bp`` (defined in ``blueprint.py``).
"""

from __future__ import annotations

from ..blueprint import bp
from . import assignments, logs, portal, roster

__all__ = ["assignments", "bp", "logs", "portal", "roster"]
