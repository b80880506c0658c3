"""The printable 《人选推荐表》 and its PDF: the nominee's values from the sheet, embedded Chinese
fonts, the stamp record in the review box, and nobody outside the district (or the city) in."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest
from flask_babel import format_date

from mingxiao import pdf
from mingxiao.i18n import format_value
from tests._demo import DISTRICT2, ROLE_EMAILS, World, read_row
from tests.nominations._helpers import insert_nomination
from tests.test_pdf import empty_fontconfig, pdf_fonts, pdf_text

pytest_plugins = ["tests._demo"]

TITLE = "“杭州市中小学名校长培养工程”人选推荐表"
SHEET = "人选推荐"


def own(world: World) -> str:
    return world.samples.records["nominations"]["district"]


def sheet_row(world: World, rid: str) -> dict:
    """The nomination's row as the workbook file itself holds it (header → cell)."""
    row = read_row(world.workbook, SHEET, rid)
    assert row is not None, f"{rid} is not in the workbook"
    return row


# -- the page ----------------------------------------------------------------------------------


def test_print_page_shows_the_nominees_values_from_the_sheet(world: World):
    rid = own(world)
    row = sheet_row(world, rid)
    response = world.client("district").get(f"/nominations/{rid}/print")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for header in ("姓名", "所在学校", "现任职务", "推荐方式"):
        assert str(row[header]) in html, header
    assert TITLE in html


def test_district_staff_see_the_full_id_and_phone_on_their_own_nominees_form(world: World):
    rid = own(world)
    row = sheet_row(world, rid)
    html = world.client("district").get(f"/nominations/{rid}/print").get_data(as_text=True)
    assert str(row["身份证号"]) in html and str(row["手机号码"]) in html


def test_print_page_has_a_print_button_and_the_pdf_link(world: World):
    rid = own(world)
    html = world.client("admin").get(f"/nominations/{rid}/print").get_data(as_text=True)
    assert "data-print" in html and "js/print.js" in html
    assert f'href="/nominations/{rid}/print.pdf"' in html


def test_printing_the_page_leaves_out_the_site_navigation(world: World):
    """The browser page itself, printed (media print, as WeasyPrint renders it), shows the
    form and none of the site's header, buttons or footer."""
    rid = own(world)
    row = sheet_row(world, rid)
    html = world.client("district").get(f"/nominations/{rid}/print").get_data(as_text=True)
    assert "退出登录" in html and "下载 PDF" in html  # on screen they are there
    with world.app.app_context():
        text = pdf_text(pdf.html_to_pdf(html))
    assert TITLE in text and str(row["姓名"]) in text
    for chrome in ("退出登录", "下载PDF", "返回推荐详情", "杭州市中小学干部培训中心"):
        assert chrome not in text, chrome


def test_detail_page_links_to_the_print_page_and_the_pdf(world: World):
    rid = own(world)
    html = world.client("district").get(f"/nominations/{rid}").get_data(as_text=True)
    assert f"/nominations/{rid}/print" in html and f"/nominations/{rid}/print.pdf" in html


def test_review_box_shows_who_stamped_and_when(world: World):
    stamper = ROLE_EMAILS["district"]
    when = dt.datetime(2026, 3, 2, 9, 30)
    rid = insert_nomination(world, status="已盖章", stamped_by=stamper, stamped_at=when)
    name = world.db.table("users").where(email=stamper)[0]["name"]
    with world.app.test_request_context():  # the site's own way of showing a stored time
        shown, day = format_value(when), format_date(when, "medium")
    html = world.client("district").get(f"/nominations/{rid}/print").get_data(as_text=True)
    assert "审核通过，已盖章" in html
    assert f"系统记录：{name} 于 {shown} 审核盖章" in html
    assert f'<p class="print-date">{day}</p>' in html


def test_an_unstamped_nomination_says_it_is_not_stamped_yet(world: World):
    rid = insert_nomination(world, status="草稿")
    html = world.client("district").get(f"/nominations/{rid}/print").get_data(as_text=True)
    assert "尚未审核盖章（当前状态：草稿）" in html and "审核通过" not in html


def test_a_returned_nomination_is_not_shown_as_stamped(world: World):
    rid = insert_nomination(
        world,
        status="已退回",
        stamped_by=ROLE_EMAILS["district"],
        stamped_at=dt.datetime(2026, 3, 2),
    )
    html = world.client("district").get(f"/nominations/{rid}/print").get_data(as_text=True)
    assert "尚未审核盖章（当前状态：已退回）" in html and "系统记录" not in html


# -- the PDF ------------------------------------------------------------------------------------


def test_pdf_has_the_name_school_and_title_exactly_as_in_the_sheet(world: World):
    rid = own(world)
    row = sheet_row(world, rid)
    response = world.client("district").get(f"/nominations/{rid}/print.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    for expected in (TITLE, str(row["姓名"]), str(row["所在学校"])):
        assert "".join(expected.split()) in text, expected


def test_pdf_fonts_are_embedded_chinese_fonts(world: World):
    data = world.client("admin").get(f"/nominations/{own(world)}/print.pdf").data
    fonts = pdf_fonts(data)
    assert fonts and all(files for _, files in fonts), f"a font is not embedded: {fonts}"
    assert any("CJK" in name for name, _ in fonts), fonts


def test_pdf_is_a_download_named_with_the_nomination_id(world: World):
    rid = own(world)
    response = world.client("district").get(f"/nominations/{rid}/print.pdf")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f'filename="nomination-{rid}.pdf"' in disposition
    assert f"filename*=UTF-8''{quote(f'人选推荐表-{rid}.pdf')}" in disposition
    assert response.headers.get("Cache-Control") == "no-store"


def test_a_server_without_chinese_fonts_answers_a_chinese_503(world: World, tmp_path, monkeypatch):
    monkeypatch.setenv("FONTCONFIG_FILE", str(empty_fontconfig(tmp_path)))
    response = world.client("district").get(f"/nominations/{own(world)}/print.pdf")
    html = response.get_data(as_text=True)
    assert response.status_code == 503 and response.mimetype == "text/html"
    assert "暂时无法生成 PDF" in html and "打印推荐表" in html


# -- who may print --------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["print", "print.pdf"])
def test_other_district_gets_404_without_personal_data(world: World, suffix: str):
    rid = own(world)
    row = sheet_row(world, rid)
    response = world.client("district2").get(f"/nominations/{rid}/{suffix}")
    body = response.get_data(as_text=True)
    assert response.status_code == 404
    for header in ("姓名", "身份证号", "手机号码", "所在学校"):
        assert str(row[header]) not in body, header


def test_other_district_prints_its_own_nominees(world: World):
    rid = world.samples.records["nominations"]["district2"]
    assert world.db.table("nominations").get(rid)["district"] == DISTRICT2
    assert world.client("district2").get(f"/nominations/{rid}/print.pdf").status_code == 200


@pytest.mark.parametrize("role", ["expert", "mentor", "trainee"])
@pytest.mark.parametrize("suffix", ["print", "print.pdf"])
def test_expert_mentor_and_trainee_are_refused(world: World, role: str, suffix: str):
    response = world.client(role).get(f"/nominations/{own(world)}/{suffix}")
    assert response.status_code == 404 and response.mimetype != "application/pdf"


def test_unknown_nomination_is_404(world: World):
    assert world.client("admin").get("/nominations/N1999-9999/print.pdf").status_code == 404
