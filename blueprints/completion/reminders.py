"""Reminders for cron: ``flask --app app reminders send [--dry-run]``.

What is reminded (each once: every reminder has a ``key``, and the notification store ignores
a key it has seen, so a daily cron run does not repeat itself):

- deliverables still missing when the cohort ends within ``REMINDER_DELIVERABLE_DAYS`` days
  (the trainee, by email address in the 账号 sheet);
- the absence allowance nearly used (the curriculum plugin's warning levels): the trainee and
  the admins;
- a publicity period (公示) ending within ``REMINDER_PUBLICITY_DAYS`` days: the admins;
- parked conflicts waiting for a person: the admins and the conflict's author.

Notifications go to the in-app centre (``mingxiao.notifications.notify``).

Email (optional): with ``REMINDER_EMAIL = True`` and ``MAIL_SERVER`` set, each reminder is
also mailed (:mod:`mingxiao.mail`) to every address its in-app notification reaches: the
person's own address, or every active account of the role (and 区县) in the 账号 sheet;
addresses that are not an active account get no mail. The message is Chinese, with the link
made absolute from ``BASE_URL`` (else ``SERVER_NAME`` with ``PREFERRED_URL_SCHEME``); with
neither, no mail is sent and the command fails, so cron reports it.

Each (reminder key, address) is mailed once: a small store beside the notifications
(``<instance>/reminder_mail.sqlite3``, or ``REMINDER_MAIL_PATH``) remembers what was sent.
A mail that failed (server down, address refused) is tried again on the next runs while the
reminder is still due, at most ``MAIL_ATTEMPTS`` times in all. Failures are logged without
addresses. Exit status: 1 when mails were due and every one of them failed (or no link base
is configured); 0 otherwise, the counts of sent and failed mails printed either way. The
in-app notifications are written before any mail is tried, so they never depend on SMTP.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from . import rules

log = logging.getLogger(__name__)

CONFIG_DEFAULTS: dict[str, Any] = {
    "REMINDER_DELIVERABLE_DAYS": 60,
    "REMINDER_PUBLICITY_DAYS": 2,
    "REMINDER_EMAIL": False,  # also email reminders (needs MAIL_SERVER and BASE_URL)
    "REMINDER_MAIL_PATH": None,  # the sent-mail store; None = <instance>/reminder_mail.sqlite3
}
MAIL_STORE_FILE = "reminder_mail.sqlite3"
MAIL_ATTEMPTS = 3  # tries per (reminder, address) across runs before giving up
SITE_NAME = "名校长培养工程管理平台"
ACTIVE = ("在训", "预警")


@dataclass(frozen=True)
class Reminder:
    """One notification to send: an audience (email, or role [+ district]), text and a key."""

    key: str
    kind: str
    title: str
    body: str
    link: str | None = None
    email: str | None = None
    role: str | None = None
    district: str | None = None

    def audience(self) -> str:
        if self.email:
            return self.email
        return f"role:{self.role}" + (f"/{self.district}" if self.district else "")


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else None


def _emails_of_trainees(db: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for u in db.table("users").all():
        tid = str(u.get("trainee") or "")
        if tid and u.get("email") and u.get("active") is not False:
            out.setdefault(tid, []).append(str(u["email"]))
    return out


def deliverable_reminders(db: Any, today: dt.date, days: int) -> list[Reminder]:
    """Trainees of a cohort ending within ``days`` whose deliverables are not all met."""
    try:
        deliverables = importlib.import_module("blueprints.deliverables.rules")
        reqs = deliverables.load_requirements(kinds=db.choices("deliverable_kinds"))
    except (ImportError, AttributeError) as exc:
        log.info("no deliverable reminders: %s", exc)
        return []
    emails = _emails_of_trainees(db)
    out = []
    for cohort in db.table("cohorts").all():
        end = _as_date(cohort.get("end_date"))
        if end is None or not today <= end <= today + dt.timedelta(days=days):
            continue
        for t in db.table("trainees").where(cohort=cohort.id):
            if str(t.get("status") or "") not in ACTIVE or not emails.get(t.id):
                continue
            lines = deliverables.deliverable_requirements(
                reqs, db.table("deliverables").where(trainee=t.id)
            )
            missing = [str(line.label) for line in lines if not line.met]
            if not missing:
                continue
            for email in emails[t.id]:
                out.append(
                    Reminder(
                        key=f"deliverables-{t.id}-{end.isoformat()}-{email}",
                        kind="deliverables",
                        title=f"结业作业提醒：{cohort.get('name') or cohort.id}将于 {end.isoformat()} 结业",
                        body="尚未达到要求的结业作业："
                        + "、".join(missing)
                        + "。请尽快提交并请导师审阅。",
                        link="/deliverables/",
                        email=email,
                    )
                )
    return out


def absence_reminders(db: Any, today: dt.date) -> list[Reminder]:
    """Trainees whose absence reached a warning level (or the limit) of the allowance."""
    try:
        curriculum = importlib.import_module("blueprints.curriculum.data")
    except ImportError as exc:
        log.info("no absence reminders: %s", exc)
        return []
    emails = _emails_of_trainees(db)
    out = []
    for t in db.table("trainees").all():
        if str(t.get("status") or "") not in ACTIVE:
            continue
        absence = curriculum.trainee_hours(t).absence
        if not (absence.at_risk or absence.candidate):
            continue
        level = str(absence.level)
        body = (
            f"{t.get('name') or t.id} 累计缺勤 {rules.hours_text(absence.counted)} 学时，"
            f"允许缺勤 {rules.hours_text(absence.allowance)} 学时（总学时的五分之一），"
            f"剩余 {rules.hours_text(absence.remaining)} 学时。"
        )
        targets: list[tuple[str | None, str | None]] = [(None, "admin")]
        targets += [(e, None) for e in emails.get(t.id, [])]
        for email, role in targets:
            out.append(
                Reminder(
                    key=f"absence-{t.id}-{level}-{email or role}",
                    kind="absence",
                    title="缺勤提醒：允许缺勤学时即将用完"
                    if not absence.candidate
                    else "缺勤已超过总学时的五分之一",
                    body=body,
                    link="/curriculum/hours/mine" if email else f"/trainees/{t.id}",
                    email=email,
                    role=role,
                )
            )
    return out


def publicity_reminders(db: Any, today: dt.date, days: int) -> list[Reminder]:
    """公示 periods ending within ``days`` days (nominations 公示中 with an end date)."""
    ending: dict[tuple[str, dt.date], int] = {}
    for n in db.table("nominations").where(status="公示中"):
        end = _as_date(n.get("publicity_end"))
        if end is not None and today <= end <= today + dt.timedelta(days=days):
            key = (str(n.get("cohort") or ""), end)
            ending[key] = ending.get(key, 0) + 1
    names = {c.id: str(c.get("name") or c.id) for c in db.table("cohorts").all()}
    return [
        Reminder(
            key=f"publicity-{cohort}-{end.isoformat()}",
            kind="publicity",
            title=f"公示即将结束：{names.get(cohort, cohort)}（{end.isoformat()}）",
            body=f"{count} 名人选的公示期将于 {end.isoformat()} 结束。请处理异议并确定录取名单。",
            link="/nominations/publicity/",
            role="admin",
        )
        for (cohort, end), count in sorted(ending.items())
    ]


def conflict_reminders(conflicts: Iterable[Any]) -> list[Reminder]:
    """Each parked conflict: the admins and its author."""
    out = []
    for op in conflicts:
        title = f"有待处理的修改冲突：{op.sheet} {op.record_id}"
        body = "有人在同一时间改了同一项内容，这次修改已暂存，尚未生效。请打开冲突页面选择保留哪一方的值。"
        link = f"/admin/conflicts/{op.seq}"
        out.append(
            Reminder(f"conflict-{op.seq}-admin", "conflict", title, body, link, role="admin")
        )
        if op.user and "@" in str(op.user):
            out.append(
                Reminder(
                    f"conflict-{op.seq}-author", "conflict", title, body, link, email=str(op.user)
                )
            )
    return out


def collect(db: Any, config: Mapping[str, Any], today: dt.date) -> list[Reminder]:
    """Every reminder due ``today``."""
    days = int(
        config.get("REMINDER_DELIVERABLE_DAYS", CONFIG_DEFAULTS["REMINDER_DELIVERABLE_DAYS"])
    )
    pub = int(config.get("REMINDER_PUBLICITY_DAYS", CONFIG_DEFAULTS["REMINDER_PUBLICITY_DAYS"]))
    return (
        deliverable_reminders(db, today, days)
        + absence_reminders(db, today)
        + publicity_reminders(db, today, pub)
        + conflict_reminders(db.conflicts())
    )


def send(app: Any, reminders: list[Reminder]) -> int:
    """Store the reminders as in-app notifications; returns how many were new."""
    notifications = importlib.import_module("mingxiao.notifications")
    sent = 0
    for r in reminders:
        nid = notifications.notify(
            app,
            title=r.title,
            body=r.body,
            link=r.link,
            email=r.email,
            role=r.role,
            district=r.district,
            kind=f"reminder:{r.kind}",
            key=f"reminder:{r.key}",
        )
        sent += nid is not None
    return sent


# --------------------------------------------------------------------------- email


def mail_wanted(config: Mapping[str, Any]) -> bool:
    """``REMINDER_EMAIL`` is on (a bool, or "1"/"true"/"yes"/"on" from the environment)."""
    value = config.get("REMINDER_EMAIL", False)
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on", "y"}
    return bool(value)


def site_base(config: Mapping[str, Any]) -> str | None:
    """scheme://host of the links in mails: ``BASE_URL``, else ``SERVER_NAME``; None without."""
    base = str(config.get("BASE_URL") or "").strip()
    if base:
        return base.rstrip("/")
    server = str(config.get("SERVER_NAME") or "").strip()
    if server:
        scheme = str(config.get("PREFERRED_URL_SCHEME") or "http")
        return f"{scheme}://{server}".rstrip("/")
    return None


