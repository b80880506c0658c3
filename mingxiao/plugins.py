"""The plugin manager: built-in features and installed plugins, loaded inside ``create_app``.

Built-in features are listed in :data:`DEFAULT_PLUGINS`; third-party plugins are found through
the entry-point group ``mingxiao.plugins``; ``EXTRA_PLUGINS`` names site-local modules. The
``ENABLED_PLUGINS`` setting (``None`` = all) filters all three, except the shell itself
(:data:`ALWAYS_ENABLED`), without which no page renders. The manager lives in
``app.extensions["mingxiao.plugins"]``; nothing here is a module-level global.

Registration hooks (blueprints, sheets, permissions, CLI commands) are called plugin by plugin
so that a name claimed twice is reported with both plugins' names.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import click
import pluggy
from flask import Blueprint, Flask, current_app, has_app_context, render_template
from markupsafe import Markup

from . import hookspecs
from .sheetdb.schema import (
    SchemaError,
    SchemaSet,
    SheetSchema,
    default_schema_dir,
    load_schemas,
    load_sheet,
)

log = logging.getLogger(__name__)

PROJECT = "mingxiao"
ENTRY_POINT_GROUP = "mingxiao.plugins"
DEFAULT_PLUGINS: tuple[str, ...] = (
    "blueprints.core",
    "blueprints.auth",
    "blueprints.admin",
    "blueprints.nominations",
    "blueprints.notifications",
    "blueprints.trainees",
    "blueprints.mentors",
    "blueprints.workshops",
    "blueprints.curriculum",
    "blueprints.deliverables",
    "blueprints.completion",
)
# The shell (home, /healthz, language switch, login) is not a feature: never filtered out.
ALWAYS_ENABLED: frozenset[str] = frozenset({"blueprints.core", "blueprints.auth"})

EXT_MANAGER = "mingxiao.plugins"
EXT_PERMISSIONS = "mingxiao.permissions"
EXT_SHEETS = "mingxiao.sheets"
EXT_SHEET_OWNERS = "mingxiao.sheet_owners"


class PluginError(RuntimeError):
    """A plugin cannot be loaded or claims something another plugin already claimed."""


@dataclass(frozen=True)
class NavItem:
    """One entry of the main navigation; ``label`` is a translated (lazy) string."""

    label: Any
    endpoint: str
    order: int = 100
    icon: str | None = None


@dataclass
class Widget:
    """A dashboard box: ``template`` is included with ``widget`` and ``data`` (= ``context``)."""

    title: Any
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    order: int = 100


# --------------------------------------------------------------------------- loading


def _wanted(names: Iterable[str], enabled: frozenset[str] | None) -> bool:
    if enabled is None:
        return True
    return any(n in enabled or n in ALWAYS_ENABLED for n in names)


def _import(modname: str, source: str) -> ModuleType:
    try:
        return importlib.import_module(modname)
    except ImportError as exc:
        raise PluginError(
            f"无法加载插件 {modname}（{source}）：{exc} / Cannot import plugin {modname} ({source}): {exc}"
        ) from exc


def build_manager(
    enabled: Iterable[str] | None = None,
    extra: Iterable[str] = (),
    defaults: Iterable[str] = DEFAULT_PLUGINS,
) -> pluggy.PluginManager:
    """A manager with the default, entry-point and extra plugins that ``enabled`` allows."""
    allowed = None if enabled is None else frozenset(enabled)
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    for modname in defaults:
        if _wanted([modname], allowed):
            _register(pm, _import(modname, "DEFAULT_PLUGINS"), modname)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        modname = ep.value.split(":", 1)[0]
        if not _wanted([ep.name, modname], allowed):
            continue
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken third-party package must say which one it is
            raise PluginError(
                f"无法加载插件 {ep.name}（入口点 {ep.value}）：{exc}"
                f" / Cannot load plugin {ep.name} (entry point {ep.value}): {exc}"
            ) from exc
        _register(pm, plugin, ep.name)
    for modname in extra:
        if _wanted([modname], allowed):
            _register(pm, _import(modname, "EXTRA_PLUGINS"), modname)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(
            f"插件 {exc.plugin} 实现了不存在的钩子：{exc} / Plugin {exc.plugin} implements an unknown hook: {exc}"
        ) from exc
    return pm


def _register(pm: pluggy.PluginManager, plugin: object, name: str) -> None:
    if pm.get_plugin(name) is not None or pm.is_registered(plugin):
        raise PluginError(f"插件 {name} 被加载了两次 / Plugin {name} is loaded twice")
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        raise PluginError(
            f"插件 {name} 的钩子有误：{exc} / Plugin {name} has an invalid hook: {exc}"
        ) from exc


def _each(pm: pluggy.PluginManager, hook: str, **kwargs: Any) -> Iterator[tuple[str, Any]]:
    """Call ``hook`` on each plugin separately, yielding ``(plugin_name, result)``."""
    # get_hookimpls() is in registration order, so the first plugin to claim a name owns it.
    for impl in getattr(pm.hook, hook).get_hookimpls():
        result = impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
        if result is not None:
            yield impl.plugin_name, result


# --------------------------------------------------------------------------- the app


def init_app(app: Flask) -> pluggy.PluginManager:
    """Load plugins and apply their blueprints, sheets, permissions and CLI commands to ``app``."""
    pm = build_manager(app.config.get("ENABLED_PLUGINS"), app.config.get("EXTRA_PLUGINS", ()))
    app.extensions[EXT_MANAGER] = pm
    register_blueprints(app, pm)
    sheets, owners = collect_sheets(pm, app.config.get("SCHEMA_DIR"))
    app.extensions[EXT_SHEETS] = sheets
    app.extensions[EXT_SHEET_OWNERS] = owners
    app.extensions[EXT_PERMISSIONS] = collect_permissions(pm)
    register_cli_commands(app, pm)
    return pm


def register_blueprints(app: Flask, pm: pluggy.PluginManager) -> None:
    """Register every plugin blueprint; a blueprint name claimed twice is a :class:`PluginError`."""
    owners: dict[str, str] = {}
    for plugin, blueprints in _each(pm, "register_blueprints", app=app):
        for bp in blueprints:
            if not isinstance(bp, Blueprint):
                raise PluginError(
                    f"插件 {plugin} 的 register_blueprints 返回了非蓝图对象 {bp!r}"
                    f" / Plugin {plugin} returned {bp!r} from register_blueprints, not a Blueprint"
                )
            if bp.name in owners:
                raise PluginError(
                    f"蓝图 {bp.name!r} 被插件 {owners[bp.name]} 和 {plugin} 重复注册，请停用其中一个。"
                    f" / Blueprint {bp.name!r} is claimed by both plugins {owners[bp.name]} and {plugin}."
                )
            owners[bp.name] = plugin
            app.register_blueprint(bp)


def collect_sheets(
    pm: pluggy.PluginManager, schema_dir: str | Path | None = None
) -> tuple[dict[str, SheetSchema], dict[str, str]]:
    """Resolve every ``register_sheets`` claim to a schema; a key or tab title claimed twice fails.

    A claim is a schema key from ``sheets_schema/`` or the path of a plugin's own TOML file.
    Returns ``({key: schema}, {key: plugin_name})``.
    """
    base: SchemaSet | None = None

    def base_set() -> SchemaSet:
        nonlocal base
        if base is None:
            directory = Path(schema_dir) if schema_dir else default_schema_dir()
            base = (
                load_schemas(directory) if any(directory.glob("*.toml")) else SchemaSet(sheets={})
            )
        return base

    sheets: dict[str, SheetSchema] = {}
    owners: dict[str, str] = {}
    titles: dict[str, str] = {}
    for plugin, claims in _each(pm, "register_sheets"):
        for claim in claims:
            try:
                schema = _resolve_sheet(claim, base_set)
            except SchemaError as exc:
                raise PluginError(
                    f"插件 {plugin} 的工作表定义有误：{exc} / Plugin {plugin}: bad sheet: {exc}"
                ) from exc
            if schema is None:
                raise PluginError(
                    f"插件 {plugin} 声明的工作表 {claim!r} 在 sheets_schema/ 中不存在"
                    f" / Plugin {plugin} claims sheet {claim!r}, which has no schema"
                )
            if schema.key in owners:
                raise PluginError(
                    f"工作表 {schema.key!r} 被插件 {owners[schema.key]} 和 {plugin} 重复声明。"
                    f" / Sheet {schema.key!r} is claimed by both plugins {owners[schema.key]} and {plugin}."
                )
            if schema.title in titles:
                other = titles[schema.title]
                raise PluginError(
                    f"工作表标题“{schema.title}”被插件 {owners[other]}（{other}）和 {plugin}（{schema.key}）重复使用。"
                    f" / Tab title {schema.title!r} is used by plugin {owners[other]} ({other}) and {plugin} ({schema.key})."
                )
            sheets[schema.key] = schema
            owners[schema.key] = plugin
            titles[schema.title] = schema.key
    return sheets, owners


def _resolve_sheet(claim: Any, base_set: Callable[[], SchemaSet]) -> SheetSchema | None:
    if isinstance(claim, SheetSchema):
        return claim
    if isinstance(claim, Path) or (isinstance(claim, str) and claim.endswith(".toml")):
        path = Path(claim)
        if not path.is_file():
            raise SchemaError(f"{path}: 文件不存在 / file not found")
        return load_sheet(path, base_set().choice_lists)
    if isinstance(claim, str):
        return base_set().sheets.get(claim)
    raise SchemaError(f"{claim!r}: 应为工作表键或 TOML 路径 / expected a sheet key or a TOML path")


def collect_permissions(pm: pluggy.PluginManager) -> dict[str, Callable[..., bool]]:
    """Merge every plugin's ``{action: rule}``; an action claimed twice is a :class:`PluginError`."""
    merged: dict[str, Callable[..., bool]] = {}
    owners: dict[str, str] = {}
    for plugin, rules in _each(pm, "register_permissions"):
        for action, rule in dict(rules).items():
            if action in merged:
                raise PluginError(
                    f"权限 {action!r} 被插件 {owners[action]} 和 {plugin} 重复定义。"
                    f" / Permission {action!r} is defined by both plugins {owners[action]} and {plugin}."
                )
            if not callable(rule):
                raise PluginError(
                    f"插件 {plugin} 的权限 {action!r} 不是函数 / Plugin {plugin}: rule for {action!r} is not callable"
                )
            merged[action] = rule
            owners[action] = plugin
    return merged


