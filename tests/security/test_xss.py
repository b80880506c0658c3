"""An XSS corpus, sent through every form and typed straight into the workbook, rendered on
every page of every role: no payload may become an element, an event handler, a
``javascript:`` URL or evaluated template text (``{{7*7}}`` never shows as 49).

Two worlds, one per way in (each world renders every page once per role, ~20 s):

- **forms**: every role opens every page it may see and fills every text field of every form
  on it (POST forms: the real create/edit/review/decision forms, CSRF included; GET forms: the
  filters, whose values come back in the page) with payloads from the corpus; fields the
  server refuses (phone, dates…) get their old value back, or a plausible one, and the form is
  sent again. The main forms of each role must have saved their payloads. (The mentor fee
  form has no text field: funding entries get their payloads as sheet cells.)
- **sheet cells**: a person types the payloads into every text column of every tab of the
  workbook with openpyxl (as in Excel), the app reloads the file.

Then every GET page of the access matrix is rendered for every role and scanned with an HTML
parser (``_payloads.injected``); the printable pages (the PDFs' HTML source) are among them.
Exports must not be served as HTML.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode, urlsplit

import openpyxl
from werkzeug.exceptions import HTTPException

from mingxiao.sheetdb.types import GB11643_CHECK, GB11643_WEIGHTS
from tests._demo import ROLES, World
from tests.security._payloads import MARKER, XSS_PAYLOADS, injected, payload, short_payload
from tests.test_pages_render import pages_of

pytest_plugins = ["tests._demo"]

# POST forms the corpus is not sent through: signing in/out, passwords, the language switch,
# workbook administration and the file imports (tests/security/test_upload_attacks.py).
SKIP_POST = (
    "auth.",
    "core.set_language",
    "admin.backup",
    "admin.sync_now",
    "admin.incident",
    "nominations.import_",
    "curriculum.import_",
)
# Columns whose text is machinery, not words a person types (file names, lists of files,
# codes in URLs, clock times the schedule parses, the option lists themselves).
SKIP_COLUMNS = {
    "attachments",
    "file_ref",
    "evidence_file",
    "number",
    "verify_code",
    "start_time",
    "count_method",
}
SKIP_TABS = {"choices"}

# The main forms of each role that must have taken payloads (endpoint of the form's action).
MUST_SAVE = {
    "district": {"nominations.new", "nominations.edit"},
    "mentor": {"mentors.log_new", "mentors.log_edit", "deliverables.review"},
    "trainee": {"deliverables.plan_edit", "deliverables.new", "workshops.edit"},
    "admin": {
        "curriculum.session_new",
        "completion.assessment_detail",
        "completion.revoke",
        "mentors.new",
        "mentors.edit",
        "trainees.cohort_new",
        "nominations.publicity_open",
    },
}

# Forms that end a record's life (void, end, revoke, decide, return): sent after the role's
# other forms, so the edit forms of the same record are still there to fill.
LAST = (
    "mentors.log_void",
    "mentors.assignment_end",
    "completion.revoke",
    "trainees.decide_case",
    "trainees.propose_elimination",
    "nominations.return_",
)

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


# -- forms on a page ---------------------------------------------------------------------------


class Form:
    def __init__(self, method: str, action: str) -> None:
        self.method = method
        self.action = action
        # (name, kind, value, extra) — kind: text, textarea, hidden, select, check, file, other
        self.fields: list[dict[str, Any]] = []


class Forms(HTMLParser):
    """The forms of a page with their fields and current values."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._select: dict[str, Any] | None = None
        self._option: str | None = None
        self._textarea: dict[str, Any] | None = None
        self.invalid: set[str] = set()
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if a.get("aria-invalid") == "true" and a.get("name"):
            self.invalid.add(a["name"])
        if tag == "form":
            self.forms.append(Form(a.get("method", "get").lower(), a.get("action", "")))
            return
        if not self.forms:
            return
        form = self.forms[-1]
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            form.fields.append(
                {
                    "name": name,
                    "type": kind,
                    "value": a.get("value", ""),
                    "checked": "checked" in a,
                    "accept": a.get("accept", ""),
                    "required": "required" in a,
                }
            )
        elif tag == "textarea" and name:
            self._textarea = {"name": name, "type": "textarea", "value": ""}
            form.fields.append(self._textarea)
        elif tag == "select" and name:
            self._select = {"name": name, "type": "select", "value": None, "options": []}
            form.fields.append(self._select)
        elif tag == "option" and self._select is not None:
            value = a.get("value")
            self._option = value
            if value is not None:
                self._select["options"].append(value)
                if "selected" in a:
                    self._select["value"] = value

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea["value"] += data
        elif self._select is not None and self._option is None and data.strip():
            pass

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "option":
            self._option = None


