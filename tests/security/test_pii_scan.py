"""No phone or ID-card number in logs or URLs; no unmasked one for roles that must not see it.

gunicorn runs as deployed (``deploy/gunicorn.conf.py``: 4 workers, the access log on, in its
format) on a copy of the demo world, with the app's own loggers at DEBUG. Then, over HTTP:

- forms that carry numbers are sent: a district's complete 推荐表 (a new mobile and ID), the
  same with a mistyped 12-digit mobile and an ID with a wrong check digit (the form comes back
  with errors), the same without a CSRF token (400), and an applicant's 推荐表 through a live
  invitation link;
- error pages are triggered for every visitor (404, 405, 400);
- every visitor of the access matrix opens every GET sample of the matrix, then follows the
  same-host links of those pages one level (at most :data:`PER_ENDPOINT` per endpoint).

Every answer carries the security headers (and ``no-store`` for a signed-in visitor). Then
gunicorn's whole output (error log, access log, app log), every URL requested, every
``Location`` header and every href/src/action of every page are scanned for the phone and ID
numbers of the demo workbook and of the forms (as substrings), and for anything shaped like a
mobile number or a valid GB 11643 ID number: none may appear. Every page body (and every xlsx
export's cells) a visitor outside
``REVEAL_ROLES`` receives is checked for numbers they may not see in full (district staff see
their own district's nominees; nobody else but the admins sees the new 推荐表's numbers).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
import requests
from werkzeug.exceptions import HTTPException

from tests._demo import REVEAL_ROLES, ROLES, Template, World
from tests.nominations._helpers import form_data, id_number, set_window
from tests.security import _live
from tests.test_access_matrix import ACCESS
from tests.test_security_headers import EXPECTED, STRICT_REFERRER

pytestmark = pytest.mark.slow
pytest_plugins = ["tests._demo"]

PER_ENDPOINT = 2  # links followed per endpoint and visitor (a list links every record)
# born on form_data's birth date (1976-03-12), a woman (even 17th digit), like form_data's
NEW_PHONE, NEW_ID = "13957100066", id_number("33010219760312066")
BAD_PHONE = "139571000881"  # 12 digits: the form refuses it; its first 11 look like a mobile
BAD_ID = NEW_ID[:-1] + ("0" if NEW_ID[-1] != "0" else "1")  # wrong check character
APPLICANT_PHONE, APPLICANT_ID = "13957100055", id_number("33010219760312088")
SUBMITTED = {NEW_PHONE, NEW_ID, BAD_PHONE[:11], BAD_ID, APPLICANT_PHONE, APPLICANT_ID}
URL_ATTRS = {"href", "src", "action", "formaction"}


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_text(data: bytes) -> str:
    """Every XML part of a workbook (cells, shared strings), as text."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return "\n".join(
            z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml")
        )


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []  # every URL-valued attribute
        self.follow: list[str] = []  # a/link hrefs and src

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None or not (name in URL_ATTRS or name.endswith("-url")):
                continue
            self.urls.append(value)
            if name == "src" or (name == "href" and tag in {"a", "link"}):
                self.follow.append(value)


@dataclass
class Seen:
    urls: list[str] = field(default_factory=list)  # every URL requested, query included
    locations: list[str] = field(default_factory=list)
    attrs: list[str] = field(default_factory=list)
    bodies: list[tuple[str, str, str]] = field(default_factory=list)  # (visitor, url, text)
    statuses: Counter[int] = field(default_factory=Counter)
    headers: list[tuple[str, str, int, dict[str, str]]] = field(default_factory=list)


def fetch(live: _live.Live, seen: Seen, visitor: str, cookie: str | None, url: str) -> list[str]:
    """GET ``url`` as ``visitor``; record it; return the same-host links of the page."""
    seen.urls.append(url)
    answer = requests.get(
        live.base + url,
        cookies={_live.COOKIE: cookie} if cookie else None,
        allow_redirects=False,
        timeout=120,
    )
    seen.statuses[answer.status_code] += 1
    seen.headers.append((visitor, url, answer.status_code, dict(answer.headers)))
    if "Location" in answer.headers:
        seen.locations.append(answer.headers["Location"])
    mime = answer.headers.get("Content-Type", "")
    if mime.startswith(XLSX):  # an export: what its cells say
        seen.bodies.append((visitor, url, xlsx_text(answer.content)))
        return []
    if not mime.startswith(("text/", "application/json")):
        return []
    text = answer.text
    seen.bodies.append((visitor, url, text))
    if not mime.startswith("text/html"):
        return []
    parser = Links()
    parser.feed(text)
    seen.attrs.extend(parser.urls)
    links = []
    for link in parser.follow:
        absolute = urljoin(live.base + url, link)
        parts = urlsplit(absolute)
        if parts.scheme == "http" and parts.netloc == urlsplit(live.base).netloc:
            links.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return links


