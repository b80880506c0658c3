"""Session revocation on every protected route, and across gunicorn workers.

tests/test_auth.py shows, on one page (/auth/password), that logout revokes a copied cookie,
that disabling an account (CLI or sheet) ends its session and that a password change signs the
other sessions out. Here the same three events are checked

- on every protected route of the access matrix the role could use before (GET and POST, with
  the old session's own CSRF token, so only the revocation can refuse it; nothing changes);
- against gunicorn with 4 workers (``deploy/gunicorn.conf.py``): every worker, including those
  that never served the logout, the password change or any request after the CLI's disable,
  refuses the old cookie — and every worker accepted it just before (the control).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from mingxiao.cli import DEMO_PASSWORD
from tests._demo import NEW_PASSWORD, ROLE_EMAILS, Template, World, is_login_redirect
from tests.conftest import post_form
from tests.security import _live
from tests.test_access_matrix import ACCESS, LOGIN, REFUSED, row_id

pytest_plugins = ["tests._demo"]

SIGNED_IN = list(ROLE_EMAILS)


def protected_rows(role: str, method: str | None = None) -> list[tuple[str, str, str]]:
    """Rows an anonymous visitor is sent to log in from, that ``role`` could use (not refused)."""
    return sorted(
        k
        for k, row in ACCESS.items()
        if row["anonymous"] == LOGIN
        and row[role] not in REFUSED
        and (method is None or k[1] == method)
        # logging out twice and changing the password are the events themselves
        and k[0] not in {"auth.logout"}
    )


def copy_of(world: World, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of ``client``'s session cookie."""
    name = world.app.config["SESSION_COOKIE_NAME"]
    cookie = client.get_cookie(name)
    assert cookie is not None
    other = world.app.test_client()
    other.set_cookie(name, cookie.value)
    return other


