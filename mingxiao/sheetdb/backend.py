"""The storage backend protocol: the small surface the engine needs from a workbook.

A backend knows cells and rows, nothing about journals, merges or schemas' meaning. The engine
(``engine.py``) calls it like this, always holding ``backend.lock()`` around a write::

    with backend.lock():
        reason = backend.blocked_reason()     # e.g. an Excel owner file is present
        version, sheets = backend.read_all()  # fresh read, raw cell values
        ... three-way merge against ``sheets`` ...
        new_version = backend.apply(batch)    # one save for the whole batch

Row 1 of every tab is the header row; data starts at row 2. Rows are addressed by the value of
their id column (header given by ``Batch.id_header``), never by row number, because people sort
and insert rows by hand.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .schema import SchemaSet

# Characters that make a spreadsheet treat text as a formula (OWASP CSV/formula injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")


def is_formula_like(value: object) -> bool:
    """True when ``value`` is text a spreadsheet could evaluate as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


def excel_title(title: str) -> str:
    """``title`` as an xlsx tab title: Excel forbids ``\\ / ? * [ ] :`` and more than 31
    characters, which Google Sheets tab names (and names built from sheet data) may have."""
    return re.sub(r"[\\/?*\[\]:]", "_", title)[:31].strip("'") or "Sheet"


class CellError(str):
    """A cell holding a spreadsheet error value (#DIV/0!, #N/A, …); its text is the error."""


class WorkbookError(Exception):
    """The workbook cannot be opened or written at all; the message is Chinese and says why."""


class WriteBlocked(Exception):
    """A write must wait (owner lock file present, quota exhausted…); operations stay pending."""


@dataclass
class RawSheet:
    """One tab as read: ``rows[0]`` is the header row (sheet row 1); cells are raw values.

    ``formulas`` holds the sheet row/column (1-based) of cells that contain a formula, when the
    backend can tell; the health check reports them.
    """

    title: str
    rows: list[list[Any]]
    formulas: set[tuple[int, int]] = field(default_factory=set)
    merged: list[str] = field(default_factory=list)  # A1 ranges of merged cells

    @property
    def header(self) -> list[Any]:
        return self.rows[0] if self.rows else []

    def data_rows(self) -> Iterator[tuple[int, list[Any]]]:
        """Yield ``(sheet_row_number, cells)`` for every row below the header."""
        yield from enumerate(self.rows[1:], start=2)


@dataclass
class Batch:
    """Everything one group commit writes: appends and cell updates, keyed by header names.

    ``appends``: ``(tab title, {header: value})``; missing headers are added at the end of the
    header row. ``updates``: ``(tab title, row id, {header: value})``; an id that is no longer in
    the tab is skipped and reported back by ``apply`` (the engine parks that operation).
    ``assign_ids``: ``(tab title, sheet row number, new id)`` for rows typed by hand without an
    id; the backend writes the id only if that row still has an empty id cell.
    Values are already converted for the cell: ``str``, ``int``, ``float``, ``bool``,
    ``datetime.date``/``datetime.datetime`` or ``None`` (empty the cell). Text that looks like a
    formula must be stored as literal text (see :func:`is_formula_like`).
    """

    id_header: str = "编号"
    appends: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    updates: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    assign_ids: list[tuple[str, int, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.appends) + len(self.updates) + len(self.assign_ids)


@dataclass
class ApplyResult:
    """What ``apply`` did: the new change token and the update targets it could not find."""

    version: Hashable
    missing: list[tuple[str, str]] = field(default_factory=list)  # (title, row id)


class WriteLock(Protocol):
    """What ``Backend.lock()`` returns: a ``filelock.FileLock``-shaped cross-process lock."""

    def acquire(self, timeout: float | None = None) -> Any: ...

    def release(self) -> None: ...

    def __enter__(self) -> Any: ...

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Any: ...


class Backend(Protocol):
    """The storage protocol shared by the xlsx and Google Sheets backends."""

    name: str  # "xlsx" or "gsheets"

    def version(self) -> Hashable:
        """A cheap change token; it moves whenever the workbook changes."""
        ...

    def read_all(self) -> tuple[Hashable, dict[str, RawSheet]]:
        """Read every tab (including tabs no schema knows); returns ``(version, tabs by title)``.

        Raises :class:`WorkbookError` when the workbook is unreadable (truncated, not xlsx…).
        """
        ...

    def blocked_reason(self) -> str | None:
        """``None`` when a write may proceed now, else a Chinese sentence saying why not."""
        ...

    def lock(self) -> WriteLock:
        """A cross-process write lock (``acquire(timeout=0)`` must not block)."""
        ...

    def apply(self, batch: Batch, *, announce: Callable[[Hashable], None] | None = None) -> ApplyResult:
        """Write the batch in one save; call with ``lock()`` held. Preserves unknown tabs/columns.

        ``announce(version)``: called with the version the save will produce just before it
        becomes visible to readers (a backend whose versions are not exact never calls it).

        Raises :class:`WriteBlocked` if the write must wait, :class:`WorkbookError` on I/O failure
        (the original workbook must then be intact).
        """
        ...

    def ensure_layout(self, schemas: SchemaSet, choices: dict[str, tuple[str, ...]]) -> None:
        """Create missing tabs and headers, freeze row 1, add dropdowns, header notes, id protection."""
        ...

    def backup_to(self, dest: Path) -> None:
        """Copy the whole workbook to ``dest`` (an ``.xlsx`` path)."""
        ...
