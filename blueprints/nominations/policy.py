"""Who may do what with a nomination: rules for ``mingxiao.policy.authorize``.

A district user acts on their own district's nominations only; the district is read from the
stored record (``same_district``), never from the form. Admins act on every district.
"""

from __future__ import annotations

from typing import Any

from mingxiao.policy import is_role, same_district


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
}
