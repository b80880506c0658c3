"""Authorization: one function decides, everything else asks it.

``authorize(user, action, record)`` looks the action up in the permissions every plugin
registered (``register_permissions`` → ``app.extensions["mingxiao.permissions"]``) and denies
anything it does not know, anyone anonymous or inactive, and any rule that does not return
exactly ``True``. Views call :func:`require` or :func:`permission_required`; list pages filter
through :func:`scoped`.

The helpers below are for writing rules. They read scope from the server: a record's district,
trainee or mentor is re-read from the database by its sheet and id, never taken from the
object a view passes in (which may carry form input).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask import abort, current_app, g
from flask_login import current_user

from mingxiao.database import get_db
from mingxiao.sheetdb.snapshot import Record

log = logging.getLogger(__name__)

PERMISSIONS_KEY = "mingxiao.permissions"
Rule = Callable[[Any, Any], bool]
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

# Sheets whose rows point at a trainee or a nomination; scope is resolved through them.
TRAINEES = "trainees"
NOMINATIONS = "nominations"
ASSIGNMENTS = "mentor_assignments"


def _is_signed_in(user: Any) -> bool:
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and getattr(user, "is_active", False)
    )


def authorize(user: Any, action: str, record: Any = None) -> bool:
    """True only if a registered rule for ``action`` returns True for this active ``user``."""
    if not _is_signed_in(user):
        return False
    rules: dict[str, Rule] = current_app.extensions.get(PERMISSIONS_KEY, {})
    rule = rules.get(action)
    if rule is None:
        return False
    try:
        allowed = rule(user, record)
    except Exception:
        if current_app.testing:  # a broken rule must fail its test, not hide behind a 403
            raise
        log.exception("permission rule %r failed; access denied", action)
        return False
    return allowed is True


def require(action: str, record: Any = None, *, status: int | None = None) -> None:
    """Abort unless ``current_user`` may do ``action`` (on ``record``).

    Anonymous visitors go to the login page. A refused action is 403; a refused record is 404
    by default (``POLICY_RECORD_DENIAL_STATUS``) so ids of other people's records are not confirmed.
    """
    if authorize(current_user, action, record):
        return
    if not getattr(current_user, "is_authenticated", False):
        abort(current_app.login_manager.unauthorized())  # type: ignore[attr-defined]
    if status is None:
        status = (
            403
            if record is None
            else int(current_app.config.get("POLICY_RECORD_DENIAL_STATUS", 404))
        )
    abort(status)


def permission_required(action: str) -> Callable[[F], F]:
    """View decorator: the record-less form of :func:`require`."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            require(action)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def scoped(user: Any, action: str, records: Iterable[T]) -> list[T]:
    """The records ``user`` may ``action``, in their original order."""
    return [r for r in records if authorize(user, action, r)]


# -- helpers for rules ----------------------------------------------------------------------


def is_role(user: Any, *roles: str) -> bool:
    """True if the signed-in ``user`` has one of ``roles``."""
    return _is_signed_in(user) and getattr(user, "role", None) in roles


def server_record(record: Any) -> Record | None:
    """The stored version of ``record`` (looked up by its sheet and id), or None.

    Only a ``sheetdb.Record`` that knows its sheet and id can be trusted; a plain dict (for
    example built from form data) resolves to None, and rules then deny.
    """
    if not isinstance(record, Record) or not record.sheet or not record.id:
        return None
    stored = get_db().table(record.sheet).get(record.id)
    if stored is None or stored.voided:
        return None
    return stored


def _get(sheet: str, rid: Any) -> Record | None:
    if not rid:
        return None
    rec = get_db().table(sheet).get(str(rid))
    return None if rec is None or rec.voided else rec


def record_district(record: Any) -> str | None:
    """The district of a record as the server has it.

    Its own ``district`` column if it has one; otherwise the district of the trainee or
    nomination it references (a trainee without a district inherits its nomination's).
    """
    stored = server_record(record)
    if stored is None:
        return None
    return _district_of(stored, depth=0)


def _district_of(rec: Record, depth: int) -> str | None:
    district = rec.get("district")
    if district:
        return str(district)
    if depth >= 2:
        return None
    for key, sheet in (("trainee", TRAINEES), ("nomination", NOMINATIONS)):
        ref = _get(sheet, rec.get(key))
        if ref is not None:
            return _district_of(ref, depth + 1)
    return None


def same_district(user: Any, record: Any) -> bool:
    """True if the record (as stored) belongs to the user's own 区县."""
    mine = getattr(user, "district", None)
    return bool(mine) and record_district(record) == mine


def _active_on(row: Record, day: dt.date) -> bool:
    start = row.get("start_date", row.get("start"))
    end = row.get("end_date", row.get("end"))
    if isinstance(start, dt.datetime):
        start = start.date()
    if isinstance(end, dt.datetime):
        end = end.date()
    if isinstance(start, dt.date) and day < start:
        return False
    return not (isinstance(end, dt.date) and day > end)


def mentor_trainee_ids(user: Any, today: dt.date | None = None) -> set[str]:
    """Ids of the trainees assigned to ``user``'s mentor id today (not voided, within dates).

    Cached per request (the assignments do not change while one page renders).
    """
    mentor_id = getattr(user, "mentor_id", None)
    if not mentor_id or not is_role(user, "mentor"):
        return set()
    db = get_db()
    day = today or db.today()
    cache: dict[tuple[str, dt.date], set[str]] = g.setdefault("_mentor_trainee_ids", {})
    key = (str(mentor_id), day)
    if key not in cache:
        rows = db.table(ASSIGNMENTS).where(mentor=mentor_id)
        cache[key] = {
            str(r["trainee"])
            for r in rows
            if not r.voided and r.get("trainee") and _active_on(r, day)
        }
    return set(cache[key])


def record_trainee_id(record: Any) -> str | None:
    """The trainee a stored record is about: itself for a trainee row, else its ``trainee`` ref."""
    stored = server_record(record)
    if stored is None:
        return None
    if stored.sheet == TRAINEES:
        return stored.id
    trainee = stored.get("trainee")
    return str(trainee) if trainee else None


def is_own_trainee_record(user: Any, record: Any) -> bool:
    """True if the record is about a trainee currently assigned to this mentor."""
    trainee = record_trainee_id(record)
    return trainee is not None and trainee in mentor_trainee_ids(user)


def is_self_record(user: Any, record: Any) -> bool:
    """True if a trainee user is looking at a record about themselves."""
    mine = getattr(user, "trainee_id", None)
    return is_role(user, "trainee") and bool(mine) and record_trainee_id(record) == mine


CORE_PERMISSIONS: dict[str, Rule] = {
    "admin.access": lambda user, record: is_role(user, "admin"),
    "account.change_password": lambda user, record: _is_signed_in(user),
}
