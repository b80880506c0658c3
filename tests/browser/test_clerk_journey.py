"""A district clerk's nomination, end to end, in a real browser against the real server.

The site runs under gunicorn (two workers) on 127.0.0.1 on a fresh demo workbook whose newest
cohort has its nomination window open; headless Chromium, driven by Playwright's sync API,
plays the 上城区 clerk: signs in, fills in the 推荐表, sees the error at the phone field, fixes
it, saves, stamps (accepting the confirm dialog) and downloads the 《人选汇总表》, which openpyxl
then reads. A screenshot of every step goes to ``$MINGXIAO_SCREENSHOTS/clerk/`` (default
``tests/browser/screenshots/clerk/``).

The server, the browser, the screenshots and the skip without Chromium are ``_journey.py``'s,
shared with the journeys of the other roles. Every wait is on a selector or a URL: no sleeps.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests._demo import DISTRICT
from tests.browser._journey import BROWSER_MARKS, accept_next_dialog, demo_site, journey, sign_in
from tests.nominations._helpers import id_number

pytestmark = BROWSER_MARKS

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


def _open_window(app: Flask, db: Any) -> str:
    """Open the nomination window of the newest cohort for 30 days; returns its id."""
    cohort = max(db.table("cohorts").all(), key=lambda c: (c.get("number") or 0, c.id))
    deadline = db.today() + dt.timedelta(days=30)
    db.table("cohorts").update(
        cohort.id, {"nomination_open": True, "nomination_deadline": deadline}
    )
    return str(cohort.id)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """The demo instance (demo logins with the demo password, one open window) under gunicorn."""
    with demo_site(tmp_path, _open_window) as (url, cohort):
        assert cohort is not None
        yield Site(url, cohort)


def test_district_clerk_enters_fixes_stamps_and_downloads_a_nomination(site: Site, tmp_path: Path):
    with journey(site.url, "clerk") as j:
        page = j.page
        # Sign in as the 上城区 clerk.
        sign_in(page, "district", shot=j.shot)

        # The nominations list, then the 推荐表.
        page.goto("/nominations/")
        expect(page.locator("main h1")).to_contain_text(DISTRICT)
        j.shot("nominations")
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
        j.shot("form-filled")
        page.get_by_role("button", name="保存", exact=True).click()

        # The bad phone number is refused at its field; the rest of the form is kept.
        error = page.locator("#phone-error")
        expect(error).to_be_visible()
        expect(error).to_contain_text(BAD_PHONE)
        expect(page.locator("input[name=phone]")).to_have_attribute("aria-invalid", "true")
        expect(page.locator("input[name=name]")).to_have_value(NOMINEE["name"])
        j.shot("phone-error")

        # Fixed and saved: the detail page of a new draft.
        page.fill("input[name=phone]", GOOD_PHONE)
        page.get_by_role("button", name="保存", exact=True).click()
        expect(page).to_have_url(re.compile(r"/nominations/N\d{4}-\d{4}$"))
        expect(page.locator(".flash--success", has_text="草稿")).to_be_visible()
        nomination_id = page.url.rsplit("/", 1)[-1]
        j.shot("saved")

        # Stamp it: the page asks first.
        dialogs = accept_next_dialog(page)
        page.get_by_role("button", name="盖章", exact=True).click()
        expect(page.locator(".flash--success", has_text="已盖章")).to_be_visible()
        assert dialogs and "盖章" in dialogs[0], dialogs
        j.shot("stamped")

        # Filter the list by the cohort and download its 《人选汇总表》.
        page.goto("/nominations/")
        page.select_option("form.filters select[name=cohort]", site.cohort)
        page.get_by_role("button", name="筛选", exact=True).click()
        expect(page.get_by_role("link", name=nomination_id, exact=True)).to_be_visible()
        export = page.locator("#summary-export")
        expect(export).to_be_visible()
        j.shot("list-filtered")
        with page.expect_download() as info:
            export.get_by_role("link", name="XLSX", exact=True).click()
        download = info.value
        saved = tmp_path / "summary.xlsx"
        download.save_as(saved)
        assert download.suggested_filename.endswith(".xlsx")

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
