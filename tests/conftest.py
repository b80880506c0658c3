"""Shared fixtures, in the shape of Flask's tutorial (flaskr): ``app``, ``client``, ``runner``, ``auth``.

Every test gets its own instance folder and workbook under ``tmp_path``. CSRF protection stays
ON: post forms through :func:`csrf_token` / :meth:`FormClient.post_form`, or opt out explicitly
with ``@pytest.mark.app_config(WTF_CSRF_ENABLED=False)`` when a test is not about forms.

A logged-in client, step by step (the ``users`` sheet must exist first)::

    def test_admin_sees_health(app, client, auth, runner):
        init_workbook(app)                       # or the ``workbook`` fixture
        result = runner.invoke(args=["users", "add", "a@example.cn", "--role", "admin",
                                     "--name", "管理员", "--password-stdin"],
                               input="correct horse 2026\\n")
        assert result.exit_code == 0, result.output
        auth.login("a@example.cn", "correct horse 2026")
        assert client.get("/admin/health").status_code == 200

More settings for one test: ``@pytest.mark.app_config(ENABLED_PLUGINS=("blueprints.core",))``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from werkzeug.test import TestResponse

from app import create_app

TEST_SECRET_KEY = "test-secret-key-not-for-production"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "app_config(**settings): extra settings for the app fixture")
    config.addinivalue_line(
        "markers", "browser: drives the real site in headless Chromium (Playwright, system browser)"
    )


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the machine's MINGXIAO_* settings or a FLASK_DEBUG left on by a developer."""
    for name in list(os.environ):
        if name.startswith("MINGXIAO_") or name in {"FLASK_DEBUG", "FLASK_ENV"}:
            monkeypatch.delenv(name)


def make_config(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """The test configuration: a private instance folder and workbook, CSRF on, fast sync."""
    instance = tmp_path / "instance"
    config: dict[str, Any] = {
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "WORKBOOK": str(instance / "mingxiao.xlsx"),
        "SECRET_KEY": TEST_SECRET_KEY,
        "WTF_CSRF_ENABLED": True,
    }
    config.update(overrides)
    return config


@pytest.fixture
def app_config(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """The settings the ``app`` fixture uses; extend with ``@pytest.mark.app_config(...)``."""
    extra: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers("app_config"))):
        extra.update(marker.kwargs)
    return make_config(tmp_path, **extra)


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    """A fresh app per test; its database (if opened) is closed afterwards."""
    from mingxiao.database import close_db

    application = create_app(app_config)
    yield application
    close_db(application)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


def init_workbook(app: Flask, *, demo: bool = False) -> None:
    """Create the test workbook with every sheet (``sheets init``), optionally with demo data."""
    from mingxiao.database import get_db

    get_db(app).init(demo=demo)


@pytest.fixture
def workbook(app: Flask) -> Path:
    """The app with its workbook created (empty sheets, header rows, seed rows)."""
    init_workbook(app)
    return Path(app.config["WORKBOOK"])


def csrf_token(html: str | bytes) -> str:
    """The CSRF token in a rendered page (the first ``csrf_token`` input)."""
    text = html.decode() if isinstance(html, bytes) else html
    match = CSRF_RE.search(text)
    if not match:
        raise AssertionError("no csrf_token input on this page")
    return match.group(1) or match.group(2)


def post_form(
    client: FlaskClient,
    url: str,
    data: Mapping[str, Any] | None = None,
    *,
    page: str | None = None,
    **kwargs: Any,
) -> TestResponse:
    """GET ``page`` (default ``url``; must render a form), then POST ``data`` with its CSRF token."""
    got = client.get(page or url)
    payload = dict(data or {})
    payload["csrf_token"] = csrf_token(got.data)
    return client.post(url, data=payload, **kwargs)


class AuthActions:
    """Log in and out through the real forms, CSRF tokens included."""

    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def login(self, email: str, password: str, **kwargs: Any) -> TestResponse:
        """GET /auth/login, then POST ``email`` and ``password`` with the page's CSRF token."""
        return post_form(
            self._client, "/auth/login", {"email": email, "password": password}, **kwargs
        )

    def logout(self, **kwargs: Any) -> TestResponse:
        """POST /auth/logout with a CSRF token taken from the home page (or the login page)."""
        page = self._client.get("/", follow_redirects=True)
        return self._client.post(
            "/auth/logout", data={"csrf_token": csrf_token(page.data)}, **kwargs
        )


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)
