"""Who may do what with certificates, credits and funding (rules for ``authorize``).

- admin: everything (issue, revoke, print any certificate, credits export, funding ledger,
  final assessment);
- trainee: their own certificates (page and PDF) only — judged on the stored row's trainee;
- everyone else: nothing here. The public verification page needs no permission and shows
  only name, cohort and validity.

Funding is admin-only: expenses are the training centre's books, and most rows are not
about one trainee, so a district view would show little and invite questions about the rest.
"""

from __future__ import annotations

from typing import Any

from mingxiao.policy import is_role, server_record


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


PERMISSIONS = {
    "completion.manage": admin_only,  # certificate register, issue, revoke
    "completion.certificate": can_view_certificate,  # a certificate's page and PDF
    "completion.credits": admin_only,  # the 省培管理平台 export
    "completion.funding": admin_only,  # the funding ledger and mentor fees
    "completion.assess": admin_only,  # the final assessment and the batch 结业
}
