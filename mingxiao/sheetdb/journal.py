"""The write-ahead journal: SQLite in WAL mode in the instance folder, shared by all processes.

Every insert/update/void is committed here first (``synchronous=FULL``), so an acknowledged
save survives a crash, a locked workbook or an unreachable Google Sheet. The journal also keeps
id counters, the audit trail, the last known content of every row (to recognise direct edits
and stale copies), incidents for admins, and small shared state (last sync, rate limits).
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from .types import dumps, loads

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS ops (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    op_id TEXT NOT NULL UNIQUE,
    sheet TEXT NOT NULL,
    kind TEXT NOT NULL,               -- insert | update | void
    record_id TEXT NOT NULL,
    values_json TEXT NOT NULL,        -- insert: all values; update: changed fields (mine); void: {reason}
    base_json TEXT,                   -- update: the values the form showed for those fields
    user TEXT,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL,             -- pending | applied | parked | resolved | discarded
    applied_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    conflict_json TEXT
);
CREATE INDEX IF NOT EXISTS ops_status ON ops(status, seq);
CREATE INDEX IF NOT EXISTS ops_record ON ops(sheet, record_id);
CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, next INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    source TEXT NOT NULL,             -- web | sheet | system
    user TEXT,
    sheet TEXT NOT NULL,
    record_id TEXT,
    field TEXT,
    old TEXT,
    new TEXT,
    op_seq INTEGER,
    note TEXT
);
CREATE INDEX IF NOT EXISTS audit_record ON audit(sheet, record_id);
CREATE INDEX IF NOT EXISTS audit_user ON audit(user);
CREATE TABLE IF NOT EXISTS rowstate (
    sheet TEXT NOT NULL,
    record_id TEXT NOT NULL,
    values_json TEXT NOT NULL,
    app_fields TEXT NOT NULL DEFAULT '[]',  -- fields whose current value the app wrote
    PRIMARY KEY (sheet, record_id)
);
CREATE TABLE IF NOT EXISTS incidents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail_json TEXT NOT NULL,
    status TEXT NOT NULL,             -- open | reapplied | dismissed
    resolved_by TEXT,
    resolved_at TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
-- What one group commit turned workbook version from_version into (the rows as written), so
-- that the other processes patch their snapshot instead of re-reading the whole workbook.
CREATE TABLE IF NOT EXISTS deltas (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    from_version TEXT NOT NULL,
    to_version TEXT NOT NULL,
    rows_json TEXT NOT NULL           -- [[sheet, id, values], ...]
);
CREATE INDEX IF NOT EXISTS deltas_from ON deltas(from_version, seq);
"""


# The zone of every stamp the journal keeps (audit ``at``, operations, incidents, last sync):
# the zone sheet times are written in (Database's DEFAULT_TIMEZONE), so 修改记录 and 审计记录
# read 15:09 beside a 更新时间 of 15:09 even on a server that runs in UTC.
STAMP_TIMEZONE = ZoneInfo("Asia/Shanghai")


def now_iso() -> str:
    """Now as Beijing wall-clock text to the second, whatever zone the server runs in."""
    return dt.datetime.now(STAMP_TIMEZONE).replace(tzinfo=None, microsecond=0).isoformat(sep=" ")


@dataclass(frozen=True)
class Operation:
    """One journaled write."""

    seq: int
    op_id: str
    sheet: str
    kind: str
    record_id: str
    values: dict[str, Any]
    base: dict[str, Any] | None
    user: str | None
    created_at: str
    status: str
    applied_at: str | None = None
    attempts: int = 0
    last_error: str | None = None
    conflict: dict[str, Any] | None = None

    @staticmethod
    def from_row(row: sqlite3.Row) -> Operation:
        return Operation(
            seq=row["seq"],
            op_id=row["op_id"],
            sheet=row["sheet"],
            kind=row["kind"],
            record_id=row["record_id"],
            values=loads(row["values_json"]) or {},
            base=loads(row["base_json"]),
            user=row["user"],
            created_at=row["created_at"],
            status=row["status"],
            applied_at=row["applied_at"],
            attempts=row["attempts"],
            last_error=row["last_error"],
            conflict=loads(row["conflict_json"]),
        )


