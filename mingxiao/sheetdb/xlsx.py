"""The xlsx backend: one local (or shared-drive) ``.xlsx`` workbook as the database.

Reads use python-calamine on an in-memory copy of the file (fast: about a second for 50k rows),
plus a cheap streaming scan of the sheet XML for formula cells. Writes use openpyxl, always
under :meth:`XlsxBackend.lock` (a sidecar ``<name>.xlsx.lock`` file lock shared by every
process), and are saved atomically: a temp file in the same folder, ``fsync``, ``os.replace``,
``fsync`` of the folder. A write never happens while an Office/WPS/LibreOffice owner file says
a person has the workbook open (:class:`WriteBlocked`), and never when the file changed
underneath the write (someone saved it from Excel in the meantime).

Every failure to open or save the file surfaces as :class:`WorkbookError` with a Chinese
message naming the file and what to do; the original workbook is left untouched.

Known openpyxl limits (documented for the operators): pictures and charts that people add to
the workbook are dropped on the first write; data validations that Excel stores as
extensions (lists pointing at other sheets created by newer Excel) may be simplified.
"""

from __future__ import annotations

import errno
import io
import math
import os
import posixpath
import re
import shutil
import stat
import tempfile
import time
import zipfile
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from copy import copy
from datetime import UTC, date, datetime
from datetime import time as dt_time
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from filelock import FileLock
from filelock import Timeout as LockTimeout
from lxml import etree
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import MergedCell
from openpyxl.comments import Comment
from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
from openpyxl.packaging.relationship import RelationshipList
from openpyxl.styles import Alignment, Font, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._writer import WorksheetWriter
from openpyxl.worksheet.cell_range import CellRange
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.dimensions import ColumnDimension
from openpyxl.writer.excel import ExcelWriter
from python_calamine import CalamineWorkbook, SheetTypeEnum

from .backend import (
    ApplyResult,
    Batch,
    CellError,
    RawSheet,
    WorkbookError,
    WriteBlocked,
    WriteLock,
    is_formula_like,
)
from .schema import Column, SchemaSet, SheetSchema

__all__ = ["XlsxBackend"]

MISSING_VERSION: tuple[str] = ("missing",)  # version() of a workbook that does not exist
LISTS_TITLE = "_lists"  # hidden tab holding dropdown lists too long for an inline formula
MAX_ROW = 1_048_576
MAX_COL = 16_384
MAX_CELL_TEXT = 32_767  # Excel refuses longer cell text
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
TIME_FORMAT = "hh:mm:ss"
TEXT_FORMAT = "@"
# Column types whose column style is "Text" so that staff typing into Excel keep them as text.
TEXT_FORMAT_TYPES = frozenset({"id", "phone", "id_card", "ref"})
DEFAULT_WIDTH = 9.140625  # Excel's default column width (8.43 characters + padding)
COMMENT_AUTHOR = "名校长平台"
DV_ERROR = "请从下拉列表中选择；不在列表中的值会在系统健康检查中被标出。"

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_REL_ID_STRICT = "{http://purl.oclc.org/ooxml/officeDocument/relationships}id"
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
# XML 1.0 cannot carry these code points; openpyxl/lxml would fail the whole save on them.
_BAD_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# A cell start tag immediately followed by its formula child (<f> is the first child of <c>).
_NS = rb"(?:[A-Za-z_][\w.\-]*:)?"
_CELL_WITH_FORMULA = re.compile(rb"<" + _NS + rb"c\b([^>]*)>\s*<" + _NS + rb"f[\s>/]")
_CELL_REF = re.compile(rb"""\br\s*=\s*["']\$?([A-Za-z]{1,3})\$?(\d+)["']""")
# An error cell: <c r="B2" t="e"> with an optional formula, then <v>#DIV/0!</v>.
_ERROR_CELL = re.compile(
    rb"<" + _NS + rb"c\b([^>]*\bt\s*=\s*[\"']e[\"'][^>]*)>(?:\s*<" + _NS + rb"f\b[^>]*(?:/>|>.*?</" + _NS + rb"f>))?\s*<"
    + _NS + rb"v>([^<]*)</" + _NS + rb"v>",
    re.S,
)
_SCAN_CHUNK = 1 << 20
# (worksheet, sqref, inline list formula or None, name of the list in _lists or None)
_Dropdown = tuple[Any, str, str | None, str | None]
_SCAN_OVERLAP = 4096


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n


def _display_width(text: str) -> float:
    """Approximate width in Excel character units: CJK and full-width characters count double."""
    return sum(2.0 if ord(ch) > 0x2E7F else 1.0 for ch in text)


def _clean_text(value: str) -> str:
    if _BAD_XML_CHARS.search(value):
        value = _BAD_XML_CHARS.sub("", value)
    if len(value) > MAX_CELL_TEXT:
        value = value[:MAX_CELL_TEXT]
    return value


def _os_reason(exc: BaseException) -> str:
    code = getattr(exc, "errno", None)
    if code == errno.ENOSPC:
        return "磁盘空间不足"
    if code == errno.EDQUOT:
        return "磁盘配额已满"
    if code in (errno.EACCES, errno.EPERM):
        return "没有写入权限"
    if code == errno.EROFS:
        return "所在磁盘为只读"
    if code == errno.ENOENT:
        return "文件或文件夹不存在"
    return f"{type(exc).__name__}: {exc}"


