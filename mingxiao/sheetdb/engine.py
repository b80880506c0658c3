"""The engine: tables over a workbook, with a journal, group commit, merges and audit.

Write path: validate → commit an operation to the journal (durable: the call returns) →
a flusher applies pending operations in batches under the backend's cross-process lock,
with a three-way merge per update; conflicts are parked, never overwritten.

Read path: a per-process snapshot of the workbook (reloaded when the backend's change token
moves) overlaid with pending operations, so authors see their own saves at once.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

import filelock

from .backend import Backend, Batch, WorkbookError, WriteBlocked
from .health import Problem, sheet_problem
from .journal import Journal, Operation, now_iso
from .schema import SchemaSet, SheetSchema, default_schema_dir, load_schemas
from .snapshot import CHOICES_SHEET, Record, SheetData, Snapshot, id_seq, parse_workbook
from .types import N_, InputError, coerce_input, dumps, loads, same_value, to_cell

log = logging.getLogger("mingxiao.sheetdb")
T = TypeVar("T")

__all__ = [
    "Database",
    "FieldConflict",
    "Operation",
    "Page",
    "Record",
    "SheetReadOnly",
    "Table",
    "UpdateResult",
    "ValidationError",
    "open_database",
]

ENGINE_FIELDS = frozenset({"id", "created_at", "updated_at", "voided"})
MEMO_SIZE = 256  # results kept by Database.cached
DELTAS_KEPT = 500  # group commits whose rows stay in the journal for the other processes
TIMESTAMP_FIELDS = frozenset({"created_at", "updated_at"})  # stamped on every write, never "reverted"


class ValidationError(Exception):
    """Values do not fit the schema.

    ``errors`` maps field key → Chinese message; ``details`` maps field key → ``(template,
    params)`` so the UI can show the message in the reader's language.
    """

    def __init__(self, details: dict[str, tuple[str, dict[str, Any]]]) -> None:
        self.details = details
        self.errors = {k: t.format(**p) for k, (t, p) in details.items()}
        super().__init__("；".join(self.errors.values()))


class SheetReadOnly(Exception):
    """The sheet cannot be written until a person fixes it; ``template``/``params`` as in InputError."""

    def __init__(self, template: str, **params: Any) -> None:
        self.template = template
        self.params = params
        super().__init__(template.format(**params))


class RecordNotFound(KeyError):
    """No record with that id (or it has been voided)."""


@dataclass(frozen=True)
class FieldConflict:
    """One field changed on both sides: what the form showed, the sheet now, and mine."""

    field: str
    header: str
    base: Any
    theirs: Any
    mine: Any


@dataclass
class UpdateResult:
    """``status`` is "pending" (queued), "parked" (conflict) or "unchanged"."""

    status: str
    record: Record | None
    conflicts: list[FieldConflict] = field(default_factory=list)
    op: Operation | None = None


@dataclass
class Page:
    items: list[Record]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page)) if self.per_page else 1


@dataclass
class SyncResult:
    applied: int = 0
    parked: int = 0
    saves: int = 0
    blocked: str | None = None
    error: str | None = None


def _format_id(schema: SheetSchema, counter_key: str, n: int) -> str:
    return f"{counter_key}-{n:04d}" if schema.id_year else f"{counter_key}{n:04d}"


def _counter_key(schema: SheetSchema, today: dt.date) -> str:
    return f"{schema.id_prefix}{today.year}" if schema.id_year else schema.id_prefix


class Table:
    """One worksheet seen as a table of typed records."""

    def __init__(self, db: Database, schema: SheetSchema) -> None:
        self.db = db
        self.schema = schema
        self.key = schema.key

    # -- reads ------------------------------------------------------------------------
    def get(self, record_id: str, *, include_voided: bool = False) -> Record | None:
        """The record with this id (pending changes included), or None."""
        sd, overlay = self.db._view(self.key)
        rec: Record | None = overlay[record_id] if record_id in overlay else sd.records.get(record_id)
        if rec is None or (rec.voided and not include_voided):
            return None
        return rec

    def where(
        self,
        predicate: Callable[[Record], bool] | None = None,
        *,
        include_voided: bool = False,
        **equals: Any,
    ) -> list[Record]:
        """Records matching every ``key=value`` and ``predicate``, in sheet order."""
        for k in equals:
            if k not in self.schema.keys:
                raise KeyError(f"{self.key}: no column {k!r}")
        sd, overlay = self.db._view(self.key)

        def ok(rec: Record) -> bool:
            if rec.voided and not include_voided:
                return False
            for k, v in equals.items():
                if rec.get(k) != v:
                    return False
            return predicate(rec) if predicate else True

        if equals:
            # Use the most selective equality index, then check the rest.
            buckets: list[list[str]] = [sd.index(k).get(v, []) for k, v in equals.items()]
            best: list[str] = min(buckets, key=len)
            ids: Iterable[str] = best
        else:
            ids = sd.records.keys()
        out = [sd.records[rid] for rid in ids if rid not in overlay and ok(sd.records[rid])]
        extra = [rec for rec in overlay.values() if rec is not None and ok(rec)]
        if extra:
            known = [r for r in extra if r.id in sd.records]
            out.extend(known)
            out.sort(key=lambda r: (r.row is None, r.row or 0))
            out.extend(r for r in extra if r.id not in sd.records)
        out.extend(r for r in sd.unidentified if ok(r))
        return out

    def all(self, *, include_voided: bool = False) -> list[Record]:
        return self.where(include_voided=include_voided)

    def count(self, **equals: Any) -> int:
        return len(self.where(**equals))

    def page(
        self,
        page: int = 1,
        per_page: int = 50,
        *,
        where: Callable[[Record], bool] | None = None,
        order_by: str | None = None,
        include_voided: bool = False,
        **equals: Any,
    ) -> Page:
        """One page of matching records with the total count. ``order_by="-field"`` sorts descending."""
        if where is None and order_by is None:
            fast = self._fast_page(page, per_page, include_voided, equals)
            if fast is not None:
                return fast
        rows = self.where(where, include_voided=include_voided, **equals)
        if order_by:
            desc = order_by.startswith("-")
            key = order_by.lstrip("-")

            present = [r for r in rows if r.get(key) is not None]
            absent = [r for r in rows if r.get(key) is None]
            try:
                present.sort(key=lambda r: r[key], reverse=desc)
            except TypeError:  # mixed types typed by hand: compare as text
                present.sort(key=lambda r: str(r[key]), reverse=desc)
            rows = present + absent
        page = max(1, int(page))
        start = (page - 1) * per_page
        return Page(items=rows[start : start + per_page], total=len(rows), page=page, per_page=per_page)

    def _fast_page(self, page: int, per_page: int, include_voided: bool, equals: dict[str, Any]) -> Page | None:
        """A page of equality matches in O(per_page + pending): slices the cached index and
        corrects it with the (small) overlay. Same rows and order as ``where``; returns None
        when an overlay change would move a row into the middle (the slow path handles it)."""
        for k in equals:
            if k not in self.schema.keys:
                raise KeyError(f"{self.key}: no column {k!r}")
        sd, overlay = self.db._view(self.key)
        live = not include_voided

        def ok(rec: Record) -> bool:
            return (include_voided or not rec.voided) and all(rec.get(k) == v for k, v in equals.items())

        if equals:
            buckets: list[list[str]] = [sd.index(k, live=live).get(v, []) for k, v in equals.items()]
            bucket: list[str] = min(buckets, key=len)
            if len(equals) > 1:
                bucket = [rid for rid in bucket if ok(sd.records[rid])]
        else:
            bucket = sd.ids(live=live)
        removed: set[str] = set()
        extras: list[Record] = []
        for rid, rec in overlay.items():
            before = sd.records.get(rid)
            was, now = before is not None and ok(before), ok(rec)
            if was and not now:
                removed.add(rid)
            elif now and not was:
                if before is not None:
                    return None
                extras.append(rec)
        ids = [rid for rid in bucket if rid not in removed] if removed else bucket
        tail = extras + [r for r in sd.unidentified if ok(r)]
        page = max(1, int(page))
        start = (page - 1) * per_page
        items = [overlay.get(rid) or sd.records[rid] for rid in ids[start : start + per_page]]
        if len(items) < per_page:
            t0 = max(0, start - len(ids))
            items.extend(tail[t0 : t0 + per_page - len(items)])
        return Page(items=items, total=len(ids) + len(tail), page=page, per_page=per_page)

    def to_dataframe(self, *, include_voided: bool = False) -> Any:
        """The table as a pandas DataFrame with dtypes from the schema."""
        import pandas as pd

        rows = self.all(include_voided=include_voided)
        keys = list(self.schema.keys)
        df = pd.DataFrame([[r.get(k) for k in keys] for r in rows], columns=keys)
        for col in self.schema.columns:
            s = df[col.key]
            if col.type == "int":
                df[col.key] = pd.to_numeric(s, errors="coerce").astype("Int64")
            elif col.type == "decimal":
                df[col.key] = pd.to_numeric(s, errors="coerce").astype("Float64")
            elif col.type in ("date", "datetime"):
                df[col.key] = pd.to_datetime(s.map(lambda v: v if isinstance(v, dt.date) else None), errors="coerce")
            elif col.type == "bool":
                df[col.key] = s.map(lambda v: v if isinstance(v, bool) else None).astype("boolean")
            else:
                df[col.key] = s.astype("string")
        return df

    # -- writes -----------------------------------------------------------------------
    def validate(self, values: dict[str, Any], *, partial: bool) -> dict[str, Any]:
        """Typed values, or :class:`ValidationError` naming every bad field in Chinese."""
        errors: dict[str, tuple[str, dict[str, Any]]] = {}
        out: dict[str, Any] = {}
        for k in values:
            if k not in self.schema.keys:
                errors[k] = (N_("未知字段“{key}”"), {"key": k})
            elif k in ENGINE_FIELDS:
                errors[k] = (N_("“{header}”由系统维护，不能直接修改"), {"header": self.schema.column(k).header})
        for col in self.schema.user_columns:
            if partial and col.key not in values:
                continue
            try:
                out[col.key] = coerce_input(col, values.get(col.key), self.db.choices_for(col))
            except InputError as exc:
                errors[col.key] = (exc.template, exc.params)
        if errors:
            raise ValidationError(errors)
        return out

    def insert(self, values: dict[str, Any], *, user: str | None = None) -> Record:
        """Validate and journal a new row; returns it (``syncing=True``) with its new id."""
        return self.insert_many([values], user=user)[0]

    def insert_many(
        self, rows: list[dict[str, Any]], *, user: str | None = None, keep_ids: bool = False
    ) -> list[Record]:
        """Journal many rows in one transaction. ``keep_ids`` accepts ids given in the rows."""
        self.db._check_writable(self.key)
        clean = []
        for values in rows:
            given = values.get("id") if keep_ids else None
            body = {k: v for k, v in values.items() if not (keep_ids and k == "id")}
            clean.append((given, self.validate(body, partial=False)))
        sd = self.db._known_snapshot().sheets[self.key]
        today = self.db.today()
        stamp = self.db.now()
        out: list[Record] = []
        ops: list[Operation] = []
        with self.db.journal.tx() as con:
            for given, typed in clean:
                if given:
                    rid = str(given)
                    seq = id_seq(self.schema, rid)
                    if seq:  # keep the counter ahead of ids typed or imported
                        self.db.journal.raise_seq(con, seq[0], seq[1] + 1)
                else:
                    ckey = _counter_key(self.schema, today)
                    n = self.db.journal.next_seq(con, ckey, sd.max_seq.get(ckey, 0) + 1)
                    rid = _format_id(self.schema, ckey, n)
                full = {"id": rid, **typed, "created_at": stamp, "updated_at": stamp, "voided": False}
                ops.append(self.db.journal.add_op(con, sheet=self.key, kind="insert", record_id=rid, values=full, user=user))
                out.append(Record(full, sheet=self.key, syncing=True))
        self.db._committed(ops)
        return out

    def update(
        self,
        record_id: str,
        changes: dict[str, Any],
        *,
        base: dict[str, Any] | None = None,
        user: str | None = None,
    ) -> UpdateResult:
        """Journal an update. ``base`` holds the values the form showed (three-way merge).

        Fields whose new value equals ``base`` are not changes. A field someone else changed
        in the meantime to a different value parks the whole operation as a conflict.
        """
        self.db._check_writable(self.key)
        current = self.get(record_id, include_voided=True)
        if current is None:
            raise RecordNotFound(record_id)
        typed = self.validate(changes, partial=True)
        base_typed: dict[str, Any] = {}
        for k in typed:
            if base is not None and k in base:
                try:
                    base_typed[k] = coerce_input(_optional(self.schema.column(k)), base[k], ())
                except InputError:
                    base_typed[k] = base[k]
            else:
                base_typed[k] = current.get(k)
        mine = {k: v for k, v in typed.items() if not same_value(v, base_typed[k])}
        if not mine:
            return UpdateResult(status="unchanged", record=current)
        conflicts = [
            FieldConflict(k, self.schema.column(k).header, base_typed[k], current.get(k), v)
            for k, v in mine.items()
            if not same_value(current.get(k), base_typed[k]) and not same_value(current.get(k), v)
        ]
        base_used = {k: base_typed[k] for k in mine}
        with self.db.journal.tx() as con:
            op = self.db.journal.add_op(
                con,
                sheet=self.key,
                kind="update",
                record_id=record_id,
                values=mine,
                base=base_used,
                user=user,
                status="parked" if conflicts else "pending",
                conflict=_conflict_detail(conflicts) if conflicts else None,
            )
        self.db._committed([op])
        if conflicts:
            return UpdateResult(status="parked", record=current, conflicts=conflicts, op=op)
        return UpdateResult(status="pending", record=current.copy_with(mine, syncing=True), op=op)

    def void(self, record_id: str, *, user: str | None = None, reason: str = "") -> None:
        """Soft-delete: the row stays in the sheet marked 已作废, kept for audit."""
        self.db._check_writable(self.key)
        if self.get(record_id, include_voided=True) is None:
            raise RecordNotFound(record_id)
        with self.db.journal.tx() as con:
            op = self.db.journal.add_op(
                con, sheet=self.key, kind="void", record_id=record_id, values={"reason": reason}, user=user
            )
        self.db._committed([op])


def _optional(col: Any) -> Any:
    """The column with ``required`` off (a base value may legitimately be empty)."""
    return replace(col, required=False)


MISSING_ROW = N_("记录 {id} 已不在表格中（可能被删除）")


def _park_detail(reason: str, template: str, rid: str) -> dict[str, Any]:
    """Why an operation was parked, as a translatable message with its parameters."""
    return {"reason": reason, "message": template, "params": {"id": rid}}


def _conflict_detail(conflicts: list[FieldConflict]) -> dict[str, Any]:
    return {
        "fields": [
            {"field": c.field, "header": c.header, "base": c.base, "theirs": c.theirs, "mine": c.mine} for c in conflicts
        ]
    }


class _ThreadState(threading.local):
    def __init__(self) -> None:
        self.journal_key: tuple[int, int] | None = None
        self.snap_version: Hashable = object()
        self.overlay: dict[str, dict[str, Record]] = {}
        self.seqs: set[int] = set()
        self.max_seq = 0
        # Inside a web request (``begin_read``): what was asked of the journal and the backend
        # once, kept until the request ends or this process commits (see ``_journal_key``).
        self.pinned = False
        self.pin_dv: int | None = None
        self.pin_version: Hashable = None
        self.pin_commits = -1


DEFAULT_TIMEZONE = "Asia/Shanghai"


def _wall_clock(zone: ZoneInfo) -> dt.datetime:
    """Now, as the naive wall-clock time of ``zone`` (how the sheet stores times)."""
    return dt.datetime.now(zone).replace(tzinfo=None)


class Database:
    """A workbook as a database: tables, journal, flusher, audit, health."""

    def __init__(
        self,
        schemas: SchemaSet,
        backend: Backend,
        instance: Path | str,
        *,
        backup_keep: int = 24,
        autoflush: bool = True,
        flush_delay: float = 0.2,
        idle_interval: float = 2.0,
        stale_min_rows: int = 2,
        batch_max: int = 20000,
        clock: Callable[[], dt.datetime] | None = None,
        timezone: str = DEFAULT_TIMEZONE,
    ) -> None:
        self.schemas = schemas
        self.backend = backend
        self.instance = Path(instance)
        self.instance.mkdir(parents=True, exist_ok=True)
        self.journal = Journal(self.instance / "journal.sqlite3")
        self.backups_dir = self.instance / "backups"
        self.backup_keep = backup_keep
        self.autoflush = autoflush
        self.flush_delay = flush_delay
        self.idle_interval = idle_interval
        self.stale_min_rows = stale_min_rows
        self.batch_max = batch_max
        # Sheet times are naive wall-clock times in ``timezone`` (what a person in the office
        # reads and types in Excel), whatever zone the server itself runs in.
        self.timezone = timezone
        self._clock = clock or functools.partial(_wall_clock, ZoneInfo(timezone))
        self._lock = threading.RLock()
        self._snapshot: Snapshot = Snapshot.empty(schemas)
        self._read_error: str | None = None
        self._thread = _ThreadState()
        self._listeners: list[Callable[[Operation], None]] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None
        self._flusher_pid: int | None = None
        self._backup_thread: threading.Thread | None = None
        self._last_write = 0.0
        self.affinity_delay = 1.5  # > min_save_interval: the warm writer goes first
        self.min_save_interval = 1.0
        self.write_cache_seconds = 30.0
        self._memo: dict[Hashable, tuple[tuple[SheetData, ...], Any]] = {}
        self._memo_lock = threading.Lock()
        self.save_pace = 2.0  # pause after a save at least this many times its duration
        self._last_save_seconds = 0.0
        self.max_save_pause = 10.0  # ...but never longer than this

    # -- public helpers ---------------------------------------------------------------
    def table(self, key: str) -> Table:
        if key not in self.schemas.sheets:
            raise KeyError(f"no sheet {key!r}")
        return Table(self, self.schemas.sheets[key])

    def today(self) -> dt.date:
        return self._clock().date()

    def now(self) -> dt.datetime:
        """The engine's clock to the second: what 创建时间/更新时间 and stamps record."""
        return self._clock().replace(microsecond=0)

    def add_listener(self, fn: Callable[[Operation], None]) -> None:
        """Call ``fn(op)`` after each operation is durable (the app fires ``record_committed``)."""
        self._listeners.append(fn)

    def choices(self, name: str) -> tuple[str, ...]:
        """A named choice list as extended in the 选项列表 sheet."""
        return self._known_snapshot().choices.get(name, self.schemas.choice_lists.get(name, ()))

    def choices_for(self, col: Any) -> tuple[str, ...]:
        if col.type != "enum":
            return ()
        if isinstance(col.choices, str):
            return self.choices(col.choices)
        return self.schemas.choices_for(col)

    # -- snapshot and overlay -----------------------------------------------------------
    def begin_read(self) -> None:
        """This thread starts a web request: a page reads tables dozens of times, and asking
        the journal (``PRAGMA data_version``) and the backend (a ``stat``; on Google a shared
        state row) each time cost milliseconds. Until :meth:`end_read`, what they said is
        reused. Other processes' saves then show from the next request on; this process's
        own commits (a save in this request, the flusher) are seen at once."""
        st = self._thread
        st.pinned, st.pin_dv, st.pin_version, st.pin_commits = True, None, None, -1

    def end_read(self) -> None:
        st = self._thread
        st.pinned, st.pin_dv, st.pin_version = False, None, None

    def snapshot(self) -> Snapshot:
        """The current workbook snapshot (reloaded when the change token moved)."""
        st = self._thread
        snap = self._snapshot
        if st.pinned and st.pin_commits == self.journal.commits and st.pin_version is not None and st.pin_version == snap.version:
            return snap
        version = self.backend.version()
        if st.pinned:
            st.pin_version, st.pin_commits = version, self.journal.commits
        with self._lock:
            if version == self._snapshot.version:
                return self._snapshot
            try:
                self._refresh(version)
            except WorkbookError as exc:
                self._read_error = str(exc)
                return self._snapshot  # keep serving the last good snapshot
            self._read_error = None
            return self._snapshot

    def _refresh(self, version: Hashable) -> bool:
        """Bring the snapshot to ``version`` (call with ``_lock`` held); True when the whole
        workbook was re-read. A version this server's own group commits produced is reached by
        patching the snapshot with their rows (the ``deltas`` they journaled): re-parsing a
        178k-row workbook in every worker after every save took seconds of CPU each. A backend
        announces a save's delta before any reader can see the version it produces (``announce``
        of ``Backend.apply``), so a version without one is someone else's edit: re-read."""
        patched = self._advance(version)
        if patched is not None:
            self._snapshot = patched
            return False
        v2, tabs = self.backend.read_all()
        self._snapshot = parse_workbook(self.schemas, v2, tabs)
        with self._memo_lock:
            self._memo.clear()  # let the old snapshot's sheets go (cached results hold them)
        return True

    def _advance(self, version: Hashable) -> Snapshot | None:
        """The snapshot patched along the journaled deltas up to ``version``, or None."""
        snap = self._snapshot
        if snap.version is None:
            return None
        at, want = dumps(_token(snap.version)), dumps(_token(version))
        for _ in range(DELTAS_KEPT):
            row = self.journal.con.execute(
                "SELECT to_version, rows_json FROM deltas WHERE from_version=? ORDER BY seq DESC LIMIT 1", (at,)
            ).fetchone()
            if row is None:
                return None
            items = [(str(s), str(r), dict(v)) for s, r, v in loads(row["rows_json"])]
            at = row["to_version"]
            nxt = patch_snapshot(snap, items, version if at == want else loads(at))
            if nxt is None:
                return None
            snap = nxt
            if at == want:
                return snap
        return None

    def _known_snapshot(self) -> Snapshot:
        """The snapshot already loaded (no reload): the write path must not stall on a
        re-parse after another process saved. Ids stay safe because every sync raises the
        journal's counters past the ids found in the workbook (see ``_raise_counters``)."""
        snap = self._snapshot
        return snap if snap.version is not None else self.snapshot()

    def _journal_key(self) -> tuple[int, int]:
        """Moves whenever any process commits to the journal (other connections' commits show
        in this thread's ``data_version``; this process's own in ``journal.commits``)."""
        st = self._thread
        if not st.pinned:
            return (self.journal.data_version(), self.journal.commits)
        if st.pin_dv is None:
            st.pin_dv = self.journal.data_version()
        return (st.pin_dv, self.journal.commits)

    def cached(self, key: Hashable, sheets: Iterable[str], compute: Callable[[], T]) -> T:
        """``compute()``, reused while none of ``sheets`` changed (same parsed sheet, nothing
        pending on it). For figures derived from whole sheets (attendance summaries): the
        result is shared between requests and threads, so it must not be modified.
        ``key`` must hold every other input (ids, today's date)."""
        deps = []
        for sheet in sheets:
            sd, overlay = self._view(sheet)
            if overlay:
                return compute()
            deps.append(sd)
        hit = self._memo.get(key)
        if hit is not None and len(hit[0]) == len(deps) and all(a is b for a, b in zip(hit[0], deps, strict=True)):
            return cast(T, hit[1])
        value = compute()
        with self._memo_lock:
            self._memo.pop(key, None)
            self._memo[key] = (tuple(deps), value)
            while len(self._memo) > MEMO_SIZE:
                self._memo.pop(next(iter(self._memo)))
        return value

    def _view(self, key: str) -> tuple[SheetData, dict[str, Record]]:
        """(parsed sheet, overlay of pending operations by record id).

        The overlay is kept per thread and updated incrementally: only operations journaled
        since the last read are decoded, unless the workbook moved or an operation left the
        pending state (then it is rebuilt).
        """
        st = self._thread
        jkey = self._journal_key()  # pending ops first, then the file: see DESIGN §2.3
        seqs: list[int] | None = None
        if jkey != st.journal_key:
            seqs = [r[0] for r in self.journal.con.execute("SELECT seq FROM ops WHERE status='pending' ORDER BY seq")]
        snap = self.snapshot()
        if snap.version != st.snap_version or seqs is not None:
            if seqs is None:
                seqs = [r[0] for r in self.journal.con.execute("SELECT seq FROM ops WHERE status='pending' ORDER BY seq")]
            known = st.seqs
            if snap.version == st.snap_version and known.issubset(seqs) and all(q > st.max_seq for q in seqs if q not in known):
                fresh = self.journal.pending_after(st.max_seq)
                self._apply_overlay(snap, fresh, st.overlay)
            else:
                st.overlay = {}
                self._apply_overlay(snap, self.journal.ops("pending"), st.overlay)
            st.seqs = set(seqs)
            st.max_seq = max(seqs, default=st.max_seq)
            st.journal_key = jkey
            st.snap_version = snap.version
        return snap.sheets[key], st.overlay.get(key, {})

    @staticmethod
    def _apply_overlay(
        snap: Snapshot,
        pending: list[Operation],
        overlay: dict[str, dict[str, Record]],
    ) -> None:
        for op in pending:
            sd = snap.sheets.get(op.sheet)
            if sd is None:
                continue
            ov = overlay.setdefault(op.sheet, {})
            cur = ov.get(op.record_id) or sd.records.get(op.record_id)
            if op.kind == "insert":
                if cur is None:
                    ov[op.record_id] = Record(dict(op.values), sheet=op.sheet, syncing=True)
                else:
                    ov[op.record_id] = cur.copy_with(op.values, syncing=True)
            elif cur is not None and op.kind == "update":
                ov[op.record_id] = cur.copy_with(op.values, syncing=True)
            elif cur is not None and op.kind == "void":
                ov[op.record_id] = cur.copy_with({"voided": True}, syncing=True)

    def _check_writable(self, key: str) -> None:
        sd = self._known_snapshot().sheets[key]
        if sd.readonly or self._read_error:
            sd = self.snapshot().sheets[key]  # fixed by hand since? re-read before refusing
        if self._read_error:
            raise SheetReadOnly(N_("工作簿暂时无法读取，不能保存：{reason}"), reason=self._read_error)
        if sd.readonly:
            raise SheetReadOnly(N_("工作表“{title}”暂时只读：{reason}"), title=sd.schema.title, reason=sd.readonly)

    def _committed(self, ops: list[Operation]) -> None:
        for op in ops:
            for fn in self._listeners:
                try:
                    fn(op)
                except Exception:  # a listener must never lose an acknowledged save
                    log.exception("record_committed listener failed")
        if self.autoflush:
            self._ensure_flusher()
            self._wake.set()

    # -- status, health, audit ---------------------------------------------------------
    def health(self) -> list[Problem]:
        snap = self.snapshot()
        problems = list(snap.problems)
        if self._read_error:
            problems.insert(0, sheet_problem("unreadable", "", reason=self._read_error))
        return problems

    def status(self) -> dict[str, Any]:
        snap = self.snapshot()
        return {
            "backend": self.backend.name,
            "pending": self.journal.count("pending"),
            "parked": self.journal.count("parked"),
            "last_sync": self.journal.get_meta("last_sync"),
            "last_error": self.journal.get_meta("last_error"),
            "blocked": self.journal.get_meta("blocked"),
            "problems": len(snap.problems) + (1 if self._read_error else 0),
            "incidents": int(
                self.journal.con.execute("SELECT COUNT(*) FROM incidents WHERE status='open'").fetchone()[0]
            ),
            "sheets_readonly": [sd.schema.title for sd in snap.sheets.values() if sd.readonly],
            # "ready" / "starting" while a dedicated writer process runs, None without one.
            "writer": (("ready" if self.journal.get_meta("writer_ready") else "starting") if self.writer_alive() else None),
        }

    def pending(self) -> list[Operation]:
        return self.journal.ops("pending")

    def conflicts(self) -> list[Operation]:
        return self.journal.ops("parked")

    def audit(
        self,
        *,
        sheet: str | None = None,
        record_id: str | None = None,
        user: str | None = None,
        source: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Audit entries, newest first: web edits and direct sheet edits together."""
        sql = "SELECT * FROM audit WHERE 1=1"
        args: list[Any] = []
        for col, val in (("sheet", sheet), ("record_id", record_id), ("user", user), ("source", source)):
            if val:
                sql += f" AND {col}=?"  # noqa: S608 - column names are fixed above
                args.append(val)
        sql += " ORDER BY id DESC LIMIT ? OFFSET ?"
        args += [limit, offset]
        return [dict(r) for r in self.journal.con.execute(sql, args)]

    def incidents(self, status: str | None = "open") -> list[dict[str, Any]]:
        sql = "SELECT * FROM incidents" + (" WHERE status=?" if status else "") + " ORDER BY id DESC"  # noqa: S608 - fixed text
        rows = self.journal.con.execute(sql, (status,) if status else ())
        return [{**dict(r), "detail": loads(r["detail_json"])} for r in rows]

    # -- conflict resolution and incidents --------------------------------------------
    def resolve(self, seq: int, decisions: dict[str, Any], *, user: str | None = None) -> Operation | None:
        """Resolve a parked operation: per conflicting field "mine", "theirs" or a value.

        Re-queues the chosen values as a fresh update whose base is the sheet's current value,
        so the merge applies them; returns the new operation (None if nothing is left to write).
        """
        op = self.journal.op(seq)
        if op is None or op.status != "parked":
            raise RecordNotFound(str(seq))
        table = self.table(op.sheet)
        current = table.get(op.record_id, include_voided=True)
        conflict_fields = {f["field"] for f in (op.conflict or {}).get("fields", [])}
        mine: dict[str, Any] = {}
        base: dict[str, Any] = {}
        for f, v in op.values.items():
            now = current.get(f) if current else None
            if f in conflict_fields:
                choice = decisions.get(f, "theirs")
                if choice == "theirs":
                    continue
                value = v if choice == "mine" else choice
            else:
                value = v
            mine[f] = value
            base[f] = now if f in conflict_fields else (op.base or {}).get(f)
        new_op = None
        with self.journal.tx() as con:
            con.execute("UPDATE ops SET status='resolved', applied_at=? WHERE seq=?", (now_iso(), seq))
            self.journal.add_audit(
                con, source="web", user=user, sheet=op.sheet, record_id=op.record_id, field=None,
                old=None, new=None, op_seq=seq, note="解决冲突：" + dumps(decisions),
            )
            if mine and current is not None:
                kind = "update" if op.kind == "update" else op.kind
                new_op = self.journal.add_op(
                    con, sheet=op.sheet, kind=kind, record_id=op.record_id, values=mine, base=base, user=user
                )
        self._committed([new_op] if new_op else [])
        return new_op

    def reapply_incident(self, incident_id: int, *, user: str | None = None) -> int:
        """Re-queue what a stale copy wiped out (rows and fields the app had written)."""
        row = self.journal.con.execute("SELECT * FROM incidents WHERE id=?", (incident_id,)).fetchone()
        if row is None or row["status"] != "open":
            raise RecordNotFound(str(incident_id))
        detail = loads(row["detail_json"])
        ops: list[Operation] = []
        with self.journal.tx() as con:
            for item in detail.get("vanished", []):
                ops.append(
                    self.journal.add_op(
                        con, sheet=item["sheet"], kind="insert", record_id=item["id"], values=item["values"], user=user
                    )
                )
            for item in detail.get("reverted", []):
                ops.append(
                    self.journal.add_op(
                        con,
                        sheet=item["sheet"],
                        kind="update",
                        record_id=item["id"],
                        values={item["field"]: item["app_value"]},
                        base={item["field"]: item["sheet_value"]},
                        user=user,
                    )
                )
            con.execute(
                "UPDATE incidents SET status='reapplied', resolved_by=?, resolved_at=? WHERE id=?",
                (user, now_iso(), incident_id),
            )
        self._committed(ops)
        return len(ops)

    def dismiss_incident(self, incident_id: int, *, user: str | None = None) -> None:
        with self.journal.tx() as con:
            con.execute(
                "UPDATE incidents SET status='dismissed', resolved_by=?, resolved_at=? WHERE id=? AND status='open'",
                (user, now_iso(), incident_id),
            )

    # -- the flusher ----------------------------------------------------------------------
    def _ensure_flusher(self) -> None:
        pid = os.getpid()
        if self._flusher is not None and self._flusher_pid == pid and self._flusher.is_alive():
            return
        with self._lock:
            if self._flusher is not None and self._flusher_pid == pid and self._flusher.is_alive():
                return
            self._stop.clear()
            self._flusher_pid = pid
            self._flusher = threading.Thread(target=self._flush_loop, name="sheetdb-flusher", daemon=True)
            self._flusher.start()

    def start(self) -> None:
        """Start the background flusher (also started by the first write)."""
        if self.autoflush:
            self._ensure_flusher()

    def _flush_loop(self) -> None:
        while not self._stop.is_set():
            woke = self._wake.wait(timeout=self.idle_interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            if woke and self.flush_delay:
                time.sleep(self.flush_delay)  # gather more operations into this save
            if not woke and time.monotonic() - self._last_write > self.write_cache_seconds:
                drop = getattr(self.backend, "drop_write_cache", None)
                if drop:
                    drop()  # a quiet spell: give the cached workbook's memory back
            try:
                self._flush_until_idle()
            except Exception:
                log.exception("background sync failed; operations stay in the journal")

    def _needs_sync(self) -> bool:
        if self.journal.count("pending"):
            return True
        try:
            version = self.backend.version()
        except Exception:
            return False
        return dumps(_token(version)) != self.journal.get_meta("known_version") or bool(
            any(sd.unidentified for sd in self.snapshot().sheets.values())
        )

    # -- the dedicated writer process -------------------------------------------------------
    def writer_alive(self) -> bool:
        """True while a dedicated writer process (:meth:`run_writer`) serves this instance."""
        return writer_lock_held(self.instance / WRITER_LOCK)

    def run_writer(self, stop: threading.Event, *, poll: float = 0.1) -> bool:
        """Be this instance's dedicated writer until ``stop`` is set (``flask sheets writer``,
        started by ``deploy/gunicorn.conf.py``). Returns False at once if another one runs.

        Web workers then only journal; this process applies, saves, audits direct edits and
        takes the hourly backup. Loading a big workbook for writing (40 s of CPU at demo scale
        10 with openpyxl) and saving it used to happen in whichever worker's flusher thread
        wrote first, where it held that worker's interpreter lock while it served pages. The
        write cache is loaded up front, so the first save is as cheap as the others. If this
        process dies (even ``kill -9``) the kernel drops its lock and the workers' own
        flushers take over within a second.
        """
        holder = hold_writer_lock(self.instance / WRITER_LOCK)
        if holder is None:
            return False
        try:
            self.snapshot()
            warm = getattr(self.backend, "warm_write_cache", None)
            if warm is not None:
                with self.backend.lock():
                    try:
                        warm(full=True)
                    except (WorkbookError, WriteBlocked) as exc:
                        log.warning("writer: workbook not loaded yet: %s", exc)
            self.journal.set_meta_now("writer_ready", now_iso())
            while not stop.is_set():
                try:
                    if self._needs_sync():
                        self._flush_until_idle(dedicated=True)
                except Exception:
                    log.exception("writer: sync failed; operations stay in the journal")
                stop.wait(poll)
            if self.journal.count("pending"):
                try:
                    self.sync(blocking=True)  # a clean stop leaves nothing for the workers
                except Exception:
                    log.exception("writer: final sync failed; operations stay in the journal")
            return True
        finally:
            self.journal.set_meta_now("writer_ready", None)
            holder.close()

    def _flush_until_idle(self, *, dedicated: bool = False) -> None:
        """Sync until nothing is pending; if another process holds the lock, retry shortly.

        A worker's flusher leaves it all to a live dedicated writer (``dedicated``: this is it).
        """
        if not dedicated and self.writer_alive():
            return
        deadline = time.monotonic() + max(5.0, self.idle_interval * 3)
        warm = getattr(self.backend, "has_write_cache", None)
        while self._needs_sync() and not self._stop.is_set() and time.monotonic() < deadline:
            # Group commit paced across processes: at most one save per min_save_interval.
            # A process without the workbook in memory waits longer, so the process that
            # wrote last (and writes far faster) keeps the writer role while it is busy.
            last = float(self.journal.get_meta("last_write_at") or 0)
            delay = self.min_save_interval + (0 if warm is None or warm() else self.affinity_delay)
            # A save that took long (a big tab) is followed by a longer pause: saving stays
            # below about 1/(1+save_pace) of a core however busy the site is. Acknowledged
            # saves wait in the journal meanwhile (read back through the overlay).
            delay = max(delay, min(self.save_pace * self._last_save_seconds, self.max_save_pause))
            wait = last + delay - time.time()
            if wait > 0:
                time.sleep(min(wait, 0.5))
                continue
            result = self.sync(blocking=False, max_saves=1)
            if result is None:  # someone else is writing: they may not see our ops, so retry
                time.sleep(0.1)
                continue
            if result.saves and not self._backup_under_lock():
                self._backup_soon()
            if result.blocked or result.error:
                return  # owner file / disk full: wait for the next tick
            if result.applied == 0 and result.saves == 0:
                return

    def close(self) -> None:
        """Stop the flusher and close this thread's journal connection."""
        self._stop.set()
        self._wake.set()
        if self._flusher is not None and self._flusher.is_alive() and self._flusher is not threading.current_thread():
            self._flusher.join(timeout=30)
        if self._backup_thread is not None and self._backup_thread.is_alive():
            self._backup_thread.join(timeout=120)
        self.journal.close()

    # -- sync (group commit) --------------------------------------------------------------
    def sync(self, *, blocking: bool = True, max_saves: int | None = None) -> SyncResult | None:
        """Apply pending operations in batches, one workbook save per batch.

        Returns None when ``blocking=False`` and another process holds the write lock.
        ``max_saves`` bounds the saves of this call (the flusher paces itself with 1).
        """
        lock = self.backend.lock()
        try:
            if blocking:
                lock.acquire()
            else:
                lock.acquire(timeout=0)
        except (filelock.Timeout, TimeoutError):
            if blocking:
                raise
            return None
        total = SyncResult()
        try:
            while True:
                r = self._sync_once()
                total.applied += r.applied
                total.parked += r.parked
                total.saves += r.saves
                total.blocked, total.error = r.blocked, r.error
                if r.blocked or r.error or (r.applied == 0 and r.parked == 0):
                    break
                if not self.journal.count("pending") or (max_saves is not None and total.saves >= max_saves):
                    break
        finally:
            lock.release()
        if blocking and total.saves and not self._backup_under_lock():
            self._maybe_backup()  # an explicit sync (CLI, tests): the hourly backup right away
        return total

    def _sync_once(self) -> SyncResult:
        reason = self.backend.blocked_reason()
        if reason:
            self.journal.set_meta_now("blocked", reason)
            return SyncResult(blocked=reason)
        try:
            with self._lock:
                current = self.backend.version()
                reloaded = current != self._snapshot.version and self._refresh(current)
                snap = self._snapshot
                version = snap.version
        except WorkbookError as exc:
            self._read_error = str(exc)
            self._note_error(str(exc))
            return SyncResult(error=str(exc))
        self._read_error = None
        if reloaded:
            self._raise_counters(snap)
        warm = getattr(self.backend, "warm_write_cache", None)
        if warm is not None and self.journal.count("pending"):
            try:
                warm()  # slow on a cold start: take the pending list only after it
            except (WorkbookError, WriteBlocked) as exc:
                self._note_error(str(exc))
                return SyncResult(error=str(exc))
        pending = self.journal.ops("pending", limit=self.batch_max)
        if dumps(_token(version)) != self.journal.get_meta("known_version"):
            edits = self._audit_external(snap, pending)
            invalidate = getattr(self.backend, "invalidate_version", None)
            if edits and invalidate is not None and self._announced(version):
                # Other workers reached this version by patching (a delta announced it), but a
                # person's edit is in it too: make them re-read.
                invalidate()
        plan = _Plan(self, snap)
        for op in pending:
            plan.add(op)
        plan.assign_missing_ids()
        if not plan.batch:
            if plan.applied or plan.parked:
                self._finish(plan, version)
            else:
                self.journal.set_meta_now("blocked", None)
            return SyncResult(applied=len(plan.applied), parked=len(plan.parked))
        if self._backup_under_lock():
            self._maybe_backup()
        started = time.monotonic()

        def announce(version: Hashable) -> None:
            """Journal what this save turns the workbook into, just before the file is
            replaced: another process that sees the new version finds its delta at once (were
            it journaled after, a reader would wait while this process, busy or niced, got to it)."""
            items = plan.delta()
            if items is None or plan.snap.version is None:
                return
            try:
                row = (dumps(_token(plan.snap.version)), dumps(_token(version)), dumps(items))
            except (TypeError, ValueError):  # a value JSON cannot hold: readers re-read instead
                log.warning("delta not journaled (a value could not be encoded); workers will re-read")
                return
            with self.journal.tx() as con:
                con.execute("INSERT INTO deltas(from_version, to_version, rows_json) VALUES (?,?,?)", row)
                con.execute("DELETE FROM deltas WHERE seq <= (SELECT MAX(seq) FROM deltas) - ?", (DELTAS_KEPT,))

        try:
            result = self.backend.apply(plan.batch, announce=announce)
        except WriteBlocked as exc:
            self.journal.set_meta_now("blocked", str(exc))
            return SyncResult(blocked=str(exc))
        except WorkbookError as exc:
            self._note_error(str(exc), [op.seq for op in pending])
            return SyncResult(error=str(exc))
        self._last_write = time.monotonic()
        self._last_save_seconds = self._last_write - started
        for title, rid in result.missing:
            plan.park_missing(title, rid)
        self._finish(plan, result.version)
        return SyncResult(applied=len(plan.applied), parked=len(plan.parked), saves=1)

    def _raise_counters(self, snap: Snapshot) -> None:
        """Keep every id counter past the highest id present in the workbook (typed by hand)."""
        with self.journal.tx() as con:
            for sd in snap.sheets.values():
                for ckey, top in sd.max_seq.items():
                    self.journal.raise_seq(con, ckey, top + 1)

    def _note_error(self, message: str, seqs: list[int] | None = None) -> None:
        with self.journal.tx() as con:
            self.journal.set_meta(con, "last_error", f"{now_iso()} {message}")
            if seqs:
                con.executemany(
                    "UPDATE ops SET attempts=attempts+1, last_error=? WHERE seq=?", [(message, s) for s in seqs]
                )

    def _finish(self, plan: _Plan, version: Hashable) -> None:
        stamp = now_iso()
        with self.journal.tx() as con:
            for (sheet, old_id), new_id in plan.rekeyed.items():
                # The row now lives under new_id: so do its insert and every later operation.
                first = min(op.seq for op in plan.applied if op.sheet == sheet and op.record_id == new_id)
                con.execute(
                    "UPDATE ops SET record_id=? WHERE sheet=? AND record_id=? AND seq>=? AND status IN ('pending','parked')",
                    (new_id, sheet, old_id, first),
                )
                row = con.execute("SELECT values_json FROM ops WHERE seq=?", (first,)).fetchone()
                con.execute(
                    "UPDATE ops SET record_id=?, values_json=? WHERE seq=?",
                    (new_id, dumps({**(loads(row["values_json"]) or {}), "id": new_id}), first),
                )
            for op in plan.applied:
                con.execute("UPDATE ops SET status='applied', applied_at=? WHERE seq=?", (stamp, op.seq))
            for op, detail in plan.parked:
                con.execute(
                    "UPDATE ops SET status='parked', conflict_json=? WHERE seq=?", (dumps(detail), op.seq)
                )
            for entry in plan.audit:
                self.journal.add_audit(con, at=stamp, **entry)
            self.journal.save_rowstate(con, plan.rowstate)
            self.journal.set_meta(con, "known_version", dumps(_token(version)))
            self.journal.set_meta(con, "last_sync", stamp)
            self.journal.set_meta(con, "last_write_at", repr(time.time()))
            self.journal.set_meta(con, "blocked", None)
            self.journal.set_meta(con, "last_error", None)
        with self._lock:
            plan.patch_snapshot(version)

    # -- direct edits ---------------------------------------------------------------------
    def _announced(self, version: Hashable) -> bool:
        """True when a group commit announced ``version`` (readers may have patched to it)."""
        row = self.journal.con.execute(
            "SELECT 1 FROM deltas WHERE to_version=? LIMIT 1", (dumps(_token(version)),)
        ).fetchone()
        return row is not None

    def _audit_external(self, snap: Snapshot, pending: list[Operation]) -> int:
        """Diff the workbook against the last known rows; record direct edits and stale copies.
        Returns how many direct edits were found."""
        con = self.journal.con
        known: dict[tuple[str, str], tuple[dict[str, Any], set[str]]] = {}
        for r in con.execute("SELECT sheet, record_id, values_json, app_fields FROM rowstate"):
            known[(r["sheet"], r["record_id"])] = (loads(r["values_json"]), set(loads(r["app_fields"])))
        baseline = self.journal.get_meta("baseline") is not None
        pending_inserts = {(op.sheet, op.record_id) for op in pending if op.kind == "insert"}
        # Values our own pending operations would write: after a crash between the workbook
        # save and the journal commit they are already in the file, and they are web edits
        # (audited when the operation is applied), not direct edits.
        ours: dict[tuple[str, str], dict[str, Any]] = {}
        for op in pending:
            if op.kind == "update":
                ours.setdefault((op.sheet, op.record_id), {}).update(op.values)
            elif op.kind == "void":
                ours.setdefault((op.sheet, op.record_id), {})["voided"] = True
        stamp = now_iso()
        audit: list[dict[str, Any]] = []
        new_state: dict[tuple[str, str], tuple[dict[str, Any], set[str]]] = {}
        seen: set[tuple[str, str]] = set()
        reverted: list[dict[str, Any]] = []
        for key, sd in snap.sheets.items():
            if not sd.present:
                continue
            for rid, rec in sd.records.items():
                k = (key, rid)
                seen.add(k)
                values = dict(rec)
                prev = known.get(k)
                if prev is None:
                    new_state[k] = (values, set())
                    if baseline and k not in pending_inserts:
                        audit.append(dict(source="sheet", sheet=key, record_id=rid, field=None, old=None, new=None, note=N_("在表格中新增了这一行")))
                    continue
                old_values, app_fields = prev
                changed = [f for f in sd.schema.keys if not same_value(old_values.get(f), values.get(f))]
                if not changed:
                    continue
                mine = ours.get(k, {})
                for f in changed:
                    if f in TIMESTAMP_FIELDS and mine or (f in mine and same_value(mine[f], values.get(f))):
                        continue
                    audit.append(dict(source="sheet", sheet=key, record_id=rid, field=f, old=old_values.get(f), new=values.get(f)))
                    if f in app_fields and f not in TIMESTAMP_FIELDS:
                        reverted.append({"sheet": key, "id": rid, "field": f, "app_value": old_values.get(f), "sheet_value": values.get(f)})
                new_state[k] = (values, app_fields - set(changed))
        present = {k for k, sd in snap.sheets.items() if sd.present}
        vanished = [
            {"sheet": k[0], "id": k[1], "values": v[0], "app_written": bool(v[1])}
            for k, v in known.items()
            if k not in seen and k[0] in present
        ]
        for item in vanished:
            audit.append(dict(source="sheet", sheet=item["sheet"], record_id=item["id"], field=None, old=None, new=None, note=N_("在表格中删除了这一行")))
        app_vanished = [v for v in vanished if v["app_written"]]
        with self.journal.tx() as con2:
            for entry in audit:
                self.journal.add_audit(con2, at=stamp, **entry)
            self.journal.save_rowstate(con2, new_state)
            con2.executemany(
                "DELETE FROM rowstate WHERE sheet=? AND record_id=?", [(v["sheet"], v["id"]) for v in vanished]
            )
            if len(app_vanished) >= self.stale_min_rows:
                detail = {
                    "vanished": [{"sheet": v["sheet"], "id": v["id"], "values": v["values"]} for v in app_vanished],
                    "reverted": reverted,
                    "message": N_("工作簿中有 {n} 行系统写入的数据同时消失，可能有人保存了旧副本"),
                    "params": {"n": len(app_vanished)},
                }
                con2.execute(
                    "INSERT INTO incidents(at, kind, detail_json, status) VALUES (?,?,?,?)",
                    (stamp, "stale_copy", dumps(detail), "open"),
                )
            self.journal.set_meta(con2, "known_version", dumps(_token(snap.version)))
            self.journal.set_meta(con2, "baseline", "1")
        return len(audit)

    # -- backups ----------------------------------------------------------------------------
    def _backup_under_lock(self) -> bool:
        """True when the hourly backup is a file copy taken under the write lock just before the
        hour's first write (xlsx). The Google backend's backup builds an xlsx of every tab
        (``slow_backup``: seconds, a minute at 180k rows): taken there it held the write lock
        and kept every acknowledged save out of the spreadsheet meanwhile. It is taken after
        the hour's first write instead, by a thread of its own, outside the lock."""
        return not getattr(self.backend, "slow_backup", False)

    def _backup_soon(self) -> None:
        """Start the hourly backup in a background thread (one at a time per process)."""
        if self.backup_keep <= 0 or self.journal.get_meta("last_backup_hour") == self._clock().strftime("%Y%m%d-%H"):
            return
        if self._backup_thread is not None and self._backup_thread.is_alive():
            return

        def run() -> None:
            try:
                self._maybe_backup()
            except Exception:
                log.exception("hourly backup failed")
            finally:
                self.journal.close()  # this thread's connection

        self._backup_thread = threading.Thread(target=run, name="sheetdb-backup", daemon=True)
        self._backup_thread.start()

    def _maybe_backup(self) -> None:
        hour = self._clock().strftime("%Y%m%d-%H")
        if self.backup_keep <= 0:
            return
        with self.journal.tx() as con:  # claim the hour: one process backs up, not every worker
            before = self.journal.get_meta("last_backup_hour")
            if before == hour:
                return
            self.journal.set_meta(con, "last_backup_hour", hour)
        try:
            self.backup(tag=hour)
        except OSError as exc:
            log.warning("hourly backup failed: %s", exc)
            with self.journal.tx() as con:  # try again at the next write
                if self.journal.get_meta("last_backup_hour") == hour:
                    self.journal.set_meta(con, "last_backup_hour", before)

    def backup(self, tag: str | None = None) -> Path | None:
        """Copy the workbook into ``instance/backups/`` and keep the newest ``backup_keep``."""
        self.backups_dir.mkdir(parents=True, exist_ok=True)
        tag = tag or self._clock().strftime("%Y%m%d-%H%M%S")
        dest = self.backups_dir / f"workbook-{tag}.xlsx"
        try:
            self.backend.backup_to(dest)
        except (FileNotFoundError, WorkbookError):
            return None
        for old in self.list_backups()[self.backup_keep :]:
            old.unlink(missing_ok=True)
        return dest

    def list_backups(self) -> list[Path]:
        """Backups, newest first."""
        if not self.backups_dir.exists():
            return []
        return sorted(self.backups_dir.glob("workbook-*.xlsx"), key=lambda p: p.stat().st_mtime_ns, reverse=True)

    def restore_backup(self, name: str, *, user: str | None = None) -> None:
        """Replace the workbook by a backup (the current one is backed up first)."""
        if not re.fullmatch(r"workbook-[0-9-]+\.xlsx", name):
            raise RecordNotFound(name)
        src = self.backups_dir / name
        if not src.is_file():
            raise RecordNotFound(name)
        target = getattr(self.backend, "path", None)
        if target is None:
            raise WorkbookError("当前后端不支持从备份恢复")
        with self.backend.lock():
            self.backup(tag=self._clock().strftime("%Y%m%d-%H%M%S") + "-before-restore")
            tmp = Path(str(target) + ".restore.tmp")
            shutil.copy2(src, tmp)
            os.replace(tmp, target)
            with self.journal.tx() as con:
                self.journal.add_audit(
                    con, source="system", user=user, sheet="*", record_id=None, field=None, old=None, new=None,
                    note=f"从备份 {name} 恢复了工作簿",
                )

    # -- layout and seeding -------------------------------------------------------------
    def ensure_layout(self) -> None:
        with self.backend.lock():
            self.backend.ensure_layout(self.schemas, self._choice_values())

    def _choice_values(self) -> dict[str, tuple[str, ...]]:
        return dict(self.schemas.choice_lists)

    def init(self, *, demo: bool = False, scale: float = 1.0, user: str = "system") -> dict[str, int]:
        """Create the workbook layout, seed reference rows, and optionally demo data."""
        self.ensure_layout()
        counts: dict[str, int] = {}
        rows: dict[str, list[dict[str, Any]]] = {}
        for s in self.schemas:
            if s.seed and not self.table(s.key).all(include_voided=True):
                rows[s.key] = [dict(r) for r in s.seed]
        choice_schema = self.schemas.sheets.get(CHOICES_SHEET)
        if choice_schema and not self.table(CHOICES_SHEET).all(include_voided=True):
            rows[CHOICES_SHEET] = [
                {"list_name": name, "value": v, "sort": i + 1}
                for name, values in self.schemas.choice_lists.items()
                for i, v in enumerate(values)
            ]
        if demo:
            from .demo import generate

            data = generate(self.schemas, scale=scale)
            for key, recs in data.items():
                if key in rows and key != CHOICES_SHEET:
                    continue  # seeded reference data wins (e.g. curriculum modules)
                if self.table(key).all(include_voided=True):
                    continue
                rows[key] = recs
        for key, recs in rows.items():
            if not recs:
                continue
            table = self.table(key)
            cols = set(table.schema.keys)
            clean = [{k: v for k, v in r.items() if k in cols and k not in ("created_at", "updated_at", "voided")} for r in recs]
            table.insert_many(clean, user=user, keep_ids=any("id" in r for r in clean))
            counts[key] = len(clean)
        self.sync()
        return counts


