"""Access-matrix rows of the fill-in invitations and the evidence attachments.

``prepare`` issues real links through the credential store (fresh, expired, used, withdrawn)
for the sample cohort of 上城区, and attaches a real PDF to 上城区's sample nomination. The
public page answers the same to every visitor: 200 for a fresh link (the sample POST lacks
required fields, so it is the form with errors whatever the window), 410 for an expired or
used link, 404 for a withdrawn or unknown one.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from werkzeug.datastructures import FileStorage

from mingxiao.auth import EXTENSION_KEY
from tests._demo import DISTRICT, ROLE_EMAILS, Sample, Samples

LOGIN = "login"  # tests.test_access_matrix.LOGIN
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def _token(variant: str) -> Any:
    return lambda s: {"token": s.extra["invite_tokens"][variant]}


def _nomination(s: Samples) -> str:
    return s.records["nominations"]["district"]


SAMPLES: dict[str, dict[str, Sample]] = {
    "nominations.invite": {
        "": Sample(args=_token("fresh"), data=lambda s: {"name": "测试申报人"}),
        "expired": Sample(args=_token("expired"), data=lambda s: {"name": "测试申报人"}),
        "used": Sample(args=_token("used"), data=lambda s: {"name": "测试申报人"}),
        "withdrawn": Sample(args=_token("withdrawn"), data=lambda s: {"name": "测试申报人"}),
        "unknown": Sample(args=lambda s: {"token": "no-such-invitation-" + "x" * 24}),
    },
    "nominations.invitation_list": {
        "": Sample(
            data=lambda s: {
                "cohort": s.records["cohorts"]["admin"],
                "invitee_name": "测试受邀人",
                "days": "14",
            }
        )
    },
    "nominations.invitation_withdraw": {
        "district": Sample(args=lambda s: {"invitation_id": s.extra["invitation_ids"]["withdraw"]})
    },
    "nominations.attachment": {
        "district": Sample(
            args=lambda s: {"nomination_id": _nomination(s), "name": s.extra["attachment"]}
        ),
        "missing": Sample(
            args=lambda s: {"nomination_id": _nomination(s), "name": "0" * 32 + ".pdf"}
        ),
    },
    "nominations.attachment_remove": {
        "district": Sample(
            args=lambda s: {"nomination_id": _nomination(s), "name": s.extra["attachment"]}
        )
    },
}

# fmt: off
#                                                            anonymous admin  district district2 expert mentor mentor2 trainee
MATRIX: dict[tuple[str, str, str], tuple[Any, ...]] = {
    # district staff issue links for their district (admins for any district)
    ("nominations.invitation_list", "GET", ""):              (LOGIN,   200,   200,     200,      403,   403,   403,    403),
    ("nominations.invitation_list", "POST", ""):             (LOGIN,   200,   200,     200,      403,   403,   403,    403),
    ("nominations.invitation_withdraw", "POST", "district"): (LOGIN,   302,   302,     404,      404,   404,   404,    404),
    # the public page: the link decides, not the visitor
    ("nominations.invite", "GET", ""):                       (200,     200,   200,     200,      200,   200,   200,    200),
    ("nominations.invite", "POST", ""):                      (200,     200,   200,     200,      200,   200,   200,    200),
    ("nominations.invite", "GET", "expired"):                (410,     410,   410,     410,      410,   410,   410,    410),
    ("nominations.invite", "POST", "expired"):               (410,     410,   410,     410,      410,   410,   410,    410),
    ("nominations.invite", "GET", "used"):                   (410,     410,   410,     410,      410,   410,   410,    410),
    ("nominations.invite", "POST", "used"):                  (410,     410,   410,     410,      410,   410,   410,    410),
    ("nominations.invite", "GET", "withdrawn"):              (404,     404,   404,     404,      404,   404,   404,    404),
    ("nominations.invite", "POST", "withdrawn"):             (404,     404,   404,     404,      404,   404,   404,    404),
    ("nominations.invite", "GET", "unknown"):                (404,     404,   404,     404,      404,   404,   404,    404),
    # attachments: a read of the record (another district's → 404)
    ("nominations.attachment", "GET", "district"):           (LOGIN,   200,   200,     404,      404,   404,   404,    404),
    ("nominations.attachment", "GET", "missing"):            (LOGIN,   404,   404,     404,      404,   404,   404,    404),
    # the sample nomination is locked: the owners are sent back to its page, nothing removed
    ("nominations.attachment_remove", "POST", "district"):   (LOGIN,   302,   302,     404,      404,   404,   404,    404),
}
# fmt: on


def prepare(app: Any, db: Any, samples: Samples) -> None:
    """Invitation links in every state, and a real attachment on 上城区's sample nomination."""
    from blueprints.nominations import invitations
    from mingxiao import uploads

    store = app.extensions[EXTENSION_KEY]
    cohort = samples.records["cohorts"]["admin"]
    staff = ROLE_EMAILS["district"]
    now = db.now()

    def issue(name: str, when: dt.datetime = now) -> tuple[Any, str]:
        return invitations.issue(
            db,
            store,
            cohort=cohort,
            district=DISTRICT,
            invitee_name=name,
            days=14,
            created_by=staff,
            now=when,
        )

    _fresh, fresh = issue("邀请甲")
    to_withdraw, _ = issue("邀请乙")
    _old, expired = issue("邀请丙", now - dt.timedelta(days=30))
    used_row, used = issue("邀请丁")
    store.use_invitation_token(used, invitations.PURPOSE)
    db.table(invitations.SHEET).update(used_row.id, {"used_at": now}, user=staff)
    withdrawn_row, withdrawn = issue("邀请戊")
    invitations.withdraw(db, store, withdrawn_row, user=staff, now=now)
    samples.extra["invite_tokens"] = {
        "fresh": fresh,
        "expired": expired,
        "used": used,
        "withdrawn": withdrawn,
    }
    samples.extra["invitation_ids"] = {"withdraw": to_withdraw.id}

    with app.test_request_context():
        stored = uploads.save_upload(
            FileStorage(io.BytesIO(PDF), filename="职称证书.pdf"), kinds=("pdf",)
        )
        uploads.write_metadata(stored, uploaded_by=staff)
    nomination = samples.records["nominations"]["district"]
    db.table("nominations").update(nomination, {"attachments": stored.name}, user=staff)
    samples.extra["attachment"] = stored.name
    db.sync()
