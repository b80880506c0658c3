"""字数: Chinese character counts the way WPS and Word report them (no Flask here).

The rule (what the UI tells the person):
- each CJK character (汉字, kana, hangul) counts 1;
- each full-width punctuation mark or full-width form (，。、；：？！“”‘’《》（）——……) counts 1;
- each run of other non-space characters that holds a Latin letter or a digit counts 1
  (``Hello``, ``2026``, ``well-known``, ``3.14``, ``AI`` in ``AI赋能`` = 1 each);
- spaces, and half-width punctuation standing alone, count nothing.

Sources:
- ``.docx``: ``word/document.xml`` (plus footnotes and endnotes, as Word's 字数 dialog counts
  them by default) is walked element by element: text in tracked insertions (``w:ins``)
  counts, deleted text (``w:del``, ``w:delText``, ``w:moveFrom``) does not, field codes
  (``w:instrText``) do not, text boxes (``w:txbxContent``) count once: Word writes a text box
  twice inside ``mc:AlternateContent`` (``mc:Choice`` for new readers, ``mc:Fallback`` with
  VML for old ones), and only the Choice branch is read. Headers and footers are left out,
  as in Word's count.
- ``.pdf``: text extracted with pypdf; a PDF without extractable text (a scan) gives
  ``has_text=False`` and needs a count typed by a person.
- ``.txt``: UTF-8 (with or without BOM) or GB18030.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

# Character classes ------------------------------------------------------------------------
_CJK_RANGES = (
    "\u3400-\u4dbf"  # CJK Extension A
    "\u4e00-\u9fff"  # CJK Unified Ideographs
    "\uf900-\ufaff"  # CJK Compatibility Ideographs
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u31f0-\u31ff"  # Katakana extensions
    "\uac00-\ud7af"  # Hangul syllables
    "\U00020000-\U0003134f"  # Extensions B–G
)
_FULL_WIDTH_RANGES = (
    "\u3001-\u303f"  # CJK symbols and punctuation (、。〃《》「」【】〔〕…; not U+3000, a space)
    "\uff01-\uff60"  # full-width ASCII forms and punctuation （），：；？！Ａ１
    "\uffe0-\uffe6"  # full-width signs ￥￡
    "\ufe30-\ufe4f"  # CJK compatibility forms
    "\ufe10-\ufe19"  # vertical forms
    "\u2018\u2019\u201c\u201d"  # ‘’“” as typed by Chinese input methods
    "\u2014\u2026\u00b7"  # —— …… ·
)
_ASIAN = re.compile(f"[{_CJK_RANGES}{_FULL_WIDTH_RANGES}]")
_CJK = re.compile(f"[{_CJK_RANGES}]")
# A run of characters that are neither space nor Asian; it is a word if it has a letter/digit.
_RUN = re.compile(rf"[^\s{_CJK_RANGES}{_FULL_WIDTH_RANGES}]+")
_ALNUM = re.compile(r"[^\W_]")

METHOD_AUTO = "auto"
METHOD_NO_TEXT = "no_text"

# Limits: a checked upload is already small, but this module may be called on any file.
MAX_XML_BYTES = 64 * 1024 * 1024
MAX_PDF_PAGES = 3000

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_SKIP = {  # elements whose whole subtree is not counted
    f"{{{W}}}del",
    f"{{{W}}}moveFrom",
    f"{{{W}}}delText",
    f"{{{W}}}instrText",
    f"{{{W}}}delInstrText",
    f"{{{MC}}}Fallback",
    f"{{{W}}}rPr",
    f"{{{W}}}pPr",
}
_TEXT = {f"{{{W}}}t"}
_BREAKS = {  # elements that separate words: their start and end become line breaks
    f"{{{W}}}tab",
    f"{{{W}}}br",
    f"{{{W}}}cr",
    f"{{{W}}}p",
    f"{{{W}}}tc",
    f"{{{W}}}txbxContent",
}
_DOCX_PARTS = ("word/document.xml", "word/footnotes.xml", "word/endnotes.xml")


class WordCountError(ValueError):
    """The file could not be read for counting (corrupt, encrypted, too large)."""


@dataclass(frozen=True)
class WordCount:
    """A 字数 result: ``total`` = ``asian`` (CJK characters and full-width marks) + ``words``."""

    asian: int
    words: int
    cjk: int = 0  # of ``asian``, the CJK characters proper (without punctuation)
    has_text: bool = True

    @property
    def total(self) -> int:
        return self.asian + self.words

    @property
    def punctuation(self) -> int:
        return self.asian - self.cjk

    def describe(self) -> str:
        """The Chinese sentence stored in the 字数统计方式 column (sheet data, not UI text)."""
        if not self.has_text:
            return "未能自动统计（文件中没有可提取的文字）"
        return (
            f"系统自动统计：汉字 {self.cjk}，中文标点 {self.punctuation}，"
            f"英文单词/数字串 {self.words}（汉字及中文标点各计1，英文单词、数字串各计1）"
        )


def count_text(text: str) -> WordCount:
    """字数 of plain text (see the module docstring for the rule)."""
    asian = len(_ASIAN.findall(text))
    cjk = len(_CJK.findall(text))
    words = sum(1 for run in _RUN.findall(text) if _ALNUM.search(run))
    return WordCount(asian=asian, words=words, cjk=cjk, has_text=bool(asian or words))


# docx -------------------------------------------------------------------------------------


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def docx_text(path: str | Path) -> str:
    """The countable text of a .docx: body (with text boxes once), footnotes and endnotes."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "word/document.xml" not in names:
                raise WordCountError("word/document.xml missing")
            parts = []
            for part in _DOCX_PARTS:
                if part not in names:
                    continue
                info = zf.getinfo(part)
                if info.file_size > MAX_XML_BYTES:
                    raise WordCountError(f"{part} is too large")
                with zf.open(info) as fh:
                    data = fh.read(MAX_XML_BYTES + 1)
                parts.append(_xml_text(data, skip_footnote_separators=part != _DOCX_PARTS[0]))
    except (zipfile.BadZipFile, OSError, RuntimeError, KeyError) as exc:
        raise WordCountError(str(exc)) from exc
    return "\n".join(parts)


