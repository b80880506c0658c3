"""The access matrix: every route of ``app.url_map`` × every kind of visitor.

``ACCESS`` below is the one table of what each visitor gets from each (endpoint, method). A
route in ``app.url_map`` without a row fails :func:`test_every_route_has_a_row`, so every new
route forces a decision about who may use it. A row is keyed ``(endpoint, method, variant)``:
the variant names a sample of the route's URL and form data in ``tests/_demo.py``
(``ROUTE_SAMPLES``): e.g. the conflict of the 上城区 account vs the conflict of the first mentor,
so record-level routes show that the *second* district or mentor is refused the first one's
record. Features that add record pages add a sample per owner (``samples.records`` holds record
ids per owner: nominations of 上城区/西湖区, trainees and logs of mentor/mentor2) and a row each.

Outcomes:
- ``LOGIN``: refused, 302 to ``/auth/login?next=…`` (anonymous on a protected route);
- ``403`` / ``404``: refused (404 for a record the visitor may not know exists);
- ``200``: the page; ``302`` (``REDIRECT``): accepted and redirected (anywhere but a refusal);
- ``400``: a bad request.
Refused requests change nothing (workbook, journal, backups, credentials are compared); GETs
change nothing for anyone. POSTs are made WITH a valid CSRF token of the visitor's session, so
a refusal is the route's decision and not CSRF's (tests/test_csrf.py covers missing tokens).
"""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.exceptions import MethodNotAllowed

from tests._demo import (
    EXTRA_MATRIX,
    ROLES,
    ROUTE_SAMPLES,
    World,
    is_login_redirect,
    route_arguments,
    route_methods,
)

pytest_plugins = ["tests._demo"]

LOGIN = "login"
REDIRECT = 302
REFUSED = {LOGIN, 403, 404}

