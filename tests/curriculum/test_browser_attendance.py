"""In a real browser: an admin records absences on the attendance grid, and a mentor then sees
the trainee's updated absence risk on “我的学员”.

The site runs under gunicorn (two workers) on a fresh demo workbook; headless Chromium
(the system ``chromium``) is driven by Playwright. The fixture picks one of the first demo
mentor's current trainees and the held sessions where that trainee was present; marking them
缺勤 moves the trainee to the next warning level, which is computed beforehand with the plain
rules. Every wait is on a selector or a URL: no sleeps. Skipped without Chromium.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from app import create_app
from blueprints.curriculum import rules
from mingxiao.auth import ensure_demo_accounts
from mingxiao.cli import DEMO_PASSWORD
from mingxiao.database import close_db, get_db
from tests._demo import ROLE_EMAILS
from tests._servers import start_gunicorn

SCREENSHOTS = Path(
    os.environ.get("MINGXIAO_SCREENSHOTS")
    or Path(__file__).resolve().parents[1] / "browser" / "screenshots"
)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SECRET = "browser-test-secret-key-curriculum-0123456789"
TIMEOUT_MS = 30_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium executable on PATH"),
]


@dataclass(frozen=True)
class Plan:
    url: str
    trainee_id: str
    trainee_name: str
    sessions: list[str]  # held sessions to mark 缺勤
    level: str  # the level the mentor should then see
    counted: Decimal


def _active(row: dict, day: dt.date) -> bool:
    start, end = row.get("start_date"), row.get("end_date")
    return not (start and day < start) and not (end and day > end)


def _plan(db: object, config: dict) -> tuple[str, str, list[str], str, Decimal]:
    """A current trainee of the first mentor, and the sessions that raise their warning level."""
    day = db.today()  # type: ignore[attr-defined]
    users = {r["email"]: r for r in db.table("users").all()}  # type: ignore[attr-defined]
    mentor = users[ROLE_EMAILS["mentor"]]["mentor"]
    assignments = db.table("mentor_assignments").where(mentor=mentor)  # type: ignore[attr-defined]
    for a in assignments:
        if not _active(a, day):
            continue
        trainee = db.table("trainees").get(a["trainee"])  # type: ignore[attr-defined]
        sessions = db.table("sessions").where(cohort=trainee["cohort"])  # type: ignore[attr-defined]
        rows = db.table("attendance").where(trainee=trainee.id)  # type: ignore[attr-defined]
        cohort = db.table("cohorts").get(trainee["cohort"])  # type: ignore[attr-defined]
        settings = rules.settings_from_config(config, cohort["total_hours"])
        before = rules.trainee_absence(trainee.id, rows, sessions, settings, day)
        if before.level == rules.CANDIDATE:
            continue
        present = {r["session"] for r in rows if r["status"] == rules.PRESENT}
        marked: list[str] = []
        changed = [dict(r) for r in rows]
        for s in sorted(sessions, key=lambda s: -Decimal(str(s["hours"]))):
            if s["date"] > day or s.id not in present or len(marked) >= 4:
                continue
            marked.append(s.id)
            for r in changed:
                if r["session"] == s.id:
                    r.update(status=rules.ABSENT, hours_attended=0)
            after = rules.trainee_absence(trainee.id, changed, sessions, settings, day)
            if rules.LEVEL_ORDER[after.level] > rules.LEVEL_ORDER[before.level]:
                return trainee.id, trainee["name"], marked, after.level, after.counted
    raise AssertionError("no trainee of the first mentor can change level with 4 sessions")


@pytest.fixture
def plan(tmp_path: Path) -> Iterator[Plan]:
    config = {"INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": SECRET}
    app = create_app(config)
    try:
        db = get_db(app)
        db.init(demo=True, scale=0.1)
        ensure_demo_accounts(app, DEMO_PASSWORD)
        db.sync()
        picked = _plan(db, dict(app.config))
    finally:
        close_db(app)
    with start_gunicorn(f"app:create_app({config!r})", workers=2) as base_url:
        yield Plan(base_url, *picked)


def _sign_in(page: object, role: str) -> None:
    page.goto("/auth/login")  # type: ignore[attr-defined]
    page.fill("input[name=email]", ROLE_EMAILS[role])  # type: ignore[attr-defined]
    page.fill("input[name=password]", DEMO_PASSWORD)  # type: ignore[attr-defined]
    page.get_by_role("button", name="登录", exact=True).click()  # type: ignore[attr-defined]
    expect(page).not_to_have_url(re.compile(r"/auth/login"))  # type: ignore[arg-type]


def test_admin_records_absences_on_the_grid_and_the_mentor_sees_the_new_risk(plan: Plan) -> None:
    expect.set_options(timeout=TIMEOUT_MS)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            admin = browser.new_context(base_url=plan.url, locale="zh-CN").new_page()
            admin.set_default_timeout(TIMEOUT_MS)
            _sign_in(admin, "admin")
            for sid in plan.sessions:
                admin.goto(f"/curriculum/sessions/{sid}/attendance")
                row = admin.locator(f"#grid-{plan.trainee_id}")
                row.locator("input[type=radio][value=缺勤]").check()
                admin.get_by_role("button", name="保存考勤", exact=True).click()
                expect(admin.locator(".flash--success")).to_contain_text("已保存 1 名学员的考勤")
                expect(
                    admin.locator(f"#grid-{plan.trainee_id} input[type=radio][value=缺勤]")
                ).to_be_checked()
            admin.screenshot(path=str(SCREENSHOTS / "curriculum-grid.png"), full_page=True)

            mentor = browser.new_context(base_url=plan.url, locale="zh-CN").new_page()
            mentor.set_default_timeout(TIMEOUT_MS)
            _sign_in(mentor, "mentor")
            mentor.goto("/mentors/my")
            line = mentor.locator("tr", has_text=plan.trainee_name)
            expect(line).to_have_class(re.compile(rf"risk--{plan.level}"))
            counted = f"{plan.counted.normalize():f}"
            expect(line).to_contain_text(f"缺勤 {counted} 学时")
            mentor.screenshot(path=str(SCREENSHOTS / "curriculum-mentor-risk.png"), full_page=True)
        finally:
            browser.close()
