# ruff: noqa: E402  (the sys.path fix below must run before the imports)
"""Load test: district clerks on the real site under gunicorn (4 workers), with locust.

    PYTHONPATH=. .venv/bin/python bench/load.py [--backend xlsx|google|both] [--scale 10]
        [--users 20] [--seconds 60] [--workers 4] [--fresh] [--out bench/out/load.json]

For each backend the script:

1. builds the demo instance at ``--scale`` (``db.init(demo=True, scale=...)``), gives every
   demo login the demo password, adds one clerk account per district the demo has no login
   for, and opens the nomination window of the newest cohort. The built instance is cached in
   ``bench/out/load-cache/`` (``--fresh`` rebuilds it); each run works on a copy.
   For Google, the workbook is copied into a spreadsheet of the in-repo fake
   (``mingxiao/sheetdb/fake_google.py``, run in this process on 127.0.0.1) the way
   ``flask sheets migrate --to gsheets`` does, then the fake enforces Google's quota of
   60 read and 60 write requests per minute (429 past it; the app's own budgets are the
   production defaults, 60/60);
2. starts gunicorn with ``deploy/gunicorn.conf.py`` (4 sync workers, max_requests etc.) on a
   free loopback port, and warms every worker (the first request of a worker loads the
   workbook; the cold-load time is reported but not part of any phase);
3. runs three locust phases (``bench/locustfile.py``, headless, one process each) against
   that same server, ``--users`` users each, ``--seconds`` each:
   ``trivial`` (``GET /healthz`` back to back), ``lists`` (signed-in clerks loading list
   pages back to back), ``mix`` (the workload: lists, details, nomination saves, exports,
   with 0.5–1.5 s of think time);
4. prints a table per phase (p50, p95, max, throughput and errors per request kind) and the
   targets: zero errors; list throughput ≥ 20% of the trivial route's (lists phase ÷ trivial
   phase, same server, same users); p95 ≤ 5× p50 for every request kind of the mix.

Every figure is computed from the raw samples locust records (``LOAD_SAMPLES``), not from its
rounded percentiles. The JSON goes to ``bench/out/load.json`` (git-ignored). See
``bench/README.md`` for the method.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
# bench/google.py sits beside this file and would shadow the google-auth package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse
import datetime as dt
import hashlib
import json
import re
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import requests

from tests._servers import start_gunicorn

SECRET = "load-test-secret-key-0123456789abcdef-0123"  # noqa: S105 - a throwaway bench instance
LOCUSTFILE = BENCH_DIR / "locustfile.py"
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
QUOTA = 60  # requests per minute per kind, the fake's quota and the app's budget (Google's default)
THINK = (0.5, 1.5)  # seconds of think time before each step of the mix
TARGET_LIST_RATIO = 0.20
TARGET_P95_OVER_P50 = 5.0
PHASES = ("trivial", "lists", "mix")
PHASE_CLASS = {"trivial": "TrivialUser", "lists": "ListUser", "mix": "ClerkUser"}
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


# ----------------------------------------------------------------------------- the instance


def _code_hash() -> str:
    """What the cached instance depends on: the demo generator and the schemas."""
    h = hashlib.sha256()
    files = [ROOT / "mingxiao" / "sheetdb" / "demo.py"]
    files += sorted((ROOT / "sheets_schema").glob("*.toml"))
    for f in files:
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def build_instance(folder: Path, scale: float) -> dict[str, Any]:
    """A demo instance at ``scale`` with one clerk login per district and an open window.

    Returns the world the locustfile reads (also written to ``folder/world.json``).
    """
    from app import create_app
    from mingxiao.auth import EXTENSION_KEY, ensure_demo_accounts
    from mingxiao.cli import DEMO_PASSWORD
    from mingxiao.database import close_db, get_db
    from mingxiao.sheetdb import demo as demo_data

    instance = folder / "instance"
    app = create_app({"INSTANCE_PATH": str(instance), "SECRET_KEY": SECRET, "TESTING": True})
    t0 = time.perf_counter()
    try:
        db = get_db(app)
        db.init(demo=True, scale=scale)
        ensure_demo_accounts(app, DEMO_PASSWORD)
        store = app.extensions[EXTENSION_KEY]
        users = db.table("users")
        have = {
            str(u.get("district")): str(u["email"])
            for u in users.all()
            if u.get("role") == "district"
        }
        accounts = []
        for district in db.choices("districts"):
            email = have.get(district)
            if email is None:
                slug = demo_data._DISTRICT_SLUGS.get(district) or f"d{len(accounts) + 1:02d}"
                email = f"district.{slug}@{demo_data.DEMO_DOMAIN}"
                users.insert(
                    {"email": email, "name": f"{district}教育局", "role": "district", "district": district,
                     "active": True, "note": "压测账号"},
                    user="bench",
                )  # fmt: skip
                store.set_password(email, DEMO_PASSWORD)
                store.enable(email)
            region = demo_data._REGION_CODES.get(district, "330100")
            accounts.append({"email": email, "district": district, "region": region})
        cohorts = sorted(db.table("cohorts").all(), key=lambda c: (c.get("number") or 0, c.id))
        newest = cohorts[-1]
        deadline = db.today() + dt.timedelta(days=60)
        db.table("cohorts").update(
            newest.id, {"nomination_open": True, "nomination_deadline": deadline}, user="bench"
        )
        db.sync()
        snap = db.snapshot()
        rows = {k: len(sd.records) + len(sd.unidentified) for k, sd in snap.sheets.items()}
    finally:
        close_db(app)
    world = {
        "password": DEMO_PASSWORD,
        "accounts": accounts,
        "cohorts": [c.id for c in cohorts],
        "open_cohort": newest.id,
        "scale": scale,
        "rows": sum(rows.values()),
        "nominations": rows.get("nominations", 0),
        "build_seconds": round(time.perf_counter() - t0, 1),
        "workbook_mb": round((instance / "mingxiao.xlsx").stat().st_size / 2**20, 2),
    }
    (folder / "world.json").write_text(
        json.dumps(world, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return world


def cached_instance(cache_root: Path, scale: float, *, fresh: bool) -> tuple[Path, dict[str, Any]]:
    """The built instance folder for ``scale`` (built on first use, or with ``fresh``)."""
    folder = cache_root / f"scale-{scale:g}-{_code_hash()}"
    if fresh and folder.exists():
        shutil.rmtree(folder)
    if not (folder / "world.json").exists():
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        print(f"building the demo instance at scale {scale:g} in {folder} …", flush=True)
        build_instance(folder, scale)
    return folder, json.loads((folder / "world.json").read_text(encoding="utf-8"))


def copy_instance(template: Path, dest: Path, *, google: bool) -> Path:
    """A private copy of the template's instance; for Google only the credential store."""
    src = template / "instance"
    dest.mkdir(parents=True, exist_ok=True)
    if google:
        for name in ("credentials.sqlite3", "secret_key"):
            if (src / name).exists():
                shutil.copy2(src / name, dest / name)
    else:
        shutil.copytree(src, dest, dirs_exist_ok=True)
    return dest


