"""The elimination workflow end to end: propose → decide → district told in-app → reverse.

Nothing is deleted on the way: the cases and the history rows only grow.
"""

from __future__ import annotations

import io
import re

from tests._demo import ROLE_EMAILS, World
from tests.trainees._helpers import history, post

pytest_plugins = ["tests._demo"]

GROUND = "未经同意不参加培训"


def _cases(world: World, tid: str) -> list:
    return sorted(world.db.table("elimination_cases").where(trainee=tid), key=lambda c: c.id)


def _propose(world: World, tid: str, **extra) -> object:
    client = world.client("admin")
    data = {
        "ground": GROUND,
        "evidence": "2026 年 10 月两次未经请假缺席集中研修。",
        "csrf_token": world.token(client),
        **extra,
    }
    return client.post(f"/trainees/{tid}/eliminate", data=data, content_type="multipart/form-data")


def test_full_elimination_flow_tells_the_district_and_can_be_reversed(world: World):
    tid = world.samples.extra["trainees_district"]
    pending = world.samples.extra["trainees_case_pending"]
    # the prepared proposal is dropped first (a note is required), the status stays
    post(
        world,
        "admin",
        f"/trainees/eliminations/{pending}/decide",
        {"decision": "drop", "note": "已补假条"},
    )
    assert world.db.table("elimination_cases").get(pending)["status"] == "不予淘汰"
    assert world.db.table("trainees").get(tid)["status"] == "在训"

    # propose, with an evidence file
    response = _propose(world, tid, evidence_file=(io.BytesIO("签到表\n".encode()), "签到表.txt"))
    assert response.status_code == 302
    case = _cases(world, tid)[-1]
    assert (case["status"], case["ground"], case["proposed_by"]) == (
        "待审定",
        GROUND,
        ROLE_EMAILS["admin"],
    )
    assert case["evidence_file"]
    assert world.db.table("trainees").get(tid)["status"] == "在训"  # not before the decision
    history_before = len(history(world, tid))

    # decide: confirmed → 淘汰, one history row, the district is told
    response = post(
        world, "admin", f"/trainees/eliminations/{case.id}/decide", {"decision": "confirm"}
    )
    assert response.status_code == 302
    trainee = world.db.table("trainees").get(tid)
    assert trainee["status"] == "淘汰"
    rows = history(world, tid)
    assert len(rows) == history_before + 1
    assert (rows[-1]["from_status"], rows[-1]["to_status"], rows[-1]["ground"]) == (
        "在训",
        "淘汰",
        GROUND,
    )
    assert world.db.table("elimination_cases").get(case.id)["previous_status"] == "在训"
    page = world.client("district").get("/notifications/").get_data(as_text=True)
    assert "学员 测试学员 已被淘汰" in page

    # reverse with a reason: back to 在训, another history row, the district told again
    response = post(
        world, "admin", f"/trainees/eliminations/{case.id}/reverse", {"reason": "考勤登记有误"}
    )
    assert response.status_code == 302
    assert world.db.table("trainees").get(tid)["status"] == "在训"
    assert world.db.table("elimination_cases").get(case.id)["status"] == "已撤销"
    rows = history(world, tid)
    assert (rows[-1]["from_status"], rows[-1]["to_status"]) == ("淘汰", "在训")
    assert "考勤登记有误" in rows[-1]["reason"]
    page = world.client("district").get("/notifications/").get_data(as_text=True)
    assert "淘汰决定已撤销" in page

    # nothing deleted: both cases are still there, and every history row
    assert [c.id for c in _cases(world, tid)] == sorted([pending, case.id])
    assert len(history(world, tid)) == history_before + 2


def test_the_other_district_is_not_told(world: World):
    pending = world.samples.extra["trainees_case_pending"]
    post(world, "admin", f"/trainees/eliminations/{pending}/decide", {"decision": "confirm"})
    for role in ("district2", "admin", "mentor"):
        page = world.client(role).get("/notifications/").get_data(as_text=True)
        assert "已被淘汰" not in page, role


def test_a_decided_case_cannot_be_decided_again(world: World):
    pending = world.samples.extra["trainees_case_pending"]
    tid = world.samples.extra["trainees_district"]
    post(world, "admin", f"/trainees/eliminations/{pending}/decide", {"decision": "confirm"})
    count = len(history(world, tid))
    post(
        world,
        "admin",
        f"/trainees/eliminations/{pending}/decide",
        {"decision": "drop", "note": "x"},
    )
    assert world.db.table("elimination_cases").get(pending)["status"] == "已淘汰"
    assert len(history(world, tid)) == count


def test_a_second_proposal_while_one_is_pending_is_refused(world: World):
    tid = world.samples.extra["trainees_district"]
    before = len(_cases(world, tid))
    response = _propose(world, tid)
    assert response.status_code == 200
    assert "待审定的淘汰" in response.get_data(as_text=True)
    assert len(_cases(world, tid)) == before


def test_a_proposal_with_a_wrong_file_type_is_refused_at_the_field(world: World):
    tid = world.samples.extra["trainees_active"]
    response = _propose(world, tid, evidence_file=(io.BytesIO(b"MZ\x90\x00"), "evidence.exe"))
    assert response.status_code == 200
    assert re.search("不支持“.exe”", response.get_data(as_text=True))
    assert _cases(world, tid) == []


def test_the_district_reads_its_case_and_its_evidence_file(world: World):
    pending = world.samples.extra["trainees_case_pending"]
    page = world.client("district").get(f"/trainees/eliminations/{pending}")
    assert page.status_code == 200 and "提交审定" not in page.get_data(as_text=True)
    download = world.client("district").get(f"/trainees/eliminations/{pending}/file")
    assert download.status_code == 200 and "签到表" in download.get_data(as_text=True)


def test_proposal_page_shows_the_absence_rule_evidence(world: World):
    warned = [t for t in world.db.table("trainees").all() if t.get("status") == "预警"]
    assert warned, "the demo has trainees with a warning"
    page = world.client("admin").get(f"/trainees/{warned[0].id}/eliminate").get_data(as_text=True)
    assert "考勤依据" in page
    assert "累计缺勤" in page  # the evidence text starts from the rule's figures


def test_absence_candidates_are_listed_for_the_admin_only(world: World):
    page = world.client("admin").get("/trainees/eliminations").get_data(as_text=True)
    assert "考勤提示" in page and "/eliminate" in page  # at least one trainee to review
    district = world.client("district").get("/trainees/eliminations").get_data(as_text=True)
    assert "考勤提示" not in district
