"""XlsxBackend against real .xlsx files in tmp_path (no mocks, except failing OS calls)."""

from __future__ import annotations

import datetime as dt
import errno
import os
import zipfile
from pathlib import Path

import filelock
import openpyxl
import pytest
from openpyxl.styles import Font

from mingxiao.sheetdb.backend import Batch, RawSheet, WorkbookError, WriteBlocked
from mingxiao.sheetdb.schema import SchemaSet, load_sheet
from mingxiao.sheetdb.xlsx import LISTS_TITLE, MISSING_VERSION, XlsxBackend

TITLE = "人选推荐"
DISTRICTS = ("上城区", "拱墅区", "西湖区", "滨江区", "萧山区", "余杭区")
LONG_LIST = tuple(f"杭州市第{i}中学（某某教育集团）" for i in range(1, 40))

NOMINATIONS = """
title = "人选推荐"
id_prefix = "N"

[[columns]]
key = "name"
header = "姓名"
type = "text"
required = true
max_length = 30
help = "填写真实姓名"

[[columns]]
key = "district"
header = "区、县（市）"
type = "enum"
choices = "districts"

[[columns]]
key = "phone"
header = "手机"
type = "phone"

[[columns]]
key = "level"
header = "级别"
type = "enum"
choices = ["一级", "二级"]

[[columns]]
key = "born"
header = "出生日期"
type = "date"

[[columns]]
key = "notes"
header = "备注"
type = "long_text"
"""

SCHOOLS = """
title = "学校"
id_prefix = "S"

[[columns]]
key = "school"
header = "学校名称"
type = "enum"
choices = "schools"
"""


@pytest.fixture
def schemas(tmp_path: Path) -> SchemaSet:
    folder = tmp_path / "schema"
    folder.mkdir()
    (folder / "nominations.toml").write_text(NOMINATIONS, encoding="utf-8")
    (folder / "schools.toml").write_text(SCHOOLS, encoding="utf-8")
    lists = {"districts": DISTRICTS, "schools": LONG_LIST}
    sheets = {
        "nominations": load_sheet(folder / "nominations.toml", lists),
        "schools": load_sheet(folder / "schools.toml", lists),
    }
    return SchemaSet(sheets=sheets, choice_lists=lists)


@pytest.fixture
def book(tmp_path: Path, schemas: SchemaSet) -> XlsxBackend:
    backend = XlsxBackend(tmp_path / "data" / "mingxiao.xlsx", lock_timeout=5)
    backend.ensure_layout(schemas, dict(schemas.choice_lists))
    return backend


def headers(ws) -> list:
    return [c.value for c in ws[1]]


def col_of(ws, header: str) -> int:
    return headers(ws).index(header) + 1


def append(backend: XlsxBackend, *rows: dict, title: str = TITLE) -> None:
    with backend.lock():
        backend.apply(Batch(appends=[(title, r) for r in rows]))


def record(sheet: RawSheet, rid: str) -> dict:
    head = sheet.header
    for _n, row in sheet.data_rows():
        if row[head.index("编号")] == rid:
            return {h: (row[i] if i < len(row) else None) for i, h in enumerate(head) if h}
    raise KeyError(rid)


# ---------------------------------------------------------------------- ensure_layout


