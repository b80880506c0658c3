"""Type conversion between sheet cells, Python values and the JSON journal.

Three directions, one place:
- ``parse_cell``: an untrusted raw cell (whatever a person typed) → typed value + problem code.
- ``coerce_input``: a value the app wants to write → typed value, or a Chinese error for the form.
- ``to_cell``: a typed value → what the backend writes (text stays text, never a formula).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any

from .schema import Column


def N_(text: str) -> str:
    """Mark a message template for translation extraction; the UI translates it later."""
    return text


MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ID15_RE = re.compile(r"^\d{15}$")
ID18_RE = re.compile(r"^\d{17}[\dX]$")
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")
DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%dT%H:%M:%S")
TRUE_WORDS = {"是", "true", "yes", "y", "1", "√", "✓", "对"}
FALSE_WORDS = {"否", "false", "no", "n", "0", "×", "✗", "不"}
CELL_UNSAFE_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
MAX_CELL_TEXT = 32767  # Excel's limit for one cell
GB11643_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
GB11643_CHECK = "10X98765432"


def id_card_checksum_ok(value: str) -> bool:
    """GB 11643-1999 check digit of an 18-character resident ID number."""
    if not ID18_RE.match(value):
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], GB11643_WEIGHTS, strict=True))
    return GB11643_CHECK[total % 11] == value[17]


def valid_id_card(value: str) -> bool:
    """An 18-digit number with a correct checksum and a real birth date, or a legacy 15-digit one."""
    if ID15_RE.match(value):
        return True
    if not id_card_checksum_ok(value):
        return False
    try:
        dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return True


def _parse_date(text: str) -> dt.date | None:
    text = text.strip()
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _parse_datetime(text: str) -> dt.datetime | None:
    text = text.strip()
    for fmt in DATETIME_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    try:
        return dt.datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        d = _parse_date(text)
        return dt.datetime.combine(d, dt.time()) if d else None


def _number_text(value: float | int) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# Problem codes produced by parse_cell → message templates (Chinese msgids, translated in the UI).
CELL_MESSAGES: dict[str, str] = {
    "type_int": N_("“{header}”应为整数，这里是“{value}”"),
    "type_decimal": N_("“{header}”应为数字，这里是“{value}”"),
    "type_date": N_("“{header}”应为日期（如 2026-09-01），这里是“{value}”"),
    "type_datetime": N_("“{header}”应为日期时间（如 2026-09-01 09:00），这里是“{value}”"),
    "type_bool": N_("“{header}”应填“是”或“否”，这里是“{value}”"),
    "unknown_enum": N_("“{header}”的值“{value}”不在选项中（可选：{choices}）"),
    "phone_format": N_("“{header}”不是有效的手机号或固定电话：“{value}”"),
    "email_format": N_("“{header}”不是有效的电子邮箱：“{value}”"),
    "id_card_format": N_("“{header}”不是有效的身份证号（18 位，末位校验码）：“{value}”"),
    "number_in_text": N_("“{header}”被输入成了数字“{value}”，Excel 只保留 15 位有效数字"),
    "id_lost_digits": N_("“{header}”被存成了数字“{value}”，身份证号的后几位已丢失"),
    "date_as_number": N_("“{header}”是一个数字“{value}”而不是日期"),
    "too_long": N_("“{header}”超过 {max_length} 字"),
    "required_missing": N_("“{header}”是必填项，但这里是空的"),
    "formula": N_("“{header}”里是公式，系统只读取公式的结果"),
    "error_value": N_("“{header}”是错误值“{value}”（公式或数据出错）"),
}
CELL_FIXES: dict[str, str] = {
    "type_int": N_("请改成整数"),
    "type_decimal": N_("请改成数字"),
    "type_date": N_("请把单元格格式设为日期，或按 2026-09-01 的格式输入"),
    "type_datetime": N_("请按 2026-09-01 09:00 的格式输入"),
    "type_bool": N_("请从下拉框选择“是”或“否”"),
    "unknown_enum": N_("请从下拉框选择，或在“选项列表”工作表中增加该选项"),
    "phone_format": N_("请填写 11 位手机号，或带区号的固定电话"),
    "email_format": N_("请填写形如 name@example.com 的邮箱"),
    "id_card_format": N_("请核对身份证号，最后一位可能是 X"),
    "number_in_text": N_("请把该列设为“文本”格式后重新输入（或在前面加英文单引号）"),
    "id_lost_digits": N_("请把该列设为“文本”格式后重新输入完整的 18 位号码"),
    "date_as_number": N_("请把单元格格式设为日期"),
    "too_long": N_("请缩短内容"),
    "required_missing": N_("请补充该项"),
    "formula": N_("如需固定值，请把公式替换为数值"),
    "error_value": N_("请检查该单元格的公式，或改为正确的值"),
}


def parse_cell(col: Column, raw: Any, choices: tuple[str, ...] = ()) -> tuple[Any, str | None]:
    """Convert one untrusted cell to the column's type.

    Returns ``(value, problem_code)``; on a problem the value is the best readable form of
    what was typed (so the record still shows), never an exception.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, None
    t = col.type
    if isinstance(raw, str):
        raw = raw.strip()
    if t in ("text", "long_text", "ref", "id"):
        if isinstance(raw, bool):
            return ("是" if raw else "否"), None
        if isinstance(raw, int | float):
            return _number_text(raw), ("number_in_text" if t == "id" else None)
        if isinstance(raw, dt.datetime | dt.date):
            return raw.isoformat(), None
        return str(raw), None
    if t == "phone":
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return _number_text(raw), "number_in_text"
        text = str(raw).replace(" ", "")
        if MOBILE_RE.match(text) or LANDLINE_RE.match(text):
            return text, None
        return str(raw), "phone_format"
    if t == "id_card":
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            text = _number_text(raw)
            return text, ("id_lost_digits" if len(text) > 15 or isinstance(raw, float) else "number_in_text")
        text = str(raw).replace(" ", "").upper()
        return text, (None if valid_id_card(text) else "id_card_format")
    if t == "email":
        text = str(raw)
        return text, (None if EMAIL_RE.match(text) else "email_format")
    if t == "enum":
        text = _number_text(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else str(raw)
        if choices and text not in choices:
            return text, "unknown_enum"
        return text, None
    if t == "int":
        if isinstance(raw, bool):
            return str(raw), "type_int"
        if isinstance(raw, int):
            return raw, None
        if isinstance(raw, float):
            return (int(raw), None) if raw.is_integer() else (raw, "type_int")
        try:
            return int(str(raw).replace(",", "")), None
        except ValueError:
            return str(raw), "type_int"
    if t == "decimal":
        if isinstance(raw, bool):
            return str(raw), "type_decimal"
        if isinstance(raw, int | float):
            return float(raw), None
        try:
            val = float(str(raw).replace(",", ""))
        except ValueError:
            return str(raw), "type_decimal"
        return (val, None) if math.isfinite(val) else (str(raw), "type_decimal")
    if t == "date":
        if isinstance(raw, dt.datetime):
            return raw.date(), None
        if isinstance(raw, dt.date):
            return raw, None
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return _number_text(raw), "date_as_number"
        d = _parse_date(str(raw))
        return (d, None) if d else (str(raw), "type_date")
    if t == "datetime":
        if isinstance(raw, dt.datetime):
            return raw.replace(microsecond=0), None
        if isinstance(raw, dt.date):
            return dt.datetime.combine(raw, dt.time()), None
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return _number_text(raw), "date_as_number"
        d2 = _parse_datetime(str(raw))
        return (d2, None) if d2 else (str(raw), "type_datetime")
    if t == "bool":
        if isinstance(raw, bool):
            return raw, None
        if isinstance(raw, int | float) and raw in (0, 1):
            return bool(raw), None
        word = str(raw).strip().lower()
        if word in TRUE_WORDS:
            return True, None
        if word in FALSE_WORDS:
            return False, None
        return str(raw), "type_bool"
    return raw, None


class InputError(ValueError):
    """A value the app tried to write does not fit its column.

    ``template`` is a Chinese msgid (the UI translates it) and ``params`` fill it; ``str()``
    gives the Chinese sentence.
    """

    def __init__(self, template: str, **params: Any) -> None:
        self.template = template
        self.params = params
        super().__init__(template.format(**params))


def coerce_input(col: Column, value: Any, choices: tuple[str, ...] = ()) -> Any:
    """Validate and convert a value coming from a form or code; raise :class:`InputError`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if col.required:
            raise InputError(N_("“{header}”是必填项"), header=col.header)
        return None
    if isinstance(value, str):
        value = value.strip()
    if col.type in ("text", "long_text", "ref", "id", "enum", "phone", "email", "id_card"):
        if not isinstance(value, str):
            if col.type in ("phone", "id_card", "id"):
                raise InputError(N_("“{header}”必须以文本形式提交"), header=col.header)
            value = str(value)
        # Invisible control characters (pasted from other programs) cannot live in a cell:
        # drop them here, so the journal holds exactly what the workbook will hold.
        value = CELL_UNSAFE_CHARS.sub("", value)
        if len(value) > MAX_CELL_TEXT:
            raise InputError(
                N_("“{header}”太长了：一个单元格最多 {max} 字，当前 {n} 字"), header=col.header, max=MAX_CELL_TEXT, n=len(value)
            )
        if col.max_length and len(value) > col.max_length:
            raise InputError(N_("“{header}”最多 {max} 字，当前 {n} 字"), header=col.header, max=col.max_length, n=len(value))
        if col.type == "enum" and choices and value not in choices:
            raise InputError(N_("“{header}”必须是以下之一：{choices}"), header=col.header, choices="、".join(choices))
        if col.type == "phone":
            value = value.replace(" ", "")
            if not (MOBILE_RE.match(value) or LANDLINE_RE.match(value)):
                raise InputError(N_("“{header}”应为 11 位手机号（如 13812345678）或带区号的固定电话"), header=col.header)
        if col.type == "email" and not EMAIL_RE.match(value):
            raise InputError(N_("“{header}”不是有效的电子邮箱"), header=col.header)
        if col.type == "id_card":
            value = value.replace(" ", "").upper()
            if not valid_id_card(value):
                raise InputError(N_("“{header}”不是有效的身份证号：请核对 18 位号码及最后一位校验码"), header=col.header)
        return value
    if col.type == "bool":
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise InputError(N_("“{header}”应为“是”或“否”"), header=col.header)
    if col.type in ("int", "decimal"):
        try:
            num: int | float = int(value) if col.type == "int" else float(value)
        except (TypeError, ValueError):
            raise InputError(N_("“{header}”应为整数") if col.type == "int" else N_("“{header}”应为数字"), header=col.header) from None
        if col.type == "int" and isinstance(value, float) and not value.is_integer():
            raise InputError(N_("“{header}”应为整数"), header=col.header)
        if isinstance(num, float) and not math.isfinite(num):
            raise InputError(N_("“{header}”应为数字"), header=col.header)
        if col.min is not None and num < col.min:
            raise InputError(N_("“{header}”不能小于 {limit:g}"), header=col.header, limit=col.min)
        if col.max is not None and num > col.max:
            raise InputError(N_("“{header}”不能大于 {limit:g}"), header=col.header, limit=col.max)
        return num
    if col.type == "date":
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        d = _parse_date(str(value))
        if d is None:
            raise InputError(N_("“{header}”应为日期，如 2026-09-01"), header=col.header)
        return d
    if col.type == "datetime":
        if isinstance(value, dt.datetime):
            return value.replace(microsecond=0, tzinfo=None)
        if isinstance(value, dt.date):
            return dt.datetime.combine(value, dt.time())
        d2 = _parse_datetime(str(value))
        if d2 is None:
            raise InputError(N_("“{header}”应为日期时间，如 2026-09-01 09:00"), header=col.header)
        return d2
    return value


def to_cell(col: Column, value: Any) -> Any:
    """The value the backend writes for ``value`` (bool as 是/否, text-like types as str)."""
    if value is None:
        return None
    if col.type == "bool":
        return "是" if value else "否"
    if col.is_text_like:
        return str(value)
    if col.type == "decimal" and isinstance(value, int | float):
        return float(value)
    return value


# JSON encoding for the journal: dates survive the round trip.
def _default(obj: Any) -> Any:
    if isinstance(obj, dt.datetime):
        return {"$dt": obj.isoformat()}
    if isinstance(obj, dt.date):
        return {"$date": obj.isoformat()}
    raise TypeError(f"cannot encode {type(obj).__name__}")


def _hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        if "$dt" in obj:
            return dt.datetime.fromisoformat(obj["$dt"])
        if "$date" in obj:
            return dt.date.fromisoformat(obj["$date"])
    return obj


def dumps(value: Any) -> str:
    """JSON for the journal (dates tagged)."""
    return json.dumps(value, default=_default, ensure_ascii=False, sort_keys=True)


def loads(text: str | None) -> Any:
    """Inverse of :func:`dumps`."""
    if text is None:
        return None
    return json.loads(text, object_hook=_hook)


def same_value(a: Any, b: Any) -> bool:
    """Equality for merge decisions: '' and None are the same, 1 and 1.0 are the same."""
    if a in ("", None) and b in ("", None):
        return True
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool) and not isinstance(b, bool):
        return math.isclose(float(a), float(b), rel_tol=0, abs_tol=1e-9)
    return bool(a == b)