class _Plan:
    """One group commit being prepared: merges pending ops against the fresh workbook."""

    def __init__(self, db: Database, snap: Snapshot) -> None:
        self.db = db
        self.snap = snap
        self.batch = Batch(id_header=db.schemas.sheets[next(iter(db.schemas.sheets))].column("id").header)
        self.applied: list[Operation] = []
        self.parked: list[tuple[Operation, dict[str, Any]]] = []
        self.audit: list[dict[str, Any]] = []
        self.rowstate: dict[tuple[str, str], tuple[dict[str, Any], set[str]]] = {}
        self.working: dict[tuple[str, str], Record] = {}
        self.appended: dict[tuple[str, str], Operation] = {}
        self._update_index: dict[tuple[str, str], int] = {}
        self._by_title = {s.title: s.key for s in db.schemas}
        self.rekeyed: dict[tuple[str, str], str] = {}  # (sheet, taken id) → the id used instead
        self._app_fields: dict[tuple[str, str], set[str]] | None = None

    def _app_fields_of(self, key: tuple[str, str]) -> set[str]:
        row = self.db.journal.con.execute(
            "SELECT app_fields FROM rowstate WHERE sheet=? AND record_id=?", key
        ).fetchone()
        return set(loads(row["app_fields"])) if row else set()

    def _current(self, sheet: str, rid: str) -> Record | None:
        key = (sheet, rid)
        if key in self.working:
            return self.working[key]
        sd = self.snap.sheets.get(sheet)
        return sd.records.get(rid) if sd else None

    def _cells(self, schema: SheetSchema, values: dict[str, Any]) -> dict[str, Any]:
        return {schema.column(k).header: to_cell(schema.column(k), v) for k, v in values.items() if k in schema.keys}

    def _fresh_id(self, sd: SheetData) -> str:
        """A new engine id for ``sd`` that no row in the workbook or this batch uses."""
        ckey = _counter_key(sd.schema, self.db.today())
        with self.db.journal.tx() as con:
            while True:
                n = self.db.journal.next_seq(con, ckey, sd.max_seq.get(ckey, 0) + 1)
                rid = _format_id(sd.schema, ckey, n)
                if rid not in sd.records and (sd.schema.key, rid) not in self.working:
                    return rid

    def add(self, op: Operation) -> None:
        sd = self.snap.sheets.get(op.sheet)
        if sd is None or sd.readonly:
            return  # stays pending until the sheet is writable again
        moved = self.rekeyed.get((op.sheet, op.record_id))
        if moved:  # a later operation on a row whose id had to change in this batch
            op = replace(op, record_id=moved)
        schema = sd.schema
        key = (op.sheet, op.record_id)
        current = self._current(op.sheet, op.record_id)
        stamp = self.db.now()
        if op.kind == "insert":
            if current is not None:
                # Already in the workbook: a retry after a crash (same content) or a real clash.
                if all(same_value(current.get(k), v) for k, v in op.values.items() if k not in TIMESTAMP_FIELDS):
                    self.applied.append(op)  # a retry after a crash: audit it as the web insert it is
                    self.audit.append(dict(source="web", user=op.user, sheet=op.sheet, record_id=op.record_id, field=None, old=None, new=None, op_seq=op.seq, note=N_("新增")))
                    return
                # Someone typed a row with this id by hand meanwhile. The id is the engine's,
                # not user data: give the acknowledged row a fresh one rather than lose it.
                old_id = op.record_id
                new_id = self._fresh_id(sd)
                self.rekeyed[(op.sheet, old_id)] = new_id
                op = replace(op, record_id=new_id, values={**op.values, "id": new_id})
                key = (op.sheet, new_id)
                self.audit.append(dict(source="system", user=op.user, sheet=op.sheet, record_id=new_id, field="id", old=old_id, new=new_id, op_seq=op.seq, note=N_("编号已被表格中的另一行占用，已改用新编号")))
            values = dict(op.values)
            self.batch.appends.append((schema.title, self._cells(schema, values)))
            rec = Record(values, sheet=op.sheet)
            self.working[key] = rec
            self.appended[key] = op
            self.applied.append(op)
            self.audit.append(dict(source="web", user=op.user, sheet=op.sheet, record_id=op.record_id, field=None, old=None, new=None, op_seq=op.seq, note=N_("新增")))
            self.rowstate[key] = (values, {k for k, v in values.items() if v not in (None, "")})
            return
        if current is None:
            self._park(op, _park_detail("missing", MISSING_ROW, op.record_id))
            return
        if op.kind == "void":
            changes: dict[str, Any] = {"voided": True, "updated_at": stamp}
            note = "作废" + (f"：{op.values.get('reason')}" if op.values.get("reason") else "")
            self.audit.append(dict(source="web", user=op.user, sheet=op.sheet, record_id=op.record_id, field="voided", old=current.get("voided"), new=True, op_seq=op.seq, note=note))
        else:
            base = op.base or {}
            changes = {}
            conflicts = []
            already: dict[str, Any] = {}  # the sheet holds mine already (a crash retry, or the same edit)
            for f, mine in op.values.items():
                theirs = current.get(f)
                if same_value(theirs, mine):
                    already[f] = mine
                    continue
                if same_value(theirs, base.get(f)):
                    changes[f] = mine
                else:
                    conflicts.append(FieldConflict(f, schema.column(f).header, base.get(f), theirs, mine))
            if conflicts:
                self._park(op, _conflict_detail(conflicts))
                return
            for f, v in already.items():
                self.audit.append(dict(source="web", user=op.user, sheet=op.sheet, record_id=op.record_id, field=f, old=base.get(f), new=v, op_seq=op.seq))
            if not changes:
                self.applied.append(op)
                return
            for f, v in changes.items():
                self.audit.append(dict(source="web", user=op.user, sheet=op.sheet, record_id=op.record_id, field=f, old=current.get(f), new=v, op_seq=op.seq))
            changes["updated_at"] = stamp
        self._write(op.sheet, schema, op.record_id, current, changes)
        self.applied.append(op)

    def _write(self, sheet: str, schema: SheetSchema, rid: str, current: Record, changes: dict[str, Any]) -> None:
        key = (sheet, rid)
        new = current.copy_with(changes, syncing=False)
        self.working[key] = new
        if key in self.appended:  # appended in this same batch: rewrite the append itself
            for i, (title, cells) in enumerate(self.batch.appends):
                if title == schema.title and cells.get(self.batch.id_header) == rid:
                    self.batch.appends[i] = (title, {**cells, **self._cells(schema, changes)})
                    break
        else:
            idx = self._update_index.get(key)
            cells = self._cells(schema, changes)
            if idx is None:
                self._update_index[key] = len(self.batch.updates)
                self.batch.updates.append((schema.title, rid, cells))
            else:
                t, r, old = self.batch.updates[idx]
                self.batch.updates[idx] = (t, r, {**old, **cells})
        prev_fields = self.rowstate[key][1] if key in self.rowstate else self._app_fields_of(key)
        self.rowstate[key] = (dict(new), prev_fields | {k for k in changes})

    def _park(self, op: Operation, detail: dict[str, Any]) -> None:
        self.parked.append((op, detail))

    def park_missing(self, title: str, rid: str) -> None:
        sheet = self._by_title.get(title)
        for op in list(self.applied):
            if op.sheet == sheet and op.record_id == rid and op.kind != "insert":
                self.applied.remove(op)
                self._park(op, _park_detail("missing", MISSING_ROW, rid))
                self.rowstate.pop((op.sheet, rid), None)
                self.audit = [a for a in self.audit if a.get("op_seq") != op.seq]

    def assign_missing_ids(self) -> None:
        """Give rows typed by hand without an id their engine id."""
        today = self.db.today()
        for key, sd in self.snap.sheets.items():
            if not sd.unidentified or sd.readonly:
                continue
            schema = sd.schema
            ckey = _counter_key(schema, today)
            with self.db.journal.tx() as con:
                for rec in sd.unidentified:
                    n = self.db.journal.next_seq(con, ckey, sd.max_seq.get(ckey, 0) + 1)
                    rid = _format_id(schema, ckey, n)
                    assert rec.row is not None
                    self.batch.assign_ids.append((schema.title, rec.row, rid))
                    self.audit.append(dict(source="system", user=None, sheet=key, record_id=rid, field="id", old=None, new=rid, note=f"为第 {rec.row} 行分配编号"))
                    self.rowstate[(key, rid)] = ({**rec, "id": rid}, set())
                    self.working[(key, rid)] = rec.copy_with({"id": rid})

    def delta(self) -> list[tuple[str, str, dict[str, Any]]] | None:
        """The rows this batch wrote, as every process's snapshot should now hold them
        (``None`` when row identities changed and a re-read is needed)."""
        if self.batch.assign_ids:
            return None
        return [(sheet, rid, dict(rec)) for (sheet, rid), rec in self.working.items()]

    def patch_snapshot(self, version: Hashable) -> None:
        """Make this process's snapshot match what was just written, without re-reading.

        Copy-on-write: readers in other threads keep iterating the old dicts safely.
        """
        snap = self.db._snapshot
        if snap is not self.snap:
            return
        items = self.delta()
        patched = None if items is None else patch_snapshot(snap, items, version)
        self.db._snapshot = patched if patched is not None else replace(snap, version=None)