def _xml_text(data: bytes, *, skip_footnote_separators: bool = False) -> str:
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise WordCountError(str(exc)) from exc
    out: list[str] = []
    # Depth-first walk with an explicit stack (no recursion limit on deep nesting); a marker
    # entry (None, element) closes an element so paragraph ends become line breaks.
    stack: list[tuple[Any, Any]] = [(root, None)]
    seen_choice: set[Any] = set()
    while stack:
        node, closing = stack.pop()
        if node is None:
            if closing.tag in _BREAKS:
                out.append("\n")
            continue
        tag = node.tag
        if not isinstance(tag, str) or tag in _SKIP:
            continue
        if skip_footnote_separators and node.get(f"{{{W}}}type") in (
            "separator",
            "continuationSeparator",
            "continuationNotice",
        ):
            continue
        if tag == f"{{{MC}}}Choice":
            parent = node.getparent()
            if parent in seen_choice:  # only the first Choice of an AlternateContent
                continue
            seen_choice.add(parent)
        if tag in _TEXT:
            out.append(node.text or "")
            continue
        if tag in _BREAKS:
            out.append("\n")
            stack.append((None, node))
        stack.extend((child, None) for child in reversed(node))
    return "".join(out)


def count_docx(path: str | Path) -> WordCount:
    """字数 of a .docx file."""
    return count_text(docx_text(path))


# pdf --------------------------------------------------------------------------------------


def pdf_text(path: str | Path) -> str:
    """The text pypdf extracts from every page ('' for a scan)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise WordCountError("encrypted PDF")
        pages = reader.pages
        if len(pages) > MAX_PDF_PAGES:
            raise WordCountError("too many pages")
        return "\n".join((page.extract_text() or "") for page in pages)
    except WordCountError:
        raise
    except (PdfReadError, OSError, ValueError, KeyError, TypeError) as exc:
        raise WordCountError(str(exc)) from exc


def count_pdf(path: str | Path) -> WordCount:
    """字数 of a PDF; ``has_text`` is False when no text can be extracted (a scan)."""
    return count_text(pdf_text(path))


# txt and dispatch -------------------------------------------------------------------------


def txt_text(path: str | Path) -> str:
    data = Path(path).read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise WordCountError("unknown text encoding")


def count_file(path: str | Path, kind: str) -> WordCount:
    """字数 of a stored upload of ``kind`` (docx, pdf or txt)."""
    if kind == "docx":
        return count_docx(path)
    if kind == "pdf":
        return count_pdf(path)
    if kind == "txt":
        return count_text(txt_text(path))
    raise WordCountError(f"cannot count {kind!r} files")
