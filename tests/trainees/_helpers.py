"""Helpers for the trainees page tests on the demo world (tests/_demo.py)."""

from __future__ import annotations

from typing import Any

from tests._demo import World


def post(world: World, role: str, url: str, data: dict[str, Any]) -> Any:
    """POST ``data`` as ``role`` with a valid CSRF token of that role's session."""
    client = world.client(role)
    return client.post(url, data={**data, "csrf_token": world.token(client)})


def history(world: World, trainee_id: str) -> list[Any]:
    rows = world.db.table("trainee_status_history").where(trainee=trainee_id)
    return sorted(rows, key=lambda r: r.id)
