"""A person has the workbook open (an Office/WPS/LibreOffice owner file sits beside it).

Saves are acknowledged and readable at once, nothing is written to the file, the status says
why in Chinese, and everything is applied once the owner file goes away.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from mingxiao.sheetdb import Database, open_database
from tests.sheetdb.helpers import (
    ID_HEADER,
    VOID_HEADER,
    open_small,
    row_by_id,
    rows_openpyxl,
    write_schemas,
)

pytestmark = pytest.mark.xlsx_only("Excel/WPS/LibreOffice owner lock files next to the workbook")

TITLE = "导师"
OWNER_FILES = ["~$w.xlsx", ".~lock.w.xlsx#"]
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_without_an_owner_file_nothing_is_blocked(db: Database) -> None:
    db.table("mentors").insert({"name": "王老师", "organisation": "A"})
    db.sync()
    assert db.status()["blocked"] is None
    assert len(rows_openpyxl(db.backend.path, TITLE)) == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("owner", OWNER_FILES)
def test_saves_wait_while_the_workbook_is_open_and_apply_after_it_closes(
    tmp_path: Path, db: Database, owner: str
) -> None:
    mentors = db.table("mentors")
    early = mentors.insert({"name": "王老师", "organisation": "A"}, user="u")
    doomed = mentors.insert({"name": "错老师", "organisation": "X"}, user="u")
    db.sync()
    workbook = tmp_path / "w.xlsx"
    lock_file = tmp_path / owner
    lock_file.write_bytes(b"someone")  # Excel/LibreOffice opened the workbook
    before = workbook.read_bytes()
    stat_before = workbook.stat()

    added = [mentors.insert({"name": f"导师{i}", "organisation": "B"}, user="u") for i in range(3)]
    upd = mentors.update(early.id, {"organisation": "C"}, base={"organisation": "A"}, user="u")
    mentors.void(doomed.id, user="u")
    assert upd.status == "pending"
    # acknowledged and readable (marked syncing) although not written
    assert all(mentors.get(r.id).syncing for r in added)
    assert mentors.get(early.id)["organisation"] == "C"
    assert mentors.get(doomed.id) is None

    result = db.sync()
    assert result is not None and result.saves == 0 and result.applied == 0
    assert workbook.read_bytes() == before
    assert workbook.stat().st_mtime_ns == stat_before.st_mtime_ns
    status = db.status()
    assert status["pending"] == 5
    assert status["blocked"] and owner in status["blocked"] and CJK.search(status["blocked"])
    assert "打开" in status["blocked"]

    lock_file.unlink()  # the person closed the workbook
    result = db.sync()
    assert result is not None and result.applied == 5
    status = db.status()
    assert status["pending"] == 0 and status["blocked"] is None
    ids = [r[ID_HEADER] for r in rows_openpyxl(workbook, TITLE)]
    assert ids == [early.id, doomed.id, *[r.id for r in added]]
    assert row_by_id(workbook, TITLE, early.id)["工作单位"] == "C"
    assert row_by_id(workbook, TITLE, doomed.id)[VOID_HEADER] == "是"
    assert all(not mentors.get(r.id).syncing for r in added)


def test_owner_file_blocks_the_first_write_to_a_fresh_workbook_too(
    tmp_path: Path, db: Database
) -> None:
    (tmp_path / "~$w.xlsx").write_bytes(b"")
    rec = db.table("nominations").insert({"name": "张三"})
    before = (tmp_path / "w.xlsx").read_bytes()
    db.sync()
    assert (tmp_path / "w.xlsx").read_bytes() == before
    assert db.pending()[0].record_id == rec.id


def test_background_flusher_applies_once_the_owner_file_goes_away(tmp_path: Path) -> None:
    db = open_small(tmp_path, autoflush=True, idle_interval=0.2, flush_delay=0.05)
    try:
        lock_file = tmp_path / ".~lock.w.xlsx#"
        lock_file.write_text("user,host")
        before = (tmp_path / "w.xlsx").read_bytes()
        rec = db.table("mentors").insert({"name": "王老师", "organisation": "A"})
        time.sleep(1.0)  # the flusher tried at least once and was refused
        assert (tmp_path / "w.xlsx").read_bytes() == before
        assert db.status()["blocked"]
        lock_file.unlink()
        deadline = time.monotonic() + 15
        while db.status()["pending"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert db.status()["pending"] == 0
        assert [r[ID_HEADER] for r in rows_openpyxl(tmp_path / "w.xlsx", TITLE)] == [rec.id]
    finally:
        db.close()


def test_a_restarted_process_still_applies_what_was_saved_while_blocked(
    tmp_path: Path, db: Database
) -> None:
    (tmp_path / "~$w.xlsx").write_bytes(b"")
    rec = db.table("mentors").insert({"name": "王老师", "organisation": "A"})
    db.sync()
    db.close()  # the worker is restarted while Excel still has the file open
    (tmp_path / "~$w.xlsx").unlink()
    again = open_small(tmp_path, init=False)
    again.sync()
    assert [r[ID_HEADER] for r in rows_openpyxl(tmp_path / "w.xlsx", TITLE)] == [rec.id]
    again.close()


@pytest.mark.parametrize(
    "owner",
    ["~$mingxiao.xlsx", "~$ngxiao.xlsx", ".~lock.mingxiao.xlsx#", ".~mingxiao.xlsx"],
    ids=["excel", "office-short-name", "libreoffice", "wps"],
)
def test_owner_files_of_the_default_workbook_name_block_writes(tmp_path: Path, owner: str) -> None:
    schema_dir = write_schemas(tmp_path / "schemas")
    db = open_database(
        instance=tmp_path, schema_dir=schema_dir, autoflush=False
    )  # instance/mingxiao.xlsx
    db.init()
    workbook = tmp_path / "mingxiao.xlsx"
    (tmp_path / owner).write_bytes(b"")
    before = workbook.read_bytes()
    db.table("mentors").insert({"name": "王老师", "organisation": "A"})
    db.sync()
    assert workbook.read_bytes() == before
    assert owner in (db.status()["blocked"] or "")
    (tmp_path / owner).unlink()
    db.sync()
    assert len(rows_openpyxl(workbook, TITLE)) == 1
    db.close()
