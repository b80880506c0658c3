#!/usr/bin/env python
"""Benchmarks for the spreadsheet database engine (issue 2, "Benchmarks").

    python bench/engine.py [--quick] [--sizes 1000,10000,50000] [--sustain-seconds 60]

Builds its own workbooks in a temp dir with the demo generator, then measures:

1. warm read of one filtered page of 50 rows vs. the naive way (openpyxl load per read);
2. acknowledged insert latency (the journal commit; no workbook save);
3. sustained inserts from 2 OS processes, lag until each row is in the workbook file, saves;
4. cold load with calamine and the RSS of a fresh reader process.

Machines here are noisy, so every target is a ratio of figures taken in the same run, timings
are medians of many repetitions, and the sizes are interleaved round by round (a burst of load
from another process hits every size alike). Plain-text tables go to stdout and the same figures
to ``bench/out/engine.json``. See ``bench/README.md`` for the method.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
# ``python bench/engine.py`` puts bench/ first on sys.path: never let it shadow anything.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PAGE = 50
TARGET_NAIVE_RATIO = 100.0
TARGET_READ_SCALING = 2.0
TARGET_INSERT_SCALING = 1.5
TARGET_MAX_LAG = 10.0
TARGET_SAVE_FRACTION = 0.1
TARGET_RSS_MB = 250.0
ENGINE_FIELDS = ("id", "created_at", "updated_at", "voided")


# ----------------------------------------------------------------------------- small helpers


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, int(round(q * (len(s) - 1)))))]


def ms(x: float) -> str:
    if x != x:  # nan
        return "n/a"
    return f"{x * 1000:.3f} ms" if x < 0.01 else (f"{x * 1000:.1f} ms" if x < 1 else f"{x:.2f} s")


def ratio(x: float) -> str:
    return "n/a" if x != x else (f"{x:,.0f}×" if x >= 100 else f"{x:.2f}×")


def table(title: str, header: list[str], rows: list[list[Any]]) -> str:
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(_w(r[i]) for r in cells) for i in range(len(header))]

    def line(r: list[str]) -> str:
        return "  ".join(c + " " * (widths[i] - _w(c)) for i, c in enumerate(r)).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([f"\n== {title}", line(cells[0]), sep, *(line(r) for r in cells[1:])])


def _w(s: str) -> int:
    """Display width (CJK characters take two columns)."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)


