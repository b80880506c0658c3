"""Attendance through the pages over the demo world: the grid, leave, direct sheet edits, risk.

Writes are checked through the engine (which overlays pending operations) and, for direct
edits, in the workbook file itself after ``db.sync()``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import url_for
from openpyxl import load_workbook

from blueprints.curriculum import data, rules
from mingxiao.plugins import Widget
from tests._demo import ROLE_EMAILS, World, edit_cell
from tests.conftest import post_form

pytest_plugins = ["tests._demo"]

SHEET = "考勤"


def _held_session(world: World, cohort: str | None = None) -> Any:
    """A held session of the cohort in training (the demo's 第三期), with 8 h or more."""
    db = world.db
    day = db.today()
    cohorts = {c.id: c for c in db.table("cohorts").all()}
    target = cohort or next(c.id for c in cohorts.values() if c["status"] == "培训中")
    held = [
        s
        for s in db.table("sessions").where(cohort=target)
        if s["date"] <= day and Decimal(str(s["hours"])) >= 8
    ]
    assert held, "the demo should have held 8-hour sessions in the cohort in training"
    return held[0]


def _quiet_trainee(world: World, cohort: str) -> Any:
    """An 在训 trainee of ``cohort`` with recorded sessions and no risk so far."""
    with world.app.test_request_context():
        summaries = data.cohort_summaries(world.db.table("cohorts").get(cohort))
    for t in world.db.table("trainees").where(cohort=cohort, status="在训"):
        s = summaries[t.id]
        if s.sessions >= 8 and not s.at_risk:
            return t
    raise AssertionError("no trainee without risk in the demo cohort")


def _summary(world: World, trainee_id: str) -> rules.AbsenceSummary:
    with world.app.test_request_context():
        return data.trainee_hours(world.db.table("trainees").get(trainee_id)).absence


def _url(world: World, endpoint: str, **args: Any) -> str:
    with world.app.test_request_context():
        return url_for(endpoint, **args)


def _append_row(workbook: Path, values: dict[str, Any]) -> None:
    """Type a new attendance row at the bottom of the 考勤 tab (no id, as a clerk would)."""
    wb = load_workbook(workbook)
    ws = wb[SHEET]
    headers = {cell.value: cell.column for cell in ws[1] if cell.value}
    row = ws.max_row + 1
    for header, value in values.items():
        ws.cell(row=row, column=headers[header], value=value)
    tmp = workbook.with_name("typed.xlsx.tmp")
    wb.save(tmp)
    tmp.replace(workbook)


# --------------------------------------------------------------------------- the grid


def test_grid_saves_one_row_per_trainee_and_never_a_second(world: World) -> None:
    session = _held_session(world)
    trainee = _quiet_trainee(world, session["cohort"])
    admin = world.client("admin")
    url = _url(world, "curriculum.attendance", session_id=session.id)
    hours = Decimal(str(session["hours"])) - 2
    payload = {f"status-{trainee.id}": "迟到早退", f"hours-{trainee.id}": str(hours)}
    for _ in range(2):
        assert post_form(admin, url, payload).status_code == 302
    rows = world.db.table("attendance").where(session=session.id, trainee=trainee.id)
    assert [(r["status"], r["hours_attended"]) for r in rows] == [("迟到早退", hours)]


def test_grid_records_a_trainee_without_a_row_as_an_insert(world: World) -> None:
    session = _held_session(world)
    trainee = _quiet_trainee(world, session["cohort"])
    table = world.db.table("attendance")
    for r in table.where(session=session.id, trainee=trainee.id):
        table.void(r.id, user="test", reason="重新登记")
    admin = world.client("admin")
    url = _url(world, "curriculum.attendance", session_id=session.id)
    assert post_form(admin, url, {f"status-{trainee.id}": "缺勤"}).status_code == 302
    assert _summary(world, trainee.id).unapproved == Decimal(str(session["hours"]))


def test_grid_refuses_partial_attendance_without_hours_and_writes_nothing(world: World) -> None:
    session = _held_session(world)
    trainee = _quiet_trainee(world, session["cohort"])
    before = len(world.db.pending())
    admin = world.client("admin")
    url = _url(world, "curriculum.attendance", session_id=session.id)
    page = post_form(admin, url, {f"status-{trainee.id}": "迟到早退", f"hours-{trainee.id}": ""})
    assert (page.status_code, "迟到早退请填写实到学时" in page.text, len(world.db.pending())) == (
        200,
        True,
        before,
    )


def test_grid_parks_a_cell_changed_in_the_sheet_since_the_grid_was_shown(world: World) -> None:
    session = _held_session(world)
    trainee = _quiet_trainee(world, session["cohort"])
    admin = world.client("admin")
    url = _url(world, "curriculum.attendance", session_id=session.id)
    page = admin.get(url)
    world.db.sync()
    row = world.db.table("attendance").where(session=session.id, trainee=trainee.id)[0]
    edit_cell(world.workbook, SHEET, row.id, "出勤情况", "请假")
    token = page.text.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    form = {
        "csrf_token": token,
        f"status-{trainee.id}": "缺勤",
        f"base_status-{trainee.id}": "出勤",
        f"base_hours-{trainee.id}": str(session["hours"]),
    }
    admin.post(url, data=form)
    assert [c.record_id for c in world.db.conflicts()][-1] == row.id


class _GridForm(HTMLParser):
    """What a browser submits for the grid as shown: checked radios, selected options, hidden
    inputs and text inputs (a select with nothing marked selected submits its first option)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.selects: dict[str, list[tuple[str, bool]]] = {}
        self._select: str | None = None
        self.feed(html.split('id="attendance-grid"', 1)[1].split("</form>", 1)[0])
        for name, options in self.selects.items():
            chosen = [v for v, selected in options if selected] or [options[0][0]]
            self.values[name] = chosen[-1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and a.get("name"):
            if a.get("type") != "radio" or "checked" in a:
                self.values[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a["name"]
            self.selects[self._select] = []
        elif tag == "option" and self._select:
            self.selects[self._select].append((a.get("value", ""), "selected" in a))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def test_unrecorded_trainees_show_as_not_recorded_and_saving_one_row_saves_one(
    world: World,
) -> None:
    """Regression: unrecorded trainees defaulted to 出勤, so changing one row of the grid saved
    every unrecorded trainee too; and every row's 请假审批 showed 已批准."""
    session = _held_session(world)
    table = world.db.table("attendance")
    trainees = world.db.table("trainees").where(cohort=session["cohort"], status="在训")[:3]
    for t in trainees:  # three trainees without a row for this session
        for r in table.where(session=session.id, trainee=t.id):
            table.void(r.id, user="test", reason="重新登记")
    admin = world.client("admin")
    url = _url(world, "curriculum.attendance", session_id=session.id)
    page = admin.get(url)
    shown = _GridForm(page.text)
    for t in trainees:
        assert shown.values[f"status-{t.id}"] == "", t.id  # 未登记 is the checked choice
    assert "未登记" in page.text and "不登记" not in page.text
    leave_rows = {
        r["trainee"]
        for r in rules.latest_rows(table.where(session=session.id)).values()
        if r.get("leave_status")
    }
    for name, value in shown.values.items():
        if name.startswith("leave-") and name[len("leave-") :] not in leave_rows:
            assert value == "", name  # no 已批准 where there is no leave

    before = len(world.db.pending())
    first = trainees[0].id
    form = {**shown.values, f"status-{first}": "缺勤"}
    done = admin.post(url, data=form, follow_redirects=True)
    assert "已保存 1 名学员的考勤" in done.text
    assert len(world.db.pending()) == before + 1
    assert [r["status"] for r in table.where(session=session.id, trainee=first)] == ["缺勤"]
    for t in trainees[1:]:
        assert table.where(session=session.id, trainee=t.id) == [], t.id

    # the second button records the trainees still 未登记 as 出勤, and nobody else changes
    recorded = {r["trainee"] for r in table.where(session=session.id)}
    unrecorded = [
        t.id
        for t in world.db.table("trainees").where(cohort=session["cohort"])
        if t.id not in recorded and t["status"] != "淘汰"
    ]
    assert {t.id for t in trainees[1:]} <= set(unrecorded)
    shown = _GridForm(admin.get(url).text)
    done = admin.post(url, data={**shown.values, "fill_present": "1"}, follow_redirects=True)
    assert f"已保存 {len(unrecorded)} 名学员的考勤" in done.text
    for t in trainees[1:]:
        assert [r["status"] for r in table.where(session=session.id, trainee=t.id)] == ["出勤"]
    assert [r["status"] for r in table.where(session=session.id, trainee=first)] == ["缺勤"]


# --------------------------------------------------------------------------- direct edits


def test_rows_changed_in_the_workbook_put_the_trainee_on_the_risk_list(world: World) -> None:
    session = _held_session(world)
    trainee = _quiet_trainee(world, session["cohort"])
    admin = world.client("admin")
    risk_url = _url(world, "curriculum.risk")
    assert f'id="risk-{trainee.id}"' not in admin.get(risk_url).text
    world.db.sync()
    missed = Decimal(0)
    for row in world.db.table("attendance").where(trainee=trainee.id):
        s = world.db.table("sessions").get(row["session"])
        if s["date"] > world.db.today() or missed > 54:
            continue
        edit_cell(world.workbook, SHEET, row.id, "出勤情况", "缺勤")
        edit_cell(world.workbook, SHEET, row.id, "实到学时", 0)
        missed += Decimal(str(s["hours"]))
    assert missed > 54, "the demo trainee should have more than 54 h of held sessions"
    page = admin.get(risk_url).text
    line = page.split(f'id="risk-{trainee.id}"')[1].split("</tr>")[0]
    assert 'data-level="candidate"' in f'id="risk-{trainee.id}"{line}'


def test_a_row_typed_into_the_workbook_counts_like_a_web_row(world: World) -> None:
    session = _held_session(world)
    trainee = _quiet_trainee(world, session["cohort"])
    admin = world.client("admin")
    new = {
        "cohort": session["cohort"],
        "title": "补充的考察",
        "date": (world.db.today() - dt.timedelta(days=1)).isoformat(),
        "hours": "4",
        "type": "考察",
    }
    assert post_form(admin, _url(world, "curriculum.session_new"), new).status_code == 302
    world.db.sync()
    added = next(s for s in world.db.table("sessions").where(title="补充的考察"))
    _append_row(
        world.workbook,
        {"培训安排编号": added.id, "学员编号": trainee.id, "出勤情况": "缺勤", "实到学时": 0},
    )
    summary = _summary(world, trainee.id)
    assert (summary.unapproved, summary.unapproved_sessions) == (Decimal(4), [added.id])


# --------------------------------------------------------------------------- leave


def test_trainee_requests_leave_for_a_coming_session_as_themself(world: World) -> None:
    x = world.samples.extra["curriculum"]
    trainee = world.client("trainee")
    url = _url(world, "curriculum.leave_request", session_id=x["ahead"])
    post_form(trainee, url, {"leave_reason": "学校迎接督导", "trainee": "T2026-0002"})
    rows = world.db.table("attendance").where(session=x["ahead"])
    mine = [r for r in rows if r["leave_reason"] == "学校迎接督导"]
    assert [(r["trainee"], r["status"], r["leave_status"]) for r in mine] == [
        (world.samples.records["trainees"]["trainee"], "请假", "待审批")
    ]


def test_trainee_cannot_withdraw_another_trainees_leave(world: World) -> None:
    x = world.samples.extra["curriculum"]
    trainee = world.client("trainee")
    url = _url(world, "curriculum.leave_withdraw", attendance_id=x["other_leave"])
    response = post_form(trainee, url, {}, page=_url(world, "curriculum.leave"))
    assert response.status_code == 404
    assert world.db.table("attendance").get(x["other_leave"]) is not None


def test_admin_refusal_turns_leave_into_an_absence_without_approval(world: World) -> None:
    x = world.samples.extra["curriculum"]
    admin = world.client("admin")
    url = _url(world, "curriculum.leave_decide", attendance_id=x["other_leave"])
    page = _url(world, "curriculum.leave_requests")
    post_form(admin, url, {"decision": "refuse", "base_leave_status": "待审批"}, page=page)
    row = world.db.table("attendance").get(x["other_leave"])
    assert (row["leave_status"], rules.is_unapproved(row)) == ("已拒绝", True)


def test_trainee_withdraws_their_own_waiting_request(world: World) -> None:
    x = world.samples.extra["curriculum"]
    trainee = world.client("trainee")
    url = _url(world, "curriculum.leave_withdraw", attendance_id=x["own_leave"])
    post_form(trainee, url, {}, page=_url(world, "curriculum.leave"))
    assert world.db.table("attendance").get(x["own_leave"]) is None


# --------------------------------------------------------------------------- hooks


def test_profile_section_shows_the_ledger_to_the_trainee_and_not_to_another_mentor(
    world: World,
) -> None:
    from mingxiao.auth import User  # noqa: PLC0415

    trainee = world.db.table("trainees").get(world.samples.records["trainees"]["trainee"])
    users = {r["email"]: r for r in world.db.table("users").all()}
    pm = world.app.extensions["mingxiao.plugins"]
    seen = {}
    for role in ("trainee", "mentor2"):
        user = User.from_record(users[ROLE_EMAILS[role]], 1)
        with world.app.test_request_context():
            sections = [
                w for ws in pm.hook.trainee_sections(trainee=trainee, user=user) for w in ws
            ]
            seen[role] = [w.template for w in sections if isinstance(w, Widget)]
    assert ("curriculum/_ledger_section.html" in seen["trainee"]) and (
        "curriculum/_ledger_section.html" not in seen["mentor2"]
    )


def test_admin_home_shows_cohort_hours_and_the_risk_list(world: World) -> None:
    page = world.client("admin").get("/").text
    assert "各期课程学时" in page and "考勤预警" in page and "<svg" in page


def test_ledger_page_shows_module_bars_for_the_trainee(world: World) -> None:
    x = world.samples.extra["curriculum"]
    page = world.client("trainee").get(
        _url(world, "curriculum.hours", trainee_id=x["hours"]["trainee"])
    )
    assert page.text.count('class="cbar"') >= 10  # 9 modules, the total and the absence bar


def test_profile_page_carries_the_hours_ledger(world: World) -> None:
    if "trainees" not in world.app.blueprints:
        pytest.skip("the trainees plugin (profile page) is not enabled")
    trainee_id = world.samples.records["trainees"]["trainee"]
    page = world.client("trainee").get(f"/trainees/{trainee_id}")
    assert page.status_code == 200 and "各课程模块学时" in page.text


def test_a_mentor_sees_the_ledger_of_a_trainee_assigned_today_and_the_other_mentor_does_not(
    world: World,
) -> None:
    x = world.samples.extra["curriculum"]
    trainee_id = x["hours"]["district2"]  # no current mentor
    users = {r["email"]: r for r in world.db.table("users").all()}
    world.db.table("mentor_assignments").insert(
        {
            "mentor": users[ROLE_EMAILS["mentor"]]["mentor"],
            "trainee": trainee_id,
            "role": "协作导师",
            "start_date": world.db.today() - dt.timedelta(days=1),
        },
        user="test",
    )
    url = _url(world, "curriculum.hours", trainee_id=trainee_id)
    codes = [world.client(role).get(url).status_code for role in ("mentor", "mentor2")]
    assert codes == [200, 404]
