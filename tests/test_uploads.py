"""The upload helper against real crafted files: good documents pass, hostile ones are refused."""

from __future__ import annotations

import hashlib
import io
import stat
import zipfile
from pathlib import Path

import openpyxl
import pytest
from werkzeug.datastructures import FileStorage

from mingxiao.uploads import UploadError, clean_original_name, open_upload, save_upload, upload_path

DOCX_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    "</Types>"
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
    "</Relationships>"
)
DOCUMENT = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    "<w:body><w:p><w:r><w:t>课题结题报告</w:t></w:r></w:p></w:body></w:document>"
)
BILLION_LAUGHS = (
    '<?xml version="1.0"?>'
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
    '<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>'
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">&lol4;</w:document>'
)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def docx(members: dict[str, bytes | str] | None = None, *, document: str = DOCUMENT) -> bytes:
    """A minimal Word package; ``members`` adds or replaces parts."""
    parts: dict[str, bytes | str] = {
        "[Content_Types].xml": DOCX_TYPES,
        "_rels/.rels": RELS,
        "word/document.xml": document,
    }
    parts.update(members or {})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return buf.getvalue()


def xlsx() -> bytes:
    wb = openpyxl.Workbook()
    wb.active["A1"] = "姓名"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def upload(data: bytes, filename: str) -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=filename)


@pytest.fixture
def folder(tmp_path) -> Path:
    return tmp_path / "uploads"


def save(data: bytes, filename: str, folder: Path, **kwargs):
    return save_upload(
        upload(data, filename),
        folder=folder,
        max_bytes=kwargs.pop("max_bytes", 5 * 1024 * 1024),
        **kwargs,
    )


def refused(data: bytes, filename: str, folder: Path, **kwargs) -> str:
    with pytest.raises(UploadError) as info:
        save(data, filename, folder, **kwargs)
    leftovers = list(folder.iterdir()) if folder.exists() else []
    assert leftovers == [], "a refused upload left a file behind"
    return str(info.value)


# --------------------------------------------------------------------------- accepted


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (docx(), "结题报告.docx"),
        (xlsx(), "汇总表.xlsx"),
        (PDF, "推荐表.pdf"),
        ("学习日志：参观杭州学军中学。".encode(), "日志.txt"),
        ("学习日志：参观杭州学军中学。".encode("gb18030"), "日志.txt"),
    ],
)
def test_real_documents_are_stored(folder, data, filename):
    stored = save(data, filename, folder)
    assert (folder / stored.name).read_bytes() == data


def test_stored_file_records_size_kind_hash_and_clean_name(folder):
    data = docx()
    stored = save(data, "../../申报表 (终稿).DOCX", folder)
    assert (stored.original_name, stored.size, stored.kind, stored.sha256) == (
        "申报表 (终稿).DOCX",
        len(data),
        "docx",
        hashlib.sha256(data).hexdigest(),
    )


def test_stored_name_is_random_and_never_the_uploaded_name(folder):
    first, second = save(PDF, "a.pdf", folder), save(PDF, "a.pdf", folder)
    assert first.name != second.name and len(first.name) == len("0" * 32 + ".pdf")


def test_stored_file_is_private(folder):
    stored = save(PDF, "a.pdf", folder)
    assert stat.S_IMODE((folder / stored.name).stat().st_mode) == 0o600


def test_default_folder_is_in_the_instance_not_static(app):
    with app.test_request_context():
        stored = save_upload(upload(PDF, "a.pdf"))
        path = upload_path(stored.name)
    assert Path(app.instance_path) in path.parents and Path(app.static_folder) not in path.parents


# --------------------------------------------------------------------------- refused


def test_oversize_file_is_refused(folder):
    assert "上限" in refused(b"x" * 2000, "big.txt", folder, max_bytes=1000)


def test_empty_file_is_refused(folder):
    assert "空" in refused(b"", "empty.pdf", folder)


@pytest.mark.parametrize("filename", ["tool.exe", "page.html", "noextension"])
def test_extension_outside_allowlist_is_refused(folder, filename):
    assert "请上传以下类型之一" in refused(b"MZ\x90\x00", filename, folder)


