"""Certificate numbers stay gap-free and unique when two processes (two gunicorn workers)
issue at the same moment against the same instance folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from app import create_app
from blueprints.completion import rules
from mingxiao.database import close_db, get_db
from tests.completion._issue_worker import ISSUED_ON
from tests.conftest import make_config

ROOT = Path(__file__).resolve().parents[2]
PER_WORKER = 6


def _prepared_instance(tmp_path: Path) -> tuple[dict, list[str], int]:
    """A demo instance where 2 × PER_WORKER trainees of one cohort are 结业 without a certificate."""
    config = make_config(tmp_path, DATABASE_OPTIONS={"autoflush": False})
    app = create_app(config)
    try:
        db = get_db(app)
        db.init(demo=True, scale=0.3)
        certified = {str(c["trainee"]) for c in db.table("certificates").all()}
        cohorts = sorted(db.table("cohorts").all(), key=lambda c: c["number"])
        cohort = cohorts[-1]  # the cohort mid-way: nobody certified yet
        trainees = [
            t for t in db.table("trainees").where(cohort=cohort.id) if t.id not in certified
        ]
        chosen = [t.id for t in trainees[: 2 * PER_WORKER]]
        assert len(chosen) == 2 * PER_WORKER, "the demo cohort is too small for this test"
        for tid in chosen:
            db.table("trainees").update(tid, {"status": "结业"}, user="admin@example.cn")
        db.sync()
        return config, chosen, int(cohort["number"])
    finally:
        close_db(app)


def test_two_processes_issuing_at_once_get_consecutive_unique_numbers(tmp_path: Path):
    config, chosen, cohort_no = _prepared_instance(tmp_path)
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.completion._issue_worker",
                json.dumps(config),
                str(go),
                *ids,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for ids in (chosen[0::2], chosen[1::2])  # interleaved: both work the whole time
    ]
    deadline = time.monotonic() + 300
    while len(list(tmp_path.glob("go.ready.*"))) < len(workers):
        assert time.monotonic() < deadline and all(w.poll() is None for w in workers), (
            "a worker did not start"
        )
        time.sleep(0.05)
    go.touch()  # both are warmed up and waiting: they issue at the same moment
    outputs = [w.communicate(timeout=600) for w in workers]
    for w, (_out, err) in zip(workers, outputs, strict=True):
        assert w.returncode == 0, err[-3000:]
    issued = [n for out, _err in outputs for n in json.loads(out.strip().splitlines()[-1])]

    app = create_app(config)
    try:
        db = get_db(app)
        db.sync()
        in_sheet = [
            str(c["number"])
            for c in db.table("certificates").all(include_voided=True)
            if (rules.parse_number(c["number"]) or (0, 0))[:2] == (ISSUED_ON.year, cohort_no)
        ]
    finally:
        close_db(app)
    expected = [
        rules.format_number(ISSUED_ON.year, cohort_no, n) for n in range(1, 2 * PER_WORKER + 1)
    ]
    assert sorted(issued) == expected  # no duplicates, no gaps, as the workers saw them
    assert sorted(in_sheet) == expected  # and as the workbook holds them
