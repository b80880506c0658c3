"""Who may do what with deliverables, plans, research, talks and pairings.

- a trainee: their own records only (read and write; reviews and sign-offs excepted);
- a mentor: the records of the trainees assigned to them today (read; review deliverables and
  sign off plans); another mentor's trainee → 404;
- district staff: their own 区县's trainees, read-only (the district comes from the stored
  trainee, never from the request);
- admin: everything, read-only here (reviews are the mentors');
- expert and everyone else: nothing.
A rule called without a record answers "may this role use the page at all" (list pages,
upload forms); with a record it re-reads the record from the server (``mingxiao.policy``).
"""

from __future__ import annotations

from typing import Any

from mingxiao.policy import (
    is_own_trainee_record,
    is_role,
    is_self_record,
    same_district,
)


def _trainee_user(user: Any) -> bool:
    return is_role(user, "trainee") and bool(getattr(user, "trainee_id", None))


def can_view(user: Any, record: Any = None) -> bool:
    """Admins all; district own area; mentor own trainees; trainee self."""
    if is_role(user, "admin"):
        return True
    if is_role(user, "district"):
        return bool(getattr(user, "district", None)) and (
            record is None or same_district(user, record)
        )
    if is_role(user, "mentor"):
        return bool(getattr(user, "mentor_id", None)) and (
            record is None or is_own_trainee_record(user, record)
        )
    if _trainee_user(user):
        return record is None or is_self_record(user, record)
    return False


def own_writes(user: Any, record: Any = None) -> bool:
    """The trainee, on their own records (no record: the upload / new-entry forms)."""
    if not _trainee_user(user):
        return False
    return record is None or is_self_record(user, record)


def mentor_of(user: Any, record: Any = None) -> bool:
    """A mentor, on a record of one of their trainees (no record: their review queue)."""
    if not is_role(user, "mentor") or not getattr(user, "mentor_id", None):
        return False
    return record is None or is_own_trainee_record(user, record)


PERMISSIONS = {
    "deliverables.view": can_view,
    "deliverables.submit": own_writes,  # upload a deliverable, a new version after a return
    "deliverables.review": mentor_of,  # pass, or return with comments
    "plans.view": can_view,
    "plans.edit": own_writes,  # goals, milestones, progress notes, self-assessment
    "plans.signoff": mentor_of,
    "achievements.view": can_view,  # research projects, forum talks, pairings
    "achievements.edit": own_writes,
}
