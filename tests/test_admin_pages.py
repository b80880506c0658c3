"""The admin pages end to end, through the web client with CSRF, on a copy of the demo world.

Health lists a cell broken by hand with its address; sync shows pending and parked operations;
a conflict shows both values and "mine" reaches the workbook after a sync; the stale-copy
incident's buttons re-apply or dismiss; the audit trail filters by record and by user and shows
direct sheet edits beside web edits; backups are made, listed, downloaded and restored (only
with the box ticked, keeping the replaced workbook as a backup); /healthz is JSON without
personal data.
"""

from __future__ import annotations

import hashlib
import html as htmllib
import json
import re
from typing import Any

from tests._demo import ROLE_EMAILS, World, edit_cell, read_row
from tests.conftest import csrf_token

pytest_plugins = ["tests._demo"]


def page(world: World, url: str, role: str = "admin") -> str:
    response = world.client(role).get(url)
    assert response.status_code == 200, f"GET {url}: {response.status_code}"
    return htmllib.unescape(response.get_data(as_text=True))


def press(world: World, page_url: str, action: str, data: dict[str, Any] | None = None) -> str:
    """Submit a form of ``page_url`` whose action is ``action`` (it must be on the page), as the
    admin, with the page's CSRF token; returns the page the redirect leads to."""
    client = world.client("admin")
    got = client.get(page_url).get_data(as_text=True)
    assert f'action="{action}"' in got or action == page_url, f"no form posting to {action}"
    response = client.post(action, data={**(data or {}), "csrf_token": csrf_token(got)})
    assert response.status_code == 302, f"POST {action}: {response.status_code}"
    return page(world, response.headers["Location"])


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- health ----------------------------------------------------------------------------------


def test_health_lists_a_hand_broken_cell_with_its_address(world: World):
    assert "没有发现问题" in page(world, "/admin/health")
    nomination = world.samples.records["nominations"]["district"]
    address = edit_cell(world.workbook, "人选推荐", nomination, "出生日期", "1970年13月")
    html = page(world, "/admin/health")
    assert f"<code>{address}</code>" in html
    assert "“出生日期”应为日期" in html and "1970年13月" in html  # what is wrong
    assert "请把单元格格式设为日期" in html  # and how to fix it
    assert "共 1 个问题" in html


# -- sync, conflicts, incidents ----------------------------------------------------------------


def test_sync_shows_pending_and_parked_operations(world: World):
    s = world.samples
    pending = world.db.journal.op(s.pending_seq)
    html = page(world, "/admin/sync")
    assert f"<td>{s.pending_seq}</td>" in html and f"<code>{pending.record_id}</code>" in html
    assert ROLE_EMAILS["mentor"] in html  # who made the pending change
    for conflict in s.conflicts.values():
        assert f'href="/admin/conflicts/{conflict.seq}"' in html
        assert f"<code>{conflict.record_id}</code>" in html
    after = press(world, "/admin/sync", "/admin/sync")
    assert "已写入 1 项修改" in after and "没有待同步的修改" in after
    assert read_row(world.workbook, "导师指导记录", pending.record_id) is not None


def test_conflict_shows_both_values_and_mine_reaches_the_workbook(world: World):
    c = world.samples.conflicts["district"]
    url = f"/admin/conflicts/{c.seq}"
    html = page(world, url)
    for value in (c.base, c.theirs, c.mine):
        assert value in html
    assert (
        'name="choice_school" value="theirs" checked' in html
    )  # nothing is overwritten by default
    after = press(world, url, url, {"choice_school": "mine"})
    assert "冲突已解决" in after and f'href="{url}"' not in after
    assert world.client("admin").get(url).status_code == 404  # resolved: no longer parked
    assert (
        read_row(world.workbook, "人选推荐", c.record_id)["所在学校"] == c.theirs
    )  # not yet synced
    press(world, "/admin/sync", "/admin/sync")
    assert read_row(world.workbook, "人选推荐", c.record_id)["所在学校"] == c.mine


def test_conflict_resolved_with_theirs_keeps_the_sheet_value(world: World):
    c = world.samples.conflicts["mentor"]
    url = f"/admin/conflicts/{c.seq}"
    press(world, url, url, {"choice_topic": "theirs"})
    press(world, "/admin/sync", "/admin/sync")
    assert read_row(world.workbook, "导师指导记录", c.record_id)["指导主题"] == c.theirs


