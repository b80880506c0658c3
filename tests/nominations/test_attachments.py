"""Evidence attachments (附件): upload with the 推荐表, download confined to the record's
readers, removal while editable, and bad files refused at the field without losing the rest."""

from __future__ import annotations

import io
import os
import re
from typing import Any

import pytest

from blueprints.nominations import attachments, invitations
from mingxiao.auth import EXTENSION_KEY
from tests._demo import DISTRICT, ROLE_EMAILS, World
from tests.nominations._helpers import cohort_id, form_data, insert_nomination, post, set_window

pytest_plugins = ["tests._demo"]

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def upload(content: bytes, filename: str) -> tuple[io.BytesIO, str]:
    return io.BytesIO(content), filename


def enter(world: World, *files: tuple[io.BytesIO, str], **overrides: Any) -> Any:
    data: dict[str, Any] = form_data(world, **overrides)
    data["attachments"] = list(files)
    return post(world, "district", "/nominations/new", data)


def created(world: World, response: Any) -> Any:
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    return world.db.table("nominations").get(response.headers["Location"].rsplit("/", 1)[-1])


def field_error(html: str, key: str) -> str:
    start = html.index(f'id="{key}-error"')
    return html[start : html.index("</p>", start)]


def stored_names(rec: Any) -> list[str]:
    return attachments.parse(rec.get("attachments"))


# -- upload and download ------------------------------------------------------------------------


def test_entry_stores_the_files_and_lists_their_stored_names(world: World):
    set_window(world)
    rec = created(world, enter(world, upload(PDF, "职称证书.pdf"), upload(PNG, "荣誉.png")))
    names = stored_names(rec)
    assert len(names) == 2 and all(attachments.is_stored(n) for n in names)
    assert [n.rsplit(".", 1)[1] for n in names] == ["pdf", "png"]


def test_detail_page_lists_the_original_file_names(world: World):
    set_window(world)
    rec = created(world, enter(world, upload(PDF, "职称证书.pdf")))
    html = world.client("district").get(f"/nominations/{rec.id}").get_data(as_text=True)
    assert "职称证书.pdf" in html
    assert f"/nominations/{rec.id}/attachments/{stored_names(rec)[0]}" in html


def test_download_gives_the_file_back_as_an_attachment(world: World):
    set_window(world)
    rec = created(world, enter(world, upload(PDF, "职称证书.pdf")))
    response = world.client("district").get(
        f"/nominations/{rec.id}/attachments/{stored_names(rec)[0]}"
    )
    assert response.status_code == 200 and response.data == PDF
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment")


def test_other_district_cannot_download(world: World):
    set_window(world)
    rec = created(world, enter(world, upload(PDF, "职称证书.pdf")))
    url = f"/nominations/{rec.id}/attachments/{stored_names(rec)[0]}"
    response = world.client("district2").get(url)
    assert response.status_code == 404 and PDF not in response.data


def test_a_stored_name_opens_only_through_the_record_that_lists_it(world: World):
    set_window(world)
    rec = created(world, enter(world, upload(PDF, "职称证书.pdf")))
    other = insert_nomination(world, name="另一位校长")  # same district, no attachments
    url = f"/nominations/{other}/attachments/{stored_names(rec)[0]}"
    assert world.client("district").get(url).status_code == 404


def test_edit_adds_files_to_the_ones_already_attached(world: World):
    set_window(world)
    rec = created(world, enter(world, upload(PDF, "职称证书.pdf")))
    data: dict[str, Any] = form_data(world)
    data["attachments"] = [upload(PNG, "荣誉.png")]
    response = post(world, "district", f"/nominations/{rec.id}/edit", data)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    names = stored_names(world.db.table("nominations").get(rec.id))
    assert names[0] == stored_names(rec)[0] and len(names) == 2


def test_applicant_attaches_files_through_the_invitation(world: World):
    set_window(world)
    _row, token = invitations.issue(
        world.db,
        world.app.extensions[EXTENSION_KEY],
        cohort=cohort_id(world),
        district=DISTRICT,
        invitee_name="钱学敏",
        days=14,
        created_by=ROLE_EMAILS["district"],
    )
    data: dict[str, Any] = form_data(world)
    data["attachments"] = [upload(PDF, "推荐表扫描件.pdf")]
    response = post(world, "anonymous", f"/nominations/invite/{token}", data)
    assert response.status_code == 200
    [rec] = world.db.table("nominations").where(name="钱学敏")
    name = stored_names(rec)[0]
    download = world.client("district").get(f"/nominations/{rec.id}/attachments/{name}")
    assert download.data == PDF


