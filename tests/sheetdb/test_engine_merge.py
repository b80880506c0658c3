"""A hand edit in Excel between form load and save: three-way merge, never a silent overwrite.

Two timings: the hand edit lands before ``update()`` (the merge happens when the update is
journaled) or after ``update()`` was acknowledged but before the sync (the merge happens when
the operation is applied to the workbook).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mingxiao.sheetdb import Database, FieldConflict, Record
from tests.sheetdb.helpers import open_small, row_by_id, set_cell

TITLE = "导师"


@pytest.fixture
def mentor(db: Database) -> Record:
    rec = db.table("mentors").insert(
        {"name": "王老师", "organisation": "杭州二中", "note": "教授"}, user="a"
    )
    db.sync()
    return rec


def form(db: Database, rid: str) -> dict:
    """What the edit form showed: the record's values when the page was loaded."""
    rec = db.table("mentors").get(rid)
    assert rec is not None
    return dict(rec)


def in_file(db: Database, rid: str) -> dict:
    return row_by_id(db.instance / "w.xlsx", TITLE, rid)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------- hand edit before save


def test_hand_edit_to_another_field_is_merged_with_the_web_edit(
    db: Database, mentor: Record
) -> None:
    base = form(db, mentor.id)
    set_cell(db.instance / "w.xlsx", TITLE, mentor.id, "工作单位", "杭州十四中")  # type: ignore[attr-defined]
    res = db.table("mentors").update(mentor.id, {"name": "王校长"}, base=base, user="u")
    assert res.status == "pending"
    db.sync()
    row = in_file(db, mentor.id)
    assert (row["姓名"], row["工作单位"]) == ("王校长", "杭州十四中")
    assert db.conflicts() == []


def test_hand_edit_to_same_field_is_parked_not_overwritten(db: Database, mentor: Record) -> None:
    base = form(db, mentor.id)
    set_cell(db.instance / "w.xlsx", TITLE, mentor.id, "工作单位", "杭州十四中")  # type: ignore[attr-defined]
    res = db.table("mentors").update(mentor.id, {"organisation": "学军中学"}, base=base, user="u")
    assert res.status == "parked"
    assert res.conflicts == [
        FieldConflict("organisation", "工作单位", "杭州二中", "杭州十四中", "学军中学")
    ]
    db.sync()
    assert in_file(db, mentor.id)["工作单位"] == "杭州十四中"  # theirs kept in the file
    (parked,) = db.conflicts()
    assert parked.seq == res.op.seq  # type: ignore[union-attr]
    assert parked.values == {"organisation": "学军中学"}  # mine kept in the journal
    (field,) = parked.conflict["fields"]  # type: ignore[index]
    assert (field["base"], field["theirs"], field["mine"]) == ("杭州二中", "杭州十四中", "学军中学")
    assert db.status()["parked"] == 1
    assert db.table("mentors").get(mentor.id)["organisation"] == "杭州十四中"


def test_parked_update_keeps_its_other_fields_out_of_the_file_too(
    db: Database, mentor: Record
) -> None:
    """A parked operation is parked whole: no half-applied save a person did not confirm."""
    base = form(db, mentor.id)
    set_cell(db.instance / "w.xlsx", TITLE, mentor.id, "工作单位", "杭州十四中")  # type: ignore[attr-defined]
    res = db.table("mentors").update(
        mentor.id, {"organisation": "学军中学", "note": "特级教师"}, base=base, user="u"
    )
    assert res.status == "parked"
    assert [c.field for c in res.conflicts] == ["organisation"]
    db.sync()
    row = in_file(db, mentor.id)
    assert (row["工作单位"], row["备注"]) == ("杭州十四中", "教授")


def test_both_sides_making_the_same_change_is_not_a_conflict(db: Database, mentor: Record) -> None:
    base = form(db, mentor.id)
    set_cell(db.instance / "w.xlsx", TITLE, mentor.id, "工作单位", "学军中学")  # type: ignore[attr-defined]
    res = db.table("mentors").update(mentor.id, {"organisation": "学军中学"}, base=base, user="u")
    assert res.status == "pending"
    db.sync()
    assert db.conflicts() == []
    assert in_file(db, mentor.id)["工作单位"] == "学军中学"


def test_resolving_with_mine_writes_mine_and_audits_it(db: Database, mentor: Record) -> None:
    base = form(db, mentor.id)
    set_cell(db.instance / "w.xlsx", TITLE, mentor.id, "工作单位", "杭州十四中")  # type: ignore[attr-defined]
    res = db.table("mentors").update(mentor.id, {"organisation": "学军中学"}, base=base, user="u")
    db.sync()
    new_op = db.resolve(res.op.seq, {"organisation": "mine"}, user="admin")  # type: ignore[union-attr]
    assert new_op is not None
    db.sync()
    assert in_file(db, mentor.id)["工作单位"] == "学军中学"
    assert db.conflicts() == []
    assert db.status()["pending"] == 0
    trail = db.audit(record_id=mentor.id, source="web")
    assert any(
        e["field"] == "organisation"
        and e["old"] == "杭州十四中"
        and e["new"] == "学军中学"
        and e["user"] == "admin"
        for e in trail
    )
    assert any("解决冲突" in (e["note"] or "") for e in trail)


