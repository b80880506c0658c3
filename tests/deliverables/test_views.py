"""The deliverables pages over the demo world: uploads with 字数, attacks refused, the review
cycle with every version kept, plans with sign-off, research checks, widgets and sections."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from mingxiao import notifications
from mingxiao.auth import User
from tests._demo import ROLE_EMAILS, World
from tests.conftest import csrf_token
from tests.deliverables._files import blank_pdf, docx, para, run, text_box, zip_bomb_docx

pytest_plugins = ["tests._demo"]


def own_trainee(world: World) -> str:
    return world.samples.records["trainees"]["trainee"]


def deliverables_of(world: World, trainee: str) -> list[Any]:
    return sorted(world.db.table("deliverables").where(trainee=trainee), key=lambda r: r.id)


def stored_uploads(world: World) -> set[str]:
    folder = Path(world.app.config["UPLOAD_FOLDER"])
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def upload(client: FlaskClient, data: bytes, filename: str, **fields: Any) -> Any:
    page = client.get("/deliverables/new")
    form = {
        "kind": "研修报告",
        "title": "海外研修报告（测试）",
        **fields,
        "csrf_token": csrf_token(page.data),
        "file_ref": (io.BytesIO(data), filename),
    }
    return client.post("/deliverables/new", data=form, content_type="multipart/form-data")


def assign_to_mentor(world: World, trainee: str) -> None:
    """Give the trainee account's trainee a current assignment to the first mentor."""
    table = world.db.table("mentor_assignments")
    users = {r["email"]: r for r in world.db.table("users").all()}
    template = table.where(mentor=users[ROLE_EMAILS["mentor"]]["mentor"])[0]
    keep = {k: v for k, v in template.items() if k in table.schema.keys}
    for k in ("id", "created_at", "updated_at", "voided"):
        keep.pop(k, None)
    today = world.db.today()
    table.insert(
        {
            **keep,
            "trainee": trainee,
            "start_date": today.replace(year=today.year - 1),
            "end_date": None,
        }
    )


# -- upload and 字数 -------------------------------------------------------------------------


def test_trainee_upload_counts_characters_and_waits_for_review(world: World):
    client = world.client("trainee")
    data = docx(
        para(run("研修收获：学校治理")), para(run("Leadership 2026")), para(text_box("文本框"))
    )
    response = upload(client, data, "研修报告.docx")
    assert response.status_code == 302
    rec = deliverables_of(world, own_trainee(world))[-1]
    assert (rec["title"], rec["char_count"], rec["version"], rec["review_status"]) == (
        "海外研修报告（测试）",
        9 + 2 + 3,
        1,
        "待审阅",
    )
    assert rec["count_method"].startswith("系统自动统计")
    assert rec["file_ref"] in stored_uploads(world)


def test_detail_page_explains_the_count_and_the_threshold(world: World):
    client = world.client("trainee")
    upload(client, docx(para(run("短短的报告"))), "short.docx")
    rec = deliverables_of(world, own_trainee(world))[-1]
    html = client.get(f"/deliverables/{rec.id}").get_data(as_text=True)
    assert "每个汉字和中文标点各计 1" in html
    assert "少于 2,000 字的要求" in html


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (zip_bomb_docx(), "bomb.docx", "疑似压缩炸弹"),
        (b"MZ\x90\x00 an executable", "report.exe", "不支持“.exe”类型的文件"),
        (b"plain words, not a PDF", "report.pdf", "文件内容与扩展名“.pdf”不符"),
    ],
    ids=["zip-bomb", "wrong-extension", "wrong-magic-bytes"],
)
def test_hostile_uploads_are_refused_with_a_clear_message(
    world: World, data: bytes, filename: str, message: str
):
    before = len(deliverables_of(world, own_trainee(world)))
    response = upload(world.client("trainee"), data, filename)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert len(deliverables_of(world, own_trainee(world))) == before
    assert not [n for n in stored_uploads(world) if n.startswith(".upload-")]


def test_oversize_upload_is_refused(world: World):
    world.app.config["UPLOAD_MAX_BYTES"] = 1024
    before = len(deliverables_of(world, own_trainee(world)))
    response = upload(world.client("trainee"), "研修".encode() * 1000, "big.txt")
    assert "文件超过 1 KB 的上限" in response.get_data(as_text=True)
    assert len(deliverables_of(world, own_trainee(world))) == before


