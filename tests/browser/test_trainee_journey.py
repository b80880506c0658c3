"""A trainee (学员), end to end in a real browser: their plan, an upload, their workshop.

On a fresh demo workbook (gunicorn, two workers; see ``_journey.py``) headless Chromium plays
the demo trainee:

1. plan (一人一方案) — they add a milestone and a progress note to their plan, which their
   mentor had signed off: the page says the changed plan needs the mentor's confirmation again;
2. upload — they hand in a 研修报告 as a Word file built here (a tracked insertion and a text
   box counted, a tracked deletion not): the page shows the 字数 the site counted, which is
   the count worked out by hand, against the 2,000 字 the kind needs, and the file downloads
   back byte for byte;
3. workshop — they open the 名校长工作室 they lead and record an activity, which shows in its
   list and in its count.

Nothing else is prepared beforehand: the demo trainee has a signed-off plan and a workshop;
they are put back to 在训 (the demo makes them a graduate, and after 结业 a trainee's own plan
and deliverables are read-only).
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
from playwright.sync_api import expect

from tests._demo import ROLE_EMAILS
from tests.browser._journey import BROWSER_MARKS, demo_site, flash, journey, sign_in
from tests.deliverables._files import deleted, docx, inserted, para, run, text_box

pytestmark = BROWSER_MARKS

MILESTONE = "第四学期：整理办学思想成果，在市级论坛作专题报告。"
PROGRESS = "本月完成课题中期报告，工作室开展两次专题研讨。"
TITLE = "海外研修报告：芬兰基础教育考察"
FILE_NAME = "研修报告-芬兰考察.docx"
# 520 × 办学思想 (2,080 汉字) + （2026）Leadership (2 中文标点, 1 数字串, 1 英文单词)
# + a tracked insertion 新增 (2) + a text box 文本框 (3, once, though Word stores it twice);
# the tracked deletion does not count.
REPORT = docx(
    para(run("办学思想" * 520)),
    para(run("（2026）Leadership"), inserted("新增"), deleted("删去的文字")),
    para(text_box("文本框")),
)
REPORT_CHARS = 2080 + 2 + 1 + 1 + 2 + 3
TOPIC = "双减背景下的作业设计专题研讨"


@dataclass(frozen=True)
class World:
    today: dt.date
    trainee: str
    name: str
    milestones: str  # as the plan has them
    workshop: str
    workshop_name: str
    activities: int


def _prepare(app: Flask, db: Any) -> World:
    account = next(u for u in db.table("users").all() if u["email"] == ROLE_EMAILS["trainee"])
    trainee = db.table("trainees").get(str(account["trainee"]))
    # The demo trainee login belongs to a graduate (结业), whose own records are read-only;
    # this journey plays a trainee still in training.
    db.table("trainees").update(trainee.id, {"status": "在训"}, user=ROLE_EMAILS["admin"])
    plans = db.table("development_plans").where(trainee=trainee.id)
    assert plans and plans[0].get("mentor_signoff") is True, "the demo plan is not signed off"
    workshops = db.table("workshops").where(trainee=trainee.id)
    assert workshops, "the demo trainee leads no workshop"
    workshop = workshops[0]
    return World(
        today=db.today(),
        trainee=trainee.id,
        name=str(trainee["name"]),
        milestones=str(plans[0].get("milestones") or ""),
        workshop=workshop.id,
        workshop_name=str(workshop["name"]),
        activities=len(db.table("workshop_activities").where(workshop=workshop.id)),
    )


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, World]]:
    with demo_site(tmp_path, _prepare) as (url, world):
        assert world is not None
        yield url, world


def test_trainee_edits_their_plan_uploads_a_deliverable_and_records_a_workshop_activity(
    site: tuple[str, World], tmp_path: Path
) -> None:
    url, w = site
    with journey(url, "trainee") as j:
        page = j.page
        sign_in(page, "trainee", shot=j.shot)

        # -- 1. plan: a new milestone and a progress note -----------------------------------
        page.goto("/deliverables/")
        expect(page.locator("main h1")).to_contain_text(w.name)
        page.get_by_role("link", name="一人一方案", exact=True).first.click()
        expect(page).to_have_url(re.compile(rf"/deliverables/plan/{w.trainee}$"))
        j.shot("plan")
        page.get_by_role("link", name="修改方案", exact=True).click()
        milestones = page.locator("textarea[name=milestones]")
        expect(milestones).to_have_value(w.milestones)
        milestones.fill(f"{w.milestones}\n{MILESTONE}")
        page.fill("textarea[name=progress_notes]", PROGRESS)
        j.shot("plan-edit")
        page.get_by_role("button", name="保存", exact=True).click()
        expect(page).to_have_url(re.compile(rf"/deliverables/plan/{w.trainee}$"))
        expect(flash(page, "success", "已保存个人发展规划")).to_be_visible()
        expect(flash(page, "warning", "需要导师重新确认")).to_be_visible()
        record = page.locator("main dl.record")
        expect(record).to_contain_text(MILESTONE)
        expect(record).to_contain_text(PROGRESS)
        j.shot("plan-saved")

        # -- 2. upload: a 研修报告 and its 字数 ----------------------------------------------
        page.goto("/deliverables/")
        page.get_by_role("link", name="提交结业作业", exact=True).click()
        expect(page).to_have_url(re.compile(r"/deliverables/new$"))
        page.select_option("select[name=kind]", "研修报告")
        page.fill("input[name=title]", TITLE)
        page.set_input_files(
            "input[name=file_ref]",
            files=[
                {
                    "name": FILE_NAME,
                    "mimeType": "application/vnd.openxmlformats-officedocument."
                    "wordprocessingml.document",
                    "buffer": REPORT,
                }
            ],
        )
        j.shot("upload-form")
        page.get_by_role("button", name="提交", exact=True).click()
        expect(page).to_have_url(re.compile(r"/deliverables/D\d{4}-\d{4}$"))
        expect(flash(page, "success", f"字数 {REPORT_CHARS}")).to_be_visible()
        stats = page.locator("main dl.stats")
        expect(stats.locator("dt").first).to_have_text("学员")  # their name, not an id
        chars = stats.locator("div", has_text="字数").first
        expect(chars).to_contain_text(str(REPORT_CHARS))
        expect(chars).to_contain_text("达到不少于 2,000 字的要求")
        expect(stats).to_contain_text("待审阅")
        expect(stats).to_contain_text("系统自动统计")
        j.shot("uploaded")
        with page.expect_download() as info:
            page.get_by_role("link", name=f"下载文件：{FILE_NAME}").click()
        saved = tmp_path / "back.docx"
        info.value.save_as(saved)
        assert saved.read_bytes() == REPORT

        # -- 3. workshop: record an activity ------------------------------------------------
        page.goto("/workshops/")
        page.get_by_role("link", name=w.workshop_name, exact=True).click()
        expect(page).to_have_url(re.compile(rf"/workshops/{w.workshop}$"))
        count = page.locator("main dl.stats div", has_text="活动").first
        expect(count.locator("dd")).to_have_text(str(w.activities))
        j.shot("workshop")
        page.get_by_role("link", name="登记活动", exact=True).click()
        day = w.today - dt.timedelta(days=3)
        page.fill("input[name=date]", day.isoformat())
        page.fill("input[name=topic]", TOPIC)
        page.select_option("select[name=activity_type]", "专题研讨")
        page.fill("input[name=participants]", "18")
        page.fill("input[name=hours]", "3")
        page.fill("textarea[name=note]", "成员交流作业设计案例，形成校本作业设计指引初稿。")
        j.shot("workshop-activity-form")
        page.get_by_role("button", name="保存", exact=True).click()
        expect(page).to_have_url(re.compile(rf"/workshops/{w.workshop}$"))
        expect(flash(page, "success", f"已登记活动“{TOPIC}”")).to_be_visible()
        row = page.locator("#activities tbody tr", has_text=TOPIC)
        expect(row).to_contain_text("专题研讨")
        expect(row).to_contain_text("18")
        expect(count.locator("dd")).to_have_text(str(w.activities + 1))
        j.shot("workshop-activity-recorded")
