"""The access matrix once more, for people holding dead invitation links, and every answer's
security headers.

1. A visitor who opened an expired, used or withdrawn 填表邀请 link — or one that expired while
   its form was open in their browser — holds nothing: on every route × method of the matrix
   they get exactly what ``anonymous`` gets (the matrix's anonymous column), their refused POSTs
   change nothing, and the link itself answers with a Chinese sentence saying why it is closed,
   changing nothing even when a complete 推荐表 is posted through it.
2. Every answer of that sweep — 200 pages, 302s, 403s, 404s, 405s, 410s, static files, for all
   eight visitors of the matrix and the link holders — carries the security headers of
   tests/test_security_headers.py (``EXPECTED``), and every personal answer (a signed-in
   visitor's, one that sets a cookie, an invitation page) carries ``Cache-Control: no-store``.

One sweep (tests/security/_sweep.py) records every answer; the tests below read it.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections import Counter
from typing import Any

import pytest
from flask.testing import FlaskClient

from blueprints.nominations import invitations
from mingxiao.auth import EXTENSION_KEY, _token_hash
from tests._demo import DISTRICT, ROLE_EMAILS, ROLES, Template, World, is_login_redirect
from tests.conftest import csrf_token
from tests.nominations._helpers import form_data, set_window
from tests.security._sweep import Answer, Sweep, Visitor, matches, outcome_of, run_sweep
from tests.test_access_matrix import ACCESS, REFUSED, row_id
from tests.test_security_headers import EXPECTED, headers_of

pytest_plugins = ["tests._demo"]

# Why the link is closed, in the applicant's words (templates/nominations/invite_closed.html).
CLOSED_TEXT = {
    "expired": "这个填表链接已过期",
    "used": "这个填表链接已经使用过",
    "withdrawn": "这个填表链接已被区县撤回",
}
CLOSED_STATUS = {"expired": 410, "used": 410, "withdrawn": 404}
HOLDERS = ("expired", "used", "withdrawn", "expired_while_open")


def invite_url(token: str) -> str:
    return f"/nominations/invite/{token}"


def applicant_form(world: World) -> dict[str, str]:
    """A complete, valid 推荐表 as the applicant's browser posts it (fixed fields left out)."""
    data = form_data(world, name="持过期链接者", phone="13957100077")
    for key in ("cohort", "route", "recommending_unit"):
        data.pop(key, None)
    return data


def expire(world: World, token: str) -> None:
    """Time passes: the link's end is now behind us, in the store and in the sheet."""
    store = world.app.extensions[EXTENSION_KEY]
    stored = store.invitation_token(token, invitations.PURPOSE)
    assert stored is not None
    con = sqlite3.connect(store.path)
    with con:
        con.execute(
            "UPDATE invitation_tokens SET expires_at = ? WHERE token_hash = ?",
            (time.time() - 60, _token_hash(token)),
        )
    con.close()
    past = world.db.now() - dt.timedelta(minutes=1)
    world.db.table(invitations.SHEET).update(
        stored.subject, {"expires_at": past}, user=ROLE_EMAILS["district"]
    )


def open_link(world: World, client: FlaskClient, token: str, kind: str) -> None:
    """Open the closed link, then post a whole 推荐表 through it: both refused, with the reason."""
    page = client.get(invite_url(token))
    assert page.status_code == CLOSED_STATUS[kind], (kind, page.status_code)
    assert CLOSED_TEXT[kind] in page.get_data(as_text=True)
    sent = client.post(
        invite_url(token), data={**applicant_form(world), "csrf_token": csrf_token(page.data)}
    )
    assert sent.status_code == CLOSED_STATUS[kind], (kind, sent.status_code)
    # Every later request says where it came from: the dead link.
    client.environ_base["HTTP_REFERER"] = "http://localhost" + invite_url(token)


def holder(kind: str) -> Any:
    def setup(world: World) -> FlaskClient:
        client = world.app.test_client()
        if kind == "expired_while_open":
            # The form was open while the link was fresh; then the link ran out.
            _row, token = invitations.issue(
                world.db,
                world.app.extensions[EXTENSION_KEY],
                cohort=world.samples.records["cohorts"]["admin"],
                district=DISTRICT,
                invitee_name="邀请己",
                days=14,
                created_by=ROLE_EMAILS["district"],
            )
            assert client.get(invite_url(token)).status_code == 200
            expire(world, token)
            open_link(world, client, token, "expired")
        else:
            open_link(world, client, world.samples.extra["invite_tokens"][kind], kind)
        return client

    return setup


def signed_in(role: str) -> Any:
    """A new client of ``role``: the session cookie of its sign-in on the template."""

    def setup(world: World) -> FlaskClient:
        client = world.app.test_client()
        if role != "anonymous":
            client.set_cookie(world.app.config["SESSION_COOKIE_NAME"], world._cookies[role])
        return client

    return setup