# -- bad files ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "message"),
    [
        (upload(b"MZ\x90\x00 not a pdf at all", "职称证书.pdf"), "文件内容与扩展名"),
        (upload(PDF, "script.exe"), "不支持"),
    ],
    ids=["wrong-magic-bytes", "wrong-kind"],
)
def test_bad_file_is_refused_at_the_field(world: World, file: Any, message: str):
    set_window(world)
    before = len(world.db.table("nominations").all())
    response = enter(world, file, school="杭州市保留字段实验小学")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and len(world.db.table("nominations").all()) == before
    assert message in field_error(html, "attachments")
    assert 'value="杭州市保留字段实验小学"' in html  # the typed fields are kept


def test_oversized_file_is_refused_at_the_field(world: World):
    set_window(world)
    world.app.config["UPLOAD_MAX_BYTES"] = 1024
    response = enter(world, upload(PDF + b"0" * 2048, "大文件.pdf"), phone="13957100009")
    html = response.get_data(as_text=True)
    assert "超过" in field_error(html, "attachments")
    assert 'value="13957100009"' in html


def test_refused_upload_leaves_no_file_behind(world: World):
    set_window(world)
    folder = world.app.config["UPLOAD_FOLDER"]
    before = set(os.listdir(folder)) if os.path.isdir(folder) else set()
    enter(world, upload(PDF, "好的.pdf"), upload(b"not a png", "坏的.png"))
    after = set(os.listdir(folder)) if os.path.isdir(folder) else set()
    assert after == before


def test_files_chosen_in_a_form_with_other_errors_are_not_kept_and_the_page_says_so(world: World):
    set_window(world)
    html = enter(world, upload(PDF, "职称证书.pdf"), position="副校长").get_data(as_text=True)
    assert "尚未保存" in field_error(html, "attachments")


# -- removal ------------------------------------------------------------------------------------


def test_remove_takes_the_file_off_an_editable_nomination(world: World):
    set_window(world)
    rec = created(world, enter(world, upload(PDF, "a.pdf"), upload(PNG, "b.png")))
    first, second = stored_names(rec)
    response = post(world, "district", f"/nominations/{rec.id}/attachments/{first}/remove")
    assert response.status_code == 302
    assert stored_names(world.db.table("nominations").get(rec.id)) == [second]
    assert (
        world.client("district").get(f"/nominations/{rec.id}/attachments/{first}").status_code
        == 404
    )


def test_remove_is_refused_once_stamped(world: World):
    set_window(world)
    rec = created(world, enter(world, upload(PDF, "a.pdf")))
    world.db.table("nominations").update(rec.id, {"status": "已盖章"})
    post(world, "district", f"/nominations/{rec.id}/attachments/{stored_names(rec)[0]}/remove")
    assert stored_names(world.db.table("nominations").get(rec.id)) == stored_names(rec)


def test_other_district_cannot_remove(world: World):
    set_window(world)
    rec = created(world, enter(world, upload(PDF, "a.pdf")))
    url = f"/nominations/{rec.id}/attachments/{stored_names(rec)[0]}/remove"
    assert post(world, "district2", url).status_code == 404
    assert stored_names(world.db.table("nominations").get(rec.id)) == stored_names(rec)


# -- the 附件 cell ------------------------------------------------------------------------------


def test_cell_keeps_stored_names_separated_as_the_sheet_note_says():
    names = ["a" * 32 + ".pdf", "b" * 32 + ".png"]
    assert attachments.join(names) == "；".join(names)
    assert attachments.parse("F2026-00001；F2026-00002; F2026-00001") == [
        "F2026-00001",
        "F2026-00002",
    ]


def test_hand_typed_file_numbers_are_not_downloadable():
    assert not attachments.is_stored("F2026-00001")
    assert not attachments.is_stored("../" + "a" * 32 + ".pdf")


def test_too_many_files_are_refused():
    assert attachments.count_problem(["x"] * 9, 1) is None
    assert attachments.count_problem(["x"] * 9, 2) is not None


def test_files_fit_the_cell():
    existing = ["a" * 32 + ".docx"] * 10
    assert attachments.count_problem(existing[:9], 1) is None
    assert (
        len(attachments.join([f"{i:032x}.docx" for i in range(10)]) or "") <= attachments.MAX_CELL
    )


def test_page_never_shows_a_path(world: World):
    set_window(world)
    rec = created(world, enter(world, upload(PDF, "a.pdf")))
    html = world.client("district").get(f"/nominations/{rec.id}").get_data(as_text=True)
    assert not re.search(r"uploads/|instance/", html)


def test_edit_page_lists_the_files_already_attached(world: World):
    set_window(world)
    rec = created(world, enter(world, upload(PDF, "职称证书.pdf")))
    html = world.client("district").get(f"/nominations/{rec.id}/edit").get_data(as_text=True)
    assert "职称证书.pdf" in html and 'enctype="multipart/form-data"' in html
