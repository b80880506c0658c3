"""A per-minute request budget shared by every process of one server, kept in SQLite.

The Google backend keeps it in the journal database (``instance/journal.sqlite3``, its own
tables), so all gunicorn workers of one deployment draw from one budget. It is a sliding
window log: each request records its time under ``BEGIN IMMEDIATE``; a request may go only
while fewer than ``budget`` requests of its kind were sent in the last 60 seconds, so no
60-second window ever holds more than the budget. Retries and change checks count too.

The same file holds a tiny key/value table (``gsheets_state``) the backend uses to share the
Drive change token and the last full read between workers.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["QuotaLimiter", "QuotaTimeout"]


class QuotaTimeout(Exception):
    """No budget became free before the caller's deadline."""

    def __init__(self, kind: str, wait: float) -> None:
        super().__init__(f"{kind} budget exhausted for another {wait:.1f} s")
        self.kind = kind
        self.wait = wait


class QuotaLimiter:
    """``acquire("read"|"write", deadline)`` blocks until the request may be sent."""

    def __init__(
        self,
        path: Path | str,
        *,
        reads_per_minute: int = 60,
        writes_per_minute: int = 60,
        window: float = 60.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = Path(path)
        self.budgets = {"read": int(reads_per_minute), "write": int(writes_per_minute)}
        self.window = window
        self.clock = clock
        self.sleep = sleep
        self._local = threading.local()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = self._con()
        con.execute("CREATE TABLE IF NOT EXISTS gsheets_calls (kind TEXT NOT NULL, at REAL NOT NULL)")
        con.execute("CREATE INDEX IF NOT EXISTS gsheets_calls_kind_at ON gsheets_calls(kind, at)")
        con.execute("CREATE TABLE IF NOT EXISTS gsheets_state (key TEXT PRIMARY KEY, value BLOB, at REAL)")

    def _con(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        pid = getattr(self._local, "pid", None)
        if con is None or pid != os.getpid():
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA busy_timeout=30000")
            self._local.con = con
            self._local.pid = os.getpid()
        return con

    def try_acquire(self, kind: str, reserve: int = 0) -> float:
        """Take one request of ``kind`` now and return 0, or return the seconds to wait.

        ``reserve`` requests of the budget are left for callers that pass no reserve (the
        Google backend keeps a few reads for the process writing, so page views that re-read
        can never starve the writes of the reads they need)."""
        budget = max(1, self.budgets[kind] - max(0, reserve))
        con = self._con()
        now = self.clock()
        con.execute("BEGIN IMMEDIATE")
        try:
            con.execute("DELETE FROM gsheets_calls WHERE at <= ?", (now - self.window,))
            rows = con.execute(
                "SELECT at FROM gsheets_calls WHERE kind=? ORDER BY at DESC LIMIT 1 OFFSET ?", (kind, budget - 1)
            ).fetchone()
            if rows is not None:  # the budget-th newest call is still inside the window
                con.execute("COMMIT")
                return max(0.01, rows[0] + self.window - now + 0.001)
            con.execute("INSERT INTO gsheets_calls(kind, at) VALUES (?, ?)", (kind, now))
            con.execute("COMMIT")
            return 0.0
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def acquire(self, kind: str, deadline: float | None = None, reserve: int = 0) -> None:
        """Wait for budget; ``deadline`` is a ``time.monotonic()`` instant (QuotaTimeout past it)."""
        while True:
            wait = self.try_acquire(kind, reserve)
            if wait <= 0:
                return
            if deadline is not None and time.monotonic() + wait > deadline:
                raise QuotaTimeout(kind, wait)
            self.sleep(min(wait, 1.0))

    def used(self, kind: str) -> int:
        now = self.clock()
        row = self._con().execute(
            "SELECT COUNT(*) FROM gsheets_calls WHERE kind=? AND at > ?", (kind, now - self.window)
        ).fetchone()
        return int(row[0])

    def available(self, kind: str) -> int:
        return max(0, self.budgets[kind] - self.used(kind))

    # ------------------------------------------------------------------ shared state
    def get_state(self, key: str) -> tuple[Any, float] | None:
        row = self._con().execute("SELECT value, at FROM gsheets_state WHERE key=?", (key,)).fetchone()
        return (row[0], float(row[1])) if row else None

    def set_state(self, key: str, value: Any, at: float | None = None) -> None:
        self._con().execute(
            "INSERT INTO gsheets_state(key, value, at) VALUES (?,?,?)"
            " ON CONFLICT(key) DO UPDATE SET value=excluded.value, at=excluded.at",
            (key, value, self.clock() if at is None else at),
        )

    def bump_state(
        self, key: str, *, expire: tuple[str, ...] = (), also: dict[str, Any] | None = None
    ) -> int:
        """Add one to the integer kept under ``key`` (0 if absent) and return the new value;
        in the same transaction, make the states named in ``expire`` stale (age 0) and set
        those in ``also`` (fresh: age now)."""
        con = self._con()
        con.execute("BEGIN IMMEDIATE")
        try:
            row = con.execute("SELECT value FROM gsheets_state WHERE key=?", (key,)).fetchone()
            value = (int(row[0]) if row and isinstance(row[0], int) else 0) + 1
            con.execute(
                "INSERT INTO gsheets_state(key, value, at) VALUES (?,?,?)"
                " ON CONFLICT(key) DO UPDATE SET value=excluded.value, at=excluded.at",
                (key, value, self.clock()),
            )
            con.executemany("UPDATE gsheets_state SET at=0 WHERE key=?", [(k,) for k in expire])
            con.executemany(
                "INSERT INTO gsheets_state(key, value, at) VALUES (?,?,?)"
                " ON CONFLICT(key) DO UPDATE SET value=excluded.value, at=excluded.at",
                [(k, v, self.clock()) for k, v in (also or {}).items()],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return value

    def states(self, *keys: str) -> dict[str, tuple[Any, float]]:
        """Several ``get_state`` values in one query."""
        marks = ",".join("?" * len(keys))
        rows = self._con().execute(f"SELECT key, value, at FROM gsheets_state WHERE key IN ({marks})", keys)  # noqa: S608 - placeholders only
        return {r[0]: (r[1], float(r[2])) for r in rows}

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None
