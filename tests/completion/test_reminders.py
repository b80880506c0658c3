"""``flask --app app reminders send [--dry-run]``: what is due goes to the in-app centre once."""

from __future__ import annotations

import datetime as dt

from blueprints.completion import reminders
from mingxiao import notifications
from tests._demo import ROLE_EMAILS, World

pytest_plugins = ["tests._demo"]

ADMIN = ROLE_EMAILS["admin"]


class Admin:
    """The admin account as the notification store sees a reader."""

    role = "admin"
    district = None
    email = ADMIN
    is_authenticated = True


def run(world: World, *args: str):
    return world.app.test_cli_runner().invoke(args=["reminders", "send", *args])


def test_dry_run_lists_the_parked_conflicts_and_sends_nothing(world: World):
    result = run(world, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "[conflict]" in result.output and "未发送" in result.output
    assert notifications.for_user(world.app, Admin()) == []


def test_send_stores_each_reminder_once(world: World):
    first = run(world)
    assert first.exit_code == 0, first.output
    stored = notifications.for_user(world.app, Admin())
    assert any("修改冲突" in n.title for n in stored)
    second = run(world)
    assert "已发送 0 条新提醒" in second.output
    assert len(notifications.for_user(world.app, Admin())) == len(stored)


def test_deliverables_missing_near_the_cohort_end_remind_the_trainee(world: World):
    db = world.db
    users = {r["email"]: r for r in db.table("users").all()}
    t = db.table("trainees").get(str(users[ROLE_EMAILS["trainee"]]["trainee"]))
    today = db.today()
    db.table("trainees").update(t.id, {"status": "在训"}, user=ADMIN)
    db.table("cohorts").update(t["cohort"], {"end_date": today + dt.timedelta(days=10)}, user=ADMIN)
    for d in db.table("deliverables").where(trainee=t.id, kind="论文专著"):
        db.table("deliverables").void(d.id, user=ADMIN, reason="测试")
    with world.app.test_request_context():
        due = reminders.deliverable_reminders(db, today, 60)
    mine = [r for r in due if r.email == ROLE_EMAILS["trainee"]]
    assert len(mine) == 1 and "论文专著" in mine[0].body


def test_no_deliverable_reminder_long_before_the_end(world: World):
    db = world.db
    far = db.today() - dt.timedelta(days=3650)
    with world.app.test_request_context():
        assert reminders.deliverable_reminders(db, far, 60) == []


def test_publicity_ending_soon_reminds_the_admins(world: World):
    db = world.db
    n = db.table("nominations").all()[0]
    today = db.today()
    db.table("nominations").update(
        n.id,
        {
            "status": "公示中",
            "publicity_start": today - dt.timedelta(days=5),
            "publicity_end": today + dt.timedelta(days=1),
        },
        user=ADMIN,
    )
    due = reminders.publicity_reminders(db, today, 2)
    assert any(r.role == "admin" and "公示即将结束" in r.title for r in due)
