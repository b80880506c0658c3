"""``authorize`` and the rule helpers, over real records in a temp workbook.

Rules are registered the way plugins register them (into ``app.extensions["mingxiao.permissions"]``);
users are ``mingxiao.auth.User`` objects built directly, as the user loader would build them.
"""

from __future__ import annotations

import datetime as dt

import pytest
from flask_login import AnonymousUserMixin, login_user
from werkzeug.exceptions import Forbidden, HTTPException, NotFound

from mingxiao.auth import User
from mingxiao.database import get_db
from mingxiao.policy import (
    PERMISSIONS_KEY,
    authorize,
    is_own_trainee_record,
    is_role,
    is_self_record,
    mentor_trainee_ids,
    permission_required,
    record_district,
    require,
    same_district,
    scoped,
)

TODAY = dt.date.today()


def district_user(district: str = "西湖区") -> User:
    return User(email=f"{district}@example.cn", role="district", district=district)


ADMIN = User(email="admin@example.cn", role="admin")
MENTOR = User(email="m1@example.cn", role="mentor", mentor_id="M0001")
OTHER_MENTOR = User(email="m2@example.cn", role="mentor", mentor_id="M0002")

TEST_RULES = {
    "test.trainee.view": lambda user, rec: (
        is_role(user, "admin")
        or (is_role(user, "district") and same_district(user, rec))
        or (is_role(user, "mentor") and is_own_trainee_record(user, rec))
        or is_self_record(user, rec)
    ),
    "test.truthy": lambda user, rec: "yes",
}


@pytest.fixture
def app(app):
    with app.app_context():
        get_db().init()
    app.extensions[PERMISSIONS_KEY].update(TEST_RULES)
    return app


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield app


def add_trainee(name: str, district: str) -> str:
    rec = (
        get_db()
        .table("trainees")
        .insert(
            {
                "nomination": "N2026-0001",
                "cohort": "C0001",
                "name": name,
                "district": district,
                "school": f"{district}第一小学",
                "phone": "13800000000",
                "status": "在训",
                "admitted_at": "2026-03-01",
            },
            user="test",
        )
    )
    return rec.id


def assign(mentor: str, trainee: str, start: dt.date, end: dt.date | None = None) -> str:
    values = {"trainee": trainee, "mentor": mentor, "role": "主导师", "start_date": start}
    if end:
        values["end_date"] = end
    return get_db().table("mentor_assignments").insert(values, user="test").id


def log_about(trainee: str, mentor: str = "M0001"):
    return (
        get_db()
        .table("mentoring_logs")
        .insert(
            {
                "mentor": mentor,
                "trainee": trainee,
                "date": TODAY,
                "form": "面谈",
                "hours": 1,
                "notes": "面谈记录",
            },
            user="test",
        )
    )


def trainee(rid: str):
    return get_db().table("trainees").get(rid)


# -- authorize ---------------------------------------------------------------------------------


def test_unknown_action_is_denied_even_to_admin(ctx):
    assert not authorize(ADMIN, "no.such.action")


def test_anonymous_is_denied_everything(ctx):
    assert not authorize(AnonymousUserMixin(), "account.change_password")


def test_none_user_is_denied(ctx):
    assert not authorize(None, "account.change_password")


def test_inactive_user_is_denied(ctx):
    assert not authorize(User(email="a@example.cn", role="admin", active=False), "admin.access")


def test_rule_must_return_exactly_true(ctx):
    assert not authorize(ADMIN, "test.truthy")


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("admin", True),
        ("district", False),
        ("expert", False),
        ("mentor", False),
        ("trainee", False),
    ],
)
def test_admin_access_is_for_admins_only(ctx, role, allowed):
    assert (
        authorize(User(email="x@example.cn", role=role, district="西湖区"), "admin.access")
        is allowed
    )


@pytest.mark.parametrize("role", ["admin", "district", "expert", "mentor", "trainee"])
def test_every_signed_in_role_may_change_its_password(ctx, role):
    assert authorize(
        User(email="x@example.cn", role=role, district="西湖区"), "account.change_password"
    )


def test_a_crashing_rule_fails_loudly_in_tests(ctx):
    ctx.extensions[PERMISSIONS_KEY]["test.broken"] = lambda user, rec: 1 / 0
    with pytest.raises(ZeroDivisionError):
        authorize(ADMIN, "test.broken")


def test_a_crashing_rule_denies_in_production(ctx):
    ctx.extensions[PERMISSIONS_KEY]["test.broken"] = lambda user, rec: 1 / 0
    ctx.testing = False
    assert not authorize(ADMIN, "test.broken")


# -- district scope ---------------------------------------------------------------------------


def test_district_user_sees_own_district_record(ctx):
    assert authorize(
        district_user("西湖区"), "test.trainee.view", trainee(add_trainee("张三", "西湖区"))
    )


def test_district_user_cannot_see_other_district_record(ctx):
    assert not authorize(
        district_user("滨江区"), "test.trainee.view", trainee(add_trainee("张三", "西湖区"))
    )


def test_district_user_without_district_sees_nothing(ctx):
    assert not authorize(
        User(email="d@example.cn", role="district"),
        "test.trainee.view",
        trainee(add_trainee("张三", "西湖区")),
    )


def test_scoped_keeps_only_own_district(ctx):
    for name, district in (("甲", "西湖区"), ("乙", "滨江区"), ("丙", "西湖区")):
        add_trainee(name, district)
    visible = scoped(district_user("西湖区"), "test.trainee.view", get_db().table("trainees").all())
    assert [r["name"] for r in visible] == ["甲", "丙"]


