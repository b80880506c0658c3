"""Command-line interface: ``flask --app app sheets …`` and ``flask --app app demo``.

Thin click wrappers over engine functions (``Database.init``, ``health``, ``sync``, ``backup``).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

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


@sheets_group.command("writer", help="作为专职写入进程运行（由 gunicorn 配置自动启动），直到收到 SIGTERM")
@with_appcontext
def writer_command() -> None:
    """Apply and save every worker's journaled changes in this one process (see
    ``Database.run_writer``); exits 3 when another writer already serves this instance."""
    import signal
    import threading

    db = get_db()
    stop = threading.Event()
    try:  # page views first: the journal keeps every save safe while the writer waits its turn
        os.nice(int(current_app.config.get("WRITER_NICE", 5)))
    except (OSError, ValueError):
        pass
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"专职写入进程已启动：{db.backend.name} / dedicated writer started (pid {os.getpid()})")
    if not db.run_writer(stop):
        click.echo("另一个专职写入进程正在运行 / another writer is already running")
        sys.exit(3)
    db.close()
    click.echo("专职写入进程已停止 / dedicated writer stopped")


@sheets_group.command("backup", help="立即备份工作簿到 instance/backups/")
@with_appcontext
def backup_command() -> None:
    path = get_db().backup()
    if path is None:
        click.echo("没有可备份的工作簿 / nothing to back up")
        sys.exit(1)
    click.echo(f"已备份到 {path}")


@sheets_group.command("migrate", help="把整个工作簿复制到 Google 表格或 xlsx（带进度和行数核对）")
@click.option("--to", "target", type=click.Choice(["gsheets", "xlsx"]), required=True,
              help="目标：gsheets（MINGXIAO_GSHEETS_KEY 指定的表格）或 xlsx 文件 / copy to")
@click.option("--workbook", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="--to xlsx 时的目标文件，默认为配置的工作簿 / target xlsx file")
@click.option("--force", is_flag=True, help="目标已有数据时覆盖（xlsx 目标会先备份）/ overwrite existing data")
@with_appcontext
def migrate_command(target: str, workbook: Path | None, force: bool) -> None:
    from .database import gsheets_backend
    from .sheetdb.migrate import count_rows, to_google, to_xlsx

    app = current_app
    kind = app.config.get("BACKEND", "xlsx")
    db = get_db()
    if db.journal.count("pending"):
        db.sync()  # what the web acknowledged goes along
    if target == "gsheets":
        if kind == "gsheets":
            click.echo("当前后端已经是 Google 表格 / already on Google Sheets")
            sys.exit(2)
        source: Any = db.backend
        dest_backend: Any = gsheets_backend(app)
        _v, existing = dest_backend.read_all()
        if any(n for n in count_rows(existing).values()) and not force:
            click.echo("目标 Google 表格中已有数据；确认覆盖请加 --force / the spreadsheet has data: use --force")
            sys.exit(2)
        _v, tabs = source.read_all()
        total = sum(len(t.rows) for t in tabs.values())
        with click.progressbar(length=total, label="复制到 Google 表格 / copying") as bar:
            src_counts, dst_counts = to_google(source, dest_backend, progress=bar.update)
        dest_backend.ensure_layout(db.schemas, dict(db.schemas.choice_lists))
    else:
        source = db.backend if kind == "gsheets" else gsheets_backend(app)
        dest = Path(workbook or app.config.get("WORKBOOK") or Path(app.instance_path) / "mingxiao.xlsx")
        if dest.exists():
            if not force:
                click.echo(f"{dest} 已存在；确认覆盖请加 --force（会先备份）/ {dest} exists: use --force")
                sys.exit(2)
            backup = dest.with_name(f"{dest.stem}.before-migrate.xlsx")
            shutil.copy2(dest, backup)
            click.echo(f"已备份原文件到 {backup}")
        _v, tabs = source.read_all()
        total = sum(len(t.rows) for t in tabs.values())
        with click.progressbar(length=total, label="复制到 xlsx / copying") as bar:
            src_counts, dst_counts = to_xlsx(source, dest, db.schemas, progress=bar.update)
    ok = True
    for title, n in src_counts.items():
        m = dst_counts.get(title, 0)
        ok &= n == m
        click.echo(f"  {title}: {n} → {m}{'' if n == m else '  ✗'}")
    total_src, total_dst = sum(src_counts.values()), sum(dst_counts.values())
    if not ok:
        click.echo(f"核对失败：源 {total_src} 行，目标 {total_dst} 行 / verification FAILED")
        sys.exit(1)
    click.echo(f"核对通过：{len(src_counts)} 个工作表，共 {total_src} 行 / verified: {total_src} rows in {len(src_counts)} tabs")
    if target == "gsheets":
        click.echo("下一步：设置 MINGXIAO_BACKEND=gsheets 并重启 / next: set MINGXIAO_BACKEND=gsheets and restart")
    else:
        click.echo("下一步：设置 MINGXIAO_BACKEND=xlsx 并重启 / next: set MINGXIAO_BACKEND=xlsx and restart")


@click.command("demo", help="准备演示实例：演示数据 + 每个角色一个演示账号，并打印登录信息")
@click.option("--scale", default=1.0, show_default=True, type=float)
@with_appcontext
def demo_command(scale: float) -> None:
    from .auth import ensure_demo_accounts
    from .sheetdb.demo import DEMO_LOGINS, write_deliverable_files

    db = get_db()
    if not db.table("users").all():
        click.echo("正在生成演示数据… / generating demo data…")
        db.init(demo=True, scale=scale)
        write_deliverable_files(db, current_app.config["UPLOAD_FOLDER"])  # downloadable files
    ensure_demo_accounts(current_app, DEMO_PASSWORD)
    click.echo("")
    click.echo(f"演示账号 / demo logins（密码 / password: {DEMO_PASSWORD}）")
    for email, role, desc in DEMO_LOGINS:
        click.echo(f"  {role:<9} {email:<42} {desc}")
    click.echo("")