VISITORS = [Visitor(role, role, signed_in(role)) for role in ROLES] + [
    Visitor(f"holder:{kind}", "anonymous", holder(kind)) for kind in HOLDERS
]


@pytest.fixture(scope="module")
def sweep(demo_template: Template, tmp_path_factory: pytest.TempPathFactory) -> Sweep:
    return run_sweep(demo_template, tmp_path_factory.mktemp("sweep"), VISITORS)


def describe(answers: list[Answer]) -> list[str]:
    return [
        f"{a.visitor} {row_id(a.key)} → {outcome_of(a)} {a.headers.get('Location', '')}"
        for a in answers
    ]


# -- the sweep itself is sound -----------------------------------------------------------------


def test_every_row_answered_for_every_visitor(sweep: Sweep):
    seen = Counter((a.key, a.visitor) for a in sweep.answers)
    missing = [(k, v.name) for k in ACCESS for v in VISITORS if (k, v.name) not in seen]
    assert not missing and set(seen.values()) == {1}, missing[:20]


def test_roles_get_what_the_matrix_says(sweep: Sweep):
    """The control for the holders: the same sweep reproduces the matrix for the eight roles
    (GETs and refused POSTs; allowed POSTs run on a world earlier ones moved, so their status
    is tests/test_access_matrix.py's business and only their headers are read here)."""
    wrong = [
        a
        for a in sweep.answers
        if a.visitor in ROLES
        and (a.key[1] == "GET" or ACCESS[a.key][a.visitor] in REFUSED)
        and not matches(ACCESS[a.key][a.visitor], a)
    ]
    assert not wrong, describe(wrong)[:20]


def test_gets_and_refused_posts_changed_nothing(sweep: Sweep):
    assert (sweep.changed_by_get, sweep.changed_by_refused_post) == ([], [])


# -- 1. dead invitation links ------------------------------------------------------------------


@pytest.mark.parametrize("kind", HOLDERS)
def test_link_holder_gets_exactly_what_anonymous_gets(sweep: Sweep, kind: str):
    mine = sweep.of(f"holder:{kind}")
    assert len(mine) == len(ACCESS)
    wrong = [a for a in mine if not matches(ACCESS[a.key]["anonymous"], a)]
    assert not wrong, describe(wrong)


@pytest.mark.parametrize("kind", HOLDERS)
def test_link_holder_is_sent_to_login_without_a_trace_of_the_invitation(sweep: Sweep, kind: str):
    """Protected pages send the holder to the login page, and no page shows them the
    invitation's district, invitee or cohort as if they were someone."""
    mine = sweep.of(f"holder:{kind}")
    refused = [a for a in mine if ACCESS[a.key]["anonymous"] in REFUSED]
    assert refused and all(a.status in (302, 403, 404) for a in refused)
    leaked = [a for a in mine if a.body and ("邀请丙" in a.body or "邀请丁" in a.body)]
    assert not leaked, describe(leaked)


@pytest.mark.parametrize("kind", ["expired", "used", "withdrawn"])
def test_closed_link_says_why_in_chinese_and_changes_nothing(world: World, kind: str):
    token = world.samples.extra["invite_tokens"][kind]
    client = world.app.test_client()
    before = world.fingerprint()
    nominations = len(world.db.table("nominations").all())
    page = client.get(invite_url(token))
    sent = client.post(
        invite_url(token), data={**applicant_form(world), "csrf_token": csrf_token(page.data)}
    )
    for answer in (page, sent):
        html = answer.get_data(as_text=True)
        assert answer.status_code == CLOSED_STATUS[kind]
        assert "填表链接不可用" in html and CLOSED_TEXT[kind] in html
        assert 'name="name"' not in html  # no form to fill in
    assert world.fingerprint() == before
    assert len(world.db.table("nominations").all()) == nominations


def test_link_that_expires_while_open_refuses_the_form_it_showed(world: World):
    """The applicant opened a fresh link, filled it in slowly; it expired before they sent it."""
    client = world.app.test_client()
    _row, token = invitations.issue(
        world.db,
        world.app.extensions[EXTENSION_KEY],
        cohort=world.samples.records["cohorts"]["admin"],
        district=DISTRICT,
        invitee_name="慢慢填",
        days=14,
        created_by=ROLE_EMAILS["district"],
    )
    form = client.get(invite_url(token))
    assert form.status_code == 200 and 'name="name"' in form.get_data(as_text=True)
    expire(world, token)
    before = world.fingerprint()
    sent = client.post(
        invite_url(token), data={**applicant_form(world), "csrf_token": csrf_token(form.data)}
    )
    assert sent.status_code == 410 and CLOSED_TEXT["expired"] in sent.get_data(as_text=True)
    assert world.fingerprint() == before


