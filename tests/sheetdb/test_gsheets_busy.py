"""Google backend under steady load: acknowledged saves reach the spreadsheet while pages read.

The load test (bench/README.md) found that on Google, saves waited until the site was quiet:
1 of 100 acknowledged saves reached the spreadsheet during a busy minute. Two causes:

* the hourly backup. The first write of an hour built an xlsx of every tab (seconds at 18k
  rows, about a minute at 180k) inside the write cycle, holding the cross-process write lock,
  after the cycle had taken its list of pending operations: that cycle wrote only the few
  saves pending when it began and no other worker could write until the backup was done.
  The backup now runs after the write, in a thread of its own, outside the lock.
* re-reads. After each write every worker asked Drive and fetched the whole spreadsheet
  itself (about 3 reads per worker per write cycle), so busy pages used up the 60 reads a
  minute the writer also needs. Now one process reads for all, and page views leave a
  reserve of the read budget to the writer.

Several "workers" (one ``Database`` and backend each, as in gunicorn) read pages without
pause while one of them saves; the fake enforces Google's 60 reads / 60 writes a minute. The
backup is held open by a gate (standing in for a spreadsheet big enough to take a minute), so
the test counts, it does not time: saves acknowledged after the backup began must land while
the backup and the reads are still going on.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mingxiao.sheetdb import Database, open_database
from mingxiao.sheetdb.fake_google import FakeGoogle
from mingxiao.sheetdb.gsheets import GoogleSheetsBackend, make_client
from mingxiao.sheetdb.quota import QuotaLimiter
from tests.sheetdb.helpers import write_schemas

TITLE = "人选推荐"
WORKERS = 4  # as deploy/gunicorn.conf.py
CYCLES = 3  # write cycles that must land while the backup is still running
DEADLINE = 90.0  # generous: the fixed code needs about CYCLES × 6 s


class Clock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now


class GatedBackup(GoogleSheetsBackend):
    """The Google backend whose backup waits for a gate (a very large spreadsheet)."""

    gate = threading.Event()
    started = threading.Event()

    def backup_to(self, dest: Path) -> None:
        self.started.set()
        self.gate.wait(DEADLINE + 30)
        super().backup_to(dest)


@pytest.fixture
def fake() -> Iterator[FakeGoogle]:
    """A fake of its own: its quota counts every call it answered in the last minute, and the
    session's shared fake has answered other tests' calls."""
    with FakeGoogle() as own:
        yield own


def _backend(
    fake: FakeGoogle, key: str, tmp: Path, cls: type[GoogleSheetsBackend] = GoogleSheetsBackend
) -> Any:
    # Production values: 60 reads and 60 writes a minute, Drive asked every 10 s.
    client = make_client(base_url=fake.base_url, timeout=5.0)
    return cls(
        client, key, state_path=tmp / "journal.sqlite3", change_ttl=10.0, timeout=5.0, deadline=20.0
    )


def _open(tmp: Path, backend: GoogleSheetsBackend, clock: Clock, *, autoflush: bool) -> Database:
    db = open_database(
        instance=tmp, backend=backend, schema_dir=tmp / "schemas", autoflush=autoflush, clock=clock
    )
    db.min_save_interval = max(
        db.min_save_interval, backend.min_save_interval
    )  # as mingxiao.database does
    return db


def test_saves_land_while_pages_read_and_the_hourly_backup_runs(
    tmp_path: Path, fake: FakeGoogle
) -> None:
    write_schemas(tmp_path / "schemas")
    key = fake.create_spreadsheet()
    clock = Clock(dt.datetime(2026, 9, 1, 9, 30))
    setup = _open(tmp_path, _backend(fake, key, tmp_path), clock, autoflush=False)
    setup.init()
    setup.table("nominations").insert_many(
        [{"name": f"旧{i}", "district": "上城区"} for i in range(200)]
    )
    setup.sync()  # 09:xx: this hour's backup is taken
    setup.close()

    fake.quota = {"read": 60, "write": 60}
    clock.now = dt.datetime(2026, 9, 1, 10, 0)  # a new hour: the next write cycle backs up

    class Gated(GatedBackup):
        gate = threading.Event()
        started = threading.Event()

    workers = [
        _open(tmp_path, _backend(fake, key, tmp_path, Gated), clock, autoflush=True)
        for _ in range(WORKERS)
    ]
    for w in workers:
        w.start()
    t0 = time.time()
    stop = threading.Event()
    errors: list[BaseException] = []
    page_views = [0]

    def reader(db: Database) -> None:
        try:
            while not stop.is_set():
                db.table("nominations").page(1, 50, district="上城区")
                page_views[0] += 1
                time.sleep(0.02)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    readers = [
        threading.Thread(target=reader, args=(w,), daemon=True) for w in workers for _ in range(2)
    ]
    for t in readers:
        t.start()

    acked: list[tuple[str, bool]] = []  # (id, acknowledged after the backup had begun)

    def landed() -> set[str]:
        return {str(r[0]) for r in fake.ui_rows(key, TITLE)[1:] if r}

    try:
        cycles_seen = 0
        seen_writes = 0
        landed_after = 0
        deadline = time.monotonic() + DEADLINE
        i = 0
        while time.monotonic() < deadline and cycles_seen < CYCLES:
            rec = (
                workers[i % WORKERS]
                .table("nominations")
                .insert({"name": f"新{i}", "district": "西湖区"})
            )
            acked.append((rec.id, Gated.started.is_set()))
            i += 1
            time.sleep(0.3)
            writes = fake.count(name="values.append", ok=True, since=t0)
            if Gated.started.is_set() and writes > seen_writes:
                got = landed()
                now_after = sum(1 for rid, after in acked if after and rid in got)
                if now_after > landed_after:  # a write cycle carried saves made during the backup
                    cycles_seen += 1
                    landed_after = now_after
            seen_writes = writes
        still_backing_up = not Gated.gate.is_set()
        during = landed()
    finally:
        Gated.gate.set()
        stop.set()
        for t in readers:
            t.join(timeout=30)
        for w in workers:
            w.sync()
            w.close()

    assert not errors, errors
    assert Gated.started.is_set(), "the hour's backup never started"
    after_backup = [rid for rid, after in acked if after]
    assert still_backing_up
    assert cycles_seen >= CYCLES, (
        f"only {cycles_seen} write cycles landed saves acknowledged during the backup "
        f"({len([r for r in after_backup if r in during])} of {len(after_backup)} saves)"
    )
    assert page_views[0] > 100  # the pages really were busy
    # Every acknowledged save is in the spreadsheet exactly once in the end.
    ids = [str(r[0]) for r in fake.ui_rows(key, TITLE)[1:] if r]
    assert all(ids.count(rid) == 1 for rid, _ in acked)
    # Quota: one read for all workers (a Drive check, metadata, one batchGet per change), and
    # never a 429 from Google: the shared budget kept every worker inside 60 a minute.
    assert fake.count(ok=False, since=t0) == 0
    batch_gets = fake.count(name="values.batchGet", ok=True, since=t0)
    write_cycles = fake.count(name="values.append", ok=True, since=t0)
    # (each worker fetching for itself made it about one per worker per cycle)
    assert batch_gets <= write_cycles * 1.5 + 2, (batch_gets, write_cycles)


def test_page_view_reads_leave_a_reserve_of_the_budget_to_the_writer(tmp_path: Path) -> None:
    now = [1000.0]
    limiter = QuotaLimiter(tmp_path / "q.sqlite3", reads_per_minute=6, clock=lambda: now[0])
    for _ in range(4):
        assert limiter.try_acquire("read", reserve=2) == 0
        now[0] += 1
    assert limiter.try_acquire("read", reserve=2) > 0  # a page view waits …
    assert limiter.try_acquire("read") == 0  # … the writer still reads
    assert limiter.try_acquire("read") == 0
    assert limiter.try_acquire("read") > 0  # and the budget itself holds
    now[0] += 57  # the first call leaves the window
    assert limiter.try_acquire("read", reserve=2) > 0  # 4 calls still inside: the reserve holds
    now[0] += 1.5
    assert limiter.try_acquire("read", reserve=2) == 0
    limiter.close()


def test_the_backend_reads_with_the_reserve_unless_it_holds_the_write_lock(
    tmp_path: Path, fake: FakeGoogle
) -> None:
    key = fake.create_spreadsheet()
    backend = _backend(fake, key, tmp_path)
    assert backend.read_reserve == 10  # a sixth of 60
    seen: list[int] = []
    acquire = backend.limiter.acquire

    def spy(kind: str, deadline: float | None = None, reserve: int = 0) -> None:
        seen.append(reserve)
        acquire(kind, deadline, reserve)

    backend.limiter.acquire = spy  # type: ignore[method-assign]
    backend.read_all()
    assert seen and set(seen) == {10}
    seen.clear()
    with backend.lock():
        backend._expire_version()
        backend.read_all()
    assert seen and set(seen) == {0}
    backend.close()
