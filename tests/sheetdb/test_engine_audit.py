"""Direct edits in the workbook are audited like web edits; stale copies raise one incident."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

import mingxiao.sheetdb.xlsx as xlsx_module
from mingxiao.sheetdb import Database, Record
from mingxiao.sheetdb.engine import RecordNotFound
from tests.sheetdb.helpers import (
    ID_HEADER,
    copy_over,
    find_row,
    hand_edit,
    header_col,
    open_small,
    row_by_id,
    rows_openpyxl,
    set_cell,
)

TITLE = "导师"


def add(db: Database, name: str) -> Record:
    return db.table("mentors").insert({"name": name, "organisation": "杭州二中"}, user="web-user")


def ids(path: Path) -> list[str]:
    return [r[ID_HEADER] for r in rows_openpyxl(path, TITLE)]


# ---------------------------------------------------------------------- direct edits


def test_direct_edit_is_audited_with_sheet_id_field_old_and_new(
    db: Database, workbook: Path
) -> None:
    rec = add(db, "王老师")
    db.sync()
    set_cell(workbook, TITLE, rec.id, "工作单位", "杭州十四中")
    db.sync()
    (entry,) = db.audit(source="sheet")
    assert (entry["sheet"], entry["record_id"], entry["field"]) == (
        "mentors",
        rec.id,
        "organisation",
    )
    assert (entry["old"], entry["new"]) == ("杭州二中", "杭州十四中")
    assert entry["user"] is None


def test_direct_and_web_edits_share_one_trail(db: Database, workbook: Path) -> None:
    rec = add(db, "王老师")
    db.sync()
    set_cell(workbook, TITLE, rec.id, "工作单位", "杭州十四中")
    db.sync()
    db.table("mentors").update(rec.id, {"name": "王校长"}, base={"name": "王老师"}, user="editor")
    db.sync()
    trail = db.audit(record_id=rec.id)  # newest first
    assert [(e["source"], e["field"]) for e in trail] == [
        ("web", "name"),
        ("sheet", "organisation"),
        ("web", None),  # the insert
    ]
    assert trail[0]["user"] == "editor" and (trail[0]["old"], trail[0]["new"]) == (
        "王老师",
        "王校长",
    )


def test_each_direct_edit_is_audited_once_even_with_two_processes(
    tmp_path: Path, db: Database, workbook: Path
) -> None:
    rec = add(db, "王老师")
    db.sync()
    other = open_small(tmp_path, init=False)
    set_cell(workbook, TITLE, rec.id, "工作单位", "杭州十四中")
    other.sync()
    db.sync()
    other.sync()
    assert len(db.audit(source="sheet")) == 1
    other.close()


def test_typed_values_are_audited_readably(db: Database, workbook: Path) -> None:
    rec = db.table("mentors").insert(
        {"name": "王老师", "organisation": "A", "active": True, "age": 40}
    )
    db.sync()
    with hand_edit(workbook, TITLE) as ws:
        row = find_row(ws, rec.id)
        ws.cell(row=row, column=header_col(ws, "在聘")).value = "否"
        ws.cell(row=row, column=header_col(ws, "年龄")).value = 41
    db.sync()
    got = {e["field"]: (e["old"], e["new"]) for e in db.audit(source="sheet")}
    assert got == {"active": ("是", "否"), "age": ("40", "41")}


def test_row_added_by_hand_is_audited_and_given_an_id(db: Database, workbook: Path) -> None:
    add(db, "王老师")
    db.sync()
    with hand_edit(workbook, TITLE) as ws:
        ws.cell(row=3, column=header_col(ws, "姓名")).value = "手工录入"
        ws.cell(row=3, column=header_col(ws, "工作单位")).value = "学军中学"
    db.sync()
    assert ids(workbook) == ["M0001", "M0002"]
    assigned = [e for e in db.audit(record_id="M0002") if e["field"] == "id"]
    assert assigned and assigned[0]["source"] == "system"
    assert db.table("mentors").get("M0002")["name"] == "手工录入"


def test_single_row_deleted_by_hand_is_audited_without_an_incident(
    db: Database, workbook: Path
) -> None:
    a, b, c = add(db, "甲"), add(db, "乙"), add(db, "丙")
    db.sync()
    with hand_edit(workbook, TITLE) as ws:
        ws.delete_rows(find_row(ws, b.id))
    db.sync()
    deleted = [e for e in db.audit(record_id=b.id, source="sheet")]
    assert len(deleted) == 1 and "删除" in deleted[0]["note"]
    assert db.incidents() == []
    assert db.status()["incidents"] == 0
    assert [r.id for r in db.table("mentors").all()] == [a.id, c.id]


# ---------------------------------------------------------------------- stale copies


@pytest.fixture
def stale_copy(tmp_path: Path, db: Database, workbook: Path) -> tuple[list[Record], list[Record]]:
    """Two rows synced, the file copied, 3 rows written by the app, the old copy saved back."""
    kept = [add(db, "甲"), add(db, "乙")]
    db.sync()
    old = tmp_path / "old-copy.xlsx"
    shutil.copy2(workbook, old)
    lost = [add(db, "丙"), add(db, "丁"), add(db, "戊")]
    db.sync()
    assert ids(workbook) == [r.id for r in kept + lost]
    copy_over(old, workbook)  # someone saves the copy they had open since this morning
    db.sync()
    return kept, lost


@pytest.mark.xlsx_only("an old copy of the file saved over it")
def test_stale_copy_raises_exactly_one_open_incident_listing_the_vanished_rows(
    db: Database, stale_copy: tuple[list[Record], list[Record]]
) -> None:
    _kept, lost = stale_copy
    db.sync()  # a later sync does not raise it again
    (incident,) = db.incidents()
    assert incident["kind"] == "stale_copy" and incident["status"] == "open"
    assert sorted(v["id"] for v in incident["detail"]["vanished"]) == sorted(r.id for r in lost)
    detail = incident["detail"]
    assert "3 行" in detail["message"].format(**detail.get("params", {}))  # a translatable template
    assert db.status()["incidents"] == 1


@pytest.mark.xlsx_only("an old copy of the file saved over it")
def test_stale_copy_is_not_silently_repaired(
    db: Database, workbook: Path, stale_copy: tuple[list[Record], list[Record]]
) -> None:
    kept, _lost = stale_copy
    db.sync()
    assert ids(workbook) == [r.id for r in kept]


@pytest.mark.xlsx_only("an old copy of the file saved over it")
def test_another_process_does_not_raise_a_second_incident(
    tmp_path: Path, db: Database, stale_copy: tuple[list[Record], list[Record]]
) -> None:
    other = open_small(tmp_path, init=False)
    other.sync()
    assert len(other.incidents()) == 1
    other.close()


@pytest.mark.xlsx_only("an old copy of the file saved over it")
def test_reapplying_the_incident_restores_the_rows_exactly_once(
    db: Database, workbook: Path, stale_copy: tuple[list[Record], list[Record]]
) -> None:
    kept, lost = stale_copy
    (incident,) = db.incidents()
    assert db.reapply_incident(incident["id"], user="admin") == 3
    db.sync()
    db.sync()
    assert ids(workbook) == [r.id for r in kept + lost]
    for rec in lost:
        assert row_by_id(workbook, TITLE, rec.id)["姓名"] == rec["name"]
    assert db.incidents() == []
    assert db.incidents(status="reapplied")[0]["resolved_by"] == "admin"
    with pytest.raises(RecordNotFound):
        db.reapply_incident(incident["id"], user="admin")
    assert db.conflicts() == [] and db.status()["pending"] == 0


@pytest.mark.xlsx_only("an old copy of the file saved over it")
def test_reapplying_also_restores_app_edits_the_stale_copy_reverted(
    tmp_path: Path, db: Database, workbook: Path
) -> None:
    a, b = add(db, "甲"), add(db, "乙")
    db.sync()
    old = tmp_path / "old-copy.xlsx"
    shutil.copy2(workbook, old)
    db.table("mentors").update(
        a.id, {"organisation": "学军中学"}, base={"organisation": "杭州二中"}
    )
    c, d = add(db, "丙"), add(db, "丁")
    db.sync()
    copy_over(old, workbook)
    db.sync()
    (incident,) = db.incidents()
    db.reapply_incident(incident["id"], user="admin")
    db.sync()
    assert ids(workbook) == [a.id, b.id, c.id, d.id]
    assert row_by_id(workbook, TITLE, a.id)["工作单位"] == "学军中学"
    assert db.conflicts() == []


@pytest.mark.xlsx_only("an old copy of the file saved over it")
def test_reapply_in_a_later_second_parks_nothing(
    tmp_path: Path, db: Database, workbook: Path
) -> None:
    """Re-applying a reverted edit must not turn the row's own 更新时间 into a conflict."""
    a = add(db, "甲")
    add(db, "乙")
    db.sync()
    old = tmp_path / "old-copy.xlsx"
    shutil.copy2(workbook, old)
    time.sleep(1.05)
    db.table("mentors").update(
        a.id, {"organisation": "学军中学"}, base={"organisation": "杭州二中"}
    )
    add(db, "丙")
    add(db, "丁")
    db.sync()
    copy_over(old, workbook)
    db.sync()
    (incident,) = db.incidents()
    time.sleep(1.05)  # the admin re-applies a moment later
    db.reapply_incident(incident["id"], user="admin")
    result = db.sync()
    assert result is not None and result.parked == 0
    assert db.conflicts() == []


@pytest.mark.xlsx_only("patches the xlsx backend's os.replace")
def test_hand_save_right_after_our_save_is_still_audited(
    db: Database, workbook: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A person saves in Excel a moment after the engine replaced the file (a shared drive)."""

    rec = add(db, "王老师")
    db.sync()
    real_replace = os.replace

    def replace_then_a_person_saves(src: str, dst: str) -> None:
        real_replace(src, dst)
        if Path(dst) == workbook:
            monkeypatch.setattr(xlsx_module.os, "replace", real_replace)
            set_cell(workbook, TITLE, rec.id, "工作单位", "杭州十四中")

    monkeypatch.setattr(xlsx_module.os, "replace", replace_then_a_person_saves)
    add(db, "李老师")
    db.sync()
    assert row_by_id(workbook, TITLE, rec.id)["工作单位"] == "杭州十四中"
    db.sync()
    assert db.table("mentors").get(rec.id)["organisation"] == "杭州十四中"
    assert [(e["record_id"], e["field"], e["new"]) for e in db.audit(source="sheet")] == [
        (rec.id, "organisation", "杭州十四中")
    ]
