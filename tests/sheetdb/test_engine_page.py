"""Paging: the indexed fast path returns exactly what slicing ``where()`` returns, overlay included."""

from __future__ import annotations

from pathlib import Path

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

from tests.sheetdb.helpers import open_small

LEVELS = ["一级", "二级", None]


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    synced=st.lists(st.sampled_from(LEVELS), min_size=0, max_size=12),
    pending=st.lists(
        st.tuples(
            st.sampled_from(["insert", "update", "void"]),
            st.integers(0, 30),
            st.sampled_from(LEVELS),
        ),
        max_size=10,
    ),
    per_page=st.integers(1, 5),
)
def test_fast_page_matches_slicing_where_with_pending_overlay(
    tmp_path_factory: object,
    synced: list[str | None],
    pending: list[tuple[str, int, str | None]],
    per_page: int,
) -> None:
    tmp = Path(tmp_path_factory.mktemp("page"))  # type: ignore[attr-defined]
    db = open_small(tmp)
    mentors = db.table("mentors")
    ids = [mentors.insert({"name": f"导师{i}", "organisation": "杭州二中", "level": lv}).id for i, lv in enumerate(synced)]
    db.sync()
    for kind, n, lv in pending:
        if kind == "insert" or not ids:
            ids.append(mentors.insert({"name": "新导师", "organisation": "学军中学", "level": lv}).id)
        elif kind == "update":
            rid = ids[n % len(ids)]
            if mentors.get(rid) is not None:
                mentors.update(rid, {"level": lv}, user="t")
        elif mentors.get(ids[n % len(ids)]) is not None:
            mentors.void(ids[n % len(ids)], user="t")
    for equals in ({}, {"level": "一级"}, {"level": None}, {"level": "二级", "name": "新导师"}):
        rows = mentors.where(**equals)
        for page in range(1, len(rows) // per_page + 3):
            got = mentors.page(page, per_page, **equals)
            assert got.total == len(rows)
            assert [r.id for r in got.items] == [
                r.id for r in rows[(page - 1) * per_page : page * per_page]
            ]
            assert [dict(r) for r in got.items] == [
                dict(r) for r in rows[(page - 1) * per_page : page * per_page]
            ]
    db.close()
