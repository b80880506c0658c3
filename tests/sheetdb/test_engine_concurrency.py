"""Four OS processes insert 100 rows each at the same time, each with its own background flusher."""

from __future__ import annotations

import subprocess
import sys
import threading
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
    rows_openpyxl,
    write_writer_script,
    writer_env,
)

TITLE = "导师"
PROCESSES = 4
PER_PROCESS = 100


@pytest.fixture(scope="module")
def race(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Run the race once; the tests below check different promises about its outcome."""
    folder = tmp_path_factory.mktemp("race")
    db = open_small(folder)
    db.table("mentors").insert({"name": "先来的", "organisation": "A"})  # one row from before
    db.sync()
    db.close()
    script = write_writer_script(folder)
    go = folder / "go"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(script),
                str(folder),
                str(PER_PROCESS),
                f"p{i}",
                "0.05",
                str(go),
                "1",
                "0",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=writer_env(),
        )
        for i in range(PROCESSES)
    ]
    for p in procs:  # wait until every writer is up, then start them together
        assert p.stdout is not None and p.stdout.readline() == "ready\n", (
            p.stderr.read() if p.stderr else ""
        )
    started = time.monotonic()
    go.touch()
    outputs = []
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
        outputs.append(out)
    elapsed = time.monotonic() - started
    final = open_small(folder, init=False)
    result = final.sync()
    yield {
        "folder": folder,
        "db": final,
        "acked": [acknowledged(out) for out in outputs],
        "final_sync": result,
        "elapsed": elapsed,
    }
    final.close()


def test_every_process_got_its_100_inserts_acknowledged(race: dict) -> None:
    assert [len(ids) for ids in race["acked"]] == [PER_PROCESS] * PROCESSES


def test_acknowledged_ids_are_unique_across_processes(race: dict) -> None:
    every = [rid for ids in race["acked"] for rid in ids]
    assert len(set(every)) == PROCESSES * PER_PROCESS


def test_exactly_400_new_rows_no_duplicates_read_with_openpyxl(race: dict) -> None:
    ids = ids_in_file(race["folder"] / "w.xlsx", TITLE)
    assert len(ids) == 1 + PROCESSES * PER_PROCESS
    assert [rid for rid, n in Counter(ids).items() if n > 1] == []
    acked = {rid for ids_ in race["acked"] for rid in ids_}
    assert set(ids) == acked | {"M0001"}


def test_exactly_400_new_rows_no_duplicates_read_with_calamine(race: dict) -> None:
    rows = rows_calamine(race["folder"] / "w.xlsx", TITLE)
    ids = [r["编号"] for r in rows]
    assert len(ids) == len(set(ids)) == 1 + PROCESSES * PER_PROCESS
    names = Counter(r["姓名"] for r in rows)
    assert all(names[f"p{i}-{n}"] == 1 for i in range(PROCESSES) for n in range(PER_PROCESS))


def test_the_workbook_opens_in_openpyxl_with_every_row_intact(race: dict) -> None:
    wb = openpyxl.load_workbook(race["folder"] / "w.xlsx")
    assert TITLE in wb.sheetnames
    rows = rows_openpyxl(race["folder"] / "w.xlsx", TITLE)
    for row in rows[1:]:
        assert row["工作单位"] == row["姓名"].split("-")[0]  # no cells mixed up between rows


def test_the_flushers_applied_everything_before_the_final_sync(race: dict) -> None:
    db = race["db"]
    assert db.status()["pending"] == 0 and db.status()["parked"] == 0
    assert race["final_sync"].applied == 0


def test_other_processes_writes_are_not_mistaken_for_hand_edits(race: dict) -> None:
    db = race["db"]
    assert db.audit(source="sheet") == []
    assert db.incidents() == []


def test_threads_of_one_process_insert_concurrently_without_losing_rows(tmp_path: Path) -> None:
    """gunicorn with threads: 4 threads share one Database and its background flusher."""
    db = open_small(tmp_path, autoflush=True, flush_delay=0.02, idle_interval=0.2)
    acked: list[list[str]] = [[] for _ in range(4)]
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            mentors = db.table("mentors")
            for i in range(50):
                acked[n].append(
                    mentors.insert({"name": f"t{n}-{i}", "organisation": f"t{n}"}, user=f"t{n}").id
                )
                mentors.get(acked[n][-1])  # a read between writes, as a request would do
        except BaseException as exc:  # surfaced below: a thread must not die silently
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    db.sync()
    ids = ids_in_file(tmp_path / "w.xlsx", TITLE)
    every = [rid for part in acked for rid in part]
    assert len(every) == len(set(every)) == 200
    assert Counter(ids) == Counter(every)
    assert db.status()["pending"] == 0 and db.audit(source="sheet") == []
    db.close()
