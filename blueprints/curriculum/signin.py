"""Import of a session's sign-in sheet (签到表, xlsx): read, check, write — no Flask here.

The flow (views/importer.py): upload → :func:`read_sheet` → :func:`analyse` against the
session's roster and the attendance rows now in the workbook → preview with row errors at
their cell addresses → on confirm, analyse again and :func:`write_rows`. Nothing is written
before the confirm. Rows are keyed by (session, trainee): a trainee already recorded for the
session is updated, never added twice, so importing the same file again writes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from filelock import FileLock
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from mingxiao.sheetdb.types import N_

from . import rules

HEADER_SCAN_ROWS = 10
MAX_DATA_ROWS = 1000
MAX_AGE = dt.timedelta(days=2)
IMPORTS_SUBFOLDER = "signin_imports"
UPLOAD_ID_RE = re.compile(r"^[0-9a-f]{32}$")

NEW = "new"
UPDATE = "update"
SAME = "same"
ERROR = "error"

# Header text (spaces and punctuation removed) → field.
HEADERS: dict[str, str] = {
    "学员编号": "trainee",
    "编号": "trainee",
    "姓名": "name",
    "学员姓名": "name",
    "出勤情况": "status",
    "出勤": "status",
    "签到": "status",
    "考勤": "status",
    "实到学时": "hours_attended",
    "请假事由": "leave_reason",
    "事由": "leave_reason",
    "请假审批": "leave_status",
    "备注": "note",
    "培训安排编号": "session",
}
STATUS_ALIASES = {
    "迟到": rules.PARTIAL,
    "早退": rules.PARTIAL,
    "迟到/早退": rules.PARTIAL,
    "√": rules.PRESENT,
}
WRITTEN_FIELDS = ("status", "hours_attended", "leave_reason", "leave_status", "note")


class SignInFileError(ValueError):
    """The file cannot be read as a sign-in sheet; ``template``/``params`` say why (Chinese)."""

    def __init__(self, template: str, **params: Any) -> None:
        super().__init__(template.format(**params))
        self.template = template
        self.params = params


@dataclass
class Problem:
    """A row error: where (``签到表!C5``), which column, and what to do (a msgid + params)."""

    address: str | None
    header: str | None
    template: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class SheetRows:
    """The data rows of the sheet: number → {field: raw value}, with header positions."""

    title: str
    header_row: int
    columns: dict[str, int]  # field → column number (1-based)
    headers: dict[str, str]  # field → header text as typed
    rows: list[tuple[int, dict[str, Any]]]
    ignored: list[str]


@dataclass
class ImportRow:
    number: int
    status: str  # NEW, UPDATE, SAME, ERROR
    trainee_id: str | None = None
    trainee_name: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    existing_id: str | None = None
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Analysis:
    sheet: SheetRows
    rows: list[ImportRow]
    missing_trainees: list[str]  # roster trainees not on the sheet (left as they are)

    @property
    def totals(self) -> dict[str, int]:
        out = {NEW: 0, UPDATE: 0, SAME: 0, ERROR: 0}
        for r in self.rows:
            out[r.status] += 1
        out["rows"] = len(self.rows)
        return out


def _norm(text: Any) -> str:
    return re.sub(r"[\s\u3000:：*（）()]", "", str(text or ""))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read_sheet(path: Path) -> SheetRows:
    """The first worksheet with a recognisable header row (学员编号 or 姓名, and 出勤情况)."""
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise SignInFileError(N_("无法读取这个文件，请确认是 Excel 工作簿（.xlsx）。")) from exc
    try:
        for ws in wb.worksheets:
            values = list(
                ws.iter_rows(values_only=True, max_row=HEADER_SCAN_ROWS + MAX_DATA_ROWS + 1)
            )
            for i, row in enumerate(values[:HEADER_SCAN_ROWS]):
                columns: dict[str, int] = {}
                headers: dict[str, str] = {}
                ignored: list[str] = []
                for j, cell in enumerate(row or ()):
                    key = HEADERS.get(_norm(cell))
                    if key and key not in columns:
                        columns[key] = j + 1
                        headers[key] = _text(cell)
                    elif _text(cell):
                        ignored.append(_text(cell))
                if "status" in columns and ({"trainee", "name"} & columns.keys()):
                    rows = []
                    for k, data in enumerate(values[i + 1 :], start=i + 2):
                        cells = {
                            f: (data[c - 1] if data and c - 1 < len(data) else None)
                            for f, c in columns.items()
                        }
                        if all(_text(v) == "" for v in cells.values()):
                            continue
                        rows.append((k, cells))
                    if len(rows) > MAX_DATA_ROWS:
                        raise SignInFileError(
                            N_("数据行太多（超过 {n} 行），签到表应是一次培训的名单。"),
                            n=MAX_DATA_ROWS,
                        )
                    return SheetRows(ws.title, i + 1, columns, headers, rows, ignored)
    finally:
        wb.close()
    raise SignInFileError(
        N_("没有找到表头：签到表的表头行应有“学员编号”或“姓名”，以及“出勤情况”。请检查后重新上传。")
    )


def _address(sheet: SheetRows, number: int, fld: str) -> str:
    col = sheet.columns.get(fld)
    return f"{sheet.title}!{get_column_letter(col)}{number}" if col else f"{sheet.title}!{number}"


def _same(a: Any, b: Any) -> bool:
    if a in (None, "") and b in (None, ""):
        return True
    if isinstance(a, (int, float, Decimal)) or isinstance(b, (int, float, Decimal)):
        return rules.dec(a) == rules.dec(b)
    return _text(a) == _text(b)


def analyse(
    sheet: SheetRows,
    *,
    session: Mapping[str, Any],
    trainees: Iterable[Mapping[str, Any]],
    attendance: Iterable[Mapping[str, Any]],
) -> Analysis:
    """Check every row against the session's roster and what the workbook holds now."""
    roster = {str(t.get("id")): t for t in trainees}
    by_name: dict[str, list[str]] = {}
    for tid, t in roster.items():
        by_name.setdefault(_norm(t.get("name")), []).append(tid)
    sid = str(session.get("id"))
    existing = {tid: row for (s, tid), row in rules.latest_rows(attendance).items() if s == sid}
    session_hours = rules.dec(session.get("hours"))
    seen: dict[str, int] = {}
    out: list[ImportRow] = []
    for number, cells in sheet.rows:
        row = ImportRow(number=number, status=ERROR)
        out.append(row)

        def problem(
            fld: str | None, template: str, r: ImportRow = row, n: int = number, **params: Any
        ) -> None:
            r.problems.append(
                Problem(
                    _address(sheet, n, fld) if fld else f"{sheet.title}!{n}",
                    sheet.headers.get(fld or "", None),
                    template,
                    params,
                )
            )

        # which trainee
        tid = _text(cells.get("trainee")).upper()
        name = _text(cells.get("name"))
        if tid:
            if tid not in roster:
                problem("trainee", N_("学员编号“{value}”不是本期学员。"), value=tid)
                tid = ""
            elif name and _norm(name) != _norm(roster[tid].get("name")):
                problem(
                    "name",
                    N_("姓名“{value}”与学员编号 {id} 的姓名“{expected}”不一致。"),
                    value=name,
                    id=tid,
                    expected=roster[tid].get("name"),
                )
                tid = ""
        elif name:
            found = by_name.get(_norm(name), [])
            if not found:
                problem(
                    "name", N_("本期学员中没有“{value}”，请核对姓名或填写学员编号。"), value=name
                )
            elif len(found) > 1:
                problem(
                    "name",
                    N_("本期有 {n} 位学员叫“{value}”，请填写学员编号区分。"),
                    n=len(found),
                    value=name,
                )
            else:
                tid = found[0]
        else:
            problem(
                "trainee" if "trainee" in sheet.columns else "name", N_("请填写学员编号或姓名。")
            )
        if tid:
            row.trainee_id = tid
            row.trainee_name = _text(roster[tid].get("name"))
            if tid in seen:
                problem(
                    None, N_("这位学员在第 {n} 行已出现过，同一次培训每人只能有一行。"), n=seen[tid]
                )
            seen.setdefault(tid, number)
        given_session = _text(cells.get("session")).upper()
        if given_session and given_session != sid:
            problem(
                "session",
                N_("培训安排编号“{value}”不是本次培训（{id}）。"),
                value=given_session,
                id=sid,
            )

        # status and hours
        status = _text(cells.get("status"))
        status = STATUS_ALIASES.get(status, status)
        if status not in rules.STATUSES:
            problem(
                "status",
                N_("出勤情况“{value}”无法识别，请填写出勤、迟到早退、请假或缺勤。"),
                value=status,
            )
        hours_cell = cells.get("hours_attended")
        hours: Decimal | None = None
        if _text(hours_cell):
            try:
                hours = Decimal(_text(hours_cell))
                if not hours.is_finite():
                    raise InvalidOperation
            except (InvalidOperation, ValueError):
                problem(
                    "hours_attended", N_("实到学时“{value}”不是数字。"), value=_text(hours_cell)
                )
                hours = None
            else:
                if hours < 0 or hours > session_hours:
                    problem(
                        "hours_attended",
                        N_("实到学时应在 0 到本次学时 {hours} 之间。"),
                        hours=session_hours,
                    )
        values: dict[str, Any] = {"status": status}
        if status == rules.PRESENT:
            values["hours_attended"] = hours if hours is not None else session_hours
        elif status == rules.PARTIAL:
            if hours is None and not _text(hours_cell):
                problem(
                    "hours_attended" if "hours_attended" in sheet.columns else "status",
                    N_("迟到早退请填写实到学时。"),
                )
            elif hours is not None and not (0 < hours < session_hours):
                problem("hours_attended", N_("迟到早退的实到学时应大于 0、小于本次学时。"))
            values["hours_attended"] = hours
        elif status in (rules.LEAVE, rules.ABSENT):
            values["hours_attended"] = hours if hours is not None else Decimal(0)
        leave_status = _text(cells.get("leave_status"))
        if status == rules.LEAVE:
            if leave_status and leave_status not in (rules.PENDING, rules.APPROVED, rules.REFUSED):
                problem(
                    "leave_status",
                    N_("请假审批“{value}”无法识别，请填写待审批、已批准或已拒绝。"),
                    value=leave_status,
                )
            prior = existing.get(tid) if tid else None
            values["leave_status"] = (
                leave_status or (prior.get("leave_status") if prior else None) or rules.APPROVED
            )
        if _text(cells.get("leave_reason")):
            values["leave_reason"] = _text(cells.get("leave_reason"))
        if _text(cells.get("note")):
            values["note"] = _text(cells.get("note"))[:200]
        row.values = values

        if row.problems:
            continue
        prior = existing.get(tid)
        if prior is None:
            row.status = NEW
        else:
            row.existing_id = str(prior.get("id") or "") or None
            changed = any(not _same(prior.get(k), v) for k, v in values.items())
            row.status = UPDATE if changed else SAME
    missing = [tid for tid in roster if tid not in seen]
    return Analysis(sheet, out, missing)


