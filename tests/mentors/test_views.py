"""Mentor pages over the demo world: scoping to assigned trainees, logs, assignments, hours,
the 导师团队 profile section and the dashboard widgets."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from openpyxl import load_workbook

from mingxiao.plugins import dashboard_widgets, trainee_sections
from tests._demo import ROLE_EMAILS, World, edit_cell

pytest_plugins = ["tests._demo"]


def extra(world: World) -> dict[str, Any]:
    return world.samples.extra["mentors"]


def post(world: World, role: str, url: str, data: dict[str, Any]) -> Any:
    client = world.client(role)
    return client.post(url, data={**data, "csrf_token": world.token(client)})


def name_of(world: World, trainee_id: str) -> str:
    return str(world.db.table("trainees").get(trainee_id)["name"])


def log_form(world: World, **overrides: Any) -> dict[str, Any]:
    data = {
        "date": world.db.today().isoformat(),
        "form": "面谈",
        "hours": "1.5",
        "topic": "课题论证",
        "notes": "讨论了课题的研究问题。",
    }
    data.update(overrides)
    return data


# -- 我的学员 ------------------------------------------------------------------------------------


def test_my_trainees_lists_the_mentors_own_trainee_and_not_the_other_mentors(world: World):
    mine, theirs = extra(world)["trainees"]["mentor"], extra(world)["trainees"]["mentor2"]
    html = world.client("mentor").get("/mentors/my").get_data(as_text=True)
    assert name_of(world, mine) in html
    assert name_of(world, theirs) not in html


def test_my_trainees_shows_an_elimination_candidate_after_absences_are_recorded(world: World):
    tid = extra(world)["trainees"]["mentor"]
    db = world.db
    cohort = str(db.table("trainees").get(tid)["cohort"])
    day = db.today() - dt.timedelta(days=2)
    assert "risk--candidate" not in world.client("mentor").get("/mentors/my").get_data(as_text=True)
    sessions = db.table("sessions").insert_many(
        [
            {
                "cohort": cohort,
                "title": f"测试研修{i}",
                "date": day,
                "hours": 10,
                "type": "集中研修",
            }
            for i in range(6)
        ]
    )
    db.table("attendance").insert_many(
        [{"session": s.id, "trainee": tid, "status": "缺勤", "hours_attended": 0} for s in sessions]
    )
    html = world.client("mentor").get("/mentors/my").get_data(as_text=True)
    assert "risk--candidate" in html and "有未经同意的缺勤" in html


def test_my_trainees_is_for_mentors_only(world: World):
    assert world.client("admin").get("/mentors/my").status_code == 403
    assert world.client("trainee").get("/mentors/my").status_code == 403


# -- mentoring logs ----------------------------------------------------------------------------


def test_mentor_records_guidance_for_own_trainee(world: World):
    tid = extra(world)["trainees"]["mentor"]
    response = post(world, "mentor", f"/mentors/trainees/{tid}/logs/new", log_form(world))
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    rows = world.db.table("mentoring_logs").where(trainee=tid, topic="课题论证")
    assert [(r["mentor"], r["hours"]) for r in rows] == [
        (extra(world)["mentor_ids"]["mentor"], 1.5)
    ]


def test_mentor_cannot_record_guidance_for_another_mentors_trainee(world: World):
    tid = extra(world)["trainees"]["mentor2"]
    before = len(world.db.table("mentoring_logs").all())
    response = post(world, "mentor", f"/mentors/trainees/{tid}/logs/new", log_form(world))
    assert response.status_code == 404
    assert name_of(world, tid) not in response.get_data(as_text=True)
    assert len(world.db.table("mentoring_logs").all()) == before


def test_a_mentor_posting_another_mentor_id_still_records_as_themself(world: World):
    tid = extra(world)["trainees"]["mentor"]
    other = extra(world)["mentor_ids"]["mentor2"]
    post(world, "mentor", f"/mentors/trainees/{tid}/logs/new", log_form(world, mentor=other))
    rows = world.db.table("mentoring_logs").where(trainee=tid, topic="课题论证")
    assert [r["mentor"] for r in rows] == [extra(world)["mentor_ids"]["mentor"]]


def test_log_dated_in_the_future_is_refused_at_the_date_field(world: World):
    tid = extra(world)["trainees"]["mentor"]
    tomorrow = (world.db.today() + dt.timedelta(days=1)).isoformat()
    response = post(
        world, "mentor", f"/mentors/trainees/{tid}/logs/new", log_form(world, date=tomorrow)
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    start = html.index('id="date-error"')
    assert "今天之后" in html[start : html.index("</p>", start)]


def test_second_mentor_cannot_open_edit_or_void_the_first_mentors_log(world: World):
    log = extra(world)["log"]
    client = world.client("mentor2")
    assert client.get(f"/mentors/logs/{log}").status_code == 404
    assert post(world, "mentor2", f"/mentors/logs/{log}/edit", log_form(world)).status_code == 404
    assert post(world, "mentor2", f"/mentors/logs/{log}/void", {}).status_code == 404
    assert world.db.table("mentoring_logs").get(log) is not None


def test_voided_log_no_longer_counts_in_the_hours(world: World):
    log = extra(world)["log"]
    response = post(world, "mentor", f"/mentors/logs/{log}/void", {"reason": "重复"})
    assert response.status_code == 302
    assert world.db.table("mentoring_logs").get(log) is None


def test_log_list_of_a_mentor_leaves_out_other_mentors_trainees(world: World):
    theirs = extra(world)["trainees"]["mentor2"]
    html = world.client("mentor").get("/mentors/logs").get_data(as_text=True)
    assert name_of(world, theirs) not in html


# -- assignments -----------------------------------------------------------------------------


def _lead_of(world: World, tid: str) -> Any:
    day = world.db.today()
    for a in world.db.table("mentor_assignments").where(trainee=tid, role="主导师"):
        if (a.get("end_date") is None or a["end_date"] >= day) and a["start_date"] <= day:
            return a
    return None


def _in_training_with_lead(world: World) -> tuple[str, Any]:
    for t in world.db.table("trainees").all():
        lead = _lead_of(world, t.id)
        if t.get("status") in ("在训", "预警") and lead is not None:
            return t.id, lead
    raise AssertionError("no trainee in training with a lead in the demo world")


def _free_mentor(world: World, tid: str) -> str:
    team = {str(a["mentor"]) for a in world.db.table("mentor_assignments").where(trainee=tid)}
    for m in world.db.table("mentors").all():
        if m.id not in team and m.get("active") is not False:
            return m.id
    mentor = world.db.table("mentors").insert({"name": "新导师", "organisation": "测试大学"})
    return mentor.id


def test_second_lead_for_a_trainee_is_refused_with_the_reason_at_the_role(world: World):
    tid, lead = _in_training_with_lead(world)
    mentor = _free_mentor(world, tid)
    before = len(world.db.table("mentor_assignments").all())
    data = {
        "trainee": tid,
        "mentor": mentor,
        "role": "主导师",
        "start_date": world.db.today().isoformat(),
    }
    html = post(world, "admin", "/mentors/assignments/new", data).get_data(as_text=True)
    start = html.index('id="role-error"')
    assert lead.id in html[start : html.index("</p>", start)]
    assert len(world.db.table("mentor_assignments").all()) == before


def test_replacing_the_lead_ends_the_old_lead_the_day_before(world: World):
    tid, lead = _in_training_with_lead(world)
    mentor = _free_mentor(world, tid)
    today = world.db.today()
    data = {
        "trainee": tid,
        "mentor": mentor,
        "role": "主导师",
        "start_date": today.isoformat(),
        "replace_lead": "y",
    }
    assert post(world, "admin", "/mentors/assignments/new", data).status_code == 302
    old = world.db.table("mentor_assignments").get(lead.id)
    assert old["end_date"] == today - dt.timedelta(days=1)
    assert _lead_of(world, tid)["mentor"] == mentor


def test_assignment_ending_before_it_starts_is_refused(world: World):
    aid = extra(world)["assignment"]
    row = world.db.table("mentor_assignments").get(aid)
    before = row["start_date"] - dt.timedelta(days=1)
    response = post(world, "admin", f"/mentors/assignments/{aid}/end", {"end_date": before})
    assert response.status_code == 302
    assert world.db.table("mentor_assignments").get(aid).get("end_date") is None


def test_ended_assignment_takes_the_trainee_out_of_the_mentors_reach(world: World):
    aid, tid = extra(world)["assignment"], extra(world)["trainees"]["mentor"]
    yesterday = (world.db.today() - dt.timedelta(days=1)).isoformat()
    post(world, "admin", f"/mentors/assignments/{aid}/end", {"end_date": yesterday})
    assert world.client("mentor").get(f"/mentors/trainees/{tid}/logs").status_code == 404


def test_second_lead_typed_into_the_sheet_shows_on_the_assignments_page(world: World):
    tid, lead = _in_training_with_lead(world)
    co = [
        a
        for a in world.db.table("mentor_assignments").where(trainee=tid, role="协作导师")
        if a.get("end_date") is None
    ]
    if not co:
        co = [
            world.db.table("mentor_assignments").insert(
                {
                    "trainee": tid,
                    "mentor": _free_mentor(world, tid),
                    "role": "协作导师",
                    "start_date": lead["start_date"],
                }
            )
        ]
    world.db.sync()
    edit_cell(world.workbook, "导师分配", co[0].id, "导师角色", "主导师")
    world.db.sync()
    html = world.client("admin").get("/mentors/assignments").get_data(as_text=True)
    assert f"学员 {tid} 同时有 2 位主导师" in html


# -- roster ------------------------------------------------------------------------------------


def test_mentor_edits_only_title_and_expertise_of_their_own_row(world: World):
    mid = extra(world)["mentor_ids"]["mentor"]
    name = world.db.table("mentors").get(mid)["name"]
    data = {
        "name": "别的名字",
        "organisation": "别的单位",
        "title": "教授",
        "expertise": "教育评价",
    }
    assert post(world, "mentor", f"/mentors/{mid}/edit", data).status_code == 302
    row = world.db.table("mentors").get(mid)
    assert (row["name"], row["title"], row["expertise"]) == (name, "教授", "教育评价")


def test_mentors_own_page_masks_their_phone(world: World):
    mid = extra(world)["mentor_ids"]["mentor"]
    phone = str(world.db.table("mentors").get(mid)["phone"])
    html = world.client("mentor").get(f"/mentors/{mid}").get_data(as_text=True)
    assert phone[-4:] in html and phone not in html


# -- guidance hours ----------------------------------------------------------------------------


def test_hours_report_export_sums_a_mentors_logs(world: World):
    mid = extra(world)["mentor_ids"]["mentor"]
    logs = world.db.table("mentoring_logs").where(mentor=mid)
    expected = sum(float(r["hours"]) for r in logs)
    response = world.client("admin").get("/mentors/hours?period=all&format=xlsx")
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.data)).active
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert [float(r[4]) for r in rows if r[0] == mid] == [expected]


# -- hooks -------------------------------------------------------------------------------------


class FakeUser:
    """A signed-in account as ``mingxiao.auth`` builds it (enough for the policy)."""

    is_authenticated = True
    is_active = True

    def __init__(self, world: World, role: str) -> None:
        row = next(u for u in world.db.table("users").all() if u["email"] == ROLE_EMAILS[role])
        self.role = str(row["role"])
        self.email = ROLE_EMAILS[role]
        self.district = row.get("district")
        self.mentor_id = row.get("mentor")
        self.trainee_id = row.get("trainee")


def sections(world: World, role: str, trainee_id: str) -> list[Any]:
    with world.app.test_request_context():
        trainee = world.db.table("trainees").get(trainee_id)
        return [
            w
            for w in trainee_sections(trainee, FakeUser(world, role))
            if w.template.startswith("mentors/")
        ]


def test_team_section_shows_the_current_mentors_to_the_assigned_mentor(world: World):
    tid = extra(world)["trainees"]["mentor"]
    [section] = sections(world, "mentor", tid)
    assert extra(world)["mentor_ids"]["mentor"] in [m.mentor for m in section.context["team"]]
    assert section.context["notes"] is True


def test_team_section_is_not_given_to_another_mentor(world: World):
    assert sections(world, "mentor2", extra(world)["trainees"]["mentor"]) == []


def test_team_section_for_the_trainee_themself_leaves_out_the_notes(world: World):
    tid = world.samples.records["trainees"]["trainee"]
    [section] = sections(world, "trainee", tid)
    assert section.context["notes"] is False


def test_team_section_renders(world: World):
    tid = extra(world)["trainees"]["mentor"]
    [section] = sections(world, "admin", tid)
    with world.app.test_request_context():
        from flask import render_template

        html = render_template(section.template, widget=section, **section.context)
    assert "主导师" in html or "协作导师" in html


def test_mentor_home_page_has_the_my_trainees_widget(world: World):
    html = world.client("mentor").get("/").get_data(as_text=True)
    assert "我的学员" in html and name_of(world, extra(world)["trainees"]["mentor"]) in html


def test_admin_widget_is_the_mentor_load(world: World):
    with world.app.test_request_context():
        titles = [str(w.title) for w in dashboard_widgets(FakeUser(world, "admin"))]
    assert "导师工作量" in titles
    html = world.client("admin").get("/").get_data(as_text=True)
    assert "无主导师的在训学员" in html


def append_rows(world: World, sheet: str, rows: list[dict[str, Any]]) -> None:
    """Type rows at the bottom of a tab with openpyxl, as staff do in Excel (header → value)."""
    schema = world.db.schemas[sheet]
    wb = load_workbook(world.workbook)
    ws = wb[schema.title]
    headers = {cell.value: cell.column for cell in ws[1] if cell.value}
    for values in rows:
        row = ws.max_row + 1
        for key, value in values.items():
            header = "编号" if key == "id" else schema.column(key).header
            ws.cell(row=row, column=headers[header], value=value)
    tmp = world.workbook.with_name("typed.xlsx.tmp")
    wb.save(tmp)
    tmp.replace(world.workbook)


def test_absences_typed_into_the_workbook_change_the_mentors_risk_list(world: World):
    tid = extra(world)["trainees"]["mentor"]
    cohort = str(world.db.table("trainees").get(tid)["cohort"])
    day = world.db.today() - dt.timedelta(days=1)
    before = world.client("mentor").get("/mentors/my").get_data(as_text=True)
    assert "risk--candidate" not in before
    sessions = [f"S2099-{i:04d}" for i in range(1, 7)]
    append_rows(
        world,
        "sessions",
        [
            {
                "id": sid,
                "cohort": cohort,
                "title": "补录研修",
                "date": day,
                "hours": 10,
                "type": "集中研修",
            }
            for sid in sessions
        ],
    )
    append_rows(
        world,
        "attendance",
        [
            {
                "id": f"A2099-{i:04d}",
                "session": sid,
                "trainee": tid,
                "status": "缺勤",
                "hours_attended": 0,
            }
            for i, sid in enumerate(sessions, 1)
        ],
    )
    world.db.sync()  # the engine notices the changed file, as the flusher would
    after = world.client("mentor").get("/mentors/my").get_data(as_text=True)
    assert "risk--candidate" in after


def test_a_mistyped_date_in_the_sheet_does_not_break_the_mentor_pages(world: World):
    aid, log = extra(world)["assignment"], extra(world)["log"]
    mid, tid = extra(world)["mentor_ids"]["mentor"], extra(world)["trainees"]["mentor"]
    world.db.sync()
    edit_cell(world.workbook, "导师分配", aid, "结束日期", "2026年13月")
    edit_cell(world.workbook, "导师指导记录", log, "指导日期", "上周三")
    world.db.sync()
    pages = [
        ("admin", "/mentors/assignments"),
        ("admin", "/mentors/load"),
        ("admin", f"/mentors/{mid}"),
        ("admin", "/mentors/hours"),
        ("admin", "/mentors/logs"),
        ("admin", f"/mentors/trainees/{tid}/logs"),
        ("admin", f"/mentors/assignments/{aid}/edit"),
        ("admin", f"/mentors/logs/{log}/edit"),
        ("admin", f"/mentors/logs/{log}"),
        ("mentor", "/mentors/my"),
        ("mentor", "/"),
    ]
    assert [(url, world.client(role).get(url).status_code) for role, url in pages] == [
        (url, 200) for _role, url in pages
    ]
