"""A tiny plugin implementing every hook, used by tests/test_plugins.py.

Load it with ``create_app({"EXTRA_PLUGINS": ("tests.plugins.example_plugin",), ...})``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask import Blueprint, current_app, render_template

from mingxiao.hookspecs import hookimpl
from mingxiao.plugins import NavItem, Widget

HERE = Path(__file__).parent
SHEET = HERE / "example_notes.toml"
COMMITTED_KEY = "example.committed"  # app.extensions list of ops seen by record_committed

bp = Blueprint("example", __name__, url_prefix="/example", template_folder="templates")


@bp.route("/")
def index() -> str:
    return render_template("example/index.html")


def can_view_example(user: Any, record: Any = None) -> bool:
    return bool(getattr(user, "is_authenticated", False))


@click.command("example-hello")
def hello() -> None:
    """Say hello from the example plugin."""
    click.echo("hello from example")


@hookimpl
def register_blueprints(app: Any) -> list[Any]:
    return [bp]


@hookimpl
def register_sheets() -> list[Any]:
    return [str(SHEET)]


@hookimpl
def register_permissions() -> dict[str, Any]:
    return {"example.view": can_view_example}


@hookimpl
def nav_items(user: Any) -> list[Any]:
    return [NavItem("示例", "example.index", order=50)]


@hookimpl
def dashboard_widgets(user: Any) -> list[Any]:
    return [
        Widget("示例小组件", "example/widget.html", {"greeting": "来自示例插件的问候"}, order=5)
    ]


@hookimpl
def trainee_sections(trainee: Any, user: Any) -> list[Any]:
    return [Widget("示例档案栏目", "example/widget.html", {"greeting": f"学员 {trainee['name']}"}, order=5)]


@hookimpl
def record_committed(op: Any) -> None:
    current_app.extensions.setdefault(COMMITTED_KEY, []).append(op)


@hookimpl
def cli_commands() -> list[Any]:
    return [hello]
