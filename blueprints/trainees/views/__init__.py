"""Trainee pages, one module per concern, all on the ``trainees`` blueprint.

- ``roster``: the roster (scoped per role) and the profile page of one trainee;
- ``status``: an ordinary status change with its history row;
- ``elimination``: propose, decide and reverse an elimination; the list of cases;
- ``cohorts``: cohort settings (the nomination window stays on the nominations plugin's page).

Importing a module registers its routes on ``bp`` (defined in ``blueprint.py``).
"""

from __future__ import annotations

from ..blueprint import bp
from . import cohorts, elimination, roster, status

__all__ = ["bp", "cohorts", "elimination", "roster", "status"]
