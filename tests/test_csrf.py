"""CSRF stays enabled: every POST route of ``app.url_map`` refuses a request without a valid token.

The list of POST routes comes from the URL map (a new POST route is covered the day it is
added; one with URL parameters needs a sample in ``tests/_demo.py``, or
:func:`test_every_post_route_can_be_called` fails). Each route is posted with the form data
of its sample, i.e. data that *would* change something, by a signed-in admin and by an
anonymous visitor: without a token, with a forged one and with another session's token → 400
with the "page expired" message, and nothing on the server changes. The same POST with the
session's own token is not refused for CSRF reasons.
"""

from __future__ import annotations

from typing import Any

import pytest

from app import create_app
from tests._demo import ROUTE_SAMPLES, World, route_arguments, route_methods
from tests.conftest import make_config

pytest_plugins = ["tests._demo"]

CSRF_TITLE = "页面已过期"  # the title of the CSRF error page (mingxiao.security.CSRF_TEXT)


def _post_endpoints() -> list[str]:
    """The POST endpoints of an app built with the default plugins (the list the tests run on)."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(make_config(Path(tmp)))
        return sorted({e for e, m in route_methods(app) if m == "POST"})


POST_ENDPOINTS = _post_endpoints()
VISITORS = ("admin", "anonymous")


def test_csrf_protection_is_on(app):
    assert app.config["WTF_CSRF_ENABLED"] is True
    assert "csrf" in app.extensions


def test_the_list_is_the_url_map(app):
    """The parametrized list below is the app's POST routes, not a hand-kept list."""
    assert POST_ENDPOINTS == sorted({e for e, m in route_methods(app) if m == "POST"})
    assert POST_ENDPOINTS, "no POST routes at all?"


def test_every_post_route_can_be_called(app):
    args = route_arguments(app)
    lacking = [e for e in POST_ENDPOINTS if args[e] and e not in ROUTE_SAMPLES]
    assert not lacking, (
        f"POST routes with URL parameters need a sample in tests/_demo.py: {lacking}"
    )


def refused_for_csrf(response: Any) -> bool:
    return response.status_code == 400 and CSRF_TITLE in response.get_data(as_text=True)


@pytest.mark.parametrize("endpoint", POST_ENDPOINTS)
def test_post_without_a_valid_token_is_refused(world: World, endpoint: str):
    url, data = world.url(endpoint), world.data(endpoint)
    other_token = world.token(world.login("district"))
    before = world.fingerprint()
    for who in VISITORS:
        client = world.client(who)
        world.token(client)  # the session has a token of its own; it is just not sent
        attempts = {
            "no token": data,
            "forged token": {**data, "csrf_token": "IjAxMjM0NTY3ODki.forged.signature"},
            "another session's token": {**data, "csrf_token": other_token},
        }
        for label, payload in attempts.items():
            response = client.post(url, data=payload)
            assert refused_for_csrf(response), (
                f"{who}, {label}: POST {url} answered {response.status_code}"
            )
            assert world.fingerprint() == before, f"{who}, {label}: POST {url} changed the server"


@pytest.mark.parametrize("endpoint", POST_ENDPOINTS)
def test_post_with_the_sessions_token_passes_csrf(world: World, endpoint: str):
    url = world.url(endpoint)
    for who in ("anonymous", "admin"):  # the anonymous visitor changes nothing: first
        client = world.client(who)
        data = {**world.data(endpoint), "csrf_token": world.token(client)}
        response = client.post(url, data=data)
        assert not refused_for_csrf(response), f"{who}: POST {url} refused for CSRF"
        assert response.status_code < 500


def test_a_json_post_without_token_is_refused_too(world: World):
    """CSRF is not only for form bodies: a JSON body without the header is refused."""
    client = world.client("admin")
    before = world.fingerprint()
    response = client.post("/admin/backups", json={"submit": True})
    assert response.status_code == 400 and world.fingerprint() == before


def test_token_in_the_header_is_accepted(world: World):
    """Scripts (the language switch's fetch, later APIs) may send the token as X-CSRFToken."""
    client = world.client("admin")
    response = client.post("/admin/backups", headers={"X-CSRFToken": world.token(client)})
    assert response.status_code == 302