def fill_google(fake: Any, template: Path, instance: Path) -> str:
    """A fake spreadsheet holding the template's workbook, laid out as ``sheets migrate`` does."""
    from app import create_app
    from mingxiao.database import close_db, get_db, schemas_for
    from mingxiao.sheetdb.gsheets import backend_from_config
    from mingxiao.sheetdb.migrate import to_google

    key = fake.create_spreadsheet()
    app = create_app(
        {"INSTANCE_PATH": str(template / "instance"), "SECRET_KEY": SECRET, "TESTING": True}
    )
    try:
        source = get_db(app).backend
        dest = backend_from_config(
            key=key, credentials=None, base_url=fake.base_url, state_path=instance / "journal.sqlite3",
            reads_per_minute=100_000, writes_per_minute=100_000, timeout=120.0, deadline=600.0,
        )  # fmt: skip
        src_counts, dst_counts = to_google(source, dest)
        if src_counts != dst_counts:
            raise RuntimeError(f"copy to the fake lost rows: {src_counts} → {dst_counts}")
        schemas = schemas_for(app)
        dest.ensure_layout(schemas, dict(schemas.choice_lists))
    finally:
        close_db(app)
    return key


# ----------------------------------------------------------------------------- the server


@contextmanager
def serve(
    config: dict[str, Any], workers: int, worker_class: str | None = None, threads: int = 4
) -> Iterator[str]:
    """gunicorn with the production settings file, ``workers`` workers, on a loopback port.

    ``worker_class`` ("sync" or "gthread", with ``threads`` threads per worker) overrides the
    file's worker class on the command line; None keeps the file's.
    """
    extra: tuple[str, ...] = ("-c", str(GUNICORN_CONF))
    if worker_class:
        extra += ("--worker-class", worker_class)
        # gunicorn runs gthread when threads > 1, whatever the class: sync gets exactly 1
        extra += ("--threads", str(threads if worker_class == "gthread" else 1))
    with start_gunicorn(
        f"app:create_app({config!r})", workers=workers, timeout=900, extra_args=extra
    ) as url:
        yield url