def csrf_token_of(world: World, client: FlaskClient) -> str:
    """The form token of ``client``'s (old) session, read from its cookie, not from a page:
    a revoked session can no longer open a page with a form."""
    cookie = client.get_cookie(world.app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    token = _live.csrf_for(world.app.secret_key, cookie.value)  # type: ignore[arg-type]
    assert token is not None, "the session has no CSRF secret"
    return token


def refused_everywhere(world: World, client: FlaskClient, role: str, token: str) -> list[str]:
    """Every protected row ``role`` could use, by ``client``: the ones not sent to log in."""
    wrong = []
    before = world.fingerprint()
    for key in protected_rows(role):
        endpoint, method, variant = key
        url = world.url(endpoint, variant)
        if method == "GET":
            answer = client.get(url)
        else:
            answer = client.post(url, data={**world.data(endpoint, variant), "csrf_token": token})
        if not is_login_redirect(answer):
            wrong.append(f"{method} {row_id(key)} → {answer.status_code}")
    if world.fingerprint() != before:
        wrong.append("the state changed")
    return wrong


def test_every_role_has_protected_rows_to_check():
    assert all(len(protected_rows(r, "GET")) >= 3 for r in SIGNED_IN)
    assert len(protected_rows("admin", "POST")) >= 10


@pytest.mark.parametrize("role", SIGNED_IN)
def test_logout_revokes_the_copied_cookie_on_every_route(world: World, role: str):
    client = world.login(role)
    assert client.get("/").status_code == 200  # a page with forms: the session's CSRF secret
    stolen = copy_of(world, client)
    token = csrf_token_of(world, stolen)
    assert stolen.get("/").status_code == 200  # the copy is a live session until the logout
    assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 302
    assert refused_everywhere(world, stolen, role, token) == []


@pytest.mark.parametrize("role", SIGNED_IN)
def test_disabled_account_is_refused_on_every_route_at_once(world: World, role: str):
    """The office disables the account with ``flask users disable``: the live session ends."""
    client = world.login(role)
    assert client.get("/").status_code == 200
    token = csrf_token_of(world, client)
    result = world.app.test_cli_runner().invoke(args=["users", "disable", ROLE_EMAILS[role]])
    assert result.exit_code == 0, result.output
    assert refused_everywhere(world, client, role, token) == []


@pytest.mark.parametrize("role", ["admin", "district", "mentor", "trainee"])
def test_password_change_signs_out_the_other_sessions_on_every_route(world: World, role: str):
    here, elsewhere = world.login(role), world.login(role)
    assert elsewhere.get("/").status_code == 200
    token = csrf_token_of(world, elsewhere)
    changed = post_form(
        here,
        "/auth/password",
        {"current_password": DEMO_PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert changed.status_code == 302 and not is_login_redirect(changed)
    assert refused_everywhere(world, elsewhere, role, token) == []
    assert here.get("/auth/password").status_code == 200  # the one that changed it stays in


# -- across gunicorn workers -------------------------------------------------------------------


@pytest.fixture(scope="module")
def live(demo_template: Template, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """gunicorn, 4 workers, on a copy of the demo world (a World for URLs and the CLI)."""
    world = World(demo_template, tmp_path_factory.mktemp("revocation"))
    with _live.serve(world.folder / "instance", workers=4) as server:
        yield world, server
    world.close()


def cookie_of(session: Any) -> str:
    return str(session.cookies.get(_live.COOKIE))


def assert_every_worker(live: _live.Live, path: str, cookie: str, *, refused: bool) -> set[str]:
    replies = _live.every_worker(live, _live.raw_get(live, path, cookie))
    wrong = [(r.worker, r.status, r.location) for r in replies if r.to_login != refused]
    assert not wrong, f"{path}: {wrong}"
    return {r.worker for r in replies}


@pytest.mark.slow
def test_logout_on_one_worker_revokes_the_cookie_in_every_worker(live):
    world, server = live
    session = _live.login(server, "district", DEMO_PASSWORD)
    stolen = cookie_of(session)
    workers = assert_every_worker(server, "/nominations/", stolen, refused=False)
    page = session.get(server.base + "/", timeout=30)
    out = session.post(
        server.base + "/auth/logout",
        data={"csrf_token": _live.csrf_of(page.text)},
        allow_redirects=False,
        timeout=30,
    )
    assert out.status_code == 302
    served_logout = out.headers[_live.WORKER_HEADER]
    assert assert_every_worker(server, "/nominations/", stolen, refused=True) == workers
    assert served_logout in workers and len(workers - {served_logout}) == 3
    # …and on every protected page the district could open, whichever worker answers.
    for key in protected_rows("district", "GET"):
        url = world.url(key[0], key[2])
        (reply,) = _live.fan_out(server, [_live.raw_get(server, url, stolen)], settle=0)
        assert reply.to_login, (row_id(key), reply.status, reply.location)


@pytest.mark.slow
def test_cli_disable_ends_the_session_in_every_worker(live):
    world, server = live
    session = _live.login(server, "mentor", DEMO_PASSWORD)
    cookie = cookie_of(session)
    assert_every_worker(server, "/", cookie, refused=False)
    result = world.app.test_cli_runner().invoke(args=["users", "disable", ROLE_EMAILS["mentor"]])
    assert result.exit_code == 0, result.output
    assert_every_worker(server, "/", cookie, refused=True)


@pytest.mark.slow
def test_password_change_on_one_worker_signs_out_other_sessions_in_every_worker(live):
    _world, server = live
    here = _live.login(server, "trainee", DEMO_PASSWORD)
    elsewhere = cookie_of(_live.login(server, "trainee", DEMO_PASSWORD))
    assert_every_worker(server, "/", elsewhere, refused=False)
    page = here.get(server.base + "/auth/password", timeout=30)
    changed = here.post(
        server.base + "/auth/password",
        data={
            "current_password": DEMO_PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
            "csrf_token": _live.csrf_of(page.text),
        },
        allow_redirects=False,
        timeout=60,
    )
    assert changed.status_code == 302 and "/auth/login" not in changed.headers["Location"]
    assert_every_worker(server, "/", elsewhere, refused=True)
    assert_every_worker(server, "/", cookie_of(here), refused=False)
