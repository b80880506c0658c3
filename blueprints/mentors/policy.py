"""Who may do what in the mentors plugin: rules for ``mingxiao.policy.authorize``.

- The roster, assignments, the load view and the guidance-hours report are the city
  office's (admin).
- A mentor sees and edits (title, expertise) their own roster record only; district staff and
  experts have no roster access.
- A mentor reaches a trainee only while assigned to them (``mentor_trainee_ids``: today's
  assignments); every other trainee, and every log about one, is a 404.
- A mentor writes logs for their own current trainees; a log stays visible to its author.
- The 导师团队 section of a trainee's profile: admins, the trainee's current mentors, the
  trainee's own district, the trainee themself. The guidance notes: admins and the mentors.

Scope always comes from the stored record (``server_record``), never from form input.
"""

from __future__ import annotations

from typing import Any

from mingxiao.policy import is_role, mentor_trainee_ids, same_district, server_record

MENTORS = "mentors"
TRAINEES = "trainees"
LOGS = "mentoring_logs"


def admin_only(user: Any, record: Any = None) -> bool:
    """The city training centre only."""
    return is_role(user, "admin")


def _mentor_id(user: Any) -> str:
    return str(getattr(user, "mentor_id", None) or "") if is_role(user, "mentor") else ""


def own_mentor_record(user: Any, record: Any = None) -> bool:
    """Admins: any mentor; a mentor: their own roster row (the ``mentor`` of their account)."""
    if is_role(user, "admin"):
        return True
    mine = _mentor_id(user)
    if not mine or record is None:
        return False
    stored = server_record(record)
    return stored is not None and stored.sheet == MENTORS and stored.id == mine


def portal(user: Any, record: Any = None) -> bool:
    """The 我的学员 page: mentors whose account is linked to a roster row."""
    return bool(_mentor_id(user))


def log_list(user: Any, record: Any = None) -> bool:
    """The mentoring-log list: admins (all) and linked mentors (their own scope)."""
    return is_role(user, "admin") or bool(_mentor_id(user))


def own_trainee(user: Any, record: Any = None) -> bool:
    """Admins: any trainee; a mentor: a trainee assigned to them today."""
    if is_role(user, "admin"):
        return True
    if not _mentor_id(user) or record is None:
        return False
    stored = server_record(record)
    return stored is not None and stored.sheet == TRAINEES and stored.id in mentor_trainee_ids(user)


def _stored_log(record: Any) -> Any:
    stored = server_record(record)
    return stored if stored is not None and stored.sheet == LOGS else None


def view_log(user: Any, record: Any = None) -> bool:
    """Admins: any log; a mentor: logs about a current trainee, and the logs they wrote."""
    if is_role(user, "admin"):
        return True
    mine = _mentor_id(user)
    stored = _stored_log(record) if mine else None
    if stored is None:
        return False
    return str(stored.get("mentor") or "") == mine or str(
        stored.get("trainee") or ""
    ) in mentor_trainee_ids(user)


def edit_log(user: Any, record: Any = None) -> bool:
    """Admins: any log; a mentor: their own log about a trainee still assigned to them."""
    if is_role(user, "admin"):
        return True
    mine = _mentor_id(user)
    stored = _stored_log(record) if mine else None
    if stored is None:
        return False
    return str(stored.get("mentor") or "") == mine and str(
        stored.get("trainee") or ""
    ) in mentor_trainee_ids(user)


def view_team(user: Any, record: Any = None) -> bool:
    """The 导师团队 of a trainee: admins, the current mentors, the trainee's district, the
    trainee themself."""
    stored = server_record(record)
    if stored is None or stored.sheet != TRAINEES:
        return False
    if is_role(user, "admin"):
        return True
    if is_role(user, "mentor"):
        return stored.id in mentor_trainee_ids(user)
    if is_role(user, "district"):
        return same_district(user, stored)
    if is_role(user, "trainee"):
        return bool(getattr(user, "trainee_id", None)) and user.trainee_id == stored.id
    return False


PERMISSIONS = {
    "mentors.roster": admin_only,  # the roster list, new mentors, every field of a mentor
    "mentors.view": own_mentor_record,
    "mentors.edit": own_mentor_record,  # mentors: title and expertise of their own row
    "mentors.assign": admin_only,  # assignments: create, edit, end; the load view
    "mentors.hours": admin_only,  # guidance hours per mentor per period (导师指导费)
    "mentors.portal": portal,  # 我的学员
    "mentors.logs": log_list,
    "mentors.trainee": own_trainee,  # a trainee's logs; record guidance for them
    "mentors.log_view": view_log,
    "mentors.log_edit": edit_log,
    "mentors.team": view_team,  # the 导师团队 section of the trainee profile
    "mentors.log_notes": own_trainee,  # what was discussed (指导内容): admins and mentors
}