def test_kinds_narrow_the_allowlist(folder):
    refused(PDF, "a.pdf", folder, kinds=("docx",))


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (PDF, "fake.docx"),
        (docx(), "fake.pdf"),
        (b"<html><script>alert(1)</script></html>", "fake.pdf"),
        (b"PK\x03\x04not really a zip", "broken.docx"),
    ],
)
def test_content_not_matching_the_extension_is_refused(folder, data, filename):
    refused(data, filename, folder)


def test_spreadsheet_renamed_to_docx_is_refused(folder):
    assert "不符" in refused(xlsx(), "renamed.docx", folder)


def test_text_with_nul_bytes_is_refused(folder):
    assert "二进制" in refused(b"abc\x00def", "a.txt", folder)


def test_text_in_unknown_encoding_is_refused(folder):
    assert "编码" in refused(b"\x80\xff\xfe\x81", "a.txt", folder)


def test_zip_bomb_is_refused(folder):
    bomb = docx({"word/media/zeros.bin": b"\0" * (30 * 1024 * 1024)})
    assert len(bomb) < 100 * 1024  # 30 MB of zeros squeeze into a few dozen KB
    assert "压缩炸弹" in refused(bomb, "bomb.docx", folder)


def test_billion_laughs_docx_is_refused(folder):
    assert "XML" in refused(docx(document=BILLION_LAUGHS), "laughs.docx", folder)


def test_external_entity_docx_is_refused(folder):
    xxe = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'
    refused(docx(document=xxe), "xxe.docx", folder)


@pytest.mark.parametrize(
    "member", ["../../evil.xml", "/etc/cron.d/evil", "word/../../evil.xml", "C:/evil.xml"]
)
def test_package_with_unsafe_member_path_is_refused(folder, member):
    assert "路径" in refused(docx({member: "<x/>"}), "evil.docx", folder)


def test_package_with_too_many_members_is_refused(folder):
    many = docx({f"word/media/{i}.bin": b"" for i in range(2100)})
    assert "部件过多" in refused(many, "many.docx", folder)


def test_package_with_macros_is_refused(folder):
    assert "宏" in refused(docx({"word/vbaProject.bin": b"\x00macro"}), "macro.docx", folder)


def test_encrypted_package_member_is_refused(folder):
    data = bytearray(docx({"word/secret.xml": "<x/>"}))
    # zipfile cannot write encrypted members: set the "encrypted" flag in the central directory.
    entry = data.index(b"PK\x01\x02")
    while data[entry + 46 : entry + 46 + 15] != b"word/secret.xml":
        entry = data.index(b"PK\x01\x02", entry + 4)
    data[entry + 8] |= 0x1
    assert "加密" in refused(bytes(data), "locked.docx", folder)


def test_missing_file_is_refused(folder):
    with pytest.raises(UploadError):
        save_upload(None, folder=folder)


# --------------------------------------------------------------------------- reading back


def test_open_upload_reads_a_stored_file(folder):
    stored = save(PDF, "a.pdf", folder)
    with open_upload(stored.name, folder) as fh:
        assert fh.read() == PDF


@pytest.mark.parametrize(
    "name",
    [
        "../secret_key",
        "/etc/passwd",
        "..",
        "",
        "a.pdf",
        "0" * 32 + ".pdf/../../x",
        "0" * 32 + ".exe",
        "0" * 31 + "/.pdf",
    ],
)
def test_open_upload_refuses_anything_but_a_stored_name(folder, name):
    with pytest.raises(UploadError):
        open_upload(name, folder)


def test_open_upload_of_a_missing_name_is_not_found(folder):
    with pytest.raises(FileNotFoundError):
        open_upload("0" * 32 + ".pdf", folder)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("C:\\Users\\张三\\推荐表.pdf", "推荐表.pdf"),
        ("a\x00b<script>.pdf", "a_b_script_.pdf"),
        ("...", "file"),
        ("", "file"),
    ],
)
def test_original_names_are_cleaned_for_display(raw, clean):
    assert clean_original_name(raw) == clean