def test_ensure_layout_creates_tabs_headers_and_sheet_features(book: XlsxBackend, schemas: SchemaSet) -> None:
    assert book.path.is_file()
    wb = openpyxl.load_workbook(book.path)
    assert "Sheet" not in wb.sheetnames
    assert wb.sheetnames[:2] == [TITLE, "学校"]
    ws = wb[TITLE]
    assert headers(ws) == list(schemas["nominations"].headers)
    assert headers(ws)[0] == "编号"
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2"

    # dropdowns: short lists inline, long ones via the hidden _lists tab
    dvs = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    d = openpyxl.utils.get_column_letter(col_of(ws, "区、县（市）"))
    assert dvs[f"{d}2:{d}1048576"].type == "list"
    assert dvs[f"{d}2:{d}1048576"].formula1 == '"' + ",".join(DISTRICTS) + '"'
    lv = openpyxl.utils.get_column_letter(col_of(ws, "级别"))
    assert dvs[f"{lv}2:{lv}1048576"].formula1 == '"一级,二级"'
    schools = wb["学校"]
    (dv,) = [dv for dv in schools.data_validations.dataValidation]
    assert dv.formula1.startswith(f"'{LISTS_TITLE}'!$")
    lists = wb[LISTS_TITLE]
    assert lists.sheet_state == "hidden"
    letter = dv.formula1.split("!$")[1].split("$")[0]
    values = [c.value for c in lists[letter]][1:]
    assert tuple(values) == LONG_LIST
    assert dv.formula1.endswith(f"${len(LONG_LIST) + 1}")

    # header notes from help
    note = ws.cell(row=1, column=col_of(ws, "姓名")).comment
    assert note is not None and "填写真实姓名" in note.text and "必填" in note.text
    assert "请勿修改" in ws.cell(row=1, column=1).comment.text

    # protection: id column locked, the rest unlocked, sheet protected without password
    assert ws.protection.sheet is True
    assert not ws.protection.password
    for attr in ("formatCells", "formatColumns", "formatRows", "insertRows", "deleteRows", "sort", "autoFilter"):
        assert getattr(ws.protection, attr) is False, attr
    assert ws.column_dimensions["A"].protection.locked is True
    for idx in range(2, len(headers(ws)) + 1):
        cd = ws.column_dimensions[openpyxl.utils.get_column_letter(idx)]
        assert cd.protection.locked is False, idx
    phone = ws.column_dimensions[openpyxl.utils.get_column_letter(col_of(ws, "手机"))]
    assert phone.number_format == "@"
    assert ws.column_dimensions["A"].number_format == "@"
    assert ws.column_dimensions["A"].width > 10
    rest = openpyxl.utils.get_column_letter(len(headers(ws)) + 1)
    assert ws.column_dimensions[rest].protection.locked is False  # people's own columns
    assert ws.column_dimensions[rest].max == 16384


def test_ensure_layout_is_idempotent(book: XlsxBackend, schemas: SchemaSet) -> None:
    before = book.version()
    raw = book.path.read_bytes()
    book.ensure_layout(schemas, dict(schemas.choice_lists))
    assert book.version() == before  # nothing to change: not even saved
    assert book.path.read_bytes() == raw
    # A changed choice list updates the one validation instead of adding a second one.
    book.ensure_layout(schemas, {**schemas.choice_lists, "districts": ("上城区", "临平区")})
    assert book.version() != before
    wb = openpyxl.load_workbook(book.path)
    ws = wb[TITLE]
    assert len(ws.data_validations.dataValidation) == 2
    assert '"上城区,临平区"' in [dv.formula1 for dv in ws.data_validations.dataValidation]
    noted = [c.value for c in ws[1] if c.comment is not None]
    assert noted == ["编号", "姓名", "创建时间", "更新时间", "已作废"]  # the columns with help/required


def test_ensure_layout_runs_inside_the_engine_lock(tmp_path: Path, schemas: SchemaSet) -> None:
    backend = XlsxBackend(tmp_path / "w.xlsx", lock_timeout=1)
    with backend.lock():  # reentrant: the engine holds the lock around ensure_layout
        backend.ensure_layout(schemas, {})
    assert backend.path.is_file()


def test_ensure_layout_on_existing_tab_adds_missing_headers_at_the_end(tmp_path: Path, schemas: SchemaSet) -> None:
    path = tmp_path / "old.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = TITLE
    ws.append(["姓名", "我的备注", "编号"])
    ws.append(["张三", "自己加的列", "N2026-0001"])
    ws.append(["李四", None, None])
    other = wb.create_sheet("统计")
    other["B2"] = "别动我"
    wb.save(path)

    backend = XlsxBackend(path)
    backend.ensure_layout(schemas, dict(schemas.choice_lists))
    wb = openpyxl.load_workbook(path)
    ws = wb[TITLE]
    got = headers(ws)
    assert got[:3] == ["姓名", "我的备注", "编号"]  # never reordered
    assert set(schemas["nominations"].headers) <= set(got)
    assert ws["B2"].value == "自己加的列" and ws["A3"].value == "李四"
    assert wb["统计"]["B2"].value == "别动我"
    # existing cells: id locked, everything else (people's own column too) editable
    assert ws["C2"].protection.locked is True
    assert ws["A2"].protection.locked is False and ws["B2"].protection.locked is False
    assert ws.column_dimensions["C"].protection.locked is True
    assert ws.column_dimensions["B"].protection.locked is False  # people's own column between schema columns
    again = backend.version()
    backend.ensure_layout(schemas, dict(schemas.choice_lists))
    assert backend.version() == again


