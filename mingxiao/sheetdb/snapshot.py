"""Parse raw tabs into typed records, with health problems, once per workbook version.

Columns are mapped by header text (order and extra columns don't matter). Nothing a person
typed raises: bad cells become problems with their cell address.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from .backend import CellError, RawSheet
from .health import Problem, cell_address, sheet_problem
from .schema import SchemaSet, SheetSchema
from .types import CELL_FIXES, CELL_MESSAGES, parse_cell

CHOICES_SHEET = "choices"  # the 选项列表 worksheet: columns list_name, value, sort


class Record(dict[str, Any]):
    """A typed row: a dict of column key → value, plus where it came from.

    ``syncing`` is True while the row still waits in the journal; ``problems`` lists the
    health problems of its cells; ``row`` is the sheet row number (None if not yet written).
    """

    __slots__ = ("row", "syncing", "problems", "sheet")

    def __init__(
        self,
        values: dict[str, Any],
        *,
        sheet: str = "",
        row: int | None = None,
        syncing: bool = False,
        problems: tuple[Problem, ...] = (),
    ) -> None:
        super().__init__(values)
        self.sheet = sheet
        self.row = row
        self.syncing = syncing
        self.problems = problems

    @property
    def id(self) -> str:
        return str(self.get("id") or "")

    @property
    def voided(self) -> bool:
        return bool(self.get("voided"))

    def copy_with(self, changes: dict[str, Any], *, syncing: bool | None = None) -> Record:
        """A new record with ``changes`` applied (the original is shared by snapshots)."""
        rec = Record(
            {**self, **changes},
            sheet=self.sheet,
            row=self.row,
            syncing=self.syncing if syncing is None else syncing,
            problems=self.problems,
        )
        return rec


@dataclass
class SheetData:
    """One parsed worksheet."""

    schema: SheetSchema
    records: dict[str, Record] = field(default_factory=dict)  # by id, in sheet order
    unidentified: list[Record] = field(default_factory=list)  # rows typed without an id
    problems: list[Problem] = field(default_factory=list)
    readonly: str | None = None  # Chinese reason, or None when writable
    present: bool = True
    max_seq: dict[str, int] = field(default_factory=dict)  # "N2026" → highest sequence seen
    _index: dict[str, dict[Any, list[str]]] = field(default_factory=dict)

    def index(self, key: str, *, live: bool = False) -> dict[Any, list[str]]:
        """Equality index over ``key`` in sheet order (built on first use, kept for the
        snapshot's life); ``live=True`` leaves voided rows out."""
        name = ("live:" if live else "") + key
        idx = self._index.get(name)
        if idx is None:
            idx = {}
            for rid, rec in self.records.items():
                if live and rec.voided:
                    continue
                idx.setdefault(rec.get(key), []).append(rid)
            self._index[name] = idx
        return idx

    def ids(self, *, live: bool = False) -> list[str]:
        """All ids in sheet order (``live``: not voided), cached like the indexes."""
        name = "*live" if live else "*all"
        cached = self._index.get(name)
        if cached is None:
            cached = {None: [rid for rid, rec in self.records.items() if not (live and rec.voided)]}
            self._index[name] = cached
        return cached[None]


@dataclass
class Snapshot:
    """The whole workbook at one version."""

    version: Hashable
    sheets: dict[str, SheetData]
    choices: dict[str, tuple[str, ...]]
    problems: list[Problem]
    extra_tabs: list[str]

    @staticmethod
    def empty(schemas: SchemaSet) -> Snapshot:
        return Snapshot(
            version=None,
            sheets={k: SheetData(schema=s, present=False) for k, s in schemas.sheets.items()},
            choices=dict(schemas.choice_lists),
            problems=[],
            extra_tabs=[],
        )


def id_seq(schema: SheetSchema, rid: str) -> tuple[str, int] | None:
    """Split an engine id into its counter key and sequence: ``N2026-0012`` → (``N2026``, 12)."""
    if schema.id_year:
        m = re.match(rf"^{schema.id_prefix}(\d{{4}})-(\d+)$", rid)
        return (f"{schema.id_prefix}{m.group(1)}", int(m.group(2))) if m else None
    m = re.match(rf"^{schema.id_prefix}(\d+)$", rid)
    return (schema.id_prefix, int(m.group(1))) if m else None


def _header_map(schema: SheetSchema, raw: RawSheet, problems: list[Problem]) -> dict[str, int]:
    """Column key → 0-based cell index, by header text; reports duplicates and missing ones."""
    positions: dict[str, int] = {}
    for i, h in enumerate(raw.header):
        text = str(h).strip() if h is not None else ""
        if not text:
            continue
        if text in positions:
            problems.append(
                sheet_problem(
                    "duplicate_header", raw.title, cell=cell_address(raw.title, 1, i + 1), header=text, severity="warning"
                )
            )
            continue
        positions[text] = i
    out: dict[str, int] = {}
    for col in schema.columns:
        if col.header in positions:
            out[col.key] = positions[col.header]
    return out


def _choices_from_sheet(schemas: SchemaSet, raw: RawSheet | None) -> dict[str, tuple[str, ...]]:
    lists = dict(schemas.choice_lists)
    schema = schemas.sheets.get(CHOICES_SHEET)
    if raw is None or schema is None:
        return lists
    problems: list[Problem] = []
    hmap = _header_map(schema, raw, problems)
    if "list_name" not in hmap or "value" not in hmap:
        return lists
    found: dict[str, list[tuple[float, int, str]]] = {}
    voided_i = hmap.get("voided")
    def cell(cells: list[Any], i: int | None) -> Any:
        return cells[i] if i is not None and i < len(cells) else None

    for rowno, cells in raw.data_rows():
        name, value = cell(cells, hmap["list_name"]), cell(cells, hmap["value"])
        if str(cell(cells, voided_i) or "").strip() in ("是", "True", "true", "1"):
            continue
        if not name or value in (None, ""):
            continue
        sort = cell(cells, hmap.get("sort"))
        try:
            sort_key = float(sort) if sort not in (None, "") else float("inf")
        except (TypeError, ValueError):
            sort_key = float("inf")
        text = str(value).strip()
        if isinstance(value, float) and value.is_integer():
            text = str(int(value))
        found.setdefault(str(name).strip(), []).append((sort_key, rowno, text))
    for name, vals in found.items():
        vals.sort()
        lists[name] = tuple(dict.fromkeys(v for _, _, v in vals))
    return lists


def _similar_tab(schema: SheetSchema, tabs: dict[str, RawSheet], known_titles: set[str]) -> str | None:
    """The unknown tab whose header row best matches ``schema`` (a renamed tab), if any."""
    want = set(schema.headers)
    best, score = None, 0.0
    for title, raw in tabs.items():
        if title in known_titles:
            continue
        have = {str(h).strip() for h in raw.header if h is not None}
        if not have:
            continue
        s = len(want & have) / len(want)
        if s > score:
            best, score = title, s
    return best if score >= 0.6 else None


def parse_workbook(schemas: SchemaSet, version: Hashable, tabs: dict[str, RawSheet]) -> Snapshot:
    """Turn raw tabs into a :class:`Snapshot`; never raises on cell content."""
    choice_schema = schemas.sheets.get(CHOICES_SHEET)
    choices = _choices_from_sheet(schemas, tabs.get(choice_schema.title) if choice_schema else None)
    known_titles = {s.title for s in schemas.sheets.values()}
    sheets: dict[str, SheetData] = {}
    all_problems: list[Problem] = []
    for key, schema in schemas.sheets.items():
        raw = tabs.get(schema.title)
        if raw is None:
            renamed = _similar_tab(schema, tabs, known_titles)
            p = (
                sheet_problem("renamed_tab", schema.title, renamed=renamed)
                if renamed
                else sheet_problem("missing_tab", schema.title)
            )
            sd = SheetData(schema=schema, present=False, problems=[p], readonly=p.message)
            sheets[key] = sd
            all_problems.append(p)
            continue
        sd = _parse_sheet(schema, raw, schemas, choices)
        sheets[key] = sd
        all_problems.extend(sd.problems)
    extra = [t for t in tabs if t not in known_titles and not t.startswith("_")]
    return Snapshot(version=version, sheets=sheets, choices=choices, problems=all_problems, extra_tabs=extra)


def _parse_sheet(
    schema: SheetSchema, raw: RawSheet, schemas: SchemaSet, choices: dict[str, tuple[str, ...]]
) -> SheetData:
    sd = SheetData(schema=schema)
    problems = sd.problems
    title = schema.title
    hmap = _header_map(schema, raw, problems)
    missing_required = [c for c in schema.columns if c.key not in hmap and (c.required or c.key == "id")]
    for c in schema.columns:
        if c.key in hmap or (c.system and c.key != "id"):
            continue
        required = c in missing_required
        hcode = "missing_required_header" if required else "missing_header"
        problems.append(sheet_problem(hcode, title, header=c.header, severity="error" if required else "warning"))
    if missing_required:
        sd.readonly = "；".join(p.message for p in problems if p.code == "missing_required_header")
    for rng in raw.merged:
        problems.append(sheet_problem("merged_cells", title, cell=f"{title}!{rng}", range=rng, severity="warning"))
    cols = [(c, hmap[c.key], _choices(schemas, c, choices)) for c in schema.columns if c.key in hmap]
    id_index = hmap.get("id")
    first_row_of: dict[str, int] = {}
    for rowno, cells in raw.data_rows():
        if not any(v is not None and not (isinstance(v, str) and not v.strip()) for v in cells):
            continue  # blank row: people leave gaps, that's fine
        values: dict[str, Any] = {}
        row_problems: list[Problem] = []
        for col, ci, ch in cols:
            rawv = cells[ci] if ci < len(cells) else None
            code: str | None
            if isinstance(rawv, CellError):
                value, code = str(rawv), "error_value"
            else:
                value, code = parse_cell(col, rawv, ch)
            if code is None and value is None and col.required:
                code = "required_missing"
            if code is None and col.max_length and isinstance(value, str) and len(value) > col.max_length:
                code = "too_long"
            if code is None and (rowno, ci + 1) in raw.formulas:
                code = "formula"
            values[col.key] = value
            if code:
                row_problems.append(
                    Problem(
                        code=code,
                        sheet=title,
                        template=CELL_MESSAGES[code],
                        params={
                            "header": col.header,
                            "value": "" if rawv is None else str(rawv)[:60],
                            "choices": "、".join(ch[:12]),
                            "max_length": col.max_length or 0,
                        },
                        cell=cell_address(title, rowno, ci + 1),
                        fix_template=CELL_FIXES[code],
                        severity="warning" if code in ("formula", "required_missing", "too_long") else "error",
                    )
                )
        for c in schema.columns:
            values.setdefault(c.key, None)
        rid = values.get("id")
        if values.get("voided") is None:
            values["voided"] = False
        if not rid and id_index is not None and (rowno, id_index + 1) in raw.formulas:
            # A formula in the id cell: never overwrite it with an id; the formula problem
            # above tells the office to replace it by the value.
            problems.extend(row_problems)
            continue
        if not rid:
            rec = Record(values, sheet=key_of(schema), row=rowno, problems=tuple(row_problems))
            sd.unidentified.append(rec)
            problems.append(
                sheet_problem(
                    "missing_id",
                    title,
                    cell=cell_address(title, rowno, (id_index or 0) + 1),
                    row=rowno,
                    severity="warning",
                )
            )
            problems.extend(row_problems)
            continue
        rid = str(rid)
        if rid in sd.records:
            problems.append(
                sheet_problem(
                    "duplicate_id",
                    title,
                    cell=cell_address(title, rowno, (id_index or 0) + 1),
                    value=rid,
                    other_row=first_row_of[rid],
                )
            )
            continue
        first_row_of[rid] = rowno
        row_problems = [
            Problem(**{**p.__dict__, "record_id": rid}) for p in row_problems
        ]
        sd.records[rid] = Record(values, sheet=key_of(schema), row=rowno, problems=tuple(row_problems))
        problems.extend(row_problems)
        seq = id_seq(schema, rid)
        if seq and seq[1] > sd.max_seq.get(seq[0], 0):
            sd.max_seq[seq[0]] = seq[1]
    return sd


def key_of(schema: SheetSchema) -> str:
    return schema.key


def _choices(schemas: SchemaSet, col: Any, choices: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    if col.type != "enum":
        return ()
    if isinstance(col.choices, str):
        return choices.get(col.choices, ())
    return schemas.choices_for(col)