def test_the_author_resolves_their_own_conflict(world: World):
    c = world.samples.conflicts["mentor"]
    client = world.client("mentor")
    html = client.get(f"/admin/conflicts/{c.seq}").get_data(as_text=True)
    assert c.mine in html
    response = client.post(
        f"/admin/conflicts/{c.seq}", data={"choice_topic": "mine", "csrf_token": csrf_token(html)}
    )
    assert response.status_code == 302 and world.db.journal.op(c.seq).status == "resolved"


def incident_section(html: str) -> str:
    start = html.find("需要确认")
    return html[start : html.find("</section>", start)] if start >= 0 else ""


def test_stale_copy_incident_is_shown_and_reapplied(world: World):
    s = world.samples
    html = page(world, "/admin/sync")
    section = incident_section(html)
    assert "可能有人保存了旧副本" in section
    for _sheet, rid in s.incident_rows:
        assert f"<code>{rid}</code>" in section
        assert read_row(world.workbook, "导师指导记录", rid) is None  # wiped by the stale copy
    after = press(world, "/admin/sync", f"/admin/incidents/{s.incident}/reapply")
    assert "已从日志重新排队 2 项修改" in after and not incident_section(after)
    press(world, "/admin/sync", "/admin/sync")
    for _sheet, rid in s.incident_rows:
        assert read_row(world.workbook, "导师指导记录", rid) is not None


def test_stale_copy_incident_can_be_dismissed(world: World):
    s = world.samples
    pending_before = len(world.db.pending())
    after = press(world, "/admin/sync", f"/admin/incidents/{s.incident}/dismiss")
    assert "已忽略该提醒" in after and not incident_section(after)
    assert world.db.incidents("dismissed")[0]["resolved_by"] == ROLE_EMAILS["admin"]
    assert len(world.db.pending()) == pending_before  # nothing re-queued


def test_only_an_open_incident_can_be_dismissed_or_reapplied(world: World):
    client = world.client("admin")
    token = world.token(client)
    for action in ("dismiss", "reapply"):
        response = client.post(f"/admin/incidents/9999/{action}", data={"csrf_token": token})
        assert response.status_code == 404, action  # not "已忽略该提醒" for nothing
    url = f"/admin/incidents/{world.samples.incident}"
    assert client.post(url + "/dismiss", data={"csrf_token": token}).status_code == 302
    for action in ("dismiss", "reapply"):
        response = client.post(f"{url}/{action}", data={"csrf_token": token})
        assert response.status_code == 404, f"{action} after dismissing"


def test_an_unknown_incident_action_is_refused(world: World):
    client = world.client("admin")
    url = f"/admin/incidents/{world.samples.incident}/delete"
    response = client.post(url, data={"csrf_token": world.token(client)})
    assert response.status_code == 400 and world.db.incidents()  # still open


# -- audit -----------------------------------------------------------------------------------


def audit_rows(html: str) -> list[str]:
    body = html[html.find("<tbody>") : html.find("</tbody>")]
    return re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)


def test_audit_shows_direct_sheet_edits_beside_web_edits_and_filters(world: World):
    s = world.samples
    c = s.conflicts["district"]
    # A web edit (the admin resolves the conflict with the form's value) ...
    press(
        world, f"/admin/conflicts/{c.seq}", f"/admin/conflicts/{c.seq}", {"choice_school": "mine"}
    )
    press(world, "/admin/sync", "/admin/sync")
    # ... and a direct edit of the same record in the workbook, seen at the next sync.
    edit_cell(world.workbook, "人选推荐", c.record_id, "推荐单位", "直接在表格里改的单位")
    press(world, "/admin/sync", "/admin/sync")

    rows = audit_rows(page(world, f"/admin/audit?record_id={c.record_id}"))
    assert rows and all(c.record_id in r for r in rows)
    web = [r for r in rows if "<td>网页</td>" in r and c.mine in r]
    sheet = [r for r in rows if "<td>直接编辑表格</td>" in r and "直接在表格里改的单位" in r]
    assert web and ROLE_EMAILS["admin"] in web[0] and "所在学校" in web[0]
    assert sheet and "推荐单位" in sheet[0]
    other = s.records["nominations"]["district2"]
    assert other not in "".join(rows)

    mentor = ROLE_EMAILS["mentor"]
    account = next(u.id for u in world.db.table("users").all() if u["email"] == mentor)
    by_user = audit_rows(page(world, f"/admin/audit?account={account}"))
    pending = world.db.journal.op(s.pending_seq)
    assert by_user and all(f"<td>{mentor}</td>" in r for r in by_user)
    assert any(pending.record_id in r for r in by_user)

    only_sheet = audit_rows(page(world, f"/admin/audit?record_id={c.record_id}&source=sheet"))
    assert only_sheet and all("<td>直接编辑表格</td>" in r for r in only_sheet)