def test_ensure_layout_write_blocked_when_open_in_excel(tmp_path: Path, schemas: SchemaSet) -> None:
    path = tmp_path / "book.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "其他"
    wb.save(path)
    raw = path.read_bytes()
    (tmp_path / "~$book.xlsx").write_bytes(b"owner")
    with pytest.raises(WriteBlocked):
        XlsxBackend(path).ensure_layout(schemas, {})
    assert path.read_bytes() == raw


# ---------------------------------------------------------------------- apply


def test_apply_appends_and_updates_preserving_extra_columns_and_tabs(book: XlsxBackend) -> None:
    append(book, {"编号": "N2026-0001", "姓名": "张三", "区、县（市）": "西湖区"},
           {"编号": "N2026-0002", "姓名": "李四"})
    # A person adds their own column, data in it, and an unknown tab.
    wb = openpyxl.load_workbook(book.path)
    ws = wb[TITLE]
    extra = len(headers(ws)) + 1
    ws.cell(row=1, column=extra, value="联系人备注")
    ws.cell(row=2, column=extra, value="周一联系")
    ws.cell(row=3, column=extra, value="周二联系")
    mine = wb.create_sheet("我的统计")
    mine["A1"] = "合计"
    mine["B1"] = "=COUNTA(人选推荐!A:A)"
    wb.save(book.path)

    with book.lock():
        result = book.apply(Batch(
            updates=[(TITLE, "N2026-0002", {"姓名": "李四改", "手机": "13800000000"})],
            appends=[(TITLE, {"编号": "N2026-0003", "姓名": "王五", "新列": "新值"})],
        ))
    assert result.missing == []
    wb = openpyxl.load_workbook(book.path)
    ws = wb[TITLE]
    got = headers(ws)
    assert got[extra - 1] == "联系人备注" and got[extra] == "新列"  # new header after the extra one
    assert ws.cell(row=2, column=extra).value == "周一联系"
    assert ws.cell(row=3, column=extra).value == "周二联系"
    assert ws.cell(row=3, column=col_of(ws, "姓名")).value == "李四改"
    assert ws.cell(row=4, column=col_of(ws, "姓名")).value == "王五"
    assert ws.cell(row=4, column=col_of(ws, "新列")).value == "新值"
    assert wb["我的统计"]["B1"].value == "=COUNTA(人选推荐!A:A)"

    _v, tabs = book.read_all()
    assert record(tabs[TITLE], "N2026-0002")["手机"] == "13800000000"
    assert record(tabs[TITLE], "N2026-0001")["姓名"] == "张三"
    assert "我的统计" in tabs and (1, 2) in tabs["我的统计"].formulas


def test_apply_finds_rows_by_id_after_people_sort_and_insert_rows(book: XlsxBackend) -> None:
    append(book, *({"编号": f"N2026-{i:04d}", "姓名": f"人{i}"} for i in range(1, 6)))
    wb = openpyxl.load_workbook(book.path)
    ws = wb[TITLE]
    ws.insert_rows(3, amount=2)  # blank rows in the middle
    ws.cell(row=3, column=col_of(ws, "姓名"), value="手工录入")
    wb.save(book.path)
    with book.lock():
        book.apply(Batch(updates=[(TITLE, "N2026-0004", {"姓名": "改过"})],
                         appends=[(TITLE, {"编号": "N2026-0006", "姓名": "新"})]))
    _v, tabs = book.read_all()
    sheet = tabs[TITLE]
    assert record(sheet, "N2026-0004")["姓名"] == "改过"
    name_col = sheet.header.index("姓名")
    assert sheet.rows[2][name_col] == "手工录入"  # sheet row 3
    assert all(v is None for v in sheet.rows[3])  # sheet row 4 stays blank: row numbers are true
    assert sheet.rows[-1][name_col] == "新"
    assert len(sheet.rows) == 1 + 5 + 2 + 1