class XlsxBackend:
    """The storage backend for one ``.xlsx`` file (see :class:`mingxiao.sheetdb.backend.Backend`)."""

    name = "xlsx"

    def __init__(self, path: str | Path, *, lock_timeout: float = 60.0, protect_ids: bool = True) -> None:
        """``protect_ids``: turn on sheet protection (id column locked) in :meth:`ensure_layout`.

        Excel cannot sort or delete rows that contain locked cells on a protected sheet, so
        a deployment whose staff sort whole rows by hand may prefer ``False``.
        """
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self.protect_ids = protect_ids
        # One reentrant lock object per backend: nested ``lock()`` in a thread never deadlocks,
        # and other threads/processes are excluded (filelock is thread-local by default).
        self._filelock = FileLock(str(self.path) + ".lock", timeout=lock_timeout)
        self._cache: tuple[Hashable, dict[str, RawSheet]] | None = None
        # The openpyxl workbook this process last saved, keyed by the file's token after that
        # save. Loading is ~2/3 of a write, so a burst of group commits skips it. Dropped on
        # any error, when the file moves, and by the engine after a quiet spell (memory).
        self._write_cache: tuple[Hashable, Any] | None = None

    def __repr__(self) -> str:
        return f"XlsxBackend({str(self.path)!r})"

    # ------------------------------------------------------------------ change token / lock

    def version(self) -> Hashable:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return MISSING_VERSION
        except OSError as exc:
            return ("error", exc.errno)
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self._filelock.acquire()
        except LockTimeout as exc:
            raise WriteBlocked(
                f"工作簿 {self.path.name} 正由另一个进程写入（等待锁文件 {self.path.name}.lock 超过 "
                f"{self.lock_timeout:g} 秒）：修改已保存在待同步队列中，稍后会自动写入。"
            ) from exc
        except OSError as exc:
            raise WorkbookError(
                f"无法创建锁文件 {self.path.name}.lock（{_os_reason(exc)}）：请检查文件夹 {self.path.parent} 的写入权限。"
            ) from exc
        try:
            yield
        finally:
            self._filelock.release()

    def lock(self) -> WriteLock:
        """The cross-process write lock: a reentrant ``filelock.FileLock`` on ``<name>.xlsx.lock``.

        ``acquire(timeout=0)`` does not block; ``acquire()`` waits up to ``lock_timeout`` seconds
        and raises ``filelock.Timeout``. The same object is returned every time, so nesting
        ``with backend.lock():`` in one thread (e.g. around :meth:`ensure_layout`) is safe.
        """
        # cast: WriteLock declares ``__exit__(*exc)``, FileLock's takes exactly three arguments.
        return cast(WriteLock, self._filelock)

    def blocked_reason(self) -> str | None:
        folder, name = self.path.parent, self.path.name
        stem = self.path.stem
        candidates: list[tuple[str, str]] = [("~$" + name, "Excel/WPS")]
        if len(stem) > 6:  # Office shortens the owner file name of long names
            candidates += [("~$" + name[1:], "Excel/WPS"), ("~$" + name[2:], "Excel/WPS")]
        candidates += [(".~lock." + name + "#", "LibreOffice"), (".~" + name, "WPS")]
        for owner, app in candidates:
            try:
                present = (folder / owner).exists()
            except OSError:
                present = False
            if present:
                return (
                    f"工作簿 {name} 正在被 {app} 打开（发现锁文件 {owner}）：请保存并关闭该文件，"
                    "网页上的修改已保存，会在文件关闭后自动写入。"
                    f"如果确认没有人打开它，请删除 {folder / owner}。"
                )
        return None

    # ------------------------------------------------------------------ reading

    def read_all(self) -> tuple[Hashable, dict[str, RawSheet]]:
        """Read every worksheet; see the protocol. Returns fresh copies (callers may mutate)."""
        for attempt in range(6):
            before = self.version()
            if before == MISSING_VERSION:
                raise WorkbookError(self._missing_message())
            if self._cache is not None and self._cache[0] == before:
                return before, _copy_sheets(self._cache[1])
            data = self._read_bytes()
            if self.version() != before:  # replaced while we read it: read again
                time.sleep(0.05 * (attempt + 1))
                continue
            sheets = self._parse(data)
            self._cache = (before, sheets)
            return before, _copy_sheets(sheets)
        raise WorkbookError(
            f"工作簿 {self.path.name} 在读取期间不断被修改（可能有程序正在反复保存它）：请稍后重试。"
        )

    def _missing_message(self) -> str:
        return (
            f"工作簿 {self.path} 不存在：请运行初始化（会自动创建工作簿），"
            "或从 instance/backups/ 恢复最近的备份。"
        )

    def _corrupt_message(self, detail: str = "") -> str:
        extra = f"（{detail}）" if detail else ""
        return (
            f"工作簿 {self.path.name} 已损坏或不是 .xlsx 文件{extra}：请用 Excel/WPS 打开后另存为 "
            ".xlsx，或从 instance/backups/ 恢复最近的备份。"
        )

    def _read_bytes(self) -> bytes:
        try:
            return self.path.read_bytes()
        except FileNotFoundError as exc:
            raise WorkbookError(self._missing_message()) from exc
        except IsADirectoryError as exc:
            raise WorkbookError(f"{self.path} 是一个文件夹，不是工作簿：请检查配置的工作簿路径。") from exc
        except OSError as exc:
            raise WorkbookError(
                f"无法读取工作簿 {self.path.name}（{_os_reason(exc)}）：请检查文件权限或共享盘连接。"
            ) from exc

    def _check_magic(self, data: bytes) -> None:
        if not data:
            raise WorkbookError(self._corrupt_message("文件为空，可能是保存时被中断"))
        if data.startswith(_OLE_MAGIC):
            raise WorkbookError(
                f"工作簿 {self.path.name} 不是 .xlsx 文件，而是旧版 .xls 或加了密码的工作簿：请用 Excel/WPS "
                "打开后去掉密码并另存为 .xlsx（Excel 工作簿），或从 instance/backups/ 恢复最近的备份。"
            )
        if not data.startswith(_ZIP_MAGIC):
            raise WorkbookError(self._corrupt_message("可能是改了扩展名的 .xls/.csv"))

    def _parse(self, data: bytes) -> dict[str, RawSheet]:
        self._check_magic(data)
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
            parts = _sheet_parts(zf)
        except WorkbookError:
            raise
        except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, etree.XMLSyntaxError, ValueError,
                OSError, EOFError, NotImplementedError) as exc:
            raise WorkbookError(self._corrupt_message("文件不完整，可能是复制或保存时被中断")) from exc
        if parts is None:
            raise WorkbookError(self._corrupt_message("压缩包里没有 Excel 工作簿，可能是改了扩展名的其他文件"))
        try:
            book = CalamineWorkbook.from_filelike(io.BytesIO(data))
            out: dict[str, RawSheet] = {}
            for meta in book.sheets_metadata:
                if meta.typ != SheetTypeEnum.WorkSheet:
                    continue
                sheet = book.get_sheet_by_name(meta.name)
                rows = _normalise_rows(sheet.to_python(skip_empty_area=False))
                merged = [
                    f"{get_column_letter(c0 + 1)}{r0 + 1}:{get_column_letter(c1 + 1)}{r1 + 1}"
                    for (r0, c0), (r1, c1) in (sheet.merged_cell_ranges or [])
                ]
                part = parts.get(meta.name)
                formulas = _scan_formulas(zf, part) if part else set()
                if part:
                    _mark_error_cells(zf, part, rows)
                out[meta.name] = RawSheet(meta.name, rows, formulas, merged)
            book.close()
        except WorkbookError:
            raise
        except BaseException as exc:  # calamine raises its own types and, on some inputs, pyo3 panics
            if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit | MemoryError):
                raise
            raise WorkbookError(self._corrupt_message("文件内容无法解析")) from exc
        return out

    # ------------------------------------------------------------------ writing

    def has_write_cache(self) -> bool:
        """True when this process holds the workbook as last saved (its next write is cheap)."""
        return self._write_cache is not None and self._write_cache[0] == self.version()

    def _sweep_temp_files(self, older_than: float = 600.0) -> None:
        """Remove temp files a killed writer left beside the workbook (call with the lock held)."""
        now = time.time()
        for tmp in self.path.parent.glob(f".{self.path.stem}.*.xlsx"):
            try:
                if now - tmp.stat().st_mtime > older_than:
                    tmp.unlink()
            except OSError:
                pass

    def warm_write_cache(self, *, full: bool = False) -> None:
        """Load the workbook for writing now (call with the lock held), so that operations
        acknowledged while it loads still make it into the coming save.

        ``full``: also serialise every tab once (into nothing), so that even the first save
        rewrites only the tabs it changes (the dedicated writer, at start: at demo scale 10
        the first save otherwise took 25 s, and the pause after it twice that)."""
        if not self.has_write_cache():
            self._write_cache = self._load_for_write()
        if full and self._write_cache is not None and getattr(self._write_cache[1], _SHEET_XML, None) is None:
            save_workbook(self._write_cache[1], io.BytesIO())

    def drop_write_cache(self) -> None:
        """Forget the cached openpyxl workbook (frees its memory)."""
        self._write_cache = None

    def _load_for_write(self) -> tuple[Hashable, Any]:
        """Load the workbook with openpyxl from a consistent snapshot; returns ``(token, wb)``."""
        cached, self._write_cache = self._write_cache, None  # taken: a failed write must not reuse it
        if cached is not None and cached[0] == self.version():
            return cached
        for attempt in range(6):
            before = self.version()
            if before == MISSING_VERSION:
                raise WorkbookError(self._missing_message())
            data = self._read_bytes()
            if self.version() != before:
                time.sleep(0.05 * (attempt + 1))
                continue
            self._check_magic(data)
            try:
                wb = load_workbook(io.BytesIO(data))
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit | MemoryError):
                    raise
                raise WorkbookError(self._corrupt_message("openpyxl 无法打开")) from exc
            return before, wb
        raise WorkbookError(
            f"工作簿 {self.path.name} 在读取期间不断被修改（可能有程序正在反复保存它）：请稍后重试。"
        )

    def _save_atomic(
        self,
        wb: Any,
        expect: Hashable | None,
        *,
        dirty: Iterable[str] | None = None,
        announce: Callable[[Hashable], None] | None = None,
    ) -> Hashable:
        """Save ``wb`` over the workbook atomically; the original stays intact on any failure.

        ``expect``: the change token the workbook had when it was loaded; if the file moved
        since (a person saved it from Excel), nothing is written and :class:`WriteBlocked`
        is raised so that the operations stay pending and are merged again.
        ``dirty``: the tabs changed since ``wb`` was last saved (None: any; see
        :func:`save_workbook`).
        """
        folder = self.path.parent
        tmp_name: str | None = None
        try:
            try:
                mode = stat.S_IMODE(os.stat(self.path).st_mode)
            except FileNotFoundError:
                mode = None
            with tempfile.NamedTemporaryFile(
                dir=folder, prefix=f".{self.path.stem}.", suffix=".xlsx", delete=False
            ) as tmp:
                tmp_name = tmp.name
                save_workbook(wb, tmp, dirty=dirty)
                tmp.flush()
                os.fsync(tmp.fileno())
            if mode is not None:
                try:
                    os.chmod(tmp_name, mode)
                except OSError:
                    pass
            # The token of what we wrote, taken before the rename (which keeps mtime, size and
            # inode): a person saving right after our replace must show up as a new version.
            st = os.stat(tmp_name)
            written: Hashable = (st.st_mtime_ns, st.st_size, st.st_ino)
            if expect is not None and self.version() != expect:
                raise WriteBlocked(
                    f"工作簿 {self.path.name} 在本次写入期间被其他人修改并保存：修改仍在待同步队列中，"
                    "会重新合并后再写入。"
                )
            if announce is not None:
                announce(written)  # before the rename: a reader never sees an unannounced version
            os.replace(tmp_name, self.path)
            tmp_name = None
        except WriteBlocked:
            raise
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit):
                raise
            if os.name == "nt" and isinstance(exc, PermissionError):
                raise WriteBlocked(
                    f"工作簿 {self.path.name} 正被其他程序占用，暂时无法替换：修改已保存在待同步队列中，稍后会自动写入。"
                ) from exc
            reason = _os_reason(exc) if isinstance(exc, OSError) else f"{type(exc).__name__}: {exc}"
            raise WorkbookError(
                f"保存工作簿 {self.path.name} 失败（{reason}）：原文件未被改动，修改仍在待同步队列中；"
                f"请检查文件夹 {folder} 的磁盘空间和写入权限。"
            ) from exc
        finally:
            if tmp_name is not None:
                try:
                    os.unlink(tmp_name)
                except OSError:
                    pass
        _fsync_dir(folder)  # best effort: the replace already happened, never report it as failed
        return written

    def apply(self, batch: Batch, *, announce: Callable[[Hashable], None] | None = None) -> ApplyResult:
        """Write ``batch`` in one atomic save. Call with :meth:`lock` held.

        Raises :class:`WriteBlocked` (nothing written) when a person has the workbook open or
        the file changed during the write, :class:`WorkbookError` when it cannot be opened or
        saved (the original file is then untouched).
        """
        if len(batch) == 0:
            return ApplyResult(version=self.version())
        reason = self.blocked_reason()
        if reason:
            raise WriteBlocked(reason)
        self._sweep_temp_files()
        token, wb = self._load_for_write()
        try:
            missing, touched = _apply_batch(wb, batch)
        except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
            raise WorkbookError(
                f"无法把修改写入工作簿 {self.path.name}（{type(exc).__name__}: {exc}）：原文件未被改动，"
                "修改仍在待同步队列中；请把这条信息告诉管理员。"
            ) from exc
        # Rows not found: what the engine planned differs from the file; readers re-read.
        version = self._save_atomic(wb, expect=token, dirty=touched, announce=None if missing else announce)
        self._write_cache = (version, wb)
        return ApplyResult(version=version, missing=missing)

    # ------------------------------------------------------------------ layout

    def ensure_layout(self, schemas: SchemaSet, choices: dict[str, tuple[str, ...]]) -> None:
        """Create the workbook/tabs/headers and their dropdowns, notes and id protection.

        ``choices`` maps a named choice list (as used in ``Column.choices``) to its current
        values and overrides the schema's static lists. Idempotent: the workbook is only
        saved when something actually changed. Raises :class:`WriteBlocked` when a change is
        needed but a person has the workbook open.
        """
        with self._locked():
            created = not self.path.exists()
            token: Hashable | None
            if created:
                wb = Workbook()
                token = None
                if len(list(schemas)) > 0:
                    wb.remove(wb.active)
            else:
                token, wb = self._load_for_write()
            changed = created
            lists: dict[str, tuple[str, ...]] = {}
            dropdowns: list[_Dropdown] = []
            for sch in schemas:
                changed |= self._layout_sheet(wb, sch, schemas, choices, lists, dropdowns)
            if lists:
                changed |= _layout_lists(wb, lists)
            changed |= self._layout_validations(dropdowns, lists)
            if not changed:
                return
            if not created:
                reason = self.blocked_reason()
                if reason:
                    raise WriteBlocked(reason)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._save_atomic(wb, expect=token)

    def _layout_sheet(
        self,
        wb: Any,
        sch: SheetSchema,
        schemas: SchemaSet,
        choices: dict[str, tuple[str, ...]],
        lists: dict[str, tuple[str, ...]],
        dropdowns: list[_Dropdown],
    ) -> bool:
        changed = False
        new_tab = sch.title not in wb.sheetnames
        if new_tab:
            ws = wb.create_sheet(sch.title)
            changed = True
        else:
            ws = wb[sch.title]
        headers = _header_map(ws)
        used_cols = _last_used_column(ws)
        new_cols: set[int] = set()
        for col in sch.columns:
            if col.header not in headers:
                used_cols += 1
                headers[col.header] = used_cols
                new_cols.add(used_cols)
                ws.cell(row=1, column=used_cols).value = _clean_text(col.header)
                changed = True
        n_cols = max(headers.values()) if headers else 0
        n_cols = max(n_cols, used_cols)
        changed |= _split_column_dimensions(ws, n_cols)
        id_col = headers.get(sch.column("id").header) if "id" in sch.keys else None

        # Column styles: what a cell typed by hand in that column gets (locked id, text formats).
        for col in sch.columns:
            idx = headers[col.header]
            letter = get_column_letter(idx)
            cd = _column_dimension(ws, idx, _column_width(col))
            if idx in new_cols:
                cd.width = _column_width(col)
                changed = True
            changed |= _style_column(cd, col, locked=(idx == id_col))
            header_cell = ws.cell(row=1, column=idx)
            changed |= _style_header(header_cell)
            text = _comment_text(col)
            if text and (header_cell.comment is None or header_cell.comment.text != text):
                comment = Comment(text, COMMENT_AUTHOR)
                comment.width = 240
                comment.height = 40 + 18 * math.ceil(_display_width(text) / 26)
                header_cell.comment = comment
                changed = True
            if col.type == "enum":
                values = self._choices(sch, col, schemas, choices)
                if values:
                    inline = _inline_list(values)
                    list_name = None
                    if inline is None:  # too long for a formula: goes into the hidden _lists tab
                        list_name = col.choices if isinstance(col.choices, str) else f"{sch.key}.{col.key}"
                        lists[list_name] = values
                    dropdowns.append((ws, f"{letter}2:{letter}{MAX_ROW}", inline, list_name))
        # People's own columns (between or right of the schema's) stay editable.
        schema_idx = {headers[c.header] for c in sch.columns}
        for idx in range(1, n_cols + 1):
            if idx not in schema_idx:
                cd = _column_dimension(ws, idx, DEFAULT_WIDTH)
                if cd.protection.locked:
                    cd.protection = Protection(locked=False)
                    changed = True
        changed |= _unlock_rest(ws, n_cols)
        if not new_tab:
            changed |= _sweep_cell_protection(ws, id_col, schema_idx)
        if ws.freeze_panes is None:
            ws.freeze_panes = "A2"
            changed = True
        if ws.auto_filter.ref is None:
            last_row = max(_last_used_row(ws), 1)
            ws.auto_filter.ref = f"A1:{get_column_letter(max(n_cols, 1))}{last_row}"
            changed = True
        if self.protect_ids:
            changed |= _protect_sheet(ws)
        return changed

    @staticmethod
    def _choices(
        sch: SheetSchema, col: Column, schemas: SchemaSet, choices: dict[str, tuple[str, ...]]
    ) -> tuple[str, ...]:
        if isinstance(col.choices, str) and col.choices in choices:
            return tuple(choices[col.choices])
        return tuple(schemas.choices_for(col))

    @staticmethod
    def _layout_validations(dropdowns: list[_Dropdown], lists: dict[str, tuple[str, ...]]) -> bool:
        changed = False
        order = sorted(lists)  # the column of each list in _lists (see _layout_lists)
        for ws, sqref, inline, list_name in dropdowns:
            if list_name is not None:
                letter = get_column_letter(order.index(list_name) + 1)
                formula = f"'{LISTS_TITLE}'!${letter}$2:${letter}${len(lists[list_name]) + 1}"
            else:
                formula = inline or '""'
            changed |= _set_list_validation(ws, sqref, formula)
        return changed

    # ------------------------------------------------------------------ backups

    def backup_to(self, dest: Path) -> None:
        """Copy the workbook to ``dest`` (temp file + rename; a consistent snapshot)."""
        dest = Path(dest)
        for attempt in range(6):
            before = self.version()
            if before == MISSING_VERSION:
                raise WorkbookError(self._missing_message())
            tmp_name: str | None = None
            try:
                dest.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.stem}.", suffix=".xlsx")
                os.close(fd)
                shutil.copy2(self.path, tmp_name)
                if self.version() != before:
                    time.sleep(0.05 * (attempt + 1))
                    continue
                os.replace(tmp_name, dest)
                tmp_name = None
                return
            except OSError as exc:
                raise WorkbookError(
                    f"备份工作簿 {self.path.name} 到 {dest} 失败（{_os_reason(exc)}）：请检查备份文件夹的磁盘空间和权限。"
                ) from exc
            finally:
                if tmp_name is not None:
                    try:
                        os.unlink(tmp_name)
                    except OSError:
                        pass
        raise WorkbookError(f"工作簿 {self.path.name} 在备份期间不断被修改：请稍后重试。")


