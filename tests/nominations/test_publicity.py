"""公示与录取: working days, periods, objections, finalising into the 学员 roster, the public page."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from blueprints.nominations import publicity
from blueprints.nominations.publicity import WorkCalendar
from tests._demo import DISTRICT, DISTRICT2, ROLE_EMAILS, World, read_row
from tests.nominations._helpers import cohort_id, insert_nomination, post

pytest_plugins = ["tests._demo"]

MON = dt.date(2026, 6, 1)  # a Monday
THU = dt.date(2026, 6, 4)
SAT = dt.date(2026, 6, 6)


# --------------------------------------------------------------------------- working days


def test_five_working_days_from_a_monday_end_that_friday():
    assert WorkCalendar().period_end(MON) == dt.date(2026, 6, 5)


def test_period_across_a_weekend_skips_saturday_and_sunday():
    assert WorkCalendar().period_end(THU) == dt.date(2026, 6, 10)  # Thu Fri | Mon Tue Wed


def test_period_starting_on_a_saturday_counts_from_monday():
    assert WorkCalendar().period_end(SAT) == dt.date(2026, 6, 12)


def test_holiday_is_not_a_working_day():
    calendar = WorkCalendar(holidays=frozenset({dt.date(2026, 6, 3)}))
    assert calendar.period_end(MON) == dt.date(2026, 6, 8)


def test_make_up_workday_on_a_weekend_counts():
    calendar = WorkCalendar(
        holidays=frozenset({dt.date(2026, 6, 5)}), extra_workdays=frozenset({SAT})
    )
    assert calendar.period_end(MON) == SAT


def test_calendar_reads_iso_dates_from_the_settings():
    calendar = publicity.calendar_from_config(
        {
            "PUBLICITY_WORKING_DAYS": "7",
            "PUBLICITY_HOLIDAYS": ("2026-10-01", "2026-10-02"),
            "PUBLICITY_EXTRA_WORKDAYS": ["2026-10-10"],
        }
    )
    assert calendar.working_days == 7
    assert not calendar.is_working_day(dt.date(2026, 10, 1))
    assert calendar.is_working_day(dt.date(2026, 10, 10))


def test_a_bad_holiday_setting_names_the_key_and_the_value():
    with pytest.raises(publicity.CalendarConfigError, match="PUBLICITY_HOLIDAYS.*10月1日"):
        publicity.calendar_from_config({"PUBLICITY_HOLIDAYS": ["10月1日"]})


# --------------------------------------------------------------------------- periods


def problems(start: dt.date, end: dt.date, today: dt.date = MON) -> dict[str, Any]:
    return publicity.period_problems(start, end, today=today, calendar=WorkCalendar())


def test_a_five_working_day_period_is_accepted():
    assert problems(MON, dt.date(2026, 6, 5)) == {}


def test_end_before_start_is_refused_at_the_end_field():
    assert "早于开始日期" in problems(MON, MON - dt.timedelta(days=1))["publicity_end"][0]


def test_too_short_a_period_names_the_earliest_end():
    template, params = problems(MON, dt.date(2026, 6, 4))["publicity_end"]
    assert params["n"] == 4 and params["earliest"] == "2026-06-05"


def test_a_start_years_away_is_refused_as_a_typo():
    assert "publicity_start" in problems(dt.date(2062, 6, 1), dt.date(2062, 6, 8))


# --------------------------------------------------------------------------- objections


def nomination(status: str = "公示中", **values: Any) -> dict[str, Any]:
    return {
        "id": "N1",
        "cohort": "C1",
        "name": "甲",
        "status": status,
        "publicity_start": MON,
        "publicity_end": dt.date(2026, 6, 5),
        **values,
    }


def test_objection_only_against_a_nomination_in_publicity():
    found = publicity.objection_problems(nomination("拟录取"), MON, "内容", today=MON)
    assert set(found) == {"nomination"}


def test_objection_received_after_the_period_is_refused():
    found = publicity.objection_problems(
        nomination(), dt.date(2026, 6, 8), "x", today=SAT + dt.timedelta(3)
    )
    assert "期满" in found["received_on"][0]


def test_a_resolved_objection_cannot_be_resolved_again():
    problem = publicity.resolve_problem({"status": "异议不成立"}, "异议成立", "核查属实")
    assert problem is not None and "已处理" in problem[0]


def test_resolving_needs_the_result_of_the_check():
    assert publicity.resolve_problem({"status": "待核查"}, "异议成立", "  ") is not None


def test_existing_trainee_of_a_nomination_is_not_planned_again():
    plan = publicity.finalise_plan(
        [nomination()], [], [{"nomination": "N1", "voided": True}], today=SAT
    )
    assert [n["id"] for n, _note in plan.admit] == ["N1"] and plan.trainees == []


# --------------------------------------------------------------------------- through the web


def admin_post(world: World, url: str, data: dict[str, Any] | None = None) -> Any:
    return post(world, "admin", url, data)


def statuses(world: World, *ids: str) -> list[str]:
    return [world.db.table("nominations").get(i)["status"] for i in ids]


def flashed(world: World, response: Any) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    return world.client("admin").get(response.headers["Location"]).get_data(as_text=True)


def open_period(world: World, start: dt.date, end: dt.date | None = None) -> Any:
    data = {"publicity_start": start.isoformat(), "publicity_end": end.isoformat() if end else ""}
    data["publicity_contact"] = "请于公示期内向市教育局组织处书面反映（署真实姓名）。"
    return admin_post(world, f"/nominations/publicity/{cohort_id(world)}/open", data)


def trainees_of(world: World, nomination_id: str) -> list[Any]:
    return world.db.table("trainees").where(nomination=nomination_id, include_voided=True)


@pytest.fixture
def candidates(world: World) -> dict[str, str]:
    """Two 拟录取 nominees, one still in the expert review, in the sample cohort."""
    return {
        "a": insert_nomination(world, "拟录取", name="录取甲", email="jia@example.cn"),
        "b": insert_nomination(world, "拟录取", district=DISTRICT2, name="异议乙"),
        "c": insert_nomination(world, "专家评审", name="落选丙"),
    }


def test_opening_computes_the_end_from_working_days(world: World, candidates):
    start = world.db.today() - dt.timedelta(days=20)
    holiday = start + dt.timedelta(days=1)
    world.app.config["PUBLICITY_HOLIDAYS"] = [holiday.isoformat()]
    assert open_period(world, start).status_code == 302
    rec = world.db.table("nominations").get(candidates["a"])
    calendar = WorkCalendar(holidays=frozenset({holiday}))
    assert (rec["status"], rec["publicity_start"], rec["publicity_end"]) == (
        "公示中",
        start,
        calendar.period_end(start),
    )


def test_opening_with_too_short_a_period_shows_the_problem_at_the_end_date(
    world: World, candidates
):
    start = world.db.today()
    response = open_period(world, start, start)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "个工作日" in html[html.index('id="publicity_end-error"') :][:300]
    assert statuses(world, candidates["a"]) == ["拟录取"]


def object_and_resolve(
    world: World, nomination_id: str, received_on: dt.date, outcome: str
) -> None:
    """Record an objection against ``nomination_id`` and resolve it, through the pages."""
    admin_post(
        world,
        f"/nominations/publicity/{cohort_id(world)}/objections",
        {
            "nomination": nomination_id,
            "received_on": received_on.isoformat(),
            "content": "反映违规收费",
        },
    )
    (objection,) = world.db.table("publicity_objections").where(nomination=nomination_id)
    admin_post(
        world,
        f"/nominations/publicity/objections/{objection.id}/resolve",
        {"status": outcome, "resolution": "经核查，学校确有违规收费。"},
    )
    assert world.db.table("publicity_objections").get(objection.id)["status"] == outcome


def finalise(world: World) -> str:
    """Finalise the sample cohort; returns the page the admin is sent back to (with the flash)."""
    return flashed(world, admin_post(world, f"/nominations/publicity/{cohort_id(world)}/finalise"))


def test_full_publicity_flow_admits_into_the_roster_of_the_workbook(world: World, candidates):
    start = world.db.today() - dt.timedelta(days=20)
    assert open_period(world, start).status_code == 302
    object_and_resolve(world, candidates["a"], start, "异议不成立")
    assert "已确定" in finalise(world)

    a = world.db.table("nominations").get(candidates["a"])
    assert a["status"] == "已录取" and "异议经核查不成立" in a["decision_note"]
    world.db.sync()
    (trainee,) = trainees_of(world, a.id)
    row = read_row(world.workbook, "学员", trainee.id)
    assert row is not None
    assert (row["人选编号"], row["期次"], row["姓名"], row["区、县（市）"], row["培养状态"]) == (
        a.id,
        cohort_id(world),
        "录取甲",
        DISTRICT,
        "在训",
    )
    assert (row["所在学校"], row["手机号码"], row["电子邮箱"]) == (
        a["school"],
        a["phone"],
        "jia@example.cn",
    )
    (history,) = world.db.table("trainee_status_history").where(trainee=trainee.id)
    assert (history["from_status"], history["to_status"]) == (None, "在训")


def test_upheld_objection_leaves_the_nominee_unadmitted_with_the_finding(world: World, candidates):
    start = world.db.today() - dt.timedelta(days=20)
    open_period(world, start)
    object_and_resolve(world, candidates["b"], start, "异议成立")
    finalise(world)
    b = world.db.table("nominations").get(candidates["b"])
    assert b["status"] == "未录取" and "学校确有违规收费" in b["decision_note"]
    assert trainees_of(world, b.id) == []


def test_nominees_still_in_review_are_closed_as_not_selected(world: World, candidates):
    open_period(world, world.db.today() - dt.timedelta(days=20))
    finalise(world)
    c = world.db.table("nominations").get(candidates["c"])
    assert c["status"] == "未录取" and "差额评审未入选" in c["decision_note"]
    assert trainees_of(world, c.id) == []


def test_finalising_again_creates_no_second_trainee(world: World, candidates):
    open_period(world, world.db.today() - dt.timedelta(days=20))
    finalise(world)
    before = len(world.db.table("trainees").all(include_voided=True))
    assert "没有需要更新" in finalise(world)
    assert len(world.db.table("trainees").all(include_voided=True)) == before
    assert len(trainees_of(world, candidates["a"])) == 1


def test_finalising_before_the_period_ends_is_refused(world: World, candidates):
    today = world.db.today()
    open_period(world, today)
    page = finalise(world)
    assert "才结束" in page and "才能确定录取名单" in page
    assert statuses(world, candidates["a"], candidates["c"]) == ["公示中", "专家评审"]
    assert trainees_of(world, candidates["a"]) == []


def test_finalising_with_an_objection_still_to_check_is_refused(world: World, candidates):
    start = world.db.today() - dt.timedelta(days=20)
    open_period(world, start)
    base = f"/nominations/publicity/{cohort_id(world)}"
    admin_post(
        world,
        f"{base}/objections",
        {"nomination": candidates["a"], "received_on": start.isoformat(), "content": "反映问题"},
    )
    page = finalise(world)
    assert "待核查" in page and "录取甲" in page
    assert statuses(world, candidates["a"]) == ["公示中"]
    assert trainees_of(world, candidates["a"]) == []


def test_objection_against_a_nomination_not_in_publicity_is_refused(world: World, candidates):
    response = admin_post(
        world,
        f"/nominations/publicity/{cohort_id(world)}/objections",
        {
            "nomination": candidates["c"],
            "received_on": world.db.today().isoformat(),
            "content": "x",
        },
    )
    assert response.status_code == 200
    assert world.db.table("publicity_objections").where(nomination=candidates["c"]) == []


# --------------------------------------------------------------------------- the public page

ID_PATTERN = re.compile(r"\b[A-Z]{1,2}\d{4}-\d{4}\b")  # record ids such as N2026-0001


def test_public_page_lists_only_name_school_and_district(world: World, candidates):
    open_period(world, world.db.today())
    a = world.db.table("nominations").get(candidates["a"])
    response = world.client("anonymous").get(f"/nominations/publicity/{cohort_id(world)}/public")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert all(text in html for text in ("录取甲", a["school"], DISTRICT, "书面反映"))
    assert "落选丙" not in html  # still in review: not in publicity
    secrets = world.samples.pii | world.samples.emails | {a["phone"], a["id_number"], a["email"]}
    assert [s for s in secrets if s in html] == []
    assert ID_PATTERN.findall(html) == []
    assert "专家评审均分" not in html and str(ROLE_EMAILS["admin"]) not in html


def test_a_mistyped_holiday_setting_stops_the_start_up_naming_the_key(tmp_path):
    from app import create_app
    from blueprints.nominations.publicity import CalendarConfigError
    from tests.conftest import make_config

    with pytest.raises(CalendarConfigError, match="PUBLICITY_HOLIDAYS"):
        create_app(make_config(tmp_path, PUBLICITY_HOLIDAYS=["2026-13-01"]))
