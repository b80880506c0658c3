"""Import of a district's existing 《人选汇总表》 (xlsx): read, check row by row, write drafts.

Plain functions without Flask, like ``rules.py``; the views in ``views/importer.py`` call them.

Reading (:func:`read_summary`): the first worksheet (the active one first) with a header row
among its first rows. Columns are recognised by their Chinese header — the nominations
sheet's own headers (those of the official 《人选汇总表》 that ``nominations.summary`` writes,
and the fuller 推荐表 ones such as 身份证号, 民族, 电子邮箱) plus a few common variants
(``HEADER_ALIASES``: 出生年月, 联系电话, 职称…). A title row above the header row is skipped.
Columns with other headers (序号, notes of the district) are ignored and listed.

Checking (:func:`analyse`), for every data row:

1. each recognised cell goes through the engine's types (``parse_cell``, then
   ``coerce_input``): a bad cell is an error at its address, e.g. ``人选汇总表!C7``;
2. a row naming another 区县 (or another 期次) is an error: a district imports its own rows;
3. the same person twice in the file is an error on the later row;
4. a row matching a nomination of the same cohort and district (:func:`same_import_person`:
   the ID number when both have one, else name + phone, else name + school) is *already
   imported* and skipped — so importing the same file again creates nothing;
5. the nomination rules (``rules.validate_nomination``: eligibility, dates, ID check digit,
   the same person nominated elsewhere or admitted before) and finally the engine's own
   ``Table.validate`` — exactly what ``Table.insert`` would refuse.

Required fields: the engine refuses an insert without a required field (身份证号, 性别, 出生日期…),
so a new row missing one is an error naming the empty cell, or — when the whole column is
absent (the official 汇总表 has no 身份证号) — naming the column to add. Rows already imported
are skipped whatever they lack. The file's 状态 and 序号 columns are not imported: every
imported row becomes a 草稿 (draft) of the importing district, to be checked and stamped.

Writing (:func:`write_rows`): the new rows of a slice of the analysis, in one journal
transaction. The views re-run :func:`analyse` before every chunk, under :func:`upload_lock`,
so a repeated chunk finds its rows already imported and writes nothing twice.

The stored upload (``<upload id>.xlsx`` plus its state ``<upload id>.json``) lives in the
imports folder under the instance's upload folder; the state binds it to its owner and
district (:func:`load_state`, :func:`owned_by`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from mingxiao.sheetdb import ValidationError
from mingxiao.sheetdb.types import (
    CELL_FIXES,
    CELL_MESSAGES,
    MOBILE_RE,
    N_,
    InputError,
    coerce_input,
    parse_cell,
)

from . import rules, workflow

Problem = tuple[str, dict[str, Any]]

# The 推荐表 fields an import fills, in the order of the form (期次, 区县 and 状态 come from
# the import itself; 附件 are file ids of this site, never in somebody's spreadsheet).
IMPORT_FIELDS: tuple[str, ...] = (
    "route", "recommending_unit",
    "name", "gender", "birth_date", "id_number", "ethnicity", "political_status", "education",
    "phone", "email",
    "school", "school_type", "position", "head_since", "title",
    "honors", "work_resume", "contribution",
    "cond_political", "cond_management", "cond_integrity", "cond_moral", "cond_development",
    "cond_reputation",
    "no_safety_accident", "no_irregular_conduct", "no_ideology_issue", "no_opinion_incident",
    "declared_on",
)  # fmt: skip
# Columns read only to check the row belongs to this import.
CHECKED_FIELDS = ("district", "cohort")
# Recognised and deliberately not imported: the row number and the status of the old table.
IGNORED_FIELDS = ("status",)
# Other spellings of the headers, as districts' own tables write them (after normalising).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "birth_date": ("出生年月日", "出生年月"),
    "id_number": ("身份证号码", "公民身份号码", "身份证"),
    "education": ("学历",),
    "phone": ("手机", "手机号", "联系电话", "联系方式"),
    "email": ("邮箱", "电子邮件", "Email", "E-mail"),
    "school": ("学校", "学校名称", "工作单位", "所在学校（幼儿园）", "学校（幼儿园）"),
    "school_type": ("学段",),
    "position": ("职务",),
    "head_since": ("任现职时间", "任正职年月", "任正职日期"),
    "title": ("职称",),
    "route": ("申报方式",),
    "district": ("区县", "区县（市）", "所在区县", "区、县（市）"),
}
SEQ_HEADERS = ("序号",)
# Fixes that fit a district's own file better than the engine's (which speak of our workbook).
IMPORT_FIXES = {
    "unknown_enum": N_("请改成括号中的可选值之一"),
    "number_in_text": N_("请把该列设为“文本”格式后重新输入"),
}
HEADER_SCAN_ROWS = 10  # a header row lies within the first rows (title rows above it)
MIN_HEADER_MATCHES = 3
MAX_DATA_ROWS = 2000  # a district's table has dozens of rows; more is not a 汇总表
CHUNK_SIZE = 50
MAX_AGE = dt.timedelta(days=7)  # a stored upload nobody confirmed is removed after this

NEW = "new"
EXISTING = "existing"
ERROR = "error"
CREATED = "created"

IMPORTS_SUBFOLDER = "imports"
UPLOAD_ID_RE = re.compile(r"^[0-9a-f]{32}$")


class ImportFileError(ValueError):
    """The file cannot be read as a 汇总表 at all; ``template``/``params`` as a Problem."""

    def __init__(self, template: str, **params: Any) -> None:
        self.template = template
        self.params = params
        super().__init__(template.format(**params))


@dataclass(frozen=True)
class RowProblem:
    """One thing to fix in a row: a message, the cell (``人选汇总表!C7``) and column it concerns."""

    template: str
    params: dict[str, Any]
    address: str | None = None
    header: str | None = None
    fix: str | None = None  # a msgid without placeholders, e.g. CELL_FIXES[code]
    key: str | None = None  # the field concerned (one problem per field is enough)


@dataclass
class ImportRow:
    """One data row of the file and what the import will do with it."""

    number: int  # the row number in the worksheet (1-based, as Excel shows it)
    values: dict[str, Any]
    status: str = NEW
    problems: list[RowProblem] = field(default_factory=list)
    existing_id: str | None = None  # the nomination it was already imported as
    created_id: str | None = None  # the nomination this import created from it


@dataclass
class SummaryTable:
    """The cells of the worksheet below its header row, with the recognised columns."""

    title: str
    header_row: int
    columns: dict[str, int]  # field key → 0-based column index
    ignored: list[str]  # headers of columns that are not imported
    rows: list[tuple[int, tuple[Any, ...]]]  # (row number, cell values) of non-blank rows

    def address(self, key: str, row: int) -> str:
        """``sheet!C7`` of field ``key`` in row ``row``."""
        return f"{self.title}!{get_column_letter(self.columns[key] + 1)}{row}"


@dataclass
class Analysis:
    """Every data row with its status; ``missing`` are required headers absent from the file."""

    table: SummaryTable
    rows: list[ImportRow]
    missing: list[str]

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)

    @property
    def totals(self) -> dict[str, int]:
        return {s: self.count(s) for s in (NEW, EXISTING, ERROR, CREATED)} | {
            "rows": len(self.rows)
        }


# ---------------------------------------------------------------------------------------------
# reading the file


def normalise_header(text: Any) -> str:
    """A header as compared: no spaces or line breaks, full-width brackets, no ``*`` marks."""
    if text is None:
        return ""
    out = "".join(str(text).split())
    out = out.replace("(", "（").replace(")", "）").strip("*＊:：")
    return out


def header_keys(schema: Any) -> dict[str, str]:
    """Normalised header → field key, for every column the import reads or knowingly ignores."""
    out: dict[str, str] = {}
    for key in (*IMPORT_FIELDS, *CHECKED_FIELDS, *IGNORED_FIELDS):
        out[normalise_header(schema.column(key).header)] = key
    for key, aliases in HEADER_ALIASES.items():
        for alias in aliases:
            out.setdefault(normalise_header(alias), key)
    return out


def _header_of(
    cells: tuple[Any, ...], known: Mapping[str, str]
) -> tuple[dict[str, int], list[str]] | None:
    """(field key → column index, ignored headers) if ``cells`` is a header row, else None."""
    columns: dict[str, int] = {}
    ignored: list[str] = []
    for j, cell in enumerate(cells):
        text = normalise_header(cell)
        if not text:
            continue
        key = known.get(text)
        if key is None or key in columns:
            if text not in SEQ_HEADERS:
                ignored.append(str(cell).strip())
            continue
        columns[key] = j
    if "name" in columns and len(columns) >= MIN_HEADER_MATCHES:
        return columns, ignored
    return None


def _blank(cells: Iterable[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _read_sheet(ws: Any, known: Mapping[str, str]) -> SummaryTable | None:
    """The table of one worksheet, or None when none of its first rows is a header row."""
    if hasattr(ws, "reset_dimensions"):
        ws.reset_dimensions()  # some programs write a wrong <dimension>
    header: tuple[int, dict[str, int], list[str]] | None = None
    data: list[tuple[int, tuple[Any, ...]]] = []
    for number, cells in enumerate(ws.iter_rows(values_only=True), start=1):
        if header is None:
            found = _header_of(tuple(cells), known)
            if found is not None:
                header = (number, *found)
            elif number >= HEADER_SCAN_ROWS:
                return None
            continue
        if _blank(cells):
            continue
        data.append((number, tuple(cells)))
        if len(data) > MAX_DATA_ROWS:
            raise ImportFileError(
                N_(
                    "工作表“{sheet}”超过 {max} 行数据，不像一份区县的《人选汇总表》。请只保留本区县的推荐人选后再上传。"
                ),
                sheet=ws.title,
                max=MAX_DATA_ROWS,
            )
    if header is None:
        return None
    number, columns, ignored = header
    return SummaryTable(ws.title, number, columns, ignored, data)


def read_summary(path: Path, schema: Any) -> SummaryTable:
    """The 汇总表 in the xlsx file at ``path``; :class:`ImportFileError` if there is none.

    The file has passed ``mingxiao.uploads`` (magic bytes, OOXML package, no zip bomb, no
    DTDs); formulas are read as their last computed values.
    """
    known = header_keys(schema)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged package
        raise ImportFileError(
            N_("无法读取这个文件，它可能已损坏。请用 Excel 或 WPS 打开后另存为 .xlsx 再上传。")
        ) from exc
    try:
        sheets = [wb.active, *(ws for ws in wb.worksheets if ws is not wb.active)]
        for ws in sheets:
            if ws is None or not hasattr(ws, "iter_rows"):
                continue  # a chart sheet
            table = _read_sheet(ws, known)
            if table is not None:
                return table
    finally:
        wb.close()
    raise ImportFileError(
        N_(
            "文件中没有找到《人选汇总表》的表头行。表头行应在前 {rows} 行之内，至少包括“姓名”和另外两列，如“性别”“出生日期”“所在学校”。请核对表头的文字后再上传。"
        ),
        rows=HEADER_SCAN_ROWS,
    )


# ---------------------------------------------------------------------------------------------
# who is who


def _squash(value: Any) -> str:
    return "" if value is None else "".join(str(value).split())


def _digits(value: Any) -> str:
    return re.sub(r"[\s-]", "", "" if value is None else str(value))


def same_import_person(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two rows are the same nominee for the purpose of an import.

    The ID number decides when both have one; otherwise name and phone when both have a
    phone; otherwise name and school. Two rows with nothing but a name are not matched.
    """
    id_a = rules.normalise_id_number(a.get("id_number"))
    id_b = rules.normalise_id_number(b.get("id_number"))
    if id_a and id_b:
        return id_a == id_b
    name_a, name_b = _squash(a.get("name")), _squash(b.get("name"))
    if not name_a or name_a != name_b:
        return False
    phone_a, phone_b = _digits(a.get("phone")), _digits(b.get("phone"))
    if phone_a and phone_b:
        return phone_a == phone_b
    school_a, school_b = _squash(a.get("school")), _squash(b.get("school"))
    return bool(school_a) and school_a == school_b


