"""Who may use the notification pages: any signed-in user, for their own notifications.

Whether one notification is addressed to the user is the store's query
(``mingxiao.notifications.get_for_user``), not a rule on a record: the views answer 404 for
anyone else's.
"""

from __future__ import annotations

from typing import Any

from mingxiao.policy import is_role

ROLES = ("admin", "district", "expert", "mentor", "trainee")


def signed_in(user: Any, record: Any = None) -> bool:
    """Every signed-in user of a known role reads their own notifications."""
    return is_role(user, *ROLES)


PERMISSIONS = {
    "notifications.view": signed_in,
}
