"""Hostile text for the security tests: an XSS corpus and formula-injection values, plus the
HTML checks that tell an escaped payload (harmless text) from one that became markup.

Every XSS payload carries the marker ``xss`` followed by its number inside the part that would
run (``alert('xss3')``), so a payload that escaped into markup can be told apart from the page's
own elements: see :func:`injected`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

MARKER = "xss"

# ~20 payloads: tags, attribute breakouts, URLs in link-like places, SVG, template syntax,
# encoded and unicode variants, CSS.
XSS_PAYLOADS: tuple[str, ...] = (
    "<script>alert('xss0')</script>",
    "\"><img src=x onerror=alert('xss1')>",
    "'><svg onload=alert('xss2')>",
    "<svg><script>alert('xss3')</script></svg>",
    "javascript:alert('xss4')",
    "JaVaScRiPt:alert('xss5')",
    " java\tscript:alert('xss6')",
    "<a href=\"javascript:alert('xss7')\">点我</a>",
    "<iframe src=\"javascript:alert('xss8')\"></iframe>",
    "</textarea><script>alert('xss9')</script>",
    "</title></style></script><script>alert('xss10')</script>",
    "<div style=\"width:expression(alert('xss11'))\">CSS</div>",
    "<style>body{background:url(\"javascript:alert('xss12')\")}</style>",
    "tpl{{7*7}}xss13",
    "{% for i in range(3) %}xss14{{ i }}{% endfor %}",
    "&lt;script&gt;alert('xss15')&lt;/script&gt;",
    "\\u003cscript\\u003ealert('xss16')\\u003c/script\\u003e",
    "%3Cscript%3Ealert('xss17')%3C/script%3E",
    "＜script＞alert('xss18')＜/script＞ 全角",
    "<details open ontoggle=alert('xss19')>",
    "<math><a xlink:href=\"javascript:alert('xss20')\">x</a></math>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(\'xss21\')">',
    '<base href="//evil.example/xss22/">',
    "<body onload=alert('xss23')>",
)

# For fields with a length limit (a voucher number, a short code).
SHORT_PAYLOADS: tuple[str, ...] = ("<svg onload=xss30>", '"><b onclick=xss31>', "{{7*7}}xss32")

# Text that renders 49 only if a template engine evaluated a payload.
TEMPLATE_EVALUATED = ("tpl49xss13", "xss140", "xss141", "49xss32")

# Values a spreadsheet would evaluate (OWASP CSV injection), and what a person types them as.
FORMULA_PAYLOADS: tuple[str, ...] = (
    '=HYPERLINK("http://x.example","点我")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "=cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "=1+1",
)

URL_ATTRS = frozenset(
    {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background", "srcdoc"}
)
DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:text/html")
# Tags the site's own pages never need with visitor data in them.
PAYLOAD_TAGS = frozenset(
    {"img", "svg", "iframe", "object", "embed", "math", "base", "meta", "details", "body", "style"}
)


# Attributes where the site itself puts visitor text (escaped): words people read, form values.
READABLE = frozenset({"aria-label", "title", "alt", "placeholder", "value", "aria-description"})


def _scheme(value: str) -> str:
    """A URL as a browser reads its scheme: control characters and spaces dropped, lower case."""
    return re.sub(r"[\x00-\x20]", "", value).lower()


@dataclass
class _Element:
    tag: str
    attrs: list[tuple[str, str]]
    line: int


class Scan(HTMLParser):
    """Every element, attribute and the text inside <script>/<style> of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[_Element] = []
        self.raw_text: list[tuple[str, str]] = []  # (script|style, text)
        self._raw: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(_Element(tag, [(n, v or "") for n, v in attrs], self.getpos()[0]))
        if tag in ("script", "style"):
            self._raw.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(_Element(tag, [(n, v or "") for n, v in attrs], self.getpos()[0]))

    def handle_endtag(self, tag: str) -> None:
        if self._raw and self._raw[-1] == tag:
            self._raw.pop()

    def handle_data(self, data: str) -> None:
        if self._raw:
            self.raw_text.append((self._raw[-1], data))


def injected(html: str) -> list[str]:
    """What on this page could run, or load, or restyle it because of visitor text: an ``on*``
    attribute, a ``javascript:`` (vbscript:, data:text/html) URL, CSS ``expression(``, a
    script/style block or one of :data:`PAYLOAD_TAGS` carrying the marker, or text a template
    engine evaluated. Empty when every payload stayed text."""
    scan = Scan()
    scan.feed(html)
    scan.close()
    found: list[str] = []
    for el in scan.elements:
        where = f"line {el.line} <{el.tag}>"
        for name, value in el.attrs:
            if name.startswith("on"):
                found.append(f"{where} event handler {name}={value!r}")
            if name in URL_ATTRS and _scheme(value).startswith(DANGEROUS_SCHEMES):
                found.append(f"{where} {name}={value!r}")
            if name == "style" and ("expression(" in value.lower() or MARKER in value):
                found.append(f"{where} style={value!r}")
            if name == "content" and "url=" in value.lower() and "javascript:" in _scheme(value):
                found.append(f"{where} content={value!r}")
            if MARKER in name:
                found.append(f"{where} attribute named {name!r}")
        if el.tag in PAYLOAD_TAGS and any(
            MARKER in v for n, v in el.attrs if n not in READABLE and not n.startswith("data-")
        ):
            found.append(f"{where} {el.attrs!r}")
        if el.tag == "script" and any(MARKER in v for _n, v in el.attrs):
            found.append(f"{where} {el.attrs!r}")
    for kind, text in scan.raw_text:
        if MARKER in text:
            found.append(f"<{kind}> block with {text[:80]!r}")
    found += [f"template evaluated: {t}" for t in TEMPLATE_EVALUATED if t in html]
    return found


def payload(i: int) -> str:
    """The ``i``-th payload, cycling through the corpus."""
    return XSS_PAYLOADS[i % len(XSS_PAYLOADS)]


def short_payload(i: int) -> str:
    return SHORT_PAYLOADS[i % len(SHORT_PAYLOADS)]
