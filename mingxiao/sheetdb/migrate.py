"""Copy the whole workbook between the xlsx file and a Google spreadsheet (``sheets migrate``).

Every tab is copied, including tabs and columns no schema knows. Values are copied as read:
from Google, text cells of typed columns (dates, numbers) are converted back to real cell
types by the schema on the way to xlsx, so Excel shows dates and numbers, not text. After the
copy the target is read back and the data rows of every tab are counted on both sides.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .backend import RawSheet, excel_title
from .schema import SchemaSet
from .types import parse_cell, to_cell

__all__ = ["count_rows", "to_google", "to_xlsx"]


def count_rows(tabs: dict[str, RawSheet]) -> dict[str, int]:
    """Non-blank data rows per tab (what the verification compares)."""
    return {
        title: sum(1 for _r, row in sheet.data_rows() if any(v not in (None, "") for v in row))
        for title, sheet in tabs.items()
    }


def to_google(
    source: Any, target: Any, progress: Callable[[int], None] | None = None
) -> tuple[dict[str, int], dict[str, int]]:
    """Copy ``source`` (any backend) into the Google ``target``; returns (source, target) counts."""
    _version, tabs = source.read_all()
    target.write_tabs({t: s.rows for t, s in tabs.items()}, progress=progress)
    _v2, copied = target.read_all()
    return count_rows(tabs), count_rows({t: copied[t] for t in tabs if t in copied})


def _typed(schemas: SchemaSet, title: str, rows: list[list[Any]]) -> list[list[Any]]:
    schema = next((s for s in schemas if s.title == title), None)
    if schema is None or not rows:
        return rows
    by_header = {c.header: c for c in schema.columns}
    cols = [by_header.get(str(h).strip()) if h is not None else None for h in rows[0]]
    out = [list(rows[0])]
    for row in rows[1:]:
        new = []
        for i, v in enumerate(row):
            col = cols[i] if i < len(cols) else None
            if col is not None and isinstance(v, str) and col.type in ("int", "decimal", "date", "datetime"):
                value, problem = parse_cell(col, v)
                new.append(to_cell(col, value) if problem is None else v)
            else:
                new.append(v)
        out.append(new)
    return out


def to_xlsx(
    source: Any, dest: Path, schemas: SchemaSet, progress: Callable[[int], None] | None = None
) -> tuple[dict[str, int], dict[str, int]]:
    """Copy ``source`` (the Google backend) into a new xlsx workbook at ``dest``."""
    from openpyxl import Workbook

    from .xlsx import XlsxBackend, _set_cell

    _version, tabs = source.read_all()
    wb = Workbook()
    wb.remove(wb.active)
    for title, sheet in tabs.items():
        ws = wb.create_sheet(excel_title(title))
        for r, row in enumerate(_typed(schemas, title, sheet.rows), start=1):
            for c, v in enumerate(row, start=1):
                if v is not None:
                    _set_cell(ws.cell(row=r, column=c), v)
        if progress is not None:
            progress(len(sheet.rows))
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.stem}.migrate.xlsx")
    wb.save(tmp)
    tmp.replace(dest)
    backend = XlsxBackend(dest)
    backend.ensure_layout(schemas, dict(schemas.choice_lists))
    _v2, copied = backend.read_all()
    return count_rows(tabs), count_rows(
        {t: copied[excel_title(t)] for t in tabs if excel_title(t) in copied}
    )