def gunicorn_log(base_url: str) -> str:
    """The running server's log (tests/_servers.py keeps it in a temp file until it stops)."""
    needle = f"Listening at: {base_url} "
    for path in Path(tempfile.gettempdir()).glob("gunicorn-*.log"):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if needle in text:
            return text
    return ""


def log_figures(text: str) -> dict[str, Any]:
    """Worker timeouts, restarts and tracebacks in a gunicorn log."""
    used = re.search(r"Using worker: (\w+)", text)
    return {
        "worker_class": used.group(1) if used else None,
        "worker_timeouts": text.count("WORKER TIMEOUT"),
        "workers_booted": len(re.findall(r"Booting worker with pid", text)),
        "tracebacks": text.count("Traceback (most recent call last)"),
        "status_5xx": len(re.findall(r'" 5[0-9][0-9] ', text)),
    }


def sign_in(base_url: str, email: str, password: str) -> requests.Session:
    s = requests.Session()
    r = s.get(base_url + "/auth/login", timeout=300)
    m = CSRF_RE.search(r.text)
    token = (m.group(1) or m.group(2)) if m else ""
    r = s.post(base_url + "/auth/login", data={"email": email, "password": password, "csrf_token": token},
               allow_redirects=False, timeout=300)  # fmt: skip
    if r.status_code != 302 or "/auth/login" in (r.headers.get("Location") or ""):
        shown = re.findall(r'class="(?:flash|field__error|alert)[^"]*"[^>]*>([^<]{1,200})', r.text)
        raise RuntimeError(f"warm-up sign-in refused for {email}: {r.status_code} {shown[:3]}")
    return s