def vm_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def max_rss_mb() -> float:
    """Peak RSS of this process (VmHWM).

    Not ``getrusage().ru_maxrss``: Linux keeps that across fork+exec, so a child would report
    the benchmark parent's peak (measured: a 600 MB parent → 610 MB "peak" in a bare child).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def run_role(role: str, cfg: dict[str, Any], *, timeout: float) -> dict[str, Any]:
    """Run ``role`` in a fresh interpreter; its last stdout line is a JSON result."""
    cfg = {**cfg, "t_spawn": time.time()}
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--_role", role, "--_cfg", json.dumps(cfg)],
        capture_output=True, text=True, timeout=timeout, env=child_env(), cwd=str(ROOT),
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{role} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def spawn_role(role: str, cfg: dict[str, Any], log: Path) -> subprocess.Popen[bytes]:
    cfg = {**cfg, "t_spawn": time.time()}
    fh = open(log, "wb")  # noqa: SIM115 - closed when the process is reaped
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--_role", role, "--_cfg", json.dumps(cfg)],
        stdout=fh, stderr=subprocess.STDOUT, env=child_env(), cwd=str(ROOT),
    )


def template_values(db: Any, key: str) -> dict[str, Any]:
    """Insertable values copied from the first live row of ``key``."""
    rec = db.table(key).page(1, 1).items[0]
    return {k: v for k, v in rec.items() if k not in ENGINE_FIELDS}


# ----------------------------------------------------------------------------- building


def calibrate(schemas: Any, target: int) -> tuple[float, int]:
    """A demo scale whose generated row count is close to ``target`` (the generator is cheap)."""
    from mingxiao.sheetdb.demo import generate

    scale = target / 18000
    best: tuple[float, int] | None = None
    for _ in range(4):
        n = sum(len(v) for v in generate(schemas, scale=scale).values())
        if best is None or abs(n - target) < abs(best[1] - target):
            best = (scale, n)
        if abs(n - target) <= 0.03 * target:
            break
        scale *= target / n
    assert best is not None
    return best


def schemas_() -> Any:
    from mingxiao.sheetdb import load_schemas
    from mingxiao.sheetdb.schema import default_schema_dir

    return load_schemas(default_schema_dir())


def build(target: int, root: Path, label: str) -> tuple[dict[str, Any], Any]:
    from mingxiao.sheetdb import open_database

    schemas = schemas_()
    scale, _ = calibrate(schemas, target)
    folder = root / label
    folder.mkdir(parents=True)
    wb, inst = folder / "mingxiao.xlsx", folder / "instance"
    t0 = time.perf_counter()
    db = open_database(workbook=wb, instance=inst, autoflush=False, schemas=schemas)
    db.init(demo=True, scale=scale)
    built = time.perf_counter() - t0
    snap = db.snapshot()
    per_sheet = {k: len(sd.records) + len(sd.unidentified) for k, sd in snap.sheets.items()}
    info = {
        "label": label,
        "target_rows": target,
        "scale": round(scale, 4),
        "total_rows": sum(per_sheet.values()),
        "rows": per_sheet,
        "workbook": str(wb),
        "instance": str(inst),
        "file_mb": round(wb.stat().st_size / 2**20, 2),
        "build_seconds": round(built, 1),
    }
    return info, db


# ----------------------------------------------------------------------------- 1. warm reads


def read_queries(db_small: Any) -> list[dict[str, Any]]:
    """The filtered pages read: attendance by status (a big match set) and nominations by district."""
    from collections import Counter

    noms = db_small.table("nominations").all()
    district = Counter(r["district"] for r in noms if r.get("district")).most_common(1)[0][0]
    out = []
    for key, field, value in (("attendance", "status", "出勤"), ("nominations", "district", district)):
        schema = db_small.schemas.sheets[key]
        out.append({
            "name": f"{key} {field}={value}",
            "sheet": key,
            "field": field,
            "value": value,
            "title": schema.title,
            "header": schema.column(field).header,
            "voided_header": schema.column("voided").header,
        })
    return out


def warm_page(db: Any, q: dict[str, Any]) -> Any:
    return db.table(q["sheet"]).page(1, PAGE, **{q["field"]: q["value"]})


def bench_warm_reads(dbs: dict[str, Any], queries: list[dict[str, Any]], reads: int) -> dict[str, Any]:
    """Median of ``reads`` warm reads per (size, query); sizes interleaved in rounds of 10."""
    samples: dict[tuple[str, str], list[float]] = {(s, q["name"]): [] for s in dbs for q in queries}
    totals: dict[tuple[str, str], int] = {}
    for label, db in dbs.items():  # warm up: snapshot, overlay, equality index
        for q in queries:
            for _ in range(3):
                totals[(label, q["name"])] = warm_page(db, q).total
    per_round = 10
    for _ in range((reads + per_round - 1) // per_round):
        for label, db in dbs.items():
            for q in queries:
                buf = samples[(label, q["name"])]
                for _ in range(per_round):
                    t0 = time.perf_counter()
                    warm_page(db, q)
                    buf.append(time.perf_counter() - t0)
    return {
        f"{label}|{q['name']}": {
            "median_s": median(samples[(label, q["name"])]),
            "p90_s": pct(samples[(label, q["name"])], 0.9),
            "n": len(samples[(label, q["name"])]),
            "matches": totals[(label, q["name"])],
        }
        for label in dbs
        for q in queries
    }


def naive_page(path: str, q: dict[str, Any]) -> tuple[int, int]:
    """The naive way: load the workbook with openpyxl, filter, count, slice one page."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = wb[q["title"]]
    rows = ws.iter_rows(values_only=True)
    header = next(rows)
    fi, vi = header.index(q["header"]), header.index(q["voided_header"])
    hits = [r for r in rows if r[fi] == q["value"] and r[vi] not in ("是", True)]
    page = hits[:PAGE]
    wb.close()
    return len(page), len(hits)


def bench_naive(infos: dict[str, dict[str, Any]], queries: list[dict[str, Any]], reps: int) -> dict[str, Any]:
    samples: dict[tuple[str, str], list[float]] = {(s, q["name"]): [] for s in infos for q in queries}
    totals: dict[tuple[str, str], int] = {}
    for _ in range(reps):
        for label, info in infos.items():
            for q in queries:
                t0 = time.perf_counter()
                _, total = naive_page(info["workbook"], q)
                samples[(label, q["name"])].append(time.perf_counter() - t0)
                totals[(label, q["name"])] = total
    return {
        f"{label}|{q['name']}": {"median_s": median(samples[(label, q["name"])]), "n": reps, "matches": totals[(label, q["name"])]}
        for label in infos
        for q in queries
    }


# ----------------------------------------------------------------------------- 2. inserts


def bench_read_your_write(dbs: dict[str, Any], q: dict[str, Any]) -> dict[str, Any]:
    """Diagnostic: a page read right after this thread's own insert (read-your-writes).

    ``first``: the first such read in a thread that began reading while nothing was pending
    (what every new web worker thread sees after its first save). ``steady``: median of the
    next 10 insert→read pairs. Runs in fresh threads so earlier reads don't matter.
    """
    out: dict[str, Any] = {}
    for label, db in dbs.items():
        res: dict[str, Any] = {}

        def work(db: Any = db, res: dict[str, Any] = res) -> None:
            table = db.table(q["sheet"])
            values = template_values(db, q["sheet"])
            res["pending_before"] = db.journal.count("pending")
            warm_page(db, q)
            table.insert(values, user="bench")
            t0 = time.perf_counter()
            warm_page(db, q)
            res["first_s"] = time.perf_counter() - t0
            steady = []
            for _ in range(10):
                table.insert(values, user="bench")
                t0 = time.perf_counter()
                warm_page(db, q)
                steady.append(time.perf_counter() - t0)
            res["steady_s"] = median(steady)
            res["journal_ops"] = int(db.journal.con.execute("SELECT COUNT(*) FROM ops").fetchone()[0])

        th = threading.Thread(target=work)
        th.start()
        th.join()
        out[label] = res
    return out


