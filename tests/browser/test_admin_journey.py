"""The city office (admin), end to end in a real browser: review, publicity, finalise,
attendance, certificate.

On a fresh demo workbook (gunicorn, two workers; see ``_journey.py``) whose newest cohort still
has nominations in the selection (已报送, 专家评审, one 拟录取), with the cohort's quota lowered
below its pool so the review is competitive (差额), headless Chromium plays:

1. review — the admin starts the expert review of the 已报送 nominations (confirm dialog); the
   expert, in a second browser context, scores one of them (six criteria); the admin sees it at
   the top of the ranking and saves the top of the ranking, within the quota, as 拟录取;
2. publicity — the admin opens the 公示 for a period entered after the fact (it ended
   yesterday-ish, as when it was first published on paper), reads the public page signed out,
   records an objection against the scored nominee and resolves it as 异议不成立;
3. finalise — the admin fixes the admission (confirm dialog): the nominees enter the roster;
4. attendance — on the attendance grid of a held session of that cohort the new trainee
   appears unrecorded; the admin marks them 迟到早退 with the hours they attended and saves;
5. certificate — for a trainee of an earlier cohort whose checklist is complete, the admin
   records 合格, graduates the cohort's passed trainees in one batch (confirm dialog), issues
   the certificate, opens its print page, and a signed-out visitor checks its code on the
   public verification page.

The workbook is prepared through the app's Python API only for what is not this journey's
(the cohort's quota); the five actions go through the browser UI.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from blueprints.completion import assessment, rules
from tests.browser._journey import (
    BROWSER_MARKS,
    accept_next_dialog,
    demo_site,
    flash,
    journey,
    sign_in,
)

pytestmark = BROWSER_MARKS

OBJECTION = "反映该同志所在学校存在违规收费情况，请予核查。"
RESOLUTION = "经实地核查，所反映情况与事实不符，不影响录取。"
PLAN_REVIEW = "对照一人一方案：课题已结题，工作室活动规范，论坛展示达到要求。"
CRITERIA_SCORE = "96"


def cn_date(day: dt.date) -> str:
    """A date as the pages show it (zh-CN): 2026年5月20日."""
    return f"{day.year}年{day.month}月{day.day}日"


@dataclass(frozen=True)
class Nominee:
    id: str
    name: str


@dataclass(frozen=True)
class World:
    today: dt.date
    cohort: str  # the newest cohort, still selecting
    cohort_name: str
    quota: int
    submitted: list[Nominee]  # 已报送: the review starts with these
    pool_after_start: int
    already_public: int  # 公示中 before the journey (their period is over): admitted too
    session: str  # a held session of the cohort
    session_hours: Decimal
    ready: Nominee  # a trainee of an earlier cohort whose checklist is complete
    ready_cohort: str
    batch: int  # trainees of that cohort the batch 结业 changes (the ready one included)


def _prepare(app: Flask, db: Any) -> World:
    today = db.today()
    cohort = max(db.table("cohorts").all(), key=lambda c: (c.get("number") or 0, c.id))
    noms = db.table("nominations").where(cohort=cohort.id)
    submitted = sorted(
        (Nominee(n.id, str(n["name"])) for n in noms if n.get("status") == "已报送"),
        key=lambda n: n.id,
    )
    pool = sum(1 for n in noms if n.get("status") in ("已报送", "专家评审", "拟录取"))
    assert submitted and pool >= 3, f"the demo's newest cohort has no review to run: {pool}"
    quota = pool // 2  # fewer places than candidates: a competitive review
    db.table("cohorts").update(cohort.id, {"quota": quota}, user="browser-test")
    public = [n for n in noms if n.get("status") == "公示中"]
    assert all(n.get("publicity_end") and n["publicity_end"] < today for n in public)

    held = [
        s
        for s in db.table("sessions").where(cohort=cohort.id)
        if s.get("date") and s["date"] <= today and Decimal(str(s.get("hours") or 0)) >= 1
    ]
    assert held, "no held session of the newest cohort"
    session = max(held, key=lambda s: (s["date"], s.id))

    assessed = {str(a.get("trainee")) for a in db.table("assessments").all()}
    certified = {str(c.get("trainee")) for c in db.table("certificates").all()}
    ready = [
        t
        for t in sorted(db.table("trainees").all(), key=lambda t: t.id)
        if t.get("cohort") != cohort.id
        and t.get("status") in ("在训", "预警")  # still in training: 结业 is a step ahead
        and t.id not in assessed | certified
        and assessment.checklist(db, t).complete
    ]
    assert ready, "no demo trainee with a complete checklist waits for assessment"
    by_trainee: dict[str, list[Any]] = {}
    for a in db.table("assessments").all():
        by_trainee.setdefault(str(a.get("trainee")), []).append(a)
    passed_before = [
        t
        for t in db.table("trainees").where(cohort=ready[0]["cohort"])
        if t.get("status") != rules.COMPLETED_STATUS
        and (latest := rules.latest_assessment(by_trainee.get(t.id, []))) is not None
        and latest.get("decision") in rules.PASSING_DECISIONS
    ]
    return World(
        today=today,
        cohort=cohort.id,
        cohort_name=str(cohort["name"]),
        quota=quota,
        submitted=submitted,
        pool_after_start=pool,
        already_public=len(public),
        session=session.id,
        session_hours=Decimal(str(session["hours"])),
        ready=Nominee(ready[0].id, str(ready[0]["name"])),
        ready_cohort=str(ready[0]["cohort"]),
        batch=len(passed_before) + 1,
    )


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, World]]:
    with demo_site(tmp_path, _prepare) as (url, world):
        assert world is not None
        yield url, world


def test_admin_reviews_publicises_admits_records_attendance_and_certifies(
    site: tuple[str, World],
) -> None:
    url, w = site
    star = w.submitted[0]  # the nominee the expert scores, then the objection's subject
    with journey(url, "admin") as j:
        page = j.page
        sign_in(page, "admin", shot=j.shot)

        # -- 1. review: start the expert review ---------------------------------------------
        page.goto("/nominations/review/")
        row = page.locator("tbody tr", has_text=w.cohort_name)
        start = row.get_by_role("button", name=f"启动专家评审（{len(w.submitted)} 人）")
        expect(start).to_be_visible()
        current = page.locator("#main-nav [aria-current=page]")
        expect(current).to_have_text(["差额评审"])  # not 人选推荐 (/nominations/) as well
        j.shot("review-overview")
        asked = accept_next_dialog(page)
        start.click()
        expect(page).to_have_url(re.compile(rf"/nominations/review/{w.cohort}$"))
        expect(flash(page, "success", f"{len(w.submitted)} 份推荐已进入专家评审")).to_be_visible()
        assert asked and "启动" in asked[0], asked
        expect(page.locator("input[name=chosen]")).to_have_count(w.pool_after_start)

        # The expert scores one of them, in their own session.
        expert = j.new_page()
        sign_in(expert, "expert")
        expert.goto("/nominations/review/score")
        expert.locator(f"a[href='/nominations/review/score/{star.id}']").first.click()
        expect(expert.locator("main h1")).to_contain_text(star.name)
        expect(expert.locator("main")).not_to_contain_text("身份证")
        for i in range(6):
            expert.fill(f"[name=score_{i}]", CRITERIA_SCORE)
        expert.fill("[name=comment_0]", "办学理念清晰，成效显著。")
        j.shot("expert-scoring", expert)
        expert.get_by_role("button", name="保存评分", exact=True).click()
        expect(flash(expert, "success", f"已保存对 {star.name} 的评分")).to_be_visible()
        expert.context.close()

        # The ranking now has the scored nominee first; the top `quota` rows become 拟录取.
        page.reload()
        rows = page.locator("form tbody tr")
        expect(rows.first).to_contain_text(star.id)
        expect(rows.first).to_contain_text(f"{float(CRITERIA_SCORE):.2f}")
        for i in range(w.pool_after_start):
            box = rows.nth(i).locator("input[name=chosen]")
            box.set_checked(i < w.quota)
        j.shot("review-ranking")
        asked = accept_next_dialog(page)
        page.get_by_role("button", name="确定拟录取名单", exact=True).click()
        expect(flash(page, "success", f"拟录取名单：{w.quota} 人")).to_be_visible()
        assert asked and "拟录取" in asked[0], asked
        expect(page.locator("input[name=chosen]:checked")).to_have_count(w.quota)
        j.shot("review-shortlisted")

        # -- 2. publicity: open a period entered after the fact ------------------------------
        page.goto("/nominations/publicity/")
        page.locator("tbody tr", has_text=w.cohort_name).get_by_role("link", name="管理").click()
        expect(page).to_have_url(re.compile(rf"/nominations/publicity/{w.cohort}$"))
        expect(page.locator("main")).to_contain_text(f"拟录取，待公示（{w.quota} 人）")
        page.get_by_role("link", name="开始公示", exact=True).click()
        period_start = w.today - dt.timedelta(days=20)
        period_end = w.today - dt.timedelta(days=10)
        page.fill("input[name=publicity_start]", period_start.isoformat())
        page.fill("input[name=publicity_end]", period_end.isoformat())
        j.shot("publicity-open")
        page.get_by_role("button", name="开始公示", exact=True).click()
        expect(page).to_have_url(re.compile(rf"/nominations/publicity/{w.cohort}$"))
        expect(flash(page, "success", f"已开始公示：{w.quota} 名拟录取人选")).to_be_visible()
        expect(page.locator("main")).to_contain_text(
            f"公示期：{cn_date(period_start)} 至 {cn_date(period_end)}（已结束）"
        )

        # The public page, signed out: names, schools and 区县 only.
        visitor = j.new_page()
        visitor.goto(f"/nominations/publicity/{w.cohort}/public")
        expect(visitor.locator("main")).to_contain_text(star.name)
        j.shot("publicity-public", visitor)
        visitor.context.close()

        # An objection against the scored nominee, then its check: 异议不成立.
        page.select_option("select[name=nomination]", star.id)
        page.fill("input[name=received_on]", (w.today - dt.timedelta(days=15)).isoformat())
        page.fill("textarea[name=content]", OBJECTION)
        page.get_by_role("button", name="登记异议", exact=True).click()
        expect(flash(page, "success", f"已登记对{star.name}的异议")).to_be_visible()
        finalise = page.get_by_role("button", name="确定录取名单", exact=True)
        expect(finalise).to_have_count(0)  # a pending objection blocks the admission
        expect(page.locator(".flash--warning", has_text="异议待核查")).to_be_visible()
        objection = page.locator("article.card", has_text=OBJECTION)
        objection.locator("select[name=status]").select_option("异议不成立")
        objection.locator("textarea[name=resolution]").fill(RESOLUTION)
        j.shot("publicity-objection")
        objection.get_by_role("button", name="记录核查结论", exact=True).click()
        expect(flash(page, "success", "已记录核查结论：异议不成立")).to_be_visible()
        expect(page.locator("article.card", has_text=OBJECTION)).to_contain_text(RESOLUTION)

        # -- 3. finalise: admission into the roster ------------------------------------------
        admitted = w.quota + w.already_public
        expect(page.locator("main")).to_contain_text(f"录取 {admitted} 人")
        j.shot("finalise-plan")
        asked = accept_next_dialog(page)
        finalise.click()
        expect(
            flash(page, "success", f"已确定“{w.cohort_name}”的录取名单：录取 {admitted} 人")
        ).to_be_visible()
        assert asked and "录取名单" in asked[0], asked
        expect(page.locator("main")).to_contain_text("录取名单已经确定")
        j.shot("finalised")

        # -- 4. attendance: the new trainee on the grid of a held session ---------------------
        page.goto(f"/curriculum/sessions?cohort={w.cohort}")
        page.locator(f"tr#{w.session}").get_by_role("link", name="考勤", exact=True).click()
        expect(page).to_have_url(re.compile(rf"/curriculum/sessions/{w.session}/attendance$"))
        line = page.locator("#attendance-grid tbody tr", has_text=star.name)
        expect(line).to_contain_text("未登记")
        attended = w.session_hours - Decimal("0.5")
        line.locator("input[type=radio][value=迟到早退]").check()
        line.locator("input[name^=hours-]").fill(f"{attended.normalize():f}")
        j.shot("attendance-grid")
        page.get_by_role("button", name="保存考勤", exact=True).click()
        expect(flash(page, "success", "名学员的考勤")).to_be_visible()
        line = page.locator("#attendance-grid tbody tr", has_text=star.name)
        expect(line.locator("input[type=radio][value=迟到早退]")).to_be_checked()
        expect(line.locator("input[name^=hours-]")).to_have_value(f"{attended.normalize():f}")
        expect(line).not_to_contain_text("未登记")
        j.shot("attendance-saved")

        # -- 5. certificate: 合格, batch 结业, issue, print page, public check ------------------
        page.goto(f"/completion/assessment?cohort={w.ready_cohort}")
        expect(current).to_have_text(["结业考核"])  # not 结业证书 (/completion/) as well
        page.get_by_role("link", name=w.ready.name, exact=True).click()
        expect(page).to_have_url(re.compile(rf"/completion/assessment/{w.ready.id}$"))
        expect(page.locator("main .badge--ok")).not_to_have_count(0)
        expect(page.locator("main .badge--error")).to_have_count(0)  # the checklist is met
        page.select_option("select[name=decision]", "合格")
        page.fill("textarea[name=plan_review]", PLAN_REVIEW)
        page.fill("textarea[name=note]", "综合考核合格，准予结业。")
        j.shot("assessment")
        page.get_by_role("button", name="保存结论", exact=True).click()
        expect(flash(page, "success", "已记录考核结论：合格")).to_be_visible()

        page.goto(f"/completion/assessment?cohort={w.ready_cohort}")
        batch = page.get_by_role("button", name=f"考核合格者批量结业（{w.batch} 人）")
        asked = accept_next_dialog(page)
        batch.click()
        expect(flash(page, "success", f"{w.batch} 名学员已改为“结业”")).to_be_visible()
        assert asked and "结业" in asked[0], asked
        expect(page.locator("tbody tr", has_text=w.ready.name)).to_contain_text("结业")
        j.shot("graduated")

        page.goto("/completion/")
        pending = page.locator("tbody tr", has_text=w.ready.id)
        expect(pending.get_by_role("button", name="颁发证书")).to_be_visible()
        j.shot("certificates-pending")
        pending.get_by_role("button", name="颁发证书").click()
        expect(page).to_have_url(re.compile(r"/completion/certificates/CT\d{4}-\d{4}$"))
        issued = flash(page, "success", "已颁发证书")
        expect(issued).to_contain_text(re.compile(rf"MXZ-{w.today.year}-\d-\d{{3}}"))
        sheet = page.locator("article.cert-sheet")
        expect(sheet.locator(".cert-sheet__name")).to_have_text(w.ready.name)
        expect(page.get_by_role("button", name="打印", exact=True)).to_be_visible()
        j.shot("certificate-print-page")
        verify_line = sheet.locator(".cert-sheet__verify").inner_text()
        code = re.search(r"核验码：\s*(\S+)", verify_line)
        assert code, verify_line

        checker = j.new_page()
        checker.goto("/completion/verify")
        checker.fill("input[name=code]", code.group(1).lower())  # not case-sensitive
        checker.get_by_role("button", name="核验", exact=True).click()
        result = checker.locator(".verify-result")
        expect(result).to_contain_text("证书有效")
        expect(result).to_contain_text(w.ready.name)
        expect(checker.locator("input[name=code]")).to_have_value("")  # never echoed back
        j.shot("certificate-verified", checker)