def recipients(db: Any, reminder: Reminder) -> list[str]:
    """The addresses the reminder's in-app notification reaches, as active accounts of the
    账号 sheet: the one person, or every account of the role (and district)."""
    from mingxiao.auth import account_active, normalize_email

    live = [u for u in db.table("users").all() if account_active(u)]
    if reminder.email:
        wanted = normalize_email(reminder.email)
        found = [normalize_email(str(u.get("email") or "")) for u in live]
        return [wanted] if wanted in found else []
    out = []
    for u in live:
        if str(u.get("role") or "") != reminder.role:
            continue
        if reminder.district and str(u.get("district") or "") != reminder.district:
            continue
        address = normalize_email(str(u.get("email") or ""))
        if address and address not in out:
            out.append(address)
    return sorted(out)


def mail_text(reminder: Reminder, base: str) -> tuple[str, str]:
    """(subject, body) of a reminder mail, in Chinese, with the absolute link."""
    link = base + (reminder.link or "/notifications/")
    subject = f"【{SITE_NAME}】{reminder.title}"
    body = (
        "您好：\n\n"
        f"{reminder.title}\n\n"
        f"{reminder.body}\n\n"
        f"请登录{SITE_NAME}查看和处理：\n{link}\n\n"
        "这是平台自动发送的提醒邮件，同一提醒只发送一次，请勿直接回复。"
        "站内“通知”中也有这条提醒。\n"
    )
    return subject, body


