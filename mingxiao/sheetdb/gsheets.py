"""The Google Sheets backend: one Google spreadsheet as the database, through gspread.

Same protocol as the xlsx backend (:class:`mingxiao.sheetdb.backend.Backend`), so the engine's
journal, group commit, three-way merge, parked conflicts, direct-edit audit and health work
unchanged. What is specific to Google is quota discipline (60 reads and 60 writes per minute
per service account):

* **Change detection**: ``version()`` is the Drive ``modifiedTime`` of the file, checked at
  most once per ``change_ttl`` seconds by one process for all workers (the token and its age
  are shared through the journal database), plus a write counter this server bumps after each
  of its own writes. Google reports changes with a delay of a few seconds (sometimes longer),
  so a direct edit shows up after ``change_ttl`` + that delay.
* **Reads**: a reload is one metadata call (tab titles, grid sizes) and one
  ``values:batchGet`` of every tab, ``FORMATTED_VALUE`` strings as a person sees them (no
  numericising: ``0571…`` phone numbers stay text). One process reads for all: the others
  wait for it (a file lock beside the journal) and take the read it shares through the
  journal database, so a change costs the same reads however many workers serve pages.
* **Writes**: one ``values:batchUpdate`` (cell updates, new headers, assigned ids) and one
  ``values:append`` per tab, ``RAW`` input only (text is never a formula), chunked so every
  request body stays under ``max_request_bytes`` (Google accepts about 2 MB).
* **Retries**: 429 and 5xx answers and timeouts are retried with capped, jittered exponential
  backoff that honours ``Retry-After``, inside a deadline shorter than gunicorn's worker
  timeout. Before re-sending an append whose answer was lost (timeout, 5xx), the id column is
  read again and rows already there are dropped, so a retry never duplicates a row.
* **Budget**: every request (retries and change checks included) first takes a token from
  :class:`~mingxiao.sheetdb.quota.QuotaLimiter`, a sliding 60-second window in the journal
  database shared by all workers. Reads made for page views leave ``read_reserve`` reads of
  the budget to the process that holds the write lock, so busy pages never keep acknowledged
  saves out of the spreadsheet. gspread's ``BackOffHTTPClient`` is not used (it never gives up).

Formula cells are not reported (a values read cannot tell them apart without another read);
merged cells are not reported either.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import logging
import math
import os
import random
import re
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, cast

import gspread
import requests
from filelock import FileLock
from filelock import Timeout as LockTimeout
from google.auth.credentials import AnonymousCredentials, Credentials
from google.auth.transport.requests import AuthorizedSession
from gspread.exceptions import APIError

from .backend import (
    ApplyResult,
    Batch,
    RawSheet,
    WorkbookError,
    WriteBlocked,
    WriteLock,
    excel_title,
    is_formula_like,
)
from .fake_google import col_letter, quote_title
from .quota import QuotaLimiter, QuotaTimeout
from .schema import SchemaSet

__all__ = ["GoogleSheetsBackend", "backend_from_config", "make_client"]

log = logging.getLogger("mingxiao.sheetdb.gsheets")

SCOPES = ("https://www.googleapis.com/auth/spreadsheets", "https://www.googleapis.com/auth/drive.metadata.readonly")
GOOGLE_HOSTS = ("https://sheets.googleapis.com", "https://www.googleapis.com")
MAX_CELL_TEXT = 50_000  # Google refuses longer cell text
MAX_REQUEST_BYTES = 1_900_000  # below Google's ~2 MB per request
PROTECT_DESCRIPTION = "mingxiao: 编号列由系统维护"
LIST_LIMIT = 500  # ONE_OF_LIST takes at most 500 values
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


class RoutedSession(AuthorizedSession):
    """google-auth's session; with ``base_url`` the Google hosts are replaced by it (the fake)."""

    def __init__(self, credentials: Credentials, base_url: str | None = None) -> None:
        super().__init__(credentials)
        self.base_url = base_url.rstrip("/") if base_url else None

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.base_url:
            for host in GOOGLE_HOSTS:
                if url.startswith(host):
                    url = self.base_url + url[len(host) :]
                    break
        return super().request(method, url, *args, **kwargs)


def make_client(
    credentials: Credentials | None = None, *, base_url: str | None = None, timeout: float = 20.0
) -> gspread.Client:
    """A plain ``gspread.Client`` (its ordinary ``HTTPClient``, never ``BackOffHTTPClient``).

    ``base_url`` routes every request to another server (the in-repo fake); ``credentials``
    defaults to anonymous ones, which only the fake accepts.
    """
    session = RoutedSession(credentials or AnonymousCredentials(), base_url)
    client = gspread.Client(auth=None, session=session)  # type: ignore[arg-type]
    client.set_timeout((min(5.0, timeout), timeout))
    return client