# ---------------------------------------------------------------------- read helpers


def _copy_sheets(sheets: dict[str, RawSheet]) -> dict[str, RawSheet]:
    return {
        title: RawSheet(s.title, [list(r) for r in s.rows], set(s.formulas), list(s.merged))
        for title, s in sheets.items()
    }


def _normalise_rows(rows: list[list[Any]]) -> list[list[Any]]:
    """calamine's ``""`` for empty cells → ``None``; integral floats → ``int``; drop trailing blank rows."""
    out = [
        [
            None if v == "" else (int(v) if v.__class__ is float and v.is_integer() else v)
            for v in row
        ]
        for row in rows
    ]
    while out and all(v is None for v in out[-1]):
        out.pop()
    return out


def _sheet_parts(zf: zipfile.ZipFile) -> dict[str, str] | None:
    """Map worksheet title → its XML part name; ``None`` when the zip holds no workbook."""
    names = set(zf.namelist())
    if "_rels/.rels" not in names:
        return None
    root = etree.fromstring(zf.read("_rels/.rels"), parser=_XML_PARSER)
    wb_part = None
    for rel in root.iter("{*}Relationship"):
        if (rel.get("Type") or "").endswith("/officeDocument"):
            wb_part = (rel.get("Target") or "").lstrip("/")
            break
    if not wb_part or wb_part not in names:
        return None
    wb_root = etree.fromstring(zf.read(wb_part), parser=_XML_PARSER)
    if etree.QName(wb_root).localname != "workbook":
        return None
    base = posixpath.dirname(wb_part)
    rels_name = posixpath.join(base, "_rels", posixpath.basename(wb_part) + ".rels")
    targets: dict[str, str] = {}
    if rels_name in names:
        for rel in etree.fromstring(zf.read(rels_name), parser=_XML_PARSER).iter("{*}Relationship"):
            target = rel.get("Target") or ""
            part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
            targets[rel.get("Id") or ""] = part
    parts: dict[str, str] = {}
    for sheet in wb_root.iter("{*}sheet"):
        rid = sheet.get(_REL_ID) or sheet.get(_REL_ID_STRICT)
        name = sheet.get("name")
        if name is not None and rid in targets and targets[rid] in names:
            parts[name] = targets[rid]
    return parts


