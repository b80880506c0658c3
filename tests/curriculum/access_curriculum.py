"""Access-matrix rows of the curriculum plugin (blueprints/curriculum).

``prepare`` picks trainees whose scope is known from the demo world (the demo trainee, a
trainee only the second mentor is assigned to today, a 西湖区 trainee without a current
mentor), adds a session to the demo trainee's cohort 30 days ahead with two waiting leave
requests on it (the demo trainee's own and another trainee's), and stores one sign-in sheet
upload of the admin for a held session.

The timetable is readable by every signed-in role; sessions, the attendance grid, imports and
leave decisions are the admin's (403 for others); a trainee's ledger is seen by admins, the
trainee's district, their current mentors and themself (404 for everyone else); leave is the
trainee's own (another trainee's row or a session of another cohort: 404).
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from openpyxl import Workbook
from werkzeug.datastructures import FileStorage

from blueprints.curriculum import signin
from mingxiao import uploads
from tests._demo import DISTRICT, DISTRICT2, ROLE_EMAILS, Sample, Samples

LOGIN = "login"
KEY = "curriculum"


class Reposted(io.BytesIO):
    """A file the test client can post again (closing rewinds it)."""

    def close(self) -> None:
        self.seek(0)


def signin_file(rows: list[list[Any]]) -> bytes:
    """A sign-in sheet with a title row and the header row 学员编号/姓名/出勤情况/实到学时."""
    wb = Workbook()
    ws = wb.active
    ws.title = "签到表"
    ws.append(["培训签到表"])
    ws.append(["学员编号", "姓名", "出勤情况", "实到学时", "备注"])
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _active(row: Any, day: dt.date) -> bool:
    start, end = row.get("start_date"), row.get("end_date")
    return not (start and day < start) and not (end and day > end)


def prepare(app: Any, db: Any, s: Samples) -> None:
    """Choose the scoped trainees and create the sessions, leave rows and upload the rows need."""
    day = db.today()
    users = {r["email"]: r for r in db.table("users").all()}
    mentor_of = {role: users[ROLE_EMAILS[role]]["mentor"] for role in ("mentor", "mentor2")}
    active: dict[str, set[str]] = {
        role: {
            str(a["trainee"])
            for a in db.table("mentor_assignments").where(mentor=mid)
            if _active(a, day)
        }
        for role, mid in mentor_of.items()
    }
    anyone = active["mentor"] | active["mentor2"]
    trainees = db.table("trainees").all()
    me = db.table("trainees").get(s.records["trainees"]["trainee"])
    assert me is not None and me.id not in anyone, "the demo trainee should have no current mentor"
    assert me["district"] not in (DISTRICT, DISTRICT2), me["district"]
    only2 = [
        t
        for t in trainees
        if t.id in active["mentor2"] - active["mentor"]
        and t["district"] not in (DISTRICT, DISTRICT2)
        and t.id != me.id
    ]
    assert only2, "no trainee assigned to the second mentor only"
    xihu = [t for t in trainees if t["district"] == DISTRICT2 and t.id not in anyone]
    assert xihu, "no 西湖区 trainee without a current mentor"
    other = next(
        t for t in trainees if t["cohort"] == me["cohort"] and t.id != me.id and t.id not in anyone
    )

    held = [
        x for x in db.table("sessions").all() if x["date"] <= day and x["cohort"] != me["cohort"]
    ]
    upcoming_elsewhere = next(
        x for x in db.table("sessions").all() if x["date"] > day and x["cohort"] != me["cohort"]
    )
    admin = ROLE_EMAILS["admin"]
    ahead = db.table("sessions").insert(
        {
            "cohort": me["cohort"],
            "title": "访问矩阵样例：补充研修",
            "date": day + dt.timedelta(days=30),
            "hours": 6,
            "type": "集中研修",
            "location": "杭州市中小学干部培训中心",
        },
        user=admin,
    )
    leave = {"status": "请假", "hours_attended": 0, "leave_status": "待审批"}
    own, others = db.table("attendance").insert_many(
        [
            {"session": ahead.id, "trainee": me.id, "leave_reason": "学校迎检", **leave},
            {"session": ahead.id, "trainee": other.id, "leave_reason": "因公出差", **leave},
        ],
        user=admin,
    )
    session = held[-1]
    roster = db.table("trainees").where(cohort=session["cohort"])
    with app.test_request_context():
        folder = signin.imports_folder(app.config["UPLOAD_FOLDER"])
        stored = uploads.save_upload(
            FileStorage(
                io.BytesIO(signin_file([[roster[0].id, roster[0]["name"], "出勤", None]])),
                filename="签到表.xlsx",
            ),
            kinds=("xlsx",),
            folder=folder,
        )
        upload = signin.start_import(
            folder,
            stored.name,
            original_name=stored.original_name,
            owner=admin,
            session_id=session.id,
            now=db.now(),
        )
    s.extra[KEY] = {
        "session": session.id,
        "session_values": {
            "cohort": session["cohort"],
            "module": session.get("module") or "",
            "title": session["title"],
            "date": session["date"].isoformat(),
            "hours": str(session["hours"]),
            "type": session["type"],
            "location": session.get("location") or "",
        },
        "cohort": session["cohort"],
        "ahead": ahead.id,
        "elsewhere": upcoming_elsewhere.id,
        "own_leave": own.id,
        "other_leave": others.id,
        "upload": upload,
        "hours": {"trainee": me.id, "mentor2": only2[0].id, "district2": xihu[0].id},
        "roster_first": roster[0].id,
    }


def _x(s: Samples) -> dict[str, Any]:
    return s.extra[KEY]


def _session(s: Samples) -> dict[str, Any]:
    return {"session_id": _x(s)["session"]}


def _new_session(s: Samples) -> dict[str, Any]:
    return {**_x(s)["session_values"], "title": "新增的培训安排", "date": "2027-01-15"}


def _hours(owner: str) -> Sample:
    return Sample(args=lambda s: {"trainee_id": _x(s)["hours"][owner]})


SAMPLES: dict[str, dict[str, Sample]] = {
    "curriculum.session_new": {"": Sample(data=_new_session)},
    "curriculum.session_edit": {
        "": Sample(args=_session, data=lambda s: {**_x(s)["session_values"], "title": "改过的名称"})
    },
    "curriculum.attendance": {
        "": Sample(
            args=_session,
            data=lambda s: {f"status-{_x(s)['roster_first']}": "出勤"},
        )
    },
    "curriculum.import_upload": {
        "": Sample(
            args=_session,
            data=lambda s: {
                "file": (
                    Reposted(signin_file([[_x(s)["roster_first"], None, "出勤", None]])),
                    "签到表.xlsx",
                )
            },
        )
    },
    "curriculum.import_preview": {"": Sample(args=lambda s: {"upload_id": _x(s)["upload"]})},
    "curriculum.import_confirm": {"": Sample(args=lambda s: {"upload_id": _x(s)["upload"]})},
    "curriculum.hours": {owner: _hours(owner) for owner in ("trainee", "mentor2", "district2")},
    "curriculum.leave_request": {
        "trainee": Sample(
            args=lambda s: {"session_id": _x(s)["ahead"]},
            data=lambda s: {"leave_reason": "参加省里的会议"},
        ),
        "other_cohort": Sample(
            args=lambda s: {"session_id": _x(s)["elsewhere"]},
            data=lambda s: {"leave_reason": "参加省里的会议"},
        ),
    },
    "curriculum.leave_withdraw": {
        "trainee": Sample(args=lambda s: {"attendance_id": _x(s)["own_leave"]}),
        "other": Sample(args=lambda s: {"attendance_id": _x(s)["other_leave"]}),
    },
    "curriculum.leave_decide": {
        "": Sample(
            args=lambda s: {"attendance_id": _x(s)["other_leave"]},
            data=lambda s: {"decision": "approve"},
        )
    },
}

# fmt: off
#                                                            anonymous admin  district district2 expert mentor mentor2 trainee
MATRIX = {
    ("curriculum.modules", "GET", ""):                       (LOGIN,   200,   200,     200,      200,   200,   200,    200),
    ("curriculum.sessions", "GET", ""):                      (LOGIN,   200,   200,     200,      200,   200,   200,    200),
    ("curriculum.session_new", "GET", ""):                   (LOGIN,   200,   403,     403,      403,   403,   403,    403),
    ("curriculum.session_new", "POST", ""):                  (LOGIN,   302,   403,     403,      403,   403,   403,    403),
    ("curriculum.session_edit", "GET", ""):                  (LOGIN,   200,   403,     403,      403,   403,   403,    403),
    ("curriculum.session_edit", "POST", ""):                 (LOGIN,   302,   403,     403,      403,   403,   403,    403),
    ("curriculum.attendance", "GET", ""):                    (LOGIN,   200,   403,     403,      403,   403,   403,    403),
    ("curriculum.attendance", "POST", ""):                   (LOGIN,   302,   403,     403,      403,   403,   403,    403),
    ("curriculum.import_upload", "GET", ""):                 (LOGIN,   200,   403,     403,      403,   403,   403,    403),
    ("curriculum.import_upload", "POST", ""):                (LOGIN,   302,   403,     403,      403,   403,   403,    403),
    ("curriculum.import_preview", "GET", ""):                (LOGIN,   200,   403,     403,      403,   403,   403,    403),
    ("curriculum.import_confirm", "POST", ""):               (LOGIN,   302,   403,     403,      403,   403,   403,    403),
    # a trainee's ledger: admin, the trainee's district, current mentors, the trainee (else 404)
    ("curriculum.hours", "GET", "trainee"):                  (LOGIN,   200,   404,     404,      404,   404,   404,    200),
    ("curriculum.hours", "GET", "mentor2"):                  (LOGIN,   200,   404,     404,      404,   404,   200,    404),
    ("curriculum.hours", "GET", "district2"):                (LOGIN,   200,   404,     200,      404,   404,   404,    404),
    ("curriculum.my_hours", "GET", ""):                      (LOGIN,   403,   403,     403,      403,   403,   403,    302),
    ("curriculum.risk", "GET", ""):                          (LOGIN,   200,   200,     200,      403,   403,   403,    403),
    # leave: the trainee's own, for a coming session of their own cohort
    ("curriculum.leave", "GET", ""):                         (LOGIN,   403,   403,     403,      403,   403,   403,    200),
    ("curriculum.leave_request", "GET", "trainee"):          (LOGIN,   403,   403,     403,      403,   403,   403,    200),
    ("curriculum.leave_request", "POST", "trainee"):         (LOGIN,   403,   403,     403,      403,   403,   403,    302),
    ("curriculum.leave_request", "GET", "other_cohort"):     (LOGIN,   403,   403,     403,      403,   403,   403,    404),
    ("curriculum.leave_request", "POST", "other_cohort"):    (LOGIN,   403,   403,     403,      403,   403,   403,    404),
    ("curriculum.leave_withdraw", "POST", "trainee"):        (LOGIN,   404,   404,     404,      404,   404,   404,    302),
    ("curriculum.leave_withdraw", "POST", "other"):          (LOGIN,   404,   404,     404,      404,   404,   404,    404),
    ("curriculum.leave_requests", "GET", ""):                (LOGIN,   200,   403,     403,      403,   403,   403,    403),
    ("curriculum.leave_decide", "POST", ""):                 (LOGIN,   302,   403,     403,      403,   403,   403,    403),
}
# fmt: on
