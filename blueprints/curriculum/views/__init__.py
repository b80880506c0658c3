"""Curriculum pages, one module per concern, all on the ``curriculum`` blueprint.

- ``timetable``: the 9 modules (课程配置) and each cohort's sessions (培训安排), create/edit;
- ``attendance``: the admin's attendance grid for one session (every trainee × a status);
- ``leave``: a trainee's leave requests, and the admin's approvals;
- ``hours``: a trainee's hours ledger and the attendance risk list;
- ``importer``: a session's sign-in sheet (xlsx) with preview and confirm.

Importing a module registers its routes on ``bp`` (defined in ``blueprint.py``).
"""

from __future__ import annotations

from ..blueprint import bp
from . import attendance, hours, importer, leave, timetable

__all__ = ["attendance", "bp", "hours", "importer", "leave", "timetable"]
