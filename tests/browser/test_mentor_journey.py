"""A mentor (导师), end to end in a real browser: their trainees, then reviewing deliverables.

On a fresh demo workbook (gunicorn, two workers; see ``_journey.py``) headless Chromium plays
the first demo mentor: “我的学员” lists exactly the trainees assigned to them today (not those
of the second demo mentor, whose trainee's page is a bare 404 when typed into the address
bar); they open one trainee, go to the trainee's 结业作业 and return one waiting deliverable
(first without a comment, which the page refuses, then with one). The trainee, in a second
browser context, finds the return among their notifications, reads the comment and uploads a
new version (a .docx built here); the mentor passes that version from “待我审阅”, and passes
another deliverable directly. Nothing waits in the queue afterwards.

The demo data has the waiting deliverables; the only thing prepared through the Python API is
a login for that trainee (the demo trainee login belongs to a graduate of the first cohort).
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

from blueprints.deliverables import rules
from mingxiao.sheetdb.demo import DEMO_DOMAIN
from tests._demo import ROLE_EMAILS
from tests.browser._journey import (
    BROWSER_MARKS,
    add_login,
    demo_site,
    flash,
    journey,
    sign_in,
)
from tests.deliverables._files import docx, para, run

pytestmark = BROWSER_MARKS

COMMENT = "第三部分的案例分析还不够具体，请补充学校实践中的数据和反思后重新提交。"
REVISED = docx(para(run("修改稿：补充了学校实践中的数据和反思。" * 40)))
TRAINEE_EMAIL = f"journey.trainee@{DEMO_DOMAIN}"


@dataclass(frozen=True)
class Person:
    id: str
    name: str


@dataclass(frozen=True)
class Item:
    id: str
    title: str


@dataclass(frozen=True)
class World:
    own: list[Person]  # the first mentor's trainees today
    others: list[Person]  # the second mentor's trainees today, not the first one's
    trainee: Person  # an own trainee with two deliverables waiting for review, and a login
    returned: Item
    passed: Item


def _active(row: Any, day: dt.date) -> bool:
    start, end = row.get("start_date"), row.get("end_date")
    return not (start and day < start) and not (end and day > end)


def _prepare(app: Flask, db: Any) -> World:
    day = db.today()
    users = {u["email"]: u for u in db.table("users").all()}
    trainees = {t.id: t for t in db.table("trainees").all()}

    def current(role: str) -> set[str]:
        mentor = users[ROLE_EMAILS[role]]["mentor"]
        return {
            str(a["trainee"])
            for a in db.table("mentor_assignments").where(mentor=mentor)
            if _active(a, day)
        }

    mine, theirs = current("mentor"), current("mentor2")
    own = [Person(t, str(trainees[t]["name"])) for t in sorted(mine)]
    others = [Person(t, str(trainees[t]["name"])) for t in sorted(theirs - mine)]
    own_names = {p.name for p in own}
    others = [p for p in others if p.name not in own_names]  # a namesake proves nothing
    assert own and others, "the demo mentors lost their current trainees"

    rows = [d for d in db.table("deliverables").all() if not d.voided]
    with_login = {str(u.get("trainee")) for u in users.values() if u.get("trainee")}
    for person in own:
        if person.id in with_login:  # e.g. the demo's trainee2@: its mail goes to that login
            continue
        waiting = [
            d
            for d in rules.latest_versions([d for d in rows if d.get("trainee") == person.id])
            if d.get("review_status") == rules.PENDING
        ]
        titles = {str(d["title"]) for d in waiting}
        if len(waiting) >= 2 and len(titles) == len(waiting):
            first, second = sorted(waiting, key=lambda d: d.id)[:2]
            add_login(app, db, TRAINEE_EMAIL, name=person.name, role="trainee", trainee=person.id)
            return World(
                own,
                others,
                person,
                Item(first.id, str(first["title"])),
                Item(second.id, str(second["title"])),
            )
    raise AssertionError("no trainee of the first demo mentor has two deliverables waiting")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, World]]:
    with demo_site(tmp_path, _prepare) as (url, world):
        assert world is not None
        yield url, world


def test_mentor_sees_only_their_trainees_returns_a_deliverable_and_passes_the_new_version(
    site: tuple[str, World],
) -> None:
    url, w = site
    with journey(url, "mentor") as j:
        page = j.page
        sign_in(page, "mentor", shot=j.shot)

        # 我的学员: their own trainees, nobody else's.
        page.goto("/mentors/my")
        table = page.locator("table.my-trainees")
        expect(table.locator("tbody tr")).to_have_count(len(w.own))
        for person in w.own:
            expect(table).to_contain_text(person.name)
        for person in w.others:
            expect(table).not_to_contain_text(person.name)
        j.shot("my-trainees")

        # Another mentor's trainee, typed into the address bar: not found.
        stranger = w.others[0]
        response = page.goto(f"/deliverables/trainee/{stranger.id}")
        assert response is not None and response.status == 404, response
        expect(page.locator("main")).not_to_contain_text(stranger.name)
        j.shot("other-mentors-trainee-404")

        # One of theirs: the profile, then the trainee's deliverables.
        page.goto("/mentors/my")
        table.get_by_role("link", name=w.trainee.name, exact=True).click()
        expect(page).to_have_url(re.compile(rf"/trainees/{w.trainee.id}$"))
        expect(page.locator("main h1")).to_contain_text(w.trainee.name)
        j.shot("trainee-profile")
        page.get_by_role("link", name="查看全部结业作业").first.click()
        expect(page).to_have_url(re.compile(rf"/deliverables/trainee/{w.trainee.id}$"))
        j.shot("trainee-deliverables")

        # Return one: refused without a comment, then returned with one.
        page.get_by_role("link", name=w.returned.title, exact=True).click()
        expect(page).to_have_url(re.compile(rf"/deliverables/{w.returned.id}$"))
        expect(page.locator("main .stats")).to_contain_text(rules.PENDING)
        page.get_by_label("退回修改").check()
        page.get_by_role("button", name="提交审阅结果", exact=True).click()
        # the form comes back with the error at the comment and the choice kept
        expect(page.locator("#review_comment-error")).to_contain_text("退回时请写明需要修改的地方")
        expect(page.get_by_label("退回修改")).to_be_checked()
        j.shot("return-needs-a-comment")
        page.fill("textarea[name=review_comment]", COMMENT)
        page.get_by_role("button", name="提交审阅结果", exact=True).click()
        expect(flash(page, "success", f"已退回“{w.returned.title}”")).to_be_visible()
        expect(page.locator("main .stats")).to_contain_text(rules.RETURNED)
        expect(page.locator("section.card", has_text="审阅意见").first).to_contain_text(COMMENT)
        expect(page.get_by_role("button", name="提交审阅结果")).to_have_count(0)
        j.shot("returned")

        # The trainee: the return among their notifications, the comment, a new version.
        trainee = j.new_page()
        sign_in(trainee, "trainee", email=TRAINEE_EMAIL)
        trainee.goto("/notifications/")
        note = trainee.locator("li.notification", has_text=w.returned.title)
        expect(note).to_contain_text("被导师退回修改")
        expect(note).to_contain_text(COMMENT)
        j.shot("trainee-notified", trainee)
        note.get_by_role("button", name="查看", exact=True).click()
        expect(trainee).to_have_url(re.compile(rf"/deliverables/{w.returned.id}$"))
        trainee.get_by_role("link", name="修改后重新提交", exact=True).click()
        expect(trainee.locator(".flash--warning", has_text="导师意见")).to_contain_text(COMMENT)
        trainee.set_input_files(
            "input[name=file_ref]",
            files=[
                {"name": "修改稿.docx", "mimeType": "application/octet-stream", "buffer": REVISED}
            ],
        )
        j.shot("trainee-resubmits", trainee)
        trainee.get_by_role("button", name="提交", exact=True).click()
        expect(flash(trainee, "success", "（第 2 版）")).to_be_visible()
        expect(trainee).to_have_url(re.compile(r"/deliverables/D\d{4}-\d{4}$"))
        version2 = trainee.url.rsplit("/", 1)[-1]
        assert version2 != w.returned.id
        trainee.context.close()

        # The mentor passes the new version from the queue.
        page.goto("/deliverables/")
        queue = page.locator("section.card", has_text="待我审阅")
        queue.locator(f"a[href='/deliverables/{version2}']").click()
        expect(page.locator("main .stats")).to_contain_text(rules.PENDING)
        versions = page.locator("section.card", has_text="全部版本")
        expect(versions).to_contain_text(COMMENT)  # version 1 and its comment, kept
        page.get_by_label("通过", exact=True).check()
        page.get_by_role("button", name="提交审阅结果", exact=True).click()
        expect(flash(page, "success", f"已通过“{w.returned.title}”")).to_be_visible()
        expect(page.locator("main .stats")).to_contain_text(rules.PASSED)
        j.shot("new-version-passed")

        # And the other one directly.
        page.goto(f"/deliverables/trainee/{w.trainee.id}")
        page.get_by_role("link", name=w.passed.title, exact=True).click()
        expect(page).to_have_url(re.compile(rf"/deliverables/{w.passed.id}$"))
        page.get_by_label("通过", exact=True).check()
        page.get_by_role("button", name="提交审阅结果", exact=True).click()
        expect(flash(page, "success", f"已通过“{w.passed.title}”")).to_be_visible()
        expect(page.locator("main .stats")).to_contain_text(rules.PASSED)
        j.shot("passed")

        # Neither waits in the queue any more.
        page.goto("/deliverables/")
        queue = page.locator("section.card", has_text="待我审阅")
        expect(queue).to_be_visible()
        for item in (w.returned.id, version2, w.passed.id):
            expect(queue.locator(f"a[href='/deliverables/{item}']")).to_have_count(0)
        j.shot("review-queue")
