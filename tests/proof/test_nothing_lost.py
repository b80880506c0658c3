"""Nothing lost: 50 clients × 20 uniquely tagged saves through the real site, under faults.

Each scenario runs the set test of :mod:`tests.proof._setharness` (gunicorn, 4 workers, real
form posts with CSRF by the signed-in demo mentor) and then reads the workbook (or the fake
Google spreadsheet): every acknowledged tag exactly once, unknown ones at most once.

a. no faults;
b. kill -9 of workers during the writes: at chosen points (before the journal, after it with
   the answer unsent, after a workbook save before the journal knew; tests/proof/_killpoints.py)
   and at random; a client whose answer was lost looks for its tag before resubmitting;
c. a person's stale copy of the workbook put back mid-run: detected, flagged as an incident,
   re-applied when the admin confirms on the sync page;
d. an Excel/WPS owner file (``~$mingxiao.xlsx``) held for 30 s;
e. the disk of the instance folder (a 64 MB tmpfs, or injected ENOSPC where mounting is not
   permitted) full for 12 s: the workbook stays intact, saves get a clear 503 "磁盘已满" and
   nothing is acknowledged that is not journaled; after freeing, every save goes through;
f. the Google backend on the in-repo fake with random 429s, 500s, timeouts and lost answers.

Run with ``-s`` to see the figures of each scenario.
"""

from __future__ import annotations

import errno
import os
import random
import re
import shutil
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import filelock
import pytest

from mingxiao.sheetdb.fake_google import FakeGoogle

from . import _enospc, _killpoints
from . import _setharness as h

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, h.World]:
    return h.template(tmp_path_factory.getbasetemp())


def _instance(template: tuple[Path, h.World], dest: Path) -> Path:
    return h.copy_instance(template[0], dest)


def pending(instance: Path) -> int:
    con = sqlite3.connect(f"file:{instance / 'journal.sqlite3'}?mode=ro", uri=True, timeout=30)
    try:
        return int(con.execute("SELECT COUNT(*) FROM ops WHERE status='pending'").fetchone()[0])
    finally:
        con.close()