def _mark_error_cells(zf: zipfile.ZipFile, part: str, rows: list[list[Any]]) -> None:
    """calamine reads error cells (#DIV/0!, #N/A…) as empty: put the error text back so the
    health check can report the cell instead of silently treating it as blank."""
    with zf.open(part) as fh:
        data = fh.read()
    if b't="e"' not in data and b"t='e'" not in data:
        return
    for m in _ERROR_CELL.finditer(data):
        ref = _CELL_REF.search(m.group(1))
        if ref is None:
            continue
        r, c = int(ref.group(2)) - 1, _col_index(ref.group(1).decode("ascii")) - 1
        while len(rows) <= r:
            rows.append([])
        row = rows[r]
        if len(row) <= c:
            row.extend([None] * (c + 1 - len(row)))
        if row[c] is None:
            row[c] = CellError(m.group(2).decode("utf-8", "replace"))


def _scan_formulas(zf: zipfile.ZipFile, part: str) -> set[tuple[int, int]]:
    """Sheet (row, col) of every formula cell, by streaming the part's XML (no DOM)."""
    found: set[tuple[int, int]] = set()
    need_full_parse = False
    with zf.open(part) as fh:
        tail = b""
        while True:
            chunk = fh.read(_SCAN_CHUNK)
            if not chunk:
                break
            buf = tail + chunk
            if b"<f" in buf or b":f" in buf:
                for m in _CELL_WITH_FORMULA.finditer(buf):
                    ref = _CELL_REF.search(m.group(1))
                    if ref is None:
                        need_full_parse = True
                        break
                    found.add((int(ref.group(2)), _col_index(ref.group(1).decode("ascii"))))
            if need_full_parse:
                break
            tail = buf[-_SCAN_OVERLAP:]
    if need_full_parse:  # cells without r="A1" addresses: count positions with a real parser
        found = _scan_formulas_slow(zf, part)
    return found


