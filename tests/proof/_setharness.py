"""A Jepsen-style set test through the real site: many clients, uniquely tagged saves, one final read.

The site runs under gunicorn (4 workers) on 127.0.0.1 on a copy of a fresh demo instance. Each
client is a thread with its own ``requests.Session`` that signs in through the login form as
the demo mentor and submits mentoring logs (导师指导记录) through the real form, CSRF token
included; the free-text 指导主题 of each save carries its unique tag.

A save is **acknowledged** when the server answered with the form's success: a redirect to the
trainee's log list (the page that then flashes 已保存指导记录 …). A refused form (200, the form
again) is **refused**. Anything else (a connection cut by a killed worker, a 5xx, a timeout) is
**unknown**. With ``recheck=True`` a save whose answer was lost to a broken connection is
resolved without any risk of a duplicate: the client reads the trainee's log list (which shows
saves still waiting for the workbook) and resubmits only if the tag is not there. A tag seen
there counts as acknowledged (observed) from then on. Timeouts are never resubmitted: the
request may still be running.

After the run (and ``flask sheets sync`` with the server stopped) the final read of the
workbook file (openpyxl), or of the fake Google spreadsheet, must hold every acknowledged tag
exactly once; unknown ones at most once; refused ones never.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from openpyxl import load_workbook

from tests._servers import REPO, start_gunicorn

SECRET = "proof-set-test-secret-key-0123456789abcdef"
CLIENTS = 50
SAVES_PER_CLIENT = 20
WORKERS = 4
LOG_SHEET = "mentoring_logs"
LOG_TITLE = "导师指导记录"
TOPIC_HEADER = "指导主题"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
REQUEST_TIMEOUT = 60.0  # gunicorn's own worker timeout: a request never outlives it


# --------------------------------------------------------------------------- the instance


@dataclass(frozen=True)
class World:
    """A prepared instance: the demo mentor's trainees and a date inside each assignment."""

    mentor_email: str
    mentor_password: str
    admin_email: str
    targets: tuple[tuple[str, str], ...]  # (trainee id, ISO date the mentor guided them)


_TEMPLATE_LOCK = threading.Lock()


def template(base: Path) -> tuple[Path, World]:
    """The demo instance (built once per test session under ``base``), and its :class:`World`."""
    folder = base / "set-template"
    info = folder / "world.json"
    with _TEMPLATE_LOCK:
        if not info.exists():
            _build(folder)
    data = json.loads(info.read_text(encoding="utf-8"))
    data["targets"] = tuple(tuple(t) for t in data["targets"])
    return folder / "instance", World(**data)


def _build(folder: Path) -> None:
    from app import create_app
    from mingxiao.auth import ensure_demo_accounts
    from mingxiao.cli import DEMO_PASSWORD
    from mingxiao.database import close_db, get_db

    instance = folder / "instance"
    app = create_app({"INSTANCE_PATH": str(instance), "SECRET_KEY": SECRET})
    try:
        db = get_db(app)
        db.init(demo=True, scale=0.1)
        ensure_demo_accounts(app, DEMO_PASSWORD)
        world = world_of(db, DEMO_PASSWORD)
        db.sync()
    finally:
        close_db(app)
    (folder / "world.json").write_text(json.dumps(asdict(world)), encoding="utf-8")


def world_of(db: Any, password: str) -> World:
    """The demo mentor, the trainees they guide now, and a past date inside each assignment."""
    from mingxiao.sheetdb import demo as demo_data

    user = db.table("users").where(email=demo_data.MENTOR_EMAIL)[0]
    mentor = str(user["mentor"])
    targets = []
    for a in db.table("mentor_assignments").where(mentor=mentor):
        start, end = a.get("start_date"), a.get("end_date") or db.today()
        if not isinstance(start, dt.date) or end < db.today():
            continue  # a mentor writes logs for the trainees they guide now
        day = start + (db.today() - dt.timedelta(days=1) - start) / 2
        targets.append((str(a["trainee"]), day.isoformat()))
    assert targets, "the demo mentor guides no trainee now"
    return World(demo_data.MENTOR_EMAIL, password, demo_data.ADMIN_EMAIL, tuple(targets))


def copy_instance(src: Path, dest: Path) -> Path:
    """A private copy of the template instance (journal, credentials and workbook)."""
    shutil.copytree(src, dest, dirs_exist_ok=True)
    return dest


def site_config(instance: Path, **extra: Any) -> dict[str, Any]:
    return {"INSTANCE_PATH": str(instance), "SECRET_KEY": SECRET, **extra}


