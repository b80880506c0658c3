"""District review: stamp locks, return-then-edit, 报送 then only the city reopens, 《人选汇总表》."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests._demo import DISTRICT, ROLE_EMAILS, World
from tests.nominations._helpers import cohort_id, form_data, insert_nomination, post, set_window

pytest_plugins = ["tests._demo"]


def status(world: World, rid: str) -> str:
    return world.db.table("nominations").get(rid)["status"]


def test_stamp_locks_the_nomination_and_records_who(world: World):
    rid = insert_nomination(world)
    assert post(world, "district", f"/nominations/{rid}/stamp").status_code == 302
    rec = world.db.table("nominations").get(rid)
    assert (rec["status"], rec["stamped_by"]) == ("已盖章", ROLE_EMAILS["district"])
    assert rec["stamped_at"] is not None


def test_stamped_nomination_cannot_be_edited(world: World):
    set_window(world)
    rid = insert_nomination(world, status="已盖章")
    response = post(
        world, "district", f"/nominations/{rid}/edit", form_data(world, school="盖章后改的")
    )
    assert response.status_code == 302
    assert world.db.table("nominations").get(rid)["school"] == "杭州市测试实验小学"


def test_return_needs_a_reason(world: World):
    rid = insert_nomination(world, status="已盖章")
    post(world, "district", f"/nominations/{rid}/return", {"return_reason": "  "})
    assert status(world, rid) == "已盖章"


def test_returned_nomination_can_be_edited_again(world: World):
    set_window(world)
    rid = insert_nomination(world, status="已盖章")
    post(world, "district", f"/nominations/{rid}/return", {"return_reason": "任职文件不全"})
    rec = world.db.table("nominations").get(rid)
    assert (rec["status"], rec["return_reason"]) == ("已退回", "任职文件不全")
    response = post(
        world, "district", f"/nominations/{rid}/edit", form_data(world, school="补正后的学校")
    )
    assert response.status_code == 302
    rec = world.db.table("nominations").get(rid)
    assert (rec["school"], rec["status"]) == ("补正后的学校", "草稿")


def test_submit_sends_the_stamped_batch_only(world: World):
    stamped = [
        insert_nomination(world, status="已盖章", name=f"校长{i}", phone=f"1395710001{i}")
        for i in range(2)
    ]
    draft = insert_nomination(world, name="草稿校长", phone="13957100019")
    other = insert_nomination(
        world, status="已盖章", district="西湖区", name="西湖校长", phone="13957100018"
    )
    response = post(world, "district", "/nominations/submit", {"cohort": cohort_id(world)})
    assert response.status_code == 302
    assert [status(world, r) for r in stamped] == ["已报送", "已报送"]
    assert (status(world, draft), status(world, other)) == ("草稿", "已盖章")


def test_after_submission_only_an_admin_can_reopen(world: World):
    rid = insert_nomination(world, status="已盖章")
    post(world, "district", "/nominations/submit", {"cohort": cohort_id(world)})
    assert status(world, rid) == "已报送"
    post(world, "district", f"/nominations/{rid}/return", {"return_reason": "想再改"})
    assert status(world, rid) == "已报送"
    reopen = {"status": "已退回", "reason": "学校名称有误"}
    assert post(world, "district", f"/nominations/{rid}/reopen", reopen).status_code == 404
    assert post(world, "admin", f"/nominations/{rid}/reopen", reopen).status_code == 302
    rec = world.db.table("nominations").get(rid)
    assert (rec["status"], rec["return_reason"]) == ("已退回", "学校名称有误")


def test_summary_xlsx_matches_the_sheet(world: World):
    ids = [
        insert_nomination(world, status="已盖章", name=f"汇总{i}", phone=f"1395710002{i}")
        for i in range(3)
    ]
    insert_nomination(world, name="未盖章的", phone="13957100029")
    cid = cohort_id(world)
    response = world.client("district").get(f"/nominations/summary.xlsx?cohort={cid}")
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("序号", "姓名", "性别")
    expected = sorted(
        (r for r in world.db.table("nominations").where(district=DISTRICT, cohort=cid)
         if r["status"] not in ("草稿", "已退回")),
        key=lambda r: r.id,
    )  # fmt: skip
    assert [(row[0], row[1], row[rows[0].index("手机号码")]) for row in rows[1:]] == [
        (i, r["name"], r["phone"]) for i, r in enumerate(expected, start=1)
    ]
    assert {f"汇总{i}" for i in range(3)} <= {row[1] for row in rows[1:]} and len(ids) == 3


def test_summary_csv_is_offered(world: World):
    response = world.client("district").get(f"/nominations/summary.csv?cohort={cohort_id(world)}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
