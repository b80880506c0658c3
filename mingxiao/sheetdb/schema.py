"""Worksheet schemas: TOML files in ``sheets_schema/`` turned into frozen dataclasses.

A schema file declares one worksheet (see DESIGN.md §2.1). The loader validates every file at
start-up and raises :class:`SchemaError` naming the file and the offending key, so a typo in a
schema stops the app instead of corrupting the workbook.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

COLUMN_TYPES = frozenset(
    {
        "text",
        "long_text",
        "int",
        "decimal",
        "date",
        "datetime",
        "bool",
        "enum",
        "ref",
        "phone",
        "email",
        "id_card",
        "id",
    }
)
# Types whose values are kept as text in the sheet, never as numbers (Excel keeps 15 digits).
TEXT_LIKE_TYPES = frozenset({"text", "long_text", "enum", "ref", "phone", "email", "id_card", "id"})

# Keys that would shadow dict methods on Record (``record.items`` in a template) are refused.
RESERVED_KEYS = frozenset(
    {"items", "keys", "values", "get", "update", "pop", "copy", "clear", "setdefault", "popitem"}
)
KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
PREFIX_RE = re.compile(r"^[A-Z]{1,4}$")

# Columns every sheet carries; the engine owns their values.
SYSTEM_COLUMNS: tuple[dict[str, Any], ...] = (
    {"key": "created_at", "header": "创建时间", "type": "datetime", "help": "由系统填写"},
    {"key": "updated_at", "header": "更新时间", "type": "datetime", "help": "由系统填写"},
    {
        "key": "voided",
        "header": "已作废",
        "type": "bool",
        "help": "作废的记录保留在表中以备审计；填“是”表示作废",
    },
)
ID_COLUMN: dict[str, Any] = {
    "key": "id",
    "header": "编号",
    "type": "id",
    "help": "系统分配的编号，请勿修改",
}


class SchemaError(Exception):
    """A schema file is invalid; the message names the file and the key."""


@dataclass(frozen=True)
class Column:
    """One column of a worksheet."""

    key: str
    header: str
    type: str
    required: bool = False
    choices: tuple[str, ...] | str | None = None  # inline values, or the name of a choice list
    max_length: int | None = None
    min: float | None = None
    max: float | None = None
    help: str = ""
    ref: str | None = None  # for type "ref": the sheet key the id points to
    system: bool = False

    @property
    def is_text_like(self) -> bool:
        return self.type in TEXT_LIKE_TYPES


@dataclass(frozen=True)
class SheetSchema:
    """One worksheet: its key (file stem), tab title, id prefix and columns."""

    key: str
    title: str
    id_prefix: str
    columns: tuple[Column, ...]
    description: str = ""
    id_year: bool = True  # ids like N2026-0001 (True) or M0001 (False)
    seed: tuple[dict[str, Any], ...] = ()
    source: str = ""

    def column(self, key: str) -> Column:
        for col in self.columns:
            if col.key == key:
                return col
        raise KeyError(f"{self.key}: no column {key!r}")

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.columns)

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(c.header for c in self.columns)

    @property
    def user_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if not c.system and c.key != "id")


@dataclass(frozen=True)
class SchemaSet:
    """All worksheets plus the named choice lists."""

    sheets: dict[str, SheetSchema]
    choice_lists: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __getitem__(self, key: str) -> SheetSchema:
        return self.sheets[key]

    def __iter__(self) -> Iterator[SheetSchema]:
        return iter(self.sheets.values())

    def by_title(self, title: str) -> SheetSchema | None:
        for s in self.sheets.values():
            if s.title == title:
                return s
        return None

    def choices_for(self, col: Column) -> tuple[str, ...]:
        """The static (schema-declared) choices of an enum column."""
        if isinstance(col.choices, tuple):
            return col.choices
        if isinstance(col.choices, str):
            return self.choice_lists.get(col.choices, ())
        return ()

    def merged(self, extra: dict[str, SheetSchema]) -> SchemaSet:
        """A new set with plugin-provided sheets added; a key or title claimed twice is an error."""
        sheets = dict(self.sheets)
        for key, sch in extra.items():
            if key in sheets:
                raise SchemaError(f"{sch.source}: 工作表键 {key!r} 已由 {sheets[key].source} 声明")
            sheets[key] = sch
        _check_unique_titles(sheets)
        return SchemaSet(sheets=sheets, choice_lists=self.choice_lists)


def _fail(path: Path | str, where: str, msg: str) -> SchemaError:
    return SchemaError(f"{path}: {where}: {msg}")


def _column(path: Path, idx: int, raw: Any, lists: dict[str, tuple[str, ...]]) -> Column:
    where = f"columns[{idx}]"
    if not isinstance(raw, dict):
        raise _fail(path, where, "每一列必须是一个表（[[columns]]）")
    allowed = {"key", "header", "type", "required", "choices", "max_length", "min", "max", "help", "ref"}
    unknown = set(raw) - allowed
    if unknown:
        raise _fail(path, f"{where}.{sorted(unknown)[0]}", "未知的列属性")
    key = raw.get("key")
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise _fail(path, f"{where}.key", f"列键 {key!r} 必须是小写英文、数字和下划线")
    where = f"columns[{idx}] ({key})"
    if key in RESERVED_KEYS:
        raise _fail(path, f"{where}.key", f"列键 {key!r} 是保留字")
    header = raw.get("header")
    if not isinstance(header, str) or not header.strip():
        raise _fail(path, f"{where}.header", "缺少中文表头")
    ctype = raw.get("type", "text")
    if ctype not in COLUMN_TYPES:
        raise _fail(path, f"{where}.type", f"未知类型 {ctype!r}，可用：{', '.join(sorted(COLUMN_TYPES))}")
    choices = raw.get("choices")
    if ctype == "enum":
        if isinstance(choices, list):
            if not choices or not all(isinstance(c, str) and c for c in choices):
                raise _fail(path, f"{where}.choices", "选项必须是非空字符串列表")
            choices = tuple(choices)
        elif isinstance(choices, str):
            if choices not in lists:
                raise _fail(path, f"{where}.choices", f"未定义的选项列表 {choices!r}")
        else:
            raise _fail(path, f"{where}.choices", "枚举列必须给出 choices")
    elif choices is not None:
        raise _fail(path, f"{where}.choices", "只有 enum 类型的列可以有 choices")
    ref = raw.get("ref")
    if ctype == "ref" and not isinstance(ref, str):
        raise _fail(path, f"{where}.ref", "ref 类型的列必须给出被引用的工作表键 ref")
    for num in ("max_length",):
        if num in raw and (not isinstance(raw[num], int) or raw[num] <= 0):
            raise _fail(path, f"{where}.{num}", "必须是正整数")
    for num in ("min", "max"):
        if num in raw and not isinstance(raw[num], int | float):
            raise _fail(path, f"{where}.{num}", "必须是数字")
    required = raw.get("required", False)
    if not isinstance(required, bool):
        raise _fail(path, f"{where}.required", "必须是 true 或 false")
    return Column(
        key=key,
        header=header.strip(),
        type=ctype,
        required=required,
        choices=choices,
        max_length=raw.get("max_length"),
        min=raw.get("min"),
        max=raw.get("max"),
        help=str(raw.get("help", "")),
        ref=ref,
    )


def _check_unique_titles(sheets: dict[str, SheetSchema]) -> None:
    seen: dict[str, str] = {}
    for s in sheets.values():
        if s.title in seen:
            raise SchemaError(f"{s.source}: title: 工作表名 {s.title!r} 已由 {seen[s.title]} 使用")
        seen[s.title] = s.source
    prefixes: dict[str, str] = {}
    for s in sheets.values():
        if s.id_prefix in prefixes:
            raise SchemaError(
                f"{s.source}: id_prefix: 编号前缀 {s.id_prefix!r} 已由 {prefixes[s.id_prefix]} 使用"
            )
        prefixes[s.id_prefix] = s.source


def load_sheet(path: Path, lists: dict[str, tuple[str, ...]]) -> SheetSchema:
    """Load one schema file; ``lists`` are the named choice lists already known."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SchemaError(f"{path}: 无法解析 TOML：{exc}") from exc
    allowed = {"title", "id_prefix", "id_year", "description", "columns", "seed", "lists"}
    unknown = set(data) - allowed
    if unknown:
        raise _fail(path, sorted(unknown)[0], "未知的顶层键")
    title = data.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > 31 or any(ch in title for ch in "[]:*?/\\"):
        raise _fail(path, "title", "工作表名必须是 1–31 个字符且不含 []:*?/\\")
    prefix = data.get("id_prefix")
    if not isinstance(prefix, str) or not PREFIX_RE.match(prefix):
        raise _fail(path, "id_prefix", "编号前缀必须是 1–4 个大写英文字母")
    raw_cols = data.get("columns")
    if not isinstance(raw_cols, list) or not raw_cols:
        raise _fail(path, "columns", "至少需要一列")
    cols: list[Column] = []
    declared = [c.get("key") for c in raw_cols if isinstance(c, dict)]
    if "id" not in declared:
        cols.append(Column(**ID_COLUMN, system=True))
    for i, raw in enumerate(raw_cols):
        col = _column(path, i, raw, lists)
        if col.key == "id":
            col = Column(**ID_COLUMN, system=True)  # one id header everywhere: 编号
        if col.key in {s["key"] for s in SYSTEM_COLUMNS}:
            raise _fail(path, f"columns[{i}].key", f"{col.key!r} 是系统列，不能自行声明")
        cols.append(col)
    cols.extend(Column(**sc, system=True) for sc in SYSTEM_COLUMNS)
    keys = [c.key for c in cols]
    headers = [c.header for c in cols]
    for i, k in enumerate(keys):
        if keys.index(k) != i:
            raise _fail(path, f"columns ({k})", "列键重复")
    for i, h in enumerate(headers):
        if headers.index(h) != i:
            raise _fail(path, f"columns ({keys[i]}).header", f"表头 {h!r} 重复")
    seed_rows = data.get("seed", [])
    if not isinstance(seed_rows, list) or not all(isinstance(r, dict) for r in seed_rows):
        raise _fail(path, "seed", "seed 必须是 [[seed]] 表数组")
    for i, row in enumerate(seed_rows):
        bad = set(row) - set(keys)
        if bad:
            raise _fail(path, f"seed[{i}].{sorted(bad)[0]}", "种子数据中有未知列")
    id_year = data.get("id_year", True)
    if not isinstance(id_year, bool):
        raise _fail(path, "id_year", "必须是 true 或 false")
    return SheetSchema(
        key=path.stem,
        title=title.strip(),
        id_prefix=prefix,
        columns=tuple(cols),
        description=str(data.get("description", "")),
        id_year=id_year,
        seed=tuple(seed_rows),
        source=str(path),
    )