def test_resolving_with_theirs_keeps_the_hand_value(db: Database, mentor: Record) -> None:
    base = form(db, mentor.id)
    set_cell(db.instance / "w.xlsx", TITLE, mentor.id, "工作单位", "杭州十四中")  # type: ignore[attr-defined]
    res = db.table("mentors").update(mentor.id, {"organisation": "学军中学"}, base=base, user="u")
    db.sync()
    assert db.resolve(res.op.seq, {"organisation": "theirs"}, user="admin") is None  # type: ignore[union-attr]
    db.sync()
    assert in_file(db, mentor.id)["工作单位"] == "杭州十四中"
    assert db.conflicts() == []


def test_resolving_with_a_third_value_writes_that_value(db: Database, mentor: Record) -> None:
    base = form(db, mentor.id)
    set_cell(db.instance / "w.xlsx", TITLE, mentor.id, "工作单位", "杭州十四中")  # type: ignore[attr-defined]
    res = db.table("mentors").update(mentor.id, {"organisation": "学军中学"}, base=base, user="u")
    db.resolve(res.op.seq, {"organisation": "杭州高级中学"}, user="admin")  # type: ignore[union-attr]
    db.sync()
    assert in_file(db, mentor.id)["工作单位"] == "杭州高级中学"


# ---------------------------------------------------------------------- hand edit after save, before sync


def test_hand_edit_after_save_to_another_field_merges_at_apply_time(
    db: Database, mentor: Record
) -> None:
    base = form(db, mentor.id)
    res = db.table("mentors").update(mentor.id, {"name": "王校长"}, base=base, user="u")
    assert res.status == "pending"
    set_cell(db.instance / "w.xlsx", TITLE, mentor.id, "工作单位", "杭州十四中")  # type: ignore[attr-defined]
    db.sync()
    row = in_file(db, mentor.id)
    assert (row["姓名"], row["工作单位"]) == ("王校长", "杭州十四中")
    assert db.conflicts() == []


def test_hand_edit_after_save_to_same_field_is_parked_at_apply_time(
    db: Database, mentor: Record
) -> None:
    base = form(db, mentor.id)
    res = db.table("mentors").update(mentor.id, {"organisation": "学军中学"}, base=base, user="u")
    assert res.status == "pending"  # acknowledged: nobody had touched the sheet yet
    set_cell(db.instance / "w.xlsx", TITLE, mentor.id, "工作单位", "杭州十四中")  # type: ignore[attr-defined]
    result = db.sync()
    assert result is not None and result.parked == 1
    assert in_file(db, mentor.id)["工作单位"] == "杭州十四中"
    (parked,) = db.conflicts()
    assert parked.seq == res.op.seq  # type: ignore[union-attr]
    (field,) = parked.conflict["fields"]  # type: ignore[index]
    assert (field["base"], field["theirs"], field["mine"]) == ("杭州二中", "杭州十四中", "学军中学")
    assert db.table("mentors").get(mentor.id)["organisation"] == "杭州十四中"  # no longer overlaid


def test_parked_at_apply_time_then_resolved_with_mine(db: Database, mentor: Record) -> None:
    base = form(db, mentor.id)
    res = db.table("mentors").update(mentor.id, {"organisation": "学军中学"}, base=base, user="u")
    set_cell(db.instance / "w.xlsx", TITLE, mentor.id, "工作单位", "杭州十四中")  # type: ignore[attr-defined]
    db.sync()
    db.resolve(res.op.seq, {"organisation": "mine"}, user="admin")  # type: ignore[union-attr]
    db.sync()
    assert in_file(db, mentor.id)["工作单位"] == "学军中学"
    sheet_edits = db.audit(record_id=mentor.id, source="sheet")
    assert [(e["field"], e["old"], e["new"]) for e in sheet_edits] == [
        ("organisation", "杭州二中", "杭州十四中")
    ]


def test_another_process_sees_the_parked_conflict(
    tmp_path: Path, db: Database, mentor: Record
) -> None:
    base = form(db, mentor.id)
    set_cell(db.instance / "w.xlsx", TITLE, mentor.id, "工作单位", "杭州十四中")  # type: ignore[attr-defined]
    db.table("mentors").update(mentor.id, {"organisation": "学军中学"}, base=base, user="u")
    other = open_small(tmp_path, init=False)
    assert [op.record_id for op in other.conflicts()] == [mentor.id]
    other.close()


def test_two_web_users_in_two_processes_editing_the_same_field_second_is_parked(
    tmp_path: Path, db: Database, mentor: Record
) -> None:
    other = open_small(tmp_path, init=False)  # another gunicorn worker
    base = form(other, mentor.id)
    first = db.table("mentors").update(
        mentor.id, {"organisation": "学军中学"}, base=base, user="u1"
    )
    second = other.table("mentors").update(
        mentor.id, {"organisation": "杭州十四中"}, base=base, user="u2"
    )
    third = other.table("mentors").update(mentor.id, {"note": "副教授"}, base=base, user="u2")
    assert (first.status, second.status, third.status) == ("pending", "parked", "pending")
    assert second.conflicts == [
        FieldConflict("organisation", "工作单位", "杭州二中", "学军中学", "杭州十四中")
    ]
    other.sync()
    row = in_file(db, mentor.id)
    assert (row["工作单位"], row["备注"]) == ("学军中学", "副教授")
    other.close()
