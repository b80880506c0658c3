"""Access-matrix rows of the completion pages (blueprints/completion/views/).

Samples: the demo trainee's own certificate (cohort 1 is finished and certified); the cohort of
the 上城区 nomination for the funding pages; a mentor of that cohort's mentoring logs.

Admins use everything. The trainee reads their own certificate (page and PDF) and the "my
certificates" page; every other signed-in role gets a bare 404 on a certificate and 403 on
the admin pages. The verification page is public and answers every visitor the same.
"""

from __future__ import annotations

from typing import Any

from tests._demo import ROLE_EMAILS, Sample

LOGIN = "login"
KEY = "completion"


def prepare(app: Any, db: Any, s: Any) -> None:
    """The demo trainee's certificate, its code, and a mentor with logs in a cohort."""
    users = {r["email"]: r for r in db.table("users").all()}
    own_trainee = str(users[ROLE_EMAILS["trainee"]]["trainee"])
    certs = [c for c in db.table("certificates").where(trainee=own_trainee) if not c.get("revoked")]
    assert certs, "the demo trainee (cohort 1, assessed) should hold a certificate"
    trainee = db.table("trainees").get(own_trainee)
    cohort = str(trainee["cohort"])
    in_cohort = {t.id for t in db.table("trainees").where(cohort=cohort)}
    logs = [r for r in db.table("mentoring_logs").all() if str(r.get("trainee")) in in_cohort]
    assert logs, "the demo should have mentoring logs in the trainee's cohort"
    s.extra[KEY] = {
        "certificate": certs[0].id,
        "code": str(certs[0]["verify_code"]),
        "cohort": cohort,
        "mentor": str(logs[0]["mentor"]),
        "other_trainee": s.records["trainees"]["mentor"],
    }


def _x(s: Any) -> dict[str, str]:
    return s.extra[KEY]


SAMPLES = {
    "completion.issue": {
        "": Sample(data=lambda s: {"trainee": _x(s)["other_trainee"], "hours": "270"})
    },
    "completion.certificate": {"trainee": Sample(args=lambda s: {"cert_id": _x(s)["certificate"]})},
    "completion.certificate_pdf": {
        "trainee": Sample(args=lambda s: {"cert_id": _x(s)["certificate"]})
    },
    "completion.revoke": {
        "trainee": Sample(
            args=lambda s: {"cert_id": _x(s)["certificate"]},
            data=lambda s: {"revoke_reason": "测试撤销：材料不实"},
        )
    },
    "completion.verify": {"": Sample(data=lambda s: {"code": _x(s)["code"]})},
    "completion.credits_export": {
        "csv": Sample(args=lambda s: {"fmt": "csv"}),
        "xlsx": Sample(args=lambda s: {"fmt": "xlsx"}),
    },
    "completion.assessment_detail": {
        "": Sample(
            args=lambda s: {"trainee_id": _x(s)["other_trainee"]},
            data=lambda s: {"trainee": _x(s)["other_trainee"], "decision": "合格", "note": "测试"},
        )
    },
    "completion.graduate": {"": Sample(data=lambda s: {"cohort": _x(s)["cohort"]})},
    "completion.record_mentor_fee": {
        "": Sample(
            data=lambda s: {
                "cohort": _x(s)["cohort"],
                "mentor": _x(s)["mentor"],
                "source": "市专项经费",
                "date": "2026-01-15",
            }
        )
    },
}

# fmt: off
#                                                          anonymous admin  district district2 expert mentor mentor2 trainee
MATRIX = {
    ("completion.index", "GET", ""):                       (LOGIN,   200,   403,     403,      403,   403,   403,    403),
    ("completion.issue", "POST", ""):                      (LOGIN,   302,   403,     403,      403,   403,   403,    403),
    ("completion.certificate", "GET", "trainee"):          (LOGIN,   200,   404,     404,      404,   404,   404,    200),
    ("completion.certificate_pdf", "GET", "trainee"):      (LOGIN,   200,   404,     404,      404,   404,   404,    200),
    ("completion.revoke", "POST", "trainee"):              (LOGIN,   302,   403,     403,      403,   403,   403,    403),
    ("completion.mine", "GET", ""):                        (LOGIN,   302,   403,     403,      403,   403,   403,    200),
    ("completion.verify", "GET", ""):                      (200,     200,   200,     200,      200,   200,   200,    200),
    ("completion.verify", "POST", ""):                     (200,     200,   200,     200,      200,   200,   200,    200),
    ("completion.credits", "GET", ""):                     (LOGIN,   200,   403,     403,      403,   403,   403,    403),
    ("completion.credits_export", "GET", "csv"):           (LOGIN,   200,   403,     403,      403,   403,   403,    403),
    ("completion.credits_export", "GET", "xlsx"):          (LOGIN,   200,   403,     403,      403,   403,   403,    403),
    ("completion.funding", "GET", ""):                     (LOGIN,   200,   403,     403,      403,   403,   403,    403),
    ("completion.record_mentor_fee", "POST", ""):          (LOGIN,   302,   403,     403,      403,   403,   403,    403),
    ("completion.assessment_index", "GET", ""):            (LOGIN,   200,   403,     403,      403,   403,   403,    403),
    ("completion.assessment_detail", "GET", ""):           (LOGIN,   200,   403,     403,      403,   403,   403,    403),
    ("completion.assessment_detail", "POST", ""):          (LOGIN,   302,   403,     403,      403,   403,   403,    403),
    ("completion.graduate", "POST", ""):                   (LOGIN,   302,   403,     403,      403,   403,   403,    403),
}
# fmt: on
