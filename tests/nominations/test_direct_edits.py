"""Direct edits: the office types into the workbook (Excel/WPS); the site shows, checks and audits.

Each test types into the real workbook file with ``edit_cell`` (as a person saving in Excel
would), then runs ``db.sync()``, which diffs the sheet and records the direct edits in the
audit trail; the pages are then asked through the Flask test client.
"""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook

from blueprints.nominations.history import nomination_history
from mingxiao.masking import mask_phone
from mingxiao.policy import PERMISSIONS_KEY, is_role
from tests._demo import DISTRICT, DISTRICT2, ROLE_EMAILS, World, edit_cell
from tests.nominations._helpers import cohort_id, insert_nomination, post

pytest_plugins = ["tests._demo"]

SHEET = "人选推荐"
BAD_STATUS = "待定（手填）"


def synced_nomination(world: World, district: str = DISTRICT, **values: object) -> str:
    """A nomination written to the workbook file (so a person can edit its row); its id."""
    rid = insert_nomination(world, district=district, **values)
    world.db.sync()
    return rid


def section(html: str, element_id: str) -> str:
    """The HTML of the element with ``id=element_id`` up to its closing </section>/</div>."""
    start = html.index(f'id="{element_id}"')
    ends = [i for i in (html.find("</section>", start), html.find("</div>\n", start)) if i > 0]
    return html[start : min(ends)]


