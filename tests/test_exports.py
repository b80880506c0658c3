"""Exports to xlsx/CSV: Chinese headers, and no cell a person typed can become a formula."""

from __future__ import annotations

import csv
import io

import openpyxl

from mingxiao import exports
from tests._demo import World

pytest_plugins = ["tests._demo"]

ROWS = [
    {"name": "=HYPERLINK(\"http://x\",\"点我\")", "phone": "13812345678", "note": "+1 以加号开头"},
    {"name": "王老师", "phone": "-5", "note": "@SUM(A1)"},
    {"name": "\t制表符开头", "phone": None, "note": True},
]
COLUMNS = [("name", "姓名"), ("phone", "手机"), ("note", "备注")]


def test_csv_export_neutralises_formula_like_cells_and_keeps_chinese_headers() -> None:
    body = exports.to_csv(exports.frame(ROWS, COLUMNS))
    assert body.startswith("\ufeff".encode())  # Excel needs the BOM for Chinese text
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ["姓名", "手机", "备注"]
    assert rows[1][0] == "'=HYPERLINK(\"http://x\",\"点我\")"
    assert rows[1][2] == "'+1 以加号开头"
    assert rows[2] == ["王老师", "'-5", "'@SUM(A1)"]
    assert rows[3] == ["'\t制表符开头", "", "是"]


def test_xlsx_export_stores_formula_like_text_as_literal_text() -> None:
    wb = openpyxl.load_workbook(io.BytesIO(exports.to_xlsx(exports.frame(ROWS, COLUMNS), "名单")))
    ws = wb["名单"]
    assert [c.value for c in ws[1]] == ["姓名", "手机", "备注"]
    cell = ws["A2"]
    assert cell.value == "=HYPERLINK(\"http://x\",\"点我\")" and cell.data_type == "s"
    assert ws["C3"].value == "@SUM(A1)" and ws["C3"].data_type == "s"
    assert ws["B2"].value == "13812345678" and ws["B2"].data_type == "s"


def test_admin_audit_export_downloads_the_filtered_trail(world: World) -> None:
    client = world.client("admin")
    for fmt in ("csv", "xlsx"):
        resp = client.get(f"/admin/audit?format={fmt}&source=sheet")
        assert resp.status_code == 200
        assert "attachment" in resp.headers["Content-Disposition"]
        if fmt == "csv":
            rows = list(csv.reader(io.StringIO(resp.get_data().decode("utf-8-sig"))))
            assert rows[0][:3] == ["时间", "来源", "用户"]
            assert len(rows) > 1 and all(r[1] == "直接编辑表格" for r in rows[1:])
        else:
            ws = openpyxl.load_workbook(io.BytesIO(resp.get_data())).active
            assert ws.cell(row=1, column=1).value == "时间"


def test_audit_export_is_admin_only(world: World) -> None:
    resp = world.client("district").get("/admin/audit?format=csv")
    assert resp.status_code == 403
