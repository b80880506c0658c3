"""Access-matrix rows of the trainees plugin (tests/_demo.py merges them into tests/test_access_matrix.py).

- roster: admins, district staff, mentors (their own trainees) and trainees (sent to their own
  page); experts have no roster;
- a trainee's page: admins, the trainee's own district, the mentors assigned to them today and
  the trainee themself; everyone else 404 (the second district and the second mentor included);
- status changes, eliminations (propose, decide, reverse) and cohort settings: admins only;
- elimination cases: admins, and the trainee's own district (read only).

The demo world at the tests' scale has no trainee in 上城区 and no trainee only the first mentor
has today, so :func:`prepare` adds one (a 在训 trainee of 上城区, led by the first mentor since a
month ago), with a pending elimination case that carries an evidence file, and records a
confirmed case for a trainee the demo already eliminated (to reverse).
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from werkzeug.datastructures import FileStorage

from tests._demo import DISTRICT, ROLE_EMAILS, Sample, Samples

LOGIN = "login"
ADMIN = ROLE_EMAILS["admin"]


def _trainee(key: str) -> Any:
    return lambda s: {"trainee_id": s.extra[key]}


def _case(key: str) -> Any:
    return lambda s: {"case_id": s.extra[key]}


def _cohort(s: Samples) -> dict[str, Any]:
    return {"cohort_id": s.records["cohorts"]["admin"]}


SAMPLES: dict[str, dict[str, Sample]] = {
    "trainees.profile": {
        "district": Sample(args=_trainee("trainees_district")),
        "mentor": Sample(args=_trainee("trainees_district")),
        "trainee": Sample(args=lambda s: {"trainee_id": s.records["trainees"]["trainee"]}),
    },
    "trainees.change": {
        "": Sample(
            args=_trainee("trainees_district"),
            data=lambda s: {"status": "预警", "reason": "本月两次未经请假缺席集中研修。"},
        )
    },
    "trainees.propose_elimination": {
        "": Sample(
            args=_trainee("trainees_active"),
            data=lambda s: {
                "ground": "其他不适宜继续培训的情形",
                "evidence": "本人书面申请退出培养工程。",
            },
        )
    },
    "trainees.case": {"district": Sample(args=_case("trainees_case_pending"))},
    "trainees.case_file": {"district": Sample(args=_case("trainees_case_pending"))},
    "trainees.decide_case": {
        "": Sample(
            args=_case("trainees_case_pending"),
            data=lambda s: {"decision": "confirm", "note": "经核实，情况属实。"},
        )
    },
    "trainees.reverse_case": {
        "": Sample(
            args=_case("trainees_case_confirmed"),
            data=lambda s: {"reason": "复核考勤记录发现登记错误。"},
        )
    },
    "trainees.cohort_new": {
        "": Sample(
            data=lambda s: {
                "name": "第三期（补充）",
                "number": "3",
                "start_date": "2027-09-01",
                "end_date": "2029-02-28",
                "total_hours": "270",
                "status": "筹备中",
                "nomination_deadline": "2027-05-31",
                "quota": "50",
            }
        )
    },
    "trainees.cohort_edit": {
        "": Sample(args=_cohort, data=lambda s: dict(s.extra["trainees_cohort_form"]))
    },
}

ADMIN_GET = (LOGIN, 200, 403, 403, 403, 403, 403, 403)
ADMIN_POST = (LOGIN, 302, 403, 403, 403, 403, 403, 403)
ADMIN_RECORD_GET = (LOGIN, 200, 404, 404, 404, 404, 404, 404)
ADMIN_RECORD_POST = (LOGIN, 302, 404, 404, 404, 404, 404, 404)

# fmt: off
#                                                         anonymous admin district district2 expert mentor mentor2 trainee
MATRIX: dict[tuple[str, str, str], tuple[Any, ...]] = {
    ("trainees.index", "GET", ""):                        (LOGIN,   200,  200,     200,      403,   200,   200,    302),
    ("trainees.profile", "GET", "district"):              (LOGIN,   200,  200,     404,      404,   200,   404,    404),
    ("trainees.profile", "GET", "mentor"):                (LOGIN,   200,  200,     404,      404,   200,   404,    404),
    ("trainees.profile", "GET", "trainee"):               (LOGIN,   200,  404,     404,      404,   404,   404,    200),
    ("trainees.change", "GET", ""):                       ADMIN_RECORD_GET,
    ("trainees.change", "POST", ""):                      ADMIN_RECORD_POST,
    ("trainees.propose_elimination", "GET", ""):          ADMIN_RECORD_GET,
    ("trainees.propose_elimination", "POST", ""):         ADMIN_RECORD_POST,
    ("trainees.eliminations", "GET", ""):                 (LOGIN,   200,  200,     200,      403,   403,   403,    403),
    ("trainees.case", "GET", "district"):                 (LOGIN,   200,  200,     404,      404,   404,   404,    404),
    ("trainees.case_file", "GET", "district"):            (LOGIN,   200,  200,     404,      404,   404,   404,    404),
    ("trainees.decide_case", "POST", ""):                 ADMIN_RECORD_POST,
    ("trainees.reverse_case", "POST", ""):                ADMIN_RECORD_POST,
    ("trainees.cohort_list", "GET", ""):                  ADMIN_GET,
    ("trainees.cohort_new", "GET", ""):                   ADMIN_GET,
    ("trainees.cohort_new", "POST", ""):                  ADMIN_POST,
    ("trainees.cohort_edit", "GET", ""):                  ADMIN_GET,
    ("trainees.cohort_edit", "POST", ""):                 ADMIN_POST,
}
# fmt: on


def _form_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    return str(value)


def prepare(app: Any, db: Any, samples: Samples) -> None:
    """Add the 上城区 trainee of the first mentor and two elimination cases (see the docstring)."""
    from mingxiao.uploads import save_upload, write_metadata

    today = db.today()
    users = {u["email"]: u for u in db.table("users").all()}
    mentor_id = users[ROLE_EMAILS["mentor"]]["mentor"]
    cohort_id = samples.records["cohorts"]["admin"]
    # a 上城区 nomination the publicity samples do not use (another cohort, or not in 公示)
    nominations = db.table("nominations").where(district=DISTRICT)
    nomination = next(
        (n for n in nominations if n.get("status") not in ("拟录取", "公示中", "已录取")),
        nominations[0],
    )
    trainee = db.table("trainees").insert(
        {
            "nomination": nomination.id,
            "cohort": cohort_id,
            "name": "测试学员",
            "gender": nomination.get("gender"),
            "district": DISTRICT,
            "school": nomination.get("school") or "杭州市测试学校",
            "position": nomination.get("position"),
            "phone": nomination.get("phone"),
            "status": "在训",
            "admitted_at": today - dt.timedelta(days=60),
        },
        user=ADMIN,
    )
    db.table("trainee_status_history").insert(
        {
            "trainee": trainee.id,
            "to_status": "在训",
            "reason": "录取为培养人选。",
            "changed_by": ADMIN,
            "changed_at": db.now(),
        },
        user=ADMIN,
    )
    db.table("mentor_assignments").insert(
        {
            "trainee": trainee.id,
            "mentor": mentor_id,
            "role": "主导师",
            "start_date": today - dt.timedelta(days=30),
        },
        user=ADMIN,
    )
    with app.test_request_context():
        stored = save_upload(
            FileStorage(io.BytesIO("签到表：缺席三次。\n".encode()), filename="签到表.txt"),
            kinds=("txt",),
        )
        write_metadata(stored)
    pending = db.table("elimination_cases").insert(
        {
            "trainee": trainee.id,
            "ground": "未经同意不参加培训",
            "evidence": "连续三次未经请假缺席集中研修。",
            "evidence_file": stored.name,
            "status": "待审定",
            "proposed_by": ADMIN,
            "proposed_at": db.now(),
        },
        user=ADMIN,
    )
    eliminated = next(t for t in db.table("trainees").all() if t.get("status") == "淘汰")
    confirmed = db.table("elimination_cases").insert(
        {
            "trainee": eliminated.id,
            "ground": "累计缺勤超过五分之一",
            "evidence": eliminated.get("status_reason") or "累计缺勤超过五分之一。",
            "status": "已淘汰",
            "previous_status": "预警",
            "proposed_by": ADMIN,
            "proposed_at": db.now(),
            "decided_by": ADMIN,
            "decided_at": db.now(),
        },
        user=ADMIN,
    )
    active = next(
        t for t in db.table("trainees").all() if t.get("status") == "在训" and t.id != trainee.id
    )
    cohort = db.table("cohorts").get(cohort_id)
    samples.extra.update(
        trainees_district=trainee.id,
        trainees_active=active.id,
        trainees_case_pending=pending.id,
        trainees_case_confirmed=confirmed.id,
        trainees_cohort_form={
            k: _form_value(cohort.get(k))
            for k in ("name", "number", "start_date", "end_date", "total_hours", "status", "note")
        },
    )
    db.sync()