# fmt: off
#                                                     anonymous admin  district district2 expert mentor mentor2 trainee
MATRIX: dict[tuple[str, str, str], tuple[Any, ...]] = {
    # core
    ("core.index", "GET", ""):                        (LOGIN,   200,   200,     200,      200,   200,   200,    200),
    ("core.healthz", "GET", ""):                      (200,     200,   200,     200,      200,   200,   200,    200),
    ("core.set_language", "POST", ""):                (302,     302,   302,     302,      302,   302,   302,    302),
    ("static", "GET", ""):                            (200,     200,   200,     200,      200,   200,   200,    200),
    # auth
    ("auth.login", "GET", ""):                        (200,     302,   302,     302,      302,   302,   302,    302),
    ("auth.login", "POST", ""):                       (302,     302,   302,     302,      302,   302,   302,    302),
    ("auth.logout", "POST", ""):                      (302,     302,   302,     302,      302,   302,   302,    302),
    ("auth.change_password", "GET", ""):              (LOGIN,   200,   200,     200,      200,   200,   200,    200),
    ("auth.change_password", "POST", ""):             (LOGIN,   302,   302,     302,      302,   302,   302,    302),
    ("auth.reset_request", "GET", ""):                (200,     200,   200,     200,      200,   200,   200,    200),
    ("auth.reset_request", "POST", ""):               (302,     302,   302,     302,      302,   302,   302,    302),
    ("auth.reset", "GET", ""):                        (200,     200,   200,     200,      200,   200,   200,    200),
    ("auth.reset", "GET", "unknown"):                 (404,     404,   404,     404,      404,   404,   404,    404),
    ("auth.reset", "POST", ""):                       (302,     302,   302,     302,      302,   302,   302,    302),
    # admin: the workbook is the admins' business
    ("admin.health", "GET", ""):                      (LOGIN,   200,   403,     403,      403,   403,   403,    403),
    ("admin.sync", "GET", ""):                        (LOGIN,   200,   403,     403,      403,   403,   403,    403),
    ("admin.sync_now", "POST", ""):                   (LOGIN,   302,   403,     403,      403,   403,   403,    403),
    ("admin.audit", "GET", ""):                       (LOGIN,   200,   403,     403,      403,   403,   403,    403),
    ("admin.backups", "GET", ""):                     (LOGIN,   200,   403,     403,      403,   403,   403,    403),
    ("admin.backup_now", "POST", ""):                 (LOGIN,   302,   403,     403,      403,   403,   403,    403),
    ("admin.backup_download", "GET", ""):             (LOGIN,   200,   403,     403,      403,   403,   403,    403),
    ("admin.backup_download", "GET", "missing"):      (LOGIN,   404,   403,     403,      403,   403,   403,    403),
    ("admin.backup_restore", "POST", ""):             (LOGIN,   302,   403,     403,      403,   403,   403,    403),
    ("admin.incident", "POST", "reapply"):            (LOGIN,   302,   403,     403,      403,   403,   403,    403),
    ("admin.incident", "POST", "dismiss"):            (LOGIN,   302,   403,     403,      403,   403,   403,    403),
    # admin: a parked conflict is shown to admins and to its author only (record level: 404)
    ("admin.conflict", "GET", "district"):            (LOGIN,   200,   200,     404,      404,   404,   404,    404),
    ("admin.conflict", "POST", "district"):           (LOGIN,   302,   302,     404,      404,   404,   404,    404),
    ("admin.conflict", "GET", "mentor"):              (LOGIN,   200,   404,     404,      404,   200,   404,    404),
    ("admin.conflict", "POST", "mentor"):             (LOGIN,   302,   404,     404,      404,   302,   404,    404),
    # nominations: admins and district staff; a district only on its own records (404)
    ("nominations.index", "GET", ""):                 (LOGIN,   200,   200,     200,      403,   403,   403,    403),
    ("nominations.new", "GET", ""):                   (LOGIN,   200,   200,     200,      403,   403,   403,    403),
    ("nominations.new", "POST", ""):                  (LOGIN,   200,   200,     200,      403,   403,   403,    403),
    ("nominations.detail", "GET", "district"):        (LOGIN,   200,   200,     404,      404,   404,   404,    404),
    # the sample record is past review (locked): the owners are sent back to its page
    ("nominations.edit", "GET", "district"):          (LOGIN,   302,   302,     404,      404,   404,   404,    404),
    ("nominations.edit", "POST", "district"):         (LOGIN,   302,   302,     404,      404,   404,   404,    404),
    ("nominations.stamp", "POST", "district"):        (LOGIN,   302,   302,     404,      404,   404,   404,    404),
    ("nominations.return_", "POST", "district"):      (LOGIN,   302,   302,     404,      404,   404,   404,    404),
    ("nominations.reopen", "POST", ""):               (LOGIN,   302,   404,     404,      404,   404,   404,    404),
    ("nominations.submit", "POST", ""):               (LOGIN,   302,   302,     302,      403,   403,   403,    403),
    ("nominations.summary", "GET", ""):               (LOGIN,   200,   200,     200,      403,   403,   403,    403),
    ("nominations.windows", "GET", ""):               (LOGIN,   200,   403,     403,      403,   403,   403,    403),
    ("nominations.window", "GET", ""):                (LOGIN,   200,   403,     403,      403,   403,   403,    403),
    ("nominations.window", "POST", ""):               (LOGIN,   302,   403,     403,      403,   403,   403,    403),
}
# fmt: on
assert not set(MATRIX) & set(EXTRA_MATRIX), set(MATRIX) & set(EXTRA_MATRIX)
MATRIX.update(EXTRA_MATRIX)  # rows of the features' tests/**/access_*.py modules

ACCESS: dict[tuple[str, str, str], dict[str, Any]] = {
    key: dict(zip(ROLES, outcomes, strict=True)) for key, outcomes in MATRIX.items()
}
GET_ROWS = sorted(k for k in ACCESS if k[1] == "GET")
POST_ROWS = sorted(k for k in ACCESS if k[1] == "POST")
REFUSED_POST_ROWS = [k for k in POST_ROWS if set(ACCESS[k].values()) & REFUSED]


def row_id(key: tuple[str, str, str]) -> str:
    return ":".join(part for part in key if part)


def check(outcome: Any, response: Any, who: str) -> None:
    """Assert that ``response`` is ``outcome``; the message names the visitor and the answer."""
    got = f"{who}: got {response.status_code} {response.headers.get('Location', '')}"
    if outcome == LOGIN:
        assert is_login_redirect(response), got + ", expected a redirect to /auth/login"
    elif outcome == REDIRECT:
        assert response.status_code == 302 and not is_login_redirect(response), (
            got + ", expected a redirect elsewhere than the login page"
        )
    else:
        assert response.status_code == outcome, got + f", expected {outcome}"


# -- the table covers the app ------------------------------------------------------------------


def test_every_route_has_a_row(app):
    """A route nobody decided about fails here: add a row to MATRIX (and a sample if needed)."""
    covered = {(endpoint, method) for endpoint, method, _ in ACCESS}
    missing = sorted(route_methods(app) - covered)
    assert not missing, f"routes without an access-matrix row: {missing}"


def test_every_row_is_a_route(app):
    stale = sorted({(e, m) for e, m, _ in ACCESS} - route_methods(app))
    assert not stale, f"access-matrix rows for routes that no longer exist: {stale}"