class _People:
    """Records indexed by name and ID number, to compare a row only with its namesakes."""

    def __init__(self) -> None:
        self._index: dict[tuple[str, str], list[Mapping[str, Any]]] = {}

    @staticmethod
    def keys(values: Mapping[str, Any]) -> list[tuple[str, str]]:
        out = []
        if name := _squash(values.get("name")):
            out.append(("name", name))
        if id_number := rules.normalise_id_number(values.get("id_number")):
            out.append(("id", id_number))
        return out

    def add(self, values: Mapping[str, Any], person: Mapping[str, Any] | None = None) -> None:
        for key in self.keys(person if person is not None else values):
            self._index.setdefault(key, []).append(values)

    def near(self, values: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        seen: dict[int, Mapping[str, Any]] = {}
        for key in self.keys(values):
            for rec in self._index.get(key, ()):
                seen.setdefault(id(rec), rec)
        return list(seen.values())


# ---------------------------------------------------------------------------------------------
# checking the rows


def _cell_problem(
    table: SummaryTable, key: str, row: int, col: Any, code: str, value: Any, choices: Any
) -> RowProblem:
    """A cell the engine's ``parse_cell`` refused, with its message and fix."""
    params = {
        "header": col.header,
        "value": value,
        "max_length": col.max_length or "",
        "choices": "、".join(choices),
    }
    fix = IMPORT_FIXES.get(code) or CELL_FIXES.get(code)
    return RowProblem(CELL_MESSAGES[code], params, table.address(key, row), col.header, fix, key)


def _read_row(
    table: SummaryTable, number: int, cells: tuple[Any, ...], schema: Any, db: Any
) -> tuple[dict[str, Any], dict[str, RowProblem], dict[str, Any]]:
    """(typed values, key → cell problem, raw text of the checked columns) of one row."""
    values: dict[str, Any] = {}
    problems: dict[str, RowProblem] = {}
    checked: dict[str, Any] = {}
    for key, j in table.columns.items():
        raw = cells[j] if j < len(cells) else None
        if key in IGNORED_FIELDS:
            continue
        col = schema.column(key)
        if key in CHECKED_FIELDS:
            checked[key] = raw
            continue
        choices = db.choices_for(col)
        if col.type == "phone" and isinstance(raw, int) and MOBILE_RE.match(str(raw)):
            raw = str(raw)  # an 11-digit mobile typed as a number loses nothing
        value, code = parse_cell(col, raw, choices)
        if value is None:
            continue
        if code is not None:
            problems[key] = _cell_problem(table, key, number, col, code, value, choices)
            values[key] = value
            continue
        try:
            values[key] = coerce_input(col, value, choices)
        except InputError as exc:
            problems[key] = RowProblem(
                exc.template, exc.params, table.address(key, number), col.header, key=key
            )
            values[key] = value
    return values, problems, checked


def _problem_at(
    table: SummaryTable, schema: Any, key: str, row: int, problem: Problem
) -> RowProblem:
    template, params = problem
    if key in table.columns:
        header = schema.column(key).header
        return RowProblem(template, params, table.address(key, row), header, key=key)
    if key in schema.keys:
        return RowProblem(template, params, None, schema.column(key).header, key=key)
    return RowProblem(template, params, key=key)


def _cohort_matches(text: Any, cohort: Mapping[str, Any]) -> bool:
    wanted = {_squash(cohort.get("id")), _squash(cohort.get("name"))} - {""}
    return _squash(text) in wanted


def analyse(
    table: SummaryTable,
    db: Any,
    *,
    cohort: Any,
    district: str,
    created: Mapping[int, str] | None = None,
) -> Analysis:
    """What importing ``table`` into ``cohort`` for ``district`` would do, row by row.

    ``cohort`` is the cohort record; ``db`` the engine's Database (the nominations and
    trainees as they are now, pending writes included). ``created`` maps row numbers to the
    nominations an earlier chunk of the same import created: those rows are reported as
    created, not as already imported.
    """
    schema = db.schemas["nominations"]
    table_api = db.table("nominations")
    created = created or {}
    cohort_id = str(cohort.id)
    deadline = cohort.get("nomination_deadline") or db.today()
    today = db.today()
    nominations = table_api.all()
    trainees = db.table("trainees").all()
    noms_by_id = {n.id: n for n in nominations}

    mine = _People()  # this cohort and district: already imported?
    everyone = _People()  # every nomination, for the duplicate rules
    for nom in nominations:
        everyone.add(nom)
        if nom.get("cohort") == cohort_id and nom.get("district") == district:
            mine.add(nom)
    admitted = _People()
    for trainee in trainees:
        admitted.add(trainee, noms_by_id.get(str(trainee.get("nomination") or ""), trainee))

    required = [k for k in IMPORT_FIELDS if schema.column(k).required and k not in table.columns]
    missing = [schema.column(k).header for k in required]
    earlier = _People()  # rows above in the file
    out: list[ImportRow] = []
    for number, cells in table.rows:
        values, cell_problems, checked = _read_row(table, number, cells, schema, db)
        row = ImportRow(number, values)
        out.append(row)
        if number in created:
            row.status, row.created_id = CREATED, created[number]
            earlier.add({**values, "_row": number})
            continue
        # the same person twice in this file: the later row is the error
        twin = next(
            (
                r
                for r in earlier.near(values)
                if same_import_person(values, r)
                or rules.find_duplicates(
                    values, [{**r, "id": str(r["_row"]), "cohort": cohort_id}], [], cohort=cohort_id
                )
            ),
            None,
        )
        earlier.add({**values, "_row": number})
        if twin is not None:
            row.status = ERROR
            row.problems.append(
                RowProblem(
                    N_(
                        "第 {row} 行和第 {other} 行是同一个人：同一人只能推荐一次，请删除重复的一行，或核对姓名、身份证号和手机号码"
                    ),
                    {"row": number, "other": twin["_row"]},
                )
            )
            continue
        existing = next((n for n in mine.near(values) if same_import_person(values, n)), None)
        if existing is not None:
            row.status, row.existing_id = EXISTING, str(existing["id"])
            continue
        row.problems.extend(_row_problems(table, schema, number, values, cell_problems, checked,
                                          cohort=cohort, district=district))  # fmt: skip
        # The rules too, so that one upload lists everything to fix; a field already
        # reported (a bad or missing cell) is not reported twice.
        reported = {p.key for p in row.problems}
        row.problems.extend(
            p
            for p in _rule_problems(table, schema, number, values, district, cohort_id, deadline,
                                    today, everyone, admitted, noms_by_id,
                                    table_api if not row.problems else None)
            if p.key is None or p.key not in reported
        )  # fmt: skip
        row.status = ERROR if row.problems else NEW
    return Analysis(table, out, missing)


def _row_problems(
    table: SummaryTable,
    schema: Any,
    number: int,
    values: dict[str, Any],
    cell_problems: dict[str, RowProblem],
    checked: dict[str, Any],
    *,
    cohort: Any,
    district: str,
) -> list[RowProblem]:
    """Bad cells, another district or cohort, and missing required fields of one new row."""
    problems: list[RowProblem] = []
    if "name" not in values:
        problems.append(
            RowProblem(
                N_(
                    "第 {row} 行没有填写姓名。如果这是说明、合计或落款行，请删除这一行；否则请填写姓名"
                ),
                {"row": number},
                table.address("name", number),
                schema.column("name").header,
                key="name",
            )
        )
    other = _squash(checked.get("district"))
    if other and other != district:
        problems.append(
            RowProblem(
                N_(
                    "这一行的区、县（市）是“{other}”：只能导入本区县（{district}）的推荐人选。其他区县的人选由该区县自己导入，请删除这一行"
                ),
                {"other": other, "district": district},
                table.address("district", number),
                schema.column("district").header,
                key="district",
            )
        )
    text = checked.get("cohort")
    if _squash(text) and not _cohort_matches(text, cohort):
        problems.append(
            RowProblem(
                N_(
                    "这一行的期次是“{other}”，与导入时选择的“{cohort}”不一致：请分期次分别导入，或删除这一行"
                ),
                {"other": _squash(text), "cohort": cohort.get("name") or cohort.id},
                table.address("cohort", number),
                schema.column("cohort").header,
                key="cohort",
            )
        )
    problems.extend(cell_problems.values())
    for key in IMPORT_FIELDS:
        col = schema.column(key)
        if not col.required or key in values or key == "name":
            continue
        if key in table.columns:
            problems.append(
                RowProblem(
                    CELL_MESSAGES["required_missing"],
                    {"header": col.header},
                    table.address(key, number),
                    col.header,
                    CELL_FIXES["required_missing"],
                    key,
                )
            )
        else:
            problems.append(
                RowProblem(
                    N_(
                        "缺少必填项“{header}”：文件中没有这一列。请在表头行增加“{header}”列并填写，系统才能新建这条推荐"
                    ),
                    {"header": col.header},
                    key=key,
                )
            )
    return problems


def _rule_problems(
    table: SummaryTable,
    schema: Any,
    number: int,
    values: dict[str, Any],
    district: str,
    cohort_id: str,
    deadline: dt.date,
    today: dt.date,
    everyone: _People,
    admitted: _People,
    noms_by_id: Mapping[str, Any],
    table_api: Any,
) -> list[RowProblem]:
    """The nomination rules, then (given ``table_api``) the engine's own validation."""
    trainees = admitted.near(values)
    nominations = list(everyone.near(values))
    for trainee in trainees:
        ref = noms_by_id.get(str(trainee.get("nomination") or ""))
        if ref is not None:
            nominations.append(ref)
    found = rules.validate_nomination(
        {**values, "district": district},
        deadline=deadline,
        today=today,
        nominations=nominations,
        trainees=trainees,
        cohort=cohort_id,
    )
    problems = [_problem_at(table, schema, key, number, p) for key, p in found.items()]
    if problems or table_api is None:
        return problems
    try:
        table_api.validate(new_values(values, cohort_id, district), partial=False)
    except ValidationError as exc:
        problems = [_problem_at(table, schema, k, number, p) for k, p in exc.details.items()]
    return problems


def new_values(values: Mapping[str, Any], cohort_id: str, district: str) -> dict[str, Any]:
    """The values of the draft nomination a new row becomes."""
    return {**values, "cohort": cohort_id, "district": district, "status": workflow.DRAFT}


# ---------------------------------------------------------------------------------------------
# writing


def write_rows(
    db: Any,
    analysis: Analysis,
    *,
    cohort_id: str,
    district: str,
    start: int = 0,
    size: int | None = None,
    user: str | None = None,
) -> dict[int, str]:
    """Insert the new rows among ``analysis.rows[start:start + size]``; row number → new id.

    One journal transaction for the chunk. The caller re-analyses before each chunk (under
    :func:`upload_lock`), so rows written before are no longer new.
    """
    end = len(analysis.rows) if size is None else start + size
    chosen = [r for r in analysis.rows[max(start, 0) : end] if r.status == NEW]
    if not chosen:
        return {}
    records = db.table("nominations").insert_many(
        [new_values(r.values, cohort_id, district) for r in chosen], user=user
    )
    out = {}
    for row, rec in zip(chosen, records, strict=True):
        row.status, row.created_id = CREATED, rec.id
        out[row.number] = rec.id
    return out


# ---------------------------------------------------------------------------------------------
# the stored upload and its state


def imports_folder(upload_folder: str | Path) -> Path:
    """Where uploads for import live: a folder of their own under the upload folder."""
    path = Path(upload_folder) / IMPORTS_SUBFOLDER
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def valid_upload_id(upload_id: str) -> bool:
    return isinstance(upload_id, str) and UPLOAD_ID_RE.match(upload_id) is not None


def _state_path(folder: Path, upload_id: str) -> Path:
    if not valid_upload_id(upload_id):
        raise ValueError(upload_id)
    return folder / f"{upload_id}.json"


def upload_lock(folder: Path, upload_id: str) -> FileLock:
    """The lock one confirm request of ``upload_id`` holds at a time (across processes)."""
    return FileLock(str(_state_path(folder, upload_id).with_suffix(".lock")), timeout=60)


def save_state(folder: Path, upload_id: str, state: Mapping[str, Any]) -> None:
    """Write the state of an upload atomically (temp file + replace)."""
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
    district: str,
    cohort_id: str,
    now: dt.datetime,
) -> str:
    """Record a stored upload (``<32 hex>.xlsx`` in ``folder``) as an import; returns its id."""
    upload_id = stored_name.partition(".")[0]
    state = {
        "file": stored_name,
        "original_name": original_name,
        "owner": owner,
        "district": district,
        "cohort": cohort_id,
        "created_at": now.isoformat(),
        "created": {},
        "finished": False,
    }
    save_state(folder, upload_id, state)
    return upload_id