def endpoint_of(world: World, url: str) -> str:
    parts = urlsplit(url)
    try:
        endpoint, _args = world.app.url_map.bind("localhost").match(parts.path, method="GET")
    except HTTPException:
        return "?" + parts.path
    return str(endpoint)


def crawl(world: World, live: _live.Live, seen: Seen, visitor: str, cookie: str | None) -> None:
    """Every GET sample of the matrix, then one level of links (see the module docstring)."""
    samples = sorted({world.url(e, v) for (e, m, v) in ACCESS if m == "GET"})
    with ThreadPoolExecutor(max_workers=live.workers) as pool:
        found = pool.map(lambda u: fetch(live, seen, visitor, cookie, u), samples)
        links = sorted({link for page in found for link in page} - set(samples))
        per_endpoint: Counter[str] = Counter()
        follow = []
        for link in links:
            endpoint = endpoint_of(world, link)
            if endpoint not in ("auth.logout", "static") and per_endpoint[endpoint] < PER_ENDPOINT:
                per_endpoint[endpoint] += 1
                follow.append(link)
        list(pool.map(lambda u: fetch(live, seen, visitor, cookie, u), follow))


def session_for(live: _live.Live, cookie: str | None) -> tuple[requests.Session, str]:
    """A session carrying ``cookie`` and a CSRF token of it (from a page with a form)."""
    s = requests.Session()
    if cookie:
        s.cookies.set(_live.COOKIE, cookie)
    page = s.get(live.base + "/auth/reset/request", timeout=30)
    renewed = page.cookies.get(_live.COOKIE)  # the session now holds a CSRF secret
    if renewed:
        s.cookies.clear()
        s.cookies.set(_live.COOKIE, renewed)
    return s, _live.csrf_of(page.text)


def send_forms(world: World, live: _live.Live, seen: Seen) -> dict[str, int]:
    """The forms that carry numbers; returns the status of each."""
    district, token = session_for(live, world._cookies["district"])
    full = form_data(world, name="扫描测试人", phone=NEW_PHONE, id_number=NEW_ID)
    bad = form_data(world, name="扫描测试人乙", phone=BAD_PHONE, id_number=BAD_ID)
    statuses = {}

    def post(s: requests.Session, name: str, url: str, data: dict[str, str]) -> None:
        seen.urls.append(url)
        answer = s.post(live.base + url, data=data, allow_redirects=False, timeout=60)
        statuses[name] = answer.status_code
        if "Location" in answer.headers:
            seen.locations.append(answer.headers["Location"])
        seen.bodies.append(("form:" + name, url, answer.text))
        parser = Links()
        parser.feed(answer.text)
        seen.attrs.extend(parser.urls)

    post(district, "saved", "/nominations/new", {**full, "csrf_token": token})
    post(district, "invalid", "/nominations/new", {**bad, "csrf_token": token})
    post(district, "no-csrf", "/nominations/new", full)
    applicant = form_data(world, name="扫描申报人", phone=APPLICANT_PHONE, id_number=APPLICANT_ID)
    for key in ("cohort", "route", "recommending_unit"):
        applicant.pop(key)
    invite = f"/nominations/invite/{world.samples.extra['invite_tokens']['fresh']}"
    s = requests.Session()
    page = s.get(live.base + invite, timeout=30)
    post(s, "invitation", invite, {**applicant, "csrf_token": _live.csrf_of(page.text)})
    return statuses


def trigger_errors(live: _live.Live, seen: Seen, visitor: str, cookie: str | None) -> None:
    s, token = session_for(live, cookie)
    for url in ("/no-such-page", "/nominations/N-missing", "/auth/logout"):
        seen.urls.append(url)
        seen.statuses[s.get(live.base + url, allow_redirects=False, timeout=30).status_code] += 1
    body = urlencode({"lang": "en", "next": "/", "phone": NEW_PHONE}).encode()
    seen.statuses[s.post(live.base + "/lang", data=body, timeout=30).status_code] += 1


@pytest.fixture(scope="module")
def scan(demo_template: Template, tmp_path_factory: pytest.TempPathFactory) -> Any:
    world = World(demo_template, tmp_path_factory.mktemp("pii-scan"))
    set_window(world)  # the 推荐 window is open, so the district's 推荐表 is saved
    world.db.sync()
    world.close()
    seen = Seen()
    with _live.serve(world.folder / "instance", workers=4) as live:
        statuses = send_forms(world, live, seen)
        for visitor in ROLES:
            cookie = None if visitor == "anonymous" else world._cookies[visitor]
            trigger_errors(live, seen, visitor, cookie)
            crawl(world, live, seen, visitor, cookie)
        log = live.log()
    world.close()
    (world.folder / "gunicorn-output.log").write_text(log)  # kept with the test's tmp files
    return world, seen, statuses, log


