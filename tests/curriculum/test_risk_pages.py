"""The attendance risk list (考勤预警) is paginated: at most PER_PAGE trainees a page, worst
first across pages, the next page has the rest, the count is of every trainee at risk, the
cohort filter stays on the pager, and a district sees only its own 区县's trainees."""

from __future__ import annotations

import re

import pytest

from blueprints.curriculum import data
from blueprints.curriculum.views import hours
from tests._demo import DISTRICT, World

pytest_plugins = ["tests._demo"]

ROW = re.compile(r'<tr id="risk-([A-Z]+[\d-]+)".*?</tr>', re.S)


def rows(world: World, role: str, query: str = "") -> tuple[list[tuple[str, str]], str]:
    response = world.client(role).get(f"/curriculum/risk{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return [(m.group(1), m.group(0)) for m in ROW.finditer(html)], html


def test_pages_hold_at_most_50_trainees():
    assert hours.PER_PAGE == 50


def test_page_two_continues_the_order_with_the_same_figures(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    whole, html = rows(world, "admin")
    with world.app.test_request_context():
        expected = [r.trainee.id for r in data.risk_rows()]
    assert [tid for tid, _row in whole] == expected and len(expected) > 1
    assert f"共 {len(expected)} 人" in html
    size = len(expected) - 1
    monkeypatch.setattr(hours, "PER_PAGE", size)
    first, html = rows(world, "admin")
    assert len(first) == size and f"共 {len(expected)} 人" in html
    assert 'href="/curriculum/risk?page=2"' in html
    second, _html = rows(world, "admin", "?page=2")
    assert first + second == whole  # same order, same rows, each once
    assert rows(world, "admin", "?page=3")[0] == []


def test_the_cohort_filter_stays_on_the_pager(world: World, monkeypatch: pytest.MonkeyPatch):
    with world.app.test_request_context():
        by_cohort: dict[str, list[str]] = {}
        for r in data.risk_rows():
            by_cohort.setdefault(r.cohort.id, []).append(r.trainee.id)
    cohort, ids = max(by_cohort.items(), key=lambda kv: len(kv[1]))
    assert len(ids) > 1
    monkeypatch.setattr(hours, "PER_PAGE", 1)
    first, html = rows(world, "admin", f"?cohort={cohort}")
    assert [tid for tid, _row in first] == ids[:1]
    assert re.search(r'href="/curriculum/risk\?(?=[^"]*cohort=)(?=[^"]*page=2)[^"]*"', html)
    second, _html = rows(world, "admin", f"?cohort={cohort}&page=2")
    assert [tid for tid, _row in second] == ids[1:2]


def test_a_district_sees_only_its_own_on_every_page(world: World, monkeypatch: pytest.MonkeyPatch):
    own = {t.id for t in world.db.table("trainees").where(district=DISTRICT)}
    monkeypatch.setattr(hours, "PER_PAGE", 1)
    for n in (1, 2, 3):
        page, _html = rows(world, "district", f"?page={n}")
        assert {tid for tid, _row in page} <= own
    assert not {tid for tid, _row in rows(world, "district2")[0]} & own