def test_update_of_unknown_id_is_reported_missing(book: XlsxBackend) -> None:
    append(book, {"编号": "N2026-0001", "姓名": "张三"})
    with book.lock():
        result = book.apply(Batch(updates=[
            (TITLE, "N2026-0099", {"姓名": "谁"}),
            ("没有这个表", "X1", {"a": 1}),
            (TITLE, "N2026-0001", {"姓名": "张三丰"}),
        ]))
    assert result.missing == [(TITLE, "N2026-0099"), ("没有这个表", "X1")]
    _v, tabs = book.read_all()
    assert record(tabs[TITLE], "N2026-0001")["姓名"] == "张三丰"
    assert "没有这个表" not in tabs


def test_assign_ids_only_fills_empty_id_cells(book: XlsxBackend) -> None:
    append(book, {"编号": "N2026-0001", "姓名": "甲"})
    wb = openpyxl.load_workbook(book.path)
    ws = wb[TITLE]
    ws.cell(row=3, column=col_of(ws, "姓名"), value="手工乙")
    ws.cell(row=4, column=col_of(ws, "姓名"), value="手工丙")
    wb.save(book.path)
    with book.lock():
        book.apply(Batch(
            assign_ids=[(TITLE, 2, "N2026-0777"), (TITLE, 3, "N2026-0002"), (TITLE, 4, "N2026-0003")],
            updates=[(TITLE, "N2026-0003", {"手机": "13900000000"})],
        ))
    _v, tabs = book.read_all()
    ids = [row[0] for _n, row in tabs[TITLE].data_rows()]
    assert ids == ["N2026-0001", "N2026-0002", "N2026-0003"]
    assert record(tabs[TITLE], "N2026-0003")["手机"] == "13900000000"


FORMULA_LIKE = ["=1+1", "+86", "-x", "@SUM(A1)", "\tx", "=HYPERLINK(\"http://evil\",\"x\")", "#N/A", "\rcr", "\nlf"]


