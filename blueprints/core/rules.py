"""Plain rules of the shell: safe redirects, health status and the sync indicator's state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit


def safe_next_url(target: str | None) -> str | None:
    """``target`` if it is a path on this site (``/x?y``), else None: no open redirects."""
    if not target or not isinstance(target, str):
        return None
    if any(ord(ch) < 32 or ch == "\\" for ch in target):
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def health_status(status: Mapping[str, Any]) -> str:
    """``"ok"``, or ``"degraded"`` when people must act: sheet problems, conflicts, read-only sheets."""
    if status.get("problems") or status.get("parked") or status.get("sheets_readonly"):
        return "degraded"
    return "ok"


def sync_state(status: Mapping[str, Any] | None) -> str:
    """The indicator's state: ``unknown``, ``conflict``, ``blocked``, ``syncing`` or ``synced``."""
    if status is None:
        return "unknown"
    if status.get("parked"):
        return "conflict"
    if status.get("pending") and status.get("blocked"):
        return "blocked"
    if status.get("pending"):
        return "syncing"
    return "synced"
