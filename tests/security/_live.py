"""gunicorn on a copy of the demo world, and requests that reach every worker.

:func:`serve` runs ``deploy/gunicorn.conf.py`` (access log on, its format) with the app of
``tests/security/_wsgi.py`` (each answer names its worker; the app logs at DEBUG) and keeps
gunicorn's whole output — error log, access log, app log — readable while it runs.

:func:`fan_out` sends N requests at once, each held one byte short of complete until all are
connected: a sync worker serves one connection at a time, so N held connections sit in N
different workers. :func:`every_worker` repeats that until every worker has answered, which is
how a test shows that a worker that did not serve the logout refuses the old cookie too.
"""

from __future__ import annotations

import re
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

from tests._demo import ROLE_EMAILS
from tests._servers import REPO, start_gunicorn
from tests.conftest import CSRF_RE, TEST_SECRET_KEY
from tests.security._wsgi import WORKER_HEADER

COOKIE = "mingxiao_session"
CONF = REPO / "deploy" / "gunicorn.conf.py"


@dataclass
class Live:
    base: str
    workers: int
    log_path: Path
    secret: str = TEST_SECRET_KEY

    @property
    def port(self) -> int:
        return int(urlsplit(self.base).port or 0)

    def log(self) -> str:
        """gunicorn's output so far: its error log, the access log and the app's log."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@contextmanager
def serve(
    instance: Path, workers: int = 4, *, extra: dict[str, Any] | None = None
) -> Iterator[Live]:
    """gunicorn with ``deploy/gunicorn.conf.py`` on ``instance`` (a copy of the demo world)."""
    config = {"INSTANCE_PATH": str(instance), "SECRET_KEY": TEST_SECRET_KEY, **(extra or {})}
    logs = Path(tempfile.mkdtemp(prefix="gunicorn-logs-"))
    with ExitStack() as stack:
        saved = tempfile.tempdir
        tempfile.tempdir = str(logs)  # start_gunicorn's output file lands here, where we read it
        try:
            base = stack.enter_context(
                start_gunicorn(
                    f"tests.security._wsgi:create({config!r})",
                    workers=workers,
                    extra_args=("-c", str(CONF), "--log-level", "debug"),
                    timeout=120,
                )
            )
        finally:
            tempfile.tempdir = saved
        (log_path,) = logs.glob("gunicorn-*.log")
        yield Live(base, workers, log_path)


# -- sessions ------------------------------------------------------------------------------------


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no csrf_token on the page"
    return match.group(1) or match.group(2)


def login(live: Live, role: str, password: str) -> requests.Session:
    """Sign ``role`` in through the login form of the live server."""
    s = requests.Session()
    page = s.get(live.base + "/auth/login", timeout=30)
    answer = s.post(
        live.base + "/auth/login",
        data={"email": ROLE_EMAILS[role], "password": password, "csrf_token": csrf_of(page.text)},
        allow_redirects=False,
        timeout=60,
    )
    assert answer.status_code == 302 and "/auth/login" not in answer.headers["Location"], (
        role,
        answer.status_code,
    )
    return s


def session_data(secret: str, cookie: str) -> dict[str, Any]:
    app = Flask("cookie-reader")
    app.secret_key = secret
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    return dict(serializer.loads(cookie))


def csrf_for(secret: str, cookie: str) -> str | None:
    """The form token Flask-WTF accepts for this session cookie (None: no CSRF secret yet)."""
    raw = session_data(secret, cookie).get("csrf_token")
    if raw is None:
        return None
    return str(URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(raw))


# -- raw requests that land in chosen workers -----------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def worker(self) -> str:
        return self.headers.get(WORKER_HEADER.lower(), "")

    @property
    def location(self) -> str:
        return self.headers.get("location", "")

    @property
    def to_login(self) -> bool:
        return self.status == 302 and urlsplit(self.location).path == "/auth/login"


def raw_get(live: Live, path: str, cookie: str | None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{live.port}", "Connection: close"]
    if cookie:
        lines.append(f"Cookie: {COOKIE}={cookie}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def raw_post(live: Live, path: str, cookie: str | None, body: bytes, **headers: str) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{live.port}",
        "Connection: close",
        "Content-Type: application/x-www-form-urlencoded",
        f"Content-Length: {len(body)}",
        *(f"{k.replace('_', '-')}: {v}" for k, v in headers.items()),
    ]
    if cookie:
        lines.append(f"Cookie: {COOKIE}={cookie}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _parse(data: bytes) -> Reply:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Reply(status, headers, body)


def fan_out(live: Live, raw_requests: list[bytes], settle: float = 0.3) -> list[Reply]:
    """Send all requests at once, each on its own connection (see the module docstring)."""
    socks = []
    try:
        for raw in raw_requests:
            sock = socket.create_connection(("127.0.0.1", live.port), timeout=60)
            sock.sendall(raw[:-1])
            socks.append(sock)
        time.sleep(settle)  # every idle worker has taken one connection and waits for its end
        for sock, raw in zip(socks, raw_requests, strict=True):
            sock.sendall(raw[-1:])
        replies = []
        for sock in socks:
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
            replies.append(_parse(data))
        return replies
    finally:
        for sock in socks:
            sock.close()


def every_worker(live: Live, raw: bytes, rounds: int = 8) -> list[Reply]:
    """The same request answered by every worker (rounds of ``workers`` held connections)."""
    replies: list[Reply] = []
    for _ in range(rounds):
        replies += fan_out(live, [raw] * live.workers)
        if len({r.worker for r in replies}) >= live.workers:
            return replies
    seen = sorted({r.worker for r in replies})
    raise AssertionError(f"only workers {seen} answered, of {live.workers}")


PHONE_RE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
ID_RE = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def valid_id(number: str) -> bool:
    """A GB 11643 ID number: its 18th character is the check character of the first 17."""
    total = sum(int(c) * w for c, w in zip(number[:17], ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == number[17].upper()


def personal_numbers(text: str) -> set[str]:
    """Mobile numbers and valid ID numbers anywhere in ``text``."""
    return set(PHONE_RE.findall(text)) | {m for m in ID_RE.findall(text) if valid_id(m)}