def test_formula_like_text_stays_literal_text(book: XlsxBackend) -> None:
    rows = [{"编号": f"N2026-{i:04d}", "姓名": s, "备注": s} for i, s in enumerate(FORMULA_LIKE, start=1)]
    append(book, *rows)
    _v, tabs = book.read_all()
    sheet = tabs[TITLE]
    assert sheet.formulas == set()
    for i, s in enumerate(FORMULA_LIKE, start=1):
        assert record(sheet, f"N2026-{i:04d}")["姓名"] == s
    wb = openpyxl.load_workbook(book.path)
    ws = wb[TITLE]
    name_col = col_of(ws, "姓名")
    for row, s in enumerate(FORMULA_LIKE, start=2):
        cell = ws.cell(row=row, column=name_col)
        assert cell.value == s
        assert cell.data_type == "s"
        if s.startswith(("=", "+", "-", "@", "\t", "\r", "\n")):
            assert cell.quotePrefix is True, s
    with zipfile.ZipFile(book.path) as zf:
        sheet_xml = b"".join(zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets/sheet"))
    assert b"<f>" not in sheet_xml and b"<f " not in sheet_xml
    # Overwriting with plain text drops the quote prefix again.
    with book.lock():
        book.apply(Batch(updates=[(TITLE, "N2026-0001", {"姓名": "普通"})]))
    ws = openpyxl.load_workbook(book.path)[TITLE]
    assert ws.cell(row=2, column=name_col).quotePrefix is False


def test_numbers_as_text_and_typed_values_round_trip(book: XlsxBackend) -> None:
    born = dt.date(1980, 1, 2)
    stamp = dt.datetime(2026, 3, 4, 5, 6, 7)
    append(book, {
        "编号": "N2026-0001", "姓名": "0123", "手机": "13800000000", "备注": "330102198001011234",
        "出生日期": born, "创建时间": stamp, "已作废": False, "级别": 7, "区、县（市）": 2.5,
    })
    _v, tabs = book.read_all()
    rec = record(tabs[TITLE], "N2026-0001")
    assert rec["姓名"] == "0123"
    assert rec["手机"] == "13800000000"
    assert rec["备注"] == "330102198001011234"
    assert rec["出生日期"] == born
    assert rec["创建时间"] == stamp
    assert rec["已作废"] is False
    assert rec["级别"] == 7 and isinstance(rec["级别"], int)
    assert rec["区、县（市）"] == 2.5
    assert rec["更新时间"] is None
    ws = openpyxl.load_workbook(book.path)[TITLE]
    assert ws.cell(row=2, column=col_of(ws, "出生日期")).number_format == "yyyy-mm-dd"
    assert ws.cell(row=2, column=col_of(ws, "创建时间")).number_format == "yyyy-mm-dd hh:mm:ss"
    assert ws.cell(row=2, column=col_of(ws, "手机")).data_type == "s"
    # None clears a cell
    with book.lock():
        book.apply(Batch(updates=[(TITLE, "N2026-0001", {"手机": None, "已作废": True})]))
    rec = record(book.read_all()[1][TITLE], "N2026-0001")
    assert rec["手机"] is None and rec["已作废"] is True


def test_cells_written_by_the_app_stay_editable_except_ids(book: XlsxBackend) -> None:
    append(book, {"编号": "N2026-0001", "姓名": "张三", "出生日期": dt.date(1990, 5, 6)})
    ws = openpyxl.load_workbook(book.path)[TITLE]
    assert ws.cell(row=2, column=1).protection.locked is True
    assert ws.cell(row=2, column=col_of(ws, "姓名")).protection.locked is False
    assert ws.cell(row=2, column=col_of(ws, "出生日期")).protection.locked is False


def test_text_that_xml_cannot_hold_is_cleaned_not_fatal(book: XlsxBackend) -> None:
    append(book, {"编号": "N2026-0001", "姓名": "a\x00b\x07c\ud800d"})
    assert record(book.read_all()[1][TITLE], "N2026-0001")["姓名"] == "abcd"


def test_version_moves_after_apply_and_read_all_is_cached(book: XlsxBackend, monkeypatch) -> None:
    v0, tabs0 = book.read_all()
    assert v0 == book.version()
    calls = []
    real_parse = book._parse

    def counting_parse(data: bytes):
        calls.append(1)
        return real_parse(data)

    monkeypatch.setattr(book, "_parse", counting_parse)
    v1, tabs1 = book.read_all()
    assert v1 == v0 and calls == []  # served from the cache
    assert tabs1[TITLE].rows == tabs0[TITLE].rows
    tabs1[TITLE].rows.append(["changed by caller"])  # callers get their own copy
    assert book.read_all()[1][TITLE].rows == tabs0[TITLE].rows

    with book.lock():
        result = book.apply(Batch(appends=[(TITLE, {"编号": "N2026-0001", "姓名": "甲"})]))
    assert result.version == book.version() != v0
    v2, tabs2 = book.read_all()
    assert v2 == result.version and calls == [1]
    assert record(tabs2[TITLE], "N2026-0001")["姓名"] == "甲"


def test_read_all_retries_when_the_file_is_replaced_during_the_read(book: XlsxBackend, monkeypatch) -> None:
    real = book._read_bytes
    seen = []

    def replaced_while_reading() -> bytes:
        data = real()
        if not seen:
            seen.append(1)
            st = os.stat(book.path)
            os.utime(book.path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        return data

    monkeypatch.setattr(book, "_read_bytes", replaced_while_reading)
    version, _tabs = book.read_all()
    assert version == book.version()
    assert seen == [1]


def test_empty_batch_does_not_touch_the_file(book: XlsxBackend) -> None:
    before = book.version()
    with book.lock():
        assert book.apply(Batch()).version == before
    assert book.version() == before


def test_apply_on_a_new_tab_creates_it(book: XlsxBackend) -> None:
    with book.lock():
        book.apply(Batch(appends=[("新表", {"编号": "X1", "名称": "甲"})]))
    tabs = book.read_all()[1]
    assert tabs["新表"].rows == [["编号", "名称"], ["X1", "甲"]]


def test_write_into_merged_cells_unmerges_them(book: XlsxBackend) -> None:
    append(book, {"编号": "N2026-0001", "姓名": "甲"})
    wb = openpyxl.load_workbook(book.path)
    ws = wb[TITLE]
    ws.merge_cells(start_row=2, start_column=col_of(ws, "手机"), end_row=2, end_column=col_of(ws, "备注"))
    wb.save(book.path)
    with book.lock():
        book.apply(Batch(updates=[(TITLE, "N2026-0001", {"备注": "写入"})]))
    rec = record(book.read_all()[1][TITLE], "N2026-0001")
    assert rec["备注"] == "写入"


# ---------------------------------------------------------------------- blocking and locking


def _owner_files(name: str) -> list[str]:
    return ["~$" + name, "~$" + name[2:], ".~lock." + name + "#", ".~" + name]


@pytest.mark.parametrize("owner", range(4))
def test_owner_lock_file_blocks_writes(tmp_path: Path, schemas: SchemaSet, owner: int) -> None:
    backend = XlsxBackend(tmp_path / "名校长培养工程数据.xlsx")
    backend.ensure_layout(schemas, {})
    raw = backend.path.read_bytes()
    assert backend.blocked_reason() is None
    lock_name = _owner_files(backend.path.name)[owner]
    (tmp_path / lock_name).write_bytes(b"someone")
    reason = backend.blocked_reason()
    assert reason and lock_name in reason and "打开" in reason
    with backend.lock(), pytest.raises(WriteBlocked) as err:
        backend.apply(Batch(appends=[(TITLE, {"编号": "N1", "姓名": "甲"})]))
    assert str(err.value) == reason
    assert backend.path.read_bytes() == raw
    (tmp_path / lock_name).unlink()
    assert backend.blocked_reason() is None


def test_file_changed_during_apply_blocks_instead_of_overwriting(book: XlsxBackend, monkeypatch) -> None:
    append(book, {"编号": "N2026-0001", "姓名": "甲"})
    real = book._load_for_write

    def someone_saves_meanwhile():
        token, wb = real()
        other = openpyxl.load_workbook(book.path)
        other[TITLE]["B2"] = "Excel 里改的"
        other.save(book.path)
        return token, wb

    monkeypatch.setattr(book, "_load_for_write", someone_saves_meanwhile)
    with book.lock(), pytest.raises(WriteBlocked):
        book.apply(Batch(updates=[(TITLE, "N2026-0001", {"手机": "1"})]))
    monkeypatch.undo()
    rec = record(book.read_all()[1][TITLE], "N2026-0001")
    assert rec["姓名"] == "Excel 里改的" and rec["手机"] is None
    assert not [p for p in book.path.parent.iterdir() if p.name.startswith(".mingxiao.")]


def test_lock_is_cross_process_shaped_and_reentrant(tmp_path: Path) -> None:
    backend = XlsxBackend(tmp_path / "w.xlsx", lock_timeout=0.2)
    lock = backend.lock()
    assert lock is backend.lock()
    with lock, backend.lock():  # nested in one thread
        other = filelock.FileLock(str(backend.path) + ".lock")
        with pytest.raises(filelock.Timeout):
            other.acquire(timeout=0)
    other.acquire(timeout=0)
    try:
        with pytest.raises(filelock.Timeout):
            backend.lock().acquire(timeout=0)
    finally:
        other.release()


# ---------------------------------------------------------------------- bad files


def _bad_files(tmp_path: Path, good: Path) -> dict[str, Path]:
    out = {}
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    out["truncated"] = truncated
    xls = tmp_path / "old.xlsx"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(4096))
    out["xls"] = xls
    noise = tmp_path / "noise.xlsx"
    noise.write_bytes(os.urandom(5000))
    out["random"] = noise
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    out["empty"] = empty
    not_workbook = tmp_path / "docs.xlsx"
    with zipfile.ZipFile(not_workbook, "w") as zf:
        zf.writestr("hello.txt", "not a workbook")
    out["zip"] = not_workbook
    out["missing"] = tmp_path / "nope.xlsx"
    return out


@pytest.mark.parametrize("kind", ["truncated", "xls", "random", "empty", "zip", "missing"])
def test_bad_files_raise_workbook_error(tmp_path: Path, book: XlsxBackend, kind: str) -> None:
    path = _bad_files(tmp_path, book.path)[kind]
    backend = XlsxBackend(path)
    raw = path.read_bytes() if path.exists() else None
    with pytest.raises(WorkbookError) as err:
        backend.read_all()
    assert path.name in str(err.value)
    if kind == "xls":
        assert ".xls" in str(err.value) and "另存为" in str(err.value)
    with backend.lock(), pytest.raises(WorkbookError):
        backend.apply(Batch(appends=[(TITLE, {"编号": "N1"})]))
    if raw is not None:
        assert path.read_bytes() == raw
    assert backend.version() == (MISSING_VERSION if kind == "missing" else backend.version())


def test_missing_file_version_is_a_sentinel(tmp_path: Path) -> None:
    backend = XlsxBackend(tmp_path / "none.xlsx")
    assert backend.version() == MISSING_VERSION
    with pytest.raises(WorkbookError, match="不存在"):
        backend.read_all()


# ---------------------------------------------------------------------- formulas and merged cells


def test_formulas_and_merged_cells_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "f.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "表"
    ws.append(["编号", "数量", "合计"])
    ws.append(["A1", 1, "=B2*2"])
    ws.append(["A2", 2, "=SUM(B2:B3)"])
    ws["E10"] = "=TODAY()"
    ws.merge_cells("A5:B6")
    ws["A5"] = "合并"
    c = ws["D2"]
    c.value = "=not a formula"
    c.data_type = "s"
    wb.save(path)
    sheet = XlsxBackend(path).read_all()[1]["表"]
    assert sheet.formulas == {(2, 3), (3, 3), (10, 5)}
    assert sheet.merged == ["A5:B6"]
    assert sheet.rows[1][3] == "=not a formula"
    assert sheet.header[:3] == ["编号", "数量", "合计"]  # E10 has no cached value: not in rows


# ---------------------------------------------------------------------- failing saves


def test_failing_fsync_leaves_the_original_intact(book: XlsxBackend, monkeypatch) -> None:
    append(book, {"编号": "N2026-0001", "姓名": "甲"})
    raw = book.path.read_bytes()
    before = book.version()

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with book.lock(), pytest.raises(WorkbookError) as err:
        book.apply(Batch(appends=[(TITLE, {"编号": "N2026-0002", "姓名": "乙"})]))
    assert "磁盘空间不足" in str(err.value) and book.path.name in str(err.value)
    assert book.path.read_bytes() == raw
    assert book.version() == before
    leftovers = [p.name for p in book.path.parent.iterdir() if p.name not in (book.path.name, book.path.name + ".lock")]
    assert leftovers == []


def test_failing_replace_leaves_the_original_intact(book: XlsxBackend, monkeypatch) -> None:
    raw = book.path.read_bytes()

    def cannot_replace(src, dst):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "replace", cannot_replace)
    monkeypatch.setattr(os, "name", "posix")
    with book.lock(), pytest.raises(WorkbookError, match="没有写入权限"):
        book.apply(Batch(appends=[(TITLE, {"编号": "N2026-0002", "姓名": "乙"})]))
    assert book.path.read_bytes() == raw
    assert sorted(p.name for p in book.path.parent.iterdir()) == sorted([book.path.name, book.path.name + ".lock"])


