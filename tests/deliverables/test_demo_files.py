"""The demo's deliverables come with real files (``flask demo``): a mentor downloads one.

Regression: every demo deliverable pointed at a file that did not exist, so each showed
“文件不在本系统中” and nothing could be downloaded. The demo command now writes a small .txt
per deliverable into the upload folder, its 字数 equal to the row's; the workbook alone (what
the tests build) stays without files.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskCliRunner

from mingxiao import uploads
from mingxiao.cli import DEMO_PASSWORD
from mingxiao.database import get_db
from mingxiao.sheetdb.demo import MENTOR_EMAIL, deliverable_text, write_deliverable_files
from mingxiao.wordcount import count_text
from tests.conftest import AuthActions


def test_the_text_of_a_demo_file_has_the_rows_count():
    for title, chars in (("学习日志：走进杭州第二中学", 1234), ("交流报告（3）：AI 赋能", 5000)):
        assert count_text(deliverable_text(title, chars)).total == chars
    assert count_text(deliverable_text("很长的标题", 2)).total == 5  # never fewer than the title


def test_flask_demo_writes_a_downloadable_file_for_every_deliverable(
    app: Flask, runner: FlaskCliRunner
):
    result = runner.invoke(args=["demo", "--scale", "0.1"])
    assert result.exit_code == 0, result.output
    folder = Path(app.config["UPLOAD_FOLDER"])
    with app.app_context():
        db = get_db()
        rows = db.table("deliverables").all()
        mentor = next(u for u in db.table("users").all() if u["email"] == MENTOR_EMAIL)
        mine = {
            a["trainee"]
            for a in db.table("mentor_assignments").where(mentor=mentor["mentor"])
            if a.get("end_date") is None
        }
    assert rows and all((folder / r["file_ref"]).is_file() for r in rows)
    assert len({r["file_ref"] for r in rows}) == len(rows)  # every version has its own file
    sample = next(r for r in rows if r["trainee"] in mine)
    text = (folder / sample["file_ref"]).read_text("utf-8")
    assert count_text(text).total == sample["char_count"]

    client = app.test_client()
    AuthActions(client).login(MENTOR_EMAIL, DEMO_PASSWORD)
    page = client.get(f"/deliverables/{sample.id}").get_data(as_text=True)
    assert "文件不在本系统中" not in page and "下载文件：" in page
    download = client.get(f"/deliverables/{sample.id}/file")
    assert download.status_code == 200 and download.get_data(as_text=True) == text
    with app.app_context():  # run again: nothing to write, nothing overwritten
        assert write_deliverable_files(get_db(), folder) == 0
    meta = uploads.read_metadata(sample["file_ref"], folder)
    assert meta["deliverable"] == sample.id
    assert meta["original_name"] == uploads.clean_original_name(f"{sample['title']}.txt")
