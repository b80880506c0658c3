"""The ``workshops`` blueprint (名校长工作室); the pages are registered on it in ``views.py``."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("workshops", __name__, url_prefix="/workshops")
