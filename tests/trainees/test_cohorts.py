"""Cohort settings: total hours default to the curriculum data; the nomination window is linked."""

from __future__ import annotations

import re

from tests._demo import World
from tests.trainees._helpers import post

pytest_plugins = ["tests._demo"]


def test_new_cohort_form_takes_the_total_hours_from_the_curriculum(world: World):
    total = sum(int(m["hours"]) for m in world.db.table("curriculum_modules").all())
    assert total == 270
    page = world.client("admin").get("/trainees/cohorts/new").get_data(as_text=True)
    assert re.search(r'name="total_hours"[^>]*value="270"', page)


def test_curriculum_hours_follow_the_sheet(world: World):
    modules = world.db.table("curriculum_modules")
    first = sorted(modules.all(), key=lambda m: m.id)[0]
    modules.update(first.id, {"hours": int(first["hours"]) + 10})
    page = world.client("admin").get("/trainees/cohorts/new").get_data(as_text=True)
    assert re.search(r'name="total_hours"[^>]*value="280"', page)
    listing = world.client("admin").get("/trainees/cohorts").get_data(as_text=True)
    assert "与课程不一致" in listing  # the cohorts still say 270


def test_cohort_list_links_to_the_nomination_window_instead_of_editing_it(world: World):
    cohort = world.samples.records["cohorts"]["admin"]
    page = world.client("admin").get(f"/trainees/cohorts/{cohort}").get_data(as_text=True)
    assert f"/nominations/windows/{cohort}" in page
    assert 'name="quota"' not in page and 'name="nomination_deadline"' not in page


def test_editing_a_cohort_saves_its_settings(world: World):
    cohort = world.samples.records["cohorts"]["admin"]
    data = {**world.samples.extra["trainees_cohort_form"], "end_date": "2028-03-31"}
    response = post(world, "admin", f"/trainees/cohorts/{cohort}", data)
    assert response.status_code == 302
    assert world.db.table("cohorts").get(cohort)["end_date"].isoformat() == "2028-03-31"


def test_end_before_start_is_refused(world: World):
    cohort = world.samples.records["cohorts"]["admin"]
    before = world.db.table("cohorts").get(cohort)["end_date"]
    data = {**world.samples.extra["trainees_cohort_form"], "end_date": "2000-01-01"}
    response = post(world, "admin", f"/trainees/cohorts/{cohort}", data)
    assert response.status_code == 200 and "结业日期应晚于开班日期" in response.get_data(
        as_text=True
    )
    assert world.db.table("cohorts").get(cohort)["end_date"] == before
