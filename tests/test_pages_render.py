"""Both languages render every page, for every visitor allowed to see it.

The pages are the GET rows of the access matrix (tests/test_access_matrix.py) that answer 200
for a visitor; each visitor renders all of theirs in zh_CN and in en, chosen through the
language switch (``POST /lang``) when signed in and through ``Accept-Language`` when not. Each
HTML page must:
- answer 200 with ``<html lang="zh-CN">`` / ``<html lang="en">``;
- show no untranslated interface text in English (no text equal to a msgid of the catalogue);
- show no template residue: ``None``, braces, ``%(name)s``, ``{{``/``{%``;
- never show a phone or ID-card number of the demo data to a visitor outside ``REVEAL_ROLES``,
  and never carry one (nor a person's email) in a URL (href, src, action) for anyone.
The admin's world has a hand-broken cell, a direct sheet edit, a pending operation, parked
conflicts and an open incident, so the admin pages render their messages in both languages.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po

from mingxiao.sheetdb import load_schemas
from mingxiao.sheetdb.schema import default_schema_dir, load_sheet
from tests._demo import REVEAL_ROLES, ROLES, World, edit_cell
from tests.test_access_matrix import ACCESS

pytest_plugins = ["tests._demo"]

TRANSLATIONS = Path(__file__).resolve().parents[1] / "translations"
CJK = re.compile(r"[\u4e00-\u9fff]")
LANGS = {"zh_CN": "zh-CN", "en": "en"}
URL_ATTRS = {"href", "src", "action", "formaction"}
READ_ATTRS = {"title", "aria-label", "placeholder", "alt"}  # attributes people read
PLACEHOLDER = re.compile(r"%\\\(\w+\\\)[sd]|\\\{\w*\\\}")


def _msgid_patterns() -> tuple[set[str], re.Pattern[str] | None]:
    """Every Chinese msgid of the template and the English catalogue, translated or not (an
    empty msgstr is exactly what shows up untranslated): plain ones as a set, ones with
    placeholders as one regex."""
    msgids: set[str] = set()
    for path in (
        TRANSLATIONS / "messages.pot",
        TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po",
    ):
        with path.open("rb") as fh:
            for message in read_po(fh):
                ids = message.id if isinstance(message.id, tuple) else (message.id,)
                msgids.update(i for i in ids if i and CJK.search(i))
    plain: set[str] = set()
    patterns: list[str] = []
    for msgid in msgids:
        escaped = re.escape(msgid)
        if PLACEHOLDER.search(escaped):
            patterns.append(PLACEHOLDER.sub(".+?", escaped))
        else:
            plain.add(msgid)
    return plain, re.compile("|".join(f"(?:{p})" for p in sorted(patterns))) if patterns else None


MSGIDS, MSGID_PATTERNS = _msgid_patterns()


def _workbook_words() -> set[str]:
    """Tab titles, column headers and choice values: the workbook's own (Chinese) words, which
    pages show as data in every language (a tab is called 学员 in the file, whatever the UI)."""
    schemas = load_schemas(default_schema_dir())
    # Plugins' own sheets (blueprints/<feature>/sheets/*.toml) are tabs of the workbook too.
    plugin_sheets = [
        load_sheet(path, schemas.choice_lists)
        for path in sorted(Path(__file__).resolve().parents[1].glob("blueprints/*/sheets/*.toml"))
    ]
    words: set[str] = set()
    for schema in [*schemas, *plugin_sheets]:
        words.add(schema.title)
        words.update(c.header for c in schema.columns)
        # Seeded rows (the nine curriculum modules) are the workbook's data, not UI text.
        words.update(v for row in schema.seed for v in row.values() if isinstance(v, str))
    for values in schemas.choice_lists.values():
        words.update(values)
    return words


WORKBOOK_WORDS = _workbook_words()


class Page(HTMLParser):
    """The visible text, the attributes and the ``<html lang>`` of a page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.lang: str | None = None
        self.title = ""
        self.texts: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []
        self._skip = 0
        self._in_title = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "html":
            self.lang = dict(attrs).get("lang")
        if tag in ("script", "style"):
            self._skip += 1
        self._in_title = tag == "title"
        self.attrs.extend((tag, name, value or "") for name, value in attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if not self._skip and data.strip():
            self.texts.append(" ".join(data.split()))

    def read_texts(self) -> list[str]:
        """Text nodes plus the attributes a person reads (labels for screen readers, tooltips)."""
        return self.texts + [
            v for _t, n, v in self.attrs if (n in READ_ATTRS or n.startswith("data-label")) and v
        ]

    def urls(self) -> list[str]:
        return [v for _t, n, v in self.attrs if n in URL_ATTRS or n.endswith("-url")]


def untranslated(texts: list[str]) -> list[str]:
    return [
        t
        for t in texts
        if t not in WORKBOOK_WORDS
        and (t in MSGIDS or (MSGID_PATTERNS is not None and MSGID_PATTERNS.fullmatch(t)))
    ]


def residue(html: str, page: Page) -> list[str]:
    found = [t for t in page.texts if re.search(r"\bNone\b|[{}]|%\(", t)]
    found += [f"{n}={v!r}" for _t, n, v in page.attrs if v == "None" or "%(" in v]
    found += [m for m in ("{{", "}}", "{%", "%}", "{#") if m in html]
    return found


def check_page(world: World, role: str, lang: str, url: str, response: Any) -> None:
    where = f"{role} {lang} {url}"
    assert response.status_code == 200, f"{where}: {response.status_code}"
    samples = world.samples
    for name, value in response.headers.items():
        if name.lower() == "location":
            assert not [p for p in samples.pii | samples.emails if p in value], where
    if response.mimetype != "text/html":
        return
    html = response.get_data(as_text=True)
    page = Page(html)
    assert page.lang == LANGS[lang], f"{where}: <html lang={page.lang!r}>"
    if lang == "en":
        assert not untranslated(page.read_texts()), (
            f"{where}: untranslated {untranslated(page.read_texts())}"
        )
        assert page.title and not CJK.search(page.title), f"{where}: title {page.title!r}"
    assert not residue(html, page), f"{where}: template residue {residue(html, page)}"
    in_urls = [p for p in samples.pii | samples.emails for u in page.urls() if p in u]
    assert not in_urls, f"{where}: personal data in a URL: {in_urls}"
    if role not in REVEAL_ROLES:  # district staff see their own district's nominees in full
        shown = sorted(
            p for p in samples.pii - samples.revealed.get(role, frozenset()) if p in html
        )
        assert not shown, f"{where}: unmasked phone/ID numbers {shown}"


def pages_of(role: str) -> list[tuple[str, str]]:
    return sorted((e, v) for (e, m, v), row in ACCESS.items() if m == "GET" and row[role] == 200)


def prepare_admin_world(world: World) -> None:
    """Problems, a direct edit, a pending write: every admin page has something to say."""
    db = world.db
    nomination = world.samples.records["nominations"]["district2"]
    trainee = world.samples.records["trainees"]["mentor2"]
    edit_cell(world.workbook, "人选推荐", nomination, "出生日期", "1970年13月")
    edit_cell(world.workbook, "学员", trainee, "手机号码", "1381234")
    db.sync()
    logs = db.table("mentoring_logs")
    row = logs.get(world.samples.records["mentoring_logs"]["mentor2"])
    logs.insert({k: row[k] for k in ("mentor", "trainee", "date", "form", "hours", "notes")})
    assert db.health() and db.pending() and db.conflicts() and db.incidents()


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("role", ROLES)
def test_every_page_renders(world: World, role: str, lang: str):
    if role == "admin":
        prepare_admin_world(world)
    client = world.client(role)
    headers = {}
    if role == "anonymous":
        headers = {"Accept-Language": "en-GB,en;q=0.9" if lang == "en" else "zh-CN,zh;q=0.9"}
    else:
        chosen = client.post(
            "/lang", data={"lang": lang, "next": "/", "csrf_token": world.token(client)}
        )
        assert chosen.status_code == 302
    pages = pages_of(role)
    assert pages, f"{role} can see no page at all"
    for endpoint, variant in pages:
        url = world.url(endpoint, variant)
        check_page(world, role, lang, url, client.get(url, headers=headers))


@pytest.mark.parametrize("lang", LANGS)
def test_error_pages_render(world: World, lang: str):
    client = world.client("district")
    client.post("/lang", data={"lang": lang, "next": "/", "csrf_token": world.token(client)})
    for url, status in (("/admin/health", 403), ("/no-such-page", 404)):
        response = client.get(url)
        assert response.status_code == status
        response.status_code = 200  # the checks below are about the page, not the status
        check_page(world, "district", lang, url, response)


def test_the_checks_catch_untranslated_text_and_residue():
    """The checks above can fail: a Chinese msgid in an English page, 'None', braces."""
    page = Page(
        '<html lang="en"><title>x</title><p>登录</p><p>None</p><a title="{x}">{n}</a></html>'
    )
    assert untranslated(page.read_texts()) == ["登录"]
    assert residue("<p>{{ x }}</p>", page) == ["None", "{n}", "{{", "}}"]


def test_browser_language_applies_to_signed_in_pages(world: World):
    client = world.client("mentor")
    html = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert Page(html).lang == "en"