def test_save_keeps_file_mode(book: XlsxBackend) -> None:
    os.chmod(book.path, 0o640)
    append(book, {"编号": "N2026-0001"})
    assert (os.stat(book.path).st_mode & 0o777) == 0o640


# ---------------------------------------------------------------------- backups


def test_backup_to_copies_the_workbook(book: XlsxBackend, tmp_path: Path) -> None:
    append(book, {"编号": "N2026-0001", "姓名": "甲"})
    dest = tmp_path / "backups" / "b.xlsx"
    book.backup_to(dest)
    assert dest.read_bytes() == book.path.read_bytes()
    copy = XlsxBackend(dest).read_all()[1]
    assert record(copy[TITLE], "N2026-0001")["姓名"] == "甲"
    assert [p.name for p in dest.parent.iterdir()] == ["b.xlsx"]


def test_user_styled_header_cell_is_kept_bold(tmp_path: Path, schemas: SchemaSet) -> None:
    path = tmp_path / "s.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = TITLE
    ws["A1"] = "编号"
    ws["A1"].font = Font(bold=True, color="FF0000")
    wb.save(path)
    XlsxBackend(path).ensure_layout(schemas, {})
    ws = openpyxl.load_workbook(path)[TITLE]
    assert ws["A1"].font.b and ws["A1"].font.color.rgb == "00FF0000"