def patch_snapshot(snap: Snapshot, items: list[tuple[str, str, dict[str, Any]]], version: Hashable) -> Snapshot | None:
    """``snap`` with the rows ``items`` written (as a group commit wrote them) at ``version``.

    ``None`` when a replaced row had a problem the health page reports (a formula, a wrong
    type): the write may have fixed the cell, so only a re-read tells. Copy-on-write.
    """
    for sheet, rid, _values in items:
        sd = snap.sheets.get(sheet)
        if sd is None:
            return None
        old = sd.records.get(rid)
        if old is not None and old.problems:
            return None
    sheets = dict(snap.sheets)
    by_sheet: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for sheet, rid, values in items:
        by_sheet.setdefault(sheet, []).append((rid, values))
    for sheet, pairs in by_sheet.items():
        sd = snap.sheets[sheet]
        records = dict(sd.records)
        max_seq = dict(sd.max_seq)
        last = max((r.row or 0 for r in records.values()), default=1)
        for rid, values in pairs:
            old = records.get(rid)
            if old is None:
                last += 1
                records[rid] = Record(dict(values), sheet=sheet, row=last)
                seq = id_seq(sd.schema, rid)
                if seq and seq[1] > max_seq.get(seq[0], 0):
                    max_seq[seq[0]] = seq[1]
            else:
                records[rid] = Record(dict(values), sheet=sheet, row=old.row, problems=old.problems)
        sheets[sheet] = replace(sd, records=records, max_seq=max_seq, _index={})
    return replace(snap, sheets=sheets, version=version)


