"""Login throttling holds across gunicorn workers (real gunicorn, 2 workers, loopback).

An in-memory counter per worker would let an attacker spread guesses over the workers. The
counts live in the shared credential store, so a worker that served none of the failures
still refuses the next attempt.
"""

from __future__ import annotations

import re
import socket
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from app import create_app
from mingxiao.database import close_db, get_db

from ._servers import start_gunicorn

pytestmark = pytest.mark.slow

PASSWORD = "correct horse 2026"
ADMIN = "office@example.cn"
SECRET = "gunicorn-test-secret-key-0123456789abcdef"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A prepared instance (workbook + one account) served by two gunicorn workers."""
    instance = tmp_path_factory.mktemp("instance")
    config = {
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": SECRET,
        "LOGIN_MAX_FAILURES_PER_EMAIL": 5,
    }
    app = create_app(config)
    with app.app_context():
        get_db().init()
    result = app.test_cli_runner().invoke(
        args=["users", "add", ADMIN, "--role", "admin", "--password-stdin"], input=PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    close_db(app)
    with start_gunicorn(f"app:create_app({config!r})", workers=2) as base_url:
        yield base_url


def login_form(base_url: str) -> tuple[requests.Session, str]:
    """A fresh client (own connection) holding a session cookie and its CSRF token."""
    client = requests.Session()
    page = client.get(base_url + "/auth/login", timeout=10)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    assert match, page.text[:500]
    return client, match.group(1)


def attempt(base_url: str, email: str, password: str) -> int:
    client, token = login_form(base_url)
    with client:
        resp = client.post(
            base_url + "/auth/login",
            data={"csrf_token": token, "email": email, "password": password},
            allow_redirects=False,
            timeout=10,
        )
    return resp.status_code


def test_failures_on_one_worker_throttle_the_other_worker(server):
    # Occupy one worker with a login POST whose body has not fully arrived yet: a sync worker
    # serves one connection at a time, so every attempt below must go to the other worker.
    client, token = login_form(server)
    body = urlencode({"csrf_token": token, "email": ADMIN, "password": PASSWORD}).encode()
    cookie = "; ".join(f"{c.name}={c.value}" for c in client.cookies)
    head = (
        f"POST /auth/login HTTP/1.1\r\nHost: {urlsplit(server).netloc}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
        f"Cookie: {cookie}\r\nConnection: close\r\n\r\n"
    ).encode()
    held = socket.create_connection(
        urlsplit(server).netloc.split(":") and ("127.0.0.1", urlsplit(server).port)
    )
    held.sendall(head + body[:-1])

    # Five wrong passwords, each on a new connection, all answered by the other worker.
    assert [attempt(server, ADMIN, "wrong password!") for _ in range(5)] == [200] * 5

    # The held request — with the *right* password — now completes on the first worker,
    # which served none of the failures: the shared count refuses it.
    held.sendall(body[-1:])
    held.settimeout(30)
    answer = b""
    while chunk := held.recv(65536):
        answer += chunk
    held.close()
    assert answer.split(b"\r\n", 1)[0].split(b" ")[1] == b"429"


def test_throttle_engages_at_the_configured_count_over_many_connections(server):
    email = "guess@example.cn"  # unknown emails are throttled the same way (no account probing)
    statuses = [attempt(server, email, f"guess number {i}") for i in range(12)]
    assert statuses == [200] * 5 + [429] * 7
