"""An in-repo fake of the Google Sheets v4 and Drive v3 endpoints that gspread calls.

Served on 127.0.0.1 by a threaded werkzeug server, for the tests and ``bench/google.py``. Real
gspread talks to it through a session whose base URLs are rewritten (see
:func:`mingxiao.sheetdb.gsheets.make_client` with ``base_url``); nothing in gspread is patched.

Endpoints: spreadsheet metadata (``GET /v4/spreadsheets/{id}``), ``values/{range}`` get and
update (PUT), ``values:batchGet``, ``values/{range}:append``, ``values:batchUpdate``,
``values:batchClear``, spreadsheet ``:batchUpdate`` (addSheet echoes gridProperties,
updateSheetProperties, appendDimension, setDataValidation, updateCells notes, addProtectedRange,
deleteSheet; formatting requests are accepted and ignored) and Drive ``files/{id}``
(modifiedTime).

:attr:`FakeGoogle.quota` enforces a per-minute budget of requests the way Google does (429).

Faults (:meth:`FakeGoogle.fail_next` for a queue, :attr:`FakeGoogle.rates` for random ones):
``429`` (with ``Retry-After``), ``500``, ``503``, ``slow`` (answers late but correctly),
``timeout`` (never answers in time, nothing applied) and ``lost`` (applied, but the answer
comes too late for the client: "applied but the answer was lost").

"A person in the UI": :meth:`FakeGoogle.ui_set` / :meth:`ui_append_row` / :meth:`ui_delete_row`
change cells as a person typing in the browser would, and bump the Drive ``modifiedTime``
(optionally reported only after :attr:`FakeGoogle.change_delay` seconds, as Google does).
:meth:`FakeGoogle.start_person` runs such a person in a background thread.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

__all__ = ["Call", "FakeGoogle", "parse_a1", "col_letter", "col_number"]

MAX_REQUEST_BYTES = 2_000_000  # about what Google accepts per request (documented ~2 MB)
FORMAT_REQUESTS = frozenset(
    {"repeatCell", "updateDimensionProperties", "autoResizeDimensions", "updateBorders", "setBasicFilter",
     "addConditionalFormatRule", "updateCells_format"}
)


def col_letter(n: int) -> str:
    """1 → A, 27 → AA."""
    out = ""
    while n > 0:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def col_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n


_CELL = re.compile(r"^\$?([A-Za-z]{0,3})\$?(\d*)$")


def parse_a1(text: str) -> tuple[str | None, int | None, int | None, int | None, int | None]:
    """``'It''s'!A2:C`` → ``("It's", 2, 1, None, 3)``: (title, row1, col1, row2, col2), 1-based.

    ``None`` bounds are open. A bare name without ``!`` is returned as a title with no bounds
    when it does not look like a cell range (the caller decides if such a tab exists).
    """
    title: str | None = None
    rest = text
    if text.startswith("'"):
        i, buf = 1, []
        while i < len(text):
            if text[i] == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    buf.append("'")
                    i += 2
                    continue
                break
            buf.append(text[i])
            i += 1
        title = "".join(buf)
        rest = text[i + 1 :]
        if rest.startswith("!"):
            rest = rest[1:]
        elif rest:
            raise ValueError(f"Unable to parse range: {text}")
    elif "!" in text:
        title, rest = text.rsplit("!", 1)
    else:
        parts = text.split(":")
        if not all(_CELL.match(p) and p for p in parts) or len(parts) > 2:
            return text, None, None, None, None
    if rest == "":
        return title, None, None, None, None
    parts = rest.split(":")
    if len(parts) > 2:
        raise ValueError(f"Unable to parse range: {text}")
    bounds: list[tuple[int | None, int | None]] = []
    for p in parts:
        m = _CELL.match(p)
        if not m or not p:
            raise ValueError(f"Unable to parse range: {text}")
        letters, digits = m.group(1), m.group(2)
        bounds.append((int(digits) if digits else None, col_number(letters) if letters else None))
    r1, c1 = bounds[0]
    if len(bounds) == 1:
        if r1 is None or c1 is None:  # "A" alone or "3" alone is not a range
            raise ValueError(f"Unable to parse range: {text}")
        return title, r1, c1, r1, c1
    r2, c2 = bounds[1]
    return title, r1, c1, r2, c2


def quote_title(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


@dataclass
class Call:
    """One request the fake answered (or refused)."""

    at: float  # time.time()
    method: str
    name: str  # metadata, values.get, values.batchGet, values.append, values.update, …
    kind: str  # "read" or "write"
    status: int
    fault: str | None = None
    size: int = 0


@dataclass
class _Sheet:
    sheet_id: int
    title: str
    index: int
    rows: list[list[Any]] = field(default_factory=list)
    row_count: int = 1000
    col_count: int = 26
    frozen: int = 0
    hidden: bool = False
    notes: dict[tuple[int, int], str] = field(default_factory=dict)  # 0-based (row, col)
    validations: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    protected: list[dict[str, Any]] = field(default_factory=list)

    def properties(self) -> dict[str, Any]:
        return {
            "sheetId": self.sheet_id,
            "title": self.title,
            "index": self.index,
            "sheetType": "GRID",
            "hidden": self.hidden,
            "gridProperties": {
                "rowCount": self.row_count,
                "columnCount": self.col_count,
                "frozenRowCount": self.frozen,
            },
        }

    def last_row(self) -> int:
        for i in range(len(self.rows) - 1, -1, -1):
            if any(v not in (None, "") for v in self.rows[i]):
                return i + 1
        return 0

    def set(self, row: int, col: int, value: Any) -> None:
        """1-based; grows the stored rows."""
        while len(self.rows) < row:
            self.rows.append([])
        r = self.rows[row - 1]
        while len(r) < col:
            r.append(None)
        r[col - 1] = None if value == "" else value

    def get(self, row: int, col: int) -> Any:
        if row - 1 < len(self.rows) and col - 1 < len(self.rows[row - 1]):
            return self.rows[row - 1][col - 1]
        return None


@dataclass
class _Book:
    key: str
    title: str
    sheets: list[_Sheet] = field(default_factory=list)
    next_sheet_id: int = 1
    modified_ms: int = 0
    changes: list[tuple[float, int]] = field(default_factory=list)  # (monotonic at, modified_ms)
    protected_id: int = 1

    def sheet(self, title: str | None) -> _Sheet | None:
        if title is None:
            return self.sheets[0] if self.sheets else None
        for s in self.sheets:
            if s.title == title:
                return s
        return None


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class ApiError(Exception):
    def __init__(self, code: int, message: str, status: str = "INVALID_ARGUMENT") -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _format(value: Any) -> Any:
    """FORMATTED_VALUE rendering of a stored value (default number format)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, int):
        return str(value)
    return str(value)


