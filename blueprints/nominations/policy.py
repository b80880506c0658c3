"""Who may do what with a nomination: rules for ``mingxiao.policy.authorize``.

A district user acts on their own district's nominations only; the district is read from the
stored record (``same_district``), never from the form. Admins act on every district.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from mingxiao.database import get_db
from mingxiao.policy import is_role, same_district, server_record

from . import review


def own_or_admin(user: Any, record: Any = None) -> bool:
    """Admins: any nomination; district staff: the list, and their own district's records."""
    if is_role(user, "admin"):
        return True
    if not is_role(user, "district") or not getattr(user, "district", None):
        return False
    return record is None or same_district(user, record)


def admin_only(user: Any, record: Any = None) -> bool:
    """The city office (组织处) only."""
    return is_role(user, "admin")


def district_staff(user: Any, record: Any = None) -> bool:
    """Admins, and district staff with a district (record-less actions such as 报送)."""
    return is_role(user, "admin") or (
        is_role(user, "district") and bool(getattr(user, "district", None))
    )


def expert_scoring(user: Any, record: Any = None) -> bool:
    """Experts: the scoring list, and a nomination as the server has it if it can be scored.

    Scorable: 已报送 or 专家评审, in a cohort whose review the city started. An expert whose
    own 区县 is the nominee's is left out unless ``NOMINATIONS_EXCLUDE_OWN_DISTRICT_EXPERTS``
    is off (回避).
    """
    if not is_role(user, "expert"):
        return False
    if record is None:
        return True
    stored = server_record(record)
    if stored is None or stored.sheet != "nominations":
        return False
    if stored.get("status") not in review.SCORABLE:
        return False
    cohort = stored.get("cohort")
    in_review = get_db().table("nominations").where(cohort=cohort, status=review.IN_REVIEW)
    if not cohort or not in_review:
        return False
    mine = getattr(user, "district", None)
    exclude = current_app.config.get("NOMINATIONS_EXCLUDE_OWN_DISTRICT_EXPERTS", True)
    return not (exclude and mine and stored.get("district") == mine)


PERMISSIONS = {
    "nominations.view": own_or_admin,
    "nominations.create": district_staff,
    "nominations.edit": own_or_admin,
    "nominations.stamp": own_or_admin,
    "nominations.submit": district_staff,
    "nominations.personal_data": own_or_admin,  # full phone and ID numbers
    "nominations.reopen": admin_only,
    "nominations.window": admin_only,
    "nominations.all_districts": admin_only,
    "nominations.invite": district_staff,  # issue and withdraw fill-in invitation links
    "nominations.import": district_staff,  # import a district's existing 《人选汇总表》
    "nominations.print": own_or_admin,  # the printable 《人选推荐表》 and its PDF
    "nominations.publicity": admin_only,  # 公示: periods, objections, finalising
    "nominations.score": expert_scoring,  # 差额审核: score a nomination (record-level)
    "nominations.review": admin_only,  # 差额审核: start, weights, ranking, shortlist
}