def mail_store_path(app: Any) -> Path:
    configured = app.config.get("REMINDER_MAIL_PATH")
    return Path(configured) if configured else Path(app.instance_path) / MAIL_STORE_FILE


@contextmanager
def _mail_store(path: Path, *, create: bool) -> Iterator[sqlite3.Connection | None]:
    if not path.exists():
        if not create:
            yield None
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    con = sqlite3.connect(path, timeout=10, isolation_level=None)
    try:
        if create:
            con.execute(
                "CREATE TABLE IF NOT EXISTS mails (key TEXT NOT NULL, address TEXT NOT NULL,"
                " sent INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,"
                " updated_at TEXT NOT NULL, PRIMARY KEY (key, address))"
            )
        yield con
    finally:
        con.close()


def _mail_state(path: Path) -> dict[tuple[str, str], tuple[bool, int]]:
    """(key, address) → (sent, attempts) of every mail tried so far (read-only)."""
    with _mail_store(path, create=False) as con:
        if con is None:
            return {}
        try:
            rows = con.execute("SELECT key, address, sent, attempts FROM mails").fetchall()
        except sqlite3.OperationalError:  # created but no table yet
            return {}
    return {(k, a): (bool(sent), int(n)) for k, a, sent, n in rows}


@dataclass
class MailPlan:
    """The mails of one run: what to send, and what is skipped (sent before, given up)."""

    todo: list[tuple[Reminder, str]] = field(default_factory=list)
    already: int = 0
    given_up: int = 0


