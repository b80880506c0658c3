"""The progress list (/deliverables/) is paginated: at most PER_PAGE trainees a page, the next
page has the rest, the count is of every trainee, each row's figures are the same as on the
unpaginated list, and a district sees only its own 区县's trainees on every page."""

from __future__ import annotations

import re

import pytest

from blueprints.deliverables.views import work
from tests._demo import DISTRICT, World

pytest_plugins = ["tests._demo"]

ROW = re.compile(
    r'<tr>\s*<th scope="row"><a href="/deliverables/trainee/([A-Z]+[\d-]+)">.*?</tr>', re.S
)


def rows(world: World, role: str, query: str = "") -> tuple[dict[str, str], str]:
    response = world.client(role).get(f"/deliverables/{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return {m.group(1): m.group(0) for m in ROW.finditer(html)}, html


def test_pages_hold_at_most_50_trainees():
    assert work.PER_PAGE == 50


@pytest.mark.parametrize("role", ["district", "admin"])
def test_page_two_has_the_rest_with_the_same_figures(
    world: World, monkeypatch: pytest.MonkeyPatch, role: str
):
    table = world.db.table("trainees")
    expected = {
        t.id for t in (table.where(district=DISTRICT) if role == "district" else table.all())
    }
    assert len(expected) > 1
    whole, html = rows(world, role)
    assert set(whole) == expected and f"共 {len(expected)} 人" in html
    size = len(expected) - 1
    monkeypatch.setattr(work, "PER_PAGE", size)
    first, html = rows(world, role)
    assert len(first) == size and f"共 {len(expected)} 人" in html
    assert 'href="/deliverables/?page=2"' in html
    second, _html = rows(world, role, "?page=2")
    assert len(second) == 1 and not set(first) & set(second)
    assert {**first, **second} == whole  # every trainee once, each row's figures unchanged
    assert rows(world, role, "?page=3")[0] == {}


def test_a_district_sees_only_its_own_on_every_page(world: World, monkeypatch: pytest.MonkeyPatch):
    own = {t.id for t in world.db.table("trainees").where(district=DISTRICT)}
    monkeypatch.setattr(work, "PER_PAGE", 1)
    seen: set[str] = set()
    for n in range(1, len(own) + 2):
        page, _html = rows(world, "district", f"?page={n}")
        seen |= set(page)
    assert seen == own
    other, _html = rows(world, "district2")
    assert other and not set(other) & own
