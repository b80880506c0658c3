"""Command-line interface: ``flask --app app sheets …`` and ``flask --app app demo``.

Thin click wrappers over engine functions (``Database.init``, ``health``, ``sync``, ``backup``).
"""

from __future__ import annotations

import json
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from .database import get_db

DEMO_PASSWORD = "mingxiao-demo-2026"  # noqa: S105 - printed by the demo command; demo instances only


@click.group("sheets", help="工作簿：初始化、检查、同步、备份 / workbook: init, check, sync, backup")
def sheets_group() -> None:
    """The ``sheets`` command group."""


@sheets_group.command("init", help="创建工作表、表头、下拉框；--demo 同时写入演示数据")
@click.option("--demo", is_flag=True, help="写入演示数据 / add demo data")
@click.option("--scale", default=1.0, show_default=True, type=float, help="演示数据规模 / demo scale")
@with_appcontext
def init_command(demo: bool, scale: float) -> None:
    db = get_db()
    counts = db.init(demo=demo, scale=scale)
    total = sum(counts.values())
    click.echo(f"工作簿已就绪：{db.backend.name}，写入 {total} 行 / workbook ready, {total} rows written")
    for key, n in sorted(counts.items()):
        click.echo(f"  {db.schemas[key].title}: {n}")


@sheets_group.command("check", help="检查工作簿健康状况；有问题时退出码为 1")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出 / print JSON")
@with_appcontext
def check_command(as_json: bool) -> None:
    db = get_db()
    problems = db.health()
    if as_json:
        click.echo(json.dumps([p.to_dict() for p in problems], ensure_ascii=False, indent=2))
    elif not problems:
        click.echo("工作簿没有问题 / no problems found")
    else:
        for p in problems:
            where = p.cell or p.sheet
            click.echo(f"[{p.severity}] {where}: {p.message}" + (f" —— {p.fix}" if p.fix else ""))
        click.echo(f"共 {len(problems)} 个问题 / {len(problems)} problems")
    if problems:
        sys.exit(1)


@sheets_group.command("sync", help="立即把待同步的修改写入工作簿")
@with_appcontext
def sync_command() -> None:
    db = get_db()
    result = db.sync()
    assert result is not None
    status = db.status()
    click.echo(
        f"已写入 {result.applied} 项，冲突 {result.parked} 项，保存 {result.saves} 次；"
        f"仍待同步 {status['pending']} 项 / applied {result.applied}, parked {result.parked}, pending {status['pending']}"
    )
    if result.blocked:
        click.echo(f"暂不能写入：{result.blocked}")
        sys.exit(2)
    if result.error:
        click.echo(f"写入失败：{result.error}")
        sys.exit(2)


@sheets_group.command("backup", help="立即备份工作簿到 instance/backups/")
@with_appcontext
def backup_command() -> None:
    path = get_db().backup()
    if path is None:
        click.echo("没有可备份的工作簿 / nothing to back up")
        sys.exit(1)
    click.echo(f"已备份到 {path}")


@click.command("demo", help="准备演示实例：演示数据 + 每个角色一个演示账号，并打印登录信息")
@click.option("--scale", default=1.0, show_default=True, type=float)
@with_appcontext
def demo_command(scale: float) -> None:
    from .auth import ensure_demo_accounts
    from .sheetdb.demo import DEMO_LOGINS

    db = get_db()
    if not db.table("users").all():
        click.echo("正在生成演示数据… / generating demo data…")
        db.init(demo=True, scale=scale)
    ensure_demo_accounts(current_app, DEMO_PASSWORD)
    click.echo("")
    click.echo(f"演示账号 / demo logins（密码 / password: {DEMO_PASSWORD}）")
    for email, role, desc in DEMO_LOGINS:
        click.echo(f"  {role:<9} {email:<42} {desc}")
    click.echo("")