def wait_drained(instance: Path, timeout: float = 60) -> bool:
    """Wait for the server's own flusher to empty the queue; False if it did not in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pending(instance) == 0:
            return True
        time.sleep(0.5)
    return False


def wait_tags(workbook: Path, n: int, stop: threading.Event, timeout: float = 120) -> int:
    """Wait until the workbook file holds at least ``n`` set tags; returns how many it holds."""
    deadline = time.monotonic() + timeout
    have = 0
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            have = sum(1 for t in h.workbook_tags(workbook) if t.startswith("SET-"))
        except Exception:  # caught mid-replace: read again
            have = 0
        if have >= n:
            return have
        time.sleep(0.5)
    return have


class AckCounter:
    """A gate for the clients that counts attempts; the chaos thread waits on it."""

    def __init__(self) -> None:
        self.n = 0
        self.lock = threading.Lock()

    def __call__(self) -> None:
        with self.lock:
            self.n += 1

    def wait(self, n: int, stop: threading.Event) -> bool:
        while not stop.is_set():
            if self.n >= n:
                return True
            time.sleep(0.1)
        return False


def finish(
    scenario: str, config: dict[str, Any], instance: Path, result: h.RunResult, notes: str = ""
) -> h.Verdict:
    out = h.sheets_sync(config)
    assert "仍待同步 0 项" in out, out
    verdict = h.judge(scenario, result, h.workbook_tags(instance / "mingxiao.xlsx"), notes=notes)
    assert not verdict.duplicates, verdict.duplicates[:10]
    assert not verdict.lost, verdict.lost[:10]
    assert not verdict.refused_present, verdict.refused_present[:10]
    return verdict


# --------------------------------------------------------------------------- a. baseline


def test_a_baseline_every_acknowledged_save_lands_once(template, tmp_path: Path) -> None:
    instance = _instance(template, tmp_path / "instance")
    config = h.site_config(instance)
    with h.serve(config) as url:
        result = h.run_clients(url, template[1])
        drained = wait_drained(instance)
    assert not result.errors, result.errors[:10]
    verdict = finish("a baseline", config, instance, result, notes=f"flusher drained: {drained}")
    assert verdict.acknowledged == h.CLIENTS * h.SAVES_PER_CLIENT


# --------------------------------------------------------------------------- b. kill -9


KILL_POINTS = ("before",) * 4 + ("after",) * 4 + ("flush",) * 4


def test_b_kill_9_of_random_workers_loses_and_duplicates_nothing(template, tmp_path: Path) -> None:
    instance = _instance(template, tmp_path / "instance")
    config = h.site_config(instance)
    kill_dir = tmp_path / "kill-tokens"
    kill_dir.mkdir()
    kills: list[int] = []

    def plant(stop: threading.Event) -> None:
        """Tokens for the kill points of tests/proof/_killpoints.py, one every 1.5–3.5 s."""
        rng = random.Random(9)
        points = list(KILL_POINTS)
        rng.shuffle(points)
        for i, point in enumerate(points):
            if stop.wait(rng.uniform(1.5, 3.5)):
                return
            (kill_dir / f"{point}-{i}").touch()

    server = {
        "env": {_killpoints.DIR_ENV: str(kill_dir)},
        "extra_args": ("-c", "python:tests.proof._killpoints"),
    }
    with h.serve(config, **server) as url:
        with h.Background(plant), h.Background(h.worker_killer(url, kills, most=6)):
            result = h.run_clients(url, template[1], recheck=True)
        time.sleep(3)  # let gunicorn replace the last killed worker
        drained = wait_drained(instance)
    left = Counter(name.split("-")[0] for name in os.listdir(kill_dir))
    hit = {p: KILL_POINTS.count(p) - left[p] for p in sorted(set(KILL_POINTS))}
    resubmitted = sum(1 for o in result.outcomes if o.attempts > 1)
    observed = len(result.tags("observed"))
    # The faults really happened: saves killed before and after the journal, workbook saves
    # killed before the journal knew, and random kills from outside on top.
    assert all(hit.values()), hit
    assert resubmitted > 0 and observed > 0, (resubmitted, observed)
    assert len(kills) >= 3, kills
    verdict = finish(
        "b kill -9",
        config,
        instance,
        result,
        notes=f"workers killed: {sum(hit.values()) + len(kills)} (at a kill point {hit}, at "
        f"random {len(kills)}), answers lost then resubmitted: {resubmitted}, "
        f"answers lost but the save seen on the list: {observed}, flusher drained: {drained}",
    )
    assert verdict.acknowledged >= 0.9 * verdict.submitted


# --------------------------------------------------------------------------- c. stale copy


def _admin_session(url: str, world: h.World) -> Any:
    return h.sign_in(url, world.admin_email, world.mentor_password)


def test_c_stale_copy_put_back_is_flagged_and_reapplied_on_confirmation(
    template, tmp_path: Path
) -> None:
    instance = _instance(template, tmp_path / "instance")
    workbook = instance / "mingxiao.xlsx"
    stale = tmp_path / "person-copy.xlsx"
    config = h.site_config(instance)
    marks: dict[str, int] = {}

    def person(stop: threading.Event) -> None:
        # A person copies the workbook early on …
        marks["at_copy"] = wait_tags(workbook, 100, stop)
        shutil.copy2(workbook, stale)
        # … and saves that copy back over it once many more saves have reached the file.
        marks["before_put_back"] = wait_tags(workbook, marks["at_copy"] + 200, stop)
        # Between two of the app's saves (a person's save racing the app's own atomic replace
        # would simply be overwritten, losing nothing; taking the write lock makes the put-back
        # land for certain, so the test can prove detection).
        with filelock.FileLock(str(workbook) + ".lock"):
            os.replace(stale, workbook)
        marks["put_back"] = 1

    with h.serve(config) as url:
        with h.Background(person):
            result = h.run_clients(url, template[1])
        assert marks.get("put_back"), marks
        drained = wait_drained(instance)
        admin = _admin_session(url, template[1])
        page = admin.get(url + "/admin/sync", timeout=60)
        assert page.status_code == 200
        # Flagged: the sync page shows the stale-copy incident with its Chinese explanation.
        assert "可能有人保存了旧副本" in page.text, page.text[:2000]
        ids = sorted(set(re.findall(r"/admin/incidents/(\d+)/reapply", page.text)))
        assert ids, "no re-apply button for the incident"
        # Before the confirmation the rows written between copy and put-back are missing.
        in_file = h.workbook_tags(workbook)
        missing_before = [t for t in result.acknowledged if in_file[t] == 0]
        assert missing_before, "the stale copy wiped nothing: the scenario did not happen"
        for incident in ids:
            r = admin.post(
                f"{url}/admin/incidents/{incident}/reapply",
                data={"csrf_token": h.csrf_of(page.text)},
                allow_redirects=True,
                timeout=60,
            )
            assert r.status_code == 200 and "已从日志重新排队" in r.text, r.text[:2000]
        drained = wait_drained(instance) and drained
    assert not result.errors, result.errors[:10]
    finish(
        "c stale copy",
        config,
        instance,
        result,
        notes=f"tags in the copy: {marks['at_copy']}, in the file when it was put back: "
        f"{marks['before_put_back']}, wiped and re-applied on confirmation: {len(missing_before)}, "
        f"incidents: {len(ids)}, flusher drained: {drained}",
    )


# --------------------------------------------------------------------------- d. owner lock


def test_d_owner_lock_file_held_30s_saves_acknowledged_then_applied(
    template, tmp_path: Path
) -> None:
    instance = _instance(template, tmp_path / "instance")
    workbook = instance / "mingxiao.xlsx"
    owner = instance / ("~$" + workbook.name)
    config = h.site_config(instance)
    gate = AckCounter()
    seen: dict[str, Any] = {}

    def excel(stop: threading.Event) -> None:
        if not gate.wait(100, stop):
            return
        owner.write_bytes(
            b"\x0bWPS user" + b"\x00" * 40
        )  # what Excel/WPS leave beside an open book
        time.sleep(3)  # a save that had already started may finish; then nothing may write
        seen["version"] = os.stat(workbook).st_mtime_ns
        seen["attempts_at_lock"] = gate.n
        stop.wait(27)
        seen["unchanged"] = os.stat(workbook).st_mtime_ns == seen["version"]
        seen["attempts_during"] = gate.n - seen["attempts_at_lock"]
        seen["pending_at_release"] = pending(instance)
        owner.unlink()

    with h.serve(config) as url:
        with h.Background(excel):
            result = h.run_clients(url, template[1], gate=gate)
            # the clients may finish before the 30 s are up: the lock is still held then
        drained = wait_drained(instance)
    assert not result.errors, result.errors[:10]
    assert seen["unchanged"], "the workbook was written while its owner file was there"
    assert seen["attempts_during"] > 0 and seen["pending_at_release"] > 0, seen
    finish(
        "d owner lock 30 s",
        config,
        instance,
        result,
        notes=f"saves submitted while locked: {seen['attempts_during']}, waiting in the journal "
        f"at release: {seen['pending_at_release']}, flusher drained after release: {drained}",
    )


# --------------------------------------------------------------------------- e. disk full


@dataclass
class Disk:
    """Where the instance lives and how it is filled: a real 64 MB tmpfs, or (where mounting
    is not permitted) a plain folder with ENOSPC injected into the workers."""

    folder: Path
    injected: bool

    @property
    def server_options(self) -> dict[str, Any]:
        if not self.injected:
            return {}
        return {
            "env": {_enospc.MARKER_ENV: str(self.marker)},
            "extra_args": ("-c", "python:tests.proof._enospc"),
        }

    @property
    def marker(self) -> Path:
        return self.folder / "enospc-now"

    def fill(self) -> Path:
        if self.injected:
            self.marker.touch()
            return self.marker
        return fill(self.folder)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Disk]:
    """A 64 MB tmpfs; falls back to injected ENOSPC when mounting is not permitted
    (``PROOF_INJECT_ENOSPC=1`` forces the fallback)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    mounted = False
    if os.environ.get("PROOF_INJECT_ENOSPC") != "1" and shutil.which("mount"):
        done = subprocess.run(  # noqa: S603 - fixed command line
            ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)],  # noqa: S607
            capture_output=True,
            check=False,
        )
        mounted = done.returncode == 0
    try:
        yield Disk(mount, injected=not mounted)
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(mount)], check=False)  # noqa: S603, S607


