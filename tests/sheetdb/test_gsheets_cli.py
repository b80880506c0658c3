"""``flask sheets migrate`` both ways and ``sheets backup`` on Google, against the in-repo fake."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
from flask import Flask
from flask.testing import FlaskCliRunner

from app import create_app
from mingxiao.database import close_db, get_db
from mingxiao.sheetdb.fake_google import FakeGoogle
from tests.conftest import init_workbook, make_config

TITLE = "导师"


def _seed(app: Flask) -> list[str]:
    db = get_db(app)
    mentors = db.table("mentors")
    fields = {c.key for c in mentors.schema.columns}
    ids = []
    for i in range(25):
        values = {"name": f"导师{i}", "organisation": "杭州二中"}
        values = {k: v for k, v in values.items() if k in fields}
        required = [c for c in mentors.schema.columns if c.required and c.key not in values and c.key != "id"]
        for c in required:
            values[c.key] = db.choices_for(c)[0] if c.type == "enum" else ("13812345678" if c.type == "phone" else "某某")
        ids.append(mentors.insert(values, user="admin").id)
    db.sync()
    return ids


def test_migrate_to_google_copies_every_tab_and_verifies_the_counts(
    app: Flask, runner: FlaskCliRunner, fake_google: FakeGoogle
) -> None:
    init_workbook(app)
    ids = _seed(app)
    key = fake_google.create_spreadsheet()
    app.config.update(GSHEETS_KEY=key, GSHEETS_API_BASE=fake_google.base_url)
    result = runner.invoke(args=["sheets", "migrate", "--to", "gsheets"])
    assert result.exit_code == 0, result.output
    assert "核对通过" in result.output and f"{TITLE}: 25 → 25" in result.output
    rows = fake_google.ui_rows(key, TITLE)
    id_col = rows[0].index("编号")
    assert [r[id_col] for r in rows[1:]] == ids
    assert fake_google.books[key].sheet(TITLE).frozen == 1  # type: ignore[union-attr]
    again = runner.invoke(args=["sheets", "migrate", "--to", "gsheets"])
    assert again.exit_code == 2 and "--force" in again.output


def test_on_google_backup_writes_an_xlsx_and_migrate_back_restores_typed_cells(
    tmp_path: Path, fake_google: FakeGoogle
) -> None:
    key = fake_google.create_spreadsheet()
    app = create_app(make_config(tmp_path, BACKEND="gsheets", GSHEETS_KEY=key, GSHEETS_API_BASE=fake_google.base_url))
    try:
        init_workbook(app)
        ids = _seed(app)
        runner = app.test_cli_runner()
        backup = runner.invoke(args=["sheets", "backup"])
        assert backup.exit_code == 0, backup.output
        snapshot = Path(backup.output.split("已备份到", 1)[1].strip())
        book = openpyxl.load_workbook(snapshot)
        assert TITLE in book.sheetnames and book[TITLE].max_row == 26
        dest = tmp_path / "back.xlsx"
        result = runner.invoke(args=["sheets", "migrate", "--to", "xlsx", "--workbook", str(dest)])
        assert result.exit_code == 0, result.output
        assert f"{TITLE}: 25 → 25" in result.output
        ws = openpyxl.load_workbook(dest)[TITLE]
        header = [c.value for c in ws[1]]
        assert [ws.cell(row=r, column=header.index("编号") + 1).value for r in range(2, 27)] == ids
        created = ws.cell(row=2, column=header.index("创建时间") + 1).value
        assert isinstance(created, dt.datetime)  # a real date cell again, not text
        refused = runner.invoke(args=["sheets", "migrate", "--to", "xlsx", "--workbook", str(dest)])
        assert refused.exit_code == 2
    finally:
        close_db(app)
