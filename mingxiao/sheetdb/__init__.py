"""mingxiao.sheetdb — a spreadsheet used as a trustworthy database (Flask-free).

Public API (see DESIGN.md §2)::

    from mingxiao.sheetdb import open_database
    db = open_database(workbook="instance/mingxiao.xlsx", instance="instance")
    nominations = db.table("nominations")

    rec = nominations.insert({"name": "张三", ...}, user="a@b.cn")   # durable when it returns
    rec.id                      # "N2026-0001"
    rec["name"], rec.syncing    # values typed per schema; syncing=True until in the workbook
    nominations.get("N2026-0001")                     # Record | None
    nominations.where(district="上城区")               # list[Record]; also where(pred)
    page = nominations.page(1, per_page=50, district="上城区", order_by="-created_at")
    page.items, page.total, page.pages
    res = nominations.update(rec.id, {"phone": "13800000000"}, base=form_base, user=...)
    res.status                  # "pending" | "parked"; res.conflicts: list[FieldConflict]
    nominations.void(rec.id, user=..., reason="重复")
    nominations.to_dataframe()

    db.sync()                   # apply pending operations now (group commit)
    db.status()                 # {"backend", "pending", "parked", "last_sync", "problems", ...}
    db.health()                 # list[Problem] with cell addresses
    db.conflicts(); db.resolve(seq, {"field": "mine"|"theirs"|value}, user=...)
    db.audit(sheet=..., record_id=..., user=...)      # web and direct edits together
    db.incidents(); db.reapply_incident(incident_id, user=...)
    db.backup(); db.list_backups(); db.restore_backup(name, user=...)
    db.choices("districts")     # the choice list, as extended in the 选项列表 sheet
"""

from .backend import Backend, Batch, RawSheet, WorkbookError, WriteBlocked
from .engine import (
    Database,
    FieldConflict,
    Operation,
    Page,
    Record,
    SheetReadOnly,
    Table,
    UpdateResult,
    ValidationError,
    open_database,
)
from .health import Problem
from .schema import Column, SchemaError, SchemaSet, SheetSchema, load_schemas

__all__ = [
    "Backend",
    "Batch",
    "Column",
    "Database",
    "FieldConflict",
    "Operation",
    "Page",
    "Problem",
    "RawSheet",
    "Record",
    "SchemaError",
    "SchemaSet",
    "SheetReadOnly",
    "SheetSchema",
    "Table",
    "UpdateResult",
    "ValidationError",
    "WorkbookError",
    "WriteBlocked",
    "load_schemas",
    "open_database",
]
