"""Nomination pages, one module per stage of the selection, all on the ``nominations`` blueprint.

- ``entry``: the list, entry and edit, district review (stamp / return / 报送), reopen,
  《人选汇总表》 and the cohort windows;

Each module parses its forms, asks the policy and the plain-function rules, calls the engine
and renders; the rules themselves live beside this package (``rules.py``, ``workflow.py``…).
Importing a module registers its routes on ``bp`` (defined in ``blueprint.py``).
"""

from __future__ import annotations

from ..blueprint import bp
from . import entry

__all__ = ["bp", "entry"]
