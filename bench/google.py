# ruff: noqa: E402  (the sys.path fix below must run before the imports)
"""Benchmark: the Google Sheets backend's quota discipline, on the in-repo fake (counting calls).

    PYTHONPATH=. .venv/bin/python bench/google.py           # full run, about 5 minutes
    PYTHONPATH=. .venv/bin/python bench/google.py --quick   # shorter run, about 2 minutes

Real gspread sends every request to ``mingxiao/sheetdb/fake_google.py`` on 127.0.0.1. The fake
enforces Google's quota (60 reads and 60 writes per minute, answered with 429) and counts every
request it receives. Targets (issue 7):

1. API reads per page view, amortised over 1,000 views at 10 per second: ≤ 0.02.
2. Write calls per save in a burst of 300 saves within 60 s: ≤ 0.1.
3. With 30% of calls answered 429 and 10% answered 500: zero errors seen by users, and every
   acknowledged save lands exactly once.
4. The app never sends more than the configured budget in any 60-second window.
5. For comparison, naive gspread on the same workload (open, worksheet, get_all_records per
   view; append_row / find + update_cell per save).

Page views and saves run in two "workers" (two Database objects sharing one instance folder,
as gunicorn workers share the journal database).
"""

from __future__ import annotations

import os
import sys

# This file is named google.py: keep its folder off sys.path, or it would shadow google-auth.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse
import random
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gspread

from mingxiao.sheetdb import Database, open_database
from mingxiao.sheetdb.fake_google import Call, FakeGoogle
from mingxiao.sheetdb.gsheets import backend_from_config, make_client
from tests.sheetdb.helpers import write_schemas

TITLE = "导师"
BUDGET = 60


def open_worker(fake: FakeGoogle, key: str, folder: Path, **opts: Any) -> Database:
    backend = backend_from_config(
        key=key, credentials=None, base_url=fake.base_url, state_path=folder / "journal.sqlite3",
        reads_per_minute=BUDGET, writes_per_minute=BUDGET, change_ttl=10.0, timeout=20.0, deadline=45.0, **opts,
    )
    db = open_database(instance=folder, backend=backend, schema_dir=folder / "schemas", autoflush=True,
                       flush_delay=0.2, idle_interval=1.0)
    db.min_save_interval = max(db.min_save_interval, backend.min_save_interval)
    return db


def seed(fake: FakeGoogle, key: str, folder: Path, rows: int) -> None:
    db = open_worker(fake, key, folder)
    db.autoflush = False
    db.init()
    for i in range(rows):
        db.table("mentors").insert({"name": f"导师{i}", "organisation": "杭州二中"}, user="seed")
    db.sync()
    db.close()


def max_in_window(calls: list[Call], kind: str, window: float = 60.0) -> int:
    times = sorted(c.at for c in calls if c.kind == kind)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


def paced(n: int, rate: float, fn: Callable[[int], None]) -> None:
    start = time.monotonic()
    for i in range(n):
        wait = start + i / rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        fn(i)


def run_reads(fake: FakeGoogle, folder: Path, key: str, views: int, rate: float, person_every: float | None) -> dict[str, Any]:
    workers = [open_worker(fake, key, folder), open_worker(fake, key, folder)]
    for w in workers:
        w.autoflush = False
    errors = 0
    if person_every:
        fake.start_person(key, TITLE, interval=person_every, column=3)
    t0 = time.time()

    def view(i: int) -> None:
        nonlocal errors
        try:
            page = workers[i % 2].table("mentors").page(1, 50)
            assert page.total > 0
        except Exception:  # noqa: BLE001 - a user-visible error is what we count
            errors += 1

    paced(views, rate, view)
    fake.stop_person()
    calls = [c for c in fake.calls if c.at >= t0]
    for w in workers:
        w.close()
    reads = sum(1 for c in calls if c.kind == "read")
    return {"views": views, "reads": reads, "per_view": reads / views, "errors": errors, "calls": calls}


