"""Upload attacks through the real routes: every form of the site that takes a file.

tests/test_uploads.py proves the upload helper (mingxiao/uploads.py) against crafted files; here
the same kinds of files go through the HTTP routes, as the person who may use each form, with a
form that is otherwise valid (so the file is the only thing wrong):

- a zip bomb (a .docx/.xlsx with a 30 MB member compressed to a few KB), billion laughs in an
  OOXML part, wrong magic bytes (a Windows .exe, an HTML page, an SVG renamed .pdf/.docx/.xlsx),
  file types outside the allowlist (.html, .svg, .exe), path traversal in the file name
  (``../../etc/passwd.docx``, absolute paths, backslashes, NUL), a file over the per-upload
  limit and a request over ``MAX_CONTENT_LENGTH``;
- each is refused with a Chinese message naming the problem (on the form, or the 413 page);
- nothing is written: no file in or outside the upload folder (no ``.part`` left behind), no
  row in the workbook, no operation in the journal; the site keeps answering.

A control per form shows the same form with a harmless file is accepted, so the refusals are
the file's. ``test_the_server_survives_upload_attacks`` sends the worst ones to gunicorn.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import requests

from tests._demo import World, app_config
from tests.conftest import csrf_token
from tests.security.test_xss import Forms, plausible
from tests.test_uploads import BILLION_LAUGHS, PDF, docx

pytest_plugins = ["tests._demo"]

MB = 1024 * 1024
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
HTML = b"<!DOCTYPE html><html><body><script>alert('xss')</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'


def xlsx(members: dict[str, bytes | str] | None = None) -> bytes:
    """A real workbook (openpyxl), with ``members`` added to the package."""
    wb = openpyxl.Workbook()
    wb.active.append(["学员编号", "姓名", "出勤情况"])
    buf = io.BytesIO()
    wb.save(buf)
    if not members:
        return buf.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info.filename))
        for name, data in members.items():
            dst.writestr(name, data)
    return out.getvalue()


ZEROS = b"\0" * (30 * MB)


@dataclass(frozen=True)
class Attack:
    name: str
    filename: str
    data: Callable[[], bytes]
    says: str  # a word of the Chinese message that names the problem


def attacks(kind: str) -> list[Attack]:
    """The attacks on a form that takes ``kind`` files (docx, pdf or xlsx)."""
    package = docx if kind != "xlsx" else xlsx
    ooxml = kind if kind in ("docx", "xlsx") else "docx"
    laughs = (
        docx(document=BILLION_LAUGHS)
        if ooxml == "docx"
        else xlsx({"xl/laughs.xml": BILLION_LAUGHS})
    )
    bomb_member = "word/media/zeros.bin" if ooxml == "docx" else "xl/media/zeros.bin"
    return [
        Attack("zip bomb", f"报告.{ooxml}", lambda: package({bomb_member: ZEROS}), "压缩炸弹"),
        Attack("billion laughs", f"报告.{ooxml}", lambda: laughs, "XML"),
        Attack("exe renamed", f"报告.{kind}", lambda: EXE, "不符"),
        Attack("html renamed", f"报告.{kind}", lambda: HTML, "不符"),
        Attack("svg renamed", f"报告.{kind}", lambda: SVG, "不符"),
        Attack("html page", "报告.html", lambda: HTML, "不支持"),
        Attack("svg image", "报告.svg", lambda: SVG, "不支持"),
        Attack("exe", "setup.exe", lambda: EXE, "不支持"),
        Attack("traversal", f"../../etc/passwd.{kind}", lambda: HTML, "不符"),
        Attack("absolute", f"/etc/passwd.{kind}", lambda: EXE, "不符"),
        Attack("backslashes", f"..\\..\\..\\Windows\\win.{kind}", lambda: HTML, "不符"),
        Attack("NUL", f"报告.html\x00.{kind}", lambda: HTML, "不符"),
        Attack("traversal to html", "../../static/x.html", lambda: HTML, "不支持"),
    ]


@dataclass(frozen=True)
class Route:
    endpoint: str
    role: str
    field: str  # the file input
    kind: str  # the kind of file it takes (for the attacks and the control)
    control: bool = True  # a harmless file is accepted (imports read the sheet first: no)


ROUTES = (
    Route("nominations.new", "district", "attachments", "pdf"),
    Route("deliverables.new", "trainee", "file_ref", "docx"),
    Route("nominations.invite", "anonymous", "attachments", "pdf"),
    Route("deliverables.resubmit", "trainee", "file_ref", "docx"),
    Route("trainees.propose_elimination", "admin", "evidence_file", "pdf"),
    Route("nominations.import_upload", "district", "file", "xlsx", control=False),
    Route("curriculum.import_upload", "admin", "file", "xlsx", control=False),
)


def open_nomination_window(world: World) -> None:
    client = world.client("admin")
    data = {**world.data("nominations.window"), "nomination_open": "y"}
    data.update(nomination_deadline="2027-05-31", csrf_token=world.token(client))
    assert client.post(world.url("nominations.window"), data=data).status_code == 302


def valid_form(world: World, route: Route) -> tuple[str, dict[str, Any]]:
    """The route's URL and a form that passes every check but the file's."""
    client = world.client(route.role)
    url = world.url(route.endpoint)
    page = client.get(url)
    assert page.status_code == 200, (route, page.status_code, page.headers.get("Location"))
    html = page.get_data(as_text=True)
    form = next(f for f in Forms(html).forms if any(x["name"] == route.field for x in f.fields))
    data: dict[str, Any] = {}
    for f in form.fields:
        name, kind = f["name"], f["type"]
        if kind in ("submit", "button", "file"):
            continue
        if kind == "checkbox":
            data[name] = f["value"] or "y"
        elif kind == "radio":
            data.setdefault(name, f["value"])
        elif kind == "select":
            options = [o for o in f["options"] if o]
            data[name] = f["value"] or (options[0] if options else "")
            if name == "cohort":  # the cohort whose nomination window is open
                data[name] = world.samples.records["cohorts"]["admin"]
        else:
            data[name] = f["value"] or plausible(name, kind)
    data["csrf_token"] = csrf_token(html)
    if "evidence" in data:
        data["evidence"] = "累计缺勤 58 学时，超过 270 学时的五分之一（54 学时）"
    if route.endpoint.startswith("deliverables."):
        data.update(char_count="", manual_count_reason="")  # counted from the file
    return url, data


def files_under(folder: Path) -> dict[str, int]:
    """Every file under ``folder`` but the databases' own (journal, credentials, their WAL)."""
    return {
        str(p.relative_to(folder)): p.stat().st_size
        for p in folder.rglob("*")
        if p.is_file() and not re.search(r"\.sqlite3(-wal|-shm|-journal)?$|\.lock$", p.name)
    }