class Journal:
    """Thread-safe access to the journal database (one connection per thread)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self.commits = 0  # commits made by this process (any thread)
        self.con.executescript(SCHEMA_SQL)  # idempotent; executescript manages its own transaction

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(
            self.path, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        con.execute("PRAGMA busy_timeout=30000")
        return con

    @property
    def con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        pid = getattr(self._local, "pid", None)
        if con is None or pid != os.getpid():  # never share a connection across fork()
            con = self._connect()
            self._local.con = con
            self._local.pid = os.getpid()
        return con

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction: one writer at a time across all processes."""
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        else:
            con.execute("COMMIT")
            self.commits += 1  # PRAGMA data_version ignores a connection's own commits

    def data_version(self) -> int:
        """Changes whenever another connection commits (cheap cache key for overlays)."""
        return int(self.con.execute("PRAGMA data_version").fetchone()[0])

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None and getattr(self._local, "pid", None) == os.getpid():
            con.close()
        self._local.con = None

    # -- operations -------------------------------------------------------------------
    def add_op(
        self,
        con: sqlite3.Connection,
        *,
        sheet: str,
        kind: str,
        record_id: str,
        values: dict[str, Any],
        base: dict[str, Any] | None = None,
        user: str | None = None,
        status: str = "pending",
        conflict: dict[str, Any] | None = None,
    ) -> Operation:
        op_id = uuid.uuid4().hex
        created = now_iso()
        cur = con.execute(
            "INSERT INTO ops(op_id, sheet, kind, record_id, values_json, base_json, user, created_at, status, conflict_json)"
            " VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                op_id,
                sheet,
                kind,
                record_id,
                dumps(values),
                dumps(base) if base is not None else None,
                user,
                created,
                status,
                dumps(conflict) if conflict is not None else None,
            ),
        )
        return Operation(
            seq=int(cur.lastrowid or 0),
            op_id=op_id,
            sheet=sheet,
            kind=kind,
            record_id=record_id,
            values=values,
            base=base,
            user=user,
            created_at=created,
            status=status,
            conflict=conflict,
        )

    def ops(self, status: str, limit: int | None = None) -> list[Operation]:
        sql = "SELECT * FROM ops WHERE status=? ORDER BY seq"
        args: tuple[Any, ...] = (status,)
        if limit:
            sql += " LIMIT ?"
            args += (limit,)
        return [Operation.from_row(r) for r in self.con.execute(sql, args)]

    def pending_after(self, seq: int) -> list[Operation]:
        """Pending operations journaled after ``seq``, in order (uses the status index)."""
        rows = self.con.execute(
            "SELECT * FROM ops WHERE status='pending' AND seq>? ORDER BY seq", (seq,)
        )
        return [Operation.from_row(r) for r in rows]

    def op(self, seq: int) -> Operation | None:
        row = self.con.execute("SELECT * FROM ops WHERE seq=?", (seq,)).fetchone()
        return Operation.from_row(row) if row else None

    def count(self, status: str) -> int:
        return int(
            self.con.execute("SELECT COUNT(*) FROM ops WHERE status=?", (status,)).fetchone()[0]
        )

    # -- counters ---------------------------------------------------------------------
    def next_seq(self, con: sqlite3.Connection, key: str, at_least: int) -> int:
        row = con.execute("SELECT next FROM counters WHERE key=?", (key,)).fetchone()
        n = max(int(row["next"]) if row else 1, at_least)
        con.execute(
            "INSERT INTO counters(key, next) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET next=excluded.next",
            (key, n + 1),
        )
        return n

    @staticmethod
    def raise_seq(con: sqlite3.Connection, key: str, next_at_least: int) -> None:
        """Move the counter ``key`` up to ``next_at_least`` (never down), taking no number:
        for ids that exist already (typed by hand, imported, kept from a copy)."""
        con.execute(
            "INSERT INTO counters(key, next) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET next=MAX(next, excluded.next)",
            (key, next_at_least),
        )

    # -- meta -------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.con.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row["value"] if row else default

    def set_meta_now(self, key: str, value: str | None) -> None:
        """``set_meta`` in a transaction of its own."""
        with self.tx() as con:
            self.set_meta(con, key, value)

    @staticmethod
    def set_meta(con: sqlite3.Connection, key: str, value: str | None) -> None:
        con.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )

    # -- last known rows ----------------------------------------------------------------
    @staticmethod
    def save_rowstate(
        con: sqlite3.Connection, rows: dict[tuple[str, str], tuple[dict[str, Any], set[str]]]
    ) -> None:
        """Remember rows as last seen in the workbook, with the fields the app wrote."""
        con.executemany(
            "INSERT INTO rowstate(sheet, record_id, values_json, app_fields) VALUES (?,?,?,?)"
            " ON CONFLICT(sheet, record_id) DO UPDATE SET values_json=excluded.values_json,"
            " app_fields=excluded.app_fields",
            [
                (sheet, rid, dumps(values), dumps(sorted(fields)))
                for (sheet, rid), (values, fields) in rows.items()
            ],
        )

    # -- audit ------------------------------------------------------------------------
    @staticmethod
    def add_audit(
        con: sqlite3.Connection,
        *,
        source: str,
        sheet: str,
        record_id: str | None,
        field: str | None,
        old: Any,
        new: Any,
        user: str | None = None,
        op_seq: int | None = None,
        note: str | None = None,
        at: str | None = None,
    ) -> None:
        con.execute(
            "INSERT INTO audit(at, source, user, sheet, record_id, field, old, new, op_seq, note) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                at or now_iso(),
                source,
                user,
                sheet,
                record_id,
                field,
                _show(old),
                _show(new),
                op_seq,
                note,
            ),
        )


def _show(value: Any) -> str | None:
    """How a value is kept in the audit trail (readable text)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
