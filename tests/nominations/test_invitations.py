"""Fill-in invitations: issuing a link, the applicant's 推荐表 through it, single use, expiry,
withdrawal, district confinement, and the secret staying out of the workbook."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import zipfile
from typing import Any

import pytest
from openpyxl import load_workbook

from blueprints.nominations import invitations
from mingxiao.auth import EXTENSION_KEY, CredentialStore
from tests._demo import DISTRICT, DISTRICT2, ROLE_EMAILS, World, read_row
from tests.nominations._helpers import (
    cohort_id,
    form_data,
    id_number,
    insert_nomination,
    post,
    set_window,
)

pytest_plugins = ["tests._demo"]

LIST = "/nominations/invitations"
LINK_RE = re.compile(r'value="(https?://[^"]+/nominations/invite/([A-Za-z0-9_-]+))"')


def store(world: World) -> CredentialStore:
    return world.app.extensions[EXTENSION_KEY]


def invitation_rows(world: World) -> list[Any]:
    return world.db.table(invitations.SHEET).all()


def nominations_named(world: World, name: str) -> list[Any]:
    return world.db.table("nominations").where(name=name)


def issue_through_page(world: World, role: str = "district", **overrides: Any) -> str:
    """Issue a link through the list page's form; returns the raw token shown once."""
    data = {"cohort": cohort_id(world), "invitee_name": "钱学敏", "days": "14", **overrides}
    response = post(world, role, LIST, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[:2000]
    match = LINK_RE.search(html)
    assert match, "the page shows no link"
    return match.group(2)


def applicant_data(world: World, **overrides: Any) -> dict[str, str]:
    """The applicant's 推荐表 (the fields the invitation fixes are left out)."""
    data = form_data(world, **overrides)
    for key in ("cohort", "route", "recommending_unit"):
        data.pop(key, None)
    return data


def submit(world: World, token: str, **overrides: Any) -> Any:
    return post(
        world, "anonymous", f"/nominations/invite/{token}", applicant_data(world, **overrides)
    )


def issue_directly(
    world: World, *, days: int = 14, now: dt.datetime | None = None
) -> tuple[Any, str]:
    return invitations.issue(
        world.db,
        store(world),
        cohort=cohort_id(world),
        district=DISTRICT,
        invitee_name="钱学敏",
        days=days,
        created_by=ROLE_EMAILS["district"],
        now=now,
    )


# -- issuing ------------------------------------------------------------------------------------


def test_district_issues_a_link_for_its_own_district(world: World):
    set_window(world)
    before = len(invitation_rows(world))
    token = issue_through_page(world)
    rows = invitation_rows(world)
    assert len(rows) == before + 1
    row = max(rows, key=lambda r: r.id)
    assert (row["district"], row["created_by"], row["invitee_name"]) == (
        DISTRICT,
        ROLE_EMAILS["district"],
        "钱学敏",
    )
    assert store(world).invitation_token(token, invitations.PURPOSE).subject == row.id


def test_link_expires_after_the_chosen_number_of_days(world: World):
    set_window(world)
    issue_through_page(world, days="3")
    row = max(invitation_rows(world), key=lambda r: r.id)
    assert row["expires_at"] - row["created_at"] == dt.timedelta(days=3)


def test_link_is_shown_once_and_not_on_the_list(world: World):
    set_window(world)
    token = issue_through_page(world)
    html = world.client("district").get(LIST).get_data(as_text=True)
    assert "钱学敏" in html and token not in html


def test_admin_issues_a_link_for_the_district_chosen(world: World):
    set_window(world)
    issue_through_page(world, "admin", district=DISTRICT2)
    assert max(invitation_rows(world), key=lambda r: r.id)["district"] == DISTRICT2


def test_no_link_while_the_window_is_closed(world: World):
    set_window(world, open_=False)
    before = len(invitation_rows(world))
    response = post(
        world, "district", LIST, {"cohort": cohort_id(world), "invitee_name": "甲", "days": "14"}
    )
    assert response.status_code == 200 and "推荐通道未开放" in response.get_data(as_text=True)
    assert len(invitation_rows(world)) == before


@pytest.mark.parametrize("days", ["0", "31"])
def test_validity_must_be_one_to_thirty_days(world: World, days: str):
    set_window(world)
    before = len(invitation_rows(world))
    response = post(
        world, "district", LIST, {"cohort": cohort_id(world), "invitee_name": "甲", "days": days}
    )
    assert "有效期须为 1 到 30 天之间" in response.get_data(as_text=True)
    assert len(invitation_rows(world)) == before


# -- the applicant's page -----------------------------------------------------------------------


def test_applicant_submission_lands_in_the_district_queue_as_a_draft(world: World):
    set_window(world)
    token = issue_through_page(world)
    response = submit(world, token)
    assert response.status_code == 200, response.get_data(as_text=True)[:3000]
    [rec] = nominations_named(world, "钱学敏")
    assert (rec["district"], rec["cohort"], rec["status"], rec["route"]) == (
        DISTRICT,
        cohort_id(world),
        "草稿",
        "个人自主申报",
    )
    assert rec["invited_by"] == ROLE_EMAILS["district"] and rec["invited_at"] is not None
    queue = world.client("district").get("/nominations/?status=草稿").get_data(as_text=True)
    assert rec.id in queue


def test_used_invitation_records_its_nomination(world: World):
    set_window(world)
    row, token = issue_directly(world)
    submit(world, token)
    [rec] = nominations_named(world, "钱学敏")
    used = world.db.table(invitations.SHEET).get(row.id)
    assert used["nomination"] == rec.id and used["used_at"] is not None


def test_district_in_the_posted_form_is_ignored(world: World):
    set_window(world)
    _row, token = issue_directly(world)
    submit(world, token, district=DISTRICT2, route="单位推荐")
    [rec] = nominations_named(world, "钱学敏")
    assert (rec["district"], rec["route"]) == (DISTRICT, "个人自主申报")


def test_link_works_only_once(world: World):
    set_window(world)
    _row, token = issue_directly(world)
    assert submit(world, token).status_code == 200
    again = submit(world, token, name="第二个人", id_number=id_number("33010219800101003"))
    assert again.status_code == 410 and "已经使用过" in again.get_data(as_text=True)
    assert world.client("anonymous").get(f"/nominations/invite/{token}").status_code == 410
    assert nominations_named(world, "第二个人") == []


def test_store_hands_a_link_to_one_request_only(world: World):
    _row, token = issue_directly(world)
    first = store(world).use_invitation_token(token, invitations.PURPOSE)
    second = store(world).use_invitation_token(token, invitations.PURPOSE)
    assert first is not None and second is None


def test_expired_link_is_gone_and_writes_nothing(world: World):
    set_window(world)
    _row, token = issue_directly(world, days=14, now=world.db.now() - dt.timedelta(days=15))
    before = len(world.db.table("nominations").all())
    response = submit(world, token)
    assert response.status_code == 410 and "已过期" in response.get_data(as_text=True)
    assert len(world.db.table("nominations").all()) == before


def test_link_is_open_until_its_last_second(world: World):
    set_window(world)
    _row, token = issue_directly(world, days=1, now=world.db.now() - dt.timedelta(hours=23))
    assert world.client("anonymous").get(f"/nominations/invite/{token}").status_code == 200


def test_withdrawn_link_is_not_found(world: World):
    set_window(world)
    row, token = issue_directly(world)
    response = post(world, "district", f"/nominations/invitations/{row.id}/withdraw")
    assert response.status_code == 302
    page = world.client("anonymous").get(f"/nominations/invite/{token}")
    assert page.status_code == 404 and "撤回" in page.get_data(as_text=True)
    assert submit(world, token).status_code == 404
    assert nominations_named(world, "钱学敏") == []


def test_withdrawal_typed_into_the_sheet_closes_the_link(world: World):
    row, token = issue_directly(world)
    world.db.table(invitations.SHEET).update(row.id, {"withdrawn_at": world.db.now()})
    assert world.client("anonymous").get(f"/nominations/invite/{token}").status_code == 404


def test_unknown_link_is_not_found(world: World):
    response = world.client("anonymous").get("/nominations/invite/" + "x" * 43)
    assert response.status_code == 404 and "无效" in response.get_data(as_text=True)


def test_link_page_is_never_cached_nor_referred(world: World):
    _row, token = issue_directly(world)
    response = world.client("anonymous").get(f"/nominations/invite/{token}")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_applicant_errors_are_shown_at_the_field(world: World):
    set_window(world)
    _row, token = issue_directly(world)
    html = submit(world, token, position="副校长").get_data(as_text=True)
    start = html.index('id="position-error"')
    assert "正职校长" in html[start : html.index("</p>", start)]
    assert nominations_named(world, "钱学敏") == []


def test_duplicate_shown_to_the_applicant_names_no_other_record(world: World):
    set_window(world)
    twin = insert_nomination(world, district=DISTRICT2)  # the same person, entered by 西湖区
    _row, token = issue_directly(world)
    html = submit(world, token).get_data(as_text=True)
    assert "不能重复申报" in html
    assert twin not in html and DISTRICT2 not in html
    assert [r.id for r in nominations_named(world, "钱学敏")] == [twin]


def test_closed_window_keeps_the_link_but_refuses_the_submission(world: World):
    set_window(world, open_=False)
    _row, token = issue_directly(world)
    page = world.client("anonymous").get(f"/nominations/invite/{token}")
    assert page.status_code == 200 and "推荐通道未开放" in page.get_data(as_text=True)
    assert submit(world, token).status_code == 200
    assert nominations_named(world, "钱学敏") == []
    assert store(world).invitation_token(token, invitations.PURPOSE).used_at is None


# -- district confinement -----------------------------------------------------------------------


def test_second_district_does_not_see_the_invitation(world: World):
    set_window(world)
    issue_through_page(world, invitee_name="上城受邀人")
    assert "上城受邀人" not in world.client("district2").get(LIST).get_data(as_text=True)


def test_second_district_cannot_withdraw_the_invitation(world: World):
    row, token = issue_directly(world)
    response = post(world, "district2", f"/nominations/invitations/{row.id}/withdraw")
    assert response.status_code == 404
    assert world.client("anonymous").get(f"/nominations/invite/{token}").status_code == 200


# -- the secret ---------------------------------------------------------------------------------


def test_token_and_its_hash_never_reach_the_workbook(world: World):
    set_window(world)
    token = issue_through_page(world)
    submit(world, token)
    world.db.sync()
    [rec] = nominations_named(world, "钱学敏")
    assert read_row(world.workbook, "人选推荐", rec.id) is not None  # the workbook was written
    digest = hashlib.sha256(token.encode()).hexdigest()
    with zipfile.ZipFile(world.workbook) as zf:
        xml = "".join(zf.read(n).decode("utf-8", "replace") for n in zf.namelist())
    cells = " ".join(
        str(value)
        for ws in load_workbook(world.workbook, read_only=True).worksheets
        for row in ws.iter_rows(values_only=True)
        for value in row
        if value is not None
    )
    for secret in (token, digest):
        assert secret not in xml and secret not in cells


# -- the rules ----------------------------------------------------------------------------------

NOW = dt.datetime(2026, 5, 1, 12, 0)


@pytest.mark.parametrize(
    ("row", "status"),
    [
        ({"expires_at": NOW + dt.timedelta(seconds=1)}, "未使用"),
        ({"expires_at": NOW}, "已过期"),
        ({"expires_at": None}, "已过期"),
        ({"expires_at": NOW - dt.timedelta(days=1), "used_at": NOW, "nomination": "N1"}, "已使用"),
        ({"expires_at": NOW + dt.timedelta(days=1), "withdrawn_at": NOW}, "已撤回"),
    ],
)
def test_status_of_an_invitation(row: dict[str, Any], status: str):
    assert invitations.status_of(row, NOW) == status


@pytest.mark.parametrize(
    ("days", "ok"), [(1, True), (14, True), (30, True), (0, False), (31, False), (True, False)]
)
def test_validity_rule(days: Any, ok: bool):
    assert (invitations.validity_problem(days) is None) is ok


def test_only_unused_invitations_can_be_withdrawn():
    assert invitations.withdraw_problem({"expires_at": NOW + dt.timedelta(days=1)}, NOW) is None
    assert invitations.withdraw_problem({"expires_at": NOW, "used_at": NOW}, NOW) is not None
