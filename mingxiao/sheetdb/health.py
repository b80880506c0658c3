"""Health problems: everything wrong with the workbook, each with a cell address and a fix.

A problem never stops the engine: the record shows with the problem flagged. A missing
required header (or a missing tab) makes that sheet read-only until a person fixes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .types import N_

SHEET_MESSAGES: dict[str, str] = {
    "missing_tab": N_("工作表“{title}”不存在"),
    "renamed_tab": N_("工作表“{title}”不存在（可能被改名为“{renamed}”）"),
    "missing_header": N_("工作表“{title}”缺少表头“{header}”"),
    "missing_required_header": N_("工作表“{title}”缺少必需的表头“{header}”，该表暂时只读"),
    "duplicate_header": N_("工作表“{title}”有两列都叫“{header}”，系统只使用第一列"),
    "duplicate_id": N_("编号“{value}”重复出现（也在第 {other_row} 行），系统只使用第一行"),
    "missing_id": N_("第 {row} 行没有编号"),
    "merged_cells": N_("工作表“{title}”中有合并单元格 {range}"),
    "unreadable": N_("无法读取工作簿：{reason}"),
}
SHEET_FIXES: dict[str, str] = {
    "missing_tab": N_("请把工作表改回原名，或运行“flask --app app sheets init”重新创建"),
    "renamed_tab": N_("请把工作表“{renamed}”改回“{title}”"),
    "missing_header": N_("请把表头改回原名；系统下次写入时会在末尾补上该列"),
    "missing_required_header": N_("请把表头改回原名（第 1 行），改好后自动恢复可写"),
    "duplicate_header": N_("请删除或改名多余的一列"),
    "duplicate_id": N_("请删除重复的行，或清空其中一行的编号，系统会重新分配"),
    "missing_id": N_("无需处理：系统下次同步时会自动分配编号"),
    "merged_cells": N_("请取消合并单元格，每个单元格只放一个值"),
    "unreadable": N_("请用 Excel/WPS 另存为 .xlsx，或在“备份”页面恢复最近的备份"),
}


@dataclass(frozen=True)
class Problem:
    """One health problem. ``template``/``fix_template`` are Chinese msgids; ``params`` fill them."""

    code: str
    sheet: str  # tab title
    template: str
    params: dict[str, Any] = field(default_factory=dict)
    cell: str | None = None  # "人选推荐!F12"
    fix_template: str = ""
    record_id: str | None = None
    severity: str = "error"  # "error" | "warning"

    @property
    def message(self) -> str:
        return self.template.format(**self.params)

    @property
    def fix(self) -> str:
        return self.fix_template.format(**self.params) if self.fix_template else ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "sheet": self.sheet,
            "cell": self.cell,
            "record_id": self.record_id,
            "severity": self.severity,
            "message": self.message,
            "fix": self.fix,
        }


def sheet_problem(code: str, title: str, *, cell: str | None = None, severity: str = "error", **params: Any) -> Problem:
    """Build a sheet-level problem from the message tables above."""
    return Problem(
        code=code,
        sheet=title,
        template=SHEET_MESSAGES[code],
        params={"title": title, **params},
        cell=cell,
        fix_template=SHEET_FIXES[code],
        severity=severity,
    )


def column_letter(index: int) -> str:
    """1 → A, 27 → AA."""
    letters = ""
    while index > 0:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def cell_address(title: str, row: int, col: int) -> str:
    """``人选推荐!F12``; titles with spaces or punctuation are quoted as Excel does."""
    needs_quote = any(ch in title for ch in " -'!()") or title[:1].isdigit()
    shown = "'" + title.replace("'", "''") + "'" if needs_quote else title
    return f"{shown}!{column_letter(col)}{row}"
