"""The roster is paginated: a page holds at most PER_PAGE trainees, the next page the rest,
the count is of every trainee shown, filters stay on the pager's links, and a district still
sees only its own 区县's trainees on every page."""

from __future__ import annotations

import re

import pytest

from blueprints.trainees.views import roster
from tests._demo import World

pytest_plugins = ["tests._demo"]

LINK = re.compile(r'<td data-label="[^"]*"><a href="/trainees/([A-Z]+[\d-]+)">\1</a></td>')


def listed(world: World, role: str, query: str = "") -> tuple[list[str], str]:
    html = world.client(role).get(f"/trainees/{query}").get_data(as_text=True)
    return LINK.findall(html), html


def test_pages_hold_at_most_50_trainees():
    assert roster.PER_PAGE == 50


@pytest.mark.parametrize("role", ["district", "admin"])
def test_page_two_has_the_rest_and_the_count_is_of_everyone_shown(
    world: World, monkeypatch: pytest.MonkeyPatch, role: str
):
    table = world.db.table("trainees")
    expected = {
        t.id for t in (table.where(district="上城区") if role == "district" else table.all())
    }
    assert len(expected) > 1, "the demo world needs more than one trainee here"
    size = len(expected) - 1  # a full first page and one trainee on the second
    monkeypatch.setattr(roster, "PER_PAGE", size)
    first, html = listed(world, role)
    assert len(first) == size
    assert f"显示 {len(expected)} 名" in html
    assert '?page=2"' in html and 'rel="next"' in html
    rest, _html = listed(world, role, "?page=2")
    assert len(rest) == 1
    assert sorted(first + rest) == sorted(expected)  # each trainee on exactly one page
    assert listed(world, role, "?page=3")[0] == []


def test_a_district_sees_only_its_own_on_every_page(world: World, monkeypatch: pytest.MonkeyPatch):
    own = {t.id for t in world.db.table("trainees").where(district="上城区")}
    monkeypatch.setattr(roster, "PER_PAGE", 1)
    for n in range(1, len(own) + 3):
        ids, _html = listed(world, "district", f"?page={n}")
        assert set(ids) <= own
    ids, _html = listed(world, "district2", "?page=1")
    assert ids and not set(ids) & own


def test_the_pager_keeps_the_filters(world: World, monkeypatch: pytest.MonkeyPatch):
    in_training = [t for t in world.db.table("trainees").all() if t.get("status") == "在训"]
    assert len(in_training) > 1
    monkeypatch.setattr(roster, "PER_PAGE", 1)
    ids, html = listed(world, "admin", "?status=在训")
    assert len(ids) == 1
    assert re.search(
        r'href="/trainees/\?[^"]*status=%E5%9C%A8%E8%AE%AD[^"]*page=2"', html
    ) or re.search(r'href="/trainees/\?[^"]*page=2[^"]*status=%E5%9C%A8%E8%AE%AD"', html)
    ids2, _html = listed(world, "admin", "?status=在训&page=2")
    assert ids2 and set(ids2) <= {t.id for t in in_training} and not set(ids) & set(ids2)