def needles(world: World) -> set[str]:
    return set(world.samples.pii) | SUBMITTED


def hits(texts: list[str], world: World) -> list[tuple[str, str]]:
    found = []
    for text in texts:
        for n in needles(world):
            if n in text:
                found.append((n, text[:200]))
        found += [(n, text[:200]) for n in _live.personal_numbers(text)]
    return found


def test_the_forms_did_what_they_should(scan):
    _world, seen, statuses, _log = scan
    errors = {
        v: re.findall(r'class="[^"]*error[^"]*"[^>]*>([^<]+)', t)
        for v, _u, t in seen.bodies
        if v.startswith("form:")
    }
    assert statuses == {"saved": 302, "invalid": 200, "no-csrf": 400, "invitation": 200}, errors


def test_the_crawl_covered_the_site(scan):
    world, seen, _statuses, log = scan
    print(len(seen.urls), "URLs", len(seen.bodies), "bodies", len(log.splitlines()), "log lines")
    assert len(seen.urls) > 8 * len({k for k in ACCESS if k[1] == "GET"})
    assert {200, 302, 403, 404, 405} <= set(seen.statuses), seen.statuses
    # the logs are really on: the access log has a line per request, the app log speaks
    assert log.count('"GET ') >= len(seen.urls) - 50
    assert re.search(r"(DEBUG|INFO) (mingxiao|blueprints|app|flask_wtf)", log), log[-2000:]
    # the demo numbers were really served: the admin's pages show them in full
    admin_pages = "".join(t for v, _u, t in seen.bodies if v == "admin")
    assert [n for n in world.samples.phones if n in admin_pages]
    assert [u for _v, u, t in seen.bodies if "sharedStrings" in t or "<sheetData" in t]


def test_logs_hold_no_phone_or_id_number(scan):
    world, _seen, _statuses, log = scan
    assert not hits(log.splitlines(), world)


def test_urls_hold_no_phone_or_id_number(scan):
    world, seen, _statuses, _log = scan
    assert not hits(seen.urls, world)
    assert not hits(seen.locations, world)


def test_links_and_forms_in_pages_hold_no_phone_or_id_number(scan):
    world, seen, _statuses, _log = scan
    assert seen.attrs and not hits(seen.attrs, world)


def test_roles_outside_reveal_roles_never_receive_a_full_number(scan):
    world, seen, _statuses, _log = scan
    s = world.samples
    shown = []
    for visitor, url, text in seen.bodies:
        if visitor in REVEAL_ROLES or visitor.startswith("form:"):
            continue
        forbidden = set(s.pii) - set(s.revealed.get(visitor, frozenset()))
        if visitor != "district":  # 上城区's new nominees: entered by it, or via its link
            forbidden |= {NEW_PHONE, NEW_ID, APPLICANT_PHONE, APPLICANT_ID}
        shown += [(visitor, url, n) for n in forbidden if n in text]
    assert not shown, shown[:20]


def test_logs_hold_no_one_time_link_secret(scan):
    """Reset and invitation links carry their secret in the path; the access log keeps the
    page (``/auth/reset/…``), not the secret, or whoever reads the logs could use the link."""
    world, seen, _statuses, log = scan
    secrets = {world.samples.reset_token, *world.samples.extra["invite_tokens"].values()}
    assert [u for u in seen.urls if any(t in u for t in secrets)]  # they were requested
    assert [line for line in log.splitlines() if any(t in line for t in secrets)] == []
    assert "/auth/reset/" in log and "/nominations/invite/" in log


def test_every_answer_of_the_live_server_carries_the_security_headers(scan):
    """The crawl through gunicorn, as deployed: the headers of tests/test_security_headers.py on
    every answer, and ``no-store`` on every answer to a signed-in visitor (static files aside)."""
    _world, seen, _statuses, _log = scan
    wrong = []
    for visitor, url, status, headers in seen.headers:
        got = {name: headers.get(name) for name in EXPECTED}
        if got["Referrer-Policy"] in STRICT_REFERRER:
            got["Referrer-Policy"] = EXPECTED["Referrer-Policy"]
        if got != EXPECTED:
            wrong.append((visitor, url, status, "headers"))
        signed_in = visitor != "anonymous"
        if (
            signed_in
            and not url.startswith("/static/")
            and headers.get("Cache-Control") != "no-store"
        ):
            wrong.append((visitor, url, status, headers.get("Cache-Control")))
    assert len(seen.headers) > 1000 and not wrong, wrong[:20]
