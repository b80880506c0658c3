"""kill -9 a writer at random moments, 50 times, on one workbook.

A child process inserts rows in a loop with the background flusher on, printing each id only
after ``insert()`` returned. The parent kills it with SIGKILL 50–800 ms into its work, whatever it
is doing (journal commit, openpyxl save, os.replace…). After every kill the workbook must open,
and after a restart (a fresh Database + sync) every acknowledged id is in it exactly once.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest

from tests.sheetdb.helpers import (
    acknowledged,
    ids_in_file,
    open_small,
    rows_calamine,
    write_writer_script,
    writer_env,
)

TITLE = "导师"
ROUNDS = 50
PAUSE = 0.02  # between inserts: keeps the workbook small enough for 50 rounds in about a minute


def run_and_kill(script: Path, folder: Path, tag: str, delay: float) -> tuple[list[str], str]:
    """Start a writer, SIGKILL it ``delay`` seconds after it is ready; its acknowledged ids."""
    proc = subprocess.Popen(
        [sys.executable, str(script), str(folder), "0", tag, "0.01", "-", "0", str(PAUSE)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=writer_env(),
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    if first != b"ready\n":
        proc.kill()
        _out, err = proc.communicate()
        raise AssertionError(f"writer did not start: {first!r} {err.decode(errors='replace')}")
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    out, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, err.decode(errors="replace")
    return acknowledged(out.decode()), err.decode(errors="replace")


@pytest.mark.slow
@pytest.mark.xlsx_only("kills writers mid-save of the file, many rounds (Google: lost answers in test_gsheets_backend)")
def test_killed_writers_never_lose_or_duplicate_acknowledged_rows(tmp_path: Path) -> None:
    rng = random.Random(20260901)
    db = open_small(tmp_path)
    db.close()
    script = write_writer_script(tmp_path)
    workbook = tmp_path / "w.xlsx"
    every_ack: list[str] = []
    for n in range(ROUNDS):
        acked, err = run_and_kill(script, tmp_path, f"r{n}", rng.uniform(0.05, 0.8))
        assert "Traceback" not in err, err
        every_ack += acked

        openpyxl.load_workbook(workbook).close()  # the file opens right after the kill

        restarted = open_small(tmp_path, init=False)
        result = restarted.sync()
        assert result is not None and result.error is None, result
        ids = ids_in_file(workbook, TITLE, reader=rows_calamine)
        counts = Counter(ids)
        assert [rid for rid, c in counts.items() if c > 1] == [], f"round {n}: duplicated rows"
        missing = [rid for rid in every_ack if rid not in counts]
        assert missing == [], f"round {n}: acknowledged ids lost"
        assert restarted.status()["pending"] == 0
        assert restarted.conflicts() == [], f"round {n}: {restarted.conflicts()}"
        restarted.close()

    final = open_small(tmp_path, init=False)
    assert len(every_ack) == len(set(every_ack))
    assert len(every_ack) > ROUNDS  # the kills really landed among inserts
    assert final.incidents() == []  # crashes are not mistaken for stale copies
    assert final.audit(source="sheet") == []  # nor for hand edits
    leftovers = [
        p.name for p in tmp_path.iterdir() if p.name.startswith(".w.") and p.suffix == ".xlsx"
    ]
    assert len(leftovers) <= ROUNDS  # at most one abandoned temp file per kill, never the workbook
    final.close()


# ---------------------------------------------------------------------- one exact crash point
#
# kill -9 after the workbook was replaced but before the journal recorded it: the file already
# holds the batch while the journal still calls its operations pending. That on-disk state is
# built exactly here: the journal files are copied before the sync and put back after it.

JOURNAL_FILES = ("journal.sqlite3", "journal.sqlite3-wal", "journal.sqlite3-shm")


def _copy_journal(src: Path, dest: Path) -> None:
    dest.mkdir(exist_ok=True)
    for name in JOURNAL_FILES:
        (dest / name).unlink(missing_ok=True)
        if (src / name).exists():
            shutil.copy2(src / name, dest / name)


@pytest.fixture
def crashed_after_save(tmp_path: Path) -> Iterator[dict]:
    db = open_small(tmp_path)
    mentors = db.table("mentors")
    a = mentors.insert({"name": "甲", "organisation": "杭州二中"})
    b = mentors.insert({"name": "乙", "organisation": "杭州二中"})
    db.sync()
    mentors.update(
        a.id, {"organisation": "学军中学"}, base={"organisation": "杭州二中"}, user="editor"
    )
    mentors.void(b.id, user="editor")
    c = mentors.insert({"name": "丙", "organisation": "杭州二中"}, user="editor")
    db.close()
    _copy_journal(tmp_path, tmp_path / "before")
    writer = open_small(tmp_path, init=False)
    writer.sync()  # the save that "crashed" right after os.replace
    writer.close()
    _copy_journal(tmp_path / "before", tmp_path)
    restarted = open_small(tmp_path, init=False)
    assert len(restarted.pending()) == 3  # the journal never heard of the save
    restarted.sync()
    yield {"db": restarted, "a": a.id, "b": b.id, "c": c.id, "path": tmp_path / "w.xlsx"}
    restarted.close()


def test_crash_after_save_before_journal_commit_keeps_the_data_exact(
    crashed_after_save: dict,
) -> None:
    db, path = crashed_after_save["db"], crashed_after_save["path"]
    assert Counter(ids_in_file(path, TITLE)) == Counter({"M0001": 1, "M0002": 1, "M0003": 1})
    mentors = db.table("mentors")
    assert mentors.get(crashed_after_save["a"])["organisation"] == "学军中学"
    assert mentors.get(crashed_after_save["b"]) is None
    assert mentors.get(crashed_after_save["c"])["name"] == "丙"
    assert db.status()["pending"] == 0 and db.conflicts() == [] and db.incidents() == []


def test_crash_after_save_before_journal_commit_does_not_invent_hand_edits(
    crashed_after_save: dict,
) -> None:
    db = crashed_after_save["db"]
    assert [(e["record_id"], e["field"]) for e in db.audit(source="sheet")] == []


def test_crash_after_save_before_journal_commit_audits_each_web_operation_once(
    crashed_after_save: dict,
) -> None:
    db = crashed_after_save["db"]
    web = [
        (e["record_id"], e["field"], e["user"])
        for e in db.audit(source="web")
        if e["user"] == "editor"
    ]
    assert sorted(web, key=str) == sorted(
        [
            (crashed_after_save["a"], "organisation", "editor"),
            (crashed_after_save["b"], "voided", "editor"),
            (crashed_after_save["c"], None, "editor"),
        ],
        key=str,
    )


def test_a_surviving_process_applies_what_a_killed_writer_acknowledged(tmp_path: Path) -> None:
    """No manual sync: the survivor's background flusher takes over the killed writer's work."""
    open_small(tmp_path).close()
    script = write_writer_script(tmp_path)
    victim = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path), "0", "victim", "0.01", "-", "0", "0.005"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=writer_env(),
    )
    survivor = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path), "150", "survivor", "0.05", "-", "1", "0.01"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=writer_env(),
    )
    assert victim.stdout is not None and victim.stdout.readline() == b"ready\n"
    time.sleep(1.0)
    os.kill(victim.pid, signal.SIGKILL)
    victim_out, _ = victim.communicate()
    survivor_out, survivor_err = survivor.communicate(timeout=180)
    assert survivor.returncode == 0, survivor_err.decode(errors="replace")
    assert survivor_out.decode().endswith("done\n")
    acked = acknowledged(victim_out.decode()) + acknowledged(survivor_out.decode())
    assert len(acknowledged(survivor_out.decode())) == 150
    counts = Counter(ids_in_file(tmp_path / "w.xlsx", TITLE, reader=rows_calamine))
    assert [rid for rid in acked if counts[rid] != 1] == []
