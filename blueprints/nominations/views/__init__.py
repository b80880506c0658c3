"""Nomination pages, one module per stage of the selection, all on the one ``nominations`` blueprint.

- ``entry``: the list, entry and edit, district review (stamp / return / 报送), reopen,
  《人选汇总表》 and the cohort windows;

Each module parses its forms, asks the policy and the plain-function rules, calls the engine
and renders; the rules themselves live beside this package (``rules.py``, ``workflow.py``…).
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("nominations", __name__, url_prefix="/nominations")

# The route modules register on ``bp`` when imported (after ``bp`` exists).
from . import entry  # noqa: E402

__all__ = ["bp", "entry"]
