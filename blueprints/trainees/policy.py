"""Who may see and act on trainees: rules for ``mingxiao.policy.authorize``.

- admin: every trainee, cohort settings, status changes and eliminations;
- district staff: their own 区县's trainees (the district is the stored trainee's), and the
  elimination cases about them (read only);
- mentor: the trainees assigned to them today (``mentor_trainee_ids``);
- trainee: themself.
Everyone else, and everyone on a record outside their scope, is refused (the views answer 404
on records, so an id is not confirmed).
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


def _district_user(user: Any) -> bool:
    return is_role(user, "district") and bool(getattr(user, "district", None))


def view_trainee(user: Any, record: Any = None) -> bool:
    """The roster (record None) for the four roles with a scope; one trainee within it."""
    if is_role(user, "admin"):
        return True
    if record is None:
        return (
            _district_user(user)
            or (is_role(user, "mentor") and bool(getattr(user, "mentor_id", None)))
            or (is_role(user, "trainee") and bool(getattr(user, "trainee_id", None)))
        )
    if _district_user(user):
        return same_district(user, record)
    if is_role(user, "mentor"):
        return is_own_trainee_record(user, record)
    if is_role(user, "trainee"):
        return is_self_record(user, record)
    return False


def personal_data(user: Any, record: Any = None) -> bool:
    """Full phone numbers: admins, and district staff for their own district's trainees."""
    if is_role(user, "admin"):
        return True
    return _district_user(user) and record is not None and same_district(user, record)


def admin_only(user: Any, record: Any = None) -> bool:
    """The city training centre only."""
    return is_role(user, "admin")


def view_eliminations(user: Any, record: Any = None) -> bool:
    """Elimination cases: admins all; district staff the list and their own district's cases."""
    if is_role(user, "admin"):
        return True
    if not _district_user(user):
        return False
    if record is None:
        return True
    stored = server_record(record)
    return (
        stored is not None and stored.sheet == "elimination_cases" and same_district(user, stored)
    )


PERMISSIONS = {
    "trainees.view": view_trainee,
    "trainees.personal_data": personal_data,
    "trainees.all_districts": admin_only,
    "trainees.change_status": admin_only,
    "trainees.cohorts": admin_only,
    "trainees.eliminate": admin_only,  # propose, decide and reverse
    "trainees.eliminations": view_eliminations,
}
