"""``flask --app app users …``: add, disable, enable accounts and print reset links.

The account row goes into the users sheet through the engine (the office sees it there); the
password hash goes only into the credential store.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click
from flask import current_app, url_for
from flask.cli import AppGroup

from mingxiao.auth import (
    ROLES,
    USERS_SHEET,
    account_active,
    credentials,
    find_account,
    normalize_email,
    send_reset_email,
)
from mingxiao.database import get_db
from mingxiao.sheetdb.types import EMAIL_RE

from . import rules

users = AppGroup("users", help="管理账号（账号表 + 本地凭据库）。")

CLI_USER = "cli"


def _fail(message: str) -> NoReturn:
    raise click.ClickException(message)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        _fail("没有提供密码：请加 --password-stdin 并从标准输入传入密码。")
    return str(click.prompt("密码", hide_input=True, confirmation_prompt=True))


def _save_row(changes: dict[str, Any], existing: dict[str, Any] | None) -> str:
    """Insert or update the users-sheet row and write it to the workbook now."""
    db = get_db()
    table = db.table(USERS_SHEET)
    if existing is None:
        rec = table.insert(changes, user=CLI_USER)
        rid = rec.id
    else:
        rid = str(existing["id"])
        changed = {k: v for k, v in changes.items() if existing.get(k) != v}
        if changed:
            base = {k: existing.get(k) for k in changed}
            res = table.update(rid, changed, base=base, user=CLI_USER)
            if res.status == "parked":
                _fail(
                    f"账号表第 {rid} 行同时被别人修改，修改已暂存为冲突，请在“同步状态”页面处理。"
                )
    db.sync()
    return rid


@users.command("add")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(ROLES), help="角色")
@click.option("--district", default=None, help="区、县（市）；角色为 district 时必填")
@click.option("--name", default=None, help="姓名")
@click.option("--mentor", "mentor_id", default=None, help="导师编号（角色为 mentor 时）")
@click.option("--trainee", "trainee_id", default=None, help="学员编号（角色为 trainee 时）")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取密码（一行）")
def add_user(
    email: str,
    role: str,
    district: str | None,
    name: str | None,
    mentor_id: str | None,
    trainee_id: str | None,
    password_stdin: bool,
) -> None:
    """Add or update the account EMAIL and set its password."""
    email = normalize_email(email)
    if not EMAIL_RE.match(email):
        _fail(f"“{email}”不是有效的邮箱地址。")
    districts = get_db().choices("districts")
    if role == "district" and not district:
        _fail("角色为 district（区县）时必须用 --district 指定区、县（市）。")
    if district and district not in districts:
        _fail(f"未知的区、县（市）“{district}”。可选：{'、'.join(districts)}")
    password = _read_password(password_stdin)
    problems = rules.password_messages(password, email)
    if problems:
        _fail(" ".join(problems))
    existing = find_account(get_db(), email)
    row: dict[str, Any] = {"email": email, "role": role, "active": True}
    for key, value in (
        ("name", name),
        ("district", district),
        ("mentor", mentor_id),
        ("trainee", trainee_id),
    ):
        if value is not None:
            row[key] = value
    if existing is None and "name" not in row:
        row["name"] = email.split("@")[0]
    rid = _save_row(row, existing)
    store = credentials()
    store.set_password(email, password)
    store.enable(email)
    if existing is not None:
        store.bump_session_version(email)  # a changed role or password ends old sessions
    click.echo(f"{'已更新' if existing else '已添加'}账号 {email}（{role}，账号表编号 {rid}）。")


@users.command("disable")
@click.argument("email")
def disable_user(email: str) -> None:
    """Disable EMAIL: 启用=否 in the sheet, credential disabled, every session revoked."""
    email = normalize_email(email)
    store = credentials()
    existing = find_account(get_db(), email)
    if existing is None and store.get(email) is None:
        _fail(f"没有找到账号 {email}。")
    if existing is not None:
        _save_row({"active": False}, existing)
    store.disable(email)
    click.echo(f"已停用账号 {email}，其所有登录已失效。")


@users.command("enable")
@click.argument("email")
def enable_user(email: str) -> None:
    """Enable EMAIL again (启用=是 in the sheet, credential enabled)."""
    email = normalize_email(email)
    existing = find_account(get_db(), email)
    if existing is None:
        _fail(f"账号表中没有 {email}。")
    _save_row({"active": True}, existing)
    credentials().enable(email)
    click.echo(f"已启用账号 {email}。")


@users.command("reset-link")
@click.argument("email")
def reset_link(email: str) -> None:
    """Print a one-time password reset link for EMAIL (valid 1 hour); email it when SMTP is set."""
    email = normalize_email(email)
    account = find_account(get_db(), email)
    cred = credentials().get(email)
    if account is None or not account_active(account) or (cred is not None and cred.disabled):
        _fail(f"{email} 不是启用中的账号，不能重设密码。")
    token = credentials().create_reset_token(email, ttl=rules.RESET_TTL)
    base = current_app.config.get("BASE_URL") or "http://localhost:5000"
    with current_app.test_request_context("/"):
        url = str(base).rstrip("/") + url_for("auth.reset", token=token)
    click.echo(url)
    if current_app.config.get("MAIL_SERVER"):
        if send_reset_email(current_app.config, email, url):
            click.echo("重设链接已发送到该邮箱。")
        else:
            click.echo("邮件发送失败，请把上面的链接转交给本人。", err=True)
