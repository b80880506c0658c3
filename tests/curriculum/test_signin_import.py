"""Sign-in sheet (签到表) import: preview with cell addresses, nothing written before the
confirm, the confirm writes, a second import of the same file adds nothing."""

from __future__ import annotations

import io
from typing import Any

from flask import url_for

from tests._demo import World
from tests.conftest import csrf_token
from tests.curriculum.access_curriculum import signin_file

pytest_plugins = ["tests._demo"]


def _session_and_roster(world: World) -> tuple[Any, list[Any]]:
    x = world.samples.extra["curriculum"]
    session = world.db.table("sessions").get(x["session"])
    roster = sorted(world.db.table("trainees").where(cohort=session["cohort"]), key=lambda t: t.id)
    return session, roster


def _upload(world: World, session_id: str, content: bytes) -> Any:
    admin = world.client("admin")
    with world.app.test_request_context():
        url = url_for("curriculum.import_upload", session_id=session_id)
    token = csrf_token(admin.get(url).data)
    return admin.post(
        url,
        data={"csrf_token": token, "file": (io.BytesIO(content), "签到表.xlsx")},
        content_type="multipart/form-data",
    )


def _confirm(world: World, preview_url: str) -> Any:
    admin = world.client("admin")
    page = admin.get(preview_url)
    return admin.post(f"{preview_url}/confirm", data={"csrf_token": csrf_token(page.data)})


def _rows(world: World, session_id: str) -> list[tuple[str, str]]:
    return sorted(
        (str(r["trainee"]), str(r["status"]))
        for r in world.db.table("attendance").where(session=session_id)
    )


def test_preview_names_bad_cells_by_address_and_writes_nothing(world: World) -> None:
    session, roster = _session_and_roster(world)
    before = len(world.db.pending())
    content = signin_file(
        [
            [roster[0].id, roster[0]["name"], "出勤", None],
            ["T1999-9999", None, "出勤", None],  # row 4: not of this cohort
            [roster[1].id, None, "早到", None],  # row 5: unknown status in column C
        ]
    )
    preview = world.client("admin").get(_upload(world, session.id, content).headers["Location"])
    assert ("签到表!A4" in preview.text, "签到表!C5" in preview.text, len(world.db.pending())) == (
        True,
        True,
        before,
    )


def test_confirm_writes_changes_and_a_second_import_adds_no_rows(world: World) -> None:
    session, roster = _session_and_roster(world)
    content = signin_file(
        [
            [roster[0].id, None, "缺勤", None],
            [None, roster[1]["name"], "迟到早退", 2],
        ]
    )
    first = _upload(world, session.id, content).headers["Location"]
    assert _confirm(world, first).status_code == 302
    after_first = _rows(world, session.id)
    second = _upload(world, session.id, content).headers["Location"]
    assert "无变化" in world.client("admin").get(second).text
    _confirm(world, second)
    assert _rows(world, session.id) == after_first
    assert (roster[0].id, "缺勤") in after_first and (roster[1].id, "迟到早退") in after_first


def test_partial_attendance_without_hours_is_an_error_of_that_row(world: World) -> None:
    session, roster = _session_and_roster(world)
    content = signin_file([[roster[0].id, None, "迟到早退", None]])
    preview = world.client("admin").get(_upload(world, session.id, content).headers["Location"])
    assert "签到表!D3" in preview.text and "迟到早退请填写实到学时" in preview.text


def test_a_file_without_a_header_row_is_refused_at_upload(world: World) -> None:
    session, _roster = _session_and_roster(world)
    from openpyxl import Workbook  # noqa: PLC0415

    wb = Workbook()
    wb.active.append(["随便", "什么"])
    buf = io.BytesIO()
    wb.save(buf)
    response = _upload(world, session.id, buf.getvalue())
    assert response.status_code == 200 and "没有找到表头" in response.text
