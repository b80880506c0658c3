"""Access-matrix rows of the 名校长工作室 pages (blueprints/workshops/views.py).

Samples (prepared on the demo world):
- ``trainee``: the demo trainee's own workshop (with one of its members and activities);
- ``district`` / ``other``: the workshop of a trainee both demo mentors guide today, placed in
  上城区 (the first district account's area); for the trainee account, another trainee's workshop;
- ``mentor2_only``: the workshop of a trainee only the second mentor guides today (the demo
  has no trainee only the first mentor guides today), refused to the first mentor.

Reading: admins everything; district staff their area; mentors their assigned trainees;
experts nothing. Managing (edit, members, activities, outcomes): the leading trainee only —
everyone else, admins included, gets a bare 404 on a workshop (403 on founding one).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests._demo import DISTRICT, ROLE_EMAILS, Sample

LOGIN = "login"
KEY = "workshops"


def _active(row: Any, day: dt.date) -> bool:
    start, end = row.get("start_date"), row.get("end_date")
    return not (start and day < start) and not (end and day > end)


def _guided_today(db: Any, mentor_id: str) -> set[str]:
    day = db.today()
    rows = db.table("mentor_assignments").where(mentor=mentor_id)
    return {str(r["trainee"]) for r in rows if _active(r, day)}


def prepare(app: Any, db: Any, s: Any) -> None:
    """Pick the workshops of the samples; move the shared trainee's one into 上城区."""
    users = {r["email"]: r for r in db.table("users").all()}
    own_trainee = str(users[ROLE_EMAILS["trainee"]]["trainee"])
    first = _guided_today(db, users[ROLE_EMAILS["mentor"]]["mentor"])
    second = _guided_today(db, users[ROLE_EMAILS["mentor2"]]["mentor"])
    shared = sorted((first & second) - {own_trainee})
    second_only = sorted(second - first - {own_trainee})
    assert shared and second_only, "the demo mentors need a shared trainee and one of their own"
    workshops = db.table("workshops")
    own = workshops.where(trainee=own_trainee)[0]
    other = workshops.where(trainee=shared[0])[0]
    # The 上城区 account must have a workshop in its area to read (a base school in 上城区).
    workshops.update(other.id, {"district": DISTRICT}, user=ROLE_EMAILS["admin"])
    db.sync()
    found: dict[str, dict[str, str]] = {}
    for owner, w in (("trainee", own), ("other", other)):
        members = db.table("workshop_members").where(workshop=w.id)
        activities = db.table("workshop_activities").where(workshop=w.id)
        assert members and activities, f"the demo workshop {w.id} has no members or activities"
        found[owner] = {"workshop": w.id, "member": members[0].id, "activity": activities[0].id}
    found["mentor2_only"] = {"workshop": workshops.where(trainee=second_only[0])[0].id}
    s.extra[KEY] = found


def _ids(owner: str, *parts: str) -> Any:
    names = {"workshop": "workshop_id", "member": "member_id", "activity": "activity_id"}
    return lambda s: {names[p]: s.extra[KEY][owner][p] for p in ("workshop", *parts)}


WORKSHOP_DATA = {"name": "改过名的工作室", "founded_on": "2024-03-01", "focus": "集团化办学治理"}
MEMBER_DATA = {
    "name": "周成员",
    "school": "杭州市测试小学",
    "role": "成员",
    "joined_on": "2024-04-01",
}
ACTIVITY_DATA = {
    "date": "2024-05-10",
    "topic": "课程统整专题研讨",
    "participants": "12",
    "hours": "3",
}


def _samples(parts: tuple[str, ...], data: dict[str, str]) -> dict[str, Sample]:
    return {
        owner: Sample(args=_ids(owner, *parts), data=lambda s, d=data: dict(d))
        for owner in ("trainee", "other")
    }


SAMPLES = {
    "workshops.detail": {
        "trainee": Sample(args=_ids("trainee")),
        "district": Sample(args=_ids("other")),
        "mentor2_only": Sample(args=_ids("mentor2_only")),
    },
    "workshops.new": {"": Sample(data=lambda s: dict(WORKSHOP_DATA))},
    "workshops.edit": _samples((), WORKSHOP_DATA),
    "workshops.member_new": _samples((), MEMBER_DATA),
    "workshops.member_edit": _samples(("member",), MEMBER_DATA),
    "workshops.activity_new": _samples((), ACTIVITY_DATA),
    "workshops.activity_edit": _samples(("activity",), ACTIVITY_DATA),
}

# The trainee already leads a workshop: founding a second one sends them to it (302, nothing
# written; tests/workshops/test_views.py checks the message).
# fmt: off
#                                                         anonymous admin  district district2 expert mentor mentor2 trainee
MATRIX = {
    ("workshops.index", "GET", ""):                       (LOGIN,   200,   200,     200,      403,   200,   200,    200),
    ("workshops.health", "GET", ""):                      (LOGIN,   200,   403,     403,      403,   403,   403,    403),
    ("workshops.new", "GET", ""):                         (LOGIN,   403,   403,     403,      403,   403,   403,    302),
    ("workshops.new", "POST", ""):                        (LOGIN,   403,   403,     403,      403,   403,   403,    302),
    ("workshops.detail", "GET", "trainee"):               (LOGIN,   200,   404,     404,      404,   404,   404,    200),
    ("workshops.detail", "GET", "district"):              (LOGIN,   200,   200,     404,      404,   200,   200,    404),
    ("workshops.detail", "GET", "mentor2_only"):          (LOGIN,   200,   404,     404,      404,   404,   200,    404),
}
for _endpoint in ("edit", "member_new", "member_edit", "activity_new", "activity_edit"):
    MATRIX.update({
        (f"workshops.{_endpoint}", "GET", "trainee"):     (LOGIN,   404,   404,     404,      404,   404,   404,    200),
        (f"workshops.{_endpoint}", "POST", "trainee"):    (LOGIN,   404,   404,     404,      404,   404,   404,    302),
        (f"workshops.{_endpoint}", "GET", "other"):       (LOGIN,   404,   404,     404,      404,   404,   404,    404),
        (f"workshops.{_endpoint}", "POST", "other"):      (LOGIN,   404,   404,     404,      404,   404,   404,    404),
    })
# fmt: on