def plan_mails(db: Any, reminders: list[Reminder], path: Path) -> MailPlan:
    state = _mail_state(path)
    plan = MailPlan()
    for r in reminders:
        for address in recipients(db, r):
            sent, attempts = state.get((r.key, address), (False, 0))
            if sent:
                plan.already += 1
            elif attempts >= MAIL_ATTEMPTS:
                plan.given_up += 1
            else:
                plan.todo.append((r, address))
    return plan


@dataclass
class MailReport:
    sent: int = 0
    failed: int = 0
    already: int = 0
    given_up: int = 0


def send_mails(app: Any, db: Any, reminders: list[Reminder], base: str) -> MailReport:
    """Mail every due (reminder, address) not mailed before; record the outcome of each."""
    from filelock import FileLock

    from mingxiao import mail

    path = mail_store_path(app)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=600):  # two cron runs never mail twice
        plan = plan_mails(db, reminders, path)
        messages = []
        for r, address in plan.todo:
            subject, body = mail_text(r, base)
            messages.append(mail.message(app.config, address, subject, body))
        results = mail.send_many(app.config, messages, what="reminder mail")
        now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        with _mail_store(path, create=True) as con:
            assert con is not None
            con.executemany(
                "INSERT INTO mails (key, address, sent, attempts, updated_at)"
                " VALUES (?, ?, ?, 1, ?) ON CONFLICT (key, address) DO UPDATE SET"
                " sent = excluded.sent, attempts = attempts + 1, updated_at = excluded.updated_at",
                [
                    (r.key, address, int(ok), now)
                    for (r, address), ok in zip(plan.todo, results, strict=True)
                ],
            )
    return MailReport(
        sent=sum(results),
        failed=len(results) - sum(results),
        already=plan.already,
        given_up=plan.given_up,
    )


@click.group("reminders", help="提醒：结业作业、缺勤、公示、冲突 / reminders for cron")
def reminders_group() -> None:
    """The reminders commands."""


@reminders_group.command("send")
@click.option("--dry-run", is_flag=True, help="只列出将要发送的提醒，不发送 / list, do not send")
@with_appcontext
def send_command(dry_run: bool) -> None:
    """Send today's reminders to the in-app notification centre (each at most once), and by
    email when REMINDER_EMAIL and MAIL_SERVER are set. Exit status 1 when every mail failed."""
    from mingxiao.database import get_db

    db = get_db()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    emailing = mail_wanted(app.config) and bool(app.config.get("MAIL_SERVER"))
    base = site_base(app.config)
    with app.test_request_context():  # the curriculum helpers read the database of the app
        due = collect(db, app.config, db.today())
        if dry_run:
            for r in due:
                click.echo(f"[{r.kind}] {r.audience()}: {r.title}")
            if emailing:
                if base is None:
                    click.echo(
                        "注意：没有配置 BASE_URL（或 SERVER_NAME），实际发送时不会发出邮件。"
                    )
                plan = plan_mails(db, due, mail_store_path(app))
                for r, address in plan.todo:
                    click.echo(f"[邮件/mail] {address}: {mail_text(r, base or '')[0]}")
                click.echo(
                    f"将发送 {len(plan.todo)} 封邮件（已发送过 {plan.already} 封）"
                    f" / {len(plan.todo)} mails would be sent ({plan.already} sent before)"
                )
            click.echo(
                f"共 {len(due)} 条提醒（未发送） / {len(due)} reminders (dry run, nothing sent)"
            )
            return
        sent = send(app, due)
        click.echo(f"已发送 {sent} 条新提醒，共 {len(due)} 条到期 / {sent} new of {len(due)} due")
        if mail_wanted(app.config) and not emailing:
            click.echo("REMINDER_EMAIL 已开启，但没有配置 MAIL_SERVER，未发送邮件。")
        if not emailing:
            return
        if base is None:
            click.echo(
                "未发送提醒邮件：请配置 BASE_URL（或 SERVER_NAME），邮件中的链接需要网站地址。"
                " / No reminder mail sent: set BASE_URL (or SERVER_NAME) for the links.",
                err=True,
            )
            raise SystemExit(1)
        report = send_mails(app, db, due, base)
    click.echo(
        f"邮件：发送 {report.sent} 封，失败 {report.failed} 封，此前已发送 {report.already} 封"
        f" / mail: {report.sent} sent, {report.failed} failed, {report.already} sent before"
    )
    if report.given_up:
        click.echo(f"另有 {report.given_up} 封邮件已失败 {MAIL_ATTEMPTS} 次，不再重试。")
    if report.failed and not report.sent:
        raise SystemExit(1)
