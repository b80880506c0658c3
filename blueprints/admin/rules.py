"""Who may run the workbook: health, sync, conflicts, audit, backups."""

from __future__ import annotations

from typing import Any


def can_manage_workbook(user: Any, record: Any = None) -> bool:
    """Only active admins manage the workbook itself."""
    return bool(getattr(user, "is_authenticated", False)) and getattr(user, "role", None) == "admin" and bool(
        getattr(user, "active", True)
    )