def _scan_formulas_slow(zf: zipfile.ZipFile, part: str) -> set[tuple[int, int]]:
    found: set[tuple[int, int]] = set()
    row_no = 0
    col_no = 0
    with zf.open(part) as fh:
        for event, el in etree.iterparse(fh, events=("start", "end"), resolve_entities=False, no_network=True, huge_tree=True):
            tag = etree.QName(el).localname
            if event == "start" and tag == "row":
                r = el.get("r")
                row_no = int(r) if r and r.isdigit() else row_no + 1
                col_no = 0
            elif event == "start" and tag == "c":
                ref = el.get("r")
                m = re.match(r"\$?([A-Za-z]{1,3})\$?(\d+)$", ref or "")
                col_no = _col_index(m.group(1)) if m else col_no + 1
            elif event == "end" and tag == "f":
                found.add((row_no, col_no))
            elif event == "end" and tag == "row":
                el.clear()
    return found


# ---------------------------------------------------------------------- write helpers


def _apply_batch(wb: Any, batch: Batch) -> tuple[list[tuple[str, str]], list[str]]:
    """Apply ``batch`` to the loaded openpyxl workbook; returns (the update targets not found,
    the titles of the tabs it may have changed)."""
    missing: list[tuple[str, str]] = []
    titles: list[str] = []
    for title in [a[0] for a in batch.assign_ids] + [u[0] for u in batch.updates] + [a[0] for a in batch.appends]:
        if title not in titles:
            titles.append(title)
    for title in titles:
        appends = [values for t, values in batch.appends if t == title]
        updates = [(rid, values) for t, rid, values in batch.updates if t == title]
        assigns = [(row, new_id) for t, row, new_id in batch.assign_ids if t == title]
        if title in wb.sheetnames:
            ws = wb[title]
        elif appends:
            ws = wb.create_sheet(title)
        else:
            missing.extend((title, rid) for rid, _values in updates)
            continue
        tab = _Tab(ws, batch.id_header)
        for row, new_id in assigns:
            if row < 2:
                continue
            col = tab.column(batch.id_header)
            if _is_empty(ws.cell(row=row, column=col).value):
                tab.write(row, col, new_id)
                tab.ids.setdefault(str(new_id).strip(), row)
                tab.last_row = max(tab.last_row, row)
        for rid, values in updates:
            found = tab.ids.get(str(rid).strip()) if tab.id_col else None
            if found is None:
                missing.append((title, rid))
                continue
            for header, value in values.items():
                tab.write(found, tab.column(header), value)
        for values in appends:
            tab.column(batch.id_header)
            row = tab.last_row + 1
            for header, value in values.items():
                col = tab.column(header)
                if value is not None:
                    tab.write(row, col, value)
            tab.last_row = row
            appended_id = values.get(batch.id_header)
            if appended_id is not None:
                tab.ids.setdefault(str(appended_id).strip(), row)
        tab.extend_autofilter()
    return missing, titles


