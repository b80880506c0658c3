"""Access-matrix rows of 公示与录取 (tests/_demo.py merges them into tests/test_access_matrix.py).

Everything is the city office's (admins) except the public 公示 page, which anyone may read,
signed in or not. The samples use the demo's sample cohort (第三期 in the demo), which has a
拟录取 nomination to open a period for and a 公示中 one whose period is over, and the demo's
待核查 objection.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests._demo import Sample, Samples

LOGIN = "login"  # tests.test_access_matrix.LOGIN: a redirect to the login page

PROPOSED, IN_PUBLICITY, PENDING = "拟录取", "公示中", "待核查"


def _cohort(s: Samples) -> dict[str, Any]:
    return {"cohort_id": s.records["cohorts"]["admin"]}


SAMPLES: dict[str, dict[str, Sample]] = {
    "nominations.publicity_cohort": {"": Sample(args=_cohort)},
    "nominations.publicity_open": {
        "": Sample(
            args=_cohort,
            data=lambda s: {"publicity_start": dt.date.today().isoformat(), "publicity_end": ""},
        )
    },
    "nominations.publicity_objection_new": {
        "": Sample(
            args=_cohort,
            data=lambda s: {
                "nomination": s.extra["publicity_nomination"],
                "received_on": s.extra["publicity_received_on"],
                "content": "反映该人选所在学校去年发生过违规收费。",
            },
        )
    },
    "nominations.publicity_objection_resolve": {
        "": Sample(
            args=lambda s: {"objection_id": s.extra["publicity_objection"]},
            data=lambda s: {"status": "异议不成立", "resolution": "经核查，所反映情况不属实。"},
        )
    },
    "nominations.publicity_finalise": {"": Sample(args=_cohort)},
    "nominations.publicity_public": {"": Sample(args=_cohort)},
}

ADMIN_ONLY_GET = (LOGIN, 200, 403, 403, 403, 403, 403, 403)
ADMIN_ONLY_POST = (LOGIN, 302, 403, 403, 403, 403, 403, 403)

# fmt: off
#                                                              anonymous admin district district2 expert mentor mentor2 trainee
MATRIX: dict[tuple[str, str, str], tuple[Any, ...]] = {
    ("nominations.publicity_index", "GET", ""):                ADMIN_ONLY_GET,
    ("nominations.publicity_cohort", "GET", ""):               ADMIN_ONLY_GET,
    ("nominations.publicity_open", "GET", ""):                 ADMIN_ONLY_GET,
    ("nominations.publicity_open", "POST", ""):                ADMIN_ONLY_POST,
    ("nominations.publicity_objection_new", "POST", ""):       ADMIN_ONLY_POST,
    ("nominations.publicity_objection_resolve", "POST", ""):   ADMIN_ONLY_POST,
    ("nominations.publicity_finalise", "POST", ""):            ADMIN_ONLY_POST,
    # the 公示 itself is public: anyone may read it, signed in or not
    ("nominations.publicity_public", "GET", ""):               (200,  200,  200,     200,      200,   200,   200,    200),
}
# fmt: on


def prepare(app: Any, db: Any, samples: Samples) -> None:
    """Find (never create: the template is shared) the records the samples use."""
    cohort = samples.records["cohorts"]["admin"]
    nominations = db.table("nominations").where(cohort=cohort)
    assert any(n.get("status") == PROPOSED for n in nominations), "no 拟录取 in the sample cohort"
    public = next(n for n in nominations if n.get("status") == IN_PUBLICITY)
    samples.extra["publicity_nomination"] = public.id
    samples.extra["publicity_received_on"] = public["publicity_start"].isoformat()
    pending = next(o for o in db.table("publicity_objections").all() if o["status"] == PENDING)
    samples.extra["publicity_objection"] = pending.id
