"""`flask --app app sheets …` and `demo`: thin wrappers over the engine, tested through click."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
from flask import Flask
from flask.testing import FlaskCliRunner

from mingxiao.database import get_db


def _init(runner: FlaskCliRunner) -> str:
    result = runner.invoke(args=["sheets", "init"])
    assert result.exit_code == 0, result.output
    return result.output


def test_sheets_init_creates_every_tab_with_chinese_headers_and_seeds_the_curriculum(
    app: Flask, runner: FlaskCliRunner
) -> None:
    output = _init(runner)
    assert "课程模块: 9" in output
    wb = openpyxl.load_workbook(app.config["WORKBOOK"])
    with app.app_context():
        schemas = get_db().schemas
    assert {s.title for s in schemas} <= set(wb.sheetnames)
    assert wb["人选推荐"]["A1"].value == "编号"
    assert wb["人选推荐"].freeze_panes == "A2"


def test_sheets_check_exits_0_when_clean_and_1_with_cell_addresses_as_json(
    app: Flask, runner: FlaskCliRunner
) -> None:
    _init(runner)
    assert runner.invoke(args=["sheets", "check"]).exit_code == 0
    path = Path(app.config["WORKBOOK"])
    wb = openpyxl.load_workbook(path)
    ws = wb["课程模块"]
    hours = next(c.column_letter for c in ws[1] if c.value == "学时")
    ws[f"{hours}2"] = "二十"
    wb.save(path)
    result = runner.invoke(args=["sheets", "check", "--json"])
    assert result.exit_code == 1
    problems = json.loads(result.output)
    assert any(p["cell"] == f"课程模块!{hours}2" and p["code"] == "type_int" for p in problems)


def test_sheets_sync_applies_pending_operations(app: Flask, runner: FlaskCliRunner) -> None:
    _init(runner)
    with app.app_context():
        rec = get_db().table("mentors").insert({"name": "王老师", "organisation": "杭州师范大学"}, user="cli-test")
        assert get_db().status()["pending"] == 1
    result = runner.invoke(args=["sheets", "sync"])
    assert result.exit_code == 0, result.output
    ws = openpyxl.load_workbook(app.config["WORKBOOK"])["导师"]
    assert rec.id in [c.value for c in ws["A"]]


def test_sheets_backup_copies_the_workbook_into_instance_backups(app: Flask, runner: FlaskCliRunner) -> None:
    _init(runner)
    result = runner.invoke(args=["sheets", "backup"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        newest = get_db().list_backups()[0]  # init's first write of the hour made one too
    assert newest.parent == Path(app.instance_path) / "backups"
    assert newest.name in result.output
    assert newest.read_bytes() == Path(app.config["WORKBOOK"]).read_bytes()


def test_sheets_backup_without_a_workbook_fails_clearly(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["sheets", "backup"])
    assert result.exit_code == 1
    assert "没有可备份的工作簿" in result.output