def register_cli_commands(app: Flask, pm: pluggy.PluginManager) -> None:
    """Add every plugin's click commands to ``app.cli``; a command name claimed twice fails."""
    owners: dict[str, str] = {}
    for plugin, commands in _each(pm, "cli_commands"):
        for cmd in commands:
            if not isinstance(cmd, click.Command) or not cmd.name:
                raise PluginError(
                    f"插件 {plugin} 返回了无效的命令 {cmd!r} / Plugin {plugin} returned an invalid command {cmd!r}"
                )
            if cmd.name in owners or cmd.name in app.cli.commands:
                raise PluginError(
                    f"命令 {cmd.name!r} 被插件 {owners.get(cmd.name, 'flask')} 和 {plugin} 重复注册。"
                    f" / Command {cmd.name!r} is claimed by both {owners.get(cmd.name, 'flask')} and {plugin}."
                )
            owners[cmd.name] = plugin
            app.cli.add_command(cmd)


# --------------------------------------------------------------------------- per request


def get_manager(app: Flask | None = None) -> pluggy.PluginManager:
    """The app's plugin manager."""
    target = app if app is not None else current_app
    pm: pluggy.PluginManager = target.extensions[EXT_MANAGER]
    return pm


def _flatten(results: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for result in results:
        if result is None:
            continue
        if isinstance(result, (list, tuple)):
            out.extend(r for r in result if r is not None)
        else:
            out.append(result)
    return out


def nav_items(user: Any, app: Flask | None = None) -> list[NavItem]:
    """Every plugin's navigation entries for ``user``, sorted by ``order`` then label."""
    items = _flatten(get_manager(app).hook.nav_items(user=user))
    return sorted(items, key=lambda i: (i.order, str(i.label)))


def dashboard_widgets(user: Any, app: Flask | None = None) -> list[Widget]:
    """Every plugin's home-page widgets for ``user``, sorted by ``order`` then title."""
    widgets = _flatten(get_manager(app).hook.dashboard_widgets(user=user))
    return sorted(widgets, key=lambda w: (w.order, str(w.title)))


def trainee_sections(trainee: Any, user: Any, app: Flask | None = None) -> list[Widget]:
    """Every plugin's sections of ``trainee``'s profile page for ``user``, sorted by ``order``."""
    widgets = _flatten(get_manager(app).hook.trainee_sections(trainee=trainee, user=user))
    return sorted(widgets, key=lambda w: (w.order, str(w.title)))


def render_widget(widget: Widget, **defaults: Any) -> Markup:
    """``widget``'s own template rendered with its context (over ``defaults``) and ``widget``.

    Templates are autoescaped, so the result is HTML built by Jinja, never raw sheet or form
    input; it is marked safe only to be placed into the page that lists the widgets.
    """
    context = {**defaults, **widget.context, "widget": widget}
    return Markup(render_template(widget.template, **context))  # noqa: S704 - autoescaped output


def fire_record_committed(app: Flask, op: Any) -> None:
    """Tell every plugin that ``op`` is durable. A failing plugin is logged, never re-raised:
    the write has already been acknowledged and must not look failed to the user."""
    pm = app.extensions.get(EXT_MANAGER)
    if pm is None:
        return
    try:
        if has_app_context() and current_app._get_current_object() is app:  # type: ignore[attr-defined]
            pm.hook.record_committed(op=op)
        else:
            with app.app_context():
                pm.hook.record_committed(op=op)
    except Exception:
        log.exception("record_committed hook failed for operation %r", getattr(op, "op_id", op))
