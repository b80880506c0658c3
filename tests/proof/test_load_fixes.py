"""Regression tests for what the load test (bench/load.py) found.

1. A district's 考勤预警 page and 学员名册 computed the absence figures of every trainee of the
   programme, scanning every attendance row on each view (about a second per view at demo
   scale 10). They now read only the district's trainees' rows, through the sheet's index;
   the figures must be the same as the whole-cohort computation.
2. A gunicorn worker loaded the workbook inside its first request; at demo scale 10 with four
   workers loading at once on a busy machine that passed the worker timeout, so the master
   killed and restarted the workers over and over. ``warm_worker`` (gunicorn's
   ``post_worker_init`` in deploy/gunicorn.conf.py) loads it before serving, heartbeating.
3. With ``max_requests`` 2000 ± 200 and evenly spread load, all four workers recycled within
   4 s of each other and nobody served while they reloaded (60 s timeouts on the Google fake).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from app import create_app
from blueprints.curriculum import data
from mingxiao import database
from mingxiao.database import EXT_DB, close_db, get_db, warm_worker
from mingxiao.sheetdb import Database
from tests._demo import DISTRICT, World
from tests.conftest import make_config

pytest_plugins = ["tests._demo"]


def _no_full_scan(*_a: object, **_kw: object) -> list[object]:
    raise AssertionError("a district page scanned the attendance of the whole programme")


def test_district_absence_figures_equal_the_whole_cohort_computation(world: World) -> None:
    with world.app.test_request_context():
        checked = 0
        for cohort in data.cohorts():
            full = data.cohort_summaries(cohort)
            some = sorted(full)[::2]
            part = data.cohort_summaries(cohort, some)
            assert sorted(part) == some
            for tid in some:
                assert part[tid] == full[tid]
                checked += 1
        assert checked > 0
        everyone = data.risk_rows()
        for district in {str(r.trainee.get("district")) for r in everyone}:
            mine = data.risk_rows(district=district)
            expected = [r for r in everyone if r.trainee.get("district") == district]
            assert [(r.trainee.id, r.summary) for r in mine] == [
                (r.trainee.id, r.summary) for r in expected
            ]


def test_district_risk_page_and_roster_read_only_their_trainees_attendance(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = world.client("district")
    monkeypatch.setattr(data, "attendance_of_sessions", _no_full_scan)
    for path in ("/curriculum/risk", "/trainees/"):
        response = client.get(path)
        assert response.status_code == 200, path
    assert DISTRICT in client.get("/curriculum/risk").get_data(as_text=True)


def test_warm_worker_loads_the_workbook_before_serving_and_heartbeats_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(make_config(tmp_path))
    with app.app_context():
        get_db(app).init()
    close_db(app)
    slow = Database.snapshot
    loaded_in: list[str] = []

    def slow_snapshot(self: Database) -> object:
        time.sleep(0.4)  # a big workbook
        loaded_in.append(threading.current_thread().name)
        return slow(self)

    monkeypatch.setattr(Database, "snapshot", slow_snapshot)
    beats: list[float] = []
    try:
        assert warm_worker(app, lambda: beats.append(time.monotonic()), interval=0.05) is True
        assert app.extensions[EXT_DB] is not None  # the first request finds it open
        assert loaded_in[0] == "mingxiao-warm"
        assert len(beats) >= 3  # the master heard from the worker while it loaded
    finally:
        close_db(app)


def test_gunicorn_config_warms_each_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"
    namespace: dict[str, Any] = {}
    exec(compile(conf.read_text(encoding="utf-8"), str(conf), "exec"), namespace)  # noqa: S102 - our own config file
    app = create_app(make_config(tmp_path))
    calls: list[tuple[Any, Any]] = []
    monkeypatch.setattr(database, "warm_worker", lambda a, beat, **kw: calls.append((a, beat)))

    class Worker:
        wsgi = app

        def notify(self) -> None:
            pass

    worker = Worker()
    namespace["post_worker_init"](worker)
    assert calls == [(app, worker.notify)]
    # Workers recycled after max_requests must not all restart (and reload) at once.
    assert namespace["max_requests_jitter"] >= namespace["max_requests"] // 2
