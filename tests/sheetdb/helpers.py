"""Helpers for the engine tests: small schemas, hand edits "as in Excel", and reading the file back.

Hand edits go through openpyxl on the real file, saved to a temp file and moved over the
workbook with ``os.replace`` (as Excel and WPS save), so the change token
``(mtime_ns, size, inode)`` always moves. Nothing here touches the engine's internals.
"""

from __future__ import annotations

import os
import shutil
import struct
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openpyxl
from python_calamine import CalamineWorkbook

from mingxiao.sheetdb import Database, open_database
from tests.sheetdb import google_helpers

ID_HEADER = "编号"
VOID_HEADER = "已作废"

# A small schema with one column of every interesting type. Column order on a fresh workbook:
# A 编号, B 姓名, C 工作单位, D 手机号码, E 身份证号, F 级别, G 年龄, H 评分, I 出生日期,
# J 在聘, K 备注, then 创建时间, 更新时间, 已作废.
MENTORS_TOML = """
title = "导师"
id_prefix = "M"
id_year = false

[[columns]]
key = "name"
header = "姓名"
type = "text"
required = true
max_length = 30

[[columns]]
key = "organisation"
header = "工作单位"
type = "text"
required = true
max_length = 60

[[columns]]
key = "phone"
header = "手机号码"
type = "phone"

[[columns]]
key = "id_number"
header = "身份证号"
type = "id_card"

[[columns]]
key = "level"
header = "级别"
type = "enum"
choices = ["一级", "二级", "三级"]

[[columns]]
key = "age"
header = "年龄"
type = "int"
min = 18
max = 99

[[columns]]
key = "score"
header = "评分"
type = "decimal"

[[columns]]
key = "born"
header = "出生日期"
type = "date"

[[columns]]
key = "active"
header = "在聘"
type = "bool"

[[columns]]
key = "note"
header = "备注"
type = "long_text"
"""

NOMINATIONS_TOML = """
title = "人选推荐"
id_prefix = "N"

[[columns]]
key = "name"
header = "姓名"
type = "text"
required = true
max_length = 30

[[columns]]
key = "district"
header = "区、县（市）"
type = "enum"
choices = ["上城区", "拱墅区", "西湖区", "滨江区"]
"""

SMALL_SCHEMAS = {"mentors": MENTORS_TOML, "nominations": NOMINATIONS_TOML}

# Valid GB 11643 numbers (checksums verified in test_engine_api).
ID_CARD = "11010519491231002X"
ID_CARD_2 = "440524188001010014"