# ---------------------------------------------------------------------- saving

# Where save_workbook keeps, on the openpyxl Workbook object itself, each tab's XML as last
# written (so a workbook loaded afresh starts with nothing to reuse).
_SHEET_XML = "_mingxiao_sheet_xml"


class _ReusingWriter(ExcelWriter):
    """openpyxl's writer, except that a tab not changed since this workbook object was last
    saved is written from the XML of that save instead of being serialised cell by cell.

    Serialising every cell of every tab was the whole cost of a save: 12–28 s of CPU at demo
    scale 10 (178k rows) for a group commit that changed one nomination. Only the parts
    openpyxl derives from a tab while writing it are carried over (its XML, its relationship
    list, its comments and hyperlinks); comment parts, drawings, styles and the workbook part
    are written as openpyxl always does. A tab's XML refers to styles by their index in the
    workbook's style list, which only grows for the life of the object, so reused XML stays
    valid.
    """

    def __init__(self, workbook: Any, archive: zipfile.ZipFile, dirty: set[str] | None) -> None:
        super().__init__(workbook, archive)
        cache = getattr(workbook, _SHEET_XML, None)
        if cache is None or dirty is None:
            cache = {}
            setattr(workbook, _SHEET_XML, cache)
        for title in dirty or ():
            cache.pop(title, None)
        self._xml_cache: dict[str, tuple[bytes, Any, list[Any], list[Any]]] = cache

    def write_worksheet(self, ws: Any) -> None:
        ws._drawing = SpreadsheetDrawing()
        ws._drawing.charts = ws._charts
        ws._drawing.images = ws._images
        hit = self._xml_cache.get(ws.title)
        if hit is not None and not ws._charts and not ws._images:
            xml, rels, comments, hyperlinks = hit
            ws._rels = _copy_rels(rels)
            ws._comments = list(comments)
            ws._hyperlinks = list(hyperlinks)
            self._archive.writestr(ws.path[1:], xml, compresslevel=1)
            self.manifest.append(ws)
            return
        writer = WorksheetWriter(ws)
        writer.write()
        ws._rels = writer._rels
        xml = writer.read()
        self._archive.writestr(ws.path[1:], xml)
        self.manifest.append(ws)
        writer.cleanup()
        self._xml_cache[ws.title] = (xml, _copy_rels(writer._rels), list(ws._comments), list(ws._hyperlinks))


def _copy_rels(rels: Any) -> Any:
    """A new relationship list with the same entries (the writer appends to a tab's list)."""
    out = RelationshipList()
    for rel in rels:
        out.append(rel)
    return out


def save_workbook(wb: Any, target: Any, *, dirty: Iterable[str] | None = None) -> None:
    """``wb.save(target)``, reusing the XML of tabs not in ``dirty`` from this object's last
    save (``dirty=None``: write every tab). The caller names every tab it changed."""
    archive = zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
    wb.properties.modified = datetime.now(tz=UTC).replace(tzinfo=None)  # as openpyxl does
    writer = _ReusingWriter(wb, archive, None if dirty is None else set(dirty))
    try:
        writer.save()
    except BaseException:
        setattr(wb, _SHEET_XML, None)  # half written: never reuse any of it
        archive.close()
        raise


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _fsync_dir(folder: Path) -> None:
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(folder, flags)
    except OSError:
        return  # e.g. Windows: directories cannot be opened
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _header_map(ws: Any) -> dict[str, int]:
    headers: dict[str, int] = {}
    for (row, col), cell in list(ws._cells.items()):
        if row == 1 and not _is_empty(cell.value):
            headers.setdefault(str(cell.value).strip(), col)
    return dict(sorted(headers.items(), key=lambda kv: kv[1]))


def _last_used_column(ws: Any) -> int:
    last = 0
    for (_row, col), cell in ws._cells.items():
        if col > last and not _is_empty(cell.value):
            last = col
    return last


def _last_used_row(ws: Any) -> int:
    last = 0
    for (row, _col), cell in ws._cells.items():
        if row > last and not _is_empty(cell.value):
            last = row
    return last


class _ColumnStyles:
    """Finds the column style (``<col>`` ranges) a new cell inherits, like Excel does."""

    def __init__(self, ws: Any) -> None:
        self.ranges: list[tuple[int, int, Any]] = []
        for key, cd in ws.column_dimensions.items():
            if not cd.has_style:
                continue
            lo = cd.min or _col_index(key)
            hi = cd.max or lo
            self.ranges.append((lo, hi, cd))

    def style_for(self, col: int) -> Any:
        for lo, hi, cd in self.ranges:
            if lo <= col <= hi:
                return cd._style
        return None