def test_every_route_with_parameters_has_samples(app):
    lacking = [e for e, args in route_arguments(app).items() if args and e not in ROUTE_SAMPLES]
    assert not lacking, f"routes with URL parameters need a sample in tests/_demo.py: {lacking}"


def test_every_variant_is_a_sample():
    unknown = [k for k in ACCESS if k[2] and k[2] not in ROUTE_SAMPLES.get(k[0], {})]
    assert not unknown, unknown


def test_record_level_rows_refuse_the_second_owner():
    """Each record-level row shows the owner let in and the second district / mentor refused."""
    rival = {"district": "district2", "mentor": "mentor2"}
    for (endpoint, method, variant), row in ACCESS.items():
        if variant in rival:
            assert row[variant] not in REFUSED, (endpoint, method, variant)
            assert row[rival[variant]] in REFUSED, (endpoint, method, variant)


def test_protected_routes_send_anonymous_visitors_to_login():
    """Only the login/reset pages, the language switch, /healthz, static files, an invitation's
    own form, the 公示 list and the certificate check are public."""
    public = {k[0] for k, row in ACCESS.items() if row["anonymous"] != LOGIN}
    assert public == {
        "core.healthz",
        "core.set_language",
        "static",
        "auth.login",
        "auth.logout",
        "auth.reset_request",
        "auth.reset",
        "nominations.invite",  # the applicant's own form, reached only with a live invitation
        "nominations.publicity_public",  # 公示: name, school, district and cohort only
        "completion.verify",  # certificate check: name, cohort and validity only
    }


# -- GET: every visitor, nothing changes -------------------------------------------------------


@pytest.mark.parametrize("key", GET_ROWS, ids=row_id)
def test_get(world: World, key):
    endpoint, _, variant = key
    url = world.url(endpoint, variant)
    before = world.fingerprint()
    for role, outcome in ACCESS[key].items():
        check(outcome, world.client(role).get(url), role)
    assert world.fingerprint() == before, f"GET {url} changed the server state"


def test_post_only_routes_refuse_get(world: World):
    """A GET on a POST-only URL is a 405 for anyone: it never runs the action."""
    adapter = world.app.url_map.bind("localhost")
    post_only = []
    for endpoint in sorted({e for e, m, _ in ACCESS if m == "POST"}):
        url = world.url(endpoint)
        try:
            adapter.match(url, method="GET")  # the URL of a GET route too (its own row)
        except MethodNotAllowed:
            post_only.append((endpoint, url))
    assert post_only
    before = world.fingerprint()
    for endpoint, url in post_only:
        for role in ("anonymous", "admin"):
            response = world.client(role).get(url)
            assert response.status_code == 405, f"{role}: GET {endpoint} → {response.status_code}"
    assert world.fingerprint() == before


def test_anonymous_redirect_keeps_the_page_to_come_back_to(world: World):
    response = world.client("anonymous").get("/admin/health")
    assert is_login_redirect(response) and "next=%2Fadmin%2Fhealth" in response.headers["Location"]


# -- POST: refused visitors change nothing, allowed ones get through ---------------------------


def post(world: World, role: str, key: tuple[str, str, str]) -> Any:
    endpoint, _, variant = key
    client = world.client(role)
    data = {**world.data(endpoint, variant), "csrf_token": world.token(client)}
    return client.post(world.url(endpoint, variant), data=data)


@pytest.mark.parametrize("key", REFUSED_POST_ROWS, ids=row_id)
def test_post_refused(world: World, key):
    refused = [role for role, outcome in ACCESS[key].items() if outcome in REFUSED]
    before = world.fingerprint()
    for role in refused:
        check(ACCESS[key][role], post(world, role, key), role)
        assert world.fingerprint() == before, f"{role}'s refused POST changed the server state"


@pytest.mark.parametrize("key", POST_ROWS, ids=row_id)
def test_post_allowed(new_world, key):
    """Allowed visitors get through; one changing the state leaves the next a fresh world."""
    allowed = [role for role, outcome in ACCESS[key].items() if outcome not in REFUSED]
    world = new_world()
    for role in allowed:
        before = world.fingerprint()
        check(ACCESS[key][role], post(world, role, key), role)
        if world.fingerprint() != before:
            world = new_world()


def test_allowed_posts_do_their_work(new_world):
    """The matrix's allowed POSTs are real: the state moved for each admin action."""
    for key in POST_ROWS:
        if key[0].startswith("admin."):
            world = new_world()
            before = world.fingerprint()
            check(REDIRECT, post(world, "admin", key), "admin")
            assert world.fingerprint() != before, f"{row_id(key)} by admin changed nothing"
