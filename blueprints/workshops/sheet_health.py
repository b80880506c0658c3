"""What the office typed into the workshop sheets that breaks the workshop rules.

The web refuses a second workshop for a trainee and a leave date before the join date, but
staff edit the workbook by hand. This check lists, with the row to fix:

- trainees who lead more than one workshop;
- members whose 退出日期 is before their 加入日期;
- rows pointing at nothing: a workshop whose trainee is not in 学员, a member or activity
  whose workshop is not in 名校长工作室;
- the engine's own cell problems in the three sheets (a date that is not a date…).

Plain functions over the engine: no Flask.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mingxiao.sheetdb import Problem

from . import rules

SHEETS = ("workshops", "workshop_members", "workshop_activities")


@dataclass
class Duplicate:
    """One trainee (id, and the record when the 学员 sheet has it) with their workshops."""

    trainee_id: str
    trainee: Any
    workshops: list[Any]


@dataclass
class SheetCheck:
    """Every violation found; ``titles`` maps sheet key → tab title (for row addresses)."""

    duplicates: list[Duplicate] = field(default_factory=list)
    bad_dates: list[Any] = field(default_factory=list)
    orphans: list[Any] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    readonly: list[str] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return (
            len(self.duplicates)
            + len(self.bad_dates)
            + len(self.orphans)
            + len(self.problems)
            + len(self.readonly)
        )


def workshop_sheet_check(db: Any) -> SheetCheck:
    """Run every check over the workshop sheets as they are now."""
    titles = {key: db.schemas[key].title for key in SHEETS}
    workshops = db.table("workshops").all()
    trainees = db.table("trainees")
    known = {w.id for w in workshops}
    check = SheetCheck(titles=titles)
    check.duplicates = [
        Duplicate(tid, trainees.get(tid), ws)
        for tid, ws in rules.duplicate_workshops(workshops).items()
    ]
    members = db.table("workshop_members").all()
    check.bad_dates = rules.bad_member_dates(members)
    check.orphans = [w for w in workshops if trainees.get(str(w.get("trainee") or "")) is None]
    for rows in (members, db.table("workshop_activities").all()):
        check.orphans += [r for r in rows if str(r.get("workshop") or "") not in known]
    by_title = set(titles.values())
    check.problems = [p for p in db.health() if p.sheet in by_title]
    snap = db.snapshot()
    check.readonly = [titles[k] for k in SHEETS if snap.sheets[k].readonly]
    return check