def test_old_dropdown_inside_an_enum_column_is_replaced_not_doubled(book: XlsxBackend, schemas: SchemaSet) -> None:
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = openpyxl.load_workbook(book.path)
    ws = wb[TITLE]
    d = openpyxl.utils.get_column_letter(col_of(ws, "区、县（市）"))
    old = DataValidation(type="list", formula1='"旧区"')
    old.add(f"{d}2:{d}500")
    ws.add_data_validation(old)
    wide = DataValidation(type="whole")
    wide.add("A2:Z9")  # someone else's validation over many columns: left alone
    ws.add_data_validation(wide)
    wb.save(book.path)
    book.ensure_layout(schemas, dict(schemas.choice_lists))
    ws = openpyxl.load_workbook(book.path)[TITLE]
    in_column = [dv for dv in ws.data_validations.dataValidation if str(dv.sqref).startswith(d)]
    assert [str(dv.sqref) for dv in in_column] == [f"{d}2:{d}1048576"]
    assert "A2:Z9" in [str(dv.sqref) for dv in ws.data_validations.dataValidation]


def test_protect_ids_can_be_switched_off(tmp_path: Path, schemas: SchemaSet) -> None:
    backend = XlsxBackend(tmp_path / "open.xlsx", protect_ids=False)
    backend.ensure_layout(schemas, {})
    ws = openpyxl.load_workbook(backend.path)[TITLE]
    assert not ws.protection.sheet


