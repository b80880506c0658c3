"""Workshop pages over the demo world: one workshop per trainee, self-service limited to the
trainee's own workshop, district and mentor scoping, outcome counts, the sheet-health view,
the dashboard widget and the trainee profile section."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest

from blueprints import workshops as workshops_plugin
from mingxiao import plugins
from mingxiao.auth import load_user
from tests._demo import DISTRICT, ROLE_EMAILS, World, edit_cell

pytest_plugins = ["tests._demo"]


def ids(world: World, owner: str) -> dict[str, str]:
    return world.samples.extra["workshops"][owner]


def post(world: World, role: str, url: str, data: dict[str, Any]) -> Any:
    client = world.client(role)
    return client.post(url, data={**data, "csrf_token": world.token(client)})


def linked_workshops(html: bytes) -> set[str]:
    return set(re.findall(r'href="/workshops/(W[0-9-]+)"', html.decode()))


def count(world: World, sheet: str, **where: Any) -> int:
    return len(world.db.table(sheet).where(**where))


# -- one workshop per trainee ------------------------------------------------------------------


def test_a_trainee_without_a_workshop_founds_one_in_their_own_name_and_district(world):
    own = ids(world, "trainee")["workshop"]
    world.db.table("workshops").void(own, user=ROLE_EMAILS["admin"], reason="测试")
    trainee_id = world.db.table("workshops").get(own, include_voided=True)["trainee"]
    trainee = world.db.table("trainees").get(trainee_id)
    response = post(
        world,
        "trainee",
        "/workshops/new",
        # trainee and district in the form are ignored: the server takes the signed-in trainee's
        {"name": "新的工作室", "founded_on": "2026-10-01", "focus": "课程", "trainee": "T2026-0002",
         "district": "西湖区"},
    )  # fmt: skip
    assert response.status_code == 302
    [created] = world.db.table("workshops").where(name="新的工作室")
    assert (created["trainee"], created["district"]) == (trainee_id, trainee["district"])


def test_a_second_workshop_is_refused_with_a_message_and_nothing_is_written(world):
    before = world.fingerprint()
    response = post(
        world, "trainee", "/workshops/new", {"name": "第二个", "founded_on": "2026-10-01"}
    )
    assert response.headers["Location"].endswith(f"/workshops/{ids(world, 'trainee')['workshop']}")
    page = world.client("trainee").get(response.headers["Location"]).get_data(as_text=True)
    assert "每位学员只领衔一个名校长工作室" in page
    assert world.fingerprint() == before


# -- trainee self-service: own workshop only ---------------------------------------------------


OTHER_ROUTES = [
    ("/workshops/{workshop}/edit", {"name": "改名", "founded_on": "2024-01-01"}),
    ("/workshops/{workshop}/members/new", {"name": "甲", "school": "乙校", "role": "成员",
                                           "joined_on": "2024-01-01"}),
    ("/workshops/{workshop}/members/{member}/edit", {"name": "甲", "school": "乙校", "role": "成员",
                                                     "joined_on": "2024-01-01",
                                                     "outcome": "提任校长"}),
    ("/workshops/{workshop}/activities/new", {"date": "2024-01-01", "topic": "研讨"}),
    ("/workshops/{workshop}/activities/{activity}/edit", {"date": "2024-01-01", "topic": "研讨"}),
]  # fmt: skip


@pytest.mark.parametrize(("pattern", "data"), OTHER_ROUTES, ids=[r[0] for r in OTHER_ROUTES])
def test_trainee_gets_404_on_another_trainees_workshop_and_nothing_is_written(world, pattern, data):
    other = ids(world, "other")
    url = pattern.format(**other)
    name = world.db.table("workshops").get(other["workshop"])["name"]
    before = world.fingerprint()
    got = world.client("trainee").get(url)
    assert got.status_code == 404 and name not in got.get_data(as_text=True)
    assert post(world, "trainee", url, data).status_code == 404
    assert world.fingerprint() == before


def test_trainee_cannot_read_another_trainees_workshop(world):
    other = ids(world, "other")["workshop"]
    assert world.client("trainee").get(f"/workshops/{other}").status_code == 404


def test_another_workshops_member_is_not_found_through_the_trainees_own_workshop(world):
    own, other = ids(world, "trainee"), ids(world, "other")
    before = world.fingerprint()
    url = f"/workshops/{own['workshop']}/members/{other['member']}/edit"
    assert world.client("trainee").get(url).status_code == 404
    data = {"name": "甲", "school": "乙校", "role": "成员", "joined_on": "2024-01-01"}
    assert post(world, "trainee", url, data).status_code == 404
    assert world.fingerprint() == before


def test_trainee_lists_only_their_own_workshop(world):
    page = world.client("trainee").get("/workshops/")
    assert linked_workshops(page.data) == {ids(world, "trainee")["workshop"]}


def test_trainee_registers_a_member_in_their_own_workshop(world):
    own = ids(world, "trainee")["workshop"]
    before = count(world, "workshop_members", workshop=own)
    data = {"name": "新成员", "school": "杭州市新成员小学", "role": "成员", "joined_on": "2026-09-01",
            "district": "上城区"}  # fmt: skip
    assert post(world, "trainee", f"/workshops/{own}/members/new", data).status_code == 302
    assert count(world, "workshop_members", workshop=own) == before + 1


def test_a_member_leaving_before_joining_is_refused_with_a_message(world):
    own = ids(world, "trainee")["workshop"]
    before = count(world, "workshop_members", workshop=own)
    data = {"name": "新成员", "school": "杭州市新成员小学", "role": "成员", "joined_on": "2026-09-01",
            "left_on": "2026-08-31"}  # fmt: skip
    response = post(world, "trainee", f"/workshops/{own}/members/new", data)
    assert response.status_code == 200
    assert "退出日期（2026-08-31）不能早于加入日期（2026-09-01）" in response.get_data(as_text=True)
    assert count(world, "workshop_members", workshop=own) == before


def test_trainee_records_an_activity_with_its_hours(world):
    own = ids(world, "trainee")["workshop"]
    data = {"date": "2026-11-20", "topic": "劳动教育课程研讨", "participants": "15", "hours": "3.5"}
    assert post(world, "trainee", f"/workshops/{own}/activities/new", data).status_code == 302
    [row] = world.db.table("workshop_activities").where(topic="劳动教育课程研讨")
    assert (row["workshop"], row["participants"], row["hours"]) == (own, 15, 3.5)


# -- outcomes ----------------------------------------------------------------------------------


def brought_on(html: str) -> int:
    found = re.search(r"工作室已带出校长 (\d+) 名", html)
    assert found, "the detail page shows the principals brought on"
    return int(found.group(1))


def test_recording_a_promotion_adds_a_principal_brought_on(world):
    own = ids(world, "trainee")
    member = world.db.table("workshop_members").get(own["member"])
    world.db.table("workshop_members").update(member.id, {"outcome": "暂无"}, user="t@example.cn")
    url = f"/workshops/{own['workshop']}"
    before = brought_on(world.client("trainee").get(url).get_data(as_text=True))
    data = {"name": member["name"], "school": member["school"], "role": member["role"],
            "joined_on": member["joined_on"].isoformat(), "outcome": "提任校长",
            "outcome_note": "2026年任命为校长"}  # fmt: skip
    edit = post(world, "trainee", f"{url}/members/{member.id}/edit", data)
    assert edit.status_code == 302
    assert brought_on(world.client("trainee").get(url).get_data(as_text=True)) == before + 1


def test_outcome_counts_by_kind_are_shown_to_the_admin(world):
    workshop = ids(world, "other")["workshop"]
    members = world.db.table("workshop_members").where(workshop=workshop)
    assert len(members) >= 3
    outcomes = ["提任校长", "获奖", "获奖"] + ["暂无"] * (len(members) - 3)
    for m, outcome in zip(members, outcomes, strict=True):
        world.db.table("workshop_members").update(m.id, {"outcome": outcome}, user="t@example.cn")
    html = world.client("admin").get(f"/workshops/{workshop}").get_data(as_text=True)
    assert brought_on(html) == 1
    assert "<td>获奖</td><td>2</td>" in html and "<td>提任校长</td><td>1</td>" in html


# -- district and mentor scoping ---------------------------------------------------------------


def test_district_staff_list_only_the_workshops_of_their_area(world):
    listed = linked_workshops(world.client("district").get("/workshops/").data)
    own_area = {w.id for w in world.db.table("workshops").where(district=DISTRICT)}
    assert listed == own_area and ids(world, "other")["workshop"] in listed


def test_the_second_district_does_not_see_the_first_districts_workshop(world):
    other = ids(world, "other")["workshop"]
    assert other not in linked_workshops(world.client("district2").get("/workshops/").data)
    assert world.client("district2").get(f"/workshops/{other}").status_code == 404


def test_district_staff_read_but_cannot_edit_a_workshop_of_their_area(world):
    other = ids(world, "other")["workshop"]
    page = world.client("district").get(f"/workshops/{other}").get_data(as_text=True)
    assert f"/workshops/{other}/edit" not in page
    assert world.client("district").get(f"/workshops/{other}/edit").status_code == 404


def test_mentor_lists_only_the_workshops_of_trainees_they_guide_today(world):
    listed = linked_workshops(world.client("mentor2").get("/workshops/").data)
    assert ids(world, "mentor2_only")["workshop"] in listed
    assert ids(world, "mentor2_only")["workshop"] not in linked_workshops(
        world.client("mentor").get("/workshops/").data
    )
    assert ids(world, "trainee")["workshop"] not in listed  # an ended assignment


def test_admin_lists_every_workshop(world):
    listed = linked_workshops(world.client("admin").get("/workshops/").data)
    assert listed == {w.id for w in world.db.table("workshops").all()}


# -- rows typed straight into the sheet --------------------------------------------------------


def test_the_health_view_lists_a_second_workshop_typed_into_the_sheet(world):
    own_trainee = world.db.table("workshops").get(ids(world, "trainee")["workshop"])["trainee"]
    typed = ids(world, "mentor2_only")["workshop"]
    edit_cell(world.workbook, "名校长工作室", typed, "领衔学员编号", own_trainee)
    html = world.client("admin").get("/workshops/health").get_data(as_text=True)
    section = html.split('id="duplicates"')[1].split("</section>")[0]
    assert own_trainee in section and typed in section


def test_the_health_view_lists_a_leave_date_typed_before_the_join_date(world):
    member = world.db.table("workshop_members").get(ids(world, "trainee")["member"])
    edit_cell(world.workbook, "工作室成员", member.id, "退出日期", "2001-01-01")
    html = world.client("admin").get("/workshops/health").get_data(as_text=True)
    section = html.split('id="bad-dates"')[1].split("</section>")[0]
    assert member.id in section and "第" in section


def test_the_health_view_of_the_demo_world_is_clean(world):
    html = world.client("admin").get("/workshops/health").get_data(as_text=True)
    assert "工作室相关的表格没有发现问题" in html


# -- dashboard widget and trainee profile section ----------------------------------------------


def test_the_trainee_sees_their_workshop_at_a_glance_on_the_home_page(world):
    name = world.db.table("workshops").get(ids(world, "trainee")["workshop"])["name"]
    html = world.client("trainee").get("/").get_data(as_text=True)
    assert "我的名校长工作室" in html and name in html


@pytest.mark.parametrize("role", ["admin", "district", "mentor", "expert"])
def test_other_roles_get_no_workshop_widget(world, role):
    # this plugin's hook alone: the other plugins' widgets are theirs to test
    with world.app.test_request_context():
        assert workshops_plugin.dashboard_widgets(load_user(ROLE_EMAILS[role])) == []


def sections_for(world: World, role: str, trainee_id: str) -> list[Any]:
    with world.app.test_request_context():
        user = load_user(ROLE_EMAILS[role])
        trainee = world.db.table("trainees").get(trainee_id)
        return [
            s
            for s in plugins.trainee_sections(trainee, user, app=world.app)
            if s.template == "workshops/_glance.html"
        ]


@pytest.mark.parametrize(
    ("role", "shown"),
    [
        ("admin", True),
        ("trainee", True),
        ("district", False),
        ("mentor2", False),
        ("expert", False),
    ],
)
def test_the_profile_section_of_the_demo_trainee_follows_the_read_rules(world, role, shown):
    trainee_id = world.db.table("workshops").get(ids(world, "trainee")["workshop"])["trainee"]
    sections = sections_for(world, role, trainee_id)
    assert bool(sections) is shown
    if shown:
        [summary] = sections[0].context["summaries"]
        assert summary.workshop.id == ids(world, "trainee")["workshop"]


def test_the_profile_section_shows_the_district_the_workshop_in_its_area(world):
    trainee_id = world.db.table("workshops").get(ids(world, "other")["workshop"])["trainee"]
    assert sections_for(world, "district", trainee_id)
    assert not sections_for(world, "district2", trainee_id)


def edit_form(world: World, url: str) -> dict[str, Any]:
    """The fields of the edit form at ``url`` as the page shows them (hidden _base included)."""
    html = world.client("trainee").get(url).get_data(as_text=True)
    fields = dict(re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', html))
    fields.pop("csrf_token", None)
    return {k: unescape(v) for k, v in fields.items()}


def test_trainee_edits_their_workshop_and_the_change_is_saved_not_parked(world):
    own = ids(world, "trainee")["workshop"]
    url = f"/workshops/{own}/edit"
    data = {**edit_form(world, url), "name": "改过名的工作室", "founded_on": "2024-03-01"}
    response = post(world, "trainee", url, data)
    assert response.headers["Location"].endswith(f"/workshops/{own}")
    assert world.db.table("workshops").get(own)["name"] == "改过名的工作室"


def test_trainee_edits_an_activity_and_the_hours_are_saved(world):
    own = ids(world, "trainee")
    url = f"/workshops/{own['workshop']}/activities/{own['activity']}/edit"
    activity = world.db.table("workshop_activities").get(own["activity"])
    data = {**edit_form(world, url), "date": activity["date"].isoformat(),
            "topic": activity["topic"], "hours": "5.5"}  # fmt: skip
    response = post(world, "trainee", url, data)
    assert response.headers["Location"].endswith(f"/workshops/{own['workshop']}")
    assert world.db.table("workshop_activities").get(own["activity"])["hours"] == 5.5


def test_the_profile_section_shows_a_mentor_the_workshop_of_a_trainee_they_guide(world):
    only_second = world.db.table("workshops").get(ids(world, "mentor2_only")["workshop"])
    assert sections_for(world, "mentor2", only_second["trainee"])
    assert not sections_for(world, "mentor", only_second["trainee"])