def _id_card(body17: str) -> str:
    total = sum(int(d) * w for d, w in zip(body17, GB11643_WEIGHTS, strict=True))
    return body17 + GB11643_CHECK[total % 11]


_SERIAL = iter(range(100, 1000))


def new_id_card() -> str:
    """A valid resident ID number of someone born on 1975-06-01, a new one each time."""
    return _id_card(f"33010619750601{next(_SERIAL)}")


TEXT_TYPES = {"text", "search", "textarea", "url"}
PLAUSIBLE = (  # a value the server should accept for a field it refused, by name
    (("phone", "mobile"), "13812345678"),
    (("id_number",), ""),  # new_id_card()
    (("birth", "born"), "1975-06-01"),
    (("since",), "2015-09-01"),
    (("email",), "wang.xss@school.edu.cn"),
    (("end", "until"), "2026-12-31"),
    (("date", "_on", "deadline"), "2026-06-01"),
    (("time",), "09:00"),
    (("year",), "2026"),
    (
        (
            "hours",
            "count",
            "score",
            "amount",
            "quota",
            "weight",
            "fee",
            "words",
            "budget",
            "participants",
        ),
        "2",
    ),
)


def plausible(name: str, kind: str) -> str:
    if "id_number" in name:
        return new_id_card()
    for words, value in PLAUSIBLE[:6]:
        if any(w in name for w in words):
            return value
    by_type = {
        "date": "2026-06-01",
        "datetime-local": "2026-06-01T09:00",
        "time": "09:00",
        "number": "2",
        "email": "wang.xss@school.edu.cn",
        "tel": "13812345678",
        "url": "https://example.cn/",
    }
    if kind in by_type:
        return by_type[kind]
    for words, value in PLAUSIBLE:
        if any(w in name for w in words):
            return value
    return "测试"


def docx_bytes() -> bytes:
    from tests.test_uploads import docx

    return docx()


def form_data(form: Form, values: dict[str, str], attach: set[str] = frozenset()) -> dict[str, Any]:
    """What a browser would send for ``form``, with ``values`` typed over its fields."""
    data: dict[str, Any] = {}
    radios_done: set[str] = set()
    for f in form.fields:
        name, kind = f["name"], f["type"]
        if kind in ("submit", "button", "image", "reset"):
            continue
        if kind == "file":
            if name not in attach:
                continue
            if "docx" in f.get("accept", "") or not f.get("accept"):
                data[name] = (io.BytesIO(docx_bytes()), "xss.docx")
            else:
                data[name] = (io.BytesIO(PDF), "xss.pdf")
            continue
        if kind == "checkbox":
            if f["checked"]:
                data.setdefault(name, []).append(f["value"] or "y")
            continue
        if kind == "radio":
            if name in radios_done:
                continue
            group = [g for g in form.fields if g["name"] == name and g["type"] == "radio"]
            chosen = next((g for g in group if g["checked"]), group[0])
            data[name] = values.get(name, chosen["value"])
            radios_done.add(name)
            continue
        if kind == "select":
            current = f["value"]
            if current is None:
                current = next(
                    (o for o in f["options"] if o), f["options"][0] if f["options"] else ""
                )
            data[name] = values.get(name, current)
            continue
        data[name] = values.get(name, f["value"])
    return data


