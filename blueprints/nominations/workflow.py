"""The review workflow of a nomination: window, lock, stamp, return, submit, reopen.

Plain functions without Flask, like ``rules.py``: each check returns ``None`` when the step is
allowed, else a problem ``(Chinese msgid template with {placeholders}, params)`` that a view
shows with ``_(template).format(**params)``. The eligibility of the nominee is ``rules.py``'s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from mingxiao.sheetdb.types import N_

Problem = tuple[str, dict[str, Any]]

DRAFT = "草稿"
RETURNED = "已退回"
STAMPED = "已盖章"
SUBMITTED = "已报送"

# A district may change a nomination only before it is stamped, or after it was returned.
EDITABLE = frozenset({DRAFT, RETURNED})
# What an admin may set a submitted nomination back to.
REOPEN_TO = (STAMPED, RETURNED)
# The statuses that belong in the 《人选汇总表》: stamped by the district, and beyond.
SUMMARY_STATUSES = frozenset(
    {STAMPED, SUBMITTED, "专家评审", "拟录取", "公示中", "已录取", "未录取"}
)
DEFAULT_QUOTA = 50


def window_problem(cohort: Mapping[str, Any] | None, today: dt.date) -> Problem | None:
    """Why nothing can be submitted for ``cohort`` today (closed window, passed deadline), or None."""
    if cohort is None:
        return N_("请选择推荐的期次。"), {}
    name = cohort.get("name") or cohort.get("id") or ""
    if not cohort.get("nomination_open"):
        return (
            N_(
                "“{cohort}”的推荐通道未开放，现在不能填报或修改推荐。请等市教育局开放推荐后再填报。"
            ),
            {"cohort": name},
        )
    deadline = cohort.get("nomination_deadline")
    if isinstance(deadline, dt.datetime):
        deadline = deadline.date()
    if not isinstance(deadline, dt.date):
        return N_("“{cohort}”还没有设定推荐截止日期，现在不能填报。请联系市教育局组织处。"), {
            "cohort": name
        }
    if today > deadline:
        return (
            N_(
                "“{cohort}”的推荐已于 {deadline} 截止，不能再填报或修改。如需补报，请联系市教育局组织处。"
            ),
            {"cohort": name, "deadline": deadline.isoformat()},
        )
    return None


def edit_problem(status: str | None) -> Problem | None:
    """A stamped or submitted nomination is locked: it must be returned (or reopened) first."""
    if status in EDITABLE:
        return None
    return (
        N_(
            "这份推荐的状态是“{status}”，已锁定，不能修改。如需修改，请先由区县退回（已报送的须由市教育局重新打开）。"
        ),
        {"status": status or ""},
    )


def stamp_problem(status: str | None) -> Problem | None:
    """Only a draft or a returned (and corrected) nomination can be stamped."""
    if status in EDITABLE:
        return None
    return N_("这份推荐的状态是“{status}”，不能盖章：只有草稿或已退回的推荐可以盖章。"), {
        "status": status or ""
    }


def return_problem(status: str | None, reason: str) -> Problem | None:
    """A district returns a draft or a stamped nomination, always with a reason."""
    if status not in (DRAFT, STAMPED):
        return (
            N_("这份推荐的状态是“{status}”，不能退回：已报送的推荐只能由市教育局重新打开。"),
            {"status": status or ""},
        )
    if not reason.strip():
        return N_("请填写退回原因，写明哪一项需要补正。"), {}
    return None


def reopen_problem(status: str | None, target: str, reason: str) -> Problem | None:
    """An admin sets a submitted nomination back to stamped or returned, with a reason."""
    if status != SUBMITTED:
        return N_("只有已报送的推荐可以重新打开，这份推荐的状态是“{status}”。"), {
            "status": status or ""
        }
    if target not in REOPEN_TO:
        return N_("请选择重新打开后的状态：已盖章或已退回。"), {}
    if not reason.strip():
        return N_("请填写重新打开的原因。"), {}
    return None


def submittable(nominations: list[Any]) -> list[Any]:
    """The nominations of a batch that go to the city: the stamped ones."""
    return [n for n in nominations if n.get("status") == STAMPED]