WRITER_LOCK = "writer.lock"  # in the instance folder: held for life by the dedicated writer


def hold_writer_lock(path: Path) -> Any:
    """An open file holding an exclusive lock on ``path``, or None when another process holds
    it (or the platform has no ``fcntl``: then the workers flush, as without a writer)."""
    try:
        import fcntl
    except ImportError:
        return None
    fh = open(path, "a+b")  # noqa: SIM115 - held open for the writer's life
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        return None
    return fh


def writer_lock_held(path: Path) -> bool:
    """True when some process holds ``path``'s writer lock (cheap: open, try, close)."""
    try:
        import fcntl
    except ImportError:
        return False
    try:
        fh = open(path, "rb")  # noqa: SIM115
    except OSError:
        return False
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        fh.close()  # closing drops the shared lock if we got it
    return False


def _token(version: Hashable) -> Any:
    return list(version) if isinstance(version, tuple) else version


def open_database(
    workbook: Path | str | None = None,
    instance: Path | str = "instance",
    *,
    backend: Backend | None = None,
    schemas: SchemaSet | None = None,
    schema_dir: Path | str | None = None,
    **kwargs: Any,
) -> Database:
    """Open (not create) the database: the xlsx backend by default."""
    schemas = schemas or load_schemas(schema_dir or default_schema_dir())
    if backend is None:
        from .xlsx import XlsxBackend

        backend = XlsxBackend(Path(workbook) if workbook else Path(instance) / "mingxiao.xlsx")
    return Database(schemas, backend, instance, **kwargs)
