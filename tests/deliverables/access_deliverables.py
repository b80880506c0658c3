"""Access-matrix rows of the deliverables plugin (blueprints/deliverables/views/).

Three owners per record-level route:
- ``trainee``: a record of the demo trainee account's own trainee row (富阳区; its mentor
  assignment has ended, so no mentor sees it today): the trainee and admins see it;
- ``mentor``: a record of a trainee made here and assigned today to the first mentor only:
  that mentor and admins see it; the second mentor, both district accounts (上城区, 西湖区),
  the expert and the (other) trainee get 404;
- ``district``: a record of a 上城区 trainee made here, assigned to no demo mentor: admins and
  the 上城区 account read it; 西湖区, both mentors, the expert and the (other) trainee get 404.
The demo trainee is put back to 在训 here (a graduate's own records are read-only).
Write routes of the trainee use ``trainee`` (own record) and ``other`` (the 上城区 trainee's
record: the trainee account gets 404 like everyone else). Reviews and sign-offs are the
assigned mentor's alone; district staff and admins read only.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from tests._demo import DISTRICT, DISTRICT2, ROLE_EMAILS, Sample, Samples

LOGIN = "login"
ADMIN = ROLE_EMAILS["admin"]

UPLOAD_TEXT = "学习日志：走进名校。今天参观了杭州的学校，收获很多。AI 赋能 2026。\n"


def _store(app: Any, text: str = UPLOAD_TEXT) -> str:
    """A stored upload (a .txt) in the template's upload folder; its stored name."""
    folder = Path(app.config["UPLOAD_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.txt"
    (folder / name).write_text(text, encoding="utf-8")
    return name


def _deliverable(db: Any, trainee: str, title: str, status: str, file_ref: str | None) -> str:
    now = db.now()
    rec = db.table("deliverables").insert(
        {
            "trainee": trainee,
            "kind": "学习考察日志",
            "title": title,
            "file_ref": file_ref,
            "char_count": 30,
            "count_method": "系统自动统计",
            "version": 1,
            "review_status": status,
            "review_comment": "请补充反思部分。" if status == "已退回" else None,
            "submitted_at": now,
        },
        user=ADMIN,
    )
    return str(rec.id)


def _new_trainee(db: Any, template: Any, samples: Samples, name: str, district: str) -> str:
    """A trainee copied from ``template``; a 上城区 one carries its 上城区 nomination's phone
    (a number the 上城区 account may see in full anyway)."""
    trainees = db.table("trainees")
    nomination = db.table("nominations").get(samples.records["nominations"]["district"])
    skip = {"id", "created_at", "updated_at", "voided", "email"}
    copy = {k: v for k, v in template.items() if k in trainees.schema.keys and k not in skip}
    rec = trainees.insert(
        {
            **copy,
            "name": name,
            "district": district,
            "status": "在训",
            "nomination": nomination.id,
            **({"phone": nomination["phone"]} if district == DISTRICT else {}),
        },
        user=ADMIN,
    )
    return str(rec.id)


def prepare(app: Any, db: Any, samples: Samples) -> None:
    """Two trainees made here (one of the first mentor's today, one of 上城区 with no mentor),
    and per owner a pending and a returned deliverable, a research project and a plan."""
    own = samples.records["trainees"]["trainee"]
    # The demo trainee login belongs to a graduate (结业), whose own records are read-only
    # (rules.CLOSED_STATUSES). The matrix is about who may reach the trainee's write routes,
    # so this world puts that trainee back in training; the read-only state after 结业 has its
    # own tests (test_views.py).
    db.table("trainees").update(own, {"status": "在训"}, user=ADMIN)
    own_row = db.table("trainees").get(own)
    assert own_row.get("district") not in (DISTRICT, DISTRICT2), own_row.get("district")
    users = {r["email"]: r for r in db.table("users").all()}
    mentored = _new_trainee(db, own_row, samples, "导师测试学员", own_row.get("district"))
    assignments = db.table("mentor_assignments")
    template = assignments.where(mentor=users[ROLE_EMAILS["mentor"]]["mentor"])[0]
    skip = {"id", "created_at", "updated_at", "voided"}
    assignments.insert(
        {
            **{k: v for k, v in template.items() if k in assignments.schema.keys and k not in skip},
            "trainee": mentored,
            "start_date": db.today().replace(year=db.today().year - 1),
            "end_date": None,
        },
        user=ADMIN,
    )
    other = _new_trainee(db, own_row, samples, "上城测试学员", DISTRICT)
    owners = {"trainee": own, "mentor": mentored, "district": other}
    extra: dict[str, Any] = {"trainee_of": owners}
    for owner, trainee in owners.items():
        extra[f"pending:{owner}"] = _deliverable(
            db, trainee, f"访问测试待审阅日志（{owner}）", "待审阅", _store(app)
        )
        extra[f"returned:{owner}"] = _deliverable(
            db, trainee, f"访问测试退回日志（{owner}）", "已退回", _store(app)
        )
        project = db.table("research_projects").insert(
            {
                "trainee": trainee,
                "title": f"访问测试课题（{owner}）",
                "level": "市级",
                "status": "研究中",
            },
            user=ADMIN,
        )
        extra[f"research:{owner}"] = str(project.id)
    db.table("development_plans").insert(
        {"trainee": mentored, "goals": "凝炼办学思想。", "mentor_signoff": False}, user=ADMIN
    )
    samples.extra["deliverables"] = extra


def _x(s: Samples) -> dict[str, Any]:
    return s.extra["deliverables"]


def _trainee(owner: str) -> Any:
    return lambda s: {"trainee_id": _x(s)["trainee_of"][owner]}


def _pending(owner: str) -> Any:
    return lambda s: {"deliverable_id": _x(s)[f"pending:{owner}"]}


def _returned(owner: str) -> Any:
    return lambda s: {"deliverable_id": _x(s)[f"returned:{owner}"]}


def _research(owner: str) -> Any:
    return lambda s: {"sheet": "research_projects", "record_id": _x(s)[f"research:{owner}"]}


OWNERS = {"trainee": "trainee", "mentor": "mentor", "district": "district"}  # read routes
WRITERS = {"trainee": "trainee", "other": "district"}  # the trainee's own writes

PLAN_DATA = {"goals": "凝炼办学思想，主持一项市级课题。", "milestones": "第一学期：课题立项。"}
RESEARCH_DATA = {"title": "访问矩阵课题", "level": "省级", "status": "已立项"}

SAMPLES: dict[str, dict[str, Sample]] = {
    "deliverables.trainee": {v: Sample(args=_trainee(o)) for v, o in OWNERS.items()},
    "deliverables.detail": {v: Sample(args=_pending(o)) for v, o in OWNERS.items()},
    "deliverables.download": {v: Sample(args=_pending(o)) for v, o in OWNERS.items()},
    "deliverables.review": {
        "mentor": Sample(
            args=_pending("mentor"),
            data=lambda s: {"review_status": "已通过", "review_comment": "同意通过。"},
        )
    },
    "deliverables.resubmit": {v: Sample(args=_returned(o)) for v, o in WRITERS.items()},
    "deliverables.new": {
        "": Sample(data=lambda s: {"kind": "学习考察日志", "title": "访问矩阵日志"})
    },
    "deliverables.plan": {v: Sample(args=_trainee(o)) for v, o in OWNERS.items()},
    "deliverables.plan_edit": {
        v: Sample(args=_trainee(o), data=lambda s: dict(PLAN_DATA)) for v, o in WRITERS.items()
    },
    "deliverables.plan_signoff": {"mentor": Sample(args=_trainee("mentor"))},
    "deliverables.achievements": {v: Sample(args=_trainee(o)) for v, o in OWNERS.items()},
    "deliverables.achievement_new": {
        "": Sample(args=lambda s: {"sheet": "research_projects"}, data=lambda s: RESEARCH_DATA),
        "presentations": Sample(args=lambda s: {"sheet": "presentations"}),
        "pairings": Sample(args=lambda s: {"sheet": "pairings"}),
    },
    "deliverables.achievement_edit": {
        v: Sample(args=_research(o), data=lambda s: RESEARCH_DATA) for v, o in WRITERS.items()
    },
}

# fmt: off
#                                                                 anonymous admin district district2 expert mentor mentor2 trainee
MATRIX = {
    ("deliverables.index", "GET", ""):                            (LOGIN,   200,  200,     200,      403,   200,   200,    200),
    ("deliverables.new", "GET", ""):                              (LOGIN,   403,  403,     403,      403,   403,   403,    200),
    ("deliverables.new", "POST", ""):                             (LOGIN,   403,  403,     403,      403,   403,   403,    200),
    ("deliverables.trainee", "GET", "trainee"):                   (LOGIN,   200,  404,     404,      404,   404,   404,    200),
    ("deliverables.trainee", "GET", "mentor"):                    (LOGIN,   200,  404,     404,      404,   200,   404,    404),
    ("deliverables.trainee", "GET", "district"):                  (LOGIN,   200,  200,     404,      404,   404,   404,    404),
    ("deliverables.detail", "GET", "trainee"):                    (LOGIN,   200,  404,     404,      404,   404,   404,    200),
    ("deliverables.detail", "GET", "mentor"):                     (LOGIN,   200,  404,     404,      404,   200,   404,    404),
    ("deliverables.detail", "GET", "district"):                   (LOGIN,   200,  200,     404,      404,   404,   404,    404),
    ("deliverables.download", "GET", "trainee"):                  (LOGIN,   200,  404,     404,      404,   404,   404,    200),
    ("deliverables.download", "GET", "mentor"):                   (LOGIN,   200,  404,     404,      404,   200,   404,    404),
    ("deliverables.download", "GET", "district"):                 (LOGIN,   200,  200,     404,      404,   404,   404,    404),
    ("deliverables.review", "POST", "mentor"):                    (LOGIN,   404,  404,     404,      404,   302,   404,    404),
    ("deliverables.resubmit", "GET", "trainee"):                  (LOGIN,   404,  404,     404,      404,   404,   404,    200),
    ("deliverables.resubmit", "POST", "trainee"):                 (LOGIN,   404,  404,     404,      404,   404,   404,    200),
    ("deliverables.resubmit", "GET", "other"):                    (LOGIN,   404,  404,     404,      404,   404,   404,    404),
    ("deliverables.resubmit", "POST", "other"):                   (LOGIN,   404,  404,     404,      404,   404,   404,    404),
    ("deliverables.plan", "GET", "trainee"):                      (LOGIN,   200,  404,     404,      404,   404,   404,    200),
    ("deliverables.plan", "GET", "mentor"):                       (LOGIN,   200,  404,     404,      404,   200,   404,    404),
    ("deliverables.plan", "GET", "district"):                     (LOGIN,   200,  200,     404,      404,   404,   404,    404),
    ("deliverables.plan_edit", "GET", "trainee"):                 (LOGIN,   404,  404,     404,      404,   404,   404,    200),
    ("deliverables.plan_edit", "POST", "trainee"):                (LOGIN,   404,  404,     404,      404,   404,   404,    302),
    ("deliverables.plan_edit", "GET", "other"):                   (LOGIN,   404,  404,     404,      404,   404,   404,    404),
    ("deliverables.plan_edit", "POST", "other"):                  (LOGIN,   404,  404,     404,      404,   404,   404,    404),
    ("deliverables.plan_signoff", "POST", "mentor"):              (LOGIN,   404,  404,     404,      404,   302,   404,    404),
    ("deliverables.achievements", "GET", "trainee"):              (LOGIN,   200,  404,     404,      404,   404,   404,    200),
    ("deliverables.achievements", "GET", "mentor"):               (LOGIN,   200,  404,     404,      404,   200,   404,    404),
    ("deliverables.achievements", "GET", "district"):             (LOGIN,   200,  200,     404,      404,   404,   404,    404),
    ("deliverables.achievement_new", "GET", ""):                  (LOGIN,   403,  403,     403,      403,   403,   403,    200),
    ("deliverables.achievement_new", "GET", "presentations"):     (LOGIN,   403,  403,     403,      403,   403,   403,    200),
    ("deliverables.achievement_new", "GET", "pairings"):          (LOGIN,   403,  403,     403,      403,   403,   403,    200),
    ("deliverables.achievement_new", "POST", ""):                 (LOGIN,   403,  403,     403,      403,   403,   403,    302),
    ("deliverables.achievement_edit", "GET", "trainee"):          (LOGIN,   404,  404,     404,      404,   404,   404,    200),
    ("deliverables.achievement_edit", "POST", "trainee"):         (LOGIN,   404,  404,     404,      404,   404,   404,    302),
    ("deliverables.achievement_edit", "GET", "other"):            (LOGIN,   404,  404,     404,      404,   404,   404,    404),
    ("deliverables.achievement_edit", "POST", "other"):           (LOGIN,   404,  404,     404,      404,   404,   404,    404),
}
# fmt: on
