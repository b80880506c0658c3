"""The Google Sheets backend against the in-repo fake: reads, writes, faults, quota, layout.

Real gspread builds every request; the fake (``mingxiao/sheetdb/fake_google.py``) answers on
127.0.0.1 and counts the calls. Backoff sleeps are shortened; no assertion depends on time.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from mingxiao.sheetdb import Database, open_database
from mingxiao.sheetdb.backend import Batch, WriteBlocked
from mingxiao.sheetdb.fake_google import FakeGoogle, parse_a1
from mingxiao.sheetdb.gsheets import GoogleSheetsBackend, backend_from_config
from mingxiao.sheetdb.quota import QuotaLimiter
from tests.sheetdb.helpers import ID_CARD, write_schemas

TITLE = "导师"


def make(fake: FakeGoogle, folder: Path, key: str, **overrides: Any) -> GoogleSheetsBackend:
    opts: dict[str, Any] = dict(
        key=key, credentials=None, base_url=fake.base_url, state_path=folder / "journal.sqlite3",
        change_ttl=0.0, timeout=1.0, deadline=20.0, backoff_base=0.01, backoff_cap=0.05,
        reads_per_minute=100_000, writes_per_minute=100_000, seed=7,
    )
    opts.update(overrides)
    return backend_from_config(**opts)


def open_db(fake: FakeGoogle, folder: Path, key: str, **overrides: Any) -> Database:
    write_schemas(folder / "schemas")
    return open_database(instance=folder, backend=make(fake, folder, key, **overrides),
                         schema_dir=folder / "schemas", autoflush=False)


@pytest.fixture
def fake(fake_google: FakeGoogle) -> Iterator[FakeGoogle]:
    fake_google.rates = {}
    fake_google.change_delay = 0.0
    fake_google.hang_seconds = 2.0
    yield fake_google
    fake_google.rates = {}
    fake_google._queue.clear()


@pytest.fixture
def gdb(fake: FakeGoogle, tmp_path: Path) -> Iterator[tuple[Database, str]]:
    key = fake.create_spreadsheet()
    db = open_db(fake, tmp_path, key)
    db.init()
    yield db, key
    db.close()


def tab(fake: FakeGoogle, key: str, title: str = TITLE) -> list[dict[str, Any]]:
    rows = fake.ui_rows(key, title)
    return [dict(zip(rows[0], r, strict=False)) for r in rows[1:] if any(v not in (None, "") for v in r)]


def calls_since(fake: FakeGoogle, t0: float) -> Counter[str]:
    return Counter(c.name for c in fake.calls if c.at >= t0)


# ---------------------------------------------------------------------- A1 notation


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("'导师'!A1:C5", ("导师", 1, 1, 5, 3)),
        ("'It''s'!A2:C", ("It's", 2, 1, None, 3)),
        ("Sheet1!A:A", ("Sheet1", None, 1, None, 1)),
        ("'人选 推荐'!1:1", ("人选 推荐", 1, None, 1, None)),
        ("'导师'", ("导师", None, None, None, None)),
        ("B2", (None, 2, 2, 2, 2)),
        ("导师", ("导师", None, None, None, None)),
    ],
)
def test_a1_ranges_with_quoted_names_and_open_ends_are_parsed(text: str, want: tuple[Any, ...]) -> None:
    assert parse_a1(text) == want


# ---------------------------------------------------------------------- reads and writes


def test_a_page_of_reads_costs_no_api_call_while_nothing_changed(fake: FakeGoogle, tmp_path: Path) -> None:
    key = fake.create_spreadsheet()
    db = open_db(fake, tmp_path, key, change_ttl=3600.0)
    db.init()
    db.table("mentors").insert({"name": "王老师", "organisation": "杭州二中"}, user="u")
    db.sync()
    db.table("mentors").all()
    t0 = time.time()
    for _ in range(50):
        assert len(db.table("mentors").all()) == 1
    assert calls_since(fake, t0) == Counter()
    db.close()


def test_a_reload_is_one_metadata_call_and_one_batch_get_of_every_tab(gdb: tuple[Database, str], fake: FakeGoogle) -> None:
    db, key = gdb
    fake.ui_replace(key, "统计", [["自己的统计"]])
    t0 = time.time()
    db.snapshot()
    got = calls_since(fake, t0)
    assert got["values.batchGet"] == 1 and got["metadata"] == 1 and got["values.get"] == 0
    assert "统计" in db.backend.read_all()[1]


def test_values_are_read_as_raw_strings_and_typed_by_the_schema(gdb: tuple[Database, str], fake: FakeGoogle) -> None:
    db, key = gdb
    rec = db.table("mentors").insert(
        {"name": "王老师", "organisation": "杭州二中", "phone": "05718888000", "id_number": ID_CARD, "age": 45,
         "score": 4.5, "born": dt.date(1980, 1, 2), "active": True}, user="u")
    db.sync()
    row = tab(fake, key)[0]
    assert row["手机号码"] == "05718888000" and row["身份证号"] == ID_CARD  # text, leading zero kept
    assert row["年龄"] == 45 and row["出生日期"] == "1980-01-02"
    got = db.table("mentors").get(rec.id)
    assert got is not None
    assert (got["phone"], got["age"], got["score"], got["born"], got["active"]) == (
        "05718888000", 45, 4.5, dt.date(1980, 1, 2), True)


@pytest.mark.parametrize("text", ["=1+1", "+86 571 8888 0000", "@x", '=HYPERLINK("http://x","y")'])
def test_formula_like_text_is_sent_raw_and_stays_literal_text(gdb: tuple[Database, str], fake: FakeGoogle, text: str) -> None:
    db, key = gdb
    db.table("mentors").insert({"name": "王老师", "organisation": "A", "note": text}, user="u")
    db.sync()
    assert tab(fake, key)[0]["备注"] == text
    assert db.table("mentors").all()[0]["note"] == text


def test_a_group_commit_is_one_values_batch_update_and_one_append_per_tab(gdb: tuple[Database, str], fake: FakeGoogle) -> None:
    db, key = gdb
    mentors = db.table("mentors")
    first = mentors.insert({"name": "甲", "organisation": "A"}, user="u")
    db.sync()
    for i in range(20):
        mentors.insert({"name": f"导师{i}", "organisation": "B"}, user="u")
    db.table("nominations").insert({"name": "张三"}, user="u")
    mentors.update(first.id, {"organisation": "C"}, user="u")
    t0 = time.time()
    result = db.sync()
    assert result is not None and result.saves == 1 and result.applied == 22
    got = calls_since(fake, t0)
    writes = {n: c for n, c in got.items() if n in ("values.append", "values.batchUpdate", "batchUpdate", "values.update")}
    assert writes == {"values.append": 2, "values.batchUpdate": 1}
    assert len(tab(fake, key)) == 21


def test_large_writes_are_chunked_below_the_request_limit(fake: FakeGoogle, tmp_path: Path) -> None:
    key = fake.create_spreadsheet()
    db = open_db(fake, tmp_path, key, max_request_bytes=20_000)
    db.init()
    for i in range(60):
        db.table("mentors").insert({"name": f"导师{i}", "organisation": "A", "note": "长" * 400}, user="u")
    t0 = time.time()
    db.sync()
    appends = [c for c in fake.calls if c.at >= t0 and c.name == "values.append"]
    assert len(appends) > 1 and all(c.size < 20_000 for c in appends)
    assert [r["编号"] for r in tab(fake, key)] == [f"M{i:04d}" for i in range(1, 61)]
    db.close()


# ---------------------------------------------------------------------- faults


@pytest.mark.parametrize("kind", ["429", "500", "503", "slow"])
def test_transient_answers_are_retried_and_the_save_lands_once(gdb: tuple[Database, str], fake: FakeGoogle, kind: str) -> None:
    db, key = gdb
    db.table("mentors").insert({"name": "王老师", "organisation": "A"}, user="u")
    fake.fail_next(kind, 2, retry_after=0.01)
    result = db.sync()
    assert result is not None and result.error is None and result.blocked is None
    assert [r["姓名"] for r in tab(fake, key)] == ["王老师"]


def test_retry_after_is_honoured(fake: FakeGoogle, tmp_path: Path) -> None:
    key = fake.create_spreadsheet()
    slept: list[float] = []
    backend = make(fake, tmp_path, key, sleep=slept.append)
    fake.fail_next("429", 1, retry_after=7)
    backend.read_all()
    assert slept and slept[0] >= 7


def test_backoff_is_capped_and_jittered(fake: FakeGoogle, tmp_path: Path) -> None:
    key = fake.create_spreadsheet()
    slept: list[float] = []
    backend = make(fake, tmp_path, key, sleep=slept.append, backoff_base=1.0, backoff_cap=4.0, deadline=1000)
    fake.fail_next("503", 6)
    backend.read_all()
    assert len(slept) == 6
    assert max(slept) <= 4.0 and slept[0] < 1.0001
    assert len(set(slept)) == len(slept)  # jitter: no two waits alike


def test_an_append_whose_answer_was_lost_is_not_sent_twice(gdb: tuple[Database, str], fake: FakeGoogle) -> None:
    db, key = gdb
    fake.hang_seconds = 1.5  # longer than the client's 1 s read timeout
    for i in range(3):
        db.table("mentors").insert({"name": f"导师{i}", "organisation": "A"}, user="u")
    fake.fail_next("lost", 1, match=lambda method, name: name == "values.append")
    t0 = time.time()
    result = db.sync()
    assert result is not None and result.error is None
    assert [r["编号"] for r in tab(fake, key)] == ["M0001", "M0002", "M0003"]
    names = [c.name for c in fake.calls if c.at >= t0]
    assert names.count("values.append") == 1 and "values.get" in names  # re-read the ids, no re-send


def test_a_timeout_without_effect_is_retried(gdb: tuple[Database, str], fake: FakeGoogle) -> None:
    db, key = gdb
    fake.hang_seconds = 1.5
    db.table("mentors").insert({"name": "王老师", "organisation": "A"}, user="u")
    fake.fail_next("timeout", 1, match=lambda method, name: name == "values.append")
    result = db.sync()
    assert result is not None and result.error is None
    assert [r["编号"] for r in tab(fake, key)] == ["M0001"]


def test_a_google_outage_keeps_saves_pending_and_they_apply_later(gdb: tuple[Database, str], fake: FakeGoogle) -> None:
    db, key = gdb
    db.backend.deadline = 0.3  # type: ignore[attr-defined]
    db.table("mentors").insert({"name": "王老师", "organisation": "A"}, user="u")
    fake.rates = {"503": 1.0}
    result = db.sync()
    assert result is not None and (result.blocked or result.error)
    assert db.status()["pending"] == 1
    fake.rates = {}
    db.sync()
    assert db.status()["pending"] == 0 and [r["姓名"] for r in tab(fake, key)] == ["王老师"]


def test_heavy_faults_lose_nothing_and_duplicate_nothing(gdb: tuple[Database, str], fake: FakeGoogle) -> None:
    db, key = gdb
    fake.rates = {"429": 0.3, "500": 0.1}
    fake.retry_after = 0.01
    ids = []
    for round_ in range(5):
        for i in range(6):
            ids.append(db.table("mentors").insert({"name": f"导师{round_}-{i}", "organisation": "A"}, user="u").id)
        db.sync()
    fake.rates = {}
    db.sync()
    assert Counter(r["编号"] for r in tab(fake, key)) == Counter(ids)


# ---------------------------------------------------------------------- quota


def test_the_budget_is_shared_through_sqlite_and_never_exceeded(tmp_path: Path) -> None:
    clock = [1000.0]
    waits: list[float] = []

    def sleep(s: float) -> None:
        waits.append(s)
        clock[0] += s

    a = QuotaLimiter(tmp_path / "j.sqlite3", reads_per_minute=5, writes_per_minute=2, clock=lambda: clock[0], sleep=sleep)
    b = QuotaLimiter(tmp_path / "j.sqlite3", reads_per_minute=5, writes_per_minute=2, clock=lambda: clock[0], sleep=sleep)
    stamps = []
    for i in range(12):
        (a if i % 2 else b).acquire("read")
        stamps.append(clock[0])
        clock[0] += 1.0
    assert waits  # the sixth read had to wait
    for s in stamps:
        assert sum(1 for t in stamps if s <= t < s + 60) <= 5
    assert a.available("write") == 2


def test_a_write_waits_in_the_journal_when_the_write_budget_is_spent(gdb: tuple[Database, str], fake: FakeGoogle) -> None:
    db, key = gdb
    limiter = db.backend.limiter  # type: ignore[attr-defined]
    limiter.budgets["write"] = limiter.used("write")
    db.table("mentors").insert({"name": "王老师", "organisation": "A"}, user="u")
    result = db.sync()
    assert result is not None and result.blocked and "配额" in result.blocked
    assert db.status()["pending"] == 1 and tab(fake, key) == []
    limiter.budgets["write"] = 100_000
    db.sync()
    assert [r["姓名"] for r in tab(fake, key)] == ["王老师"]


def test_quota_exhaustion_inside_a_call_becomes_write_blocked(fake: FakeGoogle, tmp_path: Path) -> None:
    key = fake.create_spreadsheet()
    backend = make(fake, tmp_path, key, deadline=0.2)
    backend.limiter.budgets["write"] = 0
    backend.read_all()
    with pytest.raises(WriteBlocked):
        backend.apply(Batch(appends=[("Sheet1", {"编号": "X1"})]))


# ---------------------------------------------------------------------- change detection


def test_a_person_in_the_ui_is_seen_after_the_ttl_and_audited(fake: FakeGoogle, tmp_path: Path) -> None:
    key = fake.create_spreadsheet()
    db = open_db(fake, tmp_path, key, change_ttl=0.3)
    db.init()
    rec = db.table("mentors").insert({"name": "王老师", "organisation": "杭州二中"}, user="u")
    db.sync()
    db.snapshot()
    rows = fake.ui_rows(key, TITLE)
    fake.ui_set(key, TITLE, 2, rows[0].index("工作单位") + 1, "杭州十四中")
    assert db.table("mentors").get(rec.id)["organisation"] == "杭州二中"  # inside the TTL: cached
    time.sleep(0.35)
    assert db.table("mentors").get(rec.id)["organisation"] == "杭州十四中"
    db.sync()
    assert [(e["field"], e["new"]) for e in db.audit(source="sheet")] == [("organisation", "杭州十四中")]
    db.close()


def test_drive_reporting_a_change_late_delays_but_does_not_lose_it(fake: FakeGoogle, tmp_path: Path) -> None:
    key = fake.create_spreadsheet()
    db = open_db(fake, tmp_path, key)
    db.init()
    rec = db.table("mentors").insert({"name": "王老师", "organisation": "杭州二中"}, user="u")
    db.sync()
    fake.change_delay = 0.4
    time.sleep(0.45)
    db.snapshot()
    rows = fake.ui_rows(key, TITLE)
    fake.ui_set(key, TITLE, 2, rows[0].index("工作单位") + 1, "杭州十四中")
    assert db.table("mentors").get(rec.id)["organisation"] == "杭州二中"
    time.sleep(0.45)
    assert db.table("mentors").get(rec.id)["organisation"] == "杭州十四中"
    db.close()


def test_workers_share_one_change_check_and_one_read(fake: FakeGoogle, tmp_path: Path) -> None:
    key = fake.create_spreadsheet()
    first = open_db(fake, tmp_path, key, change_ttl=3600.0)
    first.init()
    first.snapshot()
    second = open_db(fake, tmp_path, key, change_ttl=3600.0)  # another worker, same journal
    t0 = time.time()
    assert second.table("mentors").all() == []
    assert calls_since(fake, t0) == Counter()
    first.close()
    second.close()


# ---------------------------------------------------------------------- layout and backups


def test_ensure_layout_creates_tabs_headers_dropdowns_notes_and_a_protected_id_column(fake: FakeGoogle, tmp_path: Path) -> None:
    key = fake.create_spreadsheet()
    db = open_db(fake, tmp_path, key, service_account="mingxiao@proj.iam.gserviceaccount.com")
    t0 = time.time()
    db.ensure_layout()
    assert calls_since(fake, t0)["batchUpdate"] >= 1
    book = fake.books[key]
    sheet = book.sheet(TITLE)
    assert sheet is not None and sheet.frozen == 1
    header = sheet.rows[0]
    assert header[:3] == ["编号", "姓名", "工作单位"]
    level = header.index("级别")
    rule = sheet.validations[(1, level)]
    assert [v["userEnteredValue"] for v in rule["condition"]["values"]] == ["一级", "二级", "三级"]
    assert sheet.notes[(0, header.index("姓名"))] == "【必填】（最多 30 字）"
    (prot,) = sheet.protected
    assert prot["range"]["startColumnIndex"] == 0 and prot["editors"]["users"] == ["mingxiao@proj.iam.gserviceaccount.com"]
    db.ensure_layout()  # idempotent: no second protected range
    assert len(sheet.protected) == 1
    db.close()


def test_backup_writes_an_xlsx_snapshot_of_every_tab(gdb: tuple[Database, str], fake: FakeGoogle, tmp_path: Path) -> None:
    db, key = gdb
    db.table("mentors").insert({"name": "王老师", "organisation": "A", "phone": "05718888000"}, user="u")
    db.sync()
    path = db.backup(tag="test")
    assert path is not None and path.exists()
    wb = openpyxl.load_workbook(path)
    assert TITLE in wb.sheetnames and wb[TITLE]["B2"].value == "王老师" and wb[TITLE]["D2"].value == "05718888000"


def test_a_page_view_during_an_outage_gives_up_within_the_deadline_and_serves_the_last_read(
    gdb: tuple[Database, str], fake: FakeGoogle
) -> None:
    db, key = gdb
    db.table("mentors").insert({"name": "王老师", "organisation": "A"}, user="u")
    db.sync()
    assert len(db.table("mentors").all()) == 1
    fake.ui_set(key, TITLE, 3, 2, "手工行")  # the sheet moved: the next view must re-read
    db.backend.deadline = 0.5  # type: ignore[attr-defined]
    db.backend.backoff_base = 0.1  # type: ignore[attr-defined]
    fake.fail_next("503", 1000, match=lambda method, name: name == "values.batchGet")
    assert [r["name"] for r in db.table("mentors").all()] == ["王老师"]  # the last good read
    assert any(p.code == "unreadable" for p in db.health())
    fake._queue.clear()
    assert not any(p.code == "unreadable" for p in db.health())  # recovered on the next view