def test_district_comes_from_the_server_record_not_the_form(ctx):
    """A view that merged form input into the record (district=滨江区) cannot widen access."""
    stored = trainee(add_trainee("张三", "西湖区"))
    from_form = stored.copy_with({"district": "滨江区"})
    assert (
        authorize(district_user("滨江区"), "test.trainee.view", from_form),
        authorize(district_user("西湖区"), "test.trainee.view", from_form),
    ) == (False, True)


def test_plain_dict_claiming_a_district_is_denied(ctx):
    assert not authorize(
        district_user("西湖区"), "test.trainee.view", {"id": "T2026-0001", "district": "西湖区"}
    )


def test_record_referencing_a_trainee_takes_the_trainees_district(ctx):
    log = log_about(add_trainee("张三", "西湖区"))
    assert record_district(log) == "西湖区"


def test_district_user_is_confined_on_referencing_records(ctx):
    log = log_about(add_trainee("张三", "西湖区"))
    assert (
        same_district(district_user("西湖区"), log),
        same_district(district_user("滨江区"), log),
    ) == (True, False)


def test_voided_record_has_no_district(ctx):
    rid = add_trainee("张三", "西湖区")
    rec = trainee(rid)
    get_db().table("trainees").void(rid, user="test", reason="重复")
    assert record_district(rec) is None


# -- mentor scope -----------------------------------------------------------------------------


@pytest.fixture
def trainees(ctx):
    """T_a assigned to M0001 now, T_b assigned to M0001 last year only, T_c assigned to M0002."""
    a, b, c = (add_trainee(n, "西湖区") for n in ("甲", "乙", "丙"))
    assign("M0001", a, TODAY - dt.timedelta(days=30))
    assign("M0001", b, TODAY - dt.timedelta(days=400), TODAY - dt.timedelta(days=35))
    assign("M0002", c, TODAY - dt.timedelta(days=30))
    return a, b, c


def test_mentor_trainee_ids_are_the_current_assignments(trainees):
    a, _b, _c = trainees
    assert mentor_trainee_ids(MENTOR) == {a}


def test_mentor_sees_assigned_trainee(trainees):
    a, _b, _c = trainees
    assert authorize(MENTOR, "test.trainee.view", trainee(a))


def test_mentor_cannot_see_another_mentors_trainee(trainees):
    _a, _b, c = trainees
    assert not authorize(MENTOR, "test.trainee.view", trainee(c))


def test_mentor_cannot_see_a_trainee_after_the_assignment_ended(trainees):
    _a, b, _c = trainees
    assert not authorize(MENTOR, "test.trainee.view", trainee(b))


def test_mentor_sees_records_about_own_trainee_only(trainees):
    a, _b, c = trainees
    assert (
        is_own_trainee_record(MENTOR, log_about(a)),
        is_own_trainee_record(MENTOR, log_about(c)),
    ) == (True, False)


def test_future_assignment_does_not_count_yet(ctx):
    t = add_trainee("丁", "西湖区")
    assign("M0001", t, TODAY + dt.timedelta(days=10))
    assert t not in mentor_trainee_ids(MENTOR)


def test_voided_assignment_does_not_count(ctx):
    t = add_trainee("丁", "西湖区")
    get_db().table("mentor_assignments").void(
        assign("M0001", t, TODAY), user="test", reason="分错了"
    )
    assert t not in mentor_trainee_ids(MENTOR)


def test_mentor_role_is_needed_for_mentor_scope(trainees):
    a, _b, _c = trainees
    assert mentor_trainee_ids(User(email="x@example.cn", role="expert", mentor_id="M0001")) == set()


def test_trainee_sees_own_record_only(ctx):
    mine, theirs = add_trainee("甲", "西湖区"), add_trainee("乙", "西湖区")
    me = User(email="t@example.cn", role="trainee", trainee_id=mine)
    assert (
        authorize(me, "test.trainee.view", trainee(mine)),
        authorize(me, "test.trainee.view", trainee(theirs)),
    ) == (True, False)


# -- require and the decorator ----------------------------------------------------------------


def test_require_refuses_an_action_with_403(ctx):
    login_user(district_user())
    with pytest.raises(Forbidden):
        require("admin.access")


def test_require_refuses_a_record_with_404(ctx):
    rec = trainee(add_trainee("张三", "西湖区"))
    login_user(district_user("滨江区"))
    with pytest.raises(NotFound):
        require("test.trainee.view", rec)


@pytest.mark.app_config(POLICY_RECORD_DENIAL_STATUS=403)
def test_record_denial_status_is_configurable(ctx):
    rec = trainee(add_trainee("张三", "西湖区"))
    login_user(district_user("滨江区"))
    with pytest.raises(Forbidden):
        require("test.trainee.view", rec)


def test_require_sends_anonymous_visitors_to_login(ctx):
    with pytest.raises(HTTPException) as caught:
        require("admin.access")
    assert caught.value.get_response().headers["Location"].startswith("/auth/login")


def test_require_lets_an_allowed_user_through(ctx):
    login_user(ADMIN)
    assert require("admin.access") is None


def test_permission_required_guards_a_view(app):
    @permission_required("admin.access")
    def secret() -> str:
        return "secret"

    app.add_url_rule("/_test/secret", "test_secret", secret)
    with app.test_request_context():
        login_user(district_user())
        with pytest.raises(Forbidden):
            app.view_functions["test_secret"]()
