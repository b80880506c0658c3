"""Who may see or manage a 名校长工作室: rules for ``mingxiao.policy.authorize``.

Scope is read from the server: the record a view passes in is re-read by its sheet and id, and
a member or activity row is judged by the workshop it belongs to (its own ``district`` column
is the member's school, not the workshop's area). A trainee row (the profile page) is judged
as the workshop its trainee leads or would lead.

- trainee: manages their own workshop only (create, edit, members, activities, outcomes);
- district staff: read the workshops of their own 区县;
- admin: reads every workshop, and the sheet-health view;
- mentor: reads the workshops of the trainees assigned to them today;
- expert: nothing.
"""

from __future__ import annotations

from typing import Any

from mingxiao.database import get_db
from mingxiao.policy import is_role, mentor_trainee_ids, server_record

CHILD_SHEETS = ("workshop_members", "workshop_activities")


def workshop_scope(record: Any) -> tuple[str, str] | None:
    """``(trainee id, district)`` of a workshop, member, activity or trainee record, as stored."""
    stored = server_record(record)
    if stored is None:
        return None
    if stored.sheet in CHILD_SHEETS:
        parent = get_db().table("workshops").get(str(stored.get("workshop") or ""))
        if parent is None or parent.voided:
            return None
        stored = parent
    if stored.sheet == "workshops":
        return str(stored.get("trainee") or ""), str(stored.get("district") or "")
    if stored.sheet == "trainees":
        return stored.id, str(stored.get("district") or "")
    return None


def _own_trainee(user: Any) -> str:
    return str(getattr(user, "trainee_id", None) or "") if is_role(user, "trainee") else ""


def can_view(user: Any, record: Any = None) -> bool:
    """The list (record None) for every role but experts; a record as described above."""
    if is_role(user, "admin"):
        return True
    if record is None:
        if is_role(user, "district"):
            return bool(getattr(user, "district", None))
        if is_role(user, "mentor"):
            return bool(getattr(user, "mentor_id", None))
        return bool(_own_trainee(user))
    scope = workshop_scope(record)
    if scope is None:
        return False
    trainee, district = scope
    if is_role(user, "district"):
        mine = getattr(user, "district", None)
        return bool(mine) and district == mine
    if is_role(user, "mentor"):
        return bool(trainee) and trainee in mentor_trainee_ids(user)
    own = _own_trainee(user)
    return bool(own) and trainee == own


def can_manage(user: Any, record: Any = None) -> bool:
    """Trainees only, on their own workshop (record None: founding one)."""
    own = _own_trainee(user)
    if not own:
        return False
    if record is None:
        return True
    scope = workshop_scope(record)
    return scope is not None and scope[0] == own


def admin_only(user: Any, record: Any = None) -> bool:
    """The city office: every workshop's district filter and the sheet-health view."""
    return is_role(user, "admin")


PERMISSIONS = {
    "workshops.view": can_view,
    "workshops.manage": can_manage,  # found, edit, members, activities, outcomes
    "workshops.health": admin_only,  # rows typed into the sheet that break the rules
    "workshops.all_districts": admin_only,
}
