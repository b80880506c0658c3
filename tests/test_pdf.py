"""mingxiao.pdf: HTML → PDF with embedded Chinese fonts, static files from disk, nothing else
fetched, and a clear PdfUnavailable when WeasyPrint or a Chinese font is missing."""

from __future__ import annotations

import http.server
import io
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from mingxiao import pdf

ROOT = Path(__file__).resolve().parents[1]
A4 = (595.3, 841.9)  # points
A5 = (419.5, 595.3)
CJK_TEXT = "杭州市中小学名校长培养工程"


def page(body: str, head: str = "") -> str:
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"{head}</head><body>{body}</body></html>"
    )


def chinese(text: str = CJK_TEXT) -> str:
    return f'<p style="font-family: {pdf.SERIF_STACK.replace(chr(34), chr(39))}">{text}</p>'


def pdf_text(data: bytes) -> str:
    """All the text of a PDF, whitespace removed (lines wrap where the layout says)."""
    reader = PdfReader(io.BytesIO(data))
    return "".join("".join((p.extract_text() or "").split()) for p in reader.pages)


def pdf_fonts(data: bytes) -> list[tuple[str, list[str]]]:
    """(base font name, the /FontFile* streams of its descriptor) for every font used."""
    reader = PdfReader(io.BytesIO(data))
    found: dict[str, list[str]] = {}
    for p in reader.pages:
        fonts = p["/Resources"].get_object().get("/Font")
        for ref in (fonts.get_object() if fonts else {}).values():
            font = ref.get_object()
            desc = font
            if "/DescendantFonts" in font:
                desc = font["/DescendantFonts"][0].get_object()
            descriptor = desc.get("/FontDescriptor")
            files = (
                [k for k in descriptor.get_object() if k.startswith("/FontFile")]
                if descriptor
                else []
            )
            found[str(font["/BaseFont"])] = files
    return sorted(found.items())


def page_size(data: bytes) -> tuple[float, float]:
    box = PdfReader(io.BytesIO(data)).pages[0].mediabox
    return round(float(box.width), 1), round(float(box.height), 1)


def empty_fontconfig(tmp_path: Path) -> Path:
    """A fontconfig configuration with no fonts at all: a server without a Chinese font."""
    (tmp_path / "no-fonts").mkdir()
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        f"<dir>{tmp_path / 'no-fonts'}</dir><cachedir>{tmp_path / 'cache'}</cachedir>"
        "</fontconfig>",
        encoding="utf-8",
    )
    return conf


# -- rendering ---------------------------------------------------------------------------------


def test_chinese_text_is_rendered_with_an_embedded_cjk_font():
    data = pdf.html_to_pdf(page(chinese()))
    assert data.startswith(b"%PDF")
    assert CJK_TEXT in pdf_text(data)
    fonts = pdf_fonts(data)
    assert any("CJK" in name for name, _ in fonts), fonts
    assert all(files for _, files in fonts), f"fonts without an embedded file: {fonts}"


def test_pages_are_a4_unless_the_css_says_otherwise():
    assert page_size(pdf.html_to_pdf(page(chinese()))) == A4


def test_stylesheets_under_static_are_read_from_the_static_folder(tmp_path: Path):
    (tmp_path / "css").mkdir()
    (tmp_path / "css" / "a5.css").write_text("@page { size: A5 }", encoding="utf-8")
    html = page(chinese(), '<link rel="stylesheet" href="/static/css/a5.css">')
    data = pdf.html_to_pdf(html, base_url="http://example.invalid/", static_folder=tmp_path)
    assert page_size(data) == A5


def test_static_files_come_from_the_current_apps_folder(app):
    html = page('<p class="print-sheet">x</p>', '<link rel="stylesheet" href="/static/css/t.css">')
    static = Path(app.static_folder or "")
    assert (static / "css").is_dir()
    target = static / "css" / "t.css"
    assert not target.exists()
    try:
        target.write_text("@page { size: A5 }", encoding="utf-8")
        with app.app_context():
            assert page_size(pdf.html_to_pdf(html)) == A5
    finally:
        target.unlink()


def test_paths_that_leave_the_static_folder_are_not_read(tmp_path: Path):
    static = tmp_path / "static"
    static.mkdir()
    (tmp_path / "secret.css").write_text("@page { size: A5 }", encoding="utf-8")
    for href in (
        "/static/../secret.css",
        "/static/%2e%2e/secret.css",
        f"file://{tmp_path}/secret.css",
    ):
        html = page(chinese(), f'<link rel="stylesheet" href="{href}">')
        assert page_size(pdf.html_to_pdf(html, static_folder=static)) == A4, href


@pytest.fixture
def web_server() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server that records every path asked of it."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            asked.append(self.path)
            body = b"@page { size: A5 }"
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()


def test_nothing_is_fetched_over_the_network(tmp_path: Path, web_server):
    url, asked = web_server
    html = page(
        chinese() + f'<img src="{url}/logo.png">',
        f'<link rel="stylesheet" href="{url}/remote.css">',
    )
    data = pdf.html_to_pdf(html, base_url=url + "/", static_folder=tmp_path)
    assert page_size(data) == A4 and asked == []


def test_relative_static_urls_resolve_against_a_real_host_too(tmp_path: Path, web_server):
    """With the request's own URL as the base, /static/ still comes from disk, not HTTP."""
    url, asked = web_server
    (tmp_path / "p.css").write_text("@page { size: A5 }", encoding="utf-8")
    html = page(chinese(), '<link rel="stylesheet" href="/static/p.css">')
    data = pdf.html_to_pdf(html, base_url=url + "/", static_folder=tmp_path)
    assert page_size(data) == A5 and asked == []


def test_data_urls_still_work(tmp_path: Path):
    html = page(chinese(), '<link rel="stylesheet" href="data:text/css,@page%20%7Bsize:%20A5%7D">')
    assert page_size(pdf.html_to_pdf(html, static_folder=tmp_path)) == A5


# -- what is missing -----------------------------------------------------------------------------


def test_check_finds_nothing_missing_on_this_machine():
    assert pdf.check() == []


def test_a_server_without_chinese_fonts_is_told_so(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("FONTCONFIG_FILE", str(empty_fontconfig(tmp_path)))
    assert pdf.check() == [pdf.MISSING_CJK_FONT]
    with pytest.raises(pdf.PdfUnavailable) as info:
        pdf.html_to_pdf(page(chinese()))
    assert info.value.missing == [pdf.MISSING_CJK_FONT]
    assert "fonts-noto-cjk" in str(info.value)


def test_a_server_without_fontconfig_tools_is_told_so(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert pdf.check() == [pdf.MISSING_FONTCONFIG]
    with pytest.raises(pdf.PdfUnavailable) as info:
        pdf.html_to_pdf(page(chinese()))
    assert info.value.missing == [pdf.MISSING_FONTCONFIG]


def test_a_server_without_weasyprint_is_told_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import weasyprint → ImportError
    assert pdf.MISSING_WEASYPRINT in pdf.check()
    with pytest.raises(pdf.PdfUnavailable) as info:
        pdf.html_to_pdf(page(chinese()))
    assert info.value.missing == [pdf.MISSING_WEASYPRINT]
    assert "libpango" in str(info.value)


def test_the_print_stylesheet_uses_the_same_chinese_font_stack():
    css = (ROOT / "static" / "css" / "print.css").read_text(encoding="utf-8")
    assert f"font-family: {pdf.SERIF_STACK};" in css
