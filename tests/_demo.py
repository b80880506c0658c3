"""A small demo world for page-level tests: the access matrix, CSRF, page rendering, admin pages.

Building the demo workbook takes seconds, so it is built ONCE per test session (once per xdist
worker) into a template instance folder, together with everything the route samples need:

- the demo accounts of ``sheetdb.demo.DEMO_LOGINS`` with the demo password;
- a backup (``samples.backup``);
- two parked conflicts, one authored by the 上城区 district account on a 上城区 nomination and
  one by the first mentor on a mentoring log of one of their trainees (``samples.conflicts``);
- an open stale-copy incident: two rows the app wrote vanished when an older copy of the
  workbook was put back (``samples.incident``);
- one pending operation (an insert nobody synced yet, ``samples.pending_seq``);
- an unused password-reset token for the trainee account (``samples.reset_token``);
- record ids per owner, for record-level routes (``samples.records``).

Each test copies that folder and gets its own app (:class:`World`, fixtures ``world`` and
``new_world``), with the background flusher off so nothing changes unless a request (or the
test) changes it. Use it from a test module with ``pytest_plugins = ["tests._demo"]``.

Each role signs in through the login form once, on the template; ``World.client(role)`` carries
that session cookie (valid in every copy: same secret key, same session versions), since logins
write to the credential store and those writes' fsyncs dominated the run time.
``World.login(role)`` makes a fresh sign-in when a test needs a second session. Password hashing
uses cheap argon2 parameters here (the store's ``hasher``): these tests are about access, not
hash strength (tests/test_auth.py covers that).

PYTEST_DONT_REWRITE: test modules import this file before pytest would load it as a plugin.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from argon2 import PasswordHasher
from flask import Flask, url_for
from flask.testing import FlaskClient
from openpyxl import load_workbook
from werkzeug.test import TestResponse

from app import create_app
from mingxiao.auth import EXTENSION_KEY, ensure_demo_accounts
from mingxiao.cli import DEMO_PASSWORD
from mingxiao.database import close_db, get_db
from mingxiao.sheetdb import demo as demo_data
from tests.conftest import AuthActions, csrf_token, make_config

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
NO_AUTOFLUSH = {"autoflush": False}
NEW_PASSWORD = "a brand new passphrase 2027"

DISTRICT = "上城区"
DISTRICT2 = "西湖区"

# The people of the matrix: the demo login of each role, plus a second district and mentor.
ROLE_EMAILS: dict[str, str] = {
    "admin": demo_data.ADMIN_EMAIL,
    "district": f"district.shangcheng@{demo_data.DEMO_DOMAIN}",
    "district2": f"district.xihu@{demo_data.DEMO_DOMAIN}",
    "expert": demo_data.EXPERT_EMAIL,
    "mentor": demo_data.MENTOR_EMAIL,
    "mentor2": demo_data.MENTOR2_EMAIL,
    "trainee": demo_data.TRAINEE_EMAIL,
}
ROLES: tuple[str, ...] = ("anonymous", *ROLE_EMAILS)

# Roles allowed to see full phone and ID-card numbers in pages (everyone else sees masks).
REVEAL_ROLES = frozenset({"admin"})
PII_TYPES = frozenset({"phone", "id_card"})

CONFLICT_FIELDS = {  # author role → (sheet, field) of the parked conflict they authored
    "district": ("nominations", "school"),
    "mentor": ("mentoring_logs", "topic"),
}


@dataclass
class Conflict:
    """A parked update: what the form showed, what the sheet has now, what the author typed."""

    seq: int
    author: str
    sheet: str
    record_id: str
    field: str
    base: str
    theirs: Any
    mine: str


@dataclass
class Samples:
    """Real values from the template world, used as URL parameters and form data."""

    backup: str = ""
    conflicts: dict[str, Conflict] = field(default_factory=dict)
    incident: int = 0
    incident_rows: list[tuple[str, str]] = field(default_factory=list)
    pending_seq: int = 0
    reset_token: str = ""
    reset_email: str = ""
    # sheet → owner role → a record id that belongs to that owner (district, mentor, trainee)
    records: dict[str, dict[str, str]] = field(default_factory=dict)
    phones: frozenset[str] = frozenset()
    id_numbers: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()  # of the people in the demo data (accounts included)
    # role → phone and ID numbers that role may see in full (district staff: their nominees)
    revealed: dict[str, frozenset[str]] = field(default_factory=dict)
    # anything a feature's access module prepared (invitation tokens, objection ids…)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pii(self) -> frozenset[str]:
        """Phone and ID-card numbers: never in a page for roles outside REVEAL_ROLES."""
        return self.phones | self.id_numbers


@dataclass(frozen=True)
class Sample:
    """How to call one route: URL arguments and form data, built from :class:`Samples`."""

    args: Callable[[Samples], dict[str, Any]] = lambda s: {}
    data: Callable[[Samples], dict[str, Any]] = lambda s: {}


def _choose_mine(author: str) -> Callable[[Samples], dict[str, Any]]:
    return lambda s: {f"choice_{s.conflicts[author].field}": "mine"}


# endpoint → variant → Sample. Routes with URL parameters MUST have one (the tests say so);
# a route without parameters and without form data needs no entry. The variant names appear
# in the access matrix (e.g. the conflict of the district vs the conflict of the mentor).
ROUTE_SAMPLES: dict[str, dict[str, Sample]] = {
    "static": {"": Sample(args=lambda s: {"filename": "css/app.css"})},
    "admin.backup_download": {
        "": Sample(args=lambda s: {"name": s.backup}),
        "missing": Sample(args=lambda s: {"name": "workbook-19990101-00.xlsx"}),
    },
    "admin.backup_restore": {"": Sample(data=lambda s: {"name": s.backup, "confirm": "y"})},
    "admin.conflict": {
        author: Sample(
            args=lambda s, a=author: {"seq": s.conflicts[a].seq}, data=_choose_mine(author)
        )
        for author in CONFLICT_FIELDS
    },
    "admin.incident": {
        action: Sample(args=lambda s, a=action: {"incident_id": s.incident, "action": a})
        for action in ("reapply", "dismiss")
    },
    "auth.login": {
        "": Sample(data=lambda s: {"email": ROLE_EMAILS["trainee"], "password": DEMO_PASSWORD})
    },
    "auth.change_password": {
        "": Sample(
            data=lambda s: {
                "current_password": DEMO_PASSWORD,
                "new_password": NEW_PASSWORD,
                "confirm": NEW_PASSWORD,
            }
        )
    },
    "auth.reset": {
        "": Sample(
            args=lambda s: {"token": s.reset_token},
            data=lambda s: {"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        ),
        "unknown": Sample(args=lambda s: {"token": "no-such-token-" + "x" * 30}),
    },
    "auth.reset_request": {"": Sample(data=lambda s: {"email": ROLE_EMAILS["trainee"]})},
    "core.set_language": {"": Sample(data=lambda s: {"lang": "en", "next": "/"})},
    "nominations.detail": {
        "district": Sample(args=lambda s: {"nomination_id": s.records["nominations"]["district"]})
    },
    "nominations.edit": {
        "district": Sample(
            args=lambda s: {"nomination_id": s.records["nominations"]["district"]},
            data=lambda s: {"school": "改过的学校"},
        )
    },
    "nominations.stamp": {
        "district": Sample(args=lambda s: {"nomination_id": s.records["nominations"]["district"]})
    },
    "nominations.return_": {
        "district": Sample(
            args=lambda s: {"nomination_id": s.records["nominations"]["district"]},
            data=lambda s: {"return_reason": "请补充任职文件"},
        )
    },
    # reopening is the city's: the 上城区 record, which its own district may not reopen either
    "nominations.reopen": {
        "": Sample(
            args=lambda s: {"nomination_id": s.records["nominations"]["district"]},
            data=lambda s: {"status": "已退回", "reason": "材料需补正"},
        )
    },
    "nominations.new": {"": Sample(data=lambda s: {"name": "测试"})},
    "nominations.submit": {
        "": Sample(data=lambda s: {"cohort": s.records["cohorts"]["admin"], "district": DISTRICT})
    },
    "nominations.summary": {
        "": Sample(
            args=lambda s: {
                "fmt": "xlsx",
                "cohort": s.records["cohorts"]["admin"],
                "district": DISTRICT,
            }
        )
    },
    "nominations.window": {
        "": Sample(
            args=lambda s: {"cohort_id": s.records["cohorts"]["admin"]},
            data=lambda s: {"nomination_deadline": "2099-05-31", "quota": "50", "guide_0": "4"},
        )
    },
}


# -- per-feature access modules ---------------------------------------------------------------
# A feature adds its routes to the matrix in its own module ``tests/**/access_*.py`` instead of
# editing the tables here: ``SAMPLES`` (merged into ROUTE_SAMPLES), ``MATRIX`` (rows in the
# order of ``ROLES``, merged into the access matrix) and optionally ``prepare(app, db, samples)``
# (run while the template is built, after ``samples.records``, to create the records the
# samples need; store them in ``samples.extra``).


def _access_modules() -> list[Any]:
    import importlib

    root = Path(__file__).resolve().parent
    names = sorted(
        ".".join(("tests", *p.relative_to(root).with_suffix("").parts))
        for p in root.rglob("access_*.py")
    )
    return [importlib.import_module(n) for n in names]


ACCESS_MODULES = _access_modules()
EXTRA_MATRIX: dict[tuple[str, str, str], tuple[Any, ...]] = {}
for _module in ACCESS_MODULES:
    for _endpoint, _variants in getattr(_module, "SAMPLES", {}).items():
        _clash = set(_variants) & set(ROUTE_SAMPLES.get(_endpoint, {}))
        assert not _clash, f"{_module.__name__}: samples of {_endpoint} {_clash} already exist"
        ROUTE_SAMPLES.setdefault(_endpoint, {}).update(_variants)
    for _key, _row in getattr(_module, "MATRIX", {}).items():
        assert _key not in EXTRA_MATRIX, f"{_module.__name__}: row {_key} is already in the matrix"
        EXTRA_MATRIX[_key] = _row


def sample(endpoint: str, variant: str = "") -> Sample:
    """The sample of ``endpoint``: the named variant, else the default ("" or the first one),
    else the empty sample of a route without parameters."""
    variants = ROUTE_SAMPLES.get(endpoint, {})
    if variant:
        return variants[variant]
    return variants.get("") or next(iter(variants.values()), Sample())


def route_methods(app: Flask) -> set[tuple[str, str]]:
    """Every (endpoint, method) the app serves, HEAD and OPTIONS aside."""
    return {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }


def route_arguments(app: Flask) -> dict[str, set[str]]:
    """The URL parameters of each endpoint."""
    out: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        out.setdefault(rule.endpoint, set()).update(rule.arguments)
    return out


def app_config(folder: Path) -> dict[str, Any]:
    return make_config(folder, DATABASE_OPTIONS=NO_AUTOFLUSH)


def make_app(folder: Path) -> Flask:
    """An app on the instance folder ``folder/instance`` (cheap hashes, no flusher)."""
    app = create_app(app_config(folder))
    app.extensions[EXTENSION_KEY].hasher = FAST_HASHER
    return app


def is_login_redirect(response: TestResponse) -> bool:
    """A 302 to the login page with ``?next=``: what a protected route answers an anonymous visitor.

    (Logout and the reset pages also end on the login page, but without ``next``.)
    """
    if response.status_code != 302:
        return False
    parts = urlsplit(response.headers.get("Location", ""))
    return parts.path == "/auth/login" and "next" in parse_qs(parts.query)


def edit_cell(workbook: Path, title: str, record_id: str, header: str, value: Any) -> str:
    """Type ``value`` into a cell of the workbook as a person in Excel would; returns its address.

    The row is found by its id (column 编号), the column by its header (row 1); the file is
    saved beside the workbook and moved over it, like Office's own save.
    """
    wb = load_workbook(workbook)
    ws = wb[title]
    headers = {cell.value: cell.column for cell in ws[1] if cell.value}
    id_col = headers["编号"]
    for row in ws.iter_rows(min_row=2):
        if str(row[id_col - 1].value) == record_id:
            cell = ws.cell(row=row[0].row, column=headers[header])
            cell.value = value
            tmp = workbook.with_name("edited.xlsx.tmp")
            wb.save(tmp)
            tmp.replace(workbook)
            return f"{title}!{cell.coordinate}"
    raise AssertionError(f"{record_id} is not in {title}")


def read_row(workbook: Path, title: str, record_id: str) -> dict[str, Any] | None:
    """The row of ``record_id`` in the workbook file itself, header → cell value (None if absent)."""
    wb = load_workbook(workbook, read_only=True)
    try:
        rows = wb[title].iter_rows(values_only=True)
        headers = list(next(rows))
        id_col = headers.index("编号")
        for row in rows:
            if row and str(row[id_col]) == record_id:
                return dict(zip(headers, row, strict=False))
        return None
    finally:
        wb.close()


# -- the template ----------------------------------------------------------------------------


def _copy_values(record: dict[str, Any], schema: Any) -> dict[str, Any]:
    skip = {"id", "created_at", "updated_at", "voided"}
    return {k: v for k, v in record.items() if k in schema.keys and k not in skip}


def build_template(folder: Path) -> Samples:
    """Create the demo instance in ``folder/instance`` and return its samples."""
    app = make_app(folder)
    db = get_db(app)
    try:
        db.init(demo=True, scale=0.1)
        emails = ensure_demo_accounts(app, DEMO_PASSWORD)
        missing = set(ROLE_EMAILS.values()) - set(emails)
        assert not missing, f"DEMO_LOGINS lost {missing}: update ROLE_EMAILS in tests/_demo.py"
        s = Samples()

        # Records per owner, for record-level routes.
        users = {r["email"]: r for r in db.table("users").all()}
        mentor_ids = {role: users[ROLE_EMAILS[role]]["mentor"] for role in ("mentor", "mentor2")}
        trainee_of: dict[str, str] = {}
        for role, mid in mentor_ids.items():
            rows = db.table("mentor_assignments").where(mentor=mid)
            assert rows, f"the demo mentor {mid} has no trainee"
            trainee_of[role] = str(rows[0]["trainee"])
        s.records = {
            "nominations": {
                role: db.table("nominations").where(district=d)[0].id
                for role, d in (("district", DISTRICT), ("district2", DISTRICT2))
            },
            "cohorts": {
                "admin": str(db.table("nominations").where(district=DISTRICT)[0]["cohort"])
            },
            "trainees": {**trainee_of, "trainee": str(users[ROLE_EMAILS["trainee"]]["trainee"])},
            "mentoring_logs": {
                role: db.table("mentoring_logs").where(mentor=mentor_ids[role], trainee=tid)[0].id
                for role, tid in trainee_of.items()
            },
        }

        for module in ACCESS_MODULES:
            if hasattr(module, "prepare"):
                module.prepare(app, db, s)

        # Personal numbers and emails found in the demo data.
        phones, ids, mails = set(), set(), set()
        for schema in db.schemas:
            cols = [c for c in schema.columns if c.type in PII_TYPES | {"email"}]
            if not cols:
                continue
            for rec in db.table(schema.key).all(include_voided=True):
                for c in cols:
                    value = rec.get(c.key)
                    if value:
                        {"phone": phones, "id_card": ids, "email": mails}[c.type].add(str(value))
        s.phones, s.id_numbers, s.emails = frozenset(phones), frozenset(ids), frozenset(mails)
        s.revealed = {
            role: frozenset(
                str(r[k])
                for r in db.table("nominations").where(district=d)
                for k in ("phone", "id_number")
                if r.get(k)
            )
            for role, d in (("district", DISTRICT), ("district2", DISTRICT2))
        }
        assert s.phones and s.id_numbers, "the demo data should have phone and ID numbers"

        # A stale copy put back over the workbook: two rows the app wrote vanish.
        workbook = Path(app.config["WORKBOOK"])
        stale = workbook.read_bytes()
        logs = db.table("mentoring_logs")
        template_row = logs.get(s.records["mentoring_logs"]["mentor"])
        assert template_row is not None
        copies = logs.insert_many(
            [_copy_values(template_row, logs.schema)] * 2, user=ROLE_EMAILS["admin"]
        )
        db.sync()
        s.incident_rows = [("mentoring_logs", r.id) for r in copies]
        tmp = workbook.with_name("stale.xlsx.tmp")
        tmp.write_bytes(stale)
        tmp.replace(workbook)
        db.sync()
        incidents = db.incidents()
        assert len(incidents) == 1, incidents
        s.incident = int(incidents[0]["id"])

        # Two parked conflicts: the sheet changed the field the author's form also changed.
        for author, (sheet, fld) in CONFLICT_FIELDS.items():
            owner = "district" if sheet == "nominations" else author
            rid = s.records[sheet][owner]
            table = db.table(sheet)
            theirs = table.get(rid).get(fld)  # type: ignore[union-attr]
            base, mine = f"表单打开时的{fld}", f"{author}提交的{fld}"
            result = table.update(rid, {fld: mine}, base={fld: base}, user=ROLE_EMAILS[author])
            assert result.status == "parked" and result.op is not None, result
            s.conflicts[author] = Conflict(
                result.op.seq, author, sheet, rid, fld, base, theirs, mine
            )

        # A backup, and one operation left pending (nobody synced since).
        path = db.backup()
        assert path is not None
        s.backup = path.name
        pending = logs.insert(_copy_values(template_row, logs.schema), user=ROLE_EMAILS["mentor"])
        s.pending_seq = max(op.seq for op in db.pending())
        assert pending.id and db.pending()

        store = app.extensions[EXTENSION_KEY]
        s.reset_email = ROLE_EMAILS["trainee"]
        s.reset_token = store.create_reset_token(s.reset_email, ttl=7 * 24 * 3600)
        return s
    finally:
        close_db(app)


@dataclass
class Template:
    folder: Path
    samples: Samples
    cookies: dict[str, str] = field(default_factory=dict)  # role → session cookie


def sign_in_once(folder: Path) -> dict[str, str]:
    """Sign every role in through the login form once; their session cookies stay valid in
    every copy of the template (same secret key, same session versions)."""
    app = make_app(folder)
    try:
        cookies = {}
        for role, email in ROLE_EMAILS.items():
            client = app.test_client()
            response = AuthActions(client).login(email, DEMO_PASSWORD)
            assert response.status_code == 302 and not is_login_redirect(response), role
            cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
            assert cookie is not None, role
            cookies[role] = cookie.value
        return cookies
    finally:
        close_db(app)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """The demo instance, built once per session (per xdist worker)."""
    folder = tmp_path_factory.mktemp("demo-template")
    samples = build_template(folder)
    return Template(folder, samples, sign_in_once(folder))


# -- a world per test ------------------------------------------------------------------------


class World:
    """A private copy of the demo instance with its own app and one client per role."""

    def __init__(self, template: Template, folder: Path) -> None:
        shutil.copytree(template.folder / "instance", folder / "instance")
        self.folder = folder
        self.samples = template.samples
        self._cookies = template.cookies
        self.app = make_app(folder)
        self._clients: dict[str, FlaskClient] = {}

    @property
    def db(self) -> Any:
        return get_db(self.app)

    @property
    def workbook(self) -> Path:
        return Path(self.app.config["WORKBOOK"])

    def close(self) -> None:
        close_db(self.app)

    def login(self, role: str) -> FlaskClient:
        """A new client signed in as ``role`` through the login form (anonymous: not signed in)."""
        client = self.app.test_client()
        if role != "anonymous":
            response = AuthActions(client).login(ROLE_EMAILS[role], DEMO_PASSWORD)
            assert response.status_code == 302 and not is_login_redirect(response), (
                f"{role} could not sign in: {response.status_code}"
            )
        return client

    def client(self, role: str) -> FlaskClient:
        """The world's client of ``role``, carrying the session cookie of the role's sign-in
        through the login form (made once per session on the template: logins write to the
        credential store, and fsyncs are what makes these tests slow)."""
        if role not in self._clients:
            client = self.app.test_client()
            if role != "anonymous":
                client.set_cookie(self.app.config["SESSION_COOKIE_NAME"], self._cookies[role])
            self._clients[role] = client
        return self._clients[role]

    def token(self, client: FlaskClient) -> str:
        """A valid CSRF token of ``client``'s session, taken from a page with a form."""
        page = client.get("/", follow_redirects=True)  # home, or the login page
        return csrf_token(page.data)

    def url(self, endpoint: str, variant: str = "", **extra: Any) -> str:
        args = {**sample(endpoint, variant).args(self.samples), **extra}
        with self.app.test_request_context():
            return url_for(endpoint, **args)

    def data(self, endpoint: str, variant: str = "") -> dict[str, Any]:
        return dict(sample(endpoint, variant).data(self.samples))

    def fingerprint(self) -> dict[str, Any]:
        """Everything a request could change on the server: workbook, journal, backups, credentials."""
        con = self.db.journal.con
        creds = self.app.extensions[EXTENSION_KEY]
        with creds._connect() as cc:
            credentials = cc.execute(
                "SELECT email, hash, session_version, disabled FROM credentials ORDER BY email"
            ).fetchall()
            tokens = cc.execute(
                "SELECT token_hash, email, used_at FROM reset_tokens ORDER BY token_hash"
            ).fetchall()
            attempts = cc.execute("SELECT COUNT(*) FROM login_attempts").fetchone()[0]
            invitations = cc.execute(
                "SELECT token_hash, used_at, withdrawn_at FROM invitation_tokens ORDER BY token_hash"
            ).fetchall()
        backups = sorted(
            (p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in self.db.list_backups()
        )
        return {
            "workbook": hashlib.sha256(self.workbook.read_bytes()).hexdigest(),
            "ops": [
                tuple(r)
                for r in con.execute(
                    "SELECT seq, status, kind, sheet, record_id FROM ops ORDER BY seq"
                )
            ],
            "audit": con.execute("SELECT COUNT(*) FROM audit").fetchone()[0],
            "incidents": [
                tuple(r) for r in con.execute("SELECT id, status FROM incidents ORDER BY id")
            ],
            "backups": backups,
            "credentials": [tuple(r) for r in credentials],
            "reset_tokens": [tuple(r) for r in tokens],
            "login_attempts": attempts,
            "invitation_tokens": [tuple(r) for r in invitations],
        }


@pytest.fixture
def world(demo_template: Template, tmp_path: Path) -> Iterator[World]:
    """A fresh copy of the demo world for this test."""
    w = World(demo_template, tmp_path / "world")
    yield w
    w.close()


@pytest.fixture
def new_world(demo_template: Template, tmp_path: Path) -> Iterator[Callable[[], World]]:
    """A factory of fresh worlds, for tests that need more than one."""
    made: list[World] = []

    def make() -> World:
        w = World(demo_template, tmp_path / f"world{len(made)}")
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()
