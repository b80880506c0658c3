"""Reminder email: ``reminders send`` with ``REMINDER_EMAIL`` mails each due reminder to the
addresses its in-app notification reaches, through a real SMTP server on loopback (aiosmtpd),
once per reminder and address; a server that is down fails the run without losing the in-app
notifications, and the failed mails go out on a later run. Also ``mingxiao.mail`` alone."""

from __future__ import annotations

import datetime as dt
import logging
import re

from blueprints.completion import reminders
from mingxiao import mail, notifications
from tests._demo import ROLE_EMAILS, World
from tests.completion._smtp import SMTPServer, free_port, mail_settings, start_server

pytest_plugins = ["tests._demo", "tests.completion._smtp"]

ADMIN = ROLE_EMAILS["admin"]
TRAINEE = ROLE_EMAILS["trainee"]
BASE = "https://mingxiao.example.cn"


class Admin:
    role = "admin"
    district = None
    email = ADMIN
    is_authenticated = True


def configure(world: World, port: int, **extra) -> None:
    world.app.config.update(mail_settings(port), REMINDER_EMAIL=True, **extra)


def run(world: World, *args: str):
    return world.app.test_cli_runner().invoke(args=["reminders", "send", *args])


def due(world: World) -> list[reminders.Reminder]:
    with world.app.test_request_context():
        return reminders.collect(world.db, world.app.config, world.db.today())


def deliverables_due_for_the_trainee(world: World) -> None:
    """The demo trainee's cohort ends in 10 days and their paper is missing."""
    db = world.db
    users = {r["email"]: r for r in db.table("users").all()}
    t = db.table("trainees").get(str(users[TRAINEE]["trainee"]))
    db.table("trainees").update(t.id, {"status": "在训"}, user=ADMIN)
    end = db.today() + dt.timedelta(days=10)
    db.table("cohorts").update(t["cohort"], {"end_date": end}, user=ADMIN)
    for d in db.table("deliverables").where(trainee=t.id, kind="论文专著"):
        db.table("deliverables").void(d.id, user=ADMIN, reason="测试")


def test_each_reminder_is_mailed_to_its_audience_in_chinese_with_an_absolute_link(
    world: World, smtp_server: SMTPServer
):
    configure(world, smtp_server.port)
    deliverables_due_for_the_trainee(world)
    result = run(world)
    assert result.exit_code == 0, result.output
    box = smtp_server.mailbox
    # the trainee: their deliverables reminder, with the page as an absolute link
    [mine] = [m for m in box.to(TRAINEE) if "结业作业提醒" in m.subject]
    assert mine.rcpt_tos == [TRAINEE]
    assert "论文专著" in mine.body and f"{BASE}/deliverables/" in mine.body
    assert mine.mail_from == "mingxiao@example.cn" and mine.subject.startswith("【名校长培养工程")
    # the admins (a role audience → every active admin account): each parked conflict
    conflicts = [r for r in due(world) if r.kind == "conflict" and r.role == "admin"]
    to_admin = [m for m in box.to(ADMIN) if "修改冲突" in m.subject]
    assert conflicts and len(to_admin) == len(conflicts)
    links = sorted(
        re.findall(re.escape(BASE) + r"/admin/conflicts/\d+", "".join(m.body for m in to_admin))
    )
    assert links == sorted(BASE + str(r.link) for r in conflicts)
    # the district account that authored a parked conflict hears about it too
    assert any("修改冲突" in m.subject for m in box.to(ROLE_EMAILS["district"]))
    # nobody else: every envelope is one of the reminders' addresses
    expected = {a for r in due(world) for a in reminders.recipients(world.db, r)}
    assert {a for m in box.messages for a in m.rcpt_tos} == expected
    assert f"发送 {len(box.messages)} 封，失败 0 封" in result.output


def test_a_second_run_mails_nothing_again(world: World, smtp_server: SMTPServer):
    configure(world, smtp_server.port)
    first = run(world)
    count = len(smtp_server.mailbox.messages)
    assert first.exit_code == 0 and count > 0, first.output
    second = run(world)
    assert second.exit_code == 0, second.output
    assert len(smtp_server.mailbox.messages) == count
    assert f"发送 0 封，失败 0 封，此前已发送 {count} 封" in second.output


def test_email_is_off_by_default(world: World, smtp_server: SMTPServer):
    world.app.config.update(mail_settings(smtp_server.port))
    assert run(world).exit_code == 0
    assert smtp_server.mailbox.messages == []
    assert notifications.for_user(world.app, Admin())  # the in-app centre still got them