def test_a_scan_without_text_needs_a_typed_count_with_a_reason(world: World):
    client = world.client("trainee")
    before = len(deliverables_of(world, own_trainee(world)))
    refused = upload(client, blank_pdf(), "scan.pdf")
    assert "没有可以提取的文字" in refused.get_data(as_text=True)
    no_reason = upload(client, blank_pdf(), "scan.pdf", char_count="2500")
    assert "请说明原因" in no_reason.get_data(as_text=True)
    assert len(deliverables_of(world, own_trainee(world))) == before
    accepted = upload(
        client, blank_pdf(), "scan.pdf", char_count="2500", manual_count_reason="扫描件，按原稿统计"
    )
    assert accepted.status_code == 302
    rec = deliverables_of(world, own_trainee(world))[-1]
    assert (rec["char_count"], rec["count_method"], rec["manual_count_reason"]) == (
        2500,
        "人工填报",
        "扫描件，按原稿统计",
    )


def test_the_same_title_cannot_be_uploaded_twice(world: World):
    client = world.client("trainee")
    assert upload(client, "研修报告正文".encode(), "a.txt").status_code == 302
    again = upload(client, "研修报告正文".encode(), "a.txt")
    assert "已有同名的" in again.get_data(as_text=True)


# -- review cycle ----------------------------------------------------------------------------


def review(client: FlaskClient, rid: str, **data: str) -> Any:
    page = client.get(f"/deliverables/{rid}")
    return client.post(
        f"/deliverables/{rid}/review", data={**data, "csrf_token": csrf_token(page.data)}
    )


