"""Import of a district's 《人选汇总表》: checks with cell addresses, confirm, duplicates, scope.

Files are real xlsx workbooks built with openpyxl (or downloaded from our own summary export)
and posted through the upload form; writes are checked in the workbook file itself after
``db.sync()``.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook

from blueprints.nominations import importer
from tests._demo import DISTRICT, DISTRICT2, World
from tests.nominations._helpers import cohort_id, id_number, set_window

pytest_plugins = ["tests._demo"]

SHEET = "人选汇总表"
HEADERS = (
    "序号", "姓名", "性别", "出生日期", "身份证号", "政治面貌", "所在学校", "学校类型", "现任职务",
    "任正职时间", "专业技术职务", "推荐方式", "推荐单位", "手机号码", "区、县（市）",
)  # fmt: skip
# Column letters of the file below (序号 is A).
COL = {h: chr(ord("A") + i) for i, h in enumerate(HEADERS)}


def person(n: int, **overrides: Any) -> dict[str, Any]:
    """An eligible principal of 上城区, different for each ``n`` (names unlike the demo's)."""
    born = dt.date(1970 + n % 20, 1 + n % 12, 1 + n % 27)
    row = {
        "姓名": f"导入测试{n:02d}",
        "性别": "女" if n % 2 else "男",
        "出生日期": born,
        "身份证号": id_number(f"330102{born:%Y%m%d}{n % 1000:03d}"),
        "政治面貌": "中共党员",
        "所在学校": f"杭州市导入测试第{n}小学",
        "学校类型": "小学",
        "现任职务": "正职校长",
        "任正职时间": dt.date(2015, 9, 1),
        "专业技术职务": "高级教师",
        "推荐方式": "单位推荐",
        "推荐单位": "上城区教育局",
        "手机号码": f"1395710{n:04d}",
        "区、县（市）": DISTRICT,
    }
    row.update(overrides)
    return row


def summary_file(rows: list[dict[str, Any]], headers: tuple[str, ...] = HEADERS) -> bytes:
    """A 汇总表 as districts fill it: a title row, then the header row (row 2), then data."""
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append(["“杭州市中小学名校长培养工程”人选汇总表"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    ws.append(list(headers))
    for i, row in enumerate(rows, start=1):
        ws.append([i if h == "序号" else row.get(h) for h in headers])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def upload(
    world: World, content: bytes, role: str = "district", filename: str = "汇总表.xlsx"
) -> Any:
    client = world.client(role)
    data = {
        "cohort": cohort_id(world),
        "file": (io.BytesIO(content), filename),
        "csrf_token": world.token(client),
    }
    if role == "admin":
        data["district"] = DISTRICT
    return client.post("/nominations/import", data=data)


def upload_id(world: World, content: bytes, role: str = "district") -> str:
    response = upload(world, content, role)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    return response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


def confirm(world: World, uid: str, role: str = "district", **chunk: Any) -> Any:
    client = world.client(role)
    data = {"csrf_token": world.token(client), **{k: str(v) for k, v in chunk.items()}}
    return client.post(f"/nominations/import/{uid}/confirm", data=data)


def preview(world: World, uid: str, role: str = "district") -> Any:
    return world.client(role).get(f"/nominations/import/{uid}")


def statuses(html: str) -> dict[int, str]:
    """Row number → status, from the preview table."""
    return {int(n): s for n, s in re.findall(r'id="row-(\d+)" data-status="(\w+)"', html)}


def named(world: World, prefix: str = "导入测试") -> list[Any]:
    return [r for r in world.db.table("nominations").all() if str(r["name"]).startswith(prefix)]


def workbook_rows(path: Path, prefix: str = "导入测试") -> list[dict[str, Any]]:
    """Rows of the nominations tab of the workbook file whose 姓名 starts with ``prefix``."""
    wb = load_workbook(path, read_only=True)
    try:
        rows = wb["人选推荐"].iter_rows(values_only=True)
        headers = list(next(rows))
        out = [dict(zip(headers, r, strict=False)) for r in rows]
    finally:
        wb.close()
    return [r for r in out if str(r.get("姓名") or "").startswith(prefix)]


# -- checking: errors at their cells ---------------------------------------------------------


def test_bad_cells_are_reported_with_sheet_and_cell_address(world: World):
    set_window(world)
    rows = [
        person(1),
        person(2, 出生日期="1976年13月"),  # row 4: not a date
        person(3, 现任职务="副校长"),  # row 5: not eligible
        person(4, 手机号码="1234"),  # row 6: not a phone number
    ]
    uid = upload_id(world, summary_file(rows))
    html = preview(world, uid).get_data(as_text=True)
    assert statuses(html) == {3: "new", 4: "error", 5: "error", 6: "error"}
    assert f"{SHEET}!{COL['出生日期']}4" in html and "应为日期" in html
    assert f"{SHEET}!{COL['现任职务']}5" in html and "正职校长或党组织书记" in html
    assert f"{SHEET}!{COL['手机号码']}6" in html


def test_ineligible_tenure_names_the_cell_and_the_date_to_meet(world: World):
    set_window(world)
    recent = world.db.today() - dt.timedelta(days=400)
    uid = upload_id(world, summary_file([person(1, 任正职时间=recent)]))
    html = preview(world, uid).get_data(as_text=True)
    assert statuses(html) == {3: "error"}
    assert f"{SHEET}!{COL['任正职时间']}3" in html and "任正职须满 3 年" in html


def test_missing_required_column_names_the_column_to_add(world: World):
    set_window(world)
    headers = tuple(h for h in HEADERS if h != "身份证号")
    uid = upload_id(world, summary_file([person(1)], headers))
    html = preview(world, uid).get_data(as_text=True)
    assert statuses(html) == {3: "error"}
    assert "请在表头行增加“身份证号”列" in html


def test_one_upload_lists_the_rule_problems_beside_the_cell_problems(world: World):
    set_window(world)
    row = person(1, 出生日期="1976年13月", 专业技术职务="一级教师")
    uid = upload_id(world, summary_file([row]))
    html = preview(world, uid).get_data(as_text=True)
    assert f"{SHEET}!{COL['出生日期']}3" in html and "未达到高级教师" in html


def test_empty_required_cell_is_an_error_at_that_cell(world: World):
    set_window(world)
    uid = upload_id(world, summary_file([person(1, 所在学校=None)]))
    html = preview(world, uid).get_data(as_text=True)
    assert statuses(html) == {3: "error"}
    assert f"{SHEET}!{COL['所在学校']}3" in html and "必填" in html


def test_the_same_person_twice_in_the_file_is_an_error_on_the_later_row(world: World):
    set_window(world)
    uid = upload_id(world, summary_file([person(1), person(2), person(1, 所在学校="另一所学校")]))
    html = preview(world, uid).get_data(as_text=True)
    assert statuses(html) == {3: "new", 4: "new", 5: "error"}
    assert "第 5 行和第 3 行是同一个人" in html


def test_header_found_under_a_title_row_with_other_spellings(tmp_path: Path, world: World):
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(["上城区教育局"])
    ws.append([])
    ws.append(["序号", "姓 名", "性别", "出生年月", "职称", "工作单位", "备注"])
    ws.append([1, "张三", "男", dt.datetime(1975, 6, 18), "高级教师", "某某小学", "x"])
    path = tmp_path / "t.xlsx"
    wb.save(path)
    table = importer.read_summary(path, world.db.schemas["nominations"])
    assert (table.title, table.header_row) == ("Sheet1", 3)
    assert set(table.columns) == {"name", "gender", "birth_date", "title", "school"}
    assert table.ignored == ["备注"]
    assert table.address("school", 4) == "Sheet1!F4"


def test_same_import_person_uses_id_then_phone_then_school():
    a = {"name": "张三", "id_number": "330102197506180011", "phone": "13900000000"}
    assert not importer.same_import_person(a, {**a, "id_number": "330102197506180029"})
    assert importer.same_import_person(a, {"name": "张 三", "phone": "139-0000-0000"})
    assert not importer.same_import_person(a, {"name": "张三", "phone": "13911111111"})
    assert importer.same_import_person(
        {"name": "张三", "school": "一小"}, {"name": "张三", "school": "一小"}
    )
    assert not importer.same_import_person({"name": "张三"}, {"name": "张三"})


# -- confirm: nothing before it, exactly the good rows after it -----------------------------


def test_nothing_is_written_before_confirm(world: World):
    set_window(world)
    before = world.fingerprint()
    uid = upload_id(world, summary_file([person(1), person(2)]))
    assert preview(world, uid).status_code == 200
    assert world.fingerprint() == before
    assert named(world) == []


def test_confirm_writes_exactly_the_good_rows_to_the_workbook(world: World):
    set_window(world)
    rows = [person(1), person(2, 专业技术职务="一级教师"), person(3), person(4, 性别="未知")]
    uid = upload_id(world, summary_file(rows))
    response = confirm(world, uid)
    assert response.status_code == 302 and response.headers["Location"].endswith("/result")
    world.db.sync()
    written = workbook_rows(world.workbook)
    assert sorted(r["姓名"] for r in written) == ["导入测试01", "导入测试03"]
    first = next(r for r in written if r["姓名"] == "导入测试01")
    assert (first["状态"], first["区、县（市）"], first["期次"]) == (
        "草稿",
        DISTRICT,
        cohort_id(world),
    )
    assert first["身份证号"] == person(1)["身份证号"]
    result = world.client("district").get(response.headers["Location"]).get_data(as_text=True)
    for rec in named(world):
        assert f'href="/nominations/{rec.id}"' in result


def test_reimporting_the_same_file_creates_no_duplicates(world: World):
    set_window(world)
    content = summary_file([person(1), person(2), person(3, 现任职务="副校长")])
    confirm(world, upload_id(world, content))
    assert len(named(world)) == 2
    uid = upload_id(world, content)
    html = preview(world, uid).get_data(as_text=True)
    assert statuses(html) == {3: "existing", 4: "existing", 5: "error"}
    confirm(world, uid)
    world.db.sync()
    assert len(workbook_rows(world.workbook)) == 2


def test_repeated_chunk_is_idempotent(world: World):
    set_window(world)
    uid = upload_id(world, summary_file([person(n) for n in range(1, 6)]))
    first = confirm(world, uid, start=0, size=2).get_json()
    again = confirm(world, uid, start=0, size=2).get_json()  # a double click
    assert (first["created"], again["created"], first["finished"]) == (2, 2, False)
    assert len(named(world)) == 2
    confirm(world, uid, start=2, size=2)
    last = confirm(world, uid, start=4, size=2).get_json()
    assert last["finished"] and last["created"] == 5 and last["processed"] == 5
    assert confirm(world, uid, start=4, size=2).get_json()["created"] == 5
    world.db.sync()
    assert sorted(r["姓名"] for r in workbook_rows(world.workbook)) == [
        f"导入测试{n:02d}" for n in range(1, 6)
    ]


def test_rows_of_another_district_are_refused(world: World):
    set_window(world)
    uid = upload_id(world, summary_file([person(1), person(2, **{"区、县（市）": DISTRICT2})]))
    html = preview(world, uid).get_data(as_text=True)
    assert statuses(html) == {3: "new", 4: "error"}
    assert f"{SHEET}!{COL['区、县（市）']}4" in html and DISTRICT2 in html
    confirm(world, uid)
    assert [r["name"] for r in named(world)] == ["导入测试01"]
    assert named(world)[0]["district"] == DISTRICT


def test_second_district_cannot_view_or_confirm_the_upload(world: World):
    set_window(world)
    uid = upload_id(world, summary_file([person(1)]))
    for response in (
        preview(world, uid, "district2"),
        confirm(world, uid, "district2"),
        world.client("district2").get(f"/nominations/import/{uid}/result"),
    ):
        assert response.status_code == 404
        assert "导入测试01" not in response.get_data(as_text=True)
    assert named(world) == []
    assert preview(world, uid).status_code == 200  # still there for its owner


def test_unknown_upload_id_is_404(world: World):
    assert preview(world, "0" * 32).status_code == 404
    assert preview(world, "../../secret_key").status_code == 404


def test_closed_window_refuses_the_upload_and_the_confirm(world: World):
    set_window(world)
    uid = upload_id(world, summary_file([person(1)]))
    set_window(world, open_=False)
    response = confirm(world, uid)
    assert response.status_code == 302 and named(world) == []
    assert "推荐通道未开放" in preview(world, uid).get_data(as_text=True)
    refused = upload(world, summary_file([person(2)]))
    assert refused.status_code == 200 and "推荐通道未开放" in refused.get_data(as_text=True)


# -- the file itself ---------------------------------------------------------------------------


def test_non_xlsx_upload_is_refused_with_a_clear_message(world: World):
    set_window(world)
    csv = upload(world, "姓名,性别\n张三,男\n".encode(), filename="汇总表.csv")
    assert csv.status_code == 200 and "另存为" in csv.get_data(as_text=True)
    fake = upload(world, b"not a workbook at all", filename="汇总表.xlsx")
    assert fake.status_code == 200
    assert "文件内容与扩展名“.xlsx”不符" in fake.get_data(as_text=True)


def test_workbook_without_a_header_row_is_refused(world: World):
    set_window(world)
    wb = Workbook()
    wb.active.append(["随便", "写点", "什么"])
    buf = io.BytesIO()
    wb.save(buf)
    response = upload(world, buf.getvalue())
    assert response.status_code == 200 and "没有找到《人选汇总表》的表头行" in response.get_data(
        as_text=True
    )


def test_our_own_summary_export_reimports_as_already_imported(world: World):
    set_window(world)
    export = world.client("district").get(
        f"/nominations/summary.xlsx?cohort={cohort_id(world)}&district={DISTRICT}"
    )
    assert export.status_code == 200
    count = len(world.db.table("nominations").all())
    uid = upload_id(world, export.data)
    found = statuses(preview(world, uid).get_data(as_text=True))
    assert found and set(found.values()) == {"existing"}
    confirm(world, uid)
    assert len(world.db.table("nominations").all()) == count


def test_admin_imports_for_the_district_chosen_on_the_form(world: World):
    set_window(world)
    uid = upload_id(world, summary_file([person(1)]), role="admin")
    assert preview(world, uid, "district").status_code == 404  # not the district's upload
    confirm(world, uid, "admin")
    assert [(r["name"], r["district"], r["status"]) for r in named(world)] == [
        ("导入测试01", DISTRICT, "草稿")
    ]
