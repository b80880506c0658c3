"""The completion pages, one module per area; importing this package registers them on ``bp``."""

from __future__ import annotations

from ..blueprint import bp
from . import assessment, certificates, credits, funding, verify

__all__ = ["bp", "assessment", "certificates", "credits", "funding", "verify"]