class _Tab:
    """One worksheet being written by ``apply``: header map, id index, last used row."""

    def __init__(self, ws: Any, id_header: str) -> None:
        self.ws = ws
        self.id_header = id_header
        self.styles = _ColumnStyles(ws)
        self.headers: dict[str, int] = {}
        self.last_row = 0
        self.last_col = 0
        header_cells: dict[int, Any] = {}
        for (row, col), cell in ws._cells.items():
            value = cell.value
            if value is None or (value.__class__ is str and not value.strip()):
                continue
            if row > self.last_row:
                self.last_row = row
            if col > self.last_col:
                self.last_col = col
            if row == 1:
                header_cells[col] = value
        for col in sorted(header_cells):
            self.headers.setdefault(str(header_cells[col]).strip(), col)
        self.id_col = self.headers.get(id_header)
        self.ids: dict[str, int] = {}
        if self.id_col is not None:
            self._index_ids()

    def _index_ids(self) -> None:
        id_col = self.id_col
        for (row, col), cell in self.ws._cells.items():
            if col == id_col and row >= 2 and not _is_empty(cell.value):
                self.ids.setdefault(str(cell.value).strip(), row)

    def column(self, header: str) -> int:
        header = _clean_text(str(header)).strip()
        col = self.headers.get(header)
        if col is None:
            self.last_col += 1
            col = self.last_col
            self.headers[header] = col
            cell = self.ws.cell(row=1, column=col)
            self._inherit(cell, col)
            cell.value = header
            cell.data_type = "s"
            cell.font = Font(bold=True)
            self.last_row = max(self.last_row, 1)
            if header == self.id_header:
                self.id_col = col
                self._index_ids()
        return col

    def _inherit(self, cell: Any, col: int) -> None:
        if not cell.has_style:
            style = self.styles.style_for(col)
            if style is not None:
                cell._style = copy(style)

    def write(self, row: int, col: int, value: Any) -> None:
        ws = self.ws
        cell = ws.cell(row=row, column=col)
        if isinstance(cell, MergedCell):  # data beats formatting: unmerge, then write
            for rng in list(ws.merged_cells.ranges):
                if cell.coordinate in rng:
                    ws.unmerge_cells(str(rng))
                    break
            cell = ws.cell(row=row, column=col)
        self._inherit(cell, col)
        _set_cell(cell, value)

    def extend_autofilter(self) -> None:
        ref = self.ws.auto_filter.ref
        if not ref:
            return
        m = re.fullmatch(r"\$?A\$?1:\$?([A-Z]{1,3})\$?(\d+)", ref)
        if m is None:
            return
        last_col = max(_col_index(m.group(1)), self.last_col)
        last_row = max(int(m.group(2)), self.last_row)
        new_ref = f"A1:{get_column_letter(last_col)}{last_row}"
        if new_ref != ref:
            self.ws.auto_filter.ref = new_ref


def _set_cell(cell: Any, value: Any) -> None:
    """Store one converted value: text always as text (never a formula), dates formatted."""
    if value is None:
        cell.value = None
        return
    if isinstance(value, str):
        text = _clean_text(value)
        cell.value = text
        cell.data_type = "s"  # openpyxl would make "=…" a formula and "#N/A" an error
        formula_like = is_formula_like(text)
        if bool(cell.quotePrefix) != formula_like:
            cell.quotePrefix = formula_like
        return
    if cell.quotePrefix:
        cell.quotePrefix = False
    if isinstance(value, bool):
        cell.value = value
    elif isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.replace(tzinfo=None)  # Excel has no time zones: keep the wall time
        cell.value = value
        cell.number_format = DATETIME_FORMAT
    elif isinstance(value, date):
        cell.value = value
        cell.number_format = DATE_FORMAT
    elif isinstance(value, dt_time):
        cell.value = value.replace(tzinfo=None)
        cell.number_format = TIME_FORMAT
    elif isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            cell.value = None
            return
        cell.value = value
        if cell.is_date:
            cell.number_format = "General"
    elif isinstance(value, Decimal) and value.is_finite():
        cell.value = value
        if cell.is_date:
            cell.number_format = "General"
    else:
        _set_cell(cell, str(value))


# ---------------------------------------------------------------------- layout helpers


def _column_width(col: Column) -> float:
    by_type = {
        "long_text": 40.0,
        "date": 12.0,
        "datetime": 20.0,
        "id": 14.0,
        "phone": 14.0,
        "id_card": 21.0,
        "email": 24.0,
        "bool": 8.0,
        "text": 16.0,
        "enum": 14.0,
        "ref": 14.0,
        "int": 10.0,
        "decimal": 12.0,
    }
    width = max(by_type.get(col.type, 14.0), _display_width(col.header) + 4)
    return min(width, 50.0)


def _comment_text(col: Column) -> str:
    parts = []
    if col.required:
        parts.append("【必填】")
    if col.help:
        parts.append(col.help)
    if col.max_length and col.type in ("text", "long_text"):
        parts.append(f"（最多 {col.max_length} 字）")
    return "".join(parts)


def _style_header(cell: Any) -> bool:
    changed = False
    if not cell.font.b:
        font = copy(cell.font)
        font.b = True
        cell.font = font
        changed = True
    if not cell.protection.locked:
        cell.protection = Protection(locked=True)
        changed = True
    return changed


def _style_column(cd: Any, col: Column, *, locked: bool) -> bool:
    changed = False
    if cd.protection.locked != locked:
        cd.protection = Protection(locked=locked)
        changed = True
    fmt = None
    if col.type in TEXT_FORMAT_TYPES:
        fmt = TEXT_FORMAT
    elif col.type == "date":
        fmt = DATE_FORMAT
    elif col.type == "datetime":
        fmt = DATETIME_FORMAT
    if fmt is not None and cd.number_format != fmt:
        cd.number_format = fmt
        changed = True
    if col.type == "long_text" and not cd.alignment.wrap_text:
        cd.alignment = Alignment(wrap_text=True, vertical="top")
        changed = True
    if cd.width is None or cd.width == 0:
        cd.width = DEFAULT_WIDTH
        changed = True
    return changed


def _split_column_dimensions(ws: Any, upto: int) -> bool:
    """Give every column 1..upto its own ``<col>`` entry so styles never overlap a range."""
    changed = False
    for key, cd in list(ws.column_dimensions.items()):
        lo = cd.min or _col_index(key)
        hi = cd.max or lo
        if lo == hi or lo > upto:
            continue
        changed = True
        del ws.column_dimensions[key]
        for idx in range(lo, min(hi, upto) + 1):
            ws.column_dimensions[get_column_letter(idx)] = _clone_dim(ws, cd, idx, idx)
        if hi > upto:
            ws.column_dimensions[get_column_letter(upto + 1)] = _clone_dim(ws, cd, upto + 1, hi)
    return changed


