"""The change history (修改记录) of one nomination, read from the engine's audit trail.

Web edits and edits typed straight into the workbook (Excel/WPS) share one audit trail: the
engine diffs the sheet after each outside change and records sheet, row id, field, old → new
with the source ``sheet``. This module turns those entries into rows a person reads: when, who
(the web user, 直接编辑表格 or 系统), which column, old → new. A web save still waiting in the
journal (not yet in the workbook) shows first, marked ``syncing``, so the author sees it at once.
Phone and ID-card values are masked unless the reader may see them (``reveal``).
Plain functions: no Flask.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from mingxiao.masking import mask_id_card, mask_phone
from mingxiao.sheetdb import Operation
from mingxiao.sheetdb.types import N_

SHEET = "nominations"
HISTORY_LIMIT = 200
# Stamped by the engine on every write: noise in a history a person reads.
HIDDEN_FIELDS = frozenset({"created_at", "updated_at"})
MASKS: dict[str, Callable[[Any, bool], str]] = {"phone": mask_phone, "id_card": mask_id_card}


@dataclass(frozen=True)
class Change:
    """One line of the history. ``source`` is the audit source: web, sheet (a direct edit in
    the workbook) or system; ``who`` is the web user's name (None when not to be shown);
    ``note`` is an untranslated msgid or free text (e.g. 新增, 在表格中新增了这一行);
    ``syncing`` marks a web save still waiting to be written to the workbook."""

    at: str  # Beijing wall time as text (journal.now_iso), as the admin audit page shows it
    source: str
    who: str | None
    field: str | None
    header: str | None
    old: str | None
    new: str | None
    note: str | None = None
    syncing: bool = False

    @property
    def direct_edit(self) -> bool:
        return self.source == "sheet"


def _text(value: Any) -> str | None:
    """A journaled value as the audit trail keeps it (readable text)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


class _Reader:
    """Turns audit entries and pending operations into :class:`Change` rows for one reader."""

    def __init__(self, db: Any, reveal: bool) -> None:
        self.schema = db.schemas[SHEET]
        self.reveal = reveal
        self.names = {
            str(u.get("email")): u.get("name")
            for u in db.table("users").all(include_voided=True)
            if u.get("email")
        }

    def who(self, source: str, user: str | None) -> str | None:
        if source != "web" or not user:
            return None
        return self.names.get(user) or (user if self.reveal else None)

    def change(
        self,
        *,
        at: str,
        source: str,
        user: str | None,
        key: str | None,
        old: Any,
        new: Any,
        note: str | None,
        syncing: bool = False,
    ) -> Change:
        col = self.schema.column(key) if key and key in self.schema.keys else None
        old, new = _text(old), _text(new)
        mask = MASKS.get(col.type) if col is not None else None
        if mask is not None:
            old = mask(old, self.reveal) if old is not None else None
            new = mask(new, self.reveal) if new is not None else None
        return Change(
            at=at,
            source=source,
            who=self.who(source, user),
            field=key,
            header=col.header if col is not None else key,
            old=old,
            new=new,
            note=note,
            syncing=syncing,
        )

    def pending(self, ops: Iterable[Operation]) -> list[Change]:
        out: list[Change] = []
        for op in sorted(ops, key=lambda o: o.seq, reverse=True):
            common: dict[str, Any] = dict(
                at=op.created_at, source="web", user=op.user, syncing=True
            )
            if op.kind == "insert":
                out.append(self.change(**common, key=None, old=None, new=None, note=N_("新增")))
            elif op.kind == "void":
                out.append(
                    self.change(**common, key="voided", old=False, new=True, note=N_("作废"))
                )
            else:
                base = op.base or {}
                for key, value in op.values.items():
                    if key not in HIDDEN_FIELDS:
                        out.append(
                            self.change(**common, key=key, old=base.get(key), new=value, note=None)
                        )
        return out


def nomination_history(
    db: Any, nomination_id: str, *, reveal: bool, limit: int = HISTORY_LIMIT
) -> list[Change]:
    """The changes to ``nomination_id``, newest first: web saves still syncing, then the audit
    trail. Phone and ID numbers are masked unless ``reveal``. The web user shows by the
    account's name; without a name, by the email only to readers who may see personal data."""
    reader = _Reader(db, reveal)
    mine = [op for op in db.pending() if op.sheet == SHEET and op.record_id == nomination_id]
    out = reader.pending(mine)
    for e in db.audit(sheet=SHEET, record_id=nomination_id, limit=limit):
        if e.get("field") in HIDDEN_FIELDS:
            continue
        out.append(
            reader.change(
                at=str(e.get("at") or ""),
                source=str(e.get("source") or ""),
                user=e.get("user"),
                key=e.get("field"),
                old=e.get("old"),
                new=e.get("new"),
                note=e.get("note"),
            )
        )
    return out[:limit]
