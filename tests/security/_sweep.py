"""One pass over the whole access matrix for a set of visitors, keeping every answer.

The access matrix (tests/test_access_matrix.py) asserts the status of each route × visitor.
The security tests here look at more of each answer (headers, cookies, where a redirect goes,
whether the state moved), for more visitors (people holding dead invitation links), so they
share one sweep that records every answer once:

- every GET row for every visitor, on one world (a GET changes nothing: checked);
- the POST rows each visitor is refused, on one world (nothing may change: checked);
- the POST rows each visitor is let through, each by a new client, the credential store put
  back whenever one moved sessions or one-time links (a logout, a password change, a reset).

A visitor is a function ``world → client``: a role's signed-in client, or a client that opened
an invitation link first. Its expected outcomes are the matrix column it ``acts_as``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from mingxiao.auth import EXTENSION_KEY
from tests._demo import Template, World, is_login_redirect
from tests.conftest import csrf_token
from tests.test_access_matrix import ACCESS, GET_ROWS, LOGIN, POST_ROWS, REDIRECT, REFUSED

Key = tuple[str, str, str]
Setup = Callable[[World], FlaskClient]


@dataclass(frozen=True)
class Visitor:
    name: str
    acts_as: str  # the matrix column whose outcomes this visitor must get
    setup: Setup


@dataclass
class Answer:
    key: Key
    visitor: str
    url: str
    status: int
    headers: dict[str, str]
    set_cookie: bool
    login_redirect: bool
    body: str


def outcome_of(answer: Answer) -> Any:
    """The matrix outcome of an answer: LOGIN, REDIRECT (302 elsewhere) or the status code."""
    if answer.login_redirect:
        return LOGIN
    return REDIRECT if answer.status == 302 else answer.status


def matches(expected: Any, answer: Answer) -> bool:
    return outcome_of(answer) == expected


@dataclass
class Sweep:
    answers: list[Answer] = field(default_factory=list)
    changed_by_get: list[str] = field(default_factory=list)
    changed_by_refused_post: list[str] = field(default_factory=list)
    worlds: int = 0
    resets: list[tuple[Key, str]] = field(default_factory=list)  # allowed POSTs that moved auth

    def of(self, visitor: str) -> list[Answer]:
        return [a for a in self.answers if a.visitor == visitor]


class _Worlds:
    """Fresh worlds on demand, each with its visitors' clients made lazily.

    A world is made fresh in place (the database closed, the instance folder copied again from
    the template): building a new app each time compiles every template again, which made the
    sweep three times slower.
    """

    def __init__(self, template: Template, folder: Path, visitors: Iterable[Visitor]) -> None:
        self.template = template
        self.folder = folder
        self.visitors = {v.name: v for v in visitors}
        self.made: list[World] = []
        self.world: World | None = None
        self.clients: dict[str, FlaskClient] = {}

    def fresh(self) -> World:
        if self.world is None:
            self.world = World(self.template, self.folder / "sweep")
        else:
            self.world.close()
            shutil.rmtree(self.world.folder / "instance")
            shutil.copytree(self.template.folder / "instance", self.world.folder / "instance")
            self.world._clients = {}
        self.made.append(self.world)
        self.clients = {}
        return self.world

    def restore_credentials(self) -> None:
        """Put the template's credential store back (sessions, passwords, one-time links):
        cheaper than a fresh world, and all that the allowed POSTs need undone."""
        assert self.world is not None
        store = self.world.app.extensions[EXTENSION_KEY]
        original = self.template.folder / "instance" / Path(store.path).name
        with store._tx() as con:
            con.execute("ATTACH DATABASE ? AS original", (f"file:{original}?mode=ro",))
            for table in ("credentials", "reset_tokens", "invitation_tokens", "login_attempts"):
                con.execute(f"DELETE FROM main.{table}")  # noqa: S608
                con.execute(f"INSERT INTO main.{table} SELECT * FROM original.{table}")  # noqa: S608
        self.world._clients = {}
        self.clients = {}

    def token(self, client: FlaskClient) -> str:
        """A valid CSRF token of ``client``'s session, as Flask-WTF signs it for a form.

        Read from the session cookie itself (a page is fetched only when the session has no
        CSRF secret yet): fetching a form before each of ~1000 POSTs doubled the sweep.
        """
        assert self.world is not None
        app = self.world.app
        for _ in range(2):
            cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
            if cookie is not None:
                data = app.session_interface.get_signing_serializer(app).loads(cookie.value)
                if "csrf_token" in data:
                    signer = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token")
                    return str(signer.dumps(data["csrf_token"]))
            csrf_token(client.get("/auth/reset/request").data)  # a form, for everyone
        raise AssertionError("no CSRF secret in the session")

    def client(self, name: str) -> FlaskClient:
        assert self.world is not None
        if name not in self.clients:
            self.clients[name] = self.visitors[name].setup(self.world)
        return self.clients[name]

    def close(self) -> None:
        if self.world is not None:
            self.world.close()


def _record(sweep: Sweep, key: Key, visitor: str, url: str, response: Any) -> None:
    sweep.answers.append(
        Answer(
            key=key,
            visitor=visitor,
            url=url,
            status=response.status_code,
            headers=dict(response.headers),
            set_cookie="Set-Cookie" in response.headers,
            login_redirect=is_login_redirect(response),
            body=response.get_data(as_text=True) if response.mimetype == "text/html" else "",
        )
    )


def _post(worlds: _Worlds, client: FlaskClient, key: Key) -> Any:
    endpoint, _, variant = key
    world = worlds.world
    assert world is not None
    data = {**world.data(endpoint, variant), "csrf_token": worlds.token(client)}
    return client.post(world.url(endpoint, variant), data=data)


def _auth_state(world: World) -> dict[str, dict[Any, Any]]:
    """What decides who is signed in and which one-time links work (the credential store)."""
    store = world.app.extensions[EXTENSION_KEY]
    with store._connect() as con:
        return {
            table: {row[0]: row for row in con.execute(f"SELECT * FROM {table}")}  # noqa: S608
            for table in ("credentials", "reset_tokens", "invitation_tokens")
        }


def _sessions_or_links_moved(before: dict[str, dict[Any, Any]], after: dict[str, Any]) -> bool:
    """A session version, a password or an existing one-time link changed (new links don't
    matter: a reset request adds one)."""
    return before["credentials"] != after["credentials"] or any(
        after[table].get(k) != row for table in before for k, row in before[table].items()
    )


def run_sweep(template: Template, folder: Path, visitors: list[Visitor]) -> Sweep:
    """Every matrix row for every visitor; see the module docstring."""
    sweep = Sweep()
    worlds = _Worlds(template, folder, visitors)
    try:
        # GETs: one world, nothing may change.
        world = worlds.fresh()
        for v in visitors:  # sessions first (an invitation visitor's setup may write)
            worlds.client(v.name)
        before = world.fingerprint()
        for key in GET_ROWS:
            url = world.url(key[0], key[2])
            for v in visitors:
                _record(sweep, key, v.name, url, worlds.client(v.name).get(url))
        if world.fingerprint() != before:
            sweep.changed_by_get.append("the GETs of the sweep")

        # Refused POSTs: one world, nothing may change.
        world = worlds.fresh()
        for v in visitors:
            worlds.client(v.name)
        before = world.fingerprint()
        for key in POST_ROWS:
            url = world.url(key[0], key[2])
            for v in visitors:
                if ACCESS[key][v.acts_as] in REFUSED:
                    answer = _post(worlds, worlds.client(v.name), key)
                    _record(sweep, key, v.name, url, answer)
        if world.fingerprint() != before:
            sweep.changed_by_refused_post.append("the refused POSTs of the sweep")

        # Allowed POSTs: each by a new client of the visitor (a login or logout must not carry
        # over), the credential store put back whenever sessions or one-time links moved
        # (the next visitors' cookies and the reset link must work again). Other changes (a
        # stamped record) stay: these answers are read for their headers and, for the link
        # holders, whose allowed POSTs are the public forms, for their status.
        world = worlds.fresh()
        for key in POST_ROWS:
            for v in visitors:
                if ACCESS[key][v.acts_as] in REFUSED:
                    continue
                client = v.setup(world)
                before = _auth_state(world)
                url = world.url(key[0], key[2])
                _record(sweep, key, v.name, url, _post(worlds, client, key))
                if _sessions_or_links_moved(before, _auth_state(world)):
                    sweep.resets.append((key, v.name))
                    worlds.restore_credentials()
        sweep.worlds = len(worlds.made)
        return sweep
    finally:
        worlds.close()