def write_rows(table: Any, analysis: Analysis, *, session_id: str, user: str) -> dict[str, int]:
    """Insert the new rows and update the changed ones; returns counts ``{new, update, parked}``.

    Updates use the row as the analysis read it as their base, so a cell someone changed in
    the workbook meanwhile is parked as a conflict instead of being overwritten.
    """
    counts = {NEW: 0, UPDATE: 0, "parked": 0}
    new = [
        {"session": session_id, "trainee": r.trainee_id, "recorded_by": user, **r.values}
        for r in analysis.rows
        if r.status == NEW
    ]
    if new:
        table.insert_many(new, user=user)
        counts[NEW] = len(new)
    for r in analysis.rows:
        if r.status != UPDATE or not r.existing_id:
            continue
        current = table.get(r.existing_id)
        if current is None:
            continue
        base = {k: current.get(k) for k in r.values}
        result = table.update(
            r.existing_id,
            {**r.values, "recorded_by": user},
            base={**base, "recorded_by": current.get("recorded_by")},
            user=user,
        )
        if result.status == "parked":
            counts["parked"] += 1
        elif result.status == "pending":
            counts[UPDATE] += 1
    return counts


# --------------------------------------------------------------------------- upload state


def imports_folder(upload_folder: str | Path) -> Path:
    """Where sign-in sheets wait for their confirm: a folder of their own."""
    path = Path(upload_folder) / IMPORTS_SUBFOLDER
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _state_path(folder: Path, upload_id: str) -> Path:
    if not UPLOAD_ID_RE.match(upload_id or ""):
        raise ValueError(upload_id)
    return folder / f"{upload_id}.json"


