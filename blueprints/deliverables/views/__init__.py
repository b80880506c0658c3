"""Completion pages, all on the ``deliverables`` blueprint, one module per subject:

- ``work``: 结业作业 — the list and progress, upload with automatic 字数, versions, the
  mentor's review (pass / return with comments), new versions after a return, downloads;
- ``plans``: 一人一方案 — the trainee's plan, the mentor's sign-off;
- ``achievements``: research projects, forum presentations and pairings of one trainee.

Shared lookups (scoped trainees, the thresholds, messages) are in ``common``.
"""

from __future__ import annotations

from ..blueprint import bp
from . import achievements, plans, work

__all__ = ["achievements", "bp", "plans", "work"]
