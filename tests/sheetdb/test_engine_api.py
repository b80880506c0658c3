"""The table API on a real workbook: reads, writes, typed values, ids, text safety, backups."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import hypothesis.strategies as st
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings

from mingxiao.sheetdb import Database, Record, ValidationError
from mingxiao.sheetdb.types import valid_id_card
from tests.sheetdb.helpers import (
    ID_CARD,
    ID_CARD_2,
    ID_HEADER,
    VOID_HEADER,
    find_row,
    hand_edit,
    header_col,
    open_small,
    row_by_id,
    rows_calamine,
    rows_openpyxl,
)

TITLE = "导师"


def add(db: Database, name: str, **values: object) -> Record:
    return db.table("mentors").insert(
        {"name": name, "organisation": "杭州二中", **values}, user="tester"
    )


def fresh(tmp_path: Path) -> Database:
    """A second Database on the same files: reads only what is really in the workbook."""
    return open_small(tmp_path, init=False)


# ---------------------------------------------------------------------- reads


def test_get_returns_the_record_by_id_and_none_for_unknown_ids(db: Database) -> None:
    a = add(db, "王老师")
    add(db, "李老师")
    db.sync()
    mentors = db.table("mentors")
    assert mentors.get(a.id)["name"] == "王老师"
    assert mentors.get("M9999") is None


def test_where_filters_by_equality_and_by_predicate(db: Database) -> None:
    add(db, "王老师", level="一级", age=50)
    add(db, "李老师", level="二级", age=40)
    add(db, "赵老师", level="一级", age=30)
    db.sync()
    mentors = db.table("mentors")
    assert [r["name"] for r in mentors.where(level="一级")] == ["王老师", "赵老师"]
    assert [r["name"] for r in mentors.where(lambda r: r["age"] < 45)] == ["李老师", "赵老师"]
    assert [r["name"] for r in mentors.where(lambda r: r["age"] > 40, level="一级")] == ["王老师"]
    with pytest.raises(KeyError):
        mentors.where(no_such_column=1)


def test_page_counts_the_total_and_orders_ascending_or_descending(db: Database) -> None:
    for i, age in enumerate([33, 51, 42, 27, 60, 38, 45]):
        add(db, f"导师{i}", age=age, level="一级" if i % 2 else "二级")
    db.sync()
    mentors = db.table("mentors")
    page = mentors.page(1, per_page=3, order_by="age")
    assert page.total == 7 and page.pages == 3
    assert [r["age"] for r in page.items] == [27, 33, 38]
    last = mentors.page(3, per_page=3, order_by="age")
    assert [r["age"] for r in last.items] == [60]
    desc = mentors.page(1, per_page=2, order_by="-age")
    assert [r["age"] for r in desc.items] == [60, 51]
    filtered = mentors.page(1, per_page=10, order_by="-age", level="二级")
    assert filtered.total == 4
    assert [r["age"] for r in filtered.items] == [60, 45, 42, 33]


# ---------------------------------------------------------------------- validation


def test_insert_validation_errors_name_each_bad_field_in_chinese(db: Database) -> None:
    with pytest.raises(ValidationError) as info:
        db.table("mentors").insert(
            {"phone": "123", "age": "很老", "level": "四级", "id_number": "123456"}
        )
    errors = info.value.errors
    assert set(errors) == {"name", "organisation", "phone", "age", "level", "id_number"}
    assert "姓名" in errors["name"] and "必填" in errors["name"]
    assert "工作单位" in errors["organisation"]
    assert "手机号码" in errors["phone"]
    assert "年龄" in errors["age"]
    assert "级别" in errors["level"] and "一级" in errors["level"]
    assert "身份证号" in errors["id_number"]
    assert db.pending() == []  # nothing was journaled


def test_insert_refuses_unknown_fields_and_engine_fields(db: Database) -> None:
    with pytest.raises(ValidationError) as info:
        add(db, "王老师", bogus=1, voided=True)
    assert set(info.value.errors) == {"bogus", "voided"}
    assert "已作废" in info.value.errors["voided"]


def test_insert_respects_max_length_and_numeric_bounds(db: Database) -> None:
    with pytest.raises(ValidationError) as info:
        add(db, "王" * 31, age=12)
    assert "30" in info.value.errors["name"]
    assert "18" in info.value.errors["age"]


# ---------------------------------------------------------------------- typed values


def test_typed_values_round_trip_through_the_file(tmp_path: Path, db: Database) -> None:
    rec = add(
        db,
        "王老师",
        age="45",
        score="4.5",
        born="1980-01-02",
        active="是",
        level="二级",
    )
    db.sync()
    again = fresh(tmp_path).table("mentors").get(rec.id)
    assert again is not None
    assert again["age"] == 45 and type(again["age"]) is int
    assert again["score"] == 4.5 and isinstance(again["score"], float)
    assert again["born"] == dt.date(1980, 1, 2) and type(again["born"]) is dt.date
    assert again["active"] is True
    assert again["level"] == "二级"
    assert isinstance(again["created_at"], dt.datetime)
    assert again["voided"] is False
    cells = row_by_id(tmp_path / "w.xlsx", TITLE, rec.id)
    assert cells["年龄"] == 45 and cells["评分"] == 4.5
    assert cells["出生日期"] == dt.datetime(1980, 1, 2)  # a real date cell, not text
    assert cells["在聘"] == "是" and cells[VOID_HEADER] == "否"


def test_a_false_bool_is_kept_as_false_not_empty(tmp_path: Path, db: Database) -> None:
    rec = add(db, "王老师", active=False)
    db.sync()
    assert fresh(tmp_path).table("mentors").get(rec.id)["active"] is False


def test_ids_are_readable_and_sequential_per_sheet(tmp_path: Path) -> None:
    db = open_small(tmp_path, clock=lambda: dt.datetime(2026, 9, 1, 10, 0))
    first = add(db, "王老师")
    second = add(db, "李老师")
    nomination = db.table("nominations").insert({"name": "张三", "district": "上城区"})
    next_nomination = db.table("nominations").insert({"name": "李四"})
    assert (first.id, second.id) == ("M0001", "M0002")
    assert (nomination.id, next_nomination.id) == ("N2026-0001", "N2026-0002")
    db.sync()
    assert [r[ID_HEADER] for r in rows_openpyxl(tmp_path / "w.xlsx", "人选推荐")] == [
        "N2026-0001",
        "N2026-0002",
    ]
    db.close()


def test_ids_continue_after_ids_already_in_the_workbook(tmp_path: Path, db: Database) -> None:
    add(db, "王老师")
    db.sync()
    with hand_edit(tmp_path / "w.xlsx", TITLE) as ws:  # a row typed in Excel with a later id
        ws.cell(row=3, column=header_col(ws, ID_HEADER)).value = "M0041"
        ws.cell(row=3, column=header_col(ws, "姓名")).value = "手工"
        ws.cell(row=3, column=header_col(ws, "工作单位")).value = "手工"
    other = fresh(tmp_path)  # a new process with an empty counter cache would still not reuse M0041
    assert add(other, "李老师").id == "M0042"


def test_ids_continue_right_after_rows_inserted_with_their_own_ids(db: Database) -> None:
    """The demo and imports insert rows with their ids; the next new id is the very next
    number (it once skipped one: M0003 after M0001–M0002 became M0004)."""
    db.table("mentors").insert_many(
        [{"id": "M0001", "name": "甲", "organisation": "一中"},
         {"id": "M0002", "name": "乙", "organisation": "二中"}],
        keep_ids=True,
    )  # fmt: skip
    assert add(db, "李老师").id == "M0003"
    db.sync()
    assert add(db, "王老师").id == "M0004"


# ---------------------------------------------------------------------- void


def test_void_hides_the_record_but_keeps_the_row_marked_in_the_file(
    tmp_path: Path, db: Database
) -> None:
    keep = add(db, "王老师")
    gone = add(db, "李老师")
    db.sync()
    db.table("mentors").void(gone.id, user="admin", reason="重复")
    db.sync()
    mentors = db.table("mentors")
    assert mentors.get(gone.id) is None
    assert [r.id for r in mentors.all()] == [keep.id]
    assert mentors.get(gone.id, include_voided=True)["voided"] is True
    assert row_by_id(tmp_path / "w.xlsx", TITLE, gone.id)[VOID_HEADER] == "是"
    trail = db.audit(record_id=gone.id, source="web")
    assert any(
        e["field"] == "voided" and e["user"] == "admin" and "重复" in (e["note"] or "")
        for e in trail
    )


# ---------------------------------------------------------------------- DataFrame


def test_to_dataframe_uses_dtypes_from_the_schema(db: Database) -> None:
    add(db, "王老师", age=45, score=4.5, born=dt.date(1980, 1, 2), active=True, phone="13800000000")
    add(db, "李老师")
    db.sync()
    df = db.table("mentors").to_dataframe()
    assert len(df) == 2
    assert str(df["age"].dtype) == "Int64"
    assert str(df["score"].dtype) == "Float64"
    assert str(df["born"].dtype).startswith("datetime64")
    assert str(df["active"].dtype) == "boolean"
    assert str(df["phone"].dtype) == "string"
    assert str(df["name"].dtype) == "string"
    assert df["age"].isna().tolist() == [False, True]
    assert df.loc[0, "phone"] == "13800000000"


# ---------------------------------------------------------------------- pending overlay


def test_an_insert_is_readable_at_once_marked_syncing_until_synced(
    tmp_path: Path, db: Database
) -> None:
    rec = add(db, "王老师")
    mentors = db.table("mentors")
    seen = mentors.get(rec.id)
    assert seen is not None and seen.syncing is True
    assert [r.id for r in mentors.where(name="王老师")] == [rec.id]
    assert rows_openpyxl(tmp_path / "w.xlsx", TITLE) == []  # not yet in the file
    db.sync()
    after = mentors.get(rec.id)
    assert after is not None and after.syncing is False


def test_an_update_is_readable_at_once_marked_syncing_until_synced(db: Database) -> None:
    rec = add(db, "王老师")
    db.sync()
    mentors = db.table("mentors")
    res = mentors.update(rec.id, {"organisation": "杭州十四中"}, base={"organisation": "杭州二中"})
    assert res.status == "pending"
    seen = mentors.get(rec.id)
    assert seen["organisation"] == "杭州十四中" and seen.syncing is True
    db.sync()
    after = mentors.get(rec.id)
    assert after["organisation"] == "杭州十四中" and after.syncing is False


def test_an_update_equal_to_what_the_form_showed_is_unchanged(db: Database) -> None:
    rec = add(db, "王老师")
    db.sync()
    res = db.table("mentors").update(
        rec.id, {"organisation": "杭州二中"}, base={"organisation": "杭州二中"}
    )
    assert res.status == "unchanged"
    assert db.pending() == []


# ---------------------------------------------------------------------- untrusted text


@pytest.mark.parametrize(
    "text", ["=1+1", "+86 571 8888 0000", "@x", "-2+3", '=HYPERLINK("http://x","y")']
)
@pytest.mark.xlsx_only("opens the .xlsx file with openpyxl (Google: see test_gsheets_backend)")
def test_formula_like_text_written_by_the_app_stays_literal_text(
    tmp_path: Path, db: Database, text: str
) -> None:
    rec = add(db, "王老师", note=text)
    db.sync()
    wb = openpyxl.load_workbook(tmp_path / "w.xlsx")
    ws = wb[TITLE]
    cell = ws.cell(row=find_row(ws, rec.id), column=header_col(ws, "备注"))
    assert cell.data_type == "s"
    assert cell.value == text
    assert cell.quotePrefix is True
    assert [r["备注"] for r in rows_calamine(tmp_path / "w.xlsx", TITLE)] == [text]
    assert fresh(tmp_path).table("mentors").get(rec.id)["note"] == text
    assert not [p for p in db.health() if p.code == "formula"]


@pytest.mark.xlsx_only("opens the .xlsx file with openpyxl (Google: see test_gsheets_backend)")
def test_ids_phones_and_id_numbers_are_stored_as_text(tmp_path: Path, db: Database) -> None:
    assert valid_id_card(ID_CARD) and valid_id_card(ID_CARD_2)
    a = add(db, "王老师", phone="13800000000", id_number=ID_CARD_2)
    b = add(db, "李老师", phone="0571-87654321", id_number=ID_CARD.lower())
    db.sync()
    wb = openpyxl.load_workbook(tmp_path / "w.xlsx")
    ws = wb[TITLE]
    for rid, phone, number in ((a.id, "13800000000", ID_CARD_2), (b.id, "0571-87654321", ID_CARD)):
        row = find_row(ws, rid)
        for header, want in ((ID_HEADER, rid), ("手机号码", phone), ("身份证号", number)):
            cell = ws.cell(row=row, column=header_col(ws, header))
            assert (cell.data_type, cell.value) == ("s", want), header
    by_id = {r[ID_HEADER]: r for r in rows_calamine(tmp_path / "w.xlsx", TITLE)}
    assert by_id[a.id]["身份证号"] == ID_CARD_2 and by_id[a.id]["手机号码"] == "13800000000"
    assert not db.health()


def test_phone_and_id_numbers_given_as_numbers_are_refused(db: Database) -> None:
    with pytest.raises(ValidationError) as info:
        add(db, "王老师", phone=13800000000, id_number=110105194912310020)
    assert set(info.value.errors) == {"phone", "id_number"}


# ---------------------------------------------------------------------- backups


class Clock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.mark.xlsx_only("compares the backup with the workbook file's bytes")
def test_first_write_of_an_hour_backs_up_the_workbook_as_it_was(tmp_path: Path) -> None:
    clock = Clock(dt.datetime(2026, 9, 1, 9, 5))
    db = open_small(tmp_path, clock=clock, backup_keep=5)
    before = (tmp_path / "w.xlsx").read_bytes()
    add(db, "王老师")
    db.sync()
    add(db, "李老师")
    db.sync()  # same hour: no second backup
    backups = db.list_backups()
    assert [p.name for p in backups] == ["workbook-20260901-09.xlsx"]
    assert backups[0].parent == tmp_path / "backups"
    assert backups[0].read_bytes() == before
    clock.now = dt.datetime(2026, 9, 1, 10, 1)
    add(db, "赵老师")
    db.sync()
    assert [p.name for p in db.list_backups()] == [
        "workbook-20260901-10.xlsx",
        "workbook-20260901-09.xlsx",
    ]
    assert [r["姓名"] for r in rows_openpyxl(db.list_backups()[0], TITLE)] == ["王老师", "李老师"]
    db.close()


def test_backups_keep_only_the_configured_number(tmp_path: Path) -> None:
    clock = Clock(dt.datetime(2026, 9, 1, 9, 0))
    db = open_small(tmp_path, clock=clock, backup_keep=2)
    for hour in (9, 10, 11, 12):
        clock.now = dt.datetime(2026, 9, 1, hour, 30)
        add(db, f"导师{hour}")
        db.sync()
    assert [p.name for p in db.list_backups()] == [
        "workbook-20260901-12.xlsx",
        "workbook-20260901-11.xlsx",
    ]
    assert len(list((tmp_path / "backups").glob("*.xlsx"))) == 2
    db.close()


def test_created_and_updated_times_come_from_the_database_clock(tmp_path: Path) -> None:
    clock = Clock(dt.datetime(2026, 9, 1, 9, 5, 7, 123456))
    db = open_small(tmp_path, clock=clock)
    rec = add(db, "王老师")
    assert rec["created_at"] == rec["updated_at"] == dt.datetime(2026, 9, 1, 9, 5, 7)
    db.sync()
    clock.now = dt.datetime(2026, 9, 2, 8, 0, 0)
    db.table("mentors").update(
        rec.id, {"organisation": "学军中学"}, base={"organisation": "杭州二中"}
    )
    db.sync()
    cells = row_by_id(tmp_path / "w.xlsx", TITLE, rec.id)
    assert cells["创建时间"] == dt.datetime(2026, 9, 1, 9, 5, 7)
    assert cells["更新时间"] == dt.datetime(2026, 9, 2, 8, 0, 0)
    db.close()


def test_web_insert_whose_id_was_typed_by_hand_meanwhile_still_lands(
    tmp_path: Path, db: Database
) -> None:
    add(db, "王老师")
    db.sync()
    with hand_edit(
        tmp_path / "w.xlsx", TITLE
    ) as ws:  # a row copied in Excel, "next" id typed by hand
        ws.cell(row=3, column=header_col(ws, ID_HEADER)).value = "M0002"
        ws.cell(row=3, column=header_col(ws, "姓名")).value = "手工"
        ws.cell(row=3, column=header_col(ws, "工作单位")).value = "手工"
    web = add(db, "网页")  # acknowledged
    db.sync()
    for op in db.conflicts():  # even if it was parked, a person's resolution must get it in
        db.resolve(op.seq, {}, user="admin")
    db.sync()
    names = [r["姓名"] for r in rows_openpyxl(tmp_path / "w.xlsx", TITLE)]
    assert sorted(names) == sorted(["王老师", "手工", "网页"])
    assert db.conflicts() == []
    assert db.table("mentors").get(web.id)["name"] in ("网页", "手工")


# ---------------------------------------------------------------------- page() agrees with where()

LEVELS = [None, "一级", "二级"]


@settings(
    max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    synced=st.lists(st.tuples(st.sampled_from(LEVELS), st.booleans()), min_size=0, max_size=12),
    pending=st.lists(
        st.tuples(
            st.sampled_from(["insert", "update", "void"]),
            st.integers(0, 20),
            st.sampled_from(LEVELS),
        ),
        max_size=6,
    ),
    level=st.sampled_from([*LEVELS, "any"]),
    include_voided=st.booleans(),
    per_page=st.integers(1, 5),
    page_no=st.integers(1, 5),
)
def test_page_returns_the_same_rows_as_where_sliced(
    synced: list[tuple[str | None, bool]],
    pending: list[tuple[str, int, str | None]],
    level: str,
    include_voided: bool,
    per_page: int,
    page_no: int,
) -> None:
    """Whatever is synced, voided or still pending, a page is a slice of ``where``."""
    with tempfile.TemporaryDirectory() as tmp:
        db = open_small(Path(tmp))
        mentors = db.table("mentors")
        ids = [
            mentors.insert({"name": f"导师{i}", "organisation": "A", "level": lv}).id
            for i, (lv, _) in enumerate(synced)
        ]
        for rid, (_lv, voided) in zip(ids, synced, strict=True):
            if voided:
                mentors.void(rid)
        db.sync()
        for kind, n, lv in pending:
            live = [r.id for r in mentors.all()]
            if kind == "insert":
                mentors.insert({"name": f"新{n}", "organisation": "B", "level": lv})
            elif live and kind == "update":
                rid = live[n % len(live)]
                mentors.update(rid, {"level": lv}, base={"level": mentors.get(rid)["level"]})
            elif live:
                mentors.void(live[n % len(live)])
        equals = {} if level == "any" else {"level": level}
        rows = mentors.where(include_voided=include_voided, **equals)
        got = mentors.page(page_no, per_page=per_page, include_voided=include_voided, **equals)
        start = (page_no - 1) * per_page
        assert got.total == len(rows)
        assert [r.id for r in got.items] == [r.id for r in rows[start : start + per_page]]
        assert [r.syncing for r in got.items] == [r.syncing for r in rows[start : start + per_page]]
        db.close()


@pytest.mark.parametrize(
    "text", ["长" * 40_000, "第一行\x01第二行\x0b"], ids=["over-32767-chars", "control-chars"]
)
def test_text_a_cell_cannot_hold_is_refused_or_stored_exactly(
    tmp_path: Path, db: Database, text: str
) -> None:
    try:
        rec = add(db, "王老师", note=text)
    except ValidationError as exc:
        assert "备注" in exc.errors["note"]  # refusing it, in Chinese, is fine
        return
    db.sync()
    again = fresh(tmp_path).table("mentors").get(rec.id)
    assert db.table("mentors").get(rec.id)["note"] == again["note"]  # every process reads the same
    with hand_edit(tmp_path / "w.xlsx", TITLE) as ws:  # an unrelated hand edit later on
        ws.cell(row=find_row(ws, rec.id), column=header_col(ws, "工作单位")).value = "学军中学"
    db.sync()
    assert [e["field"] for e in db.audit(source="sheet")] == ["organisation"]


def test_the_clock_is_beijing_wall_time_whatever_the_server_zone(db: Database) -> None:
    from zoneinfo import ZoneInfo

    beijing = dt.datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    assert db.timezone == "Asia/Shanghai"
    assert abs((db.now() - beijing).total_seconds()) < 60
    stamped = add(db, "王老师")
    assert abs((stamped["created_at"] - beijing).total_seconds()) < 60
