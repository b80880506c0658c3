"""Workbooks broken by hand: health problems with cell addresses or one clear Chinese error.

Whatever people do to the file, ``snapshot()``, ``health()``, ``table().all()`` and ``sync()``
never raise; every test runs them all through :func:`survey`.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import openpyxl
import pytest

from mingxiao.sheetdb import Database, Problem, SheetReadOnly, WorkbookError
from tests.sheetdb.helpers import (
    ID_HEADER,
    find_row,
    hand_edit,
    header_col,
    make_xls,
    open_small,
    row_by_id,
    rows_openpyxl,
)

TITLE = "导师"
CJK = re.compile(r"[\u4e00-\u9fff]")


def survey(db: Database) -> list[Problem]:
    """Everything the app does on a page load and in the flusher; none of it may raise."""
    db.snapshot()
    problems = db.health()
    for key in db.schemas.sheets:
        db.table(key).all()
        db.table(key).to_dataframe()
    db.status()
    db.sync()
    db.health()  # after the sync (ids may have been assigned): still no exception
    return problems


def codes(problems: list[Problem]) -> list[tuple[str, str | None]]:
    return [(p.code, p.cell) for p in problems]


@pytest.fixture
def book(tmp_path: Path, db: Database) -> Path:
    """Three mentors M0001–M0003 (rows 2–4) in 导师, synced."""
    mentors = db.table("mentors")
    for i in range(3):
        mentors.insert(
            {
                "name": f"导师{i}",
                "organisation": f"单位{i}",
                "phone": "13800000000",
                "note": f"备注{i}",
            }
        )
    db.sync()
    return tmp_path / "w.xlsx"


# ---------------------------------------------------------------------- headers


def test_renamed_header_is_reported_missing_and_the_sheet_stays_writable(
    db: Database, book: Path
) -> None:
    with hand_edit(book, TITLE) as ws:
        ws.cell(row=1, column=header_col(ws, "手机号码")).value = "电话"
    problems = survey(db)
    (problem,) = problems
    assert (
        problem.code == "missing_header"
        and "手机号码" in problem.message
        and CJK.search(problem.fix)
    )
    rec = db.table("mentors").insert(
        {"name": "新导师", "organisation": "A", "phone": "13900000000"}
    )
    db.sync()
    row = row_by_id(book, TITLE, rec.id)
    assert row["手机号码"] == "13900000000"  # the column is added back at the end
    assert row_by_id(book, TITLE, "M0001")["电话"] == "13800000000"  # the renamed one is kept


def test_renamed_required_header_makes_the_sheet_read_only(db: Database, book: Path) -> None:
    with hand_edit(book, TITLE) as ws:
        ws.cell(row=1, column=header_col(ws, "姓名")).value = "名字"
    problems = survey(db)
    assert [p.code for p in problems] == ["missing_required_header"]
    assert "姓名" in problems[0].message and "只读" in problems[0].message
    mentors = db.table("mentors")
    assert [r.id for r in mentors.all()] == ["M0001", "M0002", "M0003"]  # still readable
    with pytest.raises(SheetReadOnly, match="姓名"):
        mentors.insert({"name": "新导师", "organisation": "A"})
    with pytest.raises(SheetReadOnly):
        mentors.update("M0001", {"organisation": "B"}, base={"organisation": "单位0"})
    with pytest.raises(SheetReadOnly):
        mentors.void("M0001")
    assert db.status()["sheets_readonly"] == [TITLE]
    db.table("nominations").insert({"name": "张三"})  # other sheets keep working
    db.sync()
    assert len(rows_openpyxl(book, "人选推荐")) == 1


def test_read_only_sheet_becomes_writable_again_when_the_header_is_fixed(
    db: Database, book: Path
) -> None:
    with hand_edit(book, TITLE) as ws:
        ws.cell(row=1, column=header_col(ws, "姓名")).value = "名字"
    survey(db)
    with hand_edit(book, TITLE) as ws:
        ws.cell(row=1, column=header_col(ws, "名字")).value = "姓名"
    rec = db.table("mentors").insert({"name": "新导师", "organisation": "A"})
    db.sync()
    assert row_by_id(book, TITLE, rec.id)["姓名"] == "新导师"
    assert db.status()["sheets_readonly"] == []


@pytest.mark.xlsx_only("opens the .xlsx file with openpyxl")
def test_reordered_headers_still_map_values_by_name(db: Database, book: Path) -> None:
    with hand_edit(book, TITLE) as ws:  # swap the 姓名 and 工作单位 columns, data included
        a, b = header_col(ws, "姓名"), header_col(ws, "工作单位")
        for r in range(1, ws.max_row + 1):
            x, y = ws.cell(row=r, column=a).value, ws.cell(row=r, column=b).value
            ws.cell(row=r, column=a).value, ws.cell(row=r, column=b).value = y, x
    assert survey(db) == []
    mentors = db.table("mentors")
    assert (mentors.get("M0002")["name"], mentors.get("M0002")["organisation"]) == (
        "导师1",
        "单位1",
    )
    mentors.update("M0002", {"name": "改名"}, base={"name": "导师1"})
    rec = mentors.insert({"name": "新导师", "organisation": "新单位"})
    db.sync()
    wb = openpyxl.load_workbook(book)
    ws = wb[TITLE]
    assert [c.value for c in ws[1]][1:3] == ["工作单位", "姓名"]  # the person's order is kept
    assert (
        row_by_id(book, TITLE, "M0002")["姓名"],
        row_by_id(book, TITLE, "M0002")["工作单位"],
    ) == ("改名", "单位1")
    assert (row_by_id(book, TITLE, rec.id)["姓名"], row_by_id(book, TITLE, rec.id)["工作单位"]) == (
        "新导师",
        "新单位",
    )


def test_missing_header_column_is_reported_and_added_back_on_write(
    db: Database, book: Path
) -> None:
    with hand_edit(book, TITLE) as ws:
        ws.delete_cols(header_col(ws, "备注"))
    problems = survey(db)
    assert [p.code for p in problems] == ["missing_header"] and "备注" in problems[0].message
    assert db.table("mentors").get("M0001")["note"] is None
    db.table("mentors").update("M0001", {"note": "补上"}, base={"note": None})
    db.sync()
    assert row_by_id(book, TITLE, "M0001")["备注"] == "补上"
    assert row_by_id(book, TITLE, "M0001")["姓名"] == "导师0"


@pytest.mark.xlsx_only("opens the .xlsx file with openpyxl")
def test_extra_column_and_extra_tab_survive_writes(db: Database, book: Path) -> None:
    with hand_edit(book) as wb:
        ws = wb[TITLE]
        col = ws.max_column + 1
        ws.cell(row=1, column=col).value = "内部备注"
        for r in range(2, 5):
            ws.cell(row=r, column=col).value = f"私-{ws.cell(row=r, column=1).value}"
        notes = wb.create_sheet("统计")
        notes["A1"] = "自己的统计"
    assert survey(db) == []
    mentors = db.table("mentors")
    mentors.update("M0002", {"name": "改名"}, base={"name": "导师1"})
    mentors.void("M0003")
    rec = mentors.insert({"name": "新导师", "organisation": "A"})
    db.sync()
    rows = {r[ID_HEADER]: r for r in rows_openpyxl(book, TITLE)}
    assert [rows[i]["内部备注"] for i in ("M0001", "M0002", "M0003")] == [
        "私-M0001",
        "私-M0002",
        "私-M0003",
    ]
    assert rows[rec.id]["内部备注"] is None
    assert openpyxl.load_workbook(book)["统计"]["A1"].value == "自己的统计"


# ---------------------------------------------------------------------- layout accidents


@pytest.mark.xlsx_only("a Google values read does not show merged cells")
def test_merged_cells_are_reported_and_writes_still_work(db: Database, book: Path) -> None:
    with hand_edit(book, TITLE) as ws:
        col = openpyxl.utils.get_column_letter(header_col(ws, "备注"))
        ws.merge_cells(f"{col}2:{col}3")
    problems = survey(db)
    assert codes(problems) == [("merged_cells", f"{TITLE}!{col}2:{col}3")]
    db.table("mentors").update("M0002", {"note": "拆开"}, base={"note": None})
    db.sync()
    assert row_by_id(book, TITLE, "M0002")["备注"] == "拆开"
    assert row_by_id(book, TITLE, "M0001")["备注"] == "备注0"


@pytest.mark.xlsx_only("opens the .xlsx file with openpyxl (Google appends after the table)")
def test_blank_rows_in_the_middle_are_skipped_and_do_not_receive_new_rows(
    db: Database, book: Path
) -> None:
    with hand_edit(book, TITLE) as ws:
        ws.insert_rows(3, amount=2)  # rows 3–4 blank; M0002, M0003 now on rows 5–6
    assert survey(db) == []
    mentors = db.table("mentors")
    assert [r.id for r in mentors.all()] == ["M0001", "M0002", "M0003"]
    mentors.update("M0003", {"name": "改名"}, base={"name": "导师2"})
    rec = mentors.insert({"name": "新导师", "organisation": "A"})
    db.sync()
    ws = openpyxl.load_workbook(book)[TITLE]
    assert (
        find_row(ws, "M0003") == 6 and ws.cell(row=6, column=header_col(ws, "姓名")).value == "改名"
    )
    assert find_row(ws, rec.id) == 7
    assert all(ws.cell(row=r, column=1).value is None for r in (3, 4))


def test_a_row_with_only_spaces_is_blank(db: Database, book: Path) -> None:
    with hand_edit(book, TITLE) as ws:
        ws.cell(
            row=9, column=header_col(ws, "手机号码")
        ).value = " "  # a stray space typed in Excel
    assert survey(db) == []
    assert [r.id for r in db.table("mentors").all()] == ["M0001", "M0002", "M0003"]
    assert [r[ID_HEADER] for r in rows_openpyxl(book, TITLE) if r[ID_HEADER]] == [
        "M0001",
        "M0002",
        "M0003",
    ]


@pytest.mark.xlsx_only("a Google values read does not show formulas")
def test_formulas_are_reported_with_their_address(db: Database, book: Path) -> None:
    with hand_edit(book, TITLE) as ws:
        col = openpyxl.utils.get_column_letter(header_col(ws, "年龄"))
        ws[f"{col}3"] = "=40+5"
    problems = survey(db)
    (problem,) = problems
    assert (problem.code, problem.cell, problem.record_id) == (
        "formula",
        f"{TITLE}!{col}3",
        "M0002",
    )
    assert "年龄" in problem.message
    assert db.table("mentors").get("M0002") is not None


# ---------------------------------------------------------------------- cells of the wrong type


@pytest.mark.xlsx_only("a Google FORMATTED_VALUE read does not show number cell types")
def test_number_typed_into_a_phone_column_is_reported_as_number_in_text(
    db: Database, book: Path
) -> None:
    with hand_edit(book, TITLE) as ws:
        col = openpyxl.utils.get_column_letter(header_col(ws, "手机号码"))
        cell = ws[f"{col}2"]
        cell.value = 13912345678
        cell.number_format = "General"
    (problem,) = survey(db)
    assert (problem.code, problem.cell) == ("number_in_text", f"{TITLE}!{col}2")
    assert db.table("mentors").get("M0001")["phone"] == "13912345678"


@pytest.mark.xlsx_only("a Google FORMATTED_VALUE read does not show number cell types")
def test_long_number_typed_into_an_id_card_column_is_reported_as_lost_digits(
    db: Database, book: Path
) -> None:
    with hand_edit(book, TITLE) as ws:
        col = openpyxl.utils.get_column_letter(header_col(ws, "身份证号"))
        ws[f"{col}3"] = 110105194912310020  # what Excel keeps: 1.10105194912310E+17
        ws[f"{col}4"] = 110105491231002  # a 15-digit number: kept, but still typed as a number
    problems = survey(db)
    assert codes(problems) == [
        ("id_lost_digits", f"{TITLE}!{col}3"),
        ("number_in_text", f"{TITLE}!{col}4"),
    ]
    assert all(CJK.search(p.message) and CJK.search(p.fix) for p in problems)


@pytest.mark.parametrize(
    ("header", "value", "code"),
    [
        ("级别", "四级", "unknown_enum"),
        ("评分", "很好", "type_decimal"),
        ("年龄", "四十", "type_int"),
        ("出生日期", "明年", "type_date"),
        ("在聘", "也许", "type_bool"),
        ("身份证号", "110105194912310021", "id_card_format"),
    ],
)
def test_cells_that_do_not_fit_their_type_are_reported_with_their_address(
    db: Database, book: Path, header: str, value: str, code: str
) -> None:
    with hand_edit(book, TITLE) as ws:
        col = openpyxl.utils.get_column_letter(header_col(ws, header))
        ws[f"{col}4"] = value
    (problem,) = survey(db)
    assert (problem.code, problem.cell, problem.record_id) == (code, f"{TITLE}!{col}4", "M0003")
    assert header in problem.message and value in problem.message
    assert db.table("mentors").get("M0003") is not None  # the record still shows


def test_error_values_in_cells_are_reported(db: Database, book: Path) -> None:
    with hand_edit(book, TITLE) as ws:
        col = openpyxl.utils.get_column_letter(header_col(ws, "评分"))
        ws[f"{col}2"].value, ws[f"{col}2"].data_type = "#DIV/0!", "e"
    problems = survey(db)
    assert [p.cell for p in problems] == [f"{TITLE}!{col}2"]


# ---------------------------------------------------------------------- ids


def test_duplicate_ids_are_reported_and_the_first_row_wins(db: Database, book: Path) -> None:
    with hand_edit(book, TITLE) as ws:
        ws.cell(row=3, column=header_col(ws, ID_HEADER)).value = "M0001"
    problems = survey(db)
    dup = [p for p in problems if p.code == "duplicate_id"]
    assert [(p.cell, p.params["other_row"]) for p in dup] == [(f"{TITLE}!A3", 2)]
    assert db.table("mentors").get("M0001")["name"] == "导师0"


def test_rows_without_ids_get_ids_on_the_next_sync(db: Database, book: Path) -> None:
    with hand_edit(book, TITLE) as ws:
        for r, name in ((5, "手工一"), (6, "手工二")):
            ws.cell(row=r, column=header_col(ws, "姓名")).value = name
            ws.cell(row=r, column=header_col(ws, "工作单位")).value = "学军中学"
    problems = db.health()
    assert codes(problems) == [("missing_id", f"{TITLE}!A5"), ("missing_id", f"{TITLE}!A6")]
    assert all(p.severity == "warning" for p in problems)
    survey(db)  # includes a sync
    assert [r[ID_HEADER] for r in rows_openpyxl(book, TITLE)] == [
        "M0001",
        "M0002",
        "M0003",
        "M0004",
        "M0005",
    ]
    assert db.table("mentors").get("M0005")["name"] == "手工二"
    assert db.health() == []
    next_one = db.table("mentors").insert({"name": "网页", "organisation": "A"})
    assert next_one.id == "M0006"


@pytest.mark.xlsx_only("a Google values read does not show formulas")
def test_formula_in_an_id_cell_is_reported_and_does_not_make_every_sync_save(
    db: Database, book: Path
) -> None:
    with hand_edit(book, TITLE) as ws:
        ws.cell(row=5, column=header_col(ws, ID_HEADER)).value = '="M"&"0009"'
        ws.cell(row=5, column=header_col(ws, "姓名")).value = "公式行"
        ws.cell(row=5, column=header_col(ws, "工作单位")).value = "A"
    assert ("formula", f"{TITLE}!A5") in codes(survey(db))
    survey(db)
    version = db.backend.version()
    db.sync()
    assert db.backend.version() == version
    assert [e for e in db.audit(source="system") if e["field"] == "id"] == []


# ---------------------------------------------------------------------- unusable files


def test_renamed_tab_is_reported_with_a_hint_naming_the_new_title(db: Database, book: Path) -> None:
    with hand_edit(book) as wb:
        wb[TITLE].title = "导师名单"
    problems = survey(db)
    missing = [p for p in problems if p.code == "renamed_tab"]
    assert len(missing) == 1 and "导师名单" in missing[0].message and TITLE in missing[0].message
    assert db.table("mentors").all() == []
    with pytest.raises(SheetReadOnly):
        db.table("mentors").insert({"name": "新导师", "organisation": "A"})
    db.table("nominations").insert({"name": "张三"})
    db.sync()
    assert len(rows_openpyxl(book, "人选推荐")) == 1
    assert [r[ID_HEADER] for r in rows_openpyxl(book, "导师名单")] == ["M0001", "M0002", "M0003"]


def _unreadable(db: Database) -> Problem:
    problems = survey(db)
    assert len(problems) == 1, problems
    (problem,) = problems
    assert problem.code == "unreadable" and CJK.search(problem.message)
    return problem


@pytest.mark.xlsx_only("a truncated .xlsx file")
def test_truncated_file_gives_one_clear_message_and_keeps_serving(
    tmp_path: Path, db: Database, book: Path
) -> None:
    data = book.read_bytes()
    book.write_bytes(data[: len(data) // 2])
    with pytest.raises(WorkbookError):
        db.backend.read_all()
    problem = _unreadable(db)
    assert "w.xlsx" in problem.message and "损坏" in problem.message
    assert [r.id for r in db.table("mentors").all()] == [
        "M0001",
        "M0002",
        "M0003",
    ]  # last good snapshot
    assert "损坏" in (db.status()["last_error"] or "")
    with pytest.raises(SheetReadOnly, match="无法读取"):
        db.table("mentors").insert({"name": "新导师", "organisation": "A"})
    restarted = open_small(tmp_path, init=False)  # a fresh worker has no good snapshot at all
    assert "损坏" in _unreadable(restarted).message
    assert restarted.table("mentors").all() == []
    restarted.close()


@pytest.mark.xlsx_only("a broken .xlsx file")
def test_saves_acknowledged_before_the_file_broke_apply_after_it_is_restored(
    tmp_path: Path, db: Database, book: Path
) -> None:
    good = tmp_path / "good.xlsx"
    shutil.copy2(book, good)
    rec = db.table("mentors").insert({"name": "新导师", "organisation": "A"})
    book.write_bytes(good.read_bytes()[:1000])
    result = db.sync()
    assert result is not None and result.error and result.applied == 0
    assert db.status()["pending"] == 1
    shutil.copy(good, book)  # an admin restores a good copy
    db.sync()
    assert [r[ID_HEADER] for r in rows_openpyxl(book, TITLE)] == ["M0001", "M0002", "M0003", rec.id]
    assert db.health() == []


@pytest.mark.xlsx_only("an .xls file renamed to .xlsx")
def test_xls_renamed_to_xlsx_gives_one_clear_message(
    tmp_path: Path, db: Database, book: Path
) -> None:
    make_xls(book, TITLE, [(ID_HEADER, "姓名", "工作单位"), ("M0001", "导师0", "单位0")])
    problem = _unreadable(db)
    assert ".xls" in problem.message and "另存为" in problem.message
    assert book.read_bytes()[:4] == bytes.fromhex("d0cf11e0")  # never overwritten by a sync
    restarted = open_small(tmp_path, init=False)
    assert ".xls" in _unreadable(restarted).message
    restarted.close()


@pytest.mark.xlsx_only("the workbook file deleted")
def test_deleted_workbook_gives_one_clear_message_and_is_not_recreated_by_a_sync(
    db: Database, book: Path
) -> None:
    rec = db.table("mentors").insert({"name": "新导师", "organisation": "A"})
    book.unlink()
    problem = _unreadable(db)
    assert "不存在" in problem.message
    assert not book.exists()  # a sync must not silently start an empty workbook
    assert db.status()["pending"] == 1
    assert db.pending()[0].record_id == rec.id


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00" * 4096, "编号,姓名\nM0001,王老师\n".encode(), b"PK\x03\x04" + b"\x00" * 100],
    ids=["empty", "zeros", "csv", "zip-header-only"],
)
@pytest.mark.xlsx_only("garbage bytes in the workbook file")
def test_other_garbage_gives_one_clear_message(db: Database, book: Path, content: bytes) -> None:
    book.write_bytes(content)
    _unreadable(db)
    assert book.read_bytes() == content