def state(world: World) -> dict[str, Any]:
    fp = world.fingerprint()
    return {"workbook": fp["workbook"], "ops": fp["ops"], "files": files_under(world.folder)}


def post_file(world: World, route: Route, url: str, data: dict[str, Any], name: str, body: bytes):
    client = world.client(route.role)
    return client.post(
        url,
        data={**data, route.field: (io.BytesIO(body), name)},
        content_type="multipart/form-data",
    )


def refusal_text(response: Any) -> str:
    body = response.get_data(as_text=True)
    return " ".join(re.findall(r'class="(?:field__error|flash flash--error)"[^>]*>(.*?)</', body))


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.endpoint)
def test_hostile_files_are_refused_by_every_upload_form(world: World, route: Route):
    if route.endpoint.startswith("nominations."):
        open_nomination_window(world)
    url, data = valid_form(world, route)
    before = state(world)
    for attack in attacks(route.kind):
        response = post_file(world, route, url, data, attack.filename, attack.data())
        where = f"{route.endpoint} {attack.name}"
        assert response.status_code == 200, f"{where}: {response.status_code}"
        message = refusal_text(response)
        assert attack.says in message, f"{where}: {message!r}"
        assert re.search(r"[\u4e00-\u9fff]", message), where
        assert state(world) == before, f"{where}: something was written"
    assert not Path("/etc/passwd.docx").exists() and not Path("/etc/passwd.pdf").exists()

    # Over the per-upload limit (UPLOAD_MAX_BYTES) but within the request limit: the form says so.
    limit = world.app.config["UPLOAD_MAX_BYTES"]
    big = (
        b"%PDF-1.4\n" + b"0" * (limit + 64 * 1024)
        if route.kind == "pdf"
        else b"PK" * ((limit // 2) + 32 * 1024)
    )
    response = post_file(world, route, url, data, f"大文件.{route.kind}", big)
    assert response.status_code == 200 and "上限" in refusal_text(response), route.endpoint
    # Over MAX_CONTENT_LENGTH: the whole request is refused, with the Chinese 413 page.
    huge = b"0" * (world.app.config["MAX_CONTENT_LENGTH"] + MB)
    response = post_file(world, route, url, data, f"超大.{route.kind}", huge)
    assert response.status_code == 413
    assert "文件太大" in response.get_data(as_text=True)
    assert state(world) == before, f"{route.endpoint} oversize: something was written"
    assert world.client(route.role).get("/healthz").status_code == 200

    if route.control:  # the same form with a harmless file goes through
        good = docx() if route.kind == "docx" else PDF
        _url, fresh = valid_form(world, route)
        response = post_file(world, route, url, fresh, f"../../正常.{route.kind}", good)
        # accepted: a redirect, or (invitation link) the thank-you page
        assert response.status_code in (200, 302) and not refusal_text(response), refusal_text(
            response
        )
        after = state(world)
        assert after["workbook"] != before["workbook"] or after["ops"] != before["ops"]
        new = set(after["files"]) - set(before["files"])
        uploads = Path(world.app.config["UPLOAD_FOLDER"]).relative_to(world.folder)
        stored = [n for n in new if not n.endswith(".json")]
        assert len(stored) == 1, new  # under a random name, inside the upload folder
        assert re.fullmatch(rf"{re.escape(str(uploads))}/[0-9a-f]{{32}}\.{route.kind}", stored[0])


def test_a_traversal_name_is_kept_only_as_a_clean_label(world: World):
    """A harmless file with a hostile name: stored under a random name in the upload folder;
    the name people see has no path in it."""
    route = next(r for r in ROUTES if r.endpoint == "deliverables.new")
    url, data = valid_form(world, route)
    name = "..\\..\\..\\etc/cron.d/结题报告.docx"
    response = post_file(world, route, url, data, name, docx())
    assert response.status_code == 302
    detail = world.client("trainee").get(response.headers["Location"]).get_data(as_text=True)
    assert "结题报告.docx" in detail and "cron.d" not in detail and "../" not in detail
    assert not Path("/etc/cron.d/结题报告.docx").exists()
    uploads = Path(world.app.config["UPLOAD_FOLDER"])
    assert [p.name for p in uploads.iterdir() if p.suffix == ".docx" and "cron" in p.name] == []


@pytest.mark.slow
def test_the_server_survives_upload_attacks(world: World, tmp_path: Path):
    """Bombs, billion laughs and an oversize body through gunicorn (real HTTP, 2 workers)."""
    from tests._servers import start_gunicorn

    config = dict(world.app.config)
    world.close()
    settings = app_config(world.folder)
    with start_gunicorn(f"app:create_app({settings!r})", workers=2) as base:
        session = requests.Session()
        host = base.split("//", 1)[1].split(":", 1)[0]
        cookie = world._cookies["trainee"]
        session.cookies.set(config["SESSION_COOKIE_NAME"], cookie, domain=host, path="/")
        page = session.get(f"{base}/deliverables/new", timeout=30)
        assert page.status_code == 200
        token = csrf_token(page.text)
        form = Forms(page.text).forms
        kind = next(f for form_ in form for f in form_.fields if f["name"] == "kind")
        data = {
            "csrf_token": token,
            "kind": [o for o in kind["options"] if o][0],
            "title": "结题报告",
        }
        cases = [
            ("bomb.docx", docx({"word/media/zeros.bin": ZEROS}), 200, "压缩炸弹"),
            ("laughs.docx", docx(document=BILLION_LAUGHS), 200, "XML"),
            ("fake.docx", HTML, 200, "不符"),
            ("huge.docx", b"0" * (config["MAX_CONTENT_LENGTH"] + MB), 413, "文件太大"),
        ]
        for name, body, status, says in cases:
            r = session.post(
                f"{base}/deliverables/new", data=data, files={"file_ref": (name, body)}, timeout=60
            )
            assert r.status_code == status, (
                name,
                r.status_code,
                re.findall(r"<(?:p|h1)[^>]*>([^<]*)<", r.text),
            )
            assert says in r.text, name
            assert requests.get(f"{base}/healthz", timeout=10).status_code == 200
        uploads = world.folder / "instance" / "uploads"
        assert not [p for p in uploads.rglob("*") if p.is_file() and p.suffix in (".docx", ".part")]


def test_a_text_file_full_of_html_is_served_as_a_download_never_as_a_page(world: World):
    """A .txt may hold any text, markup included: it is stored, and served back as an
    attachment that browsers must not sniff into HTML."""
    route = next(r for r in ROUTES if r.endpoint == "deliverables.new")
    url, data = valid_form(world, route)
    response = post_file(world, route, url, data, "日志.txt", HTML)
    assert response.status_code == 302, refusal_text(response)
    deliverable = response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    download = world.client("trainee").get(f"/deliverables/{deliverable}/file")
    assert download.status_code == 200 and download.data == HTML
    assert download.mimetype == "text/plain"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
