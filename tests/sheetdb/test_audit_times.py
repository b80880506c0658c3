"""修改记录 / 审计 times are Beijing wall time, like the sheet's 创建时间/更新时间.

Regression: the journal stamped audit entries, pending operations and the last sync with the
server's local clock (UTC on the deployment host), so a nomination's history showed 07:09
beside an 更新时间 of 15:09. The test runs with the process in a zone 13 hours from Beijing,
so it fails on that bug whatever zone the host itself is in.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sheetdb.helpers import find_row, hand_edit, header_col, open_small

TITLE = "导师"


@pytest.fixture
def far_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The server process runs at UTC-5 (Beijing is UTC+8)."""
    monkeypatch.setenv("TZ", "Etc/GMT+5")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _close(a: str, b: dt.datetime) -> bool:
    return abs((dt.datetime.fromisoformat(a) - b).total_seconds()) < 600


def test_web_and_direct_edit_stamps_match_the_sheet_times(tmp_path: Path, far_zone: None) -> None:
    db = open_small(tmp_path)
    rec = db.table("mentors").insert({"name": "王老师", "organisation": "杭州二中"}, user="t")
    [op] = db.pending()
    assert _close(op.created_at, rec["created_at"])  # 同步中 row of 修改记录
    db.sync()
    [entry] = db.audit(sheet="mentors", record_id=rec.id)
    assert _close(entry["at"], rec["created_at"]), (entry["at"], rec["created_at"])
    assert _close(db.status()["last_sync"], rec["created_at"])

    with hand_edit(tmp_path / "w.xlsx", TITLE) as ws:  # a direct edit in Excel
        ws.cell(row=find_row(ws, rec.id), column=header_col(ws, "工作单位")).value = "学军中学"
    db.sync()
    [direct] = db.audit(source="sheet")
    assert _close(direct["at"], db.now())
    db.close()
