"""The one way files enter the system: checked, hashed and stored under a random name.

Checks, in order: the extension is on the caller's allowlist; the size is within the limit
(counted while streaming, never trusting Content-Length); the content matches the extension
(magic bytes; docx/xlsx are real OOXML packages); zip packages are not bombs (member count,
total uncompressed size, compression ratio, no absolute or ``..`` member names, no encryption,
no macros); every XML member parses with defusedxml (no DTDs, no entity expansion); text is
UTF-8 or GB18030 without NUL bytes. Files live in ``UPLOAD_FOLDER`` (outside ``static/``) as
``<32 hex>.<kind>``; the person's file name is kept only as cleaned metadata.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError
from defusedxml.ElementTree import fromstring as parse_xml
from flask import current_app
from flask_babel import gettext as _

CHUNK = 64 * 1024
DEFAULT_KINDS = ("docx", "pdf", "txt", "xlsx")
ZIP_MAX_MEMBERS = 2000
ZIP_MAX_TOTAL = 200 * 1024 * 1024  # uncompressed bytes in one package
ZIP_MAX_RATIO = 100  # uncompressed / compressed, per member and for the whole package
ZIP_RATIO_FLOOR = 1024 * 1024  # members smaller than this may compress better (XML does)
XML_SUFFIXES = (".xml", ".rels", ".vml")
ORIGINAL_NAME_MAX = 120
STORED_NAME_RE = re.compile(r"^[0-9a-f]{32}\.([a-z0-9]{2,5})$")

# kind → the main part an OOXML package of that kind must contain and its content type.
OOXML_MAIN = {
    "docx": (
        "word/document.xml",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    ),
    "xlsx": (
        "xl/workbook.xml",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    ),
}
MAGIC = {
    "pdf": (b"%PDF-",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "docx": (b"PK\x03\x04",),
    "xlsx": (b"PK\x03\x04",),
}
KNOWN_KINDS = frozenset(MAGIC) | {"txt"}


class UploadError(ValueError):
    """An upload was refused; the message is a Chinese sentence naming the problem."""


@dataclass(frozen=True)
class StoredFile:
    """A saved upload: ``name`` is the random stored name, the rest is metadata."""

    name: str
    original_name: str
    size: int
    kind: str
    sha256: str


def clean_original_name(filename: str | None) -> str:
    """A display-safe version of the uploaded name: no path, no control characters, Chinese kept."""
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch if (ch.isalnum() or ch in " ._-()（）") else "_" for ch in name)
    name = re.sub(r"\s+", " ", name).strip(" .")
    if len(name) > ORIGINAL_NAME_MAX:
        stem, dot, ext = name.rpartition(".")
        name = (
            (stem[: ORIGINAL_NAME_MAX - len(ext) - 1] + dot + ext)
            if dot
            else name[:ORIGINAL_NAME_MAX]
        )
    return name or "file"


def _mismatch(kind: str) -> str:
    return _("文件内容与扩展名“.%(kind)s”不符。请用原程序另存为 .%(kind)s 后再上传。", kind=kind)


def _human(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else f"{size // 1024} KB"


def _folder(folder: str | Path | None) -> Path:
    path = Path(folder) if folder is not None else Path(current_app.config["UPLOAD_FOLDER"])
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def save_upload(
    file_storage: Any,
    *,
    kinds: tuple[str, ...] = DEFAULT_KINDS,
    max_bytes: int | None = None,
    folder: str | Path | None = None,
) -> StoredFile:
    """Check and store ``file_storage`` (a werkzeug FileStorage); raise :class:`UploadError`."""
    if file_storage is None or not getattr(file_storage, "filename", None):
        raise UploadError(_("没有收到文件，请选择要上传的文件。"))
    original = clean_original_name(file_storage.filename)
    kind = original.rpartition(".")[2].lower() if "." in original else ""
    allowed = tuple(k for k in kinds if k in KNOWN_KINDS)
    if kind not in allowed:
        if kind:
            raise UploadError(
                _(
                    "不支持“.%(kind)s”类型的文件。请上传以下类型之一：%(kinds)s。",
                    kind=kind,
                    kinds="、".join(allowed),
                )
            )
        raise UploadError(
            _("文件名没有扩展名。请上传以下类型之一：%(kinds)s。", kinds="、".join(allowed))
        )
    if max_bytes is None:
        max_bytes = int(current_app.config.get("UPLOAD_MAX_BYTES", 20 * 1024 * 1024))
    target = _folder(folder)
    fd, tmp_name = tempfile.mkstemp(dir=target, prefix=".upload-", suffix=".part")
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as out:
            while chunk := file_storage.stream.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadError(
                        _(
                            "文件超过 %(limit)s 的上限。请压缩或拆分后再上传。",
                            limit=_human(max_bytes),
                        )
                    )
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size == 0:
            raise UploadError(_("文件是空的（0 字节）。请检查后重新上传。"))
        check_content(tmp, kind)
        name = f"{secrets.token_hex(16)}.{kind}"
        os.chmod(tmp, 0o600)
        os.replace(tmp, target / name)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return StoredFile(
        name=name, original_name=original, size=size, kind=kind, sha256=digest.hexdigest()
    )


def check_content(path: Path, kind: str) -> None:
    """Raise :class:`UploadError` unless the file at ``path`` really is a ``kind`` file."""
    with path.open("rb") as fh:
        head = fh.read(16)
    if kind == "txt":
        _check_text(path)
        return
    if not any(head.startswith(m) for m in MAGIC[kind]):
        raise UploadError(_mismatch(kind))
    if kind in OOXML_MAIN:
        _check_ooxml(path, kind)


def _check_text(path: Path) -> None:
    data = path.read_bytes()
    if b"\x00" in data:
        raise UploadError(
            _("文本文件中含有二进制内容，不是纯文本。请另存为 UTF-8 编码的 .txt 文件。")
        )
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            data.decode(encoding)
            return
        except UnicodeDecodeError:
            continue
    raise UploadError(_("无法识别文本文件的编码。请另存为 UTF-8 编码的 .txt 文件。"))


def _unsafe_member_name(name: str) -> bool:
    normal = name.replace("\\", "/")
    return (
        normal.startswith("/")
        or re.match(r"^[A-Za-z]:", normal) is not None
        or ".." in normal.split("/")
        or "\x00" in normal
    )


def _check_ooxml(path: Path, kind: str) -> None:
    bad_package = _(
        "文件不是有效的 .%(kind)s 文档（可能已损坏）。请用 Word/Excel/WPS 重新另存为 .%(kind)s 后再上传。",
        kind=kind,
    )
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UploadError(bad_package) from exc
    with zf:
        members = zf.infolist()
        if len(members) > ZIP_MAX_MEMBERS:
            raise UploadError(
                _(
                    "文档包含的部件过多（%(count)d 个），已拒绝。请重新另存后再上传。",
                    count=len(members),
                )
            )
        total = 0
        compressed = 0
        names = set()
        for info in members:
            if _unsafe_member_name(info.filename):
                raise UploadError(_("文档内部含有不安全的路径，已拒绝。请重新另存后再上传。"))
            if info.flag_bits & 0x1:
                raise UploadError(_("文档已加密。请取消密码保护后再上传。"))
            total += info.file_size
            compressed += info.compress_size
            if info.file_size > ZIP_RATIO_FLOOR and info.file_size > ZIP_MAX_RATIO * max(
                info.compress_size, 1
            ):
                raise UploadError(_("文档解压后异常巨大（疑似压缩炸弹），已拒绝。"))
            names.add(info.filename)
        if total > ZIP_MAX_TOTAL or (
            total > ZIP_RATIO_FLOOR and total > ZIP_MAX_RATIO * max(compressed, 1)
        ):
            raise UploadError(_("文档解压后异常巨大（疑似压缩炸弹），已拒绝。"))
        if "[Content_Types].xml" not in names:
            raise UploadError(bad_package)
        if any(n.lower().endswith("vbaproject.bin") for n in names):
            raise UploadError(_("文档含有宏，出于安全考虑已拒绝。请另存为不含宏的文档后再上传。"))
        main_part, main_type = OOXML_MAIN[kind]
        if main_part not in names:
            raise UploadError(_mismatch(kind))
        for info in members:
            if info.filename.lower().endswith(XML_SUFFIXES):
                _parse_member(zf, info, bad_package)
        types = zf.read("[Content_Types].xml").decode("utf-8", "replace")
        if "macroEnabled" in types:
            raise UploadError(_("文档含有宏，出于安全考虑已拒绝。请另存为不含宏的文档后再上传。"))
        if main_type not in types:
            raise UploadError(_mismatch(kind))


def _parse_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, bad_package: str) -> None:
    try:
        with zf.open(info) as member:
            data = member.read(info.file_size + 1)
    except (zipfile.BadZipFile, OSError, RuntimeError, EOFError) as exc:  # RuntimeError: encrypted
        raise UploadError(bad_package) from exc
    if len(data) > info.file_size:
        raise UploadError(bad_package)
    try:
        parse_xml(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise UploadError(
            _("文档中含有不安全的 XML 内容（实体或 DTD），已拒绝。请重新另存后再上传。")
        ) from exc
    except (ParseError, ValueError) as exc:
        raise UploadError(bad_package) from exc


def write_metadata(stored: StoredFile, folder: str | Path | None = None, **extra: str) -> None:
    """Keep ``stored``'s metadata (original name, size, kind, sha256, plus ``extra``) beside it.

    The sidecar ``<name>.json`` is never served: :func:`upload_path` only accepts stored names.
    """
    upload_path(stored.name, folder)  # refuses anything but an existing stored upload
    meta = {
        "original_name": stored.original_name,
        "size": stored.size,
        "kind": stored.kind,
        "sha256": stored.sha256,
        **extra,
    }
    target = _folder(folder) / f"{stored.name}.json"
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".meta-", suffix=".part")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(meta, out, ensure_ascii=False)
    os.replace(tmp_name, target)


def read_metadata(name: str, folder: str | Path | None = None) -> dict[str, Any]:
    """The metadata :func:`write_metadata` kept for ``name``; empty when there is none."""
    try:
        path = upload_path(name, folder)
        data = json.loads(path.with_name(path.name + ".json").read_text(encoding="utf-8"))
    except (UploadError, OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def upload_path(name: str, folder: str | Path | None = None) -> Path:
    """The path of stored upload ``name``; anything but a stored name is refused."""
    if (
        not isinstance(name, str)
        or not STORED_NAME_RE.match(name)
        or name.split(".")[-1] not in KNOWN_KINDS
    ):
        raise UploadError(_("文件名无效。"))
    base = _folder(folder).resolve()
    path = (base / name).resolve()
    if path.parent != base:
        raise UploadError(_("文件名无效。"))
    if not path.is_file():
        raise FileNotFoundError(name)
    return path


def open_upload(name: str, folder: str | Path | None = None) -> IO[bytes]:
    """Open stored upload ``name`` for reading; path traversal and unknown names are refused."""
    return upload_path(name, folder).open("rb")


def delete_upload(name: str, folder: str | Path | None = None) -> None:
    """Remove stored upload ``name`` if it exists."""
    try:
        upload_path(name, folder).unlink()
    except FileNotFoundError:
        pass
