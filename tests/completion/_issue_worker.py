"""A separate process that issues certificates (tests/completion/test_concurrency.py).

Usage: python -m tests.completion._issue_worker CONFIG_JSON GO_FILE TRAINEE_ID...
Says it is ready (GO_FILE.ready.<pid>), waits until GO_FILE exists (so both workers start
together), issues one certificate per
trainee on the same day, prints the numbers as JSON. The time between computing a number
and writing it is widened on purpose (see ``_widen_race_window``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from app import create_app
from blueprints.completion import certificates, rules
from mingxiao.database import close_db, get_db

ISSUED_ON = dt.date(2030, 6, 1)
RACE_WINDOW = 0.05  # seconds between computing a number and writing it: makes a race likely


def _widen_race_window() -> None:
    """Sleep after each number is computed, so that without the cross-process lock the other
    worker would read the same sheet state and compute the same number."""
    compute = rules.next_number

    def slow(*args: Any, **kwargs: Any) -> str:
        number = compute(*args, **kwargs)
        time.sleep(RACE_WINDOW)
        return number

    rules.next_number = slow  # type: ignore[assignment]


def main(argv: list[str]) -> int:
    config = json.loads(argv[0])
    go = Path(argv[1])
    _widen_race_window()
    app = create_app(config)
    numbers = []
    with app.app_context():
        db = get_db(app)
        db.table("certificates").all()  # warm the snapshot before the start signal
        Path(f"{go}.ready.{os.getpid()}").touch()
        deadline = time.monotonic() + 120
        while not go.exists():
            if time.monotonic() > deadline:
                return 2
            time.sleep(0.005)
        for tid in argv[2:]:
            trainee = db.table("trainees").get(tid)
            assert trainee is not None, tid
            issued = certificates.issue(
                db,
                trainee,
                user="worker@example.cn",
                instance_path=app.instance_path,
                issued_on=ISSUED_ON,
                hours=270,
            )
            numbers.append(issued.number)
    close_db(app)
    print(json.dumps(numbers))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
