"""Exports of a table view to xlsx or CSV, safe to open in Excel/WPS.

Cells are untrusted: text that a spreadsheet would evaluate as a formula (``= + - @``, tab,
CR, LF) is neutralised — CSV cells get a leading ``'``, xlsx cells are stored as text with the
quote prefix — so an exported file never runs anything a person typed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

import pandas as pd
from flask import Response

from .sheetdb.backend import excel_title, is_formula_like

FORMATS = ("xlsx", "csv")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0)
    return value


def frame(rows: Iterable[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> pd.DataFrame:
    """A DataFrame with Chinese headers in the given column order (``(key, header)`` pairs)."""
    data = [[_cell(r.get(k)) for k, _ in columns] for r in rows]
    return pd.DataFrame(data, columns=[h for _, h in columns])


def to_csv(df: pd.DataFrame) -> bytes:
    """UTF-8 with a BOM (Excel opens Chinese correctly), formula-like cells prefixed with ``'``."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_neutral_csv(h) for h in df.columns])
    for row in df.itertuples(index=False):
        writer.writerow([_neutral_csv(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _neutral_csv(value: Any) -> Any:
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def sheet_title(name: str) -> str:
    """``name`` as an Excel tab title (names carry sheet data, e.g. a cohort's name)."""
    return excel_title(name.strip("'")) if name.strip("'") else "导出"


def to_xlsx(df: pd.DataFrame, sheet: str = "导出") -> bytes:
    """An xlsx file built with pandas; every text cell is literal text, never a formula."""
    buf = io.BytesIO()
    title = sheet_title(sheet)
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        df.to_excel(writer, sheet_name=title, index=False)
        ws = writer.sheets[title]
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # pandas/openpyxl would turn "=…" into a formula
                    if is_formula_like(cell.value):
                        cell.quotePrefix = True
        ws.freeze_panes = "A2"
    return buf.getvalue()


def export_response(
    rows: Iterable[dict[str, Any]], columns: Sequence[tuple[str, str]], fmt: str, filename: str
) -> Response:
    """A download of ``rows`` as ``fmt`` ("xlsx" or "csv"); ``filename`` without extension."""
    if fmt not in FORMATS:
        raise ValueError(fmt)
    df = frame(rows, columns)
    body, mime = (to_xlsx(df, filename), XLSX_MIME) if fmt == "xlsx" else (to_csv(df), "text/csv; charset=utf-8")
    name = f"{filename}.{fmt}"
    resp = Response(body, mimetype=mime)
    # RFC 5987 for the Chinese name, plus an ASCII fallback.
    resp.headers["Content-Disposition"] = f"attachment; filename=export.{fmt}; filename*=UTF-8''{quote(name)}"
    return resp
