"""The workshop list is paginated: at most PER_PAGE workshops a page, the next page has the
rest, the count is of every workshop, each row's figures (members, activities, principals
brought on) are the same as on the unpaginated list, the admin's district filter stays on the
pager, and a district sees only its own 区县's workshops."""

from __future__ import annotations

import re

import pytest

from blueprints.workshops import views
from tests._demo import DISTRICT, World

pytest_plugins = ["tests._demo"]

ROW = re.compile(
    r'<tr(?: class="row--syncing")?>\s*<td data-label="[^"]*"><a href="/workshops/(W[\d-]+)">.*?</tr>',
    re.S,
)


def rows(world: World, role: str, query: str = "") -> tuple[dict[str, str], str]:
    response = world.client(role).get(f"/workshops/{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return {m.group(1): m.group(0) for m in ROW.finditer(html)}, html


def test_pages_hold_at_most_50_workshops():
    assert views.PER_PAGE == 50


def test_page_two_has_the_rest_with_the_same_figures(world: World, monkeypatch: pytest.MonkeyPatch):
    role = "admin"  # the demo world's district has a single workshop
    expected = {w.id for w in world.db.table("workshops").all()}
    whole, html = rows(world, role)
    assert set(whole) == expected and f"共 {len(expected)} 个工作室" in html
    assert len(expected) > 1
    size = len(expected) - 1
    monkeypatch.setattr(views, "PER_PAGE", size)
    first, html = rows(world, role)
    assert len(first) == size and f"共 {len(expected)} 个工作室" in html
    assert 'href="/workshops/?page=2"' in html
    second, _html = rows(world, role, "?page=2")
    assert len(second) == 1 and not set(first) & set(second)
    assert {**first, **second} == whole
    assert rows(world, role, "?page=3")[0] == {}


def test_the_admin_filter_stays_on_the_pager_and_a_district_sees_only_its_own(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    own = {w.id for w in world.db.table("workshops").where(district=DISTRICT)}
    assert own
    monkeypatch.setattr(views, "PER_PAGE", 1)
    first, html = rows(world, "admin", f"?district={DISTRICT}")
    assert set(first) <= own
    if len(own) > 1:
        assert re.search(r'href="/workshops/\?(?=[^"]*district=)(?=[^"]*page=2)[^"]*"', html)
    seen: set[str] = set()
    for n in range(1, len(own) + 2):
        page, _html = rows(world, "district", f"?page={n}")
        seen |= set(page)
    assert seen == own
    assert not set(rows(world, "district2")[0]) & own