class Sender:
    """Sends the corpus through forms, counting which payloads each endpoint took."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.adapter = world.app.url_map.bind("localhost")
        self.next = 0
        self.saved: dict[str, set[str]] = {}  # role → endpoints whose POST was accepted
        self.tried: Counter[str] = Counter()
        self.refused: list[str] = []

    def endpoint(self, path: str, method: str) -> str | None:
        try:
            endpoint, _args = self.adapter.match(path, method=method)
        except HTTPException:
            return None
        return endpoint

    def fill(self, form: Form) -> dict[str, str]:
        values: dict[str, str] = {}
        for f in form.fields:
            if (
                f["type"] in TEXT_TYPES
                and f["name"] != "csrf_token"
                and "password" not in f["name"]
            ):
                values[f["name"]] = payload(self.next)
                self.next += 1
        return values

    def post(self, role: str, client: Any, page_url: str, form: Form) -> str | None:
        """Send the corpus through a POST form; the Location of an accepted post, else None."""
        action = urlsplit(form.action or page_url).path or page_url
        endpoint = self.endpoint(action, "POST")
        if endpoint is None or endpoint.startswith(SKIP_POST):
            return None
        typed = self.fill(form)
        if not typed:
            return None
        values = dict(typed)
        attach: set[str] = {f["name"] for f in form.fields if f["type"] == "file" and f["required"]}
        fields = {f["name"]: f for f in form.fields}
        last: list[str] = []
        errors: list[str] = []
        self.tried[endpoint] += 1
        for _attempt in range(8):
            response = client.post(action, data=form_data(form, values, attach))
            assert response.status_code < 500, f"{role} POST {action}: {response.status_code}"
            if response.status_code == 302:
                if any(MARKER in values.get(n, "") for n in typed):
                    self.saved.setdefault(role, set()).add(endpoint)
                return response.headers.get("Location")
            if response.status_code != 200:
                self.refused.append(f"{role} {endpoint} {response.status_code}")
                return None
            page = Forms(response.get_data(as_text=True))
            check_html(f"{role} POST {action} (form shown again)", response)
            if not page.invalid:
                errors = re.findall(
                    r"(?:flash--error|field__error)[^>]*>(.*?)</", response.get_data(as_text=True)
                )
                self.refused.append(f"{role} {endpoint}: refused without a field error {errors}")
                return None
            last = sorted(page.invalid)
            errors = re.findall(r"field__error[^>]*>(.*?)</", response.get_data(as_text=True))
            for name in page.invalid:
                f = fields.get(name)
                if f is None:
                    continue
                if f["type"] == "file":
                    attach.add(name)
                elif f["type"] == "select":
                    options = [o for o in f["options"] if o]
                    current = values.get(name, f["value"])
                    later = options[options.index(current) + 1 :] if current in options else options
                    if later:
                        values[name] = later[0]
                elif any(w in name for words, _v in PLAUSIBLE for w in words):
                    values[name] = plausible(name, f["type"])  # a number or a date, not words
                elif values.get(name) == typed.get(name):  # too long, maybe: a short payload
                    values[name] = short_payload(self.next)
                    self.next += 1
                elif name in typed and MARKER in values.get(name, ""):
                    values[name] = f["value"] or plausible(name, f["type"])
                else:
                    values[name] = plausible(name, f["type"])
        self.refused.append(f"{role} {endpoint}: still refused after 8 tries ({last} {errors})")
        return None

    def get(self, role: str, client: Any, page_url: str, form: Form) -> None:
        """A GET form (filters): the typed values come back in the page."""
        action = urlsplit(form.action or page_url).path or page_url
        if self.endpoint(action, "GET") is None:
            return
        typed = self.fill(form)
        if not typed:
            return
        data = {k: v for k, v in form_data(form, typed).items() if isinstance(v, str)}
        url = f"{action}?{urlencode(data)}"
        response = client.get(url)
        assert response.status_code < 500, f"{role} GET {url}: {response.status_code}"
        if response.status_code == 200:
            check_html(f"{role} GET {url}", response)


def check_html(where: str, response: Any) -> bool:
    """Scan an HTML answer; True when it was HTML."""
    if response.mimetype != "text/html":
        return False
    found = injected(response.get_data(as_text=True))
    assert not found, f"{where}: payload became markup: {found[:5]}"
    return True


def render_everything(world: World, *, strict: bool) -> Counter[str]:
    """Every GET page of every role, scanned; returns per role how many pages showed a payload
    as text. ``strict``: every page answers 200 (as in the access matrix), or redirects (an
    export refused because of the data) to a page that does; redirects are followed once, so
    flashed messages quoting the data are scanned too."""
    shown: Counter[str] = Counter()
    for role in ROLES:
        client = world.client(role)
        for endpoint, variant in pages_of(role):
            url = world.url(endpoint, variant)
            response = client.get(url)
            where = f"{role} {url}"
            if response.status_code == 302:
                location = response.headers["Location"]
                assert location.startswith("/"), f"{where}: redirect to {location}"
                response = client.get(location)
                where += f" → {location}"
            if strict:
                assert response.status_code == 200, f"{where}: {response.status_code}"
            else:
                assert response.status_code in (200, 302, 403, 404, 410), (
                    f"{where}: {response.status_code}"
                )
            if response.status_code != 200:
                continue
            if check_html(where, response):
                if MARKER in response.get_data(as_text=True):
                    shown[role] += 1
            else:
                assert response.mimetype != "text/html"
                assert "html" not in response.headers.get("Content-Type", ""), where
    return shown


# -- the tests ---------------------------------------------------------------------------------


def test_the_scan_finds_a_payload_that_became_markup():
    """The check can fail: every corpus payload that is markup, pasted unescaped, is found."""
    from markupsafe import escape

    markup = [p for p in XSS_PAYLOADS if "<" in p or "javascript" in p.lower()]
    assert len(markup) >= 15
    for p in markup:
        if "<" in p and "&lt;" not in p and "＜" not in p and "\\u003c" not in p and "%3C" not in p:
            assert injected(f"<html><body><p>{p}</p></body></html>"), p
        escaped = str(escape(p))
        assert not injected(f'<p>{escaped}</p><input value="{escaped}">'), p
    assert injected('<a href=" java\tscript:alert(1)">x</a>')
    assert injected("<p>tpl49xss13</p>")
    assert not injected("<p>tpl{{7*7}}xss13</p>")


def _open_the_nomination_window(world: World) -> None:
    """The demo cohort's nomination window is closed: the city opens it (as in the matrix)."""
    client = world.client("admin")
    data = {**world.data("nominations.window"), "nomination_open": "y"}
    data["nomination_deadline"] = "2027-05-31"  # people born in 1975 are 52 then
    data["csrf_token"] = world.token(client)
    assert client.post(world.url("nominations.window"), data=data).status_code == 302


