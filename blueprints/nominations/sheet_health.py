"""What the nominations list says about the health of the sheets behind it.

The office edits 人选推荐 and 推荐名额 by hand; the engine's health check turns every cell that
does not fit its column (a status typed outside the choice list, a date that is not a date…)
into a problem with its cell address. The admins see every problem of those two sheets.
District staff see only the problems in rows of their own district (their own data, which
they may fix through the office), never another district's cells or values; when the
nominations sheet is read-only (a required header is missing) they are told that saving is
paused while the office repairs the sheet, without details. Plain functions: no Flask.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mingxiao.sheetdb import Problem

SHEETS = ("nominations", "nomination_quotas")
SHOWN_MAX = 20  # the list page shows the first problems; the health page has them all


@dataclass(frozen=True)
class SheetNotice:
    """``problems``: the ones this reader may see (at most ``SHOWN_MAX``); ``total``: how many
    of those there are in all; ``readonly``: titles of sheets that cannot be saved now."""

    problems: list[Problem] = field(default_factory=list)
    total: int = 0
    readonly: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.total or self.readonly)


def nomination_sheet_notice(db: Any, *, district: str | None) -> SheetNotice:
    """The notice for the nominations list: every problem of the nominations and quotas sheets
    for the city office (``district=None``), only those in the nominations of ``district``
    for its staff."""
    snap = db.snapshot()
    titles = {db.schemas[key].title: key for key in SHEETS}
    problems = [p for p in db.health() if p.sheet in titles or p.code == "unreadable"]
    readonly = [t for t, key in titles.items() if snap.sheets[key].readonly]
    if district is not None:
        own = db.table("nominations")
        problems = [
            p
            for p in problems
            if titles.get(p.sheet) == "nominations"
            and p.record_id
            and (rec := own.get(p.record_id)) is not None
            and rec.get("district") == district
        ]
        readonly = [t for t in readonly if titles[t] == "nominations"]
    return SheetNotice(problems=problems[:SHOWN_MAX], total=len(problems), readonly=readonly)