@contextmanager
def serve(
    config: dict[str, Any],
    *,
    workers: int = WORKERS,
    env: dict[str, str] | None = None,
    extra_args: tuple[str, ...] = (),
) -> Iterator[str]:
    """The site under gunicorn (the background flusher runs: not TESTING)."""
    with start_gunicorn(
        f"app:create_app({config!r})", env=env, workers=workers, timeout=120, extra_args=extra_args
    ) as url:
        yield url


def flask_cli(
    config: dict[str, Any], *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``flask --app 'app:create_app({...})' <args>`` in a subprocess, as an operator runs it."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(  # noqa: S603 - fixed command line
        [sys.executable, "-m", "flask", "--app", f"app:create_app({config!r})", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def sheets_sync(config: dict[str, Any], attempts: int = 5) -> str:
    """Run ``flask sheets sync`` until nothing is pending (the flusher may still hold the lock)."""
    out = ""
    for _ in range(attempts):
        done = flask_cli(config, "sheets", "sync")
        out = done.stdout + done.stderr
        if done.returncode == 0 and "仍待同步 0 项" in out:
            return out
        time.sleep(1)
    raise AssertionError(f"flask sheets sync did not settle:\n{out}")


def gunicorn_workers(base_url: str) -> list[int]:
    """Pids of the gunicorn workers serving ``base_url`` (children of its master)."""
    port = urlsplit(base_url).port
    needle = f"127.0.0.1:{port}".encode()
    procs: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if b"gunicorn" in cmd and needle in cmd:
            procs[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    return [pid for pid, ppid in procs.items() if ppid in procs]


# --------------------------------------------------------------------------- the clients


def csrf_of(html: str) -> str:
    m = CSRF_RE.search(html)
    if not m:
        raise AssertionError("no csrf_token on the page")
    return m.group(1) or m.group(2)


def sign_in(base_url: str, email: str, password: str, attempts: int = 20) -> requests.Session:
    """A session signed in through the login form (retries while workers restart)."""
    last: Exception | None = None
    for _ in range(attempts):
        s = requests.Session()
        try:
            page = s.get(base_url + "/auth/login", timeout=REQUEST_TIMEOUT)
            r = s.post(
                base_url + "/auth/login",
                data={"csrf_token": csrf_of(page.text), "email": email, "password": password},
                allow_redirects=False,
                timeout=REQUEST_TIMEOUT,
            )
            if r.status_code == 302 and "/auth/login" not in r.headers.get("Location", ""):
                return s
            last = AssertionError(f"login answered {r.status_code}")
        except (requests.RequestException, AssertionError) as exc:
            last = exc
        time.sleep(0.5)
    raise AssertionError(f"cannot sign in as {email}: {last}")


@dataclass
class Outcome:
    tag: str
    client: int
    status: str  # acked | observed | refused | unknown
    attempts: int = 1
    detail: str = ""


@dataclass
class RunResult:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)  # answers that were neither success nor form
    error_pages: list[str] = field(default_factory=list)  # bodies of the error answers (first few)
    busy: int = 0  # answers "not saved, try again later" (503), each retried when recheck

    def tags(self, *statuses: str) -> set[str]:
        return {o.tag for o in self.outcomes if o.status in statuses}

    @property
    def acknowledged(self) -> set[str]:
        return self.tags("acked", "observed")


class Client:
    """One simulated mentor with a session of their own."""

    def __init__(self, n: int, base_url: str, world: World, *, run_id: str, recheck: bool) -> None:
        self.n = n
        self.base = base_url
        self.world = world
        self.run_id = run_id
        self.recheck = recheck
        self.trainee, self.day = world.targets[n % len(world.targets)]
        self.form_url = f"{base_url}/mentors/trainees/{self.trainee}/logs/new"
        self.list_url = f"{base_url}/mentors/trainees/{self.trainee}/logs"
        self.session: requests.Session | None = None
        self.token = ""

    def _fresh_session(self) -> None:
        self.session = sign_in(self.base, self.world.mentor_email, self.world.mentor_password)
        self._fresh_token()

    def _fresh_token(self) -> None:
        assert self.session is not None
        for _ in range(20):
            try:
                page = self.session.get(self.form_url, timeout=REQUEST_TIMEOUT)
                if page.status_code == 200:
                    self.token = csrf_of(page.text)
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise AssertionError(f"client {self.n}: cannot open the log form")

    def tag(self, i: int) -> str:
        return f"SET-{self.run_id}-{self.n:02d}-{i:02d}"

    def save_once(self, tag: str) -> tuple[str, str, str]:
        """POST the form once: (acked | refused | lost | unknown, detail, body)."""
        assert self.session is not None
        data = {
            "csrf_token": self.token,
            "date": self.day,
            "form": "面谈",
            "hours": "1",
            "topic": tag,
            "notes": f"集合测试 {tag}",
        }
        try:
            r = self.session.post(
                self.form_url, data=data, allow_redirects=False, timeout=REQUEST_TIMEOUT
            )
        except requests.Timeout as exc:
            return "unknown", f"timeout: {exc}", ""
        except requests.ConnectionError as exc:
            return "lost", f"connection: {type(exc).__name__}", ""
        if r.status_code in (302, 303) and r.headers.get("Location", "").endswith(
            f"/mentors/trainees/{self.trainee}/logs"
        ):
            return "acked", "", ""
        if r.status_code == 200 and 'name="topic"' in r.text:
            return "refused", "form shown again", r.text
        if r.status_code == 400 and "令牌" in r.text:
            return "csrf", "", r.text
        if r.status_code == 503:  # the site said: not saved, try again later
            return "busy", f"HTTP {r.status_code}", r.text
        return "unknown", f"HTTP {r.status_code}", r.text

    def seen(self, tag: str) -> bool | None:
        """Whether the tag is on the trainee's log list (None: could not tell)."""
        assert self.session is not None
        try:
            r = self.session.get(self.list_url, timeout=REQUEST_TIMEOUT)
        except requests.RequestException:
            return None
        if r.status_code != 200:
            return None
        return f">{tag}<" in r.text

    def run(self, result: RunResult, lock: threading.Lock, gate: Callable[[], None] | None) -> None:
        self._fresh_session()
        for i in range(SAVES_PER_CLIENT):
            if gate is not None:
                gate()
            tag = self.tag(i)
            attempts = 0
            status, detail = "unknown", ""
            while True:
                attempts += 1
                status, detail, body = self.save_once(tag)
                if status == "busy":
                    with lock:
                        result.busy += 1
                        if len(result.error_pages) < 5:
                            result.error_pages.append(body)
                if status == "csrf" and attempts < 5:  # the form expired: nothing was saved
                    self._fresh_session()
                    continue
                if status in ("lost", "busy") and self.recheck and attempts < 30:
                    # The answer was lost (a worker died) or the site asked to retry later:
                    # ask a live worker whether the save is there before submitting it again.
                    verdict = None
                    deadline = time.monotonic() + 60
                    while verdict is None and time.monotonic() < deadline:
                        verdict = self.seen(tag)
                        if verdict is None:
                            time.sleep(0.5)
                    if verdict:
                        status, detail = "observed", detail + "; seen on the list afterwards"
                        break
                    if verdict is False:
                        if status == "busy":
                            time.sleep(1)  # "try again later"
                        continue  # not saved: resubmitting cannot duplicate it
                break
            if status in ("lost", "busy"):
                status = "unknown"
            with lock:
                result.outcomes.append(Outcome(tag, self.n, status, attempts, detail))
                if status not in ("acked", "observed"):
                    result.errors.append(f"{tag}: {status} {detail}")
                    if body and len(result.error_pages) < 5:
                        result.error_pages.append(body)


def run_clients(
    base_url: str,
    world: World,
    *,
    clients: int = CLIENTS,
    recheck: bool = False,
    gate: Callable[[], None] | None = None,
) -> RunResult:
    """``clients`` threads × SAVES_PER_CLIENT saves; returns every outcome."""
    run_id = uuid.uuid4().hex[:6]
    result = RunResult()
    lock = threading.Lock()
    failures: list[BaseException] = []

    def body(n: int) -> None:
        try:
            Client(n, base_url, world, run_id=run_id, recheck=recheck).run(result, lock, gate)
        except BaseException as exc:  # surfaced below
            failures.append(exc)

    t0 = time.monotonic()
    threads = [
        threading.Thread(target=body, args=(n,), name=f"set-client-{n}") for n in range(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = time.monotonic() - t0
    if failures:
        raise failures[0]
    return result


# --------------------------------------------------------------------------- chaos


class Background:
    """Run ``fn(stop_event)`` in a thread for the duration of a ``with`` block."""

    def __init__(self, fn: Callable[[threading.Event], None]) -> None:
        self.stop = threading.Event()
        self.error: BaseException | None = None

        def target() -> None:
            try:
                fn(self.stop)
            except BaseException as exc:
                self.error = exc

        self.thread = threading.Thread(target=target, name="set-chaos", daemon=True)

    def __enter__(self) -> Background:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.thread.join(timeout=120)
        if self.error is not None and exc[0] is None:
            raise self.error


def _stat(pid: int) -> list[str]:
    """Fields of /proc/<pid>/stat after the command name (state first)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def busy_worker(base_url: str, rng: random.Random, *, min_age: float = 3.0) -> int | None:
    """A booted worker whose main thread (the one serving requests) is running right now."""
    ticks = os.sysconf("SC_CLK_TCK")
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    busy = []
    for pid in gunicorn_workers(base_url):
        try:
            fields = _stat(pid)
        except OSError:
            continue
        age = uptime - int(fields[19]) / ticks  # field 22 of stat: start time in clock ticks
        if fields[0] == "R" and age >= min_age:
            busy.append(pid)
    return rng.choice(busy) if busy else None


def worker_killer(
    base_url: str,
    kills: list[int],
    *,
    seed: int = 8,
    pause: tuple[float, float] = (2.0, 4.0),
    most: int = 12,
) -> Callable[[threading.Event], None]:
    """kill -9 a busy gunicorn worker (one in the middle of a request) every ``pause``
    seconds, ``most`` times in all; gunicorn's master starts a new one each time."""
    rng = random.Random(seed)

    def run(stop: threading.Event) -> None:
        while len(kills) < most and not stop.wait(rng.uniform(*pause)):
            deadline = time.monotonic() + 5
            while not stop.is_set() and time.monotonic() < deadline:
                pid = busy_worker(base_url, rng)
                if pid is None:
                    time.sleep(0.005)
                    continue
                try:
                    os.kill(pid, signal.SIGKILL)
                    kills.append(pid)
                except ProcessLookupError:
                    continue
                break

    return run


# --------------------------------------------------------------------------- final reads


def workbook_tags(path: Path) -> Counter[str]:
    """How often each 指导主题 occurs in the workbook file (openpyxl, read-only)."""
    wb = load_workbook(path, read_only=True)
    try:
        rows = wb[LOG_TITLE].iter_rows(values_only=True)
        header = list(next(rows))
        col = header.index(TOPIC_HEADER)
        return Counter(str(r[col]) for r in rows if r and col < len(r) and r[col] is not None)
    finally:
        wb.close()


def google_tags(fake: Any, key: str) -> Counter[str]:
    """How often each 指导主题 occurs in the fake's stored spreadsheet."""
    rows = fake.ui_rows(key, LOG_TITLE)
    col = list(rows[0]).index(TOPIC_HEADER)
    return Counter(str(r[col]) for r in rows[1:] if col < len(r) and r[col] not in (None, ""))


@dataclass
class Verdict:
    scenario: str
    submitted: int
    acknowledged: int
    present: int  # acknowledged tags found
    duplicates: list[str]
    lost: list[str]
    unknown: int
    unknown_present: int
    refused_present: list[str]
    seconds: float
    notes: str = ""

    @property
    def ok(self) -> bool:
        return not (self.duplicates or self.lost or self.refused_present)

    def line(self) -> str:
        """The figures of the scenario on one line."""
        return (
            f"[{self.scenario}] submitted={self.submitted} acknowledged={self.acknowledged} "
            f"present={self.present} duplicates={len(self.duplicates)} lost={len(self.lost)} "
            f"unknown={self.unknown} (present {self.unknown_present}) runtime={self.seconds:.1f}s"
            + (f" | {self.notes}" if self.notes else "")
        )


def judge(
    scenario: str, result: RunResult, counts: Counter[str], *, prefix: str = "SET-", notes: str = ""
) -> Verdict:
    """Every acknowledged tag exactly once; unknown at most once; refused never."""
    mine = {t: n for t, n in counts.items() if t.startswith(prefix)}
    acked = result.acknowledged
    unknown = result.tags("unknown")
    refused = result.tags("refused")
    submitted = {o.tag for o in result.outcomes}
    strays = [t for t in mine if t not in submitted]
    assert not strays, f"tags nobody submitted: {strays[:5]}"
    verdict = Verdict(
        scenario=scenario,
        submitted=len(result.outcomes),
        acknowledged=len(acked),
        present=sum(1 for t in acked if mine.get(t, 0) >= 1),
        duplicates=sorted(t for t, n in mine.items() if n > 1),
        lost=sorted(t for t in acked if mine.get(t, 0) == 0),
        unknown=len(unknown),
        unknown_present=sum(1 for t in unknown if mine.get(t, 0) >= 1),
        refused_present=sorted(t for t in refused if t in mine),
        seconds=result.seconds,
        notes=notes,
    )
    why = Counter(o.detail.split(":")[0] for o in result.outcomes if o.status == "unknown")
    if why:
        verdict.notes += f" | unknown because: {dict(why)}"
    print(verdict.line())  # noqa: T201 - the figures of the proof, shown with -s
    return verdict