def write_schemas(folder: Path, schemas: dict[str, str] | None = None) -> Path:
    """Write ``{stem: toml}`` into ``folder`` (created) and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem, text in (schemas or SMALL_SCHEMAS).items():
        (folder / f"{stem}.toml").write_text(text, encoding="utf-8")
    return folder


def open_small(tmp: Path, *, autoflush: bool = False, init: bool = True, **kwargs: Any) -> Database:
    """A database on ``tmp/w.xlsx`` (instance ``tmp``) with the small schema.

    When the test runs on the Google fake (``tmp/gsheets.json``, see ``google_helpers``), the
    database uses the Google Sheets backend on the fake's spreadsheet instead.
    """
    schema_dir = tmp / "schemas"
    if not schema_dir.exists():
        write_schemas(schema_dir)
    if google_helpers.backend_options(tmp) is not None and "backend" not in kwargs:
        kwargs["backend"] = google_helpers.make_backend(tmp)
    db = open_database(
        workbook=tmp / "w.xlsx", instance=tmp, schema_dir=schema_dir, autoflush=autoflush, **kwargs
    )
    if init:
        db.init()
    return db


# ---------------------------------------------------------------------- reading the file back


def rows_openpyxl(path: Path, title: str) -> list[dict[str, Any]]:
    """Data rows of tab ``title`` as ``{header: value}``, read with openpyxl (blank rows skipped)."""
    if google_helpers.google_target(path) is not None:
        return google_helpers.rows(path, title)
    wb = openpyxl.load_workbook(path)
    try:
        ws = wb[title]
        header = [c.value for c in ws[1]]
        out = []
        for row in ws.iter_rows(min_row=2, values_only=True):
            if all(v in (None, "") for v in row):
                continue
            out.append({h: v for h, v in zip(header, row, strict=False) if h})
        return out
    finally:
        wb.close()


def rows_calamine(path: Path, title: str) -> list[dict[str, Any]]:
    """Data rows of tab ``title`` as ``{header: value}``, read with python-calamine."""
    if google_helpers.google_target(path) is not None:
        return google_helpers.rows(path, title, dates_as_date=True)
    book = CalamineWorkbook.from_path(str(path))
    try:
        rows = book.get_sheet_by_name(title).to_python(skip_empty_area=False)
    finally:
        book.close()
    if not rows:
        return []
    header = rows[0]
    out = []
    for row in rows[1:]:
        if all(v in (None, "") for v in row):
            continue
        out.append({h: v for h, v in zip(header, row, strict=False) if h})
    return out


def ids_in_file(
    path: Path, title: str, *, reader: Callable[[Path, str], list[dict[str, Any]]] = rows_openpyxl
) -> list[str]:
    return [
        str(r.get(ID_HEADER)) for r in reader(path, title) if r.get(ID_HEADER) not in (None, "")
    ]


def row_by_id(path: Path, title: str, rid: str) -> dict[str, Any]:
    for r in rows_openpyxl(path, title):
        if r.get(ID_HEADER) == rid:
            return r
    raise KeyError(rid)


# ---------------------------------------------------------------------- editing "in Excel"


def _replace_and_bump(path: Path, tmp: Path) -> None:
    """Move ``tmp`` over ``path`` and make sure the change token moves even within one tick."""
    before = path.stat() if path.exists() else None
    os.replace(tmp, path)
    if before is not None:
        after = path.stat()
        if (after.st_mtime_ns, after.st_size, after.st_ino) == (
            before.st_mtime_ns,
            before.st_size,
            before.st_ino,
        ):
            bumped = max(time.time_ns(), before.st_mtime_ns + 1_000_000)
            os.utime(path, ns=(bumped, bumped))


@contextmanager
def hand_edit(path: Path, title: str | None = None) -> Iterator[Any]:
    """``with hand_edit(p, "导师") as ws:`` edit cells; saved on exit like Excel saves.

    Yields the worksheet (or the workbook when ``title`` is None). On the Google fake the edit
    is made as a person in the browser (``google_helpers.hand_edit``).
    """
    if google_helpers.google_target(path) is not None:
        with google_helpers.hand_edit(path, title) as target:
            yield target
        return
    wb = openpyxl.load_workbook(path)
    yield wb[title] if title else wb
    tmp = path.with_name(f".hand-{os.getpid()}-{time.time_ns()}.xlsx")
    wb.save(tmp)
    wb.close()
    _replace_and_bump(path, tmp)


def header_col(ws: Any, header: str) -> int:
    """1-based column of ``header`` in row 1."""
    for cell in ws[1]:
        if cell.value == header:
            return int(cell.column)
    raise KeyError(header)


def find_row(ws: Any, rid: str) -> int:
    """Sheet row number of the row whose 编号 is ``rid``."""
    col = header_col(ws, ID_HEADER)
    for r in range(2, ws.max_row + 1):
        if ws.cell(row=r, column=col).value == rid:
            return r
    raise KeyError(rid)


def set_cell(path: Path, title: str, rid: str, header: str, value: Any) -> None:
    """Hand-edit one cell of the row with id ``rid``."""
    with hand_edit(path, title) as ws:
        ws.cell(row=find_row(ws, rid), column=header_col(ws, header)).value = value


def copy_over(src: Path, dest: Path) -> None:
    """Copy ``src`` over ``dest`` (someone saving an old copy), always moving the change token."""
    tmp = dest.with_name(f".copy-{os.getpid()}-{time.time_ns()}.xlsx")
    shutil.copy2(src, tmp)
    os.utime(tmp, ns=(time.time_ns(), time.time_ns()))  # copy2 keeps the old mtime: Excel would not
    _replace_and_bump(dest, tmp)


def file_bytes(path: Path) -> bytes:
    return path.read_bytes()


# ---------------------------------------------------------------------- a real legacy .xls

_ENDOFCHAIN, _FREESECT, _FATSECT, _NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF


def make_xls(path: Path, title: str, rows: list[tuple[Any, ...]]) -> None:
    """Write a genuine BIFF8 ``.xls`` (an OLE compound file, as Excel 97–2003 saves) to ``path``.

    Minimal but real: python-calamine reads it back and ``file`` calls it "Microsoft Excel".
    """
    path.write_bytes(_cfb(_biff8(title, rows)))


def _rec(kind: int, data: bytes = b"") -> bytes:
    return struct.pack("<HH", kind, len(data)) + data


def _bof(kind: int) -> bytes:
    return _rec(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 0x06))


def _biff8(title: str, rows: list[tuple[Any, ...]]) -> bytes:
    """The Workbook stream: globals (BOUNDSHEET, SST) then one worksheet of LABELSST/NUMBER cells."""
    strings: list[str] = []
    cells = b""
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            if isinstance(v, str):
                if v not in strings:
                    strings.append(v)
                cells += _rec(0x00FD, struct.pack("<HHHI", r, c, 15, strings.index(v)))
            else:
                cells += _rec(0x0203, struct.pack("<HHHd", r, c, 15, float(v)))
    ncols = max(len(r) for r in rows)
    sheet = (
        _bof(0x0010)
        + _rec(0x0200, struct.pack("<IIHHH", 0, len(rows), 0, ncols, 0))
        + cells
        + _rec(0x000A)
    )
    sst = struct.pack("<II", len(strings), len(strings)) + b"".join(
        struct.pack("<HB", len(s), 1) + s.encode("utf-16-le") for s in strings
    )
    # An INTERFACEHDR filler record keeps the stream above the 4096-byte mini-stream cutoff.
    head = _bof(0x0005) + _rec(0x0042, struct.pack("<H", 0x04B0)) + _rec(0x00E1, bytes(4200))
    tail = _rec(0x00FC, sst) + _rec(0x000A)
    name = title.encode("utf-16-le")
    offset = len(head) + 4 + 8 + len(name) + len(tail)  # where the worksheet's BOF starts
    boundsheet = _rec(0x0085, struct.pack("<IBBBB", offset, 0, 0, len(title), 1) + name)
    return head + boundsheet + tail + sheet


def _dirent(name: str, kind: int, child: int, start: int, size: int) -> bytes:
    raw = name.encode("utf-16-le") + b"\0\0" if name else b""
    return (
        raw.ljust(64, b"\0")
        + struct.pack("<HBB", len(raw), kind, 1)
        + struct.pack("<III", _NOSTREAM, _NOSTREAM, child)
        + bytes(16)
        + struct.pack("<I", 0)
        + bytes(16)
        + struct.pack("<IQ", start, size)
    )


def _cfb(stream: bytes) -> bytes:
    """A version-3 compound file: header, one FAT sector, one directory sector, the stream."""
    n = -(-len(stream) // 512)
    fat = [_FATSECT, _ENDOFCHAIN] + [3 + i for i in range(n - 1)] + [_ENDOFCHAIN]
    fat += [_FREESECT] * (128 - len(fat))
    header = (
        bytes.fromhex("d0cf11e0a1b11ae1")
        + bytes(16)
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + bytes(6)
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, _ENDOFCHAIN, 0, _ENDOFCHAIN, 0)
        + struct.pack("<I", 0)
        + struct.pack("<I", _FREESECT) * 108
    )
    directory = (
        _dirent("Root Entry", 5, 1, _ENDOFCHAIN, 0)
        + _dirent("Workbook", 2, _NOSTREAM, 2, len(stream))
        + _dirent("", 0, _NOSTREAM, 0, 0) * 2
    )
    return header + struct.pack("<128I", *fat) + directory + stream.ljust(n * 512, b"\0")


# ---------------------------------------------------------------------- writer processes

REPO_ROOT = Path(__file__).resolve().parents[2]

# A separate OS process that inserts mentors and prints each id only after insert() returned
# (the id is then acknowledged: durable in the journal). Arguments:
#   folder  count(0 = forever)  tag  flush_delay  go_file(or "-")  wait_idle(0/1)  pause(s between inserts)
WRITER_SCRIPT = r"""
import sys, time
from pathlib import Path

