"""Files built in the tests: Word packages from raw WordprocessingML, a text PDF, a blank PDF."""

from __future__ import annotations

import io
import zipfile

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NAMESPACES = (
    f'xmlns:w="{W_NS}" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
    'xmlns:v="urn:schemas-microsoft-com:vml" '
    'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"'
)
CONTENT_TYPES = (
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


def run(text: str) -> str:
    return f'<w:r><w:t xml:space="preserve">{text}</w:t></w:r>'


def para(*runs: str) -> str:
    return "<w:p>" + "".join(runs) + "</w:p>"


def inserted(text: str) -> str:
    """A tracked insertion (w:ins) of ``text``."""
    return f'<w:ins w:id="1" w:author="导师" w:date="2026-05-01T00:00:00Z">{run(text)}</w:ins>'


def deleted(text: str) -> str:
    """A tracked deletion: the text sits in w:delText inside w:del."""
    return (
        '<w:del w:id="2" w:author="导师" w:date="2026-05-01T00:00:00Z">'
        f'<w:r><w:delText xml:space="preserve">{text}</w:delText></w:r></w:del>'
    )


def text_box(text: str) -> str:
    """A text box the way Word writes it: DrawingML in mc:Choice, the same text again as VML in
    mc:Fallback (old readers)."""
    box = f"<w:txbxContent>{para(run(text))}</w:txbxContent>"
    return (
        "<w:r><mc:AlternateContent>"
        '<mc:Choice Requires="wps"><w:drawing><wp:anchor><a:graphic><a:graphicData>'
        f"<wps:wsp><wps:txbx>{box}</wps:txbx></wps:wsp>"
        "</a:graphicData></a:graphic></wp:anchor></w:drawing></mc:Choice>"
        f"<mc:Fallback><w:pict><v:shape><v:textbox>{box}</v:textbox></v:shape></w:pict></mc:Fallback>"
        "</mc:AlternateContent></w:r>"
    )


def document(*paragraphs: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f"<w:document {NAMESPACES}><w:body>{''.join(paragraphs)}</w:body></w:document>"
    )


def docx(*paragraphs: str, extra: dict[str, bytes | str] | None = None) -> bytes:
    """A Word package whose body is ``paragraphs``; ``extra`` adds or replaces parts."""
    parts: dict[str, bytes | str] = {
        "[Content_Types].xml": CONTENT_TYPES,
        "_rels/.rels": RELS,
        "word/document.xml": document(*paragraphs),
    }
    parts.update(extra or {})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return buf.getvalue()


def zip_bomb_docx() -> bytes:
    """A real Word package with 30 MB of zeros squeezed inside."""
    return docx(para(run("结题报告")), extra={"word/media/zeros.bin": b"\0" * (30 * 1024 * 1024)})


def text_pdf(text: str) -> bytes:
    """A PDF with ``text`` as real text (WeasyPrint, Chinese font embedded)."""
    from mingxiao.pdf import html_to_pdf

    return html_to_pdf(f'<html lang="zh-CN"><body><p>{text}</p></body></html>')


def blank_pdf() -> bytes:
    """A PDF with one empty page: what a scan looks like to a text extractor."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()