def load_state(folder: Path, upload_id: str) -> dict[str, Any] | None:
    """The state of upload ``upload_id``, or None (unknown id, or not an id at all)."""
    if not valid_upload_id(upload_id):
        return None
    try:
        data = json.loads(_state_path(folder, upload_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def owned_by(state: Mapping[str, Any] | None, email: str | None, district: str | None) -> bool:
    """Only the person who uploaded the file, for the district it was uploaded for, sees it."""
    return (
        state is not None
        and bool(email)
        and state.get("owner") == email
        and bool(district)
        and state.get("district") == district
    )


def created_rows(state: Mapping[str, Any]) -> dict[int, str]:
    """Row number → nomination id of the rows this import has written."""
    return {int(k): str(v) for k, v in (state.get("created") or {}).items()}


def expired(state: Mapping[str, Any], now: dt.datetime) -> bool:
    try:
        made = dt.datetime.fromisoformat(str(state.get("created_at")))
    except ValueError:
        return True
    return now - made > MAX_AGE


def remove_file(folder: Path, state: Mapping[str, Any]) -> None:
    """Delete the stored xlsx of an import (its state stays for the result page)."""
    name = str(state.get("file") or "")
    if UPLOAD_ID_RE.match(name.partition(".")[0]) and name.endswith(".xlsx"):
        (folder / name).unlink(missing_ok=True)


def remove_import(folder: Path, upload_id: str) -> None:
    """Delete an import: its file, state and lock."""
    state = load_state(folder, upload_id)
    if state is not None:
        remove_file(folder, state)
    path = _state_path(folder, upload_id)
    path.unlink(missing_ok=True)
    path.with_suffix(".lock").unlink(missing_ok=True)


def purge_expired(folder: Path, now: dt.datetime) -> int:
    """Remove the imports older than :data:`MAX_AGE`; returns how many."""
    removed = 0
    for path in folder.glob("*.json"):
        upload_id = path.stem
        state = load_state(folder, upload_id)
        if state is None or expired(state, now):
            remove_import(folder, upload_id)
            removed += 1
    return removed
