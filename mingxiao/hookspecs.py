"""Plugin hook specifications. Only specs live here; the manager is in ``plugins.py``.

Every feature of mingxiao, built-in or third-party, is a pluggy plugin implementing some of
these hooks. Each hook below says what it returns.
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("mingxiao")
hookimpl = pluggy.HookimplMarker("mingxiao")


@hookspec
def register_blueprints(app: Any) -> list[Any]:
    """Return the Flask blueprints this plugin serves; each name may be claimed once."""


@hookspec
def register_sheets() -> list[Any]:
    """Return the worksheets this plugin owns: schema keys (``"nominations"``) or TOML paths."""


@hookspec
def register_permissions() -> dict[str, Any]:
    """Return ``{action: rule(user, record) -> bool}``; ``authorize`` denies unknown actions."""


@hookspec
def nav_items(user: Any) -> list[Any]:
    """Return ``NavItem``s to show ``user`` in the main navigation (already filtered by role)."""


@hookspec
def dashboard_widgets(user: Any) -> list[Any]:
    """Return ``Widget``s (title, template, context) for ``user``'s home page."""


@hookspec
def record_committed(op: Any) -> None:
    """Called once an insert/update/void ``op`` is durable in the journal; return nothing."""


@hookspec
def cli_commands() -> list[Any]:
    """Return click commands or groups to add to ``flask --app app …``."""


@hookspec
def trainee_sections(trainee: Any, user: Any) -> list[Any]:
    """Return ``Widget``s for the profile page of ``trainee`` (a Record) as ``user`` may see it."""
