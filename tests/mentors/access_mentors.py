"""Access-matrix rows of the mentors plugin (tests/_demo.py merges them into the matrix).

The roster, assignments, load view and hours report are the city office's (admin): other
signed-in roles get 403, and 404 on a record-level admin route. A mentor opens their own
roster row, their own current trainees and their own logs; the second mentor gets a bare 404
on each of them (and the other way round). District staff, experts and trainees reach none
of the mentor pages.

``prepare`` picks, for each demo mentor, a trainee assigned to them today and NOT to the other
mentor (creating a co-mentor assignment when the random demo has none), plus a log by the
first mentor on that trainee: the demo's ``samples.records["trainees"]`` may be a trainee whose
assignment has already ended, which no mentor reaches any more.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from blueprints.mentors import rules
from tests._demo import ROLE_EMAILS, Sample, Samples

LOGIN = "login"
KEY = "mentors"


def _active(db: Any, mentor: str, day: dt.date) -> set[str]:
    return {
        str(a["trainee"])
        for a in db.table("mentor_assignments").where(mentor=mentor)
        if a.get("trainee") and rules.active_on(a, day)
    }


def _exclusive(db: Any, mine: str, other: str, day: dt.date) -> tuple[str, str]:
    """(trainee id, assignment id): a trainee guided today by ``mine`` and not by ``other``."""
    theirs = _active(db, other, day)
    for a in db.table("mentor_assignments").where(mentor=mine):
        tid = str(a.get("trainee") or "")
        if tid and rules.active_on(a, day) and tid not in theirs:
            return tid, a.id
    busy = _active(db, mine, day) | theirs
    trainees = [t for t in db.table("trainees").all() if t.id not in busy]
    trainees.sort(key=lambda t: (t.get("status") not in rules.IN_TRAINING, t.id))
    assert trainees, "the demo world has no trainee left for a mentor sample"
    trainee = trainees[0]
    led = any(
        a.get("role") == rules.LEAD and rules.active_on(a, day)
        for a in db.table("mentor_assignments").where(trainee=trainee.id)
    )
    row = db.table("mentor_assignments").insert(
        {
            "trainee": trainee.id,
            "mentor": mine,
            "role": rules.CO if led else rules.LEAD,
            "start_date": day - dt.timedelta(days=60),
            "note": "测试样例：导师访问范围",
        },
        user=ROLE_EMAILS["admin"],
    )
    return trainee.id, row.id


def prepare(app: Any, db: Any, samples: Samples) -> None:
    day = db.today()
    users = {r["email"]: r for r in db.table("users").all()}
    m1, m2 = (str(users[ROLE_EMAILS[r]]["mentor"]) for r in ("mentor", "mentor2"))
    t1, a1 = _exclusive(db, m1, m2, day)
    t2, _a2 = _exclusive(db, m2, m1, day)
    logs = db.table("mentoring_logs").where(mentor=m1, trainee=t1)
    if logs:
        log = logs[0].id
    else:
        log = (
            db.table("mentoring_logs")
            .insert(
                {
                    "mentor": m1,
                    "trainee": t1,
                    "date": day - dt.timedelta(days=3),
                    "form": "面谈",
                    "hours": 2,
                    "topic": "课题开题论证",
                    "notes": "讨论了课题的研究问题和方法。",
                },
                user=ROLE_EMAILS["mentor"],
            )
            .id
        )
    assignment = db.table("mentor_assignments").get(a1)
    # a new co-mentor assignment the rules accept: a trainee in training and a mentor not on
    # their team today, with room for one more co-mentor
    rows = db.table("mentor_assignments").all()
    mentors = {m.id: m for m in db.table("mentors").all()}
    trainees = {t.id: t for t in db.table("trainees").all()}
    new_pair = None
    for tid, t in sorted(trainees.items()):
        if t.get("status") not in rules.IN_TRAINING:
            continue
        for mid, m in sorted(mentors.items()):
            values = {"trainee": tid, "mentor": mid, "role": rules.CO, "start_date": day}
            if m.get("active") is not False and not rules.validate_assignment(
                values, rows, mentors=mentors, trainees=trainees
            ):
                new_pair = (tid, mid)
                break
        if new_pair:
            break
    assert new_pair, "no trainee of the demo world can take another co-mentor"
    samples.extra[KEY] = {
        "mentor_ids": {"mentor": m1, "mentor2": m2},
        "trainees": {"mentor": t1, "mentor2": t2},
        "log": log,
        "assignment": a1,
        "assignment_role": str(assignment["role"]),
        "assignment_start": assignment["start_date"].isoformat(),
        "new_pair": new_pair,
        "today": day.isoformat(),
    }


def _x(s: Samples) -> dict[str, Any]:
    return s.extra[KEY]


def _mentor(role: str) -> Sample:
    return Sample(args=lambda s: {"mentor_id": _x(s)["mentor_ids"][role]})


def _trainee(role: str, data: Any = None) -> Sample:
    return Sample(
        args=lambda s: {"trainee_id": _x(s)["trainees"][role]},
        data=data or (lambda s: {}),
    )


def _log_data(s: Samples) -> dict[str, Any]:
    return {
        "mentor": _x(s)["mentor_ids"]["mentor"],  # admins choose; a mentor's own form has no field
        "date": _x(s)["today"],
        "form": "面谈",
        "hours": "1.5",
        "topic": "办学思想梳理",
        "notes": "梳理了办学思想的核心表述，建议结合学校课程体系进一步凝练。",
    }


def _log(data: Any = None) -> Sample:
    return Sample(args=lambda s: {"log_id": _x(s)["log"]}, data=data or (lambda s: {}))


def _assignment(data: Any = None) -> Sample:
    return Sample(
        args=lambda s: {"assignment_id": _x(s)["assignment"]}, data=data or (lambda s: {})
    )


SAMPLES: dict[str, dict[str, Sample]] = {
    "mentors.new": {
        "": Sample(
            data=lambda s: {"name": "测试导师", "organisation": "浙江大学教育学院", "active": "y"}
        )
    },
    "mentors.detail": {"mentor": _mentor("mentor"), "mentor2": _mentor("mentor2")},
    "mentors.edit": {
        "mentor": Sample(
            args=lambda s: {"mentor_id": _x(s)["mentor_ids"]["mentor"]},
            data=lambda s: {
                "name": "改过的导师",
                "organisation": "杭州市教育科学研究院",
                "title": "研究员",
                "expertise": "学校治理、课程改革",
                "active": "y",
            },
        )
    },
    "mentors.assignment_new": {
        "": Sample(
            data=lambda s: {
                "trainee": _x(s)["new_pair"][0],
                "mentor": _x(s)["new_pair"][1],
                "role": "协作导师",
                "start_date": _x(s)["today"],
            }
        )
    },
    "mentors.assignment_edit": {
        "": _assignment(
            lambda s: {
                "role": _x(s)["assignment_role"],
                "start_date": _x(s)["assignment_start"],
                "note": "核对后确认",
            }
        )
    },
    "mentors.assignment_end": {
        "": _assignment(lambda s: {"end_date": _x(s)["today"], "note": "更换导师"})
    },
    "mentors.hours": {
        "": Sample(),
        "xlsx": Sample(args=lambda s: {"format": "xlsx", "period": "quarter"}),
    },
    "mentors.trainee_logs": {"mentor": _trainee("mentor"), "mentor2": _trainee("mentor2")},
    "mentors.log_new": {"mentor": _trainee("mentor", _log_data)},
    "mentors.log_detail": {"mentor": _log()},
    "mentors.log_edit": {"mentor": _log(_log_data)},
    "mentors.log_void": {"mentor": _log(lambda s: {"reason": "重复录入"})},
}

# fmt: off
#                                                       anonymous admin district district2 expert mentor mentor2 trainee
MATRIX: dict[tuple[str, str, str], tuple[Any, ...]] = {
    # the roster and everything about assignments: the city office
    ("mentors.index", "GET", ""):                       (LOGIN, 200, 403, 403, 403, 403, 403, 403),
    ("mentors.new", "GET", ""):                         (LOGIN, 200, 403, 403, 403, 403, 403, 403),
    ("mentors.new", "POST", ""):                        (LOGIN, 302, 403, 403, 403, 403, 403, 403),
    ("mentors.assignments", "GET", ""):                 (LOGIN, 200, 403, 403, 403, 403, 403, 403),
    ("mentors.assignment_new", "GET", ""):              (LOGIN, 200, 403, 403, 403, 403, 403, 403),
    ("mentors.assignment_new", "POST", ""):             (LOGIN, 302, 403, 403, 403, 403, 403, 403),
    ("mentors.assignment_edit", "GET", ""):             (LOGIN, 200, 404, 404, 404, 404, 404, 404),
    ("mentors.assignment_edit", "POST", ""):            (LOGIN, 302, 404, 404, 404, 404, 404, 404),
    ("mentors.assignment_end", "POST", ""):             (LOGIN, 302, 404, 404, 404, 404, 404, 404),
    ("mentors.load", "GET", ""):                        (LOGIN, 200, 403, 403, 403, 403, 403, 403),
    ("mentors.hours", "GET", ""):                       (LOGIN, 200, 403, 403, 403, 403, 403, 403),
    ("mentors.hours", "GET", "xlsx"):                   (LOGIN, 200, 403, 403, 403, 403, 403, 403),
    # a mentor's own roster row; the other mentor's is not theirs to know
    ("mentors.detail", "GET", "mentor"):                (LOGIN, 200, 404, 404, 404, 200, 404, 404),
    ("mentors.detail", "GET", "mentor2"):               (LOGIN, 200, 404, 404, 404, 404, 200, 404),
    ("mentors.edit", "GET", "mentor"):                  (LOGIN, 200, 404, 404, 404, 200, 404, 404),
    ("mentors.edit", "POST", "mentor"):                 (LOGIN, 302, 404, 404, 404, 302, 404, 404),
    # 我的学员 and the log list: mentors (each their own scope); admins see every log
    ("mentors.my", "GET", ""):                          (LOGIN, 403, 403, 403, 403, 200, 200, 403),
    ("mentors.logs", "GET", ""):                        (LOGIN, 200, 403, 403, 403, 200, 200, 403),
    # one trainee's logs: the trainee's current mentors (and admins) only
    ("mentors.trainee_logs", "GET", "mentor"):          (LOGIN, 200, 404, 404, 404, 200, 404, 404),
    ("mentors.trainee_logs", "GET", "mentor2"):         (LOGIN, 200, 404, 404, 404, 404, 200, 404),
    ("mentors.log_new", "GET", "mentor"):               (LOGIN, 200, 404, 404, 404, 200, 404, 404),
    ("mentors.log_new", "POST", "mentor"):              (LOGIN, 302, 404, 404, 404, 302, 404, 404),
    ("mentors.log_detail", "GET", "mentor"):            (LOGIN, 200, 404, 404, 404, 200, 404, 404),
    ("mentors.log_edit", "GET", "mentor"):              (LOGIN, 200, 404, 404, 404, 200, 404, 404),
    ("mentors.log_edit", "POST", "mentor"):             (LOGIN, 302, 404, 404, 404, 302, 404, 404),
    ("mentors.log_void", "POST", "mentor"):             (LOGIN, 302, 404, 404, 404, 302, 404, 404),
}
# fmt: on
