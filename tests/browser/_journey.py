"""Shared pieces of the browser journeys (one test module per role in this folder).

Each journey runs the real site under gunicorn (two workers) on 127.0.0.1, on a fresh demo
workbook (``sheets init --demo`` at scale 0.1 with the demo logins and the demo password),
which a journey may first prepare through the app's own Python API (:func:`demo_site`); then
headless Chromium, driven by Playwright's sync API, plays the role (:func:`journey`).

Playwright uses the system browser (``chromium`` or ``chromium-browser`` on PATH, e.g. Debian's
``apt-get install chromium``); no browser download is needed. Without one the journeys are
skipped, unless ``MINGXIAO_REQUIRE_BROWSER=1`` (set by ``.ci/run``), which makes a missing
browser an error. Numbered full-page screenshots of every step go to
``$MINGXIAO_SCREENSHOTS/<journey>/`` (default ``tests/browser/screenshots/<journey>/``, which git
ignores). Every wait is on a selector or a URL, with generous timeouts: no sleeps.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from flask import Flask
from playwright.sync_api import Browser, Dialog, Page, expect, sync_playwright

from app import create_app
from mingxiao.auth import EXTENSION_KEY, ensure_demo_accounts
from mingxiao.cli import DEMO_PASSWORD
from mingxiao.database import close_db, get_db
from tests._demo import ROLE_EMAILS
from tests._servers import start_gunicorn

# Read at import: the autouse fixture of tests/conftest.py clears MINGXIAO_* before each test.
SCREENSHOTS = Path(
    os.environ.get("MINGXIAO_SCREENSHOTS") or Path(__file__).resolve().parent / "screenshots"
)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SECRET = "browser-test-secret-key-0123456789abcdef"
TIMEOUT_MS = 30_000

# CI installs Chromium and sets MINGXIAO_REQUIRE_BROWSER=1: there a missing browser fails
# the run instead of skipping the journey.
REQUIRED = os.environ.get("MINGXIAO_REQUIRE_BROWSER") == "1"
if REQUIRED and CHROMIUM is None:
    raise RuntimeError("MINGXIAO_REQUIRE_BROWSER=1 but no chromium executable is on PATH")

# The marks of every journey module: ``pytestmark = BROWSER_MARKS``.
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.slow,  # gunicorn workers and a browser: multi-process
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no chromium executable on PATH (install Debian's 'chromium'): "
        "the browser test drives the system Chromium through Playwright",
    ),
]

T = TypeVar("T")
_SHOT_RE = re.compile(r"^\d{2}-.+\.png$")


@contextmanager
def demo_site(
    tmp_path: Path, prepare: Callable[[Flask, Any], T] | None = None
) -> Iterator[tuple[str, T | None]]:
    """The demo instance under gunicorn: yields (base URL, what ``prepare`` returned).

    ``prepare(app, db)`` runs in a request context of the app, after the demo data and
    accounts exist and before the server starts; whatever it writes is synced to the workbook.
    """
    config = {"INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": SECRET}
    app = create_app(config)
    prepared: T | None = None
    try:
        db = get_db(app)
        db.init(demo=True, scale=0.1)
        ensure_demo_accounts(app, DEMO_PASSWORD)
        if prepare is not None:
            with app.test_request_context():
                prepared = prepare(app, db)
        db.sync()
    finally:
        close_db(app)
    with start_gunicorn(f"app:create_app({config!r})", workers=2) as base_url:
        yield base_url, prepared


def add_login(app: Flask, db: Any, email: str, **row: Any) -> None:
    """An active account (a 账号 row plus the demo password) made by a journey's ``prepare``,
    e.g. ``add_login(app, db, email, name=…, role="mentor", mentor=mentor_id)``."""
    db.table("users").insert({"email": email, "active": True, **row}, user="browser-test")
    store = app.extensions[EXTENSION_KEY]
    store.set_password(email, DEMO_PASSWORD)
    store.enable(email)


class Journey:
    """One browser, pages in their own contexts (own cookies), numbered screenshots."""

    def __init__(self, browser: Browser, base_url: str, name: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.folder = SCREENSHOTS / name
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.iterdir():  # the last run's numbered shots of this journey
            if _SHOT_RE.match(old.name):
                old.unlink()
        self.n = 0
        self.page = self.new_page()
        self._current = self.page

    def new_page(self) -> Page:
        """A page in a fresh browser context: signed out, Chinese, desktop size."""
        context = self.browser.new_context(
            base_url=self.base_url,
            locale="zh-CN",
            accept_downloads=True,
            viewport={"width": 1280, "height": 900},
        )
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        return page

    def shot(self, name: str, page: Page | None = None) -> None:
        """A full-page screenshot ``NN-name.png`` of ``page`` (default: the main page)."""
        page = page or self.page
        self._current = page
        self.n += 1
        page.screenshot(path=str(self.folder / f"{self.n:02d}-{name}.png"), full_page=True)

    def failure_shot(self) -> None:
        try:
            self.shot("failure", self._current)
        except Exception:  # noqa: S110 - the test's own error is the one to report
            pass


@contextmanager
def journey(base_url: str, name: str) -> Iterator[Journey]:
    """Headless Chromium on ``base_url``; a screenshot ``NN-failure.png`` if the block fails."""
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            j = Journey(browser, base_url, name)
            try:
                yield j
            except BaseException:
                j.failure_shot()
                raise
        finally:
            browser.close()


def sign_in(
    page: Page,
    role: str,
    *,
    email: str | None = None,
    shot: Callable[[str], None] | None = None,
) -> None:
    """Sign in through the login form as the demo login of ``role`` (tests._demo.ROLE_EMAILS),
    or as ``email`` (an account the journey made, with the demo password)."""
    page.goto("/auth/login")
    page.fill("input[name=email]", email or ROLE_EMAILS[role])
    page.fill("input[name=password]", DEMO_PASSWORD)
    if shot is not None:
        shot("login")
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).not_to_have_url(re.compile(r"/auth/login"))


def accept_next_dialog(page: Page) -> list[str]:
    """Accept the next confirm() (forms with ``data-confirm``); returns the messages seen."""
    seen: list[str] = []

    def accept(dialog: Dialog) -> None:
        seen.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    return seen


def flash(page: Page, kind: str, text: str) -> Any:
    """The flashed message of ``kind`` (success, error, warning, info) containing ``text``."""
    return page.locator(f".flash--{kind}", has_text=text)