def test_a_batch_openpyxl_cannot_write_is_a_workbook_error(book: XlsxBackend) -> None:
    raw = book.path.read_bytes()
    with book.lock(), pytest.raises(WorkbookError):
        book.apply(Batch(appends=[("坏/表名", {"编号": "X1"})]))
    assert book.path.read_bytes() == raw


def test_formula_scan_handles_shared_prefixed_and_unaddressed_cells(tmp_path: Path) -> None:
    from mingxiao.sheetdb.xlsx import _scan_formulas

    ns = 'xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    shared = (
        f'<x:worksheet {ns}><x:sheetData><x:row r="2"><x:c r="B2"><x:f t="shared" ref="B2:B3" si="0">A2*2</x:f>'
        '<x:v>2</x:v></x:c></x:row><x:row r="3"><x:c r="B3"><x:f t="shared" si="0"/><x:v>4</x:v></x:c>'
        '<x:c r="C3" t="s"><x:v>0</x:v></x:c></x:row></x:sheetData></x:worksheet>'
    )
    no_refs = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row><c><v>1</v></c><c><f>A1+1</f><v>2</v></c></row><row><c t="s"><v>0</v></c></row>'
        '<row r="7"><c/><c/><c><f>1</f></c></row></sheetData><autoFilter ref="A1:C7"/></worksheet>'
    )
    path = tmp_path / "parts.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.xml", shared)
        zf.writestr("b.xml", no_refs)
    with zipfile.ZipFile(path) as zf:
        assert _scan_formulas(zf, "a.xml") == {(2, 2), (3, 2)}
        assert _scan_formulas(zf, "b.xml") == {(1, 2), (7, 3)}


def test_temp_files_left_by_a_killed_writer_are_swept_on_the_next_write(tmp_path: Path) -> None:
    """A writer killed mid-save leaves `.name.<random>.xlsx`; the next write removes old ones."""
    import os
    import time

    from mingxiao.sheetdb.backend import Batch
    from mingxiao.sheetdb.xlsx import XlsxBackend

    path = tmp_path / "w.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "导师"
    wb.active.append(["编号", "姓名"])
    wb.save(path)
    stale = tmp_path / ".w.abc123.xlsx"
    fresh = tmp_path / ".w.def456.xlsx"
    stale.write_bytes(b"partial")
    fresh.write_bytes(b"in progress")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    backend = XlsxBackend(path)
    with backend.lock():
        backend.apply(Batch(appends=[("导师", {"编号": "M0001", "姓名": "王老师"})]))
    assert not stale.exists()
    assert fresh.exists()  # another writer may be saving right now: young temp files stay