@pytest.mark.parametrize("kind", ["expired", "used", "withdrawn"])
def test_an_invitation_token_opens_no_other_door(world: World, kind: str):
    """The raw token is no password-reset token and no session: it opens nothing else."""
    token = world.samples.extra["invite_tokens"][kind]
    client = world.app.test_client()
    client.set_cookie(world.app.config["SESSION_COOKIE_NAME"], token)
    before = world.fingerprint()
    assert client.get(f"/auth/reset/{token}").status_code == 404
    assert client.get("/").status_code == 302  # to the login page
    assert world.fingerprint() == before


# -- 2. security headers on every answer -------------------------------------------------------


def test_every_answer_carries_the_security_headers(sweep: Sweep):
    wrong = [
        f"{a.visitor} {row_id(a.key)} {a.status}: {headers_of_answer(a)}"
        for a in sweep.answers
        if headers_of_answer(a) != EXPECTED
    ]
    assert not wrong, wrong[:20]


def headers_of_answer(answer: Answer) -> dict[str, Any]:
    class _R:  # headers_of reads response.headers.get
        headers = answer.headers

    return headers_of(_R)


def test_the_sweep_saw_every_kind_of_answer(sweep: Sweep):
    statuses = {a.status for a in sweep.answers}
    assert {200, 302, 403, 404, 410} <= statuses, statuses


def is_personal(answer: Answer) -> bool:
    signed_in = answer.visitor in ROLES and answer.visitor != "anonymous"
    invitation = answer.key[0] == "nominations.invite"
    return answer.key[0] != "static" and (signed_in or answer.set_cookie or invitation)


def test_personal_answers_are_never_cached(sweep: Sweep):
    personal = [a for a in sweep.answers if is_personal(a)]
    cached = [a for a in personal if a.headers.get("Cache-Control") != "no-store"]
    assert personal and not cached, describe(cached)[:20]


def test_static_files_set_no_cookie_for_anyone(sweep: Sweep):
    static = [a for a in sweep.answers if a.key[0] == "static"]
    assert len(static) == len(VISITORS) and not [a for a in static if a.set_cookie]


@pytest.mark.parametrize("role", ROLES)
def test_error_answers_outside_the_matrix_carry_the_headers(world: World, role: str):
    """400 (no CSRF token), 404 (no such page, HTML and JSON), 405 (GET on a POST route)."""
    client = world.client(role)
    answers = {
        400: client.post("/lang", data={"lang": "en", "next": "/"}),
        404: client.get("/no-such-page"),
        405: client.get("/auth/logout"),
    }
    answers["json404"] = client.get("/nope", headers={"Accept": "application/json"})
    for code, response in answers.items():
        assert response.status_code == (404 if code == "json404" else code)
        assert headers_of(response) == EXPECTED, (role, code)
        if role != "anonymous":
            assert response.headers.get("Cache-Control") == "no-store", (role, code)


def test_the_applicant_who_used_a_link_holds_nothing_of_the_nomination(world: World):
    """After a successful 推荐表 through a link, the applicant's browser is still anonymous: the
    nomination it created is behind the login, and the link is closed for it too."""
    set_window(world)
    client = world.app.test_client()
    row, token = invitations.issue(
        world.db,
        world.app.extensions[EXTENSION_KEY],
        cohort=world.samples.records["cohorts"]["admin"],
        district=DISTRICT,
        invitee_name="已提交者",
        days=14,
        created_by=ROLE_EMAILS["district"],
    )
    form = client.get(invite_url(token))
    done = client.post(
        invite_url(token), data={**applicant_form(world), "csrf_token": csrf_token(form.data)}
    )
    assert done.status_code == 200, done.get_data(as_text=True)[:1000]
    invitation = world.db.table(invitations.SHEET).get(row.id)
    assert invitation is not None and invitation.get("nomination")
    nid = str(invitation["nomination"])
    before = world.fingerprint()
    token_now = csrf_token(client.get(invite_url(token)).data)
    answers = {
        "detail": client.get(f"/nominations/{nid}"),
        "edit": client.get(f"/nominations/{nid}/edit"),
        "edit POST": client.post(
            f"/nominations/{nid}/edit", data={"school": "改过", "csrf_token": token_now}
        ),
        "stamp": client.post(f"/nominations/{nid}/stamp", data={"csrf_token": token_now}),
    }
    assert {k: is_login_redirect(a) for k, a in answers.items()} == dict.fromkeys(answers, True)
    again = client.get(invite_url(token))
    assert again.status_code == 410 and CLOSED_TEXT["used"] in again.get_data(as_text=True)
    assert world.fingerprint() == before
