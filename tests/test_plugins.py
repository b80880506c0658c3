"""Plugins: loading, filtering, entry points, duplicate claims, and every hook end to end.

Hooks exercised here (tests/test_hooks_meta.py checks this list stays complete):
register_blueprints, register_sheets, register_permissions, nav_items, dashboard_widgets,
record_committed, cli_commands, trainee_sections.
"""

from __future__ import annotations

import importlib
import re
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

import click
import pytest
from flask import Blueprint

from app import create_app
from mingxiao import plugins
from mingxiao.database import close_db, get_db, schemas_for
from mingxiao.hookspecs import hookimpl
from mingxiao.plugins import DEFAULT_PLUGINS, NavItem, PluginError, Widget
from mingxiao.policy import authorize
from tests.conftest import AuthActions, init_workbook, make_config
from tests.plugins import example_plugin

EXAMPLE = "tests.plugins.example_plugin"
REPO = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse 2026"


class FakeUser:
    """Enough of a signed-in user for hook calls that do not touch the database."""

    is_authenticated = True
    is_active = True
    role = "admin"
    name = "测试管理员"


@pytest.fixture
def make_app(tmp_path):
    """Build apps with extra settings; their databases are closed after the test."""
    made = []

    def build(**settings: Any):
        app = create_app(make_config(tmp_path, **settings))
        made.append(app)
        return app

    yield build
    for app in made:
        close_db(app)


def fake_plugin(monkeypatch: pytest.MonkeyPatch, name: str, **hooks: Any) -> str:
    """A plugin module ``name`` in sys.modules with the given hook functions."""
    module = types.ModuleType(name)
    for hook, fn in hooks.items():
        fn.__name__ = hook
        setattr(module, hook, hookimpl(fn))
    monkeypatch.setitem(sys.modules, name, module)
    return name


