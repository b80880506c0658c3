"""Other processes follow a group commit by patching their snapshot, not by re-reading.

Two ``Database`` objects on the same workbook and instance stand for two gunicorn workers (each
has its own snapshot, as a process has). The reader's backend *instance* is wrapped to count
``read_all`` calls; the engine code is not touched.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from mingxiao.sheetdb import Database
from tests.sheetdb.helpers import find_row, hand_edit, header_col, open_small

TITLE = "导师"


def _count_reads(db: Database) -> list[int]:
    calls = [0]
    real = db.backend.read_all

    def read_all() -> Any:
        calls[0] += 1
        return real()

    db.backend.read_all = read_all  # type: ignore[method-assign]
    return calls


@pytest.fixture
def pair(tmp_path: Path) -> Any:
    writer = open_small(tmp_path)
    first = writer.table("mentors").insert({"name": "先来的", "organisation": "甲"})
    writer.sync()
    reader = open_small(tmp_path, init=False)
    assert reader.table("mentors").get(first.id) is not None  # reader has loaded the workbook
    yield writer, reader, first
    writer.close()
    reader.close()


def test_a_reader_follows_the_writers_group_commits_without_reading_the_workbook(pair: Any) -> None:
    writer, reader, first = pair
    reads = _count_reads(reader)
    born = dt.date(1975, 3, 9)
    new = writer.table("mentors").insert({"name": "新来的", "organisation": "乙", "born": born, "age": 50})
    writer.table("mentors").update(first.id, {"organisation": "丙"})
    writer.sync()
    writer.table("mentors").insert({"name": "第三位", "organisation": "丁"})
    writer.sync()
    rows = {r["name"]: r for r in reader.table("mentors").all()}
    assert reads[0] == 0
    assert set(rows) == {"先来的", "新来的", "第三位"}
    assert rows["先来的"]["organisation"] == "丙"
    assert rows["新来的"]["born"] == born and isinstance(rows["新来的"]["born"], dt.date)
    assert rows["新来的"].id == new.id
    assert reader.snapshot().version == reader.backend.version()
    # The patched snapshot is what a fresh read of the file gives.
    fresh = open_small(writer.instance, init=False)
    try:
        for rec in fresh.table("mentors").all():
            assert dict(reader.table("mentors").get(rec.id) or {}) == dict(rec)
            assert (reader.table("mentors").get(rec.id) or rec).row == rec.row
    finally:
        fresh.close()


def test_a_reader_writes_on_top_of_a_patched_snapshot(pair: Any) -> None:
    writer, reader, first = pair
    writer.table("mentors").insert({"name": "新来的", "organisation": "乙"})
    writer.sync()
    reader.table("mentors").update(first.id, {"age": 61})
    reader.sync()
    writer.table("mentors").update(first.id, {"organisation": "戊"})
    writer.sync()
    rows = {r["name"]: r for r in open_small(writer.instance, init=False).table("mentors").all()}
    assert rows["先来的"]["age"] == 61 and rows["先来的"]["organisation"] == "戊"
    assert len(rows) == 2
    assert not writer.conflicts() and not reader.conflicts()


@pytest.mark.xlsx_only("a hand edit saved over the workbook file")
def test_a_hand_edit_after_a_group_commit_is_still_read_from_the_file(pair: Any) -> None:
    writer, reader, first = pair
    reads = _count_reads(reader)
    writer.table("mentors").insert({"name": "新来的", "organisation": "乙"})
    writer.sync()
    assert reader.table("mentors").count() == 2 and reads[0] == 0
    with hand_edit(writer.instance / "w.xlsx", TITLE) as ws:
        ws.cell(find_row(ws, first.id), header_col(ws, "工作单位")).value = "手改的"
    assert reader.table("mentors").get(first.id)["organisation"] == "手改的"
    assert reads[0] == 1


@pytest.mark.xlsx_only("a hand edit saved over the workbook file")
def test_a_hand_edit_between_two_group_commits_breaks_the_chain(pair: Any) -> None:
    writer, reader, first = pair
    reads = _count_reads(reader)
    with hand_edit(writer.instance / "w.xlsx", TITLE) as ws:
        ws.cell(find_row(ws, first.id), header_col(ws, "工作单位")).value = "手改的"
    writer.table("mentors").insert({"name": "新来的", "organisation": "乙"})
    writer.sync()  # the writer re-reads the hand edit, then writes: its delta starts there
    rec = reader.table("mentors").get(first.id)
    assert rec is not None and rec["organisation"] == "手改的"
    assert reader.table("mentors").count() == 2
    assert reads[0] == 1


def test_rows_typed_without_an_id_make_every_process_re_read(pair: Any, sheet_backend: str) -> None:
    writer, reader, _first = pair
    if sheet_backend != "xlsx":
        pytest.skip("a row typed into the file")
    with hand_edit(writer.instance / "w.xlsx", TITLE) as ws:
        ws.append([None, "手填的", "己"])
    writer.sync()  # assigns the id: row identities changed, no delta is journaled
    reads = _count_reads(reader)
    names = {r["name"]: r.id for r in reader.table("mentors").all()}
    assert names["手填的"]
    assert reads[0] == 1


def test_google_a_persons_edit_folded_into_the_announced_version_is_still_shown(
    pair: Any, sheet_backend: str
) -> None:
    """On Google the version after a write is Drive's modifiedTime, asked right after it: a
    person's edit typed between the write and that question is inside the announced version.
    The writer re-reads after its own writes, finds the edit and makes every worker re-read."""
    writer, reader, first = pair
    if sheet_backend != "gsheets":
        pytest.skip("Google's change token")
    path = writer.instance / "w.xlsx"
    real = writer.backend._drive_modified
    real_publish = writer.backend._publish_after_write
    typed: list[bool] = []
    armed: list[bool] = []

    def drive_modified(deadline: float) -> str:
        if armed and not typed:
            typed.append(True)
            with hand_edit(path, TITLE) as ws:  # a person, in the browser, during our write
                ws.cell(find_row(ws, first.id), header_col(ws, "工作单位")).value = "手改的"
        return real(deadline=deadline)

    def publish(announce: Any) -> bool:
        armed.append(True)  # the question Drive is asked right after the write
        return real_publish(announce)

    writer.backend._drive_modified = drive_modified  # type: ignore[method-assign]
    writer.backend._publish_after_write = publish  # type: ignore[method-assign]
    reads = _count_reads(reader)
    writer.table("mentors").insert({"name": "新来的", "organisation": "乙"})
    writer.sync()
    assert typed
    assert reader.table("mentors").count() == 2 and reads[0] == 0  # patched: the edit is hidden
    writer.sync()  # the writer re-reads its own write, finds the person's edit, invalidates
    rec = reader.table("mentors").get(first.id)
    assert rec is not None and rec["organisation"] == "手改的"
    assert reads[0] == 1
    assert any(e["field"] == "organisation" and e["source"] == "sheet" for e in writer.audit(record_id=first.id))
