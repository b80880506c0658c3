"""The curriculum table and the timetable pages over the demo world."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import url_for

from app import create_app
from tests._demo import World
from tests.conftest import csrf_token, make_config

pytest_plugins = ["tests._demo"]


def test_modules_page_lists_the_nine_topics_and_270_hours(world: World) -> None:
    page = world.client("mentor").get("/curriculum/").text
    assert (len(re.findall(r'<tr id="CM', page)), "合计 270 学时" in page) == (9, True)


def test_sessions_page_lists_a_cohorts_sessions(world: World) -> None:
    x = world.samples.extra["curriculum"]
    page = world.client("trainee").get(f"/curriculum/sessions?cohort={x['cohort']}").text
    assert f'id="{x["session"]}"' in page


def test_editing_a_session_with_the_form_as_shown_saves_without_a_conflict(world: World) -> None:
    x = world.samples.extra["curriculum"]
    admin = world.client("admin")
    with world.app.test_request_context():
        url = url_for("curriculum.session_edit", session_id=x["session"])
    page = admin.get(url).text
    fields = dict(re.findall(r'<input[^>]*name="(base_\w+)"[^>]*value="([^"]*)"', page))
    form = {
        **x["session_values"],
        **fields,
        "title": "改过名称的培训",
        "csrf_token": csrf_token(page),
    }
    response = admin.post(url, data=form)
    saved = world.db.table("sessions").get(x["session"])
    conflicted = any(c.record_id == x["session"] for c in world.db.conflicts())
    assert (response.status_code, saved["title"], conflicted) == (302, "改过名称的培训", False)


def test_a_session_needs_a_type_and_hours(world: World) -> None:
    admin = world.client("admin")
    page = admin.get("/curriculum/sessions/new").text
    response = admin.post(
        "/curriculum/sessions/new",
        data={
            "csrf_token": csrf_token(page),
            "cohort": "C0003",
            "title": "缺项",
            "date": "2027-01-10",
        },
    )
    assert response.status_code == 200 and "请填写学时" in response.text


def test_district_risk_list_leaves_out_other_districts_trainees(world: World) -> None:
    def listed(role: str) -> set[str]:
        return set(
            re.findall(r'id="risk-(T[\d-]+)"', world.client(role).get("/curriculum/risk").text)
        )

    trainees = world.db.table("trainees")
    elsewhere = {t for t in listed("admin") if trainees.get(t)["district"] != "西湖区"}
    assert elsewhere and not (elsewhere & listed("district2"))


def test_admin_risk_list_shows_the_demo_candidates(world: World) -> None:
    page = world.client("admin").get("/curriculum/risk").text
    assert 'data-level="candidate"' in page


def test_a_mistyped_absence_limit_stops_the_start_up_with_its_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ABSENCE_LIMIT"):
        create_app(make_config(tmp_path, ABSENCE_LIMIT="五分之一"))


def test_absence_settings_have_defaults_in_the_app_config(tmp_path: Path) -> None:
    app = create_app(make_config(tmp_path))
    keys = ("ABSENCE_TOTAL_HOURS", "ABSENCE_LIMIT", "ABSENCE_LEAVE_COUNTS", "ABSENCE_WARN_LEVELS")
    assert [app.config[k] for k in keys] == [None, "1/5", True, "1/2,3/4"]


def test_saving_the_grid_of_a_coming_session_as_shown_records_nobody(world: World) -> None:
    x = world.samples.extra["curriculum"]
    admin = world.client("admin")
    with world.app.test_request_context():
        url = url_for("curriculum.attendance", session_id=x["ahead"])
    page = admin.get(url).text
    shown = dict(re.findall(r'name="(status-[^"]+)" value="([^"]*)" checked', page))
    before = len(world.db.table("attendance").where(session=x["ahead"]))
    admin.post(url, data={**shown, "csrf_token": csrf_token(page)})
    assert len(world.db.table("attendance").where(session=x["ahead"])) == before
