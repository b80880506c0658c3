"""Fill-in invitations (填表邀请): an expiring link lets an applicant fill in their own 推荐表.

Plain functions without Flask, like ``rules.py`` and ``workflow.py``. Checks return ``None``
or a problem ``(Chinese msgid template, params)``.

Where things live:

- the 填表邀请 sheet (``nomination_invitations``) holds the invitation itself: cohort, district,
  invitee, expiry, who sent it, when it was used (and by which nomination) or withdrawn;
- the raw link token exists only in the page shown once to the district clerk; the server's
  credential store (``mingxiao.auth.CredentialStore``, purpose :data:`PURPOSE`) keeps its
  sha256 and whether it was used or withdrawn. Neither the token nor its hash is ever written
  to the sheet.

A link opens only while both sides agree: the store says it is unused, not withdrawn and not
expired, and the sheet row says the same (status :data:`UNUSED`). Either side can close it
(the office may type a 撤回时间 into the sheet); neither can reopen it alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from mingxiao.sheetdb.types import N_

Problem = tuple[str, dict[str, Any]]

PURPOSE = "nomination_invitation"  # the token store's name for these links
SHEET = "nomination_invitations"
ROUTE = "个人自主申报"  # a nomination through an invitation is a self-application

DEFAULT_DAYS = 14
MIN_DAYS, MAX_DAYS = 1, 30

# Statuses, as the list shows them.
UNUSED = N_("未使用")
USED = N_("已使用")
EXPIRED = N_("已过期")
WITHDRAWN = N_("已撤回")
STATUSES = (UNUSED, USED, EXPIRED, WITHDRAWN)

# The answer of the public page for a link that no longer opens: an unknown or withdrawn link
# is "not found" (404), an expired or used one is "gone" (410): it existed and will never open
# again, which is what a person who used it yesterday should be told.
HTTP_STATUS = {USED: 410, EXPIRED: 410, WITHDRAWN: 404}
UNKNOWN_STATUS = 404


def _as_datetime(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    return None


def expires_at(now: dt.datetime, days: int) -> dt.datetime:
    """The end of a link's validity: ``days`` days from ``now``, to the second."""
    return now.replace(microsecond=0) + dt.timedelta(days=days)


def timestamp(moment: dt.datetime) -> float:
    """A sheet datetime (naive, the engine's local clock) as the store's POSIX timestamp."""
    return moment.timestamp()


def validity_problem(days: Any) -> Problem | None:
    """The validity must be a whole number of days from 1 to 30."""
    if not isinstance(days, int) or isinstance(days, bool) or not MIN_DAYS <= days <= MAX_DAYS:
        return (
            N_("有效期须为 {min} 到 {max} 天之间的整数天数，默认 {default} 天。"),
            {"min": MIN_DAYS, "max": MAX_DAYS, "default": DEFAULT_DAYS},
        )
    return None


def status_of(invitation: Mapping[str, Any], now: dt.datetime) -> str:
    """未使用 / 已使用 / 已过期 / 已撤回, from the sheet row alone.

    A used invitation stays 已使用 even after its expiry; a withdrawn one stays 已撤回.
    An unreadable expiry counts as expired: a link must never open by accident.
    """
    if invitation.get("used_at") or invitation.get("nomination"):
        return USED
    if invitation.get("withdrawn_at"):
        return WITHDRAWN
    end = _as_datetime(invitation.get("expires_at"))
    if end is None or now >= end:
        return EXPIRED
    return UNUSED


def link_status(
    invitation: Mapping[str, Any] | None, stored: Any | None, now: dt.datetime
) -> str | None:
    """The status of a link from both sides: the sheet row and the store's token, or None
    when the link is unknown (no token, or no row for it).

    ``stored`` is a ``mingxiao.auth.InvitationToken``; the stricter side wins.
    """
    if stored is None or invitation is None:
        return None
    if stored.used_at is not None:
        return USED
    status = status_of(invitation, now)
    if status != UNUSED:
        return status
    if stored.withdrawn_at is not None:
        return WITHDRAWN
    if timestamp(now) >= stored.expires_at:
        return EXPIRED
    return UNUSED


def withdraw_problem(invitation: Mapping[str, Any], now: dt.datetime) -> Problem | None:
    """Only an unused, unexpired invitation can be withdrawn."""
    status = status_of(invitation, now)
    if status == UNUSED:
        return None
    return (
        N_("这份邀请的状态是“{status}”，不能撤回：只有未使用的邀请可以撤回。"),
        {"status": status},
    )


def row(
    *,
    cohort: str,
    district: str,
    invitee_name: str,
    days: int,
    created_by: str,
    now: dt.datetime,
) -> dict[str, Any]:
    """The 填表邀请 row of a new invitation (no secret in it)."""
    return {
        "cohort": cohort,
        "district": district,
        "invitee_name": invitee_name.strip(),
        "expires_at": expires_at(now, days),
        "created_by": created_by,
        "used_at": None,
        "nomination": None,
        "withdrawn_at": None,
    }


def issue(
    db: Any,
    store: Any,
    *,
    cohort: str,
    district: str,
    invitee_name: str,
    days: int,
    created_by: str,
    now: dt.datetime | None = None,
) -> tuple[Any, str]:
    """Store a new invitation (sheet row + hashed token); returns ``(record, raw token)``.

    The caller checks the window and the validity first; the raw token is returned once and
    kept nowhere else.
    """
    now = (now or db.now()).replace(microsecond=0)
    values = row(
        cohort=cohort,
        district=district,
        invitee_name=invitee_name,
        days=days,
        created_by=created_by,
        now=now,
    )
    record = db.table(SHEET).insert(values, user=created_by)
    token = store.create_invitation_token(
        PURPOSE, record.id, timestamp(values["expires_at"]), now=timestamp(now)
    )
    return record, token


def withdraw(db: Any, store: Any, invitation: Any, *, user: str, now: dt.datetime) -> Any:
    """Close the link in the store, then record 撤回时间 in the sheet; returns the write result."""
    store.withdraw_invitation_tokens(PURPOSE, invitation.id, now=timestamp(now))
    return db.table(SHEET).update(invitation.id, {"withdrawn_at": now}, user=user)


def nomination_values(invitation: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The nomination an applicant submits: their fields, with what the invitation fixes."""
    out = dict(values)
    out.update(
        cohort=invitation.get("cohort"),
        district=invitation.get("district"),
        route=ROUTE,
        invited_by=invitation.get("created_by"),
        invited_at=invitation.get("created_at"),
    )
    return out


def audit_user(invitation: Any) -> str:
    """The name the audit trail records for a write made through an invitation link."""
    return f"invitation:{invitation.id}"