def warm(
    base_url: str, world: dict[str, Any], workers: int, *, limit: float = 600.0
) -> dict[str, Any]:
    """Load the workbook in every worker before measuring: 2×workers clients read list pages
    until each has had 3 answers in a row under 1 s. Returns the slowest (cold) answer."""
    slowest: list[float] = []
    errors: list[str] = []
    t0 = time.monotonic()

    def client(i: int) -> None:
        acc = world["accounts"][i % len(world["accounts"])]
        try:
            s = sign_in(base_url, acc["email"], world["password"])
            fast, worst = 0, 0.0
            while fast < 3 and time.monotonic() - t0 < limit:
                t = time.perf_counter()
                r = s.get(base_url + "/nominations/", timeout=limit, allow_redirects=False)
                took = time.perf_counter() - t
                worst = max(worst, took)
                if r.status_code != 200:
                    errors.append(f"{r.status_code}")
                fast = fast + 1 if took < 1.0 else 0
            slowest.append(worst)
        except Exception as exc:  # noqa: BLE001 - reported, the run goes on
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(2 * workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # The dedicated writer (deploy/gunicorn.conf.py) loads the workbook for writing at start:
    # part of starting the server, like the workers' loads, not of any phase.
    while time.monotonic() - t0 < limit:
        try:
            writer = requests.get(base_url + "/healthz", timeout=10).json().get("writer")
        except (requests.RequestException, ValueError):
            writer = "starting"
        if writer != "starting":
            break
        time.sleep(0.5)
    return {
        "cold_max_s": round(max(slowest, default=0.0), 2),
        "seconds": round(time.monotonic() - t0, 1),
        "errors": errors,
    }


# ----------------------------------------------------------------------------- locust phases


def run_phase(
    base_url: str, world_path: Path, phase: str, users: int, seconds: int, workdir: Path,
    *, think: tuple[float, float] = (0.5, 1.5), spawn: int = 1,
) -> list[list[Any]]:
    """One headless locust run of ``phase``'s user class; returns its raw samples."""
    samples = workdir / f"{phase}.jsonl"
    samples.unlink(missing_ok=True)
    # The mix: one clerk arrives per second, as people do (not 20 sign-ins within 4 s: argon2
    # takes each worker for ~0.5 s under load, and the first pages after sign-in queued behind).
    spawn = users if phase != "mix" else spawn
    cmd = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
        "-u", str(users), "-r", str(spawn), "-t", f"{seconds}s", "--stop-timeout", "30",
        "--host", base_url, "--loglevel", "WARNING", PHASE_CLASS[phase],
    ]  # fmt: skip
    env = {**os.environ, "LOAD_WORLD": str(world_path), "LOAD_SAMPLES": str(samples),
           "LOAD_THINK": f"{think[0]},{think[1]}"}  # fmt: skip
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    log = workdir / f"{phase}.locust.log"
    with open(log, "wb") as fh:
        proc = subprocess.run(
            cmd,
            cwd=str(ROOT),
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            timeout=seconds + 180,
            check=False,
        )
    if not samples.exists():
        raise RuntimeError(
            f"locust ({phase}) wrote no samples (exit {proc.returncode}):\n{log.read_text()[-3000:]}"
        )
    return [
        json.loads(line)
        for line in samples.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def drain(base_url: str, limit: float = 180.0) -> dict[str, Any]:
    """Wait until every acknowledged save is in the workbook (``/healthz`` pending 0), bounded."""
    t0 = time.monotonic()
    first: dict[str, Any] | None = None
    last: dict[str, Any] = {}
    while time.monotonic() - t0 < limit:
        try:
            last = requests.get(base_url + "/healthz", timeout=60).json()
        except (requests.RequestException, ValueError) as exc:
            last = {"error": str(exc)}
        first = first or last
        if last.get("pending") == 0:
            break
        time.sleep(1.0)
    return {
        "pending_after_phases": (first or {}).get("pending"),
        "pending_left": last.get("pending"),
        "seconds": round(time.monotonic() - t0, 1),
        "parked": last.get("parked"),
        "problems": last.get("problems"),
        "status": last.get("status"),
    }


def pct(xs: list[float], q: float) -> float:
    """The q-quantile by linear interpolation (statistics.quantiles' inclusive method)."""
    if not xs:
        return float("nan")
    if len(xs) == 1:
        return xs[0]
    return statistics.quantiles(xs, n=100, method="inclusive")[round(q * 100) - 1]


def summarise(samples: list[list[Any]]) -> dict[str, Any]:
    """Per request kind: count, errors, p50, p95, max (s) and throughput over the phase window."""
    work = [s for s in samples if not s[0].startswith("login")] or samples
    if not work:
        return {"window_s": 0.0, "kinds": {}, "categories": {}}
    start = min(s[1] for s in work)
    end = max(s[1] + s[2] for s in work)
    window = max(end - start, 1e-9)

    def stats(group: list[list[Any]]) -> dict[str, Any]:
        times = [s[2] for s in group]
        p50, p95 = pct(times, 0.50), pct(times, 0.95)
        return {
            "n": len(group),
            "errors": sum(1 for s in group if not s[3]),
            "p50_s": p50,
            "p95_s": p95,
            "max_s": max(times),
            "p95_over_p50": p95 / p50 if p50 > 0 else float("nan"),
            "rps": len(group) / window,
        }

    kinds: dict[str, list[list[Any]]] = {}
    for s in samples:
        kinds.setdefault(s[0], []).append(s)
    cats: dict[str, list[list[Any]]] = {}
    for s in samples:
        cats.setdefault(s[0].split(":")[0], []).append(s)
    failures: dict[str, int] = {}
    for s in samples:
        if not s[3]:
            msg = f"{s[0]}: {s[5] if len(s) > 5 else s[4]}"[:200]
            failures[msg] = failures.get(msg, 0) + 1
    return {
        "window_s": window,
        "kinds": {k: stats(v) for k, v in sorted(kinds.items())},
        "categories": {k: stats(v) for k, v in sorted(cats.items())},
        "failures": dict(sorted(failures.items(), key=lambda kv: -kv[1])[:20]),
    }


def worker_rss_mb(base_url: str) -> list[float]:
    """VmRSS of each gunicorn worker serving ``base_url`` (diagnostic)."""
    port = base_url.rsplit(":", 1)[1]
    needle = f"127.0.0.1:{port}".encode()
    procs: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        if b"gunicorn" in cmd and needle in cmd:
            ppid = int(re.search(r"PPid:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
            m = re.search(r"VmRSS:\s+(\d+)", status)
            procs[int(entry)] = (ppid, int(m.group(1)) / 1024 if m else float("nan"))
    return sorted(round(rss, 1) for pid, (ppid, rss) in procs.items() if ppid in procs)


def run_backend(
    backend: str, template: Path, world: dict[str, Any], args: argparse.Namespace, tmp: Path
) -> dict[str, Any]:
    """All phases against one server on ``backend``; returns the figures."""
    from mingxiao.sheetdb.fake_google import FakeGoogle

    google = backend == "google"
    work = tmp / backend
    instance = copy_instance(template, work / "instance", google=google)
    world_path = work / "world.json"
    world_path.write_text(json.dumps(world, ensure_ascii=False), encoding="utf-8")
    config: dict[str, Any] = {"INSTANCE_PATH": str(instance), "SECRET_KEY": SECRET}
    worker_class = getattr(args, "worker_class", None)
    threads = getattr(args, "threads", 4)
    label = backend if not worker_class else f"{backend} {_worker_label(worker_class, threads)}"
    result: dict[str, Any] = {
        "backend": backend,
        "label": label,
        "worker_class": worker_class or "(deploy/gunicorn.conf.py)",
        "threads": threads if worker_class == "gthread" else 1,
        "users": args.users,
        "seconds": args.seconds,
        "workers": args.workers,
    }
    fake_cm: Any = FakeGoogle(seed=7) if google else nullcontext()
    with fake_cm as fake:
        if google:
            t0 = time.perf_counter()
            key = fill_google(fake, template, instance)
            result["fill_seconds"] = round(time.perf_counter() - t0, 1)
            fake.quota = {"read": QUOTA, "write": QUOTA}
            fake.calls.clear()
            config.update(BACKEND="gsheets", GSHEETS_KEY=key, GSHEETS_API_BASE=fake.base_url,
                          GSHEETS_READS_PER_MINUTE=QUOTA, GSHEETS_WRITES_PER_MINUTE=QUOTA)  # fmt: skip
            result["quota_per_minute"] = {"read": QUOTA, "write": QUOTA}
        with serve(config, args.workers, worker_class, threads) as url:
            print(f"[{label}] gunicorn on {url}, {args.workers} workers; warming up …", flush=True)
            result["warmup"] = warm(url, world, args.workers)
            print(
                f"[{label}] warm ({result['warmup']}); phases of {args.seconds} s, {args.users} users",
                flush=True,
            )
            phases: dict[str, Any] = {}
            for phase in args.phases:
                t0 = time.time()
                samples = run_phase(url, world_path, phase, args.users, args.seconds, work,
                                    think=args.think, spawn=args.spawn)
                phases[phase] = summarise(samples)
                # the machine's load while it ran (1, 5, 15 min), this bench included
                phases[phase]["loadavg"] = [round(x, 1) for x in os.getloadavg()]
                if google:
                    calls = [c for c in fake.calls if c.at >= t0]
                    phases[phase]["google_calls"] = {
                        "read": sum(1 for c in calls if c.kind == "read"),
                        "write": sum(1 for c in calls if c.kind == "write"),
                        "429": sum(1 for c in calls if c.status == 429),
                    }
                print(
                    f"[{label}] {phase}: {sum(k['n'] for k in phases[phase]['kinds'].values())} requests",
                    flush=True,
                )
            t0 = time.time()
            result["drain"] = drain(url)
            if google:
                result["drain"]["google_writes"] = sum(
                    1 for c in fake.calls if c.kind == "write" and c.at >= t0
                )
            print(f"[{label}] after the phases: {result['drain']}", flush=True)
            result["worker_rss_mb"] = worker_rss_mb(url)
            log_text = gunicorn_log(url)
            result["server_log"] = log_figures(log_text)
            (BENCH_DIR / "out").mkdir(parents=True, exist_ok=True)
            kept = [ln for ln in log_text.splitlines() if '"GET ' not in ln and '"POST ' not in ln]
            log_name = label.replace(" ", "-").replace("×", "x")
            (BENCH_DIR / "out" / f"load-{log_name}-gunicorn.log").write_text(
                "\n".join(kept), encoding="utf-8"
            )
            # With the access lines (each request's time in the worker, "…ms" at the end):
            # server time against the client's latency tells queueing from slow code.
            (BENCH_DIR / "out" / f"load-{log_name}-access.log").write_text(log_text, encoding="utf-8")
        result["phases"] = phases
        if google:
            result["google_calls_total"] = {
                "read": sum(1 for c in fake.calls if c.kind == "read"),
                "write": sum(1 for c in fake.calls if c.kind == "write"),
                "429": sum(1 for c in fake.calls if c.status == 429),
            }
    result["targets"] = targets(result)
    return result


def targets(result: dict[str, Any]) -> dict[str, Any]:
    phases = result["phases"]
    errors = sum(k["errors"] for p in phases.values() for k in p["kinds"].values())
    out: dict[str, Any] = {"errors": {"value": errors, "goal": 0, "pass": errors == 0}}
    if "trivial" in phases and "lists" in phases:
        trivial = phases["trivial"]["categories"].get("trivial", {}).get("rps", 0.0)
        lists = phases["lists"]["categories"].get("list", {}).get("rps", 0.0)
        ratio = lists / trivial if trivial else float("nan")
        out["list_throughput_ratio"] = {"value": ratio, "lists_rps": lists, "trivial_rps": trivial,
                                        "goal": TARGET_LIST_RATIO, "pass": ratio >= TARGET_LIST_RATIO}  # fmt: skip
    if "mix" in phases:
        kinds = {k: v for k, v in phases["mix"]["kinds"].items() if not k.startswith("login")}
        worst = max(
            kinds.items(),
            key=lambda kv: kv[1]["p95_over_p50"],
            default=(None, {"p95_over_p50": float("nan")}),
        )
        out["p95_over_p50"] = {"worst_kind": worst[0], "value": worst[1]["p95_over_p50"], "goal": TARGET_P95_OVER_P50,
                               "pass": all(v["p95_over_p50"] <= TARGET_P95_OVER_P50 for v in kinds.values()),
                               "failing": sorted(k for k, v in kinds.items() if v["p95_over_p50"] > TARGET_P95_OVER_P50)}  # fmt: skip
    return out


# ----------------------------------------------------------------------------- printing


def _w(s: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)


def table(title: str, header: list[str], rows: list[list[Any]]) -> str:
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(_w(r[i]) for r in cells) for i in range(len(header))]

    def line(r: list[str]) -> str:
        return "  ".join(c + " " * (widths[i] - _w(c)) for i, c in enumerate(r)).rstrip()

    return "\n".join(
        [
            f"\n== {title}",
            line(cells[0]),
            "  ".join("-" * w for w in widths),
            *(line(r) for r in cells[1:]),
        ]
    )


def ms(x: float) -> str:
    return "n/a" if x != x else (f"{x * 1000:.0f} ms" if x < 10 else f"{x:.1f} s")


def report(results: list[dict[str, Any]]) -> str:
    parts = []
    for res in results:
        b = res.get("label", res["backend"])
        for phase, data in res["phases"].items():
            rows = []
            for kind, k in data["kinds"].items():
                rows.append([kind, k["n"], k["errors"], ms(k["p50_s"]), ms(k["p95_s"]), ms(k["max_s"]),
                             f"{k['p95_over_p50']:.1f}×", f"{k['rps']:.2f}"])  # fmt: skip
            for cat, k in data["categories"].items():
                rows.append([f"[all {cat}]", k["n"], k["errors"], ms(k["p50_s"]), ms(k["p95_s"]), ms(k["max_s"]),
                             f"{k['p95_over_p50']:.1f}×", f"{k['rps']:.2f}"])  # fmt: skip
            title = f"{b} · {phase} · {res['users']} users · {data['window_s']:.0f} s"
            if "google_calls" in data:
                g = data["google_calls"]
                title += (
                    f" · Google calls: {g['read']} reads, {g['write']} writes, {g['429']} × 429"
                )
            parts.append(
                table(
                    title,
                    ["request kind", "n", "errors", "p50", "p95", "max", "p95/p50", "req/s"],
                    rows,
                )
            )
            if data.get("failures"):
                parts.append(
                    "   failures: " + "; ".join(f"{n}× {m}" for m, n in data["failures"].items())
                )
    rows = []
    for res in results:
        t = res["targets"]
        rows.append(
            [
                res.get("label", res["backend"]),
                "zero errors",
                t["errors"]["value"],
                "0",
                "PASS" if t["errors"]["pass"] else "FAIL",
            ]
        )
        if "list_throughput_ratio" in t:
            r = t["list_throughput_ratio"]
            rows.append([res.get("label", res["backend"]), "list ÷ trivial throughput",
                         f"{r['lists_rps']:.1f} ÷ {r['trivial_rps']:.1f} req/s = {r['value']:.0%}", "≥ 20%",
                         "PASS" if r["pass"] else "FAIL"])  # fmt: skip
        if "p95_over_p50" in t:
            r = t["p95_over_p50"]
            rows.append([res.get("label", res["backend"]), "p95 ÷ p50 (mix, worst kind)", f"{r['value']:.1f}× ({r['worst_kind']})", "≤ 5×",
                         "PASS" if r["pass"] else "FAIL " + ", ".join(r["failing"])])  # fmt: skip
        d = res.get("drain")
        if d:
            rows.append([res.get("label", res["backend"]), "saves in the workbook after (diagnostic)",
                         f"pending {d['pending_after_phases']} → {d['pending_left']} in {d['seconds']} s", "0",
                         "ok" if d["pending_left"] == 0 else "NOT DRAINED"])  # fmt: skip
    parts.append(table("targets", ["backend", "target", "figure", "goal", "result"], rows))
    return "\n".join(parts)


# ----------------------------------------------------------------------------- main


def _worker_label(worker_class: str, threads: int) -> str:
    return f"gthread×{threads}" if worker_class == "gthread" else worker_class


def run(backends: list[str], *, scale: float, users: int, seconds: int, workers: int = 4, phases: tuple[str, ...] = PHASES,
        fresh: bool = False, cache: Path | None = None, worker_classes: tuple[str | None, ...] = (None,),
        threads: int = 4, instance: Path | None = None, think: tuple[float, float] = THINK,
        spawn: int = 1) -> dict[str, Any]:  # fmt: skip
    """Build (or reuse) the instance and run the phases on each backend, once per worker class
    (None: the production config's own); returns the figures."""
    if instance is not None:  # a given built instance (e.g. an older cache entry, for before/after)
        template = instance
        world = json.loads((instance / "world.json").read_text(encoding="utf-8"))
    else:
        template, world = cached_instance(
            cache or BENCH_DIR / "out" / "load-cache", scale, fresh=fresh
        )
    tmp = Path(tempfile.mkdtemp(prefix="bench-load-"))
    results = []
    try:
        for backend in backends:
            for wc in worker_classes:
                args = argparse.Namespace(users=users, seconds=seconds, workers=workers, phases=phases,
                                          worker_class=wc, threads=threads, think=think, spawn=spawn)  # fmt: skip
                results.append(run_backend(backend, template, world, args, tmp / (wc or "conf")))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "world": world,
        "results": results,
        "cpu_count": os.cpu_count(),
        "at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


IN_PROCESS_PAGES = (
    "/nominations/", "/nominations/invitations", "/trainees/", "/trainees/eliminations",
    "/workshops/", "/deliverables/", "/curriculum/sessions", "/curriculum/risk",
    "/notifications/", "/healthz",
)  # fmt: skip


def in_process(template: Path, world: dict[str, Any], runs: int = 7) -> dict[str, float]:
    """Median milliseconds per view of each district page, in-process (Flask test client, the
    first clerk account, one warm view first): what a page costs without HTTP or queueing."""
    import statistics

    from app import create_app

    tmp = Path(tempfile.mkdtemp(prefix="bench-inproc-"))
    try:
        instance = copy_instance(template, tmp / "instance", google=False)
        app = create_app({"INSTANCE_PATH": str(instance), "SECRET_KEY": SECRET,
                          "WTF_CSRF_ENABLED": False, "TESTING": True})  # fmt: skip
        client = app.test_client()
        account = world["accounts"][0]
        client.post("/auth/login", data={"email": account["email"], "password": world["password"]})
        out: dict[str, float] = {}
        for path in IN_PROCESS_PAGES:
            assert client.get(path).status_code == 200, path
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                client.get(path)
                times.append(time.perf_counter() - t0)
            out[path] = round(statistics.median(times) * 1000, 1)
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    # ``kill`` (SIGTERM) must still stop gunicorn and locust: run the finally blocks.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("xlsx", "google", "both"), default="both")
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--phases", default=",".join(PHASES), help="comma-separated subset of trivial,lists,mix"
    )
    parser.add_argument(
        "--worker-class",
        default="",
        help="comma-separated gunicorn worker classes to compare on each backend (sync,gthread); "
        "default: deploy/gunicorn.conf.py's own",
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument(
        "--instance",
        type=Path,
        default=None,
        help="a built instance folder (from the cache) to use",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="only time each district page in-process (xlsx, no server) and print the medians",
    )
    parser.add_argument("--fresh", action="store_true", help="rebuild the cached demo instance")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "out" / "load.json")
    args = parser.parse_args()
    if args.in_process:
        if args.instance is not None:
            template = args.instance
            world = json.loads((template / "world.json").read_text(encoding="utf-8"))
        else:
            template, world = cached_instance(
                BENCH_DIR / "out" / "load-cache", args.scale, fresh=args.fresh
            )
        for path, ms_ in in_process(template, world).items():
            print(f"{path:28s} {ms_:8.1f} ms")
        return
    backends = ["xlsx", "google"] if args.backend == "both" else [args.backend]
    phases = tuple(p for p in args.phases.split(",") if p)
    worker_classes = tuple(c for c in args.worker_class.split(",") if c) or (None,)
    data = run(backends, scale=args.scale, users=args.users, seconds=args.seconds, workers=args.workers,
               phases=phases, fresh=args.fresh, worker_classes=worker_classes, threads=args.threads,
               instance=args.instance)  # fmt: skip
    w = data["world"]
    head = (f"demo scale {w['scale']:g}: {w['rows']} rows ({w['nominations']} nominations), workbook {w['workbook_mb']} MB; "
            f"{len(w['accounts'])} district clerk accounts; {data['cpu_count']} CPUs")  # fmt: skip
    text = head + "\n" + report(data["results"])
    for res in data["results"]:
        text += f"\n[{res.get('label', res['backend'])}] warm-up {res['warmup']}; worker RSS {res.get('worker_rss_mb')} MB; server log {res.get('server_log')}"
        text += f"\n[{res.get('label', res['backend'])}] saves reaching the workbook after the phases: {res.get('drain')}"
        if "google_calls_total" in res:
            text += f"; Google calls {res['google_calls_total']} (quota {QUOTA}/min each)"
    print(text)
    data["text"] = text
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(data, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
    )
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