def test_dry_run_prints_the_mails_and_sends_nothing(world: World, smtp_server: SMTPServer):
    configure(world, smtp_server.port)
    result = run(world, "--dry-run")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("[邮件/mail]")]
    assert lines and any(ADMIN in line and "修改冲突" in line for line in lines)
    assert f"将发送 {len(lines)} 封邮件" in result.output
    assert smtp_server.mailbox.messages == []
    assert notifications.for_user(world.app, Admin()) == []
    assert not reminders.mail_store_path(world.app).exists()


def test_server_down_fails_the_run_keeps_the_notifications_and_retries_later(world: World, caplog):
    port = free_port()  # nothing listens there
    configure(world, port)
    with caplog.at_level(logging.ERROR):
        result = run(world)
    assert result.exit_code == 1, result.output
    assert "发送 0 封" in result.output and "失败 0 封" not in result.output
    assert notifications.for_user(world.app, Admin())  # in-app written regardless
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "reminder mail" in logged and "@" not in logged  # no addresses in the log
    # the server is back: the mails that failed go out now, once
    server = start_server(port)
    try:
        again = run(world)
        assert again.exit_code == 0, again.output
        assert server.mailbox.messages and "失败 0 封" in again.output
        assert len(server.mailbox.to(ADMIN)) == len(
            [r for r in due(world) if r.role == "admin" or r.email == ADMIN]
        )
    finally:
        server.controller.stop()


def test_one_refused_address_fails_alone(world: World, smtp_server: SMTPServer):
    configure(world, smtp_server.port)
    smtp_server.mailbox.refuse.add(ROLE_EMAILS["district"])
    result = run(world)
    assert result.exit_code == 0, result.output  # not every mail failed
    assert re.search(r"失败 [1-9]\d* 封", result.output)
    assert smtp_server.mailbox.to(ADMIN) and not smtp_server.mailbox.to(ROLE_EMAILS["district"])


def test_without_a_site_address_no_mail_is_sent_and_the_run_fails(
    world: World, smtp_server: SMTPServer
):
    configure(world, smtp_server.port, BASE_URL=None, SERVER_NAME=None)
    result = run(world)
    assert result.exit_code == 1 and "BASE_URL" in result.output
    assert smtp_server.mailbox.messages == []
    assert notifications.for_user(world.app, Admin())


def test_server_name_makes_the_link_when_there_is_no_base_url():
    config = {"SERVER_NAME": "mx.example.cn", "PREFERRED_URL_SCHEME": "https"}
    assert reminders.site_base(config) == "https://mx.example.cn"
    assert reminders.site_base({"BASE_URL": "https://a.example.cn/"}) == "https://a.example.cn"
    assert reminders.site_base({}) is None


def test_inactive_accounts_get_no_mail(world: World):
    db = world.db
    admins = [u for u in db.table("users").where(role="admin")]
    r = reminders.Reminder("k", "conflict", "t", "b", "/admin/", role="admin")
    assert reminders.recipients(db, r) == sorted(str(u["email"]) for u in admins)
    db.table("users").update(admins[0].id, {"active": False}, user=ADMIN)
    assert str(admins[0]["email"]) not in reminders.recipients(db, r)
    nobody = reminders.Reminder("k2", "conflict", "t", "b", None, email="stranger@example.cn")
    assert reminders.recipients(db, nobody) == []


# -- mingxiao.mail on its own ------------------------------------------------------------------


def test_send_many_reports_each_message(smtp_server: SMTPServer):
    config = mail_settings(smtp_server.port)
    smtp_server.mailbox.refuse.add("no@example.cn")
    messages = [
        mail.message(config, to, "主题：测试", "正文：中文内容\n")
        for to in ("a@example.cn", "no@example.cn", "b@example.cn")
    ]
    assert mail.send_many(config, messages) == [True, False, True]
    got = smtp_server.mailbox.messages
    assert [m.rcpt_tos for m in got] == [["a@example.cn"], ["b@example.cn"]]
    assert got[0].subject == "主题：测试" and "正文：中文内容" in got[0].body


def test_without_a_server_nothing_is_sent():
    assert mail.send_many({}, [mail.message({}, "a@example.cn", "s", "b")]) == [False]
    assert mail.send_mail({"MAIL_SERVER": None}, "a@example.cn", "s", "b") is False


def test_line_breaks_from_sheet_data_stay_out_of_the_headers():
    msg = mail.message(
        {}, "a@example.cn\r\nBcc: b@example.cn", "提醒：张三\n Bcc: evil@example.cn", "正文"
    )
    assert msg["Subject"] == "提醒：张三 Bcc: evil@example.cn"
    assert msg["Bcc"] is None
    assert "\nBcc" not in msg.as_string()