def run_writes(fake: FakeGoogle, folder: Path, key: str, saves: int, seconds: float) -> dict[str, Any]:
    workers = [open_worker(fake, key, folder), open_worker(fake, key, folder)]
    errors = 0
    acked: list[str] = []
    existing = [r.id for r in workers[0].table("mentors").all()]
    rng = random.Random(3)
    lock = threading.Lock()
    t0 = time.time()

    def save(i: int) -> None:
        nonlocal errors
        db = workers[i % 2]
        try:
            if i % 10 == 9 and existing:
                db.table("mentors").update(rng.choice(existing), {"note": f"更新{i}"}, user="bench")
            else:
                rec = db.table("mentors").insert({"name": f"新导师{i}", "organisation": "学军中学"}, user="bench")
                with lock:
                    acked.append(rec.id)
            if i % 3 == 0:
                db.table("mentors").page(1, 50)  # the page the user lands on after saving
        except Exception as exc:  # noqa: BLE001 - a user-visible error is what we count
            errors += 1
            print("  error:", type(exc).__name__, exc, file=sys.stderr)

    paced(saves, saves / seconds, save)
    burst_end = time.time()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and any(w.status()["pending"] for w in workers):
        time.sleep(0.5)
    pending = workers[0].status()["pending"]
    fake.rates = {}
    calls = [c for c in fake.calls if c.at >= t0]
    for w in workers:
        w.close()
    rows = fake.ui_rows(key, TITLE)
    id_col = rows[0].index("编号")
    counts = Counter(r[id_col] for r in rows[1:] if len(r) > id_col)
    landed_once = all(counts[i] == 1 for i in acked)
    writes = sum(1 for c in calls if c.kind == "write")
    return {
        "saves": saves, "writes": writes, "per_save": writes / saves, "errors": errors, "pending": pending,
        "acked": len(acked), "landed_once": landed_once, "drain_s": time.time() - burst_end, "calls": calls,
        "statuses": Counter(c.status for c in calls),
    }