def test_return_pass_cycle_keeps_every_version(world: World):
    trainee_id = own_trainee(world)
    assign_to_mentor(world, trainee_id)
    trainee, mentor = world.client("trainee"), world.client("mentor")
    upload(trainee, "研修报告初稿".encode(), "v1.txt")
    first = deliverables_of(world, trainee_id)[-1]

    review(mentor, first.id, review_status="已退回", review_comment="")
    assert world.db.table("deliverables").get(first.id)["review_status"] == "待审阅"
    review(mentor, first.id, review_status="已退回", review_comment="请补充研修反思。")
    assert world.db.table("deliverables").get(first.id)["review_status"] == "已退回"

    page = trainee.get(f"/deliverables/{first.id}/resubmit")
    assert "请补充研修反思。" in page.get_data(as_text=True)
    response = trainee.post(
        f"/deliverables/{first.id}/resubmit",
        data={
            "csrf_token": csrf_token(page.data),
            "file_ref": (io.BytesIO("研修报告第二稿，补充了反思".encode()), "v2.txt"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    rows = [r for r in deliverables_of(world, trainee_id) if r["title"] == first["title"]]
    assert [(r["version"], r["review_status"]) for r in rows] == [(1, "已退回"), (2, "待审阅")]
    assert rows[0]["file_ref"] != rows[1]["file_ref"]
    assert {rows[0]["file_ref"], rows[1]["file_ref"]} <= stored_uploads(world)

    told = notifications.for_user(world.app, user_of(world, "trainee"))
    assert [n.link for n in told if n.kind == "deliverables.returned"] == [
        f"/deliverables/{first.id}"
    ]

    review(mentor, rows[1].id, review_status="已通过")
    assert world.db.table("deliverables").get(rows[1].id)["review_status"] == "已通过"
    assert world.db.table("deliverables").get(first.id)["review_comment"] == "请补充研修反思。"


def test_an_old_version_cannot_be_resubmitted_again(world: World):
    rid = world.samples.extra["deliverables"]["pending:trainee"]
    response = world.client("trainee").get(f"/deliverables/{rid}/resubmit")
    assert response.status_code == 302  # pending: nothing to resubmit, back to its page


def test_mentor_sees_what_waits_for_review_and_the_second_mentor_does_not(world: World):
    rid = world.samples.extra["deliverables"]["pending:mentor"]
    title = world.db.table("deliverables").get(rid)["title"]
    assert "等待您审阅" in world.client("mentor").get("/").get_data(as_text=True)
    assert title in world.client("mentor").get("/deliverables/").get_data(as_text=True)
    assert title not in world.client("mentor2").get("/deliverables/").get_data(as_text=True)


def test_trainee_sees_deliverables_progress_on_the_dashboard(world: World):
    html = world.client("trainee").get("/").get_data(as_text=True)
    assert "我的结业作业" in html and "学习考察日志" in html


# -- plan ------------------------------------------------------------------------------------


def post_plan(client: FlaskClient, trainee_id: str, **values: str) -> Any:
    url = f"/deliverables/plan/{trainee_id}/edit"
    page = client.get(url)
    return client.post(url, data={**values, "csrf_token": csrf_token(page.data)})


def test_changing_goals_of_a_signed_plan_withdraws_the_sign_off(world: World):
    trainee_id = own_trainee(world)
    plan = world.db.table("development_plans").where(trainee=trainee_id)[0]
    assert plan["mentor_signoff"] is True
    same = {k: plan.get(k) or "" for k in ("goals", "milestones", "self_assessment")}
    post_plan(world.client("trainee"), trainee_id, **same, progress_notes="第三学期课题已结题。")
    assert world.db.table("development_plans").get(plan.id)["mentor_signoff"] is True
    post_plan(world.client("trainee"), trainee_id, **{**same, "goals": "新的发展目标"})
    changed = world.db.table("development_plans").get(plan.id)
    assert changed["goals"] == "新的发展目标" and changed["mentor_signoff"] is False


def test_assigned_mentor_signs_off_a_plan(world: World):
    trainee_id = world.samples.extra["deliverables"]["trainee_of"]["mentor"]
    client = world.client("mentor")
    page = client.get(f"/deliverables/plan/{trainee_id}")
    client.post(
        f"/deliverables/plan/{trainee_id}/signoff", data={"csrf_token": csrf_token(page.data)}
    )
    plan = world.db.table("development_plans").where(trainee=trainee_id)[0]
    assert plan["mentor_signoff"] is True and plan["signed_by"] == ROLE_EMAILS["mentor"]


# -- research and talks ----------------------------------------------------------------------


def test_a_district_level_project_is_shown_as_not_counting(world: World):
    client = world.client("trainee")
    url = "/deliverables/research_projects/new"
    page = client.get(url)
    client.post(
        url,
        data={
            "title": "区级小课题",
            "level": "区县级",
            "status": "研究中",
            "csrf_token": csrf_token(page.data),
        },
    )
    rows = world.db.table("research_projects").where(trainee=own_trainee(world), title="区级小课题")
    assert rows and rows[0]["level"] == "区县级"
    html = client.get(f"/deliverables/achievements/{own_trainee(world)}").get_data(as_text=True)
    assert "不计入" in html


# -- the profile-page section hook -----------------------------------------------------------


def user_of(world: World, role: str) -> User:
    rec = {r["email"]: r for r in world.db.table("users").all()}[ROLE_EMAILS[role]]
    return User.from_record(rec, 1)


@pytest.mark.parametrize(
    ("role", "shown"), [("mentor", True), ("mentor2", False), ("district2", False)]
)
def test_trainee_section_follows_who_may_see_the_trainee(world: World, role: str, shown: bool):
    trainee_id = world.samples.extra["deliverables"]["trainee_of"]["mentor"]
    with world.app.test_request_context():
        trainee = world.db.table("trainees").get(trainee_id)
        hook = world.app.extensions["mingxiao.plugins"].hook
        sections = [
            w
            for ws in hook.trainee_sections(trainee=trainee, user=user_of(world, role))
            for w in ws
        ]
    titles = [str(w.title) for w in sections]
    assert ("结业作业" in titles) is shown


def test_the_trainee_profile_page_shows_the_deliverables_section(world: World):
    trainee_id = world.samples.extra["deliverables"]["trainee_of"]["mentor"]
    html = world.client("mentor").get(f"/trainees/{trainee_id}").get_data(as_text=True)
    assert "学习考察日志" in html
    assert f"/deliverables/trainee/{trainee_id}" in html


def test_checklist_lines_for_a_complete_and_an_incomplete_trainee(world: World):
    from blueprints.deliverables.checklist import trainee_requirements

    fresh = world.samples.extra["deliverables"]["trainee_of"]["mentor"]
    with world.app.test_request_context():
        complete = trainee_requirements(own_trainee(world))  # the demo's graduate (结业)
        incomplete = trainee_requirements(fresh)
    keys = [line.key for line in complete]
    assert keys[:5] == [
        f"deliverable:{k}"
        for k in ("学习考察日志", "课题结题报告", "研修报告", "交流报告", "论文专著")
    ]
    assert keys[5:] == ["research", "presentations", "plan"]
    assert [line.key for line in complete if not line.met] == []
    assert [line.key for line in incomplete if line.met] == []


# -- after 结业 --------------------------------------------------------------------------------

ARCHIVED = "已结业：培养档案已归档，学员本人不能再修改；如需更正，请联系管理员。"


def test_after_graduation_the_trainee_can_no_longer_change_what_feeds_the_checklist(
    world: World,
):
    """Regression: a 结业 trainee could still edit the plan, which withdrew the mentor's
    sign-off and turned the 一人一方案 line of their checklist back to 未达到."""
    trainee_id = own_trainee(world)
    plans = world.db.table("development_plans")
    plan = plans.where(trainee=trainee_id)[0]
    assert plan["mentor_signoff"] is True
    world.db.table("trainees").update(trainee_id, {"status": "结业"}, user=ROLE_EMAILS["admin"])
    client = world.client("trainee")

    html = client.get(f"/deliverables/plan/{trainee_id}").get_data(as_text=True)
    assert ARCHIVED in html and f"/deliverables/plan/{trainee_id}/edit" not in html
    assert plan["goals"] in html  # still readable
    edit = client.get(f"/deliverables/plan/{trainee_id}/edit", follow_redirects=True)
    assert ARCHIVED in edit.get_data(as_text=True) and 'name="goals"' not in edit.get_data(
        as_text=True
    )
    token = csrf_token(client.get(f"/deliverables/plan/{trainee_id}").data)
    refused = client.post(
        f"/deliverables/plan/{trainee_id}/edit",
        data={"goals": "结业后改的目标", "milestones": "", "csrf_token": token},
        follow_redirects=True,
    )
    assert ARCHIVED in refused.get_data(as_text=True)
    after = plans.get(plan.id)
    assert after["goals"] == plan["goals"] and after["mentor_signoff"] is True

    # the other records the checklist reads: deliverables, research, forum talks
    page = client.get("/deliverables/").get_data(as_text=True)
    assert ARCHIVED in page and "/deliverables/new" not in page
    before = len(deliverables_of(world, trainee_id))
    response = client.post(
        "/deliverables/new",
        data={"kind": "研修报告", "title": "结业后补交", "csrf_token": token},
        follow_redirects=True,
    )
    assert ARCHIVED in response.get_data(as_text=True)
    assert len(deliverables_of(world, trainee_id)) == before
    talks = world.db.table("presentations")
    count = len(talks.where(trainee=trainee_id))
    response = client.post(
        "/deliverables/presentations/new",
        data={"forum": "结业后的论坛", "csrf_token": token},
        follow_redirects=True,
    )
    assert ARCHIVED in response.get_data(as_text=True)
    assert len(talks.where(trainee=trainee_id)) == count
    html = client.get(f"/deliverables/achievements/{trainee_id}").get_data(as_text=True)
    assert ARCHIVED in html and "/edit" not in html and "/new" not in html

    with world.app.test_request_context():  # the checklist line stays 达到
        from blueprints.completion import assessment

        trainee = world.db.table("trainees").get(trainee_id)
        [line] = [x for x in assessment.checklist(world.db, trainee).lines if x.key == "plan"]
    assert line.met is True


def _field_error(html: str, field_id: str) -> str:
    """The error shown under the form field ``field_id`` ("" if none)."""
    marker = f'<p class="field__error" id="{field_id}-error">'
    return html.split(marker, 1)[1].split("</p>", 1)[0] if marker in html else ""


def test_a_return_without_a_comment_shows_the_form_again_with_the_inputs_kept(world: World):
    """Regression: the page redirected, losing the mentor's choice and typed text."""
    rid = world.samples.extra["deliverables"]["pending:mentor"]
    mentor = world.client("mentor")

    response = review(mentor, rid, review_status="已退回", review_comment="  ")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert _field_error(html, "review_comment") == "退回时请写明需要修改的地方。"
    assert re.search(
        r'<input[^>]*checked[^>]*value="已退回"|<input[^>]*value="已退回"[^>]*checked', html
    )

    typed = "请补充第三部分的案例。"
    response = review(mentor, rid, review_comment=typed)  # no decision chosen
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and _field_error(html, "review_status")
    assert typed in html.split('id="review_comment"', 1)[1].split("</textarea>", 1)[0]

    long_text = "意见" * 1001  # longer than the 2,000 characters a comment may have
    response = review(mentor, rid, review_status="已退回", review_comment=long_text)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and _field_error(html, "review_comment")
    assert long_text in html
    assert world.db.table("deliverables").get(rid)["review_status"] == "待审阅"

    response = review(mentor, rid, review_status="已退回", review_comment=typed)
    assert response.status_code == 302
    assert world.db.table("deliverables").get(rid)["review_comment"] == typed
