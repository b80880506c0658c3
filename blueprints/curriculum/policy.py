"""Who may do what in the curriculum plugin: rules for ``mingxiao.policy.authorize``.

The timetable and the curriculum are programme information every signed-in role may read.
Recording sessions and attendance, deciding leave and importing sign-in sheets is the city
training centre's (admin). A trainee's hours ledger is seen by admins, the trainee's own
district, the mentors currently assigned to the trainee and the trainee themself; the scope
is read from the stored record, never from the request.
"""

from __future__ import annotations

from typing import Any

from mingxiao.policy import (
    is_own_trainee_record,
    is_role,
    is_self_record,
    same_district,
    server_record,
)

ROLES = ("admin", "district", "expert", "mentor", "trainee")


def signed_in(user: Any, record: Any = None) -> bool:
    """Any signed-in role: the curriculum table and the timetable."""
    return is_role(user, *ROLES)


def admin_only(user: Any, record: Any = None) -> bool:
    """The city training centre."""
    return is_role(user, "admin")


def trainee_scope(user: Any, record: Any = None) -> bool:
    """A record about one trainee (a trainee row or an attendance row), as stored."""
    stored = server_record(record)
    if stored is None:
        return False
    if is_role(user, "admin"):
        return True
    if is_role(user, "district"):
        return same_district(user, stored)
    if is_role(user, "mentor"):
        return is_own_trainee_record(user, stored)
    if is_role(user, "trainee"):
        return is_self_record(user, stored)
    return False


def own_leave(user: Any, record: Any = None) -> bool:
    """Trainees ask for their own leave: the page (no record), or their own attendance row."""
    if not is_role(user, "trainee") or not getattr(user, "trainee_id", None):
        return False
    if record is None:
        return True
    stored = server_record(record)
    return stored is not None and stored.sheet == "attendance" and is_self_record(user, stored)


def risk_view(user: Any, record: Any = None) -> bool:
    """The attendance risk list: admins (all), district staff (their own district's trainees)."""
    if is_role(user, "admin"):
        return True
    if not is_role(user, "district") or not getattr(user, "district", None):
        return False
    return record is None or same_district(user, record)


PERMISSIONS = {
    "curriculum.view": signed_in,  # the 9 modules, the timetable
    "curriculum.manage": admin_only,  # sessions, attendance grid, import, leave decisions
    "curriculum.hours": trainee_scope,  # a trainee's hours ledger and absence
    "curriculum.leave": own_leave,  # request / withdraw one's own leave
    "curriculum.risk": risk_view,  # the attendance risk list
}