EDIT_LINK = re.compile(r'href="(/[^"?#]+/(?:edit|new))"')


def test_payloads_sent_through_every_form_never_become_markup(world: World):
    _open_the_nomination_window(world)
    sender = Sender(world)
    order = [
        "anonymous",
        "district",
        "district2",
        "expert",
        "mentor",
        "mentor2",
        "trainee",
        "admin",
    ]
    for role in order:
        client = world.client(role)
        queue = [world.url(e, v) for e, v in pages_of(role)]
        seen: set[str] = set()
        last: list[tuple[str, Form]] = []
        while queue:
            url = queue.pop(0)
            if url in seen:
                continue
            seen.add(url)
            response = client.get(url)
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            html = response.get_data(as_text=True)
            check_html(f"{role} {url}", response)
            for form in Forms(html).forms:
                if form.method != "post":
                    sender.get(role, client, url, form)
                    continue
                if sender.endpoint(urlsplit(form.action or url).path, "POST") in LAST:
                    last.append((url, form))
                    continue
                location = sender.post(role, client, url, form)
                if location and location.startswith("/") and location not in seen:
                    queue.append(location)  # the record just made: its page and edit forms
            if url not in {world.url(e, v) for e, v in pages_of(role)}:
                queue += [link for link in EDIT_LINK.findall(html) if link not in seen]
        for url, form in last:
            sender.post(role, client, url, form)
    missing = {
        role: sorted(must - sender.saved.get(role, set()))
        for role, must in MUST_SAVE.items()
        if must - sender.saved.get(role, set())
    }
    assert not missing, (
        f"forms that did not take the payloads: {missing}; refused: {sender.refused}"
    )
    world.db.sync()
    shown = render_everything(world, strict=False)
    for role in MUST_SAVE:
        assert shown[role] > 0, f"{role}: no page shows a payload (did anything get saved?)"


