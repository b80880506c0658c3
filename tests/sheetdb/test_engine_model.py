"""A Hypothesis state machine: random web inserts / updates / voids, hand edits and syncs.

The model keeps two things: what is in the workbook file (``file``) and the journal's pending
operations (``pending``). A sync applies the pending operations in order with the three-way merge
the design promises (DESIGN §2.3):

* an insert appends the row;
* an update with ``base``/``mine`` per field: if the sheet already has ``mine`` nothing changes;
  if the sheet still has ``base`` ``mine`` is written; otherwise the whole operation is parked
  (a hand edit and a web edit hit the same field: the hand value stays);
* a void marks the row 已作废.

Reads show the file overlaid with pending operations. Hand edits go through openpyxl on the real
file, as Excel would save it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, event, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from mingxiao.sheetdb import Database
from tests.sheetdb.helpers import (
    ID_HEADER,
    VOID_HEADER,
    find_row,
    hand_edit,
    header_col,
    open_small,
    rows_calamine,
)

TITLE = "导师"
# The fields the machine edits: key → (header, values a web form or a person may enter).
FIELDS: dict[str, tuple[str, list[Any]]] = {
    "name": ("姓名", ["王老师", "李老师", "张老师"]),
    "organisation": ("工作单位", ["杭州二中", "学军中学", "杭州十四中"]),
    "age": ("年龄", [None, 35, 48]),
    "level": ("级别", [None, "一级", "二级"]),
}
HAND_VALUES = {**{k: v for k, (_h, v) in FIELDS.items()}, "voided": [True, False]}


def same(a: Any, b: Any) -> bool:
    return (a in (None, "") and b in (None, "")) or a == b


class WorkbookMachine(RuleBasedStateMachine):
    """The engine on a real workbook against a dict model."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="sheetdb-model-"))
        self.db: Database = open_small(self.folder)
        self.file: dict[str, dict[str, Any]] = {}  # rows in the workbook, in order
        self.pending: list[
            tuple[str, str, dict[str, Any], dict[str, Any]]
        ] = []  # kind, id, mine, base
        self.acked: list[str] = []
        self.parked = 0

    def teardown(self) -> None:
        self.db.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- the model's view: file overlaid with pending operations --------------------------
    def view(self) -> dict[str, dict[str, Any]]:
        rows = {rid: dict(values) for rid, values in self.file.items()}
        for kind, rid, mine, _base in self.pending:
            if kind == "insert":
                rows[rid] = dict(mine)
            elif rid in rows and kind == "update":
                rows[rid].update(mine)
            elif rid in rows and kind == "void":
                rows[rid]["voided"] = True
        return rows

    def visible(self) -> list[str]:
        return [rid for rid, v in self.view().items() if not v["voided"]]

    # -- rules ----------------------------------------------------------------------------
    @initialize(
        rows=st.lists(
            st.tuples(*(st.sampled_from(v) for _h, v in FIELDS.values())), min_size=1, max_size=3
        )
    )
    def start_with_synced_rows(self, rows: list[tuple[Any, ...]]) -> None:
        """A workbook that already holds a few rows, so hand edits can start at once."""
        assert self.db.table("mentors").all() == []
        for row in rows:
            self.insert(*row)
        self.sync()

    @rule(
        name=st.sampled_from(FIELDS["name"][1]),
        organisation=st.sampled_from(FIELDS["organisation"][1]),
        age=st.sampled_from(FIELDS["age"][1]),
        level=st.sampled_from(FIELDS["level"][1]),
    )
    def insert(self, name: str, organisation: str, age: int | None, level: str | None) -> None:
        values = {"name": name, "organisation": organisation, "age": age, "level": level}
        rec = self.db.table("mentors").insert(values, user="web")
        assert rec.syncing and rec.id not in self.view()
        self.acked.append(rec.id)
        self.pending.append(("insert", rec.id, {**values, "voided": False}, {}))

    @precondition(lambda self: bool(self.visible()))
    @rule(field=st.sampled_from(sorted(FIELDS)), data=st.data())
    def update(self, field: str, data: st.DataObject) -> None:
        rid = data.draw(st.sampled_from(self.visible()), label="row")
        self.update_field(
            rid, field, data.draw(st.sampled_from(FIELDS[field][1]), label="new value")
        )

    def update_field(self, rid: str, field: str, new: Any) -> None:
        mentors = self.db.table("mentors")
        shown = mentors.get(rid)
        assert shown is not None
        base = shown[field]  # what the edit form showed
        assert same(base, self.view()[rid][field])
        res = mentors.update(rid, {field: new}, base={field: base}, user="web")
        if same(new, base):
            assert res.status == "unchanged"
            return
        assert res.status == "pending", res
        self.pending.append(("update", rid, {field: new}, {field: base}))

    @precondition(lambda self: bool(self.visible()))
    @rule(data=st.data())
    def void(self, data: st.DataObject) -> None:
        rid = data.draw(st.sampled_from(self.visible()), label="row")
        self.db.table("mentors").void(rid, user="web", reason="测试")
        self.pending.append(("void", rid, {}, {}))

    @precondition(lambda self: bool(self.file))
    @rule(data=st.data(), field=st.sampled_from(sorted(HAND_VALUES)))
    def hand_edit(self, data: st.DataObject, field: str) -> None:
        rid = data.draw(st.sampled_from(sorted(self.file)), label="row")
        self.edit_cell(
            rid, field, data.draw(st.sampled_from(HAND_VALUES[field]), label="hand value")
        )

    def web_edits_in_flight(self) -> list[tuple[str, str]]:
        return sorted(
            {
                (rid, f)
                for kind, rid, mine, _ in self.pending
                if kind == "update" and rid in self.file
                for f in mine
            }
        )

    @precondition(lambda self: bool(self.web_edits_in_flight()))
    @rule(data=st.data())
    def hand_edit_a_field_the_web_is_saving(self, data: st.DataObject) -> None:
        """Someone in Excel changes the very cell a web save is waiting to write."""
        rid, field = data.draw(st.sampled_from(self.web_edits_in_flight()), label="cell")
        self.edit_cell(
            rid, field, data.draw(st.sampled_from(HAND_VALUES[field]), label="hand value")
        )

    @precondition(lambda self: any(rid in self.file for rid in self.visible()))
    @rule(data=st.data(), same_field=st.booleans())
    def web_save_races_a_hand_edit(self, data: st.DataObject, same_field: bool) -> None:
        """Form loaded, web save acknowledged, then Excel saves a change, then the sync runs."""
        rid = data.draw(st.sampled_from([r for r in self.visible() if r in self.file]), label="row")
        web_field = data.draw(st.sampled_from(sorted(FIELDS)), label="web field")
        hand_field = (
            web_field
            if same_field
            else data.draw(st.sampled_from(sorted(FIELDS)), label="hand field")
        )
        self.update_field(
            rid, web_field, data.draw(st.sampled_from(FIELDS[web_field][1]), label="web value")
        )
        self.edit_cell(
            rid, hand_field, data.draw(st.sampled_from(FIELDS[hand_field][1]), label="hand value")
        )
        self.sync()

    def edit_cell(self, rid: str, field: str, value: Any) -> None:
        header = VOID_HEADER if field == "voided" else FIELDS[field][0]
        cell_value = ("是" if value else "否") if field == "voided" else value
        with hand_edit(self.db.backend.path, TITLE) as ws:  # type: ignore[attr-defined]
            ws.cell(row=find_row(ws, rid), column=header_col(ws, header)).value = cell_value
        self.file[rid][field] = value

    @rule()
    def sync(self) -> None:
        result = self.db.sync()
        assert result is not None and result.error is None and result.blocked is None
        parked_now = 0
        for kind, rid, mine, base in self.pending:
            if kind == "insert":
                self.file[rid] = dict(mine)
            elif kind == "void":
                self.file[rid]["voided"] = True
            else:
                row = self.file[rid]
                changes = {}
                conflict = False
                for f, v in mine.items():
                    if same(row[f], v):
                        continue
                    if same(row[f], base[f]):
                        changes[f] = v
                    else:
                        conflict = True
                if conflict:
                    parked_now += 1
                else:
                    row.update(changes)
        if parked_now:
            event("a hand edit and a web edit hit the same field")
        if any(kind == "update" for kind, *_ in self.pending) and self.file and not parked_now:
            event("web updates merged")
        self.pending = []
        self.parked += parked_now
        assert result.parked == parked_now
        self.check_file()

    # -- invariants -------------------------------------------------------------------------
    @invariant()
    def reads_show_the_file_overlaid_with_pending_operations(self) -> None:
        mentors = self.db.table("mentors")
        view = self.view()
        for rid, want in view.items():
            got = mentors.get(rid, include_voided=True)
            assert got is not None, rid
            assert {k: got[k] for k in want} == want, rid
            assert got.syncing == any(p[1] == rid for p in self.pending), rid
            assert (mentors.get(rid) is None) == want["voided"]
        visible = [rid for rid in view if not view[rid]["voided"]]
        assert sorted(r.id for r in mentors.where()) == sorted(visible)
        assert sorted(r.id for r in mentors.where(lambda r: True)) == sorted(visible)

    @invariant()
    def parked_operations_are_counted(self) -> None:
        assert len(self.db.conflicts()) == self.parked
        assert self.db.incidents() == []

    def check_file(self) -> None:
        """After a sync: the workbook holds exactly the model's rows, each acknowledged id once."""
        rows = rows_calamine(self.db.backend.path, TITLE)  # type: ignore[attr-defined]
        ids = [r[ID_HEADER] for r in rows]
        assert Counter(ids) == Counter(self.acked)
        assert ids == list(self.file)  # appended in order, never moved
        for row in rows:
            want = self.file[row[ID_HEADER]]
            for key, (header, _values) in FIELDS.items():
                cell = row[header]
                cell = None if cell == "" else (int(cell) if isinstance(cell, float) else cell)
                assert same(cell, want[key]), (row[ID_HEADER], key, cell, want[key])
            assert row[VOID_HEADER] == ("是" if want["voided"] else "否")
        assert self.db.status()["pending"] == 0


WorkbookMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_engine_against_a_dict_model = WorkbookMachine.TestCase