# -- backups ---------------------------------------------------------------------------------


def backup_names(html: str) -> list[str]:
    return re.findall(r"<code>(workbook-[0-9-]+(?:-before-restore)?\.xlsx)</code>", html)


def test_backups_create_list_and_download(world: World):
    listed = backup_names(page(world, "/admin/backups"))
    assert world.samples.backup in listed  # with the hourly one made before the first write
    assert listed == [p.name for p in world.db.list_backups()]
    after = press(world, "/admin/backups", "/admin/backups")
    assert "已备份" in after
    names = backup_names(after)
    assert len(names) == len(listed) + 1 and set(listed) < set(names)
    for name in names:
        response = world.client("admin").get(f"/admin/backups/{name}")
        assert response.status_code == 200
        assert "attachment" in response.headers["Content-Disposition"]
        assert response.data == (world.db.backups_dir / name).read_bytes()


def test_restore_needs_the_box_ticked_and_keeps_the_replaced_workbook(world: World):
    name = world.samples.backup
    backup = (world.db.backups_dir / name).read_bytes()
    c = world.samples.conflicts["district"]
    edit_cell(world.workbook, "人选推荐", c.record_id, "所在学校", "恢复前的学校")
    current = world.workbook.read_bytes()
    assert sha256(current) != sha256(backup)

    refused = press(world, "/admin/backups", "/admin/backups/restore", {"name": name})
    assert "请先勾选确认框" in refused
    assert world.workbook.read_bytes() == current

    done = press(world, "/admin/backups", "/admin/backups/restore", {"name": name, "confirm": "y"})
    assert "已从备份恢复工作簿" in done
    assert world.workbook.read_bytes() == backup
    kept = [n for n in backup_names(done) if n.endswith("-before-restore.xlsx")]
    assert len(kept) == 1 and (world.db.backups_dir / kept[0]).read_bytes() == current
    assert world.db.table("nominations").get(c.record_id)["school"] == c.theirs  # the app sees it
    assert "从备份 " + name in page(world, "/admin/audit?source=system")


def test_restore_refuses_names_that_are_not_backups(world: World):
    client = world.client("admin")
    before = world.fingerprint()
    for name in ("../mingxiao.xlsx", "workbook-19990101-00.xlsx", "credentials.sqlite3"):
        response = client.post(
            "/admin/backups/restore",
            data={"name": name, "confirm": "y", "csrf_token": world.token(client)},
        )
        assert response.status_code == 404, name
    assert world.fingerprint() == before


def test_backup_download_refuses_other_files(world: World):
    client = world.client("admin")
    for name in ("..%2Fmingxiao.xlsx", "mingxiao.xlsx", "..%2Fcredentials.sqlite3"):
        assert client.get(f"/admin/backups/{name}").status_code == 404, name


# -- /healthz --------------------------------------------------------------------------------


def test_healthz_reports_status_without_personal_data(world: World):
    client = world.client("anonymous")
    response = client.get("/healthz")
    assert response.status_code == 200 and response.mimetype == "application/json"
    data = response.json
    assert {"status", "backend", "pending", "last_sync", "problems"} <= set(data)
    assert data["backend"] == "xlsx" and data["pending"] == 1 and data["problems"] == 0
    assert data["status"] == "degraded"  # two parked conflicts wait for a person
    assert data["last_sync"]

    nomination = world.samples.records["nominations"]["district"]
    edit_cell(world.workbook, "人选推荐", nomination, "出生日期", "不是日期")
    assert client.get("/healthz").json["problems"] == 1

    text = json.dumps(client.get("/healthz").json, ensure_ascii=False)
    s = world.samples
    users = world.db.table("users").all()
    personal = s.pii | s.emails | {u["name"] for u in users} | {nomination}
    assert not [p for p in personal if p in text], text
    assert not re.search(r"[\u4e00-\u9fff]", text)  # not even a cell's Chinese text
    assert all(isinstance(v, int | str | None) for v in data.values())