def run_naive(fake: FakeGoogle, key: str, views: int, saves: int, rate: float) -> dict[str, Any]:
    gc = make_client(base_url=fake.base_url, timeout=20.0)
    errors = {"views": 0, "saves": 0}
    t0 = time.time()

    def view(i: int) -> None:
        try:
            ws = gc.open_by_key(key).worksheet(TITLE)
            ws.get_all_records()
        except gspread.exceptions.GSpreadException:  # APIError (429) and friends
            errors["views"] += 1

    paced(views, rate, view)
    t1 = time.time()

    def save(i: int) -> None:
        try:
            ws = gc.open_by_key(key).worksheet(TITLE)
            if i % 10 == 9:
                cell = ws.find("M0001")
                if cell:
                    ws.update_cell(cell.row, 3, f"更新{i}")
            else:
                ws.append_row([f"X{i:05d}", f"新导师{i}", "学军中学"], value_input_option="USER_ENTERED")
        except gspread.exceptions.GSpreadException:
            errors["saves"] += 1

    paced(saves, rate, save)
    view_calls = [c for c in fake.calls if t0 <= c.at < t1]
    save_calls = [c for c in fake.calls if c.at >= t1]
    return {
        "views": views, "saves": saves,
        "reads_per_view": sum(1 for c in view_calls if c.kind == "read") / views,
        "writes_per_save": sum(1 for c in save_calls if c.kind == "write") / saves,
        "calls_per_save": len(save_calls) / saves,
        "errors": errors, "refused": sum(1 for c in view_calls + save_calls if c.status == 429),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    views, view_rate = (300, 10.0) if args.quick else (1000, 10.0)
    saves, save_seconds = (300, 60.0)
    fault_saves, fault_seconds = (60, 12.0) if args.quick else (120, 24.0)
    tmp = Path(tempfile.mkdtemp(prefix="bench-google-"))
    all_calls: list[Call] = []
    try:
        with FakeGoogle(seed=11) as fake:
            fake.quota = {"read": BUDGET, "write": BUDGET}  # the fake refuses like Google past 60/min
            rows: list[tuple[str, str, str, str]] = []

            # 1. reads per page view
            folder = tmp / "reads"
            write_schemas(folder / "schemas")
            key = fake.create_spreadsheet()
            seed(fake, key, folder, 500)
            time.sleep(1.0)
            r = run_reads(fake, folder, key, views, view_rate, None)
            all_calls += r["calls"]
            rows.append(("1 reads per page view", f"{r['reads']} reads / {r['views']} views = {r['per_view']:.4f}",
                         "≤ 0.02", "PASS" if r["per_view"] <= 0.02 and r["errors"] == 0 else "FAIL"))
            r2 = run_reads(fake, folder, key, views // 2, view_rate, 20.0)
            all_calls += r2["calls"]
            rows.append(("1b same, a person edits every 20 s", f"{r2['reads']} / {r2['views']} = {r2['per_view']:.4f}",
                         "(diagnostic)", f"errors {r2['errors']}"))

            # 2. write calls per save
            folder = tmp / "writes"
            write_schemas(folder / "schemas")
            key = fake.create_spreadsheet()
            seed(fake, key, folder, 200)
            time.sleep(1.0)
            w = run_writes(fake, folder, key, saves, save_seconds)
            all_calls += w["calls"]
            rows.append(("2 write calls per save", f"{w['writes']} writes / {w['saves']} saves = {w['per_save']:.4f}",
                         "≤ 0.1", "PASS" if w["per_save"] <= 0.1 and w["errors"] == 0 and w["pending"] == 0 else "FAIL"))

            # 3. faults
            folder = tmp / "faults"
            write_schemas(folder / "schemas")
            key = fake.create_spreadsheet()
            seed(fake, key, folder, 200)
            time.sleep(1.0)
            fake.retry_after = 1.0
            fake.rates = {"429": 0.3, "500": 0.1}
            f = run_writes(fake, folder, key, fault_saves, fault_seconds)
            all_calls += f["calls"]
            ok = f["errors"] == 0 and f["pending"] == 0 and f["landed_once"]
            rows.append(("3 30% 429 + 10% 500", f"user errors {f['errors']}, {f['acked']} acked saves landed once: "
                         f"{f['landed_once']}, answers {dict(f['statuses'])}", "0 errors, exactly once", "PASS" if ok else "FAIL"))

            # 4. budget
            mr, mw = max_in_window(all_calls, "read"), max_in_window(all_calls, "write")
            rows.append(("4 max requests in any 60 s", f"reads {mr}, writes {mw} (budget {BUDGET}/{BUDGET})",
                         f"≤ {BUDGET}", "PASS" if mr <= BUDGET and mw <= BUDGET else "FAIL"))

            # 5. naive gspread
            key = fake.create_spreadsheet()
            fake.ui_replace(key, TITLE, [["编号", "姓名", "工作单位"]] + [[f"M{i:04d}", f"导师{i}", "杭州二中"] for i in range(1, 201)])
            fake.quota = {}  # first: what naive gspread costs when Google never refuses
            n = run_naive(fake, key, 100, 100, 10.0)
            rows.append(("5 naive gspread, cost", f"{n['reads_per_view']:.2f} reads/view, {n['writes_per_save']:.2f} "
                         f"writes/save ({n['calls_per_save']:.2f} calls/save)", "(comparison)", ""))
            fake.quota = {"read": BUDGET, "write": BUDGET}
            time.sleep(61)  # a fresh quota minute, then the same workload against the quota
            n = run_naive(fake, key, 100, 100, 10.0)
            rows.append(("5b naive gspread under the quota", f"errors seen: views {n['errors']['views']}/100, "
                         f"saves {n['errors']['saves']}/100 (429 answers {n['refused']})", "(comparison)", ""))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    width = max(len(r[0]) for r in rows)
    print(f"\n{'target'.ljust(width)} | figure | goal | result")
    print("-" * (width + 60))
    for name, figure, goal, result in rows:
        print(f"{name.ljust(width)} | {figure} | {goal} | {result}")
    print(f"\nwrite burst: {w['acked']} acked inserts, drained {w['drain_s']:.1f} s after the burst; answers {dict(w['statuses'])}")


if __name__ == "__main__":
    main()
