"""The final assessment: the computed checklist for a complete and an incomplete trainee,
lines that cannot be judged without their plugin, the admin's decision and the batch 结业."""

from __future__ import annotations

import sys

import pytest

from blueprints.completion import assessment
from tests._demo import ROLE_EMAILS, World
from tests.conftest import post_form

pytest_plugins = ["tests._demo"]

ADMIN = ROLE_EMAILS["admin"]
KEYS = {"hours", "research", "presentations", "workshop", "plan"}


def demo_trainee(world: World):
    users = {r["email"]: r for r in world.db.table("users").all()}
    return world.db.table("trainees").get(str(users[ROLE_EMAILS["trainee"]]["trainee"]))


def checklist(world: World, trainee):
    with world.app.test_request_context():
        return assessment.checklist(world.db, trainee)


def test_complete_trainee_meets_every_line(world: World):
    c = checklist(world, demo_trainee(world))
    keys = {line.key for line in c.lines}
    assert KEYS <= keys and len([k for k in keys if k.startswith("deliverable:")]) == 5
    assert c.complete, [(line.key, line.reason) for line in c.lines if line.met is not True]


def test_trainee_without_forum_talks_misses_that_line_with_the_reason(world: World):
    trainee = demo_trainee(world)
    for talk in world.db.table("presentations").where(trainee=trainee.id):
        world.db.table("presentations").void(talk.id, user=ADMIN, reason="测试")
    c = checklist(world, trainee)
    [line] = [line for line in c.lines if line.key == "presentations"]
    assert line.met is False and line.reason[1].get("count") == 0
    assert not c.complete


def test_a_line_whose_plugin_is_missing_says_it_cannot_be_judged(world: World, monkeypatch):
    monkeypatch.setitem(sys.modules, "blueprints.deliverables.rules", None)
    c = checklist(world, demo_trainee(world))
    unknown = {line.key for line in c.lines if line.met is None}
    assert unknown == {"deliverables", "research", "presentations", "plan"}
    assert all("无法判断" in line.reason[0] for line in c.lines if line.met is None)
    assert not c.complete


def test_checklist_page_shows_each_line(world: World):
    trainee = demo_trainee(world)
    html = world.client("admin").get(f"/completion/assessment/{trainee.id}").get_data(as_text=True)
    for label in ("学时与考勤", "名校长工作室", "课题结题报告", "达标"):
        assert label in html


def _in_training(world: World, status: str = "在训"):
    cohorts = sorted(world.db.table("cohorts").all(), key=lambda c: c["number"])
    return next(
        t for t in world.db.table("trainees").where(cohort=cohorts[1].id) if t["status"] == status
    )


def _decide(world: World, trainee_id: str, decision: str):
    url = f"/completion/assessment/{trainee_id}"
    return post_form(
        world.client("admin"),
        url,
        {"trainee": trainee_id, "decision": decision, "note": "对照方案评定"},
    )


def test_admin_records_a_decision(world: World):
    t = _in_training(world)
    assert _decide(world, t.id, "优秀").status_code == 302
    [row] = world.db.table("assessments").where(trainee=t.id)
    assert row["decision"] == "优秀" and row["decided_by"] == ADMIN


@pytest.mark.parametrize(("decision", "status"), [("合格", "结业"), ("不合格", "在训")])
def test_batch_graduation_moves_only_passed_trainees_to_completed(world: World, decision, status):
    t = _in_training(world)
    _decide(world, t.id, decision)
    post_form(
        world.client("admin"),
        "/completion/assessment/graduate",
        {"cohort": t["cohort"]},
        page=f"/completion/assessment?cohort={t['cohort']}",
    )
    assert world.db.table("trainees").get(t.id)["status"] == status
    history = [
        h
        for h in world.db.table("trainee_status_history").where(trainee=t.id)
        if h["to_status"] == "结业"
    ]
    assert bool(history) == (status == "结业")


def _graduate_button(world: World, cohort_id: str) -> str:
    html = world.client("admin").get(f"/completion/assessment?cohort={cohort_id}")
    form = html.get_data(as_text=True).split('action="/completion/assessment/graduate"', 1)[1]
    return form.split("</form>", 1)[0]


def test_batch_graduation_with_nobody_ready_is_disabled_and_refused(world: World):
    t = _in_training(world)
    cohort = t["cohort"]
    for a in world.db.table("assessments").all():  # nobody of this cohort has passed
        if world.db.table("trainees").get(str(a["trainee"]))["cohort"] == cohort:
            world.db.table("assessments").void(a.id, user=ADMIN, reason="测试")
    form = _graduate_button(world, cohort)
    assert "（0 人）" in form and "disabled" in form and "暂时无需批量结业" in form
    before = {x.id: x["status"] for x in world.db.table("trainees").where(cohort=cohort)}
    response = post_form(
        world.client("admin"),
        "/completion/assessment/graduate",
        {"cohort": cohort},
        page=f"/completion/assessment?cohort={cohort}",
        follow_redirects=True,
    )
    assert "没有需要改为“结业”的学员" in response.get_data(as_text=True)
    assert {x.id: x["status"] for x in world.db.table("trainees").where(cohort=cohort)} == before

    _decide(world, t.id, "合格")  # one passes: the button counts them and can be pressed
    form = _graduate_button(world, cohort)
    assert "（1 人）" in form and "disabled" not in form


def test_the_hours_line_shows_whole_hours_without_point_zero(world: World):
    """Regression: the checklist read “已完成 253.0 / 270 学时；累计缺勤 17.0 学时”."""
    import re

    trainee = demo_trainee(world)
    [line] = [x for x in checklist(world, trainee).lines if x.key == "hours"]
    params = line.reason[1]
    assert params["done"] and not any(str(v).endswith(".0") for v in params.values()), params
    html = world.client("admin").get(f"/completion/assessment/{trainee.id}")
    text = re.sub(r"<[^>]+>", " ", html.get_data(as_text=True))
    assert f"已完成 {params['done']} / {params['required']} 学时" in text
    assert not re.search(r"\d\.0 ", text), re.findall(r".{20}\d\.0 .{10}", text)