def history_rows(html: str) -> list[str]:
    """The rows of the 修改记录 table, each as its visible text."""
    table = html[html.index('id="history"') :]
    table = table[: table.index("</table>")]
    rows = re.findall(r"<tr class=\"history--\w+\">(.*?)</tr>", table, flags=re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", r).split()) for r in rows]


def without_pii_rights(world: World) -> None:
    """District staff may still open their nominations, but no longer see full numbers."""
    rules = world.app.extensions[PERMISSIONS_KEY]
    rules["nominations.personal_data"] = lambda user, record=None: is_role(user, "admin")


# --------------------------------------------------------------------------- 修改记录


def test_school_typed_in_the_sheet_shows_on_the_detail_page(world: World):
    rid = synced_nomination(world)
    edit_cell(world.workbook, SHEET, rid, "所在学校", "杭州市表格改名小学")
    world.db.sync()
    html = world.client("district").get(f"/nominations/{rid}").get_data(as_text=True)
    record = html[html.index("推荐表") :]
    assert "杭州市表格改名小学" in record


def test_history_shows_the_sheet_edit_as_a_direct_edit_with_old_and_new(world: World):
    rid = synced_nomination(world)
    edit_cell(world.workbook, SHEET, rid, "所在学校", "杭州市表格改名小学")
    world.db.sync()
    rows = history_rows(world.client("district").get(f"/nominations/{rid}").get_data(as_text=True))
    school = [r for r in rows if "所在学校" in r]
    assert len(school) == 1, rows
    assert "直接编辑表格" in school[0]
    assert school[0].index("杭州市测试实验小学") < school[0].index("杭州市表格改名小学")


def test_history_names_the_web_user_for_a_web_change(world: World):
    rid = synced_nomination(world)
    assert post(world, "district", f"/nominations/{rid}/stamp").status_code == 302
    world.db.sync()
    name = world.db.table("users").where(email=ROLE_EMAILS["district"])[0]["name"]
    rows = history_rows(world.client("admin").get(f"/nominations/{rid}").get_data(as_text=True))
    status = [r for r in rows if "状态" in r]
    assert status and name in status[0] and "直接编辑表格" not in status[0], rows
    assert status[0].index("草稿") < status[0].index("已盖章")


def test_web_save_shows_in_history_while_it_waits_for_the_workbook(world: World):
    rid = synced_nomination(world)
    assert post(world, "district", f"/nominations/{rid}/stamp").status_code == 302
    rows = history_rows(world.client("district").get(f"/nominations/{rid}").get_data(as_text=True))
    status = [r for r in rows if " 状态 " in r]
    assert len(status) == 1 and "同步中" in status[0] and "已盖章" in status[0], rows


def test_typed_phone_change_is_masked_in_history_without_pii_rights(world: World):
    rid = synced_nomination(world, phone="13957100001")
    edit_cell(world.workbook, SHEET, rid, "手机号码", "13812345678")
    world.db.sync()
    without_pii_rights(world)
    html = world.client("district").get(f"/nominations/{rid}").get_data(as_text=True)
    phone = [r for r in history_rows(html) if "手机号码" in r]
    assert phone and mask_phone("13812345678") in phone[0], phone
    assert "13812345678" not in html and "13957100001" not in html


def test_typed_phone_change_is_shown_in_full_to_the_admin(world: World):
    rid = synced_nomination(world, phone="13957100001")
    edit_cell(world.workbook, SHEET, rid, "手机号码", "13812345678")
    world.db.sync()
    html = world.client("admin").get(f"/nominations/{rid}").get_data(as_text=True)
    phone = [r for r in history_rows(html) if "手机号码" in r]
    assert phone and "13957100001" in phone[0] and "13812345678" in phone[0], phone


def test_history_masks_id_numbers_and_leaves_out_engine_timestamps(world: World):
    rid = synced_nomination(world)
    old = world.db.table("nominations").get(rid)["id_number"]
    edit_cell(world.workbook, SHEET, rid, "身份证号", "330102197603120000")
    edit_cell(world.workbook, SHEET, rid, "更新时间", "2030-01-01 00:00:00")
    world.db.sync()
    with world.app.app_context():
        changes = nomination_history(world.db, rid, reveal=False)
    fields = [c.field for c in changes]
    assert "updated_at" not in fields and "id_number" in fields
    id_change = next(c for c in changes if c.field == "id_number")
    assert id_change.direct_edit and old not in (id_change.old or "")
    assert (id_change.old or "").startswith(old[:4]) and "*" in (id_change.new or "")


# --------------------------------------------------------------------------- health problems


def bad_status(world: World, district: str) -> tuple[str, str]:
    """A status typed by hand outside the choice list; (nomination id, its cell address)."""
    rid = synced_nomination(world, district=district, name="手填状态人", school="手填状态学校")
    cell = edit_cell(world.workbook, SHEET, rid, "状态", BAD_STATUS)
    world.db.sync()
    return rid, cell


def test_bad_status_is_a_health_problem_with_its_cell_on_the_admin_list(world: World):
    rid, cell = bad_status(world, DISTRICT2)
    assert [p.cell for p in world.db.health() if p.record_id == rid] == [cell]
    html = world.client("admin").get("/nominations/").get_data(as_text=True)
    notice = section(html, "sheet-health")
    assert cell in notice and BAD_STATUS in notice
    assert 'href="/admin/health"' in notice


def test_bad_status_row_shows_the_raw_value_flagged_in_the_list(world: World):
    rid, cell = bad_status(world, DISTRICT2)
    html = world.client("admin").get("/nominations/").get_data(as_text=True)
    row = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*{rid}(?:(?!</tr>).)*</tr>", html, flags=re.S)
    assert row is not None
    assert BAD_STATUS in row.group(0) and "待核对" in row.group(0) and cell in row.group(0)


def test_pages_render_with_a_bad_status(world: World):
    rid, cell = bad_status(world, DISTRICT2)
    cid = cohort_id(world)
    pages = {
        "admin": ["/nominations/", f"/nominations/?cohort={cid}&district={DISTRICT2}", f"/nominations/{rid}", f"/nominations/summary.xlsx?cohort={cid}&district={DISTRICT2}"],
        "district2": ["/nominations/", f"/nominations/?cohort={cid}", f"/nominations/{rid}", f"/nominations/summary.xlsx?cohort={cid}", f"/nominations/summary.csv?cohort={cid}"],
        "district": ["/nominations/", f"/nominations/summary.xlsx?cohort={cid}"],
    }  # fmt: skip
    for role, urls in pages.items():
        for url in urls:
            response = world.client(role).get(url)
            assert response.status_code == 200, (role, url)
    detail = world.client("district2").get(f"/nominations/{rid}").get_data(as_text=True)
    assert BAD_STATUS in detail and cell in section(detail, "row-problems")


def test_bad_status_row_is_left_out_of_the_summary(world: World):
    rid, _cell = bad_status(world, DISTRICT2)
    url = f"/nominations/summary.xlsx?cohort={cohort_id(world)}"
    ws = load_workbook(io.BytesIO(world.client("district2").get(url).data)).active
    names = [row[1] for row in ws.iter_rows(min_row=2, values_only=True)]
    assert "手填状态人" not in names


def test_district_sees_nothing_of_another_districts_bad_cell(world: World):
    rid, cell = bad_status(world, DISTRICT2)
    response = world.client("district").get("/nominations/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="sheet-health"' not in html
    for secret in (cell, rid, BAD_STATUS, "手填状态人", "手填状态学校"):
        assert secret not in html, secret


def test_district_sees_the_bad_cell_in_its_own_row(world: World):
    rid, cell = bad_status(world, DISTRICT)
    html = world.client("district").get("/nominations/").get_data(as_text=True)
    notice = section(html, "sheet-health")
    assert cell in notice and 'href="/admin/health"' not in notice


def test_bad_guide_number_in_the_quotas_sheet_is_shown_to_the_admin_only(world: World):
    quotas = world.db.table("nomination_quotas")
    row = quotas.insert({"cohort": cohort_id(world), "district": DISTRICT, "guide_number": 4})
    world.db.sync()
    cell = edit_cell(world.workbook, "推荐名额", row.id, "指导名额", "四个")
    world.db.sync()
    admin = world.client("admin").get("/nominations/").get_data(as_text=True)
    assert cell in section(admin, "sheet-health")
    district = world.client("district").get("/nominations/").get_data(as_text=True)
    assert cell not in district and 'id="sheet-health"' not in district
