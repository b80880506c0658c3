"""Sheet health on the nomination pages: ``nomination_sheet_notice()`` in their templates.

The office edits the workbook by hand; the list page tells the reader what the engine's
health check found in the nominations and quotas sheets, scoped by ``sheet_health`` (admins:
everything with cell addresses; district staff: their own rows only). The templates call the
function, so only the pages that show the notice pay for it.
"""

from __future__ import annotations

from typing import Any

from flask_login import current_user

from mingxiao.database import get_db
from mingxiao.policy import authorize

from ..blueprint import bp
from ..sheet_health import SheetNotice, nomination_sheet_notice


def _notice() -> SheetNotice:
    if authorize(current_user, "nominations.all_districts"):
        return nomination_sheet_notice(get_db(), district=None)
    if authorize(current_user, "nominations.view") and getattr(current_user, "district", None):
        return nomination_sheet_notice(get_db(), district=current_user.district)
    return SheetNotice()


@bp.context_processor
def sheet_health_helpers() -> dict[str, Any]:
    """``nomination_sheet_notice()`` for the templates of the nominations pages."""
    return {"nomination_sheet_notice": _notice}
