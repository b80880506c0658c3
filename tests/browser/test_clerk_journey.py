"""A district clerk's nomination, end to end, in a real browser against the real server.

The site runs under gunicorn (two workers) on 127.0.0.1 on a fresh demo workbook whose newest
cohort has its nomination window open; headless Chromium, driven by Playwright's sync API,
plays the 上城区 clerk: signs in, fills in the 推荐表, sees the error at the phone field, fixes
it, saves, stamps (accepting the confirm dialog) and downloads the 《人选汇总表》, which openpyxl
then reads. A screenshot of every step goes to ``$MINGXIAO_SCREENSHOTS`` (default
``tests/browser/screenshots/``).

Playwright uses the system browser (``chromium`` or ``chromium-browser`` on PATH, e.g. Debian's
``apt-get install chromium``); no browser download is needed. Without one the test is skipped.
Every wait is on a selector or a URL, with generous timeouts: no sleeps.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Dialog, Page, expect, sync_playwright

from app import create_app
from mingxiao.auth import ensure_demo_accounts
from mingxiao.cli import DEMO_PASSWORD
from mingxiao.database import close_db, get_db
from tests._demo import DISTRICT, ROLE_EMAILS
from tests._servers import start_gunicorn
from tests.nominations._helpers import id_number

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

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no chromium executable on PATH (install Debian's 'chromium'): "
        "the browser test drives the system Chromium through Playwright",
    ),
]

NOMINEE = {
    "recommending_unit": "上城区教育局",
    "name": "章可盈",
    "birth_date": "1978-06-15",
    "id_number": id_number("33010219780615004"),
    "school": "杭州市上城区浏览器实验小学",
    "head_since": "2015-09-01",
}
CHOICES = {"route": "单位推荐", "gender": "女", "school_type": "小学", "position": "正职校长", "title": "高级教师"}  # fmt: skip
DECLARATIONS = ("no_safety_accident", "no_irregular_conduct", "no_ideology_issue", "no_opinion_incident")  # fmt: skip
BAD_PHONE = "1395710"
GOOD_PHONE = "13957100088"


@dataclass(frozen=True)
class Site:
    url: str
    cohort: str  # the cohort whose nomination window is open


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """The demo instance (demo logins with the demo password, one open window) under gunicorn."""
    config = {"INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": SECRET}
    app = create_app(config)
    try:
        db = get_db(app)
        db.init(demo=True, scale=0.1)
        ensure_demo_accounts(app, DEMO_PASSWORD)
        cohort = max(db.table("cohorts").all(), key=lambda c: (c.get("number") or 0, c.id))
        deadline = db.today() + dt.timedelta(days=30)
        db.table("cohorts").update(
            cohort.id, {"nomination_open": True, "nomination_deadline": deadline}
        )
        db.sync()
    finally:
        close_db(app)
    with start_gunicorn(f"app:create_app({config!r})", workers=2) as base_url:
        yield Site(base_url, cohort.id)


class Steps:
    """Numbered full-page screenshots of the journey."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.n = 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def shot(self, name: str) -> None:
        self.n += 1
        self.page.screenshot(path=str(SCREENSHOTS / f"{self.n:02d}-{name}.png"), full_page=True)


def test_district_clerk_enters_fixes_stamps_and_downloads_a_nomination(site: Site, tmp_path: Path):
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        context = browser.new_context(
            base_url=site.url, locale="zh-CN", accept_downloads=True, viewport={"width": 1280, "height": 900}
        )  # fmt: skip
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        steps = Steps(page)
        try:
            # Sign in as the 上城区 clerk.
            page.goto("/auth/login")
            page.fill("input[name=email]", ROLE_EMAILS["district"])
            page.fill("input[name=password]", DEMO_PASSWORD)
            steps.shot("login")
            page.get_by_role("button", name="登录", exact=True).click()
            expect(page).not_to_have_url(re.compile(r"/auth/login"))

            # The nominations list, then the 推荐表.
            page.goto("/nominations/")
            expect(page.locator("main h1")).to_contain_text(DISTRICT)
            steps.shot("nominations")
            page.get_by_role("link", name="填写推荐表", exact=True).click()
            expect(page).to_have_url(re.compile(r"/nominations/new$"))
            page.select_option("select[name=cohort]", site.cohort)
            for key, value in NOMINEE.items():
                page.fill(f"[name={key}]", value)
            for key, value in CHOICES.items():
                page.select_option(f"select[name={key}]", value)
            for key in DECLARATIONS:
                page.check(f"input[name={key}]")
            page.fill("input[name=phone]", BAD_PHONE)
            steps.shot("form-filled")
            page.get_by_role("button", name="保存", exact=True).click()

            # The bad phone number is refused at its field; the rest of the form is kept.
            error = page.locator("#phone-error")
            expect(error).to_be_visible()
            expect(error).to_contain_text(BAD_PHONE)
            expect(page.locator("input[name=phone]")).to_have_attribute("aria-invalid", "true")
            expect(page.locator("input[name=name]")).to_have_value(NOMINEE["name"])
            steps.shot("phone-error")

            # Fixed and saved: the detail page of a new draft.
            page.fill("input[name=phone]", GOOD_PHONE)
            page.get_by_role("button", name="保存", exact=True).click()
            expect(page).to_have_url(re.compile(r"/nominations/N\d{4}-\d{4}$"))
            expect(page.locator(".flash--success", has_text="草稿")).to_be_visible()
            nomination_id = page.url.rsplit("/", 1)[-1]
            steps.shot("saved")

            # Stamp it: the page asks first.
            dialogs: list[str] = []

            def accept(dialog: Dialog) -> None:
                dialogs.append(dialog.message)
                dialog.accept()

            page.once("dialog", accept)
            page.get_by_role("button", name="盖章", exact=True).click()
            expect(page.locator(".flash--success", has_text="已盖章")).to_be_visible()
            assert dialogs and "盖章" in dialogs[0], dialogs
            steps.shot("stamped")

            # Filter the list by the cohort and download its 《人选汇总表》.
            page.goto("/nominations/")
            page.select_option("form.filters select[name=cohort]", site.cohort)
            page.get_by_role("button", name="筛选", exact=True).click()
            expect(page.get_by_role("link", name=nomination_id, exact=True)).to_be_visible()
            export = page.locator("#summary-export")
            expect(export).to_be_visible()
            steps.shot("list-filtered")
            with page.expect_download() as info:
                export.get_by_role("link", name="XLSX", exact=True).click()
            download = info.value
            saved = tmp_path / "summary.xlsx"
            download.save_as(saved)
            assert download.suggested_filename.endswith(".xlsx")
        except BaseException:
            steps.shot("failure")
            raise
        finally:
            context.close()
            browser.close()

    rows = list(load_workbook(saved, read_only=True).active.iter_rows(values_only=True))
    header = list(rows[0])
    found = [r for r in rows[1:] if r[header.index("姓名")] == NOMINEE["name"]]
    assert len(found) == 1, rows
    row = dict(zip(header, found[0], strict=False))
    assert (row["所在学校"], row["手机号码"], row["状态"]) == (
        NOMINEE["school"],
        GOOD_PHONE,
        "已盖章",
    )
