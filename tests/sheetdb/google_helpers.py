"""The Google side of the engine test helpers: the same test, on the in-repo fake of Sheets.

When an engine test runs with ``sheet_backend == "gsheets"``, ``tmp_path/gsheets.json`` names
the fake (base URL, spreadsheet key) and every helper in ``helpers.py`` that edits or reads
"the workbook" goes to the fake's spreadsheet instead: hand edits are made as a person in the
browser would (whole tab typed over, Drive ``modifiedTime`` bumped), reads return what the
person sees, converted the way openpyxl/calamine would present typed values.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PosixPath
from typing import Any

import openpyxl

from mingxiao.sheetdb.fake_google import FakeGoogle

MARKER = "gsheets.json"
_FAKES: dict[str, FakeGoogle] = {}  # base URL → the running fake of this test session


def register_fake(fake: FakeGoogle) -> None:
    _FAKES[fake.base_url] = fake


class GoogleWorkbook(PosixPath):
    """``tmp_path/w.xlsx`` as a name only: the data lives in the fake spreadsheet."""


def google_target(path: Path) -> tuple[FakeGoogle, str] | None:
    """(fake, key) when ``path``'s folder runs its engine tests on the fake, else None."""
    marker = Path(path).parent / MARKER if Path(path).suffix else Path(path) / MARKER
    if not marker.exists():
        return None
    info = json.loads(marker.read_text(encoding="utf-8"))
    return _FAKES[info["base_url"]], info["key"]


def backend_options(folder: Path) -> dict[str, Any] | None:
    """Keyword arguments for ``backend_from_config`` when ``folder`` runs on the fake."""
    marker = Path(folder) / MARKER
    if not marker.exists():
        return None
    info = json.loads(marker.read_text(encoding="utf-8"))
    return {
        "key": info["key"],
        "credentials": None,
        "base_url": info["base_url"],
        "state_path": Path(folder) / "journal.sqlite3",
        "change_ttl": 0.0,  # tests see a hand edit at once (production: 10 s)
        "timeout": 2.0,
        "deadline": 15.0,
        "backoff_base": 0.01,
        "backoff_cap": 0.05,
        "reads_per_minute": 100_000,
        "writes_per_minute": 100_000,
        "lock_timeout": 60.0,
    }


def make_backend(folder: Path) -> Any:
    from mingxiao.sheetdb.gsheets import backend_from_config

    opts = backend_options(folder)
    assert opts is not None
    return backend_from_config(**opts)


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def _as_read(value: Any, *, dates_as_date: bool) -> Any:
    """A stored cell as the xlsx readers present it (the engine writes dates as ISO text)."""
    if isinstance(value, str):
        if _DATE.match(value):
            d = dt.date.fromisoformat(value)
            return d if dates_as_date else dt.datetime.combine(d, dt.time())
        if _DATETIME.match(value):
            return dt.datetime.fromisoformat(value)
    return value


def _as_typed(value: Any) -> Any:
    """A value a test puts into a cell, as a person would have typed it in Google Sheets."""
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str) and value == "":
        return None
    return value


def rows(path: Path, title: str, *, dates_as_date: bool = False) -> list[dict[str, Any]]:
    target = google_target(path)
    assert target is not None
    fake, key = target
    data = fake.ui_rows(key, title)
    if not data:
        return []
    header = data[0]
    out = []
    for row in data[1:]:
        if all(v in (None, "") for v in row):
            continue
        out.append({h: _as_read(v, dates_as_date=dates_as_date) for h, v in zip(header, row, strict=False) if h})
    return out


@contextmanager
def hand_edit(path: Path, title: str | None) -> Iterator[Any]:
    """Edit the fake's tabs through an openpyxl workbook; changed tabs are typed over."""
    target = google_target(path)
    assert target is not None
    fake, key = target
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    before: dict[str, list[list[Any]]] = {}
    for t in fake.tab_titles(key):
        ws = wb.create_sheet(t)
        data = fake.ui_rows(key, t)
        before[t] = data
        for r, row in enumerate(data, start=1):
            for c, v in enumerate(row, start=1):
                if v is not None:
                    ws.cell(row=r, column=c).value = v
    yield wb[title] if title else wb
    after_titles = list(wb.sheetnames)
    for t in before:
        if t not in after_titles:
            fake.ui_delete_tab(key, t)
    for t in after_titles:
        ws = wb[t]
        data = [[_as_typed(v) for v in row] for row in ws.iter_rows(values_only=True)]
        while data and all(v is None for v in data[-1]):
            data.pop()
        if before.get(t) != data:
            fake.ui_replace(key, t, data)
    time.sleep(0.002)  # modifiedTime has millisecond resolution