def _type_payloads_into_the_workbook(world: World) -> int:
    """A person types the corpus into every text column of every tab (openpyxl, like Excel)."""
    db = world.db
    texts: dict[str, set[str]] = {}
    for schema in db.schemas:
        if schema.key in SKIP_TABS:
            continue
        headers = {
            c.header
            for c in schema.columns
            if c.type in ("text", "long_text") and c.key not in SKIP_COLUMNS
        }
        if headers:
            texts[schema.title] = headers
    wb = openpyxl.load_workbook(world.workbook)
    typed = 0
    for title, headers in texts.items():
        if title not in wb.sheetnames:
            continue
        ws = wb[title]
        columns = [cell.column for cell in ws[1] if cell.value in headers]
        for row in ws.iter_rows(min_row=2, max_row=ws.max_row):
            if all(c.value in (None, "") for c in row):
                continue
            for col in columns:
                cell = ws.cell(row=row[0].row, column=col)
                cell.value = payload(row[0].row + col)
                cell.data_type = "s"
                typed += 1
    # One row per tab gets payloads in its typed columns too (dates, numbers, choices, phone…):
    # the health page then quotes those cells in its problem messages.
    urls = " ".join(world.url(e, v) + "/" for role in ROLES for e, v in pages_of(role))
    for schema in db.schemas:
        if schema.key in SKIP_TABS | {"users"} or schema.title not in wb.sheetnames:
            continue
        ws = wb[schema.title]
        header = {cell.value: cell.column for cell in ws[1] if cell.value}
        typed_cols = [
            header[c.header]
            for c in schema.columns
            if c.header in header and c.key != "id" and c.type not in ("text", "long_text", "ref")
        ]
        rows = [
            r[0].row
            for r in ws.iter_rows(min_row=2)
            if r[header["编号"] - 1].value and f"/{r[header['编号'] - 1].value}/" not in urls
        ]
        if rows and typed_cols:
            for i, col in enumerate(typed_cols):
                ws.cell(row=rows[0], column=col).value = payload(i)
                typed += 1
    # A tab and a column of a person's own, named with payloads.
    own = wb.create_sheet("<svg onload=alert('xss24')>")
    own.append(["<img src=x onerror=alert('xss25')>", "说明"])
    own.append(["<script>alert('xss26')</script>", "x"])
    trainees = wb[db.schemas["trainees"].title]
    extra = trainees.max_column + 1
    trainees.cell(row=1, column=extra).value = "<img src=x onerror=alert('xss27')>"
    trainees.cell(row=2, column=extra).value = "<script>alert('xss28')</script>"
    tmp = world.workbook.with_name("edited.xlsx.tmp")
    wb.save(tmp)
    tmp.replace(world.workbook)
    return typed


def test_payloads_typed_into_sheet_cells_never_become_markup(world: World):
    typed = _type_payloads_into_the_workbook(world)
    assert typed > 500
    world.db.sync()
    trainees = world.db.table("trainees").all()
    corpus = {p.strip() for p in XSS_PAYLOADS}  # the app trims cells
    assert trainees and all(t["name"] in corpus for t in trainees)
    assert len(world.db.health()) > 20  # the hand-typed rows are reported, quoting the cells
    shown = render_everything(world, strict=True)
    assert all(shown[role] > 0 for role in ROLES if role != "anonymous"), shown