from mingxiao.sheetdb import open_database

folder, count, tag, flush_delay, go_file, wait_idle, pause = sys.argv[1:8]
folder, count, pause = Path(folder), int(count), float(pause)
extra = {}
if (folder / "gsheets.json").exists():  # the engine test runs on the Google fake
    from tests.sheetdb.google_helpers import make_backend
    extra["backend"] = make_backend(folder)
db = open_database(
    workbook=folder / "w.xlsx", instance=folder, schema_dir=folder / "schemas",
    autoflush=True, flush_delay=float(flush_delay), idle_interval=0.2, **extra,
)
db.start()
mentors = db.table("mentors")
mentors.all()  # warm the snapshot before the race starts
sys.stdout.write("ready\n")
sys.stdout.flush()
if go_file != "-":
    while not Path(go_file).exists():
        time.sleep(0.005)
i = 0
while count == 0 or i < count:
    rec = mentors.insert({"name": f"{tag}-{i}", "organisation": tag}, user=tag)
    sys.stdout.write(rec.id + "\n")
    sys.stdout.flush()
    i += 1
    if pause:
        time.sleep(pause)
if wait_idle == "1":
    deadline = time.monotonic() + 120
    while db.status()["pending"] and time.monotonic() < deadline:
        time.sleep(0.05)
db.close()
sys.stdout.write("done\n")
sys.stdout.flush()
"""


def writer_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    return env


def write_writer_script(folder: Path) -> Path:
    script = folder / "writer.py"
    script.write_text(WRITER_SCRIPT, encoding="utf-8")
    return script


def acknowledged(output: str) -> list[str]:
    """Ids a writer printed on complete lines (a line cut by a kill is not an acknowledgement)."""
    lines = output.split("\n")[:-1]  # the last element has no newline: incomplete or empty
    return [line for line in lines if line and line not in ("ready", "done")]