def add_user(app, email: str, role: str = "admin") -> None:
    """Create the workbook if needed and add a user through the real ``users add`` command."""
    if not Path(app.config["WORKBOOK"]).exists():
        init_workbook(app)
    result = app.test_cli_runner().invoke(
        args=["users", "add", email, "--role", role, "--name", "测试用户", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output


# --------------------------------------------------------------------------- loading


def test_default_plugins_are_loaded(app):
    pm = plugins.get_manager(app)
    assert all(pm.get_plugin(name) is not None for name in DEFAULT_PLUGINS)


def test_default_plugins_register_their_blueprints(app):
    assert {"core", "auth"} <= set(app.blueprints)


def test_extra_plugins_are_loaded_by_module_name(make_app):
    app = make_app(EXTRA_PLUGINS=(EXAMPLE,))
    assert plugins.get_manager(app).get_plugin(EXAMPLE) is example_plugin


def test_enabled_plugins_filters_out_unlisted_plugins(make_app):
    app = make_app(EXTRA_PLUGINS=(EXAMPLE,), ENABLED_PLUGINS=("blueprints.core",))
    assert plugins.get_manager(app).get_plugin(EXAMPLE) is None


def test_enabled_plugins_keeps_listed_plugins(make_app):
    app = make_app(EXTRA_PLUGINS=(EXAMPLE,), ENABLED_PLUGINS=(EXAMPLE,))
    assert "example" in app.blueprints


def test_enabled_plugins_never_removes_the_shell(make_app):
    app = make_app(ENABLED_PLUGINS=())
    assert {"core", "auth"} <= set(app.blueprints)


def test_unimportable_plugin_is_a_clear_error(make_app):
    with pytest.raises(PluginError, match="no_such_plugin_module"):
        make_app(EXTRA_PLUGINS=("no_such_plugin_module",))


@pytest.fixture
def installed_distribution(tmp_path, monkeypatch):
    """A fake installed package exposing ``fake_ep_plugin`` in the ``mingxiao.plugins`` group."""
    site = tmp_path / "site"
    dist = site / "mingxiao_fake-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mingxiao-fake\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[mingxiao.plugins]\nfake = fake_ep_plugin\n")
    (site / "fake_ep_plugin.py").write_text(
        textwrap.dedent(
            """
            from flask import Blueprint
            from mingxiao.hookspecs import hookimpl

            bp = Blueprint("fake_ep", __name__, url_prefix="/fake-ep")

            @bp.route("/")
            def index():
                return "fake entry point plugin"

            @hookimpl
            def register_blueprints(app):
                return [bp]
            """
        )
    )
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    yield "fake"
    sys.modules.pop("fake_ep_plugin", None)


def test_entry_point_plugins_are_loaded(installed_distribution, make_app):
    app = make_app()
    assert app.test_client().get("/fake-ep/").data == b"fake entry point plugin"


def test_entry_point_plugins_are_filtered_by_enabled_plugins(installed_distribution, make_app):
    app = make_app(ENABLED_PLUGINS=("blueprints.core",))
    assert "fake_ep" not in app.blueprints


def test_entry_point_plugins_are_enabled_by_entry_point_name(installed_distribution, make_app):
    app = make_app(ENABLED_PLUGINS=(installed_distribution,))
    assert "fake_ep" in app.blueprints


def test_misspelled_hook_is_a_clear_error(monkeypatch, make_app):
    p = fake_plugin(monkeypatch, "typo_plugin", register_blueprint=lambda app: [])
    with pytest.raises(PluginError, match=r"typo_plugin.*register_blueprint"):
        make_app(EXTRA_PLUGINS=(p,))


def test_hook_with_unknown_argument_is_a_clear_error(monkeypatch, make_app):
    p = fake_plugin(monkeypatch, "bad_args", nav_items=lambda user, request: [])
    with pytest.raises(PluginError, match=r"bad_args"):
        make_app(EXTRA_PLUGINS=(p,))


# --------------------------------------------------------------------------- duplicate claims


def test_blueprint_claimed_twice_names_both_plugins(monkeypatch, make_app):
    def register_blueprints(app):
        return [Blueprint("dup", __name__)]

    a = fake_plugin(monkeypatch, "dup_bp_a", register_blueprints=register_blueprints)
    b = fake_plugin(
        monkeypatch, "dup_bp_b", register_blueprints=lambda app: [Blueprint("dup", __name__)]
    )
    with pytest.raises(PluginError, match=r"'dup'.*dup_bp_a.*dup_bp_b"):
        make_app(EXTRA_PLUGINS=(a, b))


def test_plugin_cannot_take_a_builtin_blueprint_name(monkeypatch, make_app):
    p = fake_plugin(
        monkeypatch, "steals_core", register_blueprints=lambda app: [Blueprint("core", __name__)]
    )
    with pytest.raises(PluginError, match=r"blueprints\.core.*steals_core"):
        make_app(EXTRA_PLUGINS=(p,))


def test_sheet_key_claimed_twice_names_both_plugins(monkeypatch, make_app):
    a = fake_plugin(monkeypatch, "dup_sheet_a", register_sheets=lambda: ["nominations"])
    b = fake_plugin(monkeypatch, "dup_sheet_b", register_sheets=lambda: ["nominations"])
    with pytest.raises(PluginError, match=r"'nominations'.*dup_sheet_a.*dup_sheet_b"):
        make_app(EXTRA_PLUGINS=(a, b))


def test_sheet_title_claimed_twice_names_both_plugins(tmp_path, monkeypatch, make_app):
    copy = tmp_path / "other_notes.toml"  # a different key with the example sheet's tab title
    copy.write_text(example_plugin.SHEET.read_text(encoding="utf-8"), encoding="utf-8")
    other = fake_plugin(monkeypatch, "same_title", register_sheets=lambda: [str(copy)])
    with pytest.raises(PluginError, match=r"示例笔记.*example_plugin.*same_title"):
        make_app(EXTRA_PLUGINS=(EXAMPLE, other))


def test_unknown_sheet_key_is_a_clear_error(monkeypatch, make_app):
    p = fake_plugin(monkeypatch, "bad_sheet", register_sheets=lambda: ["no_such_sheet"])
    with pytest.raises(PluginError, match=r"bad_sheet.*no_such_sheet"):
        make_app(EXTRA_PLUGINS=(p,))


def test_permission_claimed_twice_names_both_plugins(monkeypatch, make_app):
    p = fake_plugin(
        monkeypatch, "dup_perm", register_permissions=lambda: {"example.view": lambda u, r: True}
    )
    with pytest.raises(PluginError, match=r"example\.view.*example_plugin.*dup_perm"):
        make_app(EXTRA_PLUGINS=(EXAMPLE, p))


def test_cli_command_claimed_twice_names_both_plugins(monkeypatch, make_app):
    p = fake_plugin(monkeypatch, "dup_cmd", cli_commands=lambda: [click.Command("example-hello")])
    with pytest.raises(PluginError, match=r"example-hello.*example_plugin.*dup_cmd"):
        make_app(EXTRA_PLUGINS=(EXAMPLE, p))


# --------------------------------------------------------------------------- every hook


@pytest.fixture
def example_app(make_app):
    app = make_app(EXTRA_PLUGINS=(EXAMPLE,))
    return app


def test_hook_register_blueprints_serves_the_plugin_page(example_app):
    response = example_app.test_client().get("/example/")
    assert b"example plugin page" in response.data


def test_hook_register_sheets_adds_the_plugin_sheet_to_the_database_schemas(example_app):
    assert schemas_for(example_app)["example_notes"].title == "示例笔记"


def test_hook_register_permissions_feeds_authorize(example_app):
    with example_app.test_request_context():
        assert authorize(FakeUser(), "example.view") is True


def test_hook_nav_items_are_merged_and_sorted_by_order(example_app):
    with example_app.test_request_context():
        items = plugins.nav_items(FakeUser())
    endpoints = [i.endpoint for i in items]
    assert (
        endpoints.index("core.index")
        < endpoints.index("example.index")
        < endpoints.index("auth.change_password")
    )


def test_hook_dashboard_widgets_are_merged_and_sorted_by_order(example_app):
    with example_app.test_request_context():
        widgets = plugins.dashboard_widgets(FakeUser())
    assert [w.title for w in widgets][:2] == ["我的账号", "示例小组件"]


def test_hook_trainee_sections_are_merged_and_sorted_by_order(example_app):
    with example_app.test_request_context():
        sections = plugins.trainee_sections({"name": "张三"}, FakeUser(), app=example_app)
    titles = [w.title for w in sections]
    assert titles[0] == "示例档案栏目"
    assert sections[0].context["greeting"] == "学员 张三"


def test_hook_record_committed_sees_each_durable_write(example_app):
    init_workbook(example_app)
    db = get_db(example_app)
    record = db.table("example_notes").insert({"text": "第一条笔记"}, user="a@example.cn")
    seen = example_app.extensions[example_plugin.COMMITTED_KEY]
    mine = [(op.kind, op.record_id) for op in seen if op.sheet == "example_notes"]
    assert mine == [("insert", record.id)]


def test_hook_record_committed_failure_does_not_fail_the_write(monkeypatch, make_app):
    def record_committed(op):
        raise RuntimeError("listener bug")

    p = fake_plugin(monkeypatch, "broken_listener", record_committed=record_committed)
    app = make_app(EXTRA_PLUGINS=(EXAMPLE, p))
    init_workbook(app)
    db = get_db(app)
    record = db.table("example_notes").insert({"text": "仍然保存"})
    assert db.table("example_notes").get(record.id)["text"] == "仍然保存"


def test_hook_cli_commands_are_added_to_flask_cli(example_app):
    result = example_app.test_cli_runner().invoke(args=["example-hello"])
    assert result.output == "hello from example\n"


def test_signed_in_home_page_shows_plugin_nav_and_widget(example_app):
    client = example_app.test_client()
    add_user(example_app, "admin@example.cn")
    AuthActions(client).login("admin@example.cn", PASSWORD)
    html = client.get("/").get_data(as_text=True)
    assert 'href="/example/"' in html and "来自示例插件的问候" in html


def test_nav_item_and_widget_are_plain_data():
    assert NavItem("x", "core.index").order == Widget("t", "x.html").order == 100


# --------------------------------------------------------------------------- the documented example


def plugin_docs() -> str:
    """The README's "编写插件 / Writing a plugin" section."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert "## 编写插件 / Writing a plugin" in text
    return text.split("## 编写插件 / Writing a plugin", 1)[1].split("\n## ", 1)[0]


def documented_example() -> str:
    match = re.search(r"```python\n(.*?)```", plugin_docs(), re.S)
    assert match, "the plugin section has no ```python example"
    return match.group(1)


@pytest.fixture
def documented_plugin(monkeypatch):
    module = types.ModuleType("mingxiao_hello")
    module.__file__ = str(REPO / "docs" / "mingxiao_hello.py")
    monkeypatch.setitem(sys.modules, "mingxiao_hello", module)
    exec(compile(documented_example(), "mingxiao_hello.py", "exec"), module.__dict__)  # noqa: S102
    return "mingxiao_hello"


def test_documented_plugin_page_and_nav_item_work(documented_plugin, make_app):
    app = make_app(EXTRA_PLUGINS=(documented_plugin,))
    client = app.test_client()
    add_user(app, "admin@example.cn")
    AuthActions(client).login("admin@example.cn", PASSWORD)
    page = client.get("/hello/").get_data(as_text=True)
    assert 'href="/hello/"' in page and "您好，测试用户" in page


def test_documented_plugin_command_works(documented_plugin, make_app):
    app = make_app(EXTRA_PLUGINS=(documented_plugin,))
    result = app.test_cli_runner().invoke(args=["hello", "张三"])
    assert result.output == "你好，张三\n"
