"""Who may do what with certificates, credits and funding (rules for ``authorize``).

- admin: everything (issue, revoke, print any certificate, credits export, funding ledger,
  final assessment);
- trainee: their own certificates (page and PDF) only — judged on the stored row's trainee;
- everyone else: nothing here. The public verification page needs no permission and shows
  only name, cohort and validity.

Assessment readiness on the home page (``completion.readiness``, judged per trainee row):
admins every trainee, district staff the trainees of their own 区县, a mentor the trainees
assigned to them today, a trainee themselves. Decisions (合格/不合格/优秀) and funding stay
admin-only.

Funding is admin-only: expenses are the training centre's books, and most rows are not
about one trainee, so a district view would show little and invite questions about the rest.
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


def admin_only(user: Any, record: Any = None) -> bool:
    return is_role(user, "admin")


def can_view_certificate(user: Any, record: Any = None) -> bool:
    """Admins: any certificate. A trainee: a certificate row whose stored trainee is them."""
    if is_role(user, "admin"):
        return True
    if not is_role(user, "trainee"):
        return False
    own = str(getattr(user, "trainee_id", None) or "")
    if not own:
        return False
    if record is None:  # the "my certificates" page
        return True
    stored = server_record(record)
    if stored is None or stored.sheet != "certificates" or stored.voided:
        return False
    return str(stored.get("trainee") or "") == own


def can_see_readiness(user: Any, record: Any = None) -> bool:
    """Whose checklist progress ``user`` may see: ``record`` a stored trainees row (None: may
    the user see any readiness widget at all)."""
    if is_role(user, "admin"):
        return True
    if not is_role(user, "district", "mentor", "trainee"):
        return False
    if record is None:
        return True
    stored = server_record(record)
    if stored is None or stored.sheet != "trainees":
        return False
    if is_role(user, "district"):
        return same_district(user, stored)
    if is_role(user, "mentor"):
        return is_own_trainee_record(user, stored)
    return is_self_record(user, stored)


PERMISSIONS = {
    "completion.manage": admin_only,  # certificate register, issue, revoke
    "completion.certificate": can_view_certificate,  # a certificate's page and PDF
    "completion.credits": admin_only,  # the 省培管理平台 export
    "completion.funding": admin_only,  # the funding ledger and mentor fees
    "completion.assess": admin_only,  # the final assessment and the batch 结业
    "completion.readiness": can_see_readiness,  # checklist progress on the home page
}
