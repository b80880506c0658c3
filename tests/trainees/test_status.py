"""Status changes through the page: each one writes the trainee and appends a history row."""

from __future__ import annotations

from tests._demo import ROLE_EMAILS, World
from tests.trainees._helpers import history, post

pytest_plugins = ["tests._demo"]


def test_status_change_appends_history_with_who_when_and_why(world: World):
    tid = world.samples.extra["trainees_district"]
    before = len(history(world, tid))
    response = post(
        world,
        "admin",
        f"/trainees/{tid}/status",
        {"status": "预警", "ground": "累计缺勤超过五分之一", "reason": "累计缺勤 30 学时。"},
    )
    assert response.status_code == 302
    assert world.db.table("trainees").get(tid)["status"] == "预警"
    rows = history(world, tid)
    assert len(rows) == before + 1
    last = rows[-1]
    assert (last["from_status"], last["to_status"]) == ("在训", "预警")
    assert last["changed_by"] == ROLE_EMAILS["admin"]
    assert last["reason"] == "累计缺勤 30 学时。"
    assert last["changed_at"] is not None


def test_status_change_without_reason_changes_nothing(world: World):
    tid = world.samples.extra["trainees_district"]
    before = len(history(world, tid))
    response = post(world, "admin", f"/trainees/{tid}/status", {"status": "预警", "reason": ""})
    assert response.status_code == 200
    assert world.db.table("trainees").get(tid)["status"] == "在训"
    assert len(history(world, tid)) == before


def test_elimination_is_not_offered_as_an_ordinary_status(world: World):
    tid = world.samples.extra["trainees_district"]
    response = post(world, "admin", f"/trainees/{tid}/status", {"status": "淘汰", "reason": "缺勤"})
    assert response.status_code == 200
    assert world.db.table("trainees").get(tid)["status"] == "在训"


def test_district_cannot_change_its_own_trainees_status(world: World):
    tid = world.samples.extra["trainees_district"]
    response = post(world, "district", f"/trainees/{tid}/status", {"status": "预警", "reason": "x"})
    assert response.status_code == 404
    assert world.db.table("trainees").get(tid)["status"] == "在训"