def _load_lists(path: Path) -> dict[str, tuple[str, ...]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SchemaError(f"{path}: 无法解析 TOML：{exc}") from exc
    raw = data.get("lists", {})
    if not isinstance(raw, dict):
        raise _fail(path, "lists", "lists 必须是表")
    out: dict[str, tuple[str, ...]] = {}
    for name, values in raw.items():
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
            raise _fail(path, f"lists.{name}", "选项列表必须是非空字符串数组")
        out[name] = tuple(values)
    return out


def load_schemas(directory: Path | str) -> SchemaSet:
    """Load every ``*.toml`` in ``directory``; raise :class:`SchemaError` on the first bad one."""
    directory = Path(directory)
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise SchemaError(f"{directory}: 没有找到任何工作表定义（*.toml）")
    lists: dict[str, tuple[str, ...]] = {}
    for f in files:
        for name, values in _load_lists(f).items():
            if name in lists:
                raise _fail(f, f"lists.{name}", "选项列表重复定义")
            lists[name] = values
    sheets = {f.stem: load_sheet(f, lists) for f in files}
    _check_unique_titles(sheets)
    for s in sheets.values():
        for c in s.columns:
            if c.type == "ref" and c.ref not in sheets:
                raise _fail(s.source, f"columns ({c.key}).ref", f"引用了不存在的工作表 {c.ref!r}")
    return SchemaSet(sheets=sheets, choice_lists=lists)


def default_schema_dir() -> Path:
    """The ``sheets_schema/`` folder shipped beside the package."""
    return Path(__file__).resolve().parents[2] / "sheets_schema"
