"""Evidence attachments (附件) of a nomination, as plain functions.

The files themselves go through ``mingxiao.uploads`` (checked, stored under random names in
the instance's upload folder, never under ``static/``). The 附件 cell of the nomination keeps
the stored names, separated by “；” as the sheet's note says, e.g.
``3f2a…9c.pdf；81be…04.jpg``; the person's file name is upload metadata, not sheet data.
Entries that are not stored names (file numbers typed by hand, such as ``F2026-00012``) are
kept and shown as text; they have nothing to download.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from mingxiao.sheetdb.types import N_
from mingxiao.uploads import STORED_NAME_RE

Problem = tuple[str, dict[str, Any]]

KINDS = ("pdf", "docx", "jpg", "jpeg", "png")
SEPARATOR = "；"
MAX_FILES = 10
MAX_CELL = 500  # the 附件 column's max_length in sheets_schema/nominations.toml

_SPLIT = re.compile(r"[；;\n]+")


def parse(cell: Any) -> list[str]:
    """The entries of a 附件 cell, in order, without blanks or repeats."""
    out: list[str] = []
    for part in _SPLIT.split("" if cell is None else str(cell)):
        entry = part.strip()
        if entry and entry not in out:
            out.append(entry)
    return out


def join(entries: Iterable[str]) -> str | None:
    """The 附件 cell for ``entries`` (None when there is none)."""
    text = SEPARATOR.join(parse(SEPARATOR.join(entries)))
    return text or None


def is_stored(entry: str) -> bool:
    """True for a stored upload's name (something that can be downloaded)."""
    return STORED_NAME_RE.match(entry) is not None


def count_problem(existing: list[str], new: int) -> Problem | None:
    """At most :data:`MAX_FILES` attachments, and they must fit the 附件 cell."""
    total = len(existing) + new
    if total > MAX_FILES:
        return (
            N_(
                "附件最多 {max} 个，已有 {existing} 个，这次又选了 {new} 个。请先删除不需要的附件。"
            ),
            {"max": MAX_FILES, "existing": len(existing), "new": new},
        )
    # a stored name is 32 hex digits, a dot and a kind of up to 5 letters, plus the separator
    if len(SEPARATOR.join(existing)) + new * 39 > MAX_CELL:
        return (
            N_("附件太多，表格里放不下了。请先删除不需要的附件，或把几个文件合并成一个 PDF。"),
            {},
        )
    return None


def without(cell: Any, name: str) -> str | None:
    """The 附件 cell with ``name`` removed."""
    return join(e for e in parse(cell) if e != name)
