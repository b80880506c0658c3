"""Shared helpers of the nominations page tests: an open window and a valid 推荐表."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests._demo import DISTRICT, ROLE_EMAILS, World

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(body17: str) -> str:
    """A GB 11643 ID number: ``body17`` plus its check character."""
    total = sum(int(c) * w for c, w in zip(body17, WEIGHTS, strict=True))
    return body17 + "10X98765432"[total % 11]


def cohort_id(world: World) -> str:
    return world.samples.records["cohorts"]["admin"]


def set_window(world: World, *, open_: bool = True, days_left: int = 30) -> str:
    """Open (or close) the nomination window of the sample cohort; returns its id."""
    cid = cohort_id(world)
    deadline = world.db.today() + dt.timedelta(days=days_left)
    world.db.table("cohorts").update(
        cid, {"nomination_open": open_, "nomination_deadline": deadline}
    )
    return cid


def form_data(world: World, **overrides: Any) -> dict[str, str]:
    """The 推荐表 of an eligible principal, as the browser posts it (schema keys)."""
    data = {
        "cohort": cohort_id(world),
        "route": "单位推荐",
        "recommending_unit": "上城区教育局",
        "name": "钱学敏",
        "gender": "女",
        "birth_date": "1976-03-12",
        "id_number": id_number("33010219760312002"),
        "phone": "13957100001",
        "school": "杭州市测试实验小学",
        "school_type": "小学",
        "position": "正职校长",
        "head_since": "2015-09-01",
        "title": "高级教师",
        "no_safety_accident": "y",
        "no_irregular_conduct": "y",
        "no_ideology_issue": "y",
        "no_opinion_incident": "y",
    }
    data.update(overrides)
    return data


def insert_nomination(
    world: World, status: str = "草稿", district: str = DISTRICT, **values: Any
) -> str:
    """A nomination stored directly through the engine; returns its id."""
    data = form_data(world)
    for key in ("birth_date", "head_since"):
        data[key] = dt.date.fromisoformat(data[key])  # type: ignore[assignment]
    row: dict[str, Any] = {k: v for k, v in data.items() if not k.startswith("no_")}
    row.update(district=district, status=status, **values)
    return world.db.table("nominations").insert(row, user=ROLE_EMAILS["admin"]).id


def post(world: World, role: str, url: str, data: dict[str, Any] | None = None) -> Any:
    client = world.client(role)
    return client.post(url, data={**(data or {}), "csrf_token": world.token(client)})