def fill(folder: Path) -> Path:
    """Fill the filesystem of ``folder`` to the last byte; returns the filler file."""
    filler = folder / "filler.bin"
    chunk = b"\0" * (1 << 20)
    with open(filler, "wb", buffering=0) as f:  # unbuffered: nothing left to flush at close
        try:
            while True:
                f.write(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
        for size in (1 << 16, 1 << 12, 1 << 9, 1):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError:
                pass
    return filler


def test_e_disk_full_keeps_the_workbook_and_acknowledged_saves_land_after(
    template, tmp_path: Path, small_disk: Disk
) -> None:
    instance = _instance(template, small_disk.folder / "instance")
    workbook = instance / "mingxiao.xlsx"
    config = h.site_config(instance)
    seen: dict[str, Any] = {}

    def disk(stop: threading.Event) -> None:
        if wait_tags(workbook, 100, stop) < 100:  # rows the app wrote before the disk fills
            return
        st = os.statvfs(small_disk.folder)
        seen["used_mb"] = (st.f_blocks - st.f_bfree) * st.f_frsize / 2**20
        filler = small_disk.fill()
        seen["tags_at_full"] = {t for t in h.workbook_tags(workbook) if t.startswith("SET-")}
        stop.wait(12)
        # The original workbook is intact: it opens and holds every row applied before.
        tags = h.workbook_tags(workbook)
        seen["intact"] = all(tags[t] == 1 for t in seen["tags_at_full"])
        filler.unlink()

    with h.serve(config, **small_disk.server_options) as url:
        with h.Background(disk):
            # A person told "disk full, try again later" tries again later: the client checks
            # the log list first and resubmits only a save that is not there.
            result = h.run_clients(url, template[1], recheck=True)
        drained = wait_drained(instance)
    assert seen["tags_at_full"] and seen["intact"], "the workbook lost rows while the disk was full"
    assert result.busy > 0, "no save met the full disk: the scenario did not happen"
    for page in result.error_pages:
        assert "磁盘已满" in page, page[:3000]  # a clear Chinese error, not a bare 500
    verdict = finish(
        "e disk full",
        config,
        instance,
        result,
        notes=f"{'injected ENOSPC' if small_disk.injected else 'tmpfs 64 MB'}, "
        f"used before filling: {seen['used_mb']:.1f} MB, rows in the workbook when "
        f"it filled: {len(seen['tags_at_full'])} (all still there while full), answers "
        f"'磁盘已满' (503): {result.busy}, flusher drained after freeing: {drained}",
    )
    assert verdict.acknowledged == verdict.submitted  # every save went through once space was back


# --------------------------------------------------------------------------- f. Google


def test_f_google_fake_with_429_500_timeouts_and_lost_answers(tmp_path: Path) -> None:
    from app import create_app
    from mingxiao.auth import ensure_demo_accounts
    from mingxiao.cli import DEMO_PASSWORD
    from mingxiao.database import close_db, get_db

    with FakeGoogle(seed=8) as fake:
        key = fake.create_spreadsheet()
        instance = tmp_path / "instance"
        config = h.site_config(
            instance,
            BACKEND="gsheets",
            GSHEETS_KEY=key,
            GSHEETS_API_BASE=fake.base_url,
            GSHEETS_READS_PER_MINUTE=100_000,
            GSHEETS_WRITES_PER_MINUTE=100_000,
            GSHEETS_CHANGE_TTL=1.0,
            GSHEETS_TIMEOUT=1.0,
        )
        app = create_app(config)
        try:
            db = get_db(app)
            db.init(demo=True, scale=0.1)
            ensure_demo_accounts(app, DEMO_PASSWORD)
            world = h.world_of(db, DEMO_PASSWORD)
            db.sync()
        finally:
            close_db(app)
        fake.hang_seconds = 1.5  # "timeout" and "lost" answer after the client gave up
        fake.retry_after = 0.2
        with h.serve(config) as url:
            fake.rates = {"429": 0.06, "500": 0.05, "503": 0.03, "timeout": 0.05, "lost": 0.05}
            # Group commits are few (one every few seconds on Google): make sure some of the
            # appends and updates themselves fail too, each fault kind once or twice.
            for kind in ("lost", "timeout", "500", "429", "lost", "503"):
                fake.fail_next(
                    kind, match=lambda method, name: method != "GET" and name.startswith("values.")
                )
            result = h.run_clients(url, world)
            drained = wait_drained(instance, timeout=120)  # still under faults
            fake.rates = {}
            faults = {
                k: sum(1 for c in fake.calls if c.fault == k)
                for k in ("429", "500", "503", "timeout", "lost")
            }
            faults["calls"] = len(fake.calls)
            faults["on writes"] = sum(1 for c in fake.calls if c.fault and c.kind == "write")
        out = h.sheets_sync(config)
        assert "仍待同步 0 项" in out, out
        verdict = h.judge(
            "f google fake",
            result,
            h.google_tags(fake, key),
            notes=f"faults injected: {faults}, flusher drained: {drained}",
        )
    assert not result.errors, result.errors[:10]
    assert sum(faults[k] for k in ("429", "500", "503", "timeout", "lost")) >= 10, faults
    assert faults["on writes"] > 0, faults
    assert not verdict.duplicates, verdict.duplicates[:10]
    assert not verdict.lost, verdict.lost[:10]


# --------------------------------------------------------------------------- g. the writer


def _writer_pids(instance: Path) -> list[int]:
    """Pids of ``flask sheets writer`` processes serving ``instance``."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if b"sheets\x00writer" in cmd and str(instance).encode() in cmd:
                out.append(int(entry))
    return out


def test_g_kill_9_of_the_dedicated_writer_the_workers_take_over(template, tmp_path: Path) -> None:
    """The deployment config (deploy/gunicorn.conf.py) runs a dedicated writer beside the
    workers. It is killed with -9 in the middle of the run: the workers' own flushers must take
    over, and every acknowledged save lands once."""
    instance = _instance(template, tmp_path / "instance")
    config = h.site_config(instance)
    conf = ("-c", str(h.REPO / "deploy" / "gunicorn.conf.py"))
    killed: list[int] = []
    seen: dict[str, Any] = {}
    with h.serve(config, extra_args=conf) as url:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            seen = h.requests.get(url + "/healthz", timeout=10).json()
            if seen.get("writer") == "ready":
                break
            time.sleep(0.2)
        assert seen.get("writer") == "ready", seen
        pids = _writer_pids(instance)
        assert len(pids) == 1, pids

        def kill_writer(stop: threading.Event) -> None:
            if not stop.wait(4.0):
                os.kill(pids[0], 9)
                killed.append(pids[0])

        with h.Background(kill_writer):
            result = h.run_clients(url, template[1])
        drained = wait_drained(instance)
        after = h.requests.get(url + "/healthz", timeout=10).json()
    assert killed and after.get("writer") is None, (killed, after)
    assert not _writer_pids(instance)
    assert not result.errors, result.errors[:10]
    verdict = finish(
        "g writer kill -9", config, instance, result,
        notes=f"dedicated writer {killed[0]} killed after 4 s; flushers drained: {drained}",
    )  # fmt: skip
    assert verdict.acknowledged == h.CLIENTS * h.SAVES_PER_CLIENT


def test_g_stopping_the_server_stops_the_writer_after_it_saved_everything(template, tmp_path: Path) -> None:
    instance = _instance(template, tmp_path / "instance")
    config = h.site_config(instance)
    conf = ("-c", str(h.REPO / "deploy" / "gunicorn.conf.py"))
    with h.serve(config, extra_args=conf, env={"MINGXIAO_WRITER": "1"}) as url:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _writer_pids(instance):
            time.sleep(0.2)
        pids = _writer_pids(instance)
        result = h.run_clients(url, template[1], clients=5)
    assert len(pids) == 1
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _writer_pids(instance):
        time.sleep(0.2)
    assert not _writer_pids(instance)
    tags = h.workbook_tags(instance / "mingxiao.xlsx")
    acked = result.acknowledged
    assert acked and all(tags.get(t) == 1 for t in acked), [t for t in acked if tags.get(t) != 1][:10]