def _user_entered(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+", text) and len(text) < 16 and not (len(text) > 1 and text.lstrip("-").startswith("0")):
            return int(text)
        if re.fullmatch(r"-?\d+\.\d+", text):
            return float(text)
        if text.upper() in ("TRUE", "FALSE"):
            return text.upper() == "TRUE"
        if value.startswith("'"):
            return value[1:]
    return value


class FakeGoogle:
    """The fake API server plus its state; ``with FakeGoogle() as fake:`` starts and stops it."""

    def __init__(self, *, seed: int = 0, max_request_bytes: int = MAX_REQUEST_BYTES) -> None:
        self.books: dict[str, _Book] = {}
        self.calls: list[Call] = []
        self.rates: dict[str, float] = {}  # fault kind → probability per request
        self.retry_after: float = 1.0  # seconds sent with random 429s
        self.slow_seconds = 0.3
        self.hang_seconds = 2.0  # "timeout"/"lost": longer than the client's read timeout
        self.change_delay = 0.0  # Drive reports a change only after this many seconds
        self.max_request_bytes = max_request_bytes
        # Google's per-minute quota, enforced like Google does (429) when set: {"read": 60, "write": 60}
        self.quota: dict[str, int] = {}
        self._queue: list[tuple[str, float | None, Callable[[str, str], bool] | None]] = []
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._person: threading.Thread | None = None
        self._person_stop = threading.Event()
        self.base_url = ""

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> str:
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler)
        self._server.daemon_threads = True
        port = self._server.server_port
        self.base_url = f"http://127.0.0.1:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-google", daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        self.stop_person()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeGoogle:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ------------------------------------------------------------------ state helpers
    def create_spreadsheet(self, title: str = "名校长培养工程", key: str | None = None, *, first_tab: str | None = "Sheet1") -> str:
        key = key or uuid.uuid4().hex
        with self._lock:
            book = _Book(key=key, title=title)
            if first_tab:
                book.sheets.append(_Sheet(sheet_id=0, title=first_tab, index=0))
            self.books[key] = book
            self._bump(book)
        return key

    def _bump(self, book: _Book) -> None:
        now_ms = int(time.time() * 1000)
        book.modified_ms = max(now_ms, book.modified_ms + 1)
        book.changes.append((time.monotonic(), book.modified_ms))
        del book.changes[:-50]

    def modified_time(self, key: str) -> str:
        """What Drive reports now (a change shows only after ``change_delay`` seconds)."""
        book = self.books[key]
        cutoff = time.monotonic() - self.change_delay
        visible = [ms for at, ms in book.changes if at <= cutoff]
        ms = visible[-1] if visible else (book.changes[0][1] if book.changes else 0)
        return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"

    def tab_titles(self, key: str) -> list[str]:
        return [s.title for s in self.books[key].sheets]

    def ui_rows(self, key: str, title: str) -> list[list[Any]]:
        """The tab's cells as a person sees them (stored values, trailing blanks trimmed)."""
        with self._lock:
            sh = self.books[key].sheet(title)
            if sh is None:
                raise KeyError(title)
            return [list(r) for r in sh.rows[: sh.last_row()]]

    def ui_set(self, key: str, title: str, row: int, col: int, value: Any) -> None:
        """A person types ``value`` into a cell (1-based) in the browser."""
        with self._lock:
            book = self.books[key]
            sh = book.sheet(title)
            if sh is None:
                raise KeyError(title)
            sh.set(row, col, value)
            sh.row_count = max(sh.row_count, row)
            sh.col_count = max(sh.col_count, col)
            self._bump(book)

    def ui_replace(self, key: str, title: str, rows: list[list[Any]], *, create: bool = True) -> None:
        """A person pastes a whole tab (replacing its cells), creating the tab if needed."""
        with self._lock:
            book = self.books[key]
            sh = book.sheet(title)
            if sh is None:
                if not create:
                    raise KeyError(title)
                sh = self._add_sheet(book, {"title": title})
            sh.rows = [[None if v == "" else v for v in r] for r in rows]
            sh.row_count = max(sh.row_count, len(rows))
            sh.col_count = max([sh.col_count] + [len(r) for r in rows])
            self._bump(book)

    def ui_rename_tab(self, key: str, old: str, new: str) -> None:
        with self._lock:
            book = self.books[key]
            sh = book.sheet(old)
            if sh is None:
                raise KeyError(old)
            sh.title = new
            self._bump(book)

    def ui_delete_tab(self, key: str, title: str) -> None:
        with self._lock:
            book = self.books[key]
            book.sheets = [s for s in book.sheets if s.title != title]
            self._bump(book)

    def ui_append_row(self, key: str, title: str, values: list[Any]) -> None:
        with self._lock:
            book = self.books[key]
            sh = book.sheet(title)
            if sh is None:
                raise KeyError(title)
            row = sh.last_row() + 1
            for c, v in enumerate(values, start=1):
                sh.set(row, c, v)
            sh.row_count = max(sh.row_count, row)
            self._bump(book)

    def ui_delete_row(self, key: str, title: str, row: int) -> None:
        with self._lock:
            book = self.books[key]
            sh = book.sheet(title)
            if sh is None:
                raise KeyError(title)
            if row - 1 < len(sh.rows):
                del sh.rows[row - 1]
            self._bump(book)

    def start_person(self, key: str, title: str, *, interval: float = 5.0, column: int | None = None, seed: int = 1) -> None:
        """A person in the UI who edits one random data cell every ``interval`` seconds."""
        rng = random.Random(seed)
        self._person_stop.clear()

        def run() -> None:
            while not self._person_stop.wait(interval):
                with self._lock:
                    sh = self.books[key].sheet(title)
                    if sh is None or sh.last_row() < 2:
                        continue
                    row = rng.randint(2, sh.last_row())
                    width = max(len(sh.rows[0]), 1)
                    col = column or rng.randint(2, width)
                    self.ui_set(key, title, row, col, f"人工修改{rng.randint(1, 9999)}")

        self._person = threading.Thread(target=run, name="fake-person", daemon=True)
        self._person.start()

    def stop_person(self) -> None:
        self._person_stop.set()
        if self._person is not None:
            self._person.join(timeout=5)
            self._person = None

    # ------------------------------------------------------------------ faults
    def fail_next(
        self, kind: str, n: int = 1, *, retry_after: float | None = None, match: Callable[[str, str], bool] | None = None
    ) -> None:
        """Queue ``n`` faults of ``kind`` (429, 500, 503, slow, timeout, lost) for the next
        matching requests; ``match(method, name)`` picks which (default: any)."""
        with self._lock:
            for _ in range(n):
                self._queue.append((kind, retry_after, match))

    def count(self, *, kind: str | None = None, name: str | None = None, ok: bool | None = None, since: float = 0.0) -> int:
        return sum(
            1
            for c in list(self.calls)
            if c.at >= since
            and (kind is None or c.kind == kind)
            and (name is None or c.name == name)
            and (ok is None or (200 <= c.status < 300) == ok)
        )

    def _pick_fault(self, method: str, name: str) -> tuple[str | None, float | None]:
        with self._lock:
            for i, (kind, ra, match) in enumerate(self._queue):
                if match is None or match(method, name):
                    del self._queue[i]
                    return kind, ra
            if self.rates:
                x = self._rng.random()
                acc = 0.0
                for kind, p in self.rates.items():
                    acc += p
                    if x < acc:
                        return kind, (self.retry_after if kind == "429" else None)
        return None, None

    # ------------------------------------------------------------------ HTTP
    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        raw_path = environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.path
        raw_path = raw_path.split("?", 1)[0]
        if "://" in raw_path:
            raw_path = "/" + raw_path.split("://", 1)[1].split("/", 1)[1]
        body = request.get_data()
        method = request.method.upper()
        try:
            name, handler = self._route(method, raw_path)
        except ApiError as exc:
            return self._error(exc)(environ, start_response)
        kind = "read" if method == "GET" else "write"
        fault, retry_after = self._pick_fault(method, name)
        if fault is None and kind in self.quota:
            now = time.time()
            with self._lock:
                used = sum(1 for c in reversed(self.calls[-5000:]) if c.kind == kind and c.at > now - 60 and c.fault != "quota")
            if used >= self.quota[kind]:
                fault, retry_after = "quota", 60.0 - 0.0
        call = Call(at=time.time(), method=method, name=name, kind=kind, status=200, fault=fault, size=len(body))
        response: Response
        if fault in ("429", "quota"):
            response = self._error(ApiError(429, "Quota exceeded for quota metric 'Read requests'", "RESOURCE_EXHAUSTED"))
            response.headers["Retry-After"] = f"{retry_after if retry_after is not None else self.retry_after:g}"
        elif fault in ("500", "503"):
            response = self._error(ApiError(int(fault), "Internal error encountered." if fault == "500" else "The service is currently unavailable.",
                                            "INTERNAL" if fault == "500" else "UNAVAILABLE"))
        elif fault == "timeout":
            time.sleep(self.hang_seconds)
            response = self._error(ApiError(503, "The service is currently unavailable.", "UNAVAILABLE"))
        else:
            if fault == "slow":
                time.sleep(self.slow_seconds)
            try:
                if len(body) > self.max_request_bytes:
                    raise ApiError(400, f"Request payload size exceeds the limit: {self.max_request_bytes} bytes.")
                payload = json.loads(body) if body else None
                with self._lock:
                    result = handler(request, payload)
                response = Response(json.dumps(result, ensure_ascii=False), status=200, mimetype="application/json")
            except ApiError as exc:
                response = self._error(exc)
            if fault == "lost":  # applied: logged now, the answer comes too late
                call.status = response.status_code
                with self._lock:
                    self.calls.append(call)
                time.sleep(self.hang_seconds)
                return response(environ, start_response)
        call.status = response.status_code
        with self._lock:
            self.calls.append(call)
        return response(environ, start_response)

    @staticmethod
    def _error(exc: ApiError) -> Response:
        body = {"error": {"code": exc.code, "message": exc.message, "status": exc.status}}
        return Response(json.dumps(body), status=exc.code, mimetype="application/json")

    def _route(self, method: str, path: str) -> tuple[str, Callable[[Request, Any], Any]]:
        m = re.fullmatch(r"/drive/v3/files/([^/]+)", path)
        if m and method == "GET":
            key = unquote(m.group(1))
            return "drive.files.get", lambda req, body: self._drive_get(key, req)
        m = re.fullmatch(r"/v4/spreadsheets/([^/:]+)(.*)", path)
        if not m:
            raise ApiError(404, f"Not found: {path}", "NOT_FOUND")
        key, rest = unquote(m.group(1)), m.group(2)
        if rest == "" and method == "GET":
            return "metadata", lambda req, body: self._metadata(self._book(key))
        if rest == ":batchUpdate" and method == "POST":
            return "batchUpdate", lambda req, body: self._batch_update(self._book(key), body or {})
        if rest == "/values:batchGet" and method == "GET":
            return "values.batchGet", lambda req, body: self._batch_get(self._book(key), req)
        if rest == "/values:batchUpdate" and method == "POST":
            return "values.batchUpdate", lambda req, body: self._values_batch_update(self._book(key), body or {})
        if rest == "/values:batchClear" and method == "POST":
            return "values.batchClear", lambda req, body: self._batch_clear(self._book(key), body or {})
        m2 = re.fullmatch(r"/values/([^:]+)(:append|:clear)?", rest)
        if m2:
            rng = unquote(m2.group(1))
            if m2.group(2) == ":append" and method == "POST":
                return "values.append", lambda req, body: self._append(self._book(key), rng, req, body or {})
            if m2.group(2) == ":clear" and method == "POST":
                return "values.clear", lambda req, body: self._batch_clear(self._book(key), {"ranges": [rng]})
            if m2.group(2) is None and method == "GET":
                return "values.get", lambda req, body: self._values_get(self._book(key), rng, req)
            if m2.group(2) is None and method == "PUT":
                return "values.update", lambda req, body: self._values_update(self._book(key), rng, req, body or {})
        raise ApiError(404, f"Not found: {method} {path}", "NOT_FOUND")

    def _book(self, key: str) -> _Book:
        book = self.books.get(key)
        if book is None:
            raise ApiError(404, f"Requested entity was not found: {key}", "NOT_FOUND")
        return book

    # ------------------------------------------------------------------ endpoint logic
    def _drive_get(self, key: str, req: Request) -> dict[str, Any]:
        book = self._book(key)
        return {"id": key, "name": book.title, "modifiedTime": self.modified_time(key),
                "createdTime": "2026-01-01T00:00:00.000Z", "mimeType": "application/vnd.google-apps.spreadsheet"}

    def _metadata(self, book: _Book) -> dict[str, Any]:
        sheets = []
        for s in book.sheets:
            entry: dict[str, Any] = {"properties": s.properties()}
            if s.protected:
                entry["protectedRanges"] = [dict(p) for p in s.protected]
            sheets.append(entry)
        return {
            "spreadsheetId": book.key,
            "properties": {"title": book.title, "locale": "zh_CN", "timeZone": "Asia/Shanghai"},
            "sheets": sheets,
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{book.key}/edit",
        }

    def _resolve(self, book: _Book, rng: str) -> tuple[_Sheet, int, int, int, int]:
        try:
            title, r1, c1, r2, c2 = parse_a1(rng)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from exc
        sh = book.sheet(title)
        if sh is None:
            raise ApiError(400, f"Unable to parse range: {rng}")
        return sh, r1 or 1, c1 or 1, r2 or sh.row_count, c2 or sh.col_count

    def _read(self, book: _Book, rng: str, render: str) -> dict[str, Any]:
        sh, r1, c1, r2, c2 = self._resolve(book, rng)
        r2 = min(r2, sh.row_count)
        c2 = min(c2, sh.col_count)
        values: list[list[Any]] = []
        for r in range(r1, min(r2, len(sh.rows)) + 1):
            row = [sh.get(r, c) for c in range(c1, c2 + 1)]
            while row and row[-1] in (None, ""):
                row.pop()
            if render == "UNFORMATTED_VALUE":
                values.append(["" if v is None else v for v in row])
            else:
                values.append([_format(v) for v in row])
        while values and not values[-1]:
            values.pop()
        out: dict[str, Any] = {"range": f"{quote_title(sh.title)}!{col_letter(c1)}{r1}:{col_letter(c2)}{r2}", "majorDimension": "ROWS"}
        if values:
            out["values"] = values
        return out

    def _values_get(self, book: _Book, rng: str, req: Request) -> dict[str, Any]:
        return self._read(book, rng, req.args.get("valueRenderOption", "FORMATTED_VALUE"))

    def _batch_get(self, book: _Book, req: Request) -> dict[str, Any]:
        render = req.args.get("valueRenderOption", "FORMATTED_VALUE")
        return {"spreadsheetId": book.key, "valueRanges": [self._read(book, r, render) for r in req.args.getlist("ranges")]}

    def _write(self, book: _Book, rng: str, values: list[list[Any]], option: str, *, grow: bool = False) -> dict[str, Any]:
        if option not in ("RAW", "USER_ENTERED"):
            raise ApiError(400, "Invalid valueInputOption")
        sh, r1, c1, _r2, _c2 = self._resolve(book, rng)
        n_rows = len(values)
        n_cols = max((len(r) for r in values), default=0)
        if not grow and (r1 + n_rows - 1 > sh.row_count or c1 + n_cols - 1 > sh.col_count):
            raise ApiError(400, f"Range ({rng}) exceeds grid limits. Max rows: {sh.row_count}, max columns: {sh.col_count}")
        cells = 0
        for i, row in enumerate(values):
            for j, v in enumerate(row):
                if v is None:
                    continue  # null leaves the cell as it is
                if isinstance(v, str) and len(v) > 50000:
                    raise ApiError(400, "Your input contains more than the maximum of 50000 characters in a single cell.")
                sh.set(r1 + i, c1 + j, _user_entered(v) if option == "USER_ENTERED" else v)
                cells += 1
        sh.row_count = max(sh.row_count, r1 + n_rows - 1)
        return {
            "spreadsheetId": book.key,
            "updatedRange": f"{quote_title(sh.title)}!{col_letter(c1)}{r1}:{col_letter(c1 + max(n_cols, 1) - 1)}{r1 + max(n_rows, 1) - 1}",
            "updatedRows": n_rows,
            "updatedColumns": n_cols,
            "updatedCells": cells,
        }

    def _values_update(self, book: _Book, rng: str, req: Request, body: dict[str, Any]) -> dict[str, Any]:
        result = self._write(book, rng, body.get("values") or [], req.args.get("valueInputOption", ""))
        self._bump(book)
        return result

    def _values_batch_update(self, book: _Book, body: dict[str, Any]) -> dict[str, Any]:
        option = body.get("valueInputOption", "")
        # Validate every range first: a bad request changes nothing, as in the real API.
        for item in body.get("data", []):
            self._resolve(book, item["range"])
        responses = [self._write(book, item["range"], item.get("values") or [], option) for item in body.get("data", [])]
        if responses:
            self._bump(book)
        return {
            "spreadsheetId": book.key,
            "totalUpdatedCells": sum(r["updatedCells"] for r in responses),
            "responses": responses,
        }

    def _append(self, book: _Book, rng: str, req: Request, body: dict[str, Any]) -> dict[str, Any]:
        sh, _r1, c1, _r2, _c2 = self._resolve(book, rng)
        start = sh.last_row() + 1
        values = body.get("values") or []
        table = f"{quote_title(sh.title)}!A1:{col_letter(max(sh.col_count, 1))}{max(start - 1, 1)}"
        n_cols = max((len(r) for r in values), default=0)
        sh.col_count = max(sh.col_count, c1 + n_cols - 1)
        result = self._write(book, f"{quote_title(sh.title)}!{col_letter(c1)}{start}", values,
                             req.args.get("valueInputOption", ""), grow=True)
        self._bump(book)
        return {"spreadsheetId": book.key, "tableRange": table, "updates": result}

    def _batch_clear(self, book: _Book, body: dict[str, Any]) -> dict[str, Any]:
        cleared = []
        for rng in body.get("ranges", []):
            sh, r1, c1, r2, c2 = self._resolve(book, rng)
            for r in range(r1, min(r2, len(sh.rows)) + 1):
                for c in range(c1, min(c2, len(sh.rows[r - 1])) + 1):
                    sh.rows[r - 1][c - 1] = None
            cleared.append(rng)
        self._bump(book)
        return {"spreadsheetId": book.key, "clearedRanges": cleared}

    def _add_sheet(self, book: _Book, props: dict[str, Any]) -> _Sheet:
        title = props.get("title") or f"Sheet{book.next_sheet_id + 1}"
        if book.sheet(title) is not None:
            raise ApiError(400, f'Invalid requests[0].addSheet: A sheet with the name "{title}" already exists. Please enter another name.')
        grid = props.get("gridProperties") or {}
        sid = props.get("sheetId")
        if sid is None:
            sid = book.next_sheet_id
        book.next_sheet_id = max(book.next_sheet_id, sid) + 1
        sh = _Sheet(
            sheet_id=sid, title=title, index=len(book.sheets), row_count=int(grid.get("rowCount", 1000)),
            col_count=int(grid.get("columnCount", 26)), frozen=int(grid.get("frozenRowCount", 0)),
            hidden=bool(props.get("hidden", False)),
        )
        book.sheets.append(sh)
        return sh

    def _by_id(self, book: _Book, sid: Any) -> _Sheet:
        for s in book.sheets:
            if s.sheet_id == sid:
                return s
        raise ApiError(400, f"No grid with id: {sid}")

    def _batch_update(self, book: _Book, body: dict[str, Any]) -> dict[str, Any]:
        replies: list[dict[str, Any]] = []
        requests = body.get("requests") or []
        for req in requests:  # validate names first: unknown requests change nothing
            (name,) = req.keys()
            if name not in {"addSheet", "deleteSheet", "updateSheetProperties", "appendDimension", "setDataValidation",
                            "updateCells", "addProtectedRange", "deleteProtectedRange"} | FORMAT_REQUESTS:
                raise ApiError(400, f"Invalid JSON payload received. Unknown name \"{name}\"")
        for req in requests:
            ((name, spec),) = req.items()
            if name == "addSheet":
                sh = self._add_sheet(book, spec.get("properties") or {})
                replies.append({"addSheet": {"properties": sh.properties()}})
            elif name == "deleteSheet":
                sh = self._by_id(book, spec.get("sheetId"))
                book.sheets.remove(sh)
                replies.append({})
            elif name == "updateSheetProperties":
                props = spec.get("properties") or {}
                sh = self._by_id(book, props.get("sheetId"))
                grid = props.get("gridProperties") or {}
                if "title" in props:
                    sh.title = props["title"]
                if "frozenRowCount" in grid:
                    sh.frozen = int(grid["frozenRowCount"])
                if "rowCount" in grid:
                    sh.row_count = int(grid["rowCount"])
                if "columnCount" in grid:
                    sh.col_count = int(grid["columnCount"])
                if "hidden" in props:
                    sh.hidden = bool(props["hidden"])
                replies.append({})
            elif name == "appendDimension":
                sh = self._by_id(book, spec.get("sheetId"))
                if spec.get("dimension") == "COLUMNS":
                    sh.col_count += int(spec.get("length", 0))
                else:
                    sh.row_count += int(spec.get("length", 0))
                replies.append({})
            elif name == "setDataValidation":
                rng = spec["range"]
                sh = self._by_id(book, rng.get("sheetId"))
                rule = spec.get("rule")
                for r in range(int(rng.get("startRowIndex", 0)), min(int(rng.get("endRowIndex", sh.row_count)), sh.row_count)):
                    for c in range(int(rng.get("startColumnIndex", 0)), int(rng.get("endColumnIndex", sh.col_count))):
                        if rule is None:
                            sh.validations.pop((r, c), None)
                        else:
                            sh.validations[(r, c)] = rule
                replies.append({})
            elif name == "updateCells":
                start = spec.get("start") or {}
                sh = self._by_id(book, start.get("sheetId"))
                r0, c0 = int(start.get("rowIndex", 0)), int(start.get("columnIndex", 0))
                for i, row in enumerate(spec.get("rows") or []):
                    for j, cell in enumerate(row.get("values") or []):
                        if "note" in cell:
                            if cell["note"]:
                                sh.notes[(r0 + i, c0 + j)] = cell["note"]
                            else:
                                sh.notes.pop((r0 + i, c0 + j), None)
                replies.append({})
            elif name == "addProtectedRange":
                pr = dict(spec.get("protectedRange") or {})
                sh = self._by_id(book, (pr.get("range") or {}).get("sheetId"))
                pr["protectedRangeId"] = book.protected_id
                book.protected_id += 1
                sh.protected.append(pr)
                replies.append({"addProtectedRange": {"protectedRange": pr}})
            elif name == "deleteProtectedRange":
                pid = spec.get("protectedRangeId")
                for s in book.sheets:
                    s.protected = [p for p in s.protected if p.get("protectedRangeId") != pid]
                replies.append({})
            else:
                replies.append({})
        if requests:
            self._bump(book)
        return {"spreadsheetId": book.key, "replies": replies}


def main() -> None:  # pragma: no cover - manual use: python -m mingxiao.sheetdb.fake_google
    fake = FakeGoogle()
    url = fake.start()
    key = fake.create_spreadsheet()
    print(f"fake Google Sheets on {url}  key={key}  (Ctrl-C to stop)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
