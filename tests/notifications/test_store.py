"""The notification store (mingxiao/notifications.py): addressing, read state, safety."""

from __future__ import annotations

import multiprocessing
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest

from mingxiao import notifications


@dataclass
class Person:
    email: str
    role: str
    district: str | None = None
    is_authenticated: bool = True


SHANGCHENG = Person("d1@x.cn", "district", "上城区")
XIHU = Person("d2@x.cn", "district", "西湖区")
ADMIN = Person("a@x.cn", "admin")
MENTOR = Person("m@x.cn", "mentor")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "notifications.sqlite3"


def titles(store: Path, person: Person) -> list[str]:
    return [n.title for n in notifications.for_user(store, person)]


def test_a_district_notice_reaches_only_that_districts_staff(store):
    notifications.notify(store, role="district", district="上城区", title="上城区的事")
    assert titles(store, SHANGCHENG) == ["上城区的事"]
    assert titles(store, XIHU) == []
    assert titles(store, ADMIN) == []


def test_a_personal_notice_reaches_only_that_person(store):
    notifications.notify(store, email="M@x.cn", title="给导师")
    assert titles(store, MENTOR) == ["给导师"]
    assert titles(store, Person("m2@x.cn", "mentor")) == []


def test_a_role_notice_without_district_reaches_everyone_of_the_role(store):
    notifications.notify(store, role="district", title="全体区县")
    assert titles(store, SHANGCHENG) == titles(store, XIHU) == ["全体区县"]
    assert titles(store, MENTOR) == []


def test_read_state_is_per_reader(store):
    nid = notifications.notify(store, role="district", title="全体区县")
    assert notifications.mark_read(store, SHANGCHENG, nid)
    assert notifications.unread_count(store, SHANGCHENG) == 0
    assert notifications.unread_count(store, XIHU) == 1


def test_nobody_marks_someone_elses_notification(store):
    nid = notifications.notify(store, email="m@x.cn", title="私人")
    assert not notifications.mark_read(store, SHANGCHENG, nid)
    assert notifications.get_for_user(store, SHANGCHENG, nid) is None
    assert notifications.unread_count(store, MENTOR) == 1


def test_anonymous_visitors_see_nothing(store):
    notifications.notify(store, role="district", title="x")
    assert notifications.for_user(store, Person("", "district", is_authenticated=False)) == []


def test_mark_all_read_marks_only_the_readers_own(store):
    notifications.notify(store, role="district", district="上城区", title="1")
    notifications.notify(store, role="district", district="上城区", title="2")
    notifications.notify(store, role="district", district="西湖区", title="3")
    assert notifications.mark_all_read(store, SHANGCHENG) == 2
    assert notifications.unread_count(store, XIHU) == 1


def test_a_key_makes_a_notice_idempotent(store):
    first = notifications.notify(store, email="m@x.cn", title="提醒", key="due-D1")
    again = notifications.notify(store, email="m@x.cn", title="提醒", key="due-D1")
    assert first is not None and again is None
    assert titles(store, MENTOR) == ["提醒"]


@pytest.mark.parametrize(
    "link", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"]
)
def test_links_must_stay_on_this_site(store, link):
    with pytest.raises(ValueError):
        notifications.notify(store, email="m@x.cn", title="x", link=link)


def test_a_notice_needs_an_audience_and_a_title(store):
    with pytest.raises(ValueError):
        notifications.notify(store, title="没人收")
    with pytest.raises(ValueError):
        notifications.notify(store, email="m@x.cn", title="  ")
    with pytest.raises(ValueError):
        notifications.notify(store, district="上城区", title="只有区县没有角色")


def test_reading_never_creates_the_store(store):
    assert notifications.for_user(store, SHANGCHENG) == []
    assert notifications.unread_count(store, SHANGCHENG) == 0
    assert not store.exists()


def test_the_store_file_is_private_and_in_wal_mode(store):
    notifications.notify(store, email="m@x.cn", title="x")
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o600
    import sqlite3

    con = sqlite3.connect(store)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        con.close()


def _notify_many(path: str, worker: int) -> None:
    for i in range(40):
        notifications.notify(path, role="district", title=f"w{worker}-{i}")


def test_two_processes_write_at_once_without_losing_any(store):
    notifications.notify(store, role="admin", title="create")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_notify_many, args=(str(store), w)) for w in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    assert len(notifications.for_user(store, XIHU, limit=1000)) == 80