def _retry_after(resp: requests.Response | None) -> float | None:
    if resp is None:
        return None
    value = resp.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - dt.datetime.now(when.tzinfo)).total_seconds())


def _cell_out(value: Any) -> Any:
    """A converted engine value as a RAW JSON cell (``""`` empties the cell)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None, microsecond=0).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.replace(tzinfo=None).strftime("%H:%M:%S")
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        f = float(value)
        return f if math.isfinite(f) else ""
    text = _CONTROL.sub("", str(value))
    return text[:MAX_CELL_TEXT]


def _cell_in(value: Any) -> Any:
    if value is None or value == "":
        return None
    return value


class GoogleSheetsBackend:
    """The storage backend for one Google spreadsheet (see the module docstring)."""

    name = "gsheets"

    def __init__(
        self,
        client: gspread.Client,
        key: str,
        *,
        state_path: Path | str,
        reads_per_minute: int = 60,
        writes_per_minute: int = 60,
        change_ttl: float = 10.0,
        timeout: float = 20.0,
        deadline: float = 45.0,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        backoff_base: float = 0.5,
        backoff_cap: float = 16.0,
        service_account: str | None = None,
        lock_timeout: float = 60.0,
        read_reserve: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
    ) -> None:
        self.client = client
        self.http = client.http_client
        self.key = key
        self.state_path = Path(state_path)
        self.limiter = QuotaLimiter(self.state_path, reads_per_minute=reads_per_minute, writes_per_minute=writes_per_minute)
        self.change_ttl = change_ttl
        self.timeout = timeout
        self.deadline = deadline
        self.max_request_bytes = max_request_bytes
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.service_account = service_account
        self.lock_timeout = lock_timeout
        self.min_save_interval = 6.0  # hint for the engine: one group commit per ~6 s keeps writes/save low
        self.slow_backup = True  # hint for the engine: back up outside the write lock (see backup_to)
        self._sleep = sleep
        self._rng = random.Random(seed)
        self._filelock = FileLock(str(self.state_path) + ".gsheets.lock", timeout=lock_timeout)
        # One process at a time asks Drive / reads the whole spreadsheet; the others use its answer.
        self._readlock = FileLock(str(self.state_path) + ".gsheets-read.lock", timeout=lock_timeout)
        # Reads kept back from page views for the writer (a sixth of the budget by default).
        self.read_reserve = reads_per_minute // 6 if read_reserve is None else read_reserve
        self._cache: tuple[Hashable, dict[str, RawSheet], dict[str, dict[str, Any]]] | None = None
        self._mutex = threading.RLock()
        self._written = 0
        self._tl = threading.local()  # .until: the deadline of the read_all this thread is in
        self.calls = 0  # requests this process sent (all attempts)
        self.http.set_timeout((min(5.0, timeout), timeout))

    def __repr__(self) -> str:
        return f"GoogleSheetsBackend({self.key!r})"

    # ------------------------------------------------------------------ the request loop
    def _call(
        self,
        kind: str,
        fn: Callable[[], Any],
        *,
        what: str,
        deadline: float | None = None,
        on_lost: Callable[[], Callable[[], Any] | None] | None = None,
    ) -> Any:
        """Send one request with budget, timeout and retries; raise WriteBlocked/WorkbookError.

        ``on_lost`` runs before a retry when the previous attempt may have been applied
        (timeout, connection reset, 5xx): it returns the request to send instead, or None
        when nothing is left to send.
        """
        end = time.monotonic() + (self.deadline if deadline is None else deadline)
        until: float | None = getattr(self._tl, "until", None)
        if until is not None:
            end = min(end, until)  # inside read_all: one deadline for all its calls
        attempt = 0
        reserve = 0 if kind != "read" or self._writing() else self.read_reserve
        while True:
            try:
                self.limiter.acquire(kind, end, reserve)
            except QuotaTimeout as exc:
                raise WriteBlocked(
                    f"Google 表格的{'读取' if kind == 'read' else '写入'}配额（每分钟 {self.limiter.budgets[kind]} 次）"
                    f"暂时用完（{what}）：修改已保存在待同步队列中，约 {exc.wait:.0f} 秒后自动继续。"
                ) from exc
            self.calls += 1
            retry_after: float | None = None
            maybe_applied = False
            try:
                return fn()
            except APIError as exc:
                status = exc.response.status_code if exc.response is not None else exc.code
                if status == 429 or status >= 500:
                    retry_after = _retry_after(exc.response)
                    maybe_applied = status >= 500
                    error = f"HTTP {status}"
                else:
                    raise WorkbookError(
                        f"Google 表格拒绝了请求（{what}：HTTP {status} {exc.error.get('message', '')}）："
                        "请检查表格 ID、服务账号是否有编辑权限，以及表格是否被删除。"
                    ) from exc
            except (requests.Timeout, requests.ConnectionError) as exc:
                maybe_applied = True
                error = type(exc).__name__
            attempt += 1
            delay = min(self.backoff_cap, self.backoff_base * (2 ** (attempt - 1)))
            delay = delay * (0.5 + self._rng.random() / 2)  # jitter
            if retry_after is not None:
                delay = max(delay, retry_after)
            if time.monotonic() + delay > end:
                raise WriteBlocked(
                    f"Google 表格暂时无法访问（{what}：{error}，已重试 {attempt} 次）："
                    "修改已保存在待同步队列中，稍后自动重试。"
                )
            log.info("gsheets %s: %s, retry %d in %.2fs", what, error, attempt, delay)
            self._sleep(delay)
            if maybe_applied and on_lost is not None:
                replacement = on_lost()
                if replacement is None:
                    return None
                fn = replacement

    # ------------------------------------------------------------------ change token / lock
    def _writing(self) -> bool:
        """This thread holds the write lock (the engine's flusher, a migration, the layout)."""
        return bool(self._filelock.is_locked)  # the file lock's state is per thread

    def _drive_modified(self, deadline: float) -> str:
        def get() -> str:
            url = f"https://www.googleapis.com/drive/v3/files/{self.key}"
            r = self.http.request("get", url, params={"fields": "modifiedTime", "supportsAllDrives": True})
            return str(r.json()["modifiedTime"])

        return cast(str, self._call("read", get, what="Drive modifiedTime", deadline=deadline))

    def _known_version(self) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
        """(the shared token if still fresh, else None; the last token known, else None)."""
        st = self.limiter.states("modified", "writes")
        writes = str(st["writes"][0]) if "writes" in st else "0"
        state = st.get("modified")
        if state is None:
            return None, None
        token = ("gs", str(state[0]), writes)
        return (token if time.time() - state[1] < self.change_ttl else None), token

    def version(self) -> tuple[str, ...]:
        """``("gs", modifiedTime, writes)``: Drive's token, asked at most once per ``change_ttl``
        by one process for all workers, and the count of this server's own writes (it moves
        the moment a write ends, whatever Drive reports and however late)."""
        fresh, last = self._known_version()
        if fresh is not None:
            return fresh
        # Another process may be asking Drive, or reading every tab, right now. The writer and
        # a process that knows no version yet wait for its answer; a page view keeps the last
        # version known and asks again on its next request (it used to wait out a whole read
        # of every tab: all workers stalled 1.4 s at once at 178k rows, in the load test).
        wait = min(10.0, self.deadline) if last is None or self._writing() else 0.0
        try:
            self._readlock.acquire(timeout=wait)
        except LockTimeout:
            return last or ("gs-unknown",)
        try:
            fresh, last = self._known_version()
            if fresh is not None:
                return fresh
            now = time.time()
            try:
                modified = self._drive_modified(deadline=min(10.0, self.deadline))
            except (WriteBlocked, WorkbookError) as exc:
                log.warning("gsheets change check failed: %s", exc)
                return last or ("gs-unknown",)  # keep serving what we know
            self.limiter.set_state("modified", modified, now)
            fresh, last = self._known_version()
            return last or ("gs-unknown",)
        finally:
            self._readlock.release()

    def _expire_version(self) -> None:
        """This server changed the spreadsheet: every worker re-reads, Drive is asked again."""
        self.limiter.bump_state("writes", expire=("modified",))  # at once: no reader sees one without the other

    def lock(self) -> WriteLock:
        """A reentrant file lock beside the journal: one writer per server at a time."""
        return cast(WriteLock, self._filelock)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self._filelock.acquire()
        except LockTimeout as exc:
            raise WriteBlocked("另一个进程正在写入 Google 表格：修改已保存在待同步队列中，稍后会自动写入。") from exc
        try:
            yield
        finally:
            self._filelock.release()

    def blocked_reason(self) -> str | None:
        if self.limiter.available("write") == 0:
            return (
                f"Google 表格的写入配额（每分钟 {self.limiter.budgets['write']} 次）暂时用完："
                "修改已保存在待同步队列中，一分钟内自动继续。"
            )
        return None

    # ------------------------------------------------------------------ reading
    def _metadata(self) -> dict[str, dict[str, Any]]:
        def get() -> Any:
            return self.http.fetch_sheet_metadata(
                self.key,
                params={"includeGridData": "false", "fields": "sheets(properties,protectedRanges)"},
            )

        meta = self._call("read", get, what="读取工作表列表")
        out: dict[str, dict[str, Any]] = {}
        for s in meta.get("sheets", []):
            props = s.get("properties", {})
            if props.get("sheetType", "GRID") != "GRID":
                continue
            out[props["title"]] = {**props, "protectedRanges": s.get("protectedRanges", [])}
        return out

    def read_all(self) -> tuple[Hashable, dict[str, RawSheet]]:
        """Every tab in one ``values:batchGet`` (plus the metadata call for the titles)."""
        with self._mutex:
            outer = getattr(self._tl, "until", None) is None
            if outer:  # a page view never waits longer than ``deadline`` (< gunicorn's 60 s)
                self._tl.until = time.monotonic() + self.deadline
            try:
                return self._read_all()
            finally:
                if outer:
                    self._tl.until = None

    def _shared_read(self, version: tuple[str, ...]) -> dict[str, RawSheet] | None:
        """The read another worker shared for ``version`` (kept in the local cache), if any."""
        if self._cache is not None and self._cache[0] == version:
            return self._cache[1]
        shared = self.limiter.get_state("read")
        if shared is None or version[0] != "gs":
            return None
        try:
            payload = json.loads(zlib.decompress(shared[0]))
        except (zlib.error, ValueError, TypeError):
            return None
        if not payload or payload.get("version") != list(version):
            return None
        sheets = {t: RawSheet(t, rows) for t, rows in payload["tabs"].items()}
        self._cache = (version, sheets, payload["meta"])
        return sheets

    def _read_all(self) -> tuple[Hashable, dict[str, RawSheet]]:
        version = self.version()
        sheets = self._shared_read(version)
        if sheets is not None:
            return version, _copy(sheets)
        # One process reads for all: wait for a read in progress and take what it shares.
        # The writer waits only briefly (it may read on its own with the reserved budget).
        writer = self._writing()
        until: float = self._tl.until
        try:
            self._readlock.acquire(timeout=min(2.0, self.deadline) if writer else max(0.0, until - time.monotonic()))
            locked = True
        except LockTimeout:
            if not writer:
                raise WorkbookError("另一个进程正在读取 Google 表格，请稍后再试。") from None
            locked = False
        try:
            version = self.version()
            sheets = self._shared_read(version)
            if sheets is not None:
                return version, _copy(sheets)
            return self._fetch(version)
        finally:
            if locked:
                self._readlock.release()

    def _fetch(self, version: tuple[str, ...]) -> tuple[Hashable, dict[str, RawSheet]]:
        """Metadata and every tab from Google, shared with the other workers under ``version``."""
        sheets: dict[str, RawSheet] = {}
        try:
            meta = self._metadata()
            titles = list(meta)
            sheets = {}
            if titles:
                def get() -> Any:
                    return self.http.values_batch_get(
                        self.key,
                        [quote_title(t) for t in titles],
                        params={"valueRenderOption": "FORMATTED_VALUE", "majorDimension": "ROWS"},
                    )

                data = self._call("read", get, what="读取全部工作表")
                for title, vr in zip(titles, data.get("valueRanges", []), strict=False):
                    rows = [[_cell_in(v) for v in row] for row in vr.get("values", [])]
                    while rows and all(v is None for v in rows[-1]):
                        rows.pop()
                    sheets[title] = RawSheet(title, rows)
        except WriteBlocked as exc:
            raise WorkbookError(str(exc)) from exc
        self._cache = (version, sheets, meta)
        if version[0] == "gs":
            blob = zlib.compress(json.dumps(
                {"version": list(version), "tabs": {t: s.rows for t, s in sheets.items()}, "meta": meta},
                ensure_ascii=False, default=str,
            ).encode("utf-8"))
            self.limiter.set_state("read", blob)
        return version, _copy(sheets)

    def _fresh(self) -> tuple[dict[str, RawSheet], dict[str, dict[str, Any]]]:
        """The tabs and metadata as of the current version (read if needed)."""
        version, _ = self.read_all()
        assert self._cache is not None
        return self._cache[1], self._cache[2]

    # ------------------------------------------------------------------ writing
    def _chunks(self, items: list[Any], base: int = 200) -> list[list[Any]]:
        """Split ``items`` so each chunk's JSON stays below ``max_request_bytes``."""
        out: list[list[Any]] = []
        cur: list[Any] = []
        size = base
        for item in items:
            n = len(json.dumps(item).encode("utf-8")) + 2  # as requests sends it (ASCII escapes)
            if cur and size + n > self.max_request_bytes:
                out.append(cur)
                cur, size = [], base
            cur.append(item)
            size += n
        if cur:
            out.append(cur)
        return out

    def apply(self, batch: Batch, *, announce: Callable[[Hashable], None] | None = None) -> ApplyResult:
        """Write the batch: structure changes, one values batchUpdate, one append per tab.

        ``announce(version)``: after a write that changed no rows' positions, Drive is asked for
        the spreadsheet's modifiedTime once more, and the version every worker will see next,
        ``("gs", modifiedTime, writes + 1)``, is announced before it is published. The other
        workers then patch their snapshot with the rows written instead of re-reading 178k rows
        each. A person's edit that Drive folds into that modifiedTime (typed during the write)
        is caught by the writer, which always re-reads after its own writes (the version this
        returns is its own and never seen again) and publishes a new version if it finds one
        (``invalidate_version``). When Drive's answer fails or lags, readers re-read as before.
        """
        if len(batch) == 0:
            return ApplyResult(version=self.version())
        with self._mutex:
            published = False
            try:
                result = self._apply(batch)
                if announce is not None and not result.missing and not batch.assign_ids:
                    published = self._publish_after_write(announce)
                return result
            finally:
                self._cache = None  # re-read after every write (a person may have typed meanwhile)
                if not published:
                    self._expire_version()

    def _publish_after_write(self, announce: Callable[[Hashable], None]) -> bool:
        """Ask Drive for the modifiedTime our write left, announce the version, publish it."""
        try:
            modified = self._drive_modified(deadline=min(10.0, self.deadline))
        except (WriteBlocked, WorkbookError) as exc:
            log.warning("gsheets change check after a write failed: %s", exc)
            return False
        st = self.limiter.states("writes")
        writes = (int(st["writes"][0]) if "writes" in st and isinstance(st["writes"][0], int) else 0) + 1
        announce(("gs", str(modified), str(writes)))
        # both at once: no reader sees the new count with the old modifiedTime or the reverse
        if self.limiter.bump_state("writes", also={"modified": modified}) != writes:
            self._expire_version()  # cannot happen under the write lock; re-read if it does
        return True

    def invalidate_version(self) -> None:
        """Make every worker re-read (a version announced after our write hid a person's edit)."""
        self._expire_version()

    def _apply(self, batch: Batch) -> ApplyResult:
        tabs, meta = self._fresh()
        missing: list[tuple[str, str]] = []
        structure: list[dict[str, Any]] = []  # spreadsheet batchUpdate requests
        data: list[dict[str, Any]] = []  # values batchUpdate entries
        appends: dict[str, list[list[Any]]] = {}
        id_cols: dict[str, int] = {}
        titles: list[str] = []
        for title in [a[0] for a in batch.assign_ids] + [u[0] for u in batch.updates] + [a[0] for a in batch.appends]:
            if title not in titles:
                titles.append(title)
        new_tabs: list[str] = []
        for title in titles:
            tab_appends = [v for t, v in batch.appends if t == title]
            tab_updates = [(rid, v) for t, rid, v in batch.updates if t == title]
            tab_assigns = [(row, nid) for t, row, nid in batch.assign_ids if t == title]
            raw = tabs.get(title)
            if raw is None:
                if not tab_appends:
                    missing.extend((title, rid) for rid, _ in tab_updates)
                    continue
                raw = RawSheet(title, [])
                new_tabs.append(title)
            header = [str(h).strip() if h is not None else "" for h in (raw.rows[0] if raw.rows else [])]
            cols = {}
            for i, h in enumerate(header, start=1):
                if h and h not in cols:
                    cols[h] = i
            added: list[str] = []

            def column(h: str, cols: dict[str, int] = cols, header: list[str] = header, added: list[str] = added) -> int:
                h = _CONTROL.sub("", str(h)).strip()
                if h not in cols:
                    header.append(h)
                    cols[h] = len(header)
                    added.append(h)
                return cols[h]

            id_col = cols.get(batch.id_header)
            ids: dict[str, int] = {}
            if id_col is not None:
                for r, row in raw.data_rows():
                    v = row[id_col - 1] if id_col - 1 < len(row) else None
                    if v is not None and str(v).strip():
                        ids.setdefault(str(v).strip(), r)
            for row_no, new_id in tab_assigns:
                if row_no < 2:
                    continue
                c = column(batch.id_header)
                row = raw.rows[row_no - 1] if row_no - 1 < len(raw.rows) else []
                cur = row[c - 1] if c - 1 < len(row) else None
                if cur is None or not str(cur).strip():
                    data.append({"range": f"{quote_title(title)}!{col_letter(c)}{row_no}", "values": [[_cell_out(new_id)]]})
                    ids.setdefault(str(new_id).strip(), row_no)
            for rid, values in tab_updates:
                found = ids.get(str(rid).strip()) if id_col is not None else None
                if found is None:
                    missing.append((title, rid))
                    continue
                cells = sorted((column(h), _cell_out(v)) for h, v in values.items())
                # contiguous cells of the row go in one range
                run: list[tuple[int, Any]] = []
                for c, v in cells + [(-1, None)]:
                    if run and c != run[-1][0] + 1:
                        data.append({
                            "range": f"{quote_title(title)}!{col_letter(run[0][0])}{found}",
                            "values": [[x for _, x in run]],
                        })
                        run = []
                    if c > 0:
                        run.append((c, v))
            rows_out: list[list[Any]] = []
            if tab_appends:
                column(batch.id_header)
                for values in tab_appends:
                    for h in values:
                        column(h)
                for values in tab_appends:
                    row = [""] * len(header)
                    for h, v in values.items():
                        row[cols[_CONTROL.sub("", str(h)).strip()] - 1] = _cell_out(v)
                    rows_out.append(row)
                appends[title] = rows_out
            id_cols[title] = cols.get(batch.id_header, 0)
            if added:
                first = len(header) - len(added) + 1
                data.insert(0, {"range": f"{quote_title(title)}!{col_letter(first)}1", "values": [list(added)]})
            props = meta.get(title)
            width = len(header)
            if props is None:
                structure.append({"addSheet": {"properties": {"title": title, "gridProperties": {
                    "rowCount": 1000, "columnCount": max(26, width), "frozenRowCount": 1}}}})
            else:
                have = int(props.get("gridProperties", {}).get("columnCount", 26))
                if width > have:
                    structure.append({"appendDimension": {"sheetId": props["sheetId"], "dimension": "COLUMNS",
                                                          "length": width - have}})
        if structure:
            self._call("write", lambda: self.http.batch_update(self.key, {"requests": structure}), what="调整工作表结构")
        for chunk in self._chunks(data):
            body = {"valueInputOption": "RAW", "data": chunk}
            self._call("write", functools.partial(self.http.values_batch_update, self.key, body), what="写入修改")
        for title, rows in appends.items():
            for chunk in self._chunks(rows):
                self._append(title, chunk, id_cols[title], batch.id_header)
        self._written += 1
        return ApplyResult(version=("gs-written", os.getpid(), self._written, time.time()), missing=missing)

    def _append(self, title: str, rows: list[list[Any]], id_col: int, id_header: str) -> None:
        params: dict[str, Any] = {"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS", "includeValuesInResponse": False}
        rng = f"{quote_title(title)}!A1"
        state = {"rows": rows}

        def send() -> Any:
            return self.http.values_append(self.key, rng, params=params, body={"values": state["rows"]})

        def on_lost() -> Callable[[], Any] | None:
            # The previous attempt may have landed: keep only rows whose id is not there yet.
            if not id_col:
                return send
            letter = col_letter(id_col)

            def get_ids() -> Any:
                return self.http.values_get(self.key, f"{quote_title(title)}!{letter}:{letter}",
                                            params={"valueRenderOption": "FORMATTED_VALUE"})

            present = {
                str(r[0]).strip() for r in (self._call("read", get_ids, what="核对已写入的行").get("values") or []) if r and r[0]
            }
            state["rows"] = [r for r in state["rows"] if str(r[id_col - 1]).strip() not in present]
            return send if state["rows"] else None

        self._call("write", send, what=f"追加到“{title}”", on_lost=on_lost)

    # ------------------------------------------------------------------ layout
    def ensure_layout(self, schemas: SchemaSet, choices: dict[str, tuple[str, ...]]) -> None:
        """Tabs, Chinese headers, frozen row 1, dropdowns, header notes and a protected id column,
        through ``spreadsheet.batch_update`` (plus one values write for the header cells)."""
        from .xlsx import _comment_text  # the same header notes as in the xlsx workbook

        with self._locked(), self._mutex:
            meta = self._metadata()
            first: list[dict[str, Any]] = []
            for sch in schemas:
                width = max(26, len(sch.columns) + 4)
                if sch.title not in meta:
                    first.append({"addSheet": {"properties": {"title": sch.title, "gridProperties": {
                        "rowCount": 1000, "columnCount": width, "frozenRowCount": 1}}}})
                else:
                    grid = meta[sch.title].get("gridProperties", {})
                    props: dict[str, Any] = {"sheetId": meta[sch.title]["sheetId"], "gridProperties": {"frozenRowCount": 1}}
                    fields = "gridProperties.frozenRowCount"
                    if int(grid.get("frozenRowCount", 0)) != 1:
                        first.append({"updateSheetProperties": {"properties": props, "fields": fields}})
            if first:
                reply = self._call("write", lambda: self.http.batch_update(self.key, {"requests": first}), what="创建工作表")
                for r in reply.get("replies", []):
                    p = (r.get("addSheet") or {}).get("properties")
                    if p:
                        meta[p["title"]] = {**p, "protectedRanges": []}
            titles = [s.title for s in schemas]
            got = self._call("read", lambda: self.http.values_batch_get(
                self.key, [f"{quote_title(t)}!1:1" for t in titles], params={"valueRenderOption": "FORMATTED_VALUE"}),
                what="读取表头")
            headers: dict[str, list[str]] = {}
            for t, vr in zip(titles, got.get("valueRanges", []), strict=False):
                row = (vr.get("values") or [[]])[0]
                headers[t] = [str(v).strip() for v in row]
            data: list[dict[str, Any]] = []
            second: list[dict[str, Any]] = []
            for sch in schemas:
                props = meta[sch.title]
                sid = props["sheetId"]
                rows = int(props.get("gridProperties", {}).get("rowCount", 1000))
                cols = int(props.get("gridProperties", {}).get("columnCount", 26))
                have = headers.get(sch.title, [])
                new = [c.header for c in sch.columns if c.header not in have]
                if new:
                    start = len(have) + 1
                    data.append({"range": f"{quote_title(sch.title)}!{col_letter(start)}1", "values": [new]})
                    have = have + new
                if len(have) > cols:
                    second.append({"appendDimension": {"sheetId": sid, "dimension": "COLUMNS", "length": len(have) - cols}})
                second.append({"repeatCell": {"range": {"sheetId": sid, "startRowIndex": 0, "endRowIndex": 1},
                                              "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}},
                                              "fields": "userEnteredFormat.textFormat.bold"}})
                notes = []
                for c in sch.columns:
                    idx = have.index(c.header)
                    notes.append((idx, _comment_text(c)))
                    if c.type == "enum":
                        values = list(choices.get(c.choices, ()) if isinstance(c.choices, str) and c.choices in choices
                                      else schemas.choices_for(c))[:LIST_LIMIT]
                        if values:
                            second.append({"setDataValidation": {
                                "range": {"sheetId": sid, "startRowIndex": 1, "endRowIndex": rows,
                                          "startColumnIndex": idx, "endColumnIndex": idx + 1},
                                "rule": {"condition": {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": v} for v in values]},
                                         "inputMessage": "请从下拉列表中选择", "strict": False, "showCustomUi": True}}})
                for idx, text in notes:
                    if text:
                        second.append({"updateCells": {"start": {"sheetId": sid, "rowIndex": 0, "columnIndex": idx},
                                                       "rows": [{"values": [{"note": text}]}], "fields": "note"}})
                id_header = sch.id_header if hasattr(sch, "id_header") else "编号"
                if id_header in have and not any(p.get("description") == PROTECT_DESCRIPTION for p in props.get("protectedRanges", [])):
                    idx = have.index(id_header)
                    editors = {"users": [self.service_account]} if self.service_account else {}
                    second.append({"addProtectedRange": {"protectedRange": {
                        "range": {"sheetId": sid, "startRowIndex": 0, "startColumnIndex": idx, "endColumnIndex": idx + 1},
                        "description": PROTECT_DESCRIPTION, "warningOnly": False, "editors": editors}}})
            if data:
                self._call("write", lambda: self.http.values_batch_update(self.key, {"valueInputOption": "RAW", "data": data}),
                           what="写入表头")
            if second:
                self._call("write", lambda: self.http.batch_update(self.key, {"requests": second}), what="设置下拉框和保护")
            self._cache = None
            self._expire_version()

    # ------------------------------------------------------------------ whole-workbook copy
    def write_tabs(
        self, tabs: dict[str, list[list[Any]]], progress: Callable[[int], None] | None = None
    ) -> None:
        """Replace the values of ``tabs`` (title → rows, header first) for ``sheets migrate``.

        Missing tabs are created, grids are sized to fit, old values are cleared, then rows
        go in RAW chunks below the request limit; ``progress(n)`` is called per chunk with
        the number of rows it carried. Tabs not named are left alone.
        """
        with self._locked(), self._mutex:
            meta = self._metadata()
            structure: list[dict[str, Any]] = []
            for title, rows in tabs.items():
                n_rows = max(len(rows) + 100, 1000)
                n_cols = max([26] + [len(r) for r in rows])
                if title not in meta:
                    structure.append({"addSheet": {"properties": {"title": title, "gridProperties": {
                        "rowCount": n_rows, "columnCount": n_cols, "frozenRowCount": 1}}}})
                else:
                    grid = meta[title].get("gridProperties", {})
                    if int(grid.get("rowCount", 0)) < n_rows or int(grid.get("columnCount", 0)) < n_cols:
                        structure.append({"updateSheetProperties": {"properties": {
                            "sheetId": meta[title]["sheetId"],
                            "gridProperties": {"rowCount": max(n_rows, int(grid.get("rowCount", 0))),
                                               "columnCount": max(n_cols, int(grid.get("columnCount", 0)))}},
                            "fields": "gridProperties.rowCount,gridProperties.columnCount"}})
            if structure:
                self._call("write", lambda: self.http.batch_update(self.key, {"requests": structure}), what="创建工作表")
            existing = [quote_title(t) for t in tabs if t in meta]
            if existing:
                self._call("write", lambda: self.http.values_batch_clear(self.key, body={"ranges": existing}),
                           what="清空工作表")
            entries: list[dict[str, Any]] = []
            for title, rows in tabs.items():
                for i, row in enumerate(rows, start=1):
                    entries.append({"range": f"{quote_title(title)}!A{i}", "values": [[_cell_out(v) for v in row]]})
            for chunk in self._chunks(entries):
                body = {"valueInputOption": "RAW", "data": _merge_rows(chunk)}
                self._call("write", functools.partial(self.http.values_batch_update, self.key, body), what="写入数据")
                if progress is not None:
                    progress(len(chunk))
            self._cache = None
            self._expire_version()

    # ------------------------------------------------------------------ backups
    def backup_to(self, dest: Path) -> None:
        """An xlsx snapshot of every tab (values as read) at ``dest``."""
        from openpyxl import Workbook

        _, tabs = self.read_all()
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        # write-only: rows are streamed, several times faster and lighter than building every
        # cell object (the hourly backup runs in a worker beside the requests it serves)
        wb = Workbook(write_only=True)
        for title, sheet in tabs.items():
            ws = wb.create_sheet(excel_title(title))
            if sheet.rows:
                ws.freeze_panes = "A2"
            for row in sheet.rows:
                ws.append([_xlsx_cell(ws, v) for v in row])
        buf = io.BytesIO()
        wb.save(buf)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.stem}.", suffix=".xlsx")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(buf.getvalue())
            os.replace(tmp, dest)
        except OSError as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise WorkbookError(f"备份 Google 表格到 {dest} 失败（{exc}）：请检查备份文件夹的磁盘空间和权限。") from exc

    def close(self) -> None:
        self.limiter.close()


def _xlsx_cell(ws: Any, value: Any) -> Any:
    """A value read from Google as a snapshot cell: text stays text, never a formula (openpyxl
    would make ``=…`` a live formula the person opening the backup runs)."""
    if not isinstance(value, str) or not (value.startswith("=") or is_formula_like(value)):
        return value  # openpyxl stores other text as text
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def _merge_rows(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive one-row entries of the same tab become one block range (fewer, bigger ranges)."""
    out: list[dict[str, Any]] = []
    pat = re.compile(r"^(.*)!A(\d+)$")
    for e in entries:
        m = pat.match(e["range"])
        if out and m:
            last = out[-1]
            lm = pat.match(last["range"])
            if lm and lm.group(1) == m.group(1) and int(lm.group(2)) + len(last["values"]) == int(m.group(2)):
                last["values"].append(e["values"][0])
                continue
        out.append({"range": e["range"], "values": list(e["values"])})
    return out


def _copy(sheets: dict[str, RawSheet]) -> dict[str, RawSheet]:
    return {t: RawSheet(s.title, [list(r) for r in s.rows], set(s.formulas), list(s.merged)) for t, s in sheets.items()}


def backend_from_config(
    *,
    key: str,
    credentials: str | os.PathLike[str] | Credentials | None,
    state_path: Path | str | None = None,
    base_url: str | None = None,
    reads_per_minute: int = 60,
    writes_per_minute: int = 60,
    change_ttl: float = 10.0,
    timeout: float = 20.0,
    deadline: float = 45.0,
    **kwargs: Any,
) -> GoogleSheetsBackend:
    """The backend for ``MINGXIAO_BACKEND=gsheets``.

    ``credentials``: the service account JSON file (or a google-auth Credentials object; with
    ``base_url`` pointing at the in-repo fake, ``None`` means anonymous). ``state_path``: the
    journal database that holds the shared budget (default ``instance/journal.sqlite3``).
    """
    email: str | None = kwargs.pop("service_account", None)
    creds: Credentials | None
    if credentials is None or isinstance(credentials, Credentials):
        creds = credentials
    else:
        from google.oauth2.service_account import Credentials as ServiceAccountCredentials

        path = Path(credentials)
        try:
            account = ServiceAccountCredentials.from_service_account_file(str(path), scopes=list(SCOPES))
        except (OSError, ValueError) as exc:
            raise WorkbookError(f"无法读取服务账号文件 {path}（{exc}）：请检查 MINGXIAO_GSHEETS_CREDENTIALS。") from exc
        email = email or account.service_account_email
        creds = account
    if creds is None and base_url is None:
        raise WorkbookError("使用 Google 表格需要服务账号凭据（MINGXIAO_GSHEETS_CREDENTIALS）。")
    client = make_client(creds, base_url=base_url, timeout=timeout)
    return GoogleSheetsBackend(
        client,
        key,
        state_path=state_path or Path("instance") / "journal.sqlite3",
        reads_per_minute=reads_per_minute,
        writes_per_minute=writes_per_minute,
        change_ttl=change_ttl,
        timeout=timeout,
        deadline=deadline,
        service_account=email,
        **kwargs,
    )