def _column_dimension(ws: Any, idx: int, width: float) -> Any:
    """The ``<col>`` entry of column ``idx`` (after splitting), created with ``width`` if absent."""
    letter = get_column_letter(idx)
    cd = ws.column_dimensions.get(letter)
    if cd is None:
        cd = ColumnDimension(ws, index=letter, width=width, min=idx, max=idx)
        ws.column_dimensions[letter] = cd
    if cd.min is None or cd.max is None:
        cd.min = cd.max = idx
    return cd


def _clone_dim(ws: Any, cd: Any, lo: int, hi: int) -> Any:
    new = ColumnDimension(
        ws,
        index=get_column_letter(lo),
        width=cd.width,
        bestFit=cd.bestFit,
        hidden=cd.hidden,
        outlineLevel=cd.outlineLevel,
        collapsed=cd.collapsed,
        min=lo,
        max=hi,
    )
    new._style = copy(cd._style)
    return new


def _unlock_rest(ws: Any, n_cols: int) -> bool:
    """An unlocked column style for every column right of the schema's (people's own columns)."""
    lo = n_cols + 1
    if lo > MAX_COL:
        return False
    letter = get_column_letter(lo)
    for key, cd in ws.column_dimensions.items():
        if key != letter and (cd.min or _col_index(key)) >= lo:
            return False  # people styled those columns themselves; leave them alone
    cd = ws.column_dimensions.get(letter)
    if cd is not None and cd.min == lo and cd.max == MAX_COL and not cd.protection.locked:
        return False
    if cd is None:
        cd = ColumnDimension(ws, index=letter, width=DEFAULT_WIDTH, min=lo, max=MAX_COL)
        ws.column_dimensions[letter] = cd
    cd.min, cd.max = lo, MAX_COL
    if not cd.width:
        cd.width = DEFAULT_WIDTH
    cd.protection = Protection(locked=False)
    return True


def _sweep_cell_protection(ws: Any, id_col: int | None, schema_cols: set[int]) -> bool:
    """Existing data cells: lock the id column, unlock everything else (cells typed before).

    Works on style-array protection ids directly: checking a million cells through
    ``cell.protection`` costs seconds.
    """
    protections = ws.parent._protections
    locked_ids = {i for i, p in enumerate(protections) if p.locked}
    unlocked_id = protections.add(Protection(locked=False))
    locked_id = protections.add(Protection(locked=True))
    changed = False
    for (row, col), cell in ws._cells.items():
        if row == 1 and col in schema_cols:
            continue  # headers: handled by _style_header
        want_locked = row > 1 and col == id_col
        style = cell._style
        if style is None or isinstance(cell, MergedCell):
            continue
        if (style.protectionId in locked_ids) != want_locked:
            style.protectionId = locked_id if want_locked else unlocked_id
            changed = True
    return changed


def _protect_sheet(ws: Any) -> bool:
    prot = ws.protection
    wanted = {
        "sheet": True,
        "formatCells": False,
        "formatColumns": False,
        "formatRows": False,
        "insertRows": False,
        "deleteRows": False,
        "sort": False,
        "autoFilter": False,
        "selectLockedCells": False,
        "selectUnlockedCells": False,
    }
    changed = False
    for attr, value in wanted.items():
        if bool(getattr(prot, attr)) != value:
            setattr(prot, attr, value)
            changed = True
    return changed


def _inline_list(values: Iterable[str]) -> str | None:
    """``"a,b,c"`` for a list-validation formula, or ``None`` if it must live in ``_lists``."""
    values = list(values)
    if any("," in v or '"' in v for v in values):
        return None
    joined = ",".join(values)
    if len(joined) > 255:
        return None
    return f'"{joined}"'


def _set_list_validation(ws: Any, sqref: str, formula: str) -> bool:
    """Exactly one list validation on ``sqref``.

    Older validations lying entirely inside that column (below the header) are replaced, so
    that two dropdowns never overlap; validations spanning other columns are left alone.
    """
    dvs = ws.data_validations.dataValidation
    target = CellRange(sqref)

    def inside(dv: Any) -> bool:
        ranges = list(dv.sqref.ranges)
        return bool(ranges) and all(
            r.min_col == r.max_col == target.min_col and r.min_row >= 2 for r in ranges
        )

    ours = [dv for dv in dvs if inside(dv)]
    if (
        len(ours) == 1
        and str(ours[0].sqref) == sqref
        and ours[0].type == "list"
        and ours[0].formula1 == formula
        and not ours[0].showDropDown
    ):
        return False
    for dv in ours:
        dvs.remove(dv)
    dv = DataValidation(
        type="list",
        formula1=formula,
        allow_blank=True,
        showErrorMessage=True,
        errorStyle="warning",
        errorTitle="不在可选范围内",
        error=DV_ERROR,
    )
    dv.add(sqref)
    ws.add_data_validation(dv)
    return True


def _layout_lists(wb: Any, lists: dict[str, tuple[str, ...]]) -> bool:
    """Write the long dropdown lists into the hidden ``_lists`` tab, one column per list."""
    order = sorted(lists)
    wanted: list[list[str]] = [[name, *lists[name]] for name in order]
    if LISTS_TITLE in wb.sheetnames:
        ws = wb[LISTS_TITLE]
        current: dict[tuple[int, int], Any] = {
            key: cell.value for key, cell in ws._cells.items() if cell.value is not None
        }
        expected = {
            (r, c): v for c, column in enumerate(wanted, start=1) for r, v in enumerate(column, start=1)
        }
        if current == expected and ws.sheet_state == "hidden":
            return False
        for row in ws.iter_rows():
            for cell in row:
                cell.value = None
    else:
        ws = wb.create_sheet(LISTS_TITLE)
    for c, column in enumerate(wanted, start=1):
        for r, v in enumerate(column, start=1):
            cell = ws.cell(row=r, column=c)
            cell.value = _clean_text(v)
            cell.data_type = "s"
    ws.sheet_state = "hidden"
    ws.protection.sheet = True
    return True
