"""The ``completion`` blueprint; the route modules in ``views/`` register their pages on it."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("completion", __name__, url_prefix="/completion")
