"""A group commit re-serialises only the tabs it changed (xlsx.save_workbook's reuse).

Each check compares the file the engine saved (with reuse) against the same workbook written
afresh by openpyxl, cell by cell: values, number formats, locks, comments, validations.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
from python_calamine import CalamineWorkbook

from mingxiao.sheetdb import xlsx
from tests.sheetdb.helpers import hand_edit, open_small, rows_calamine


def _cells(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    wb = openpyxl.load_workbook(path)
    out: dict[str, list[tuple[Any, ...]]] = {}
    try:
        for ws in wb.worksheets:
            rows = []
            for row in ws.iter_rows():
                for c in row:
                    if c.value is None and c.comment is None:
                        continue
                    rows.append(
                        (c.coordinate, c.value, c.number_format, c.protection.locked,
                         c.comment.text if c.comment else None, c.font.b)
                    )  # fmt: skip
            validations = sorted((str(dv.sqref), dv.formula1) for dv in ws.data_validations.dataValidation)
            out[ws.title] = rows + [("validations", tuple(validations), ws.protection.sheet, ws.auto_filter.ref)]
    finally:
        wb.close()
    return out


def _fresh_copy(path: Path, dest: Path) -> Path:
    wb = openpyxl.load_workbook(path)
    wb.save(dest)
    wb.close()
    return dest


def _sheet_part_names(path: Path) -> dict[str, int]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: i.CRC for i in zf.infolist() if i.filename.startswith("xl/worksheets/sheet")}


def test_saves_after_the_first_rewrite_only_the_changed_tabs_and_match_a_full_save(tmp_path: Path) -> None:
    db = open_small(tmp_path, autoflush=False)
    path = tmp_path / "w.xlsx"
    mentors = db.table("mentors")
    first = mentors.insert({"name": "张三", "organisation": "甲校", "born": dt.date(1970, 1, 2), "score": 9.5})
    db.sync()
    before = _sheet_part_names(path)
    for i in range(3):
        mentors.insert({"name": f"新人{i}", "organisation": "乙校", "age": 40 + i})
    mentors.update(first.id, {"organisation": "丙校", "level": "二级"})
    db.sync()
    after = _sheet_part_names(path)
    changed = {name for name in after if after[name] != before.get(name)}
    assert len(changed) == 1, changed  # only the 导师 tab was written again
    assert _cells(path) == _cells(_fresh_copy(path, tmp_path / "fresh.xlsx"))
    rows = rows_calamine(path, "导师")
    assert [r["姓名"] for r in rows] == ["张三", "新人0", "新人1", "新人2"]
    assert rows[0]["工作单位"] == "丙校" and rows[0]["级别"] == "二级"
    db.close()


def test_a_hand_edit_between_saves_is_kept(tmp_path: Path) -> None:
    db = open_small(tmp_path, autoflush=False)
    path = tmp_path / "w.xlsx"
    rec = db.table("mentors").insert({"name": "张三", "organisation": "甲校"})
    db.sync()
    with hand_edit(path) as wb:
        ws = wb.create_sheet("手写的表")
        ws["A1"] = "我自己的表"
        wb["导师"]["K2"] = "手写备注"
    db.table("mentors").update(rec.id, {"organisation": "乙校"})
    db.sync()
    db.table("mentors").insert({"name": "李四", "organisation": "丁校"})
    db.sync()  # the workbook object now comes from the write cache: tabs are reused
    cells = _cells(path)
    assert cells == _cells(_fresh_copy(path, tmp_path / "fresh.xlsx"))
    assert any(c[1] == "我自己的表" for c in cells["手写的表"])
    row = next(r for r in rows_calamine(path, "导师") if r["姓名"] == "张三")
    assert row["工作单位"] == "乙校" and row["备注"] == "手写备注"
    assert CalamineWorkbook.from_path(str(path)).sheet_names[-1] == "手写的表"
    db.close()


def test_a_failed_save_forgets_the_reusable_tabs(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "一"
    wb.active["A1"] = "甲"
    wb.create_sheet("二")["A1"] = "乙"
    xlsx.save_workbook(wb, tmp_path / "a.xlsx")
    assert set(getattr(wb, xlsx._SHEET_XML)) == {"一", "二"}

    class Broken:
        def write(self, data: bytes) -> int:
            raise OSError(28, "No space left on device")

        def tell(self) -> int:
            return 0

        def flush(self) -> None:
            pass

    wb["二"]["A1"] = "丙"
    try:
        xlsx.save_workbook(wb, Broken(), dirty=["二"])
    except OSError:
        pass
    assert getattr(wb, xlsx._SHEET_XML) is None
    xlsx.save_workbook(wb, tmp_path / "b.xlsx", dirty=[])  # nothing reusable: every tab written
    assert _cells(tmp_path / "b.xlsx")["二"][0][1] == "丙"
