"""From the last deliverable to a checked certificate, in a real browser (issue #6).

On a fresh demo workbook (gunicorn, two workers; see ``_journey.py``) headless Chromium plays
four people in turn, each in their own browser context:

1. the trainee uploads their 研修报告 (a .docx built here, 2,089 字): it waits for review and
   the assessment checklist is not met yet;
2. their lead mentor passes it from the review queue;
3. the admin sees the checklist met, records 合格, graduates the passed trainees of the cohort
   in one batch (confirm dialog) and issues the certificate (MXZ-年份-期次-序号);
4. a signed-out visitor types the certificate's verification code on the public page, which
   confirms it is valid and shows the trainee's name.

Prepared beforehand (the demo has no such person with logins): a trainee still in training
whose checklist is complete but for the 研修报告 (their passed ones are withdrawn), with a login
for them and one for their lead mentor (whose assignment is extended to today if it ended).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from blueprints.completion import assessment
from blueprints.deliverables import rules
from mingxiao.sheetdb.demo import DEMO_DOMAIN
from tests.browser._journey import (
    BROWSER_MARKS,
    accept_next_dialog,
    add_login,
    demo_site,
    flash,
    journey,
    sign_in,
)
from tests.deliverables._files import docx, para, run

pytestmark = BROWSER_MARKS

KIND = "研修报告"
TITLE = "研修报告：学校课程领导力的实践与反思"
FILE_NAME = "研修报告.docx"
REPORT = docx(para(run("课程领导" * 522)), para(run("（2026）Leadership")))
REPORT_CHARS = 2088 + 2 + 1 + 1  # 汉字, two full-width brackets, one number, one English word
TRAINEE_EMAIL = f"completion.trainee@{DEMO_DOMAIN}"
MENTOR_EMAIL = f"completion.mentor@{DEMO_DOMAIN}"


@dataclass(frozen=True)
class World:
    trainee: str
    name: str
    cohort: str


def _prepare(app: Flask, db: Any) -> World:
    assessed = {str(a.get("trainee")) for a in db.table("assessments").all()}
    certified = {str(c.get("trainee")) for c in db.table("certificates").all()}
    with_login = {str(u.get("trainee")) for u in db.table("users").all() if u.get("trainee")}
    leads: dict[str, Any] = {}  # trainee → their latest lead-mentor assignment
    for a in sorted(db.table("mentor_assignments").all(), key=lambda a: a.get("start_date")):
        if a.get("role") == "主导师":
            leads[str(a["trainee"])] = a
    for t in sorted(db.table("trainees").all(), key=lambda t: t.id):
        if (
            t.get("status") not in ("在训", "预警")
            or t.id in assessed | certified | with_login
            or t.id not in leads
            or not assessment.checklist(db, t).complete
        ):
            continue
        reports = [
            d
            for d in db.table("deliverables").where(trainee=t.id)
            if d.get("kind") == KIND and not d.voided
        ]
        for d in reports:  # the report still to come: this journey hands it in
            db.table("deliverables").void(d.id, user="browser-test", reason="旅程测试：重新提交")
        assert not assessment.checklist(db, db.table("trainees").get(t.id)).complete
        add_login(app, db, TRAINEE_EMAIL, name=t["name"], role="trainee", trainee=t.id)
        lead = leads[t.id]
        if lead.get("end_date") and lead["end_date"] < db.today():
            # the cohort's guidance period ended; this trainee is still being assessed
            db.table("mentor_assignments").update(lead.id, {"end_date": None}, user="browser-test")
        mentor = db.table("mentors").get(str(lead["mentor"]))
        add_login(app, db, MENTOR_EMAIL, name=mentor["name"], role="mentor", mentor=mentor.id)
        return World(trainee=t.id, name=str(t["name"]), cohort=str(t["cohort"]))
    raise AssertionError("no demo trainee in training has a complete checklist and a lead mentor")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, World]]:
    with demo_site(tmp_path, _prepare) as (url, world):
        assert world is not None
        yield url, world


def test_trainee_uploads_mentor_passes_admin_certifies_and_the_public_page_confirms(
    site: tuple[str, World],
) -> None:
    url, w = site
    with journey(url, "completion") as j:
        # -- 1. the trainee hands in the report ----------------------------------------------
        trainee = j.page
        sign_in(trainee, "trainee", email=TRAINEE_EMAIL)
        trainee.goto("/deliverables/new")
        trainee.select_option("select[name=kind]", KIND)
        trainee.fill("input[name=title]", TITLE)
        trainee.set_input_files(
            "input[name=file_ref]",
            files=[{"name": FILE_NAME, "mimeType": "application/octet-stream", "buffer": REPORT}],
        )
        j.shot("trainee-upload")
        trainee.get_by_role("button", name="提交", exact=True).click()
        expect(trainee).to_have_url(re.compile(r"/deliverables/D\d{4}-\d{4}$"))
        expect(flash(trainee, "success", f"字数 {REPORT_CHARS}")).to_be_visible()
        expect(trainee.locator("main dl.stats")).to_contain_text(rules.PENDING)
        report = trainee.url.rsplit("/", 1)[-1]
        j.shot("trainee-uploaded")

        # -- 2. the lead mentor passes it from the queue -------------------------------------
        mentor = j.new_page()
        sign_in(mentor, "mentor", email=MENTOR_EMAIL)
        mentor.goto("/deliverables/")
        queue = mentor.locator("section.card", has_text="待我审阅")
        queue.locator(f"a[href='/deliverables/{report}']").click()
        expect(mentor.locator("main .stats")).to_contain_text(rules.PENDING)
        mentor.get_by_label("通过", exact=True).check()
        j.shot("mentor-review", mentor)
        mentor.get_by_role("button", name="提交审阅结果", exact=True).click()
        expect(flash(mentor, "success", f"已通过“{TITLE}”")).to_be_visible()
        expect(mentor.locator("main .stats")).to_contain_text(rules.PASSED)
        j.shot("mentor-passed", mentor)

        # -- 3. the admin: checklist met, 合格, batch 结业, certificate ------------------------
        admin = j.new_page()
        sign_in(admin, "admin")
        admin.goto(f"/completion/assessment/{w.trainee}")
        expect(admin.locator("main h1")).to_contain_text(w.name)
        expect(admin.locator("main .badge--error")).to_have_count(0)  # every line met now
        admin.select_option("select[name=decision]", "合格")
        admin.fill("textarea[name=plan_review]", "按一人一方案完成各项目标。")
        admin.fill("textarea[name=note]", "综合考核合格，准予结业。")
        j.shot("admin-assessment", admin)
        admin.get_by_role("button", name="保存结论", exact=True).click()
        expect(flash(admin, "success", "已记录考核结论：合格")).to_be_visible()

        admin.goto(f"/completion/assessment?cohort={w.cohort}")
        asked = accept_next_dialog(admin)
        admin.get_by_role("button", name=re.compile(r"考核合格者批量结业（\d+ 人）")).click()
        expect(flash(admin, "success", "名学员已改为“结业”")).to_be_visible()
        assert asked and "结业" in asked[0], asked
        expect(admin.locator("tbody tr", has_text=w.name).first).to_contain_text("结业")

        admin.goto("/completion/")
        pending = admin.locator("tbody tr", has_text=w.trainee)
        pending.get_by_role("button", name="颁发证书").click()
        expect(admin).to_have_url(re.compile(r"/completion/certificates/CT\d{4}-\d{4}$"))
        expect(flash(admin, "success", "已颁发证书")).to_contain_text(
            re.compile(r"MXZ-\d{4}-\d-\d{3}")
        )
        sheet = admin.locator("article.cert-sheet")
        expect(sheet.locator(".cert-sheet__name")).to_have_text(w.name)
        j.shot("admin-certificate", admin)
        code = re.search(r"核验码：\s*(\S+)", sheet.locator(".cert-sheet__verify").inner_text())
        assert code, "the certificate shows no verification code"

        # -- 4. anyone can check it -----------------------------------------------------------
        visitor = j.new_page()
        visitor.goto("/completion/verify")
        visitor.fill("input[name=code]", code.group(1))
        visitor.get_by_role("button", name="核验", exact=True).click()
        result = visitor.locator(".verify-result")
        expect(result).to_contain_text("证书有效")
        expect(result).to_contain_text(w.name)
        j.shot("verified", visitor)
