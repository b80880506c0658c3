"""Login throttling across 4 gunicorn workers, per email and per client address.

tests/test_throttle_gunicorn.py shows, with 2 workers, that failures served by one worker
throttle the other (per email). Here, as deployed (``deploy/gunicorn.conf.py``, 4 workers,
behind a proxy: ``PROXY_COUNT=1`` and ``X-Forwarded-For``):

- per email: failures spread over several workers, then the right password is refused (429)
  by every one of the 4 workers;
- per address: one address guessing many different accounts (one failure each, so no email
  reaches its own limit) is refused by every worker once the address limit is reached — even
  for a real account with its right password — while another address still logs in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from app import create_app
from mingxiao.database import close_db, get_db
from tests.conftest import TEST_SECRET_KEY
from tests.security import _live

pytestmark = pytest.mark.slow

PASSWORD = "correct horse 2026"
PER_EMAIL, PER_IP = 4, 10
ACCOUNTS = {"per-email": "clerk.a@example.cn", "per-ip": "clerk.b@example.cn"}
THROTTLED_TEXT = "登录失败次数过多"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    instance: Path = tmp_path_factory.mktemp("throttle") / "instance"
    extra = {
        "LOGIN_MAX_FAILURES_PER_EMAIL": PER_EMAIL,
        "LOGIN_MAX_FAILURES_PER_IP": PER_IP,
        "PROXY_COUNT": 1,
    }
    app = create_app({"INSTANCE_PATH": str(instance), "SECRET_KEY": TEST_SECRET_KEY, **extra})
    with app.app_context():
        get_db().init()
    for email in ACCOUNTS.values():
        result = app.test_cli_runner().invoke(
            args=["users", "add", email, "--role", "admin", "--password-stdin"],
            input=PASSWORD + "\n",
        )
        assert result.exit_code == 0, result.output
    close_db(app)
    with _live.serve(instance, workers=4, extra=extra) as live:
        yield live


def login_request(live: _live.Live, email: str, password: str, address: str) -> bytes:
    """A complete login POST from ``address`` (as the proxy forwards it), CSRF token included."""
    s = requests.Session()
    page = s.get(live.base + "/auth/login", headers={"X-Forwarded-For": address}, timeout=30)
    body = urlencode(
        {"email": email, "password": password, "csrf_token": _live.csrf_of(page.text)}
    ).encode()
    return _live.raw_post(
        live, "/auth/login", s.cookies[_live.COOKIE], body, X_Forwarded_For=address
    )


def test_email_limit_holds_in_every_worker(server):
    email = ACCOUNTS["per-email"]
    wrong = [login_request(server, email, f"guess {i}", "10.0.0.1") for i in range(PER_EMAIL)]
    failures = _live.fan_out(server, wrong)
    assert [r.status for r in failures] == [200] * PER_EMAIL  # the form again, with the error
    assert len({r.worker for r in failures}) >= 2, "the failures should be spread over workers"
    replies = _live.every_worker(server, login_request(server, email, PASSWORD, "10.0.0.1"))
    assert {r.status for r in replies} == {429}
    assert all(THROTTLED_TEXT in r.body.decode() for r in replies)


def test_address_limit_holds_in_every_worker(server):
    address = "10.0.0.2"
    guesses = [
        login_request(server, f"nobody{i}@example.cn", "wrong password!", address)
        for i in range(PER_IP)
    ]
    failures = []
    for start in range(0, PER_IP, server.workers):
        failures += _live.fan_out(server, guesses[start : start + server.workers])
    assert [r.status for r in failures] == [200] * PER_IP
    assert len({r.worker for r in failures}) >= 2
    right = login_request(server, ACCOUNTS["per-ip"], PASSWORD, address)
    replies = _live.every_worker(server, right)
    assert {r.status for r in replies} == {429}
    # The limit is the address's: the same account from another address still gets in.
    (elsewhere,) = _live.fan_out(
        server, [login_request(server, ACCOUNTS["per-ip"], PASSWORD, "10.0.0.3")]
    )
    assert elsewhere.status == 302 and not elsewhere.to_login
