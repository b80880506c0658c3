"""Reminders for cron: ``flask --app app reminders send [--dry-run]``.

What is reminded (each once: every reminder has a ``key``, and the notification store ignores
a key it has seen, so a daily cron run does not repeat itself):

- deliverables still missing when the cohort ends within ``REMINDER_DELIVERABLE_DAYS`` days
  (the trainee, by email address in the 账号 sheet);
- the absence allowance nearly used (the curriculum plugin's warning levels): the trainee and
  the admins;
- a publicity period (公示) ending within ``REMINDER_PUBLICITY_DAYS`` days: the admins;
- parked conflicts waiting for a person: the admins and the conflict's author.

Notifications go to the in-app centre (``mingxiao.notifications.notify``). Email is not sent
here (no SMTP settings exist in the site yet).
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from . import rules

log = logging.getLogger(__name__)

CONFIG_DEFAULTS: dict[str, Any] = {
    "REMINDER_DELIVERABLE_DAYS": 60,
    "REMINDER_PUBLICITY_DAYS": 2,
}
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

    def audience(self) -> str:
        return self.email or f"role:{self.role}"


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
            f"{t.get('name') or t.id} 累计缺勤 {rules.dec(absence.counted)} 学时，"
            f"允许缺勤 {rules.dec(absence.allowance)} 学时（总学时的五分之一），剩余 {rules.dec(absence.remaining)} 学时。"
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
            kind=f"reminder:{r.kind}",
            key=f"reminder:{r.key}",
        )
        sent += nid is not None
    return sent


@click.group("reminders", help="提醒：结业作业、缺勤、公示、冲突 / reminders for cron")
def reminders_group() -> None:
    """The reminders commands."""


@reminders_group.command("send")
@click.option("--dry-run", is_flag=True, help="只列出将要发送的提醒，不发送 / list, do not send")
@with_appcontext
def send_command(dry_run: bool) -> None:
    """Send today's reminders to the in-app notification centre (each at most once)."""
    from mingxiao.database import get_db

    db = get_db()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with app.test_request_context():  # the curriculum helpers read the database of the app
        due = collect(db, app.config, db.today())
        if dry_run:
            for r in due:
                click.echo(f"[{r.kind}] {r.audience()}: {r.title}")
            click.echo(
                f"共 {len(due)} 条提醒（未发送） / {len(due)} reminders (dry run, nothing sent)"
            )
            return
        sent = send(app, due)
    click.echo(f"已发送 {sent} 条新提醒，共 {len(due)} 条到期 / {sent} new of {len(due)} due")