def upload_lock(folder: Path, upload_id: str) -> FileLock:
    """Held by one confirm of ``upload_id`` at a time (a double click writes once)."""
    return FileLock(str(_state_path(folder, upload_id).with_suffix(".lock")), timeout=60)


def save_state(folder: Path, upload_id: str, state: Mapping[str, Any]) -> None:
    target = _state_path(folder, upload_id)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".state-", suffix=".part")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(state, out, ensure_ascii=False)
    os.replace(tmp, target)


def start_import(
    folder: Path,
    stored_name: str,
    *,
    original_name: str,
    owner: str,
    session_id: str,
    now: dt.datetime,
) -> str:
    """Record a stored upload (``<32 hex>.xlsx``) as an import of ``session_id``; its id."""
    upload_id = stored_name.partition(".")[0]
    save_state(
        folder,
        upload_id,
        {
            "file": stored_name,
            "original_name": original_name,
            "owner": owner,
            "session": session_id,
            "created_at": now.isoformat(),
            "finished": False,
        },
    )
    return upload_id


def load_state(folder: Path, upload_id: str) -> dict[str, Any] | None:
    """The state of upload ``upload_id``, or None (unknown id, or not an id at all)."""
    if not UPLOAD_ID_RE.match(upload_id or ""):
        return None
    try:
        data = json.loads(_state_path(folder, upload_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def expired(state: Mapping[str, Any], now: dt.datetime) -> bool:
    try:
        made = dt.datetime.fromisoformat(str(state.get("created_at")))
    except ValueError:
        return True
    return now - made > MAX_AGE


def remove_import(folder: Path, upload_id: str) -> None:
    """Delete an import: its file, state and lock."""
    state = load_state(folder, upload_id)
    if state is not None:
        name = str(state.get("file") or "")
        if UPLOAD_ID_RE.match(name.partition(".")[0]):
            (folder / name).unlink(missing_ok=True)
    path = _state_path(folder, upload_id)
    path.unlink(missing_ok=True)
    path.with_suffix(".lock").unlink(missing_ok=True)