def bench_inserts(dbs: dict[str, Any], n: int, sheet: str) -> dict[str, Any]:
    """Median time for ``table.insert`` to return (journal commit only: autoflush=False)."""
    tables = {label: db.table(sheet) for label, db in dbs.items()}
    values = {label: template_values(db, sheet) for label, db in dbs.items()}
    samples: dict[str, list[float]] = {label: [] for label in dbs}
    for label, t in tables.items():  # warm up
        for _ in range(5):
            t.insert(values[label], user="bench")
    per_round = 10
    for _ in range((n + per_round - 1) // per_round):
        for label, t in tables.items():
            for _ in range(per_round):
                t0 = time.perf_counter()
                t.insert(values[label], user="bench")
                samples[label].append(time.perf_counter() - t0)
    return {
        label: {"median_s": median(xs), "p90_s": pct(xs, 0.9), "max_s": max(xs), "n": len(xs)}
        for label, xs in samples.items()
    }


# ----------------------------------------------------------------------------- 3. sustained load


def bench_sustain(info: dict[str, Any], seconds: float, rate: float, writers: int, work: Path, drain: float) -> dict[str, Any]:
    from python_calamine import CalamineWorkbook

    from mingxiao.sheetdb import open_database

    run = work / "sustain-run"
    snaps = run / "versions"
    snaps.mkdir(parents=True)
    stop = run / "stop"
    go = run / "go"
    common = {"workbook": info["workbook"], "instance": info["instance"], "sheet": "attendance"}
    poller = spawn_role("poller", {**common, "snapdir": str(snaps), "stop": str(stop), "interval": 0.02,
                                   "out": str(run / "poller.json")}, run / "poller.log")
    procs = []
    for i in range(writers):
        cfg = {**common, "index": i, "writers": writers, "rate": rate, "seconds": seconds,
               "ready": str(run / f"ready{i}"), "go": str(go), "drain": drain, "out": str(run / f"writer{i}.json")}
        procs.append(spawn_role("writer", cfg, run / f"writer{i}.log"))
    deadline = time.time() + 120
    while time.time() < deadline and not all((run / f"ready{i}").exists() for i in range(writers)):
        if any(p.poll() is not None for p in procs):
            break
        time.sleep(0.05)
    start_at = time.time() + 0.5
    (run / "go.tmp").write_text(str(start_at))
    os.replace(run / "go.tmp", go)
    for p in procs:
        p.wait(timeout=seconds + drain + 180)
    stop.touch()
    poller.wait(timeout=60)
    for i, p in enumerate(procs):
        if p.returncode != 0:
            raise RuntimeError(f"writer {i} failed:\n{(run / f'writer{i}.log').read_text()[-3000:]}")
    results = [json.loads((run / f"writer{i}.json").read_text()) for i in range(writers)]
    polled = json.loads((run / "poller.json").read_text())

    acks = [a for r in results for a in r["acks"]]  # [id, due, t_call, t_ack]
    acked_ids = [a[0] for a in acks]

    schemas = schemas_()
    db = open_database(workbook=info["workbook"], instance=info["instance"], autoflush=False, schemas=schemas)
    pending_after = db.status()["pending"]
    con = db.journal.con
    qmarks = ",".join("?" * len(acked_ids)) or "''"
    jrows = {
        r["record_id"]: dict(r)
        for r in con.execute(
            f"SELECT record_id, status, created_at, applied_at FROM ops WHERE sheet='attendance' AND kind='insert'"  # noqa: S608
            f" AND record_id IN ({qmarks})", acked_ids,
        )
    }
    db.close()

    # When did each id first appear in the workbook file? Parse every version the poller kept.
    title = schemas.sheets["attendance"].title
    id_header = schemas.sheets["attendance"].column("id").header
    t_parse = time.perf_counter()
    first_seen: dict[str, dict[str, Any]] = {}
    want = set(acked_ids)
    final_ids: list[str] = []
    for v in polled["versions"]:
        book = CalamineWorkbook.from_path(v["file"])
        rows = book.get_sheet_by_name(title).to_python()
        book.close()
        col = list(rows[0]).index(id_header)
        ids = [str(r[col]) for r in rows[1:] if r and r[col] not in ("", None)]
        for rid in ids:
            if rid in want and rid not in first_seen:
                first_seen[rid] = v
        final_ids = ids
    parse_s = time.perf_counter() - t_parse
    in_final = {rid: 0 for rid in acked_ids}
    for rid in final_ids:
        if rid in in_final:
            in_final[rid] += 1

    lags = []  # ack → first poll that saw the new file (upper bound, ±poll interval)
    lags_mtime = []  # ack → mtime of that file (lower bound: written, fsync'd, replaced just after)
    for rid, _due, _t_call, t_ack in acks:
        v = first_seen.get(rid)
        if v is not None:
            lags.append(v["t_seen"] - t_ack)
            lags_mtime.append(v["mtime"] - t_ack)
    import datetime as dt

    def ts(s: str) -> float:
        return dt.datetime.fromisoformat(s).timestamp()

    j_lags = [ts(r["applied_at"]) - ts(r["created_at"]) for r in jrows.values() if r["applied_at"]]
    ack_lat = [a[3] - a[2] for a in acks]
    ack_p99_per_writer = [pct([a[3] - a[2] for a in r["acks"]], 0.99) for r in results]
    # Lags of inserts acknowledged after the first save ended: without the cold openpyxl load
    # that the first save after start (or after a quiet spell) pays.
    first_end = min((x["t1"] for r in results for x in r["saves"] if x["rows"]), default=float("inf"))
    lags_warm = [first_seen[a[0]]["t_seen"] - a[3] for a in acks if a[0] in first_seen and a[3] > first_end]
    late = [a[2] - a[1] for a in acks]
    run_versions = [v for v in polled["versions"] if not v["initial"]]
    applied = sum(1 for rid in acked_ids if jrows.get(rid, {}).get("status") == "applied")
    exactly_once = sum(1 for c in in_final.values() if c == 1)
    span = (max(a[3] for a in acks) - min(a[2] for a in acks)) if acks else float("nan")
    out = {
        "workbook_rows": info["total_rows"],
        "writers": writers,
        "target_rate": rate,
        "seconds": seconds,
        "acked": len(acks),
        "achieved_rate": len(acks) / span if span == span and span > 0 else float("nan"),
        "applied_in_journal": applied,
        "in_workbook_exactly_once": exactly_once,
        "seen_by_poller": len(lags),
        "pending_after_drain": pending_after,
        "drained": [r["drained"] for r in results],
        "drain_wait_s": [r["drain_wait_s"] for r in results],
        "lag_p50_s": median(lags),
        "lag_p90_s": pct(lags, 0.9),
        "lag_max_s": max(lags) if lags else float("nan"),
        "lag_mtime_max_s": max(lags_mtime) if lags_mtime else float("nan"),
        "lag_after_first_save_max_s": max(lags_warm) if lags_warm else float("nan"),
        "journal_lag_p50_s": median(j_lags),
        "journal_lag_max_s": max(j_lags) if j_lags else float("nan"),
        "saves_polled": len(run_versions),
        "poller_races": polled["races"],
        "saves_journal_distinct_applied_at": len({r["applied_at"] for r in jrows.values() if r["applied_at"]}),
        "ack_p50_s": median(ack_lat),
        "ack_p99_s": pct(ack_lat, 0.99),
        "ack_max_s": max(ack_lat) if ack_lat else float("nan"),
        "ack_p99_per_writer_s": ack_p99_per_writer,
        "pace_late_p99_s": pct(late, 0.99),
        "writer_rss_max_mb": max(r["max_rss_mb"] for r in results),
        **save_trace(results),
        "analysis_parse_s": round(parse_s, 1),
    }
    shutil.rmtree(snaps, ignore_errors=True)
    return out


def trace_backend(be: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Wrap this process's backend instance (not the engine code) to time saves and reads.

    Per save: start/end, rows written, whether the openpyxl workbook cached by this process's
    previous save could be reused, and the load / save(+fsync+replace) parts. Per workbook read
    (snapshot reload after another process saved): duration and thread (flusher or caller).
    """
    saves: list[dict[str, Any]] = []
    reads: list[dict[str, Any]] = []
    cur: dict[str, Any] = {}
    apply, load, save, read_all = be.apply, be._load_for_write, be._save_atomic, be.read_all  # noqa: SLF001

    def t_load(*a: Any, **k: Any) -> Any:
        cache = be._write_cache  # noqa: SLF001
        cur["cache_hit"] = cache is not None and cache[0] == be.version()
        t = time.time()
        try:
            return load(*a, **k)
        finally:
            cur["load_s"] = time.time() - t

    def t_save(*a: Any, **k: Any) -> Any:
        t = time.time()
        try:
            return save(*a, **k)
        finally:
            cur["save_s"] = time.time() - t

    def t_apply(batch: Any) -> Any:
        cur.clear()
        t = time.time()
        try:
            return apply(batch)
        finally:
            saves.append({"t0": t, "t1": time.time(), "rows": len(batch), **cur})

    def t_read_all() -> Any:
        t = time.time()
        try:
            return read_all()
        finally:
            reads.append({"t0": t, "s": time.time() - t, "thread": threading.current_thread().name})

    be.apply, be._load_for_write, be._save_atomic, be.read_all = t_apply, t_load, t_save, t_read_all  # noqa: SLF001
    return saves, reads


def save_trace(results: list[dict[str, Any]]) -> dict[str, Any]:
    saves = [dict(x, writer=i) for i, r in enumerate(results) for x in r["saves"] if x["rows"]]
    saves.sort(key=lambda x: x["t0"])
    misses = [x for x in saves if not x.get("cache_hit")]
    switches = sum(1 for a, b in zip(saves, saves[1:], strict=False) if a["writer"] != b["writer"])
    caller_reads = [x["s"] for r in results for x in r["reads"] if x["thread"] == "MainThread"]
    flusher_reads = [x["s"] for r in results for x in r["reads"] if x["thread"] != "MainThread"]
    return {
        "saves_traced": len(saves),
        "saves_per_writer": [sum(1 for x in saves if x["writer"] == i) for i in range(len(results))],
        "save_writer_switches": switches,
        "save_total_p50_s": median([x["t1"] - x["t0"] for x in saves]),
        "save_total_max_s": max((x["t1"] - x["t0"] for x in saves), default=float("nan")),
        "save_rows_p50": median([x["rows"] for x in saves]),
        "save_cold_loads": len(misses),
        "save_cold_load_p50_s": median([x.get("load_s", float("nan")) for x in misses]),
        "save_write_p50_s": median([x.get("save_s", float("nan")) for x in saves]),
        "reads_in_insert_path": len(caller_reads),
        "reads_in_insert_path_p50_s": median(caller_reads),
        "reads_in_insert_path_max_s": max(caller_reads, default=float("nan")),
        "reads_in_flusher": len(flusher_reads),
        "saves": saves,
    }


def role_writer(cfg: dict[str, Any]) -> None:
    from mingxiao.sheetdb import open_database

    db = open_database(workbook=cfg["workbook"], instance=cfg["instance"], autoflush=True)
    saves, reads = trace_backend(db.backend)
    table = db.table(cfg["sheet"])
    values = template_values(db, cfg["sheet"])  # also loads the snapshot before the clock starts
    Path(cfg["ready"]).touch()
    go = Path(cfg["go"])
    while not go.exists():
        time.sleep(0.01)
    start = float(go.read_text())
    total_rate = cfg["rate"]
    per = total_rate / cfg["writers"]
    offset = cfg["index"] / total_rate  # the writers interleave: one insert every 1/rate s overall
    n = int(round(per * cfg["seconds"]))
    acks = []
    for k in range(n):
        due = start + offset + k / per
        delay = due - time.time()
        if delay > 0:
            time.sleep(delay)
        t_call = time.time()
        rec = table.insert(values, user=f"bench-w{cfg['index']}")
        acks.append([rec.id, due, t_call, time.time()])
    t0 = time.time()
    deadline = t0 + cfg["drain"]
    while db.journal.count("pending") and time.time() < deadline:
        db._wake.set()  # nudge the flusher (it also wakes on its own every idle_interval)
        time.sleep(0.1)
    drained = db.journal.count("pending") == 0
    res = {"acks": acks, "drained": drained, "drain_wait_s": time.time() - t0, "max_rss_mb": max_rss_mb(),
           "saves": saves, "reads": reads}
    db.close()
    Path(cfg["out"]).write_text(json.dumps(res))


def role_poller(cfg: dict[str, Any]) -> None:
    """Watch the workbook's change token; hard-link every new version to parse it afterwards.

    A save replaces the file (new inode), so the link keeps that exact version's bytes.
    """
    path, snapdir, stop = Path(cfg["workbook"]), Path(cfg["snapdir"]), Path(cfg["stop"])
    interval = cfg["interval"]
    versions: list[dict[str, Any]] = []
    races = 0
    last = None
    while True:
        stopping = stop.exists()
        try:
            st = os.stat(path)
        except FileNotFoundError:
            time.sleep(interval)
            continue
        v = (st.st_mtime_ns, st.st_size, st.st_ino)
        if v != last:
            t_seen = time.time()
            name = snapdir / f"v{len(versions):05d}.xlsx"
            try:
                os.link(path, name)
            except FileNotFoundError:
                continue
            st2 = os.stat(name)
            v2 = (st2.st_mtime_ns, st2.st_size, st2.st_ino)
            if v2 != v:
                races += 1  # replaced between stat and link: version v was not kept
            versions.append({"file": str(name), "t_seen": t_seen, "mtime": st2.st_mtime_ns / 1e9,
                             "inode": st2.st_ino, "initial": not versions})
            last = v2
        if stopping:
            break
        time.sleep(interval)
    Path(cfg["out"]).write_text(json.dumps({"versions": versions, "races": races}))


# ----------------------------------------------------------------------------- 4. cold load


def role_cold(cfg: dict[str, Any]) -> None:
    t_main = time.time()
    t0 = time.perf_counter()
    from mingxiao.sheetdb import open_database

    t_import = time.perf_counter() - t0
    t1 = time.perf_counter()
    db = open_database(workbook=cfg["workbook"], instance=cfg["instance"], autoflush=False)
    t_open = time.perf_counter() - t1
    t2 = time.perf_counter()
    page = db.table("attendance").page(1, PAGE, status="出勤")
    t_first = time.perf_counter() - t2
    t_end = time.time()
    rss, peak = vm_rss_mb(), max_rss_mb()
    assert len(page.items) == PAGE

    # Breakdown (after the RSS reading, so it does not inflate it).
    from python_calamine import CalamineWorkbook

    from mingxiao.sheetdb.snapshot import parse_workbook

    reads, parses, cal = [], [], []
    for _ in range(cfg.get("reps", 3)):
        backend: Any = db.backend
        backend._cache = None  # noqa: SLF001 - force a real read
        t = time.perf_counter()
        version, tabs = db.backend.read_all()
        reads.append(time.perf_counter() - t)
        t = time.perf_counter()
        parse_workbook(db.schemas, version, tabs)
        parses.append(time.perf_counter() - t)
        t = time.perf_counter()
        book = CalamineWorkbook.from_path(cfg["workbook"])
        for name in book.sheet_names:
            book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        book.close()
        cal.append(time.perf_counter() - t)
    print(json.dumps({
        "spawn_to_page_s": t_end - cfg["t_spawn"],
        "interpreter_start_s": t_main - cfg["t_spawn"],
        "import_s": t_import,
        "open_s": t_open,
        "first_page_s": t_first,
        "vm_rss_mb": rss,
        "max_rss_mb": peak,
        "read_all_s": median(reads),
        "calamine_only_s": median(cal),
        "parse_s": median(parses),
    }))


def bench_cold(info: dict[str, Any], reps: int) -> dict[str, Any]:
    runs = [run_role("cold", {"workbook": info["workbook"], "instance": info["instance"], "reps": 3}, timeout=600)
            for _ in range(reps)]
    return {k: median([r[k] for r in runs]) for k in runs[0]} | {"runs": reps, "max_rss_mb_max": max(r["max_rss_mb"] for r in runs)}


# ----------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes and a 10 s sustained run (< 2 min)")
    ap.add_argument("--sizes", help="target total rows, comma separated (default 1000,10000,50000; quick 500,2000)")
    ap.add_argument("--sustain-seconds", type=float, help="sustained-load duration (default 60; quick 10)")
    ap.add_argument("--sustain-rows", type=int, help="rows in the sustained-load workbook (default 20000; quick 2000)")
    ap.add_argument("--sustain-rate", type=float, default=20.0, help="inserts per second, all writers together")
    ap.add_argument("--reads", type=int, default=60, help="warm reads per size and query (>= 50)")
    ap.add_argument("--inserts", type=int, default=240, help="timed inserts per size (>= 200)")
    ap.add_argument("--naive-reps", type=int, default=3, help="naive openpyxl reads per size and query")
    ap.add_argument("--cold-reps", type=int, default=3, help="fresh reader processes for the cold load")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir with the workbooks")
    ap.add_argument("--out", default=str(BENCH_DIR / "out" / "engine.json"))
    ap.add_argument("--_role", help=argparse.SUPPRESS)
    ap.add_argument("--_cfg", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args._role:
        cfg = json.loads(args._cfg)
        {"writer": role_writer, "poller": role_poller, "cold": role_cold}[args._role](cfg)
        return 0

    sizes = [int(s) for s in (args.sizes or ("500,2000" if args.quick else "1000,10000,50000")).split(",")]
    sustain_s = args.sustain_seconds if args.sustain_seconds is not None else (10.0 if args.quick else 60.0)
    sustain_rows = args.sustain_rows or (2000 if args.quick else 20000)
    t_start = time.time()
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="mingxiao-bench-"))
    report: dict[str, Any] = {"args": {"sizes": sizes, "quick": args.quick, "sustain_seconds": sustain_s,
                                       "sustain_rows": sustain_rows, "reads": args.reads, "inserts": args.inserts,
                                       "naive_reps": args.naive_reps},
                              "machine": {"cpus": os.cpu_count(), "loadavg_before": load_before,
                                          "python": sys.version.split()[0]}}
    out: list[str] = []

    def emit(text: str) -> None:
        print(text, flush=True)
        out.append(text)

    emit(f"mingxiao.sheetdb engine benchmark — {time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} CPUs, "
         f"load average {load_before[0]:.1f}/{load_before[1]:.1f}/{load_before[2]:.1f}, work dir {work}")
    try:
        # -- build
        infos: dict[str, dict[str, Any]] = {}
        dbs: dict[str, Any] = {}
        for target in sizes:
            label = f"{target // 1000}k" if target % 1000 == 0 else str(target)
            info, db = build(target, work, label)
            infos[label], dbs[label] = info, db
            print(f"  built {label}: {info['total_rows']} rows in {info['build_seconds']} s", flush=True)
        report["workbooks"] = infos
        emit(table("Workbooks (demo generator, built in this run)",
                   ["size", "scale", "total rows", "attendance", "nominations", "file", "build"],
                   [[k, i["scale"], i["total_rows"], i["rows"]["attendance"], i["rows"]["nominations"],
                     f"{i['file_mb']} MB", f"{i['build_seconds']} s"] for k, i in infos.items()]))
        labels = list(infos)
        small, big = labels[0], labels[-1]

        # -- 1. warm reads vs naive
        queries = read_queries(dbs[small])
        print("  warm reads…", flush=True)
        warm = bench_warm_reads(dbs, queries, args.reads)
        print("  naive openpyxl reads…", flush=True)
        naive = bench_naive(infos, queries, args.naive_reps)
        report["warm_read"], report["naive_read"] = warm, naive
        rows = []
        for q in queries:
            for label in labels:
                k = f"{label}|{q['name']}"
                w, n = warm[k], naive[k]
                check = "" if w["matches"] == n["matches"] else f" (naive found {n['matches']}!)"
                rows.append([q["name"], label, f"{w['matches']}{check}", ms(w["median_s"]), ms(w["p90_s"]),
                             ms(n["median_s"]), ratio(n["median_s"] / w["median_s"]),
                             ratio(w["median_s"] / warm[f"{small}|{q['name']}"]["median_s"])])
        emit(table(f"1. Warm read of one filtered page of {PAGE} (median of {args.reads}) vs naive openpyxl load "
                   f"(median of {args.naive_reps})",
                   ["query", "size", "matches", "warm p50", "warm p90", "naive p50", "naive/warm", f"warm vs {small}"],
                   rows))

        # -- 4. cold load (before any insert: nothing pending in the journal)
        print("  cold load in fresh processes…", flush=True)
        cold = bench_cold(infos[big], args.cold_reps)
        report["cold"] = cold
        naive_big = naive[f"{big}|{queries[0]['name']}"]["median_s"]
        emit(table(f"4. Cold load at {big} ({infos[big]['total_rows']} rows) in a fresh reader process "
                   f"(median of {args.cold_reps})",
                   ["figure", "value"],
                   [["process spawn → first page", ms(cold["spawn_to_page_s"])],
                    ["  interpreter start", ms(cold["interpreter_start_s"])],
                    ["  import mingxiao.sheetdb", ms(cold["import_s"])],
                    ["  open_database", ms(cold["open_s"])],
                    ["  first page() (read + parse + index)", ms(cold["first_page_s"])],
                    ["backend.read_all() (calamine + formula scan)", ms(cold["read_all_s"])],
                    ["  of which calamine alone (all tabs)", ms(cold["calamine_only_s"])],
                    ["parse_workbook()", ms(cold["parse_s"])],
                    ["naive openpyxl read / cold first page", ratio(naive_big / cold["first_page_s"])],
                    ["RSS after first read (VmRSS)", f"{cold['vm_rss_mb']:.0f} MB"],
                    ["peak RSS (VmHWM, max of runs)", f"{cold['max_rss_mb_max']:.0f} MB"]]))

        # -- 2. inserts (and a read-your-writes diagnostic)
        print("  read-your-writes diagnostic…", flush=True)
        ryw = bench_read_your_write({small: dbs[small], big: dbs[big]}, queries[0])
        report["read_your_write"] = ryw
        print("  inserts…", flush=True)
        ins = bench_inserts({small: dbs[small], big: dbs[big]}, args.inserts, "attendance")
        report["insert"] = ins
        emit(table(f"2. Acknowledged insert latency, attendance (journal commit only; median of {args.inserts})",
                   ["size", "p50", "p90", "max", f"p50 vs {small}"],
                   [[label, ms(v["median_s"]), ms(v["p90_s"]), ms(v["max_s"]),
                     ratio(v["median_s"] / ins[small]["median_s"])] for label, v in ins.items()]))
        emit(table("2b. Diagnostic: page read right after the thread's own insert (read-your-writes)",
                   ["size", "journal ops", "first read after insert", "steady (p50 of 10)", "first vs warm read"],
                   [[label, v["journal_ops"], ms(v["first_s"]), ms(v["steady_s"]),
                     ratio(v["first_s"] / warm[f"{label}|{queries[0]['name']}"]["median_s"])]
                    for label, v in ryw.items()]))
        for db in dbs.values():
            db.close()

        # -- 3. sustained load
        print(f"  building the sustained-load workbook ({sustain_rows} rows)…", flush=True)
        s_info, s_db = build(sustain_rows, work, "sustain")
        s_db.close()
        print(f"  sustained load: {args.sustain_rate:g}/s for {sustain_s:g} s from 2 processes…", flush=True)
        sus = bench_sustain(s_info, sustain_s, args.sustain_rate, 2, work, drain=max(60.0, sustain_s * 2))
        sus["workbook"] = {k: s_info[k] for k in ("total_rows", "scale", "file_mb", "build_seconds")}
        report["sustain"] = sus
        emit(table(f"3. Sustained load: {sus['writers']} processes, {args.sustain_rate:g} inserts/s for {sustain_s:g} s "
                   f"onto {s_info['total_rows']} rows ({s_info['file_mb']} MB)",
                   ["figure", "value"],
                   [["inserts acknowledged", sus["acked"]],
                    ["achieved rate", f"{sus['achieved_rate']:.1f}/s"],
                    ["applied (journal status)", sus["applied_in_journal"]],
                    ["in workbook exactly once", sus["in_workbook_exactly_once"]],
                    ["pending after drain", sus["pending_after_drain"]],
                    ["lag ack → visible in file: p50", ms(sus["lag_p50_s"])],
                    ["  p90", ms(sus["lag_p90_s"])],
                    ["  max", ms(sus["lag_max_s"])],
                    ["  max (to file mtime, lower bound)", ms(sus["lag_mtime_max_s"])],
                    ["  max, acked after the first save ended", ms(sus["lag_after_first_save_max_s"])],
                    ["journal applied_at − created_at: p50 / max (1 s res.)",
                     f"{sus['journal_lag_p50_s']:.0f} s / {sus['journal_lag_max_s']:.0f} s"],
                    ["workbook saves (poller)", f"{sus['saves_polled']} ({sus['poller_races']} raced)"],
                    ["  distinct applied_at (journal)", sus["saves_journal_distinct_applied_at"]],
                    ["inserts per save", f"{sus['acked'] / max(1, sus['saves_polled']):.1f}"],
                    ["saves traced in writers (per writer)", f"{sus['saves_traced']} {sus['saves_per_writer']}"],
                    ["  writer switches between consecutive saves", sus["save_writer_switches"]],
                    ["  rows per save p50", f"{sus['save_rows_p50']:.0f}"],
                    ["  save duration p50 / max (lock held)", f"{ms(sus['save_total_p50_s'])} / {ms(sus['save_total_max_s'])}"],
                    ["  saves that reloaded the workbook (openpyxl)",
                     f"{sus['save_cold_loads']} (load p50 {ms(sus['save_cold_load_p50_s'])})"],
                    ["  openpyxl save+fsync+replace p50", ms(sus["save_write_p50_s"])],
                    ["snapshot reloads inside insert() p50 / max (count)",
                     f"{ms(sus['reads_in_insert_path_p50_s'])} / {ms(sus['reads_in_insert_path_max_s'])} "
                     f"({sus['reads_in_insert_path']})"],
                    ["insert ack latency p50 / p99 / max",
                     f"{ms(sus['ack_p50_s'])} / {ms(sus['ack_p99_s'])} / {ms(sus['ack_max_s'])}"],
                    ["  ack p99 per writer", " / ".join(ms(x) for x in sus["ack_p99_per_writer_s"])],
                    ["pace slip p99 (call started late)", ms(sus["pace_late_p99_s"])],
                    ["writer peak RSS", f"{sus['writer_rss_max_mb']:.0f} MB"]]))

        # -- summary
        summary: list[list[Any]] = []

        def verdict(ok: bool) -> str:
            return "PASS" if ok else "FAIL"

        for q in queries:
            for label in labels:
                k = f"{label}|{q['name']}"
                r = naive[k]["median_s"] / warm[k]["median_s"]
                summary.append([f"warm read naive/warm ≥ {TARGET_NAIVE_RATIO:g}× ({q['name']}, {label})", ratio(r),
                                verdict(r >= TARGET_NAIVE_RATIO)])
            r = warm[f"{big}|{q['name']}"]["median_s"] / warm[f"{small}|{q['name']}"]["median_s"]
            summary.append([f"warm read {big}/{small} ≤ {TARGET_READ_SCALING:g} ({q['name']})", ratio(r),
                            verdict(r <= TARGET_READ_SCALING)])
        r = ins[big]["median_s"] / ins[small]["median_s"]
        summary.append([f"insert ack {big}/{small} ≤ {TARGET_INSERT_SCALING:g}", ratio(r), verdict(r <= TARGET_INSERT_SCALING)])
        ok = sus["applied_in_journal"] == sus["acked"] == sus["in_workbook_exactly_once"] and sus["acked"] > 0
        summary.append(["sustained: every acknowledged insert applied, exactly once in the file",
                        f"{sus['acked']} acked / {sus['applied_in_journal']} applied / {sus['in_workbook_exactly_once']} in file",
                        verdict(ok)])
        summary.append([f"sustained: max lag ≤ {TARGET_MAX_LAG:g} s", ms(sus["lag_max_s"]),
                        verdict(sus["lag_max_s"] <= TARGET_MAX_LAG)])
        frac = sus["saves_polled"] / max(1, sus["acked"])
        summary.append([f"sustained: saves ≤ inserts/{1 / TARGET_SAVE_FRACTION:g}",
                        f"{sus['saves_polled']} saves / {sus['acked']} inserts = {frac:.3f}",
                        verdict(frac <= TARGET_SAVE_FRACTION)])
        summary.append([f"reader RSS at {big} ≤ {TARGET_RSS_MB:g} MB", f"{cold['vm_rss_mb']:.0f} MB (peak {cold['max_rss_mb_max']:.0f})",
                        verdict(cold["max_rss_mb_max"] <= TARGET_RSS_MB)])
        summary.append([f"cold load at {big} (info)", f"{ms(cold['spawn_to_page_s'])} spawn→page", "-"])
        load_after = os.getloadavg()
        report["machine"]["loadavg_after"] = load_after
        report["summary"] = [{"target": s[0], "measured": s[1], "verdict": s[2]} for s in summary]
        report["elapsed_s"] = round(time.time() - t_start, 1)
        emit(table(f"Summary (elapsed {report['elapsed_s']:.0f} s; load average now {load_after[0]:.1f})",
                   ["target", "measured", "verdict"], summary))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    report["text"] = "\n".join(out)
    dest = Path(args.out)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str))
    print(f"\nfigures written to {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
