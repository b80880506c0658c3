"""Login, logout, password change, reset links and the ``users`` CLI, through the real app.

Real parts only: the xlsx workbook in a temp instance, the SQLite credential store, the
Flask test client with CSRF on, and a small SMTP sink on loopback for reset mails.
"""

from __future__ import annotations

import email
import re
import socketserver
import sqlite3
import stat
import threading
import time
from pathlib import Path

import openpyxl
import pytest
from flask_login import AnonymousUserMixin
from werkzeug.security import generate_password_hash

from mingxiao.auth import EXTENSION_KEY, CredentialStore, demo_emails, ensure_demo_accounts
from mingxiao.database import get_db
from mingxiao.plugins import nav_items

from .conftest import csrf_token, post_form

PASSWORD = "correct horse 2026"
NEW_PASSWORD = "西湖十景-new-2026"
ADMIN = "office@example.cn"
GENERIC_ERROR = "邮箱或密码不正确，或者账号未启用。请检查后重试。"


@pytest.fixture
def app(app):
    """The conftest app with its workbook created (sheets, headers, choice lists)."""
    with app.app_context():
        get_db().init()
    return app


@pytest.fixture
def add_user(runner):
    """Add an account through the real CLI (row in 账号 + password in the store)."""

    def add(email: str = ADMIN, role: str = "admin", password: str = PASSWORD, *extra: str) -> None:
        result = runner.invoke(
            args=["users", "add", email, "--role", role, *extra, "--password-stdin"],
            input=password + "\n",
        )
        assert result.exit_code == 0, result.output

    return add


@pytest.fixture
def admin(add_user):
    add_user()
    return ADMIN


def store_of(app) -> CredentialStore:
    return app.extensions[EXTENSION_KEY]


def is_logged_in(client) -> bool:
    return client.get("/auth/password").status_code == 200


def session_cookie(app, client) -> str:
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return cookie.value


def client_with_cookie(app, value: str):
    other = app.test_client()
    other.set_cookie(app.config["SESSION_COOKIE_NAME"], value)
    return other


# -- login ------------------------------------------------------------------------------------


def test_login_with_right_password_goes_home(client, auth, admin):
    assert auth.login(admin, PASSWORD).headers["Location"] == "/"


def test_login_email_is_case_insensitive(client, auth, admin):
    auth.login("  OFFICE@Example.CN ", PASSWORD)
    assert is_logged_in(client)


def test_wrong_password_shows_generic_error(client, auth, admin):
    assert GENERIC_ERROR in auth.login(admin, "wrong password!").text


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(client, auth, admin):
    def answer(email: str) -> tuple[int, str]:
        resp = auth.login(email, "wrong password!")
        main = re.search(r"<main.*</main>", resp.text, re.S)
        assert main
        return resp.status_code, re.sub(r'value="[^"]*"', "", main.group(0))

    assert answer(admin) == answer("nobody@example.cn")


def test_login_form_fields_are_named_email_and_password(client):
    page = client.get("/auth/login").text
    assert ('name="email"' in page, 'name="password"' in page) == (True, True)


def test_login_without_csrf_token_is_refused(client, admin):
    resp = client.post("/auth/login", data={"email": admin, "password": PASSWORD})
    assert (resp.status_code, is_logged_in(client)) == (400, False)


def test_session_is_cleared_at_login(app, client, auth, admin):
    client.get("/auth/login")
    with client.session_transaction() as sess:
        sess["planted_before_login"] = "attacker value"
    auth.login(admin, PASSWORD)
    with client.session_transaction() as sess:
        assert "planted_before_login" not in sess


def test_language_choice_survives_login(app, client, auth, admin):
    client.get("/auth/login")
    with client.session_transaction() as sess:
        sess["lang"] = "en"
    auth.login(admin, PASSWORD)
    with client.session_transaction() as sess:
        assert sess.get("lang") == "en"


def test_login_redirects_to_a_relative_next(client, auth, admin):
    page = client.get("/auth/login?next=/auth/password")
    resp = client.post(
        "/auth/login?next=/auth/password",
        data={"email": admin, "password": PASSWORD, "csrf_token": csrf_token(page.data)},
    )
    assert resp.headers["Location"] == "/auth/password"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
def test_login_ignores_a_next_pointing_elsewhere(client, admin, target):
    page = client.get("/auth/login")
    resp = client.post(
        "/auth/login",
        query_string={"next": target},
        data={"email": admin, "password": PASSWORD, "csrf_token": csrf_token(page.data)},
    )
    assert resp.headers["Location"] == "/"


def test_protected_page_sends_anonymous_visitors_to_login_with_next(client):
    resp = client.get("/auth/password")
    assert resp.headers["Location"].startswith("/auth/login?next=")


def test_inactive_row_in_the_sheet_cannot_log_in(app, client, auth, admin):
    with app.app_context():
        users = get_db().table("users")
        row = users.where(email=admin)[0]
        users.update(row.id, {"active": False}, base={"active": True}, user="office")
    assert GENERIC_ERROR in auth.login(admin, PASSWORD).text


def test_throttled_login_refuses_even_the_right_password(client, auth, admin):
    for _ in range(5):
        auth.login(admin, "wrong password!")
    resp = auth.login(admin, PASSWORD)
    assert (resp.status_code, is_logged_in(client)) == (429, False)


def test_throttled_page_says_what_to_do_in_chinese(client, auth, admin):
    for _ in range(5):
        auth.login(admin, "wrong password!")
    assert "登录失败次数过多" in auth.login(admin, PASSWORD).text


@pytest.mark.app_config(LOGIN_MAX_FAILURES_PER_EMAIL=2)
def test_throttle_limit_comes_from_config(client, auth, admin):
    for _ in range(2):
        auth.login(admin, "wrong password!")
    assert auth.login(admin, PASSWORD).status_code == 429


def test_successful_login_clears_earlier_failures(client, auth, admin):
    for _ in range(4):
        auth.login(admin, "wrong password!")
    auth.login(admin, PASSWORD)
    auth.logout()
    auth.login(admin, "wrong password!")
    assert auth.login(admin, PASSWORD).status_code == 302


@pytest.mark.parametrize("method", ["scrypt", "pbkdf2:sha256"])
def test_legacy_hash_is_rehashed_at_login(app, client, auth, admin, method):
    store = store_of(app)
    store.set_hash(admin, generate_password_hash(PASSWORD, method=method))
    auth.login(admin, PASSWORD)
    cred = store.get(admin)
    assert cred is not None and cred.hash.startswith("$argon2id$")


def test_credentials_file_is_mode_0600(app, admin):
    path = Path(app.instance_path) / "credentials.sqlite3"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_password_hash_never_reaches_the_workbook(app, admin):
    with app.app_context():
        get_db().sync()
    cells = [
        str(c.value)
        for ws in openpyxl.load_workbook(app.config["WORKBOOK"])
        for row in ws.iter_rows()
        for c in row
    ]
    assert not [c for c in cells if "argon2" in c or PASSWORD in c]


# -- logout and revocation --------------------------------------------------------------------


def test_logout_needs_post(client, auth, admin):
    auth.login(admin, PASSWORD)
    assert client.get("/auth/logout").status_code == 405


def test_logout_ends_the_session(client, auth, admin):
    auth.login(admin, PASSWORD)
    auth.logout()
    assert not is_logged_in(client)


def test_logout_revokes_an_old_copied_cookie(app, client, auth, admin):
    auth.login(admin, PASSWORD)
    stolen = session_cookie(app, client)
    auth.logout()
    assert not is_logged_in(client_with_cookie(app, stolen))


def test_copied_cookie_works_before_logout(app, client, auth, admin):
    """The control for the test above: the copy is a real session until logout."""
    auth.login(admin, PASSWORD)
    assert is_logged_in(client_with_cookie(app, session_cookie(app, client)))


def test_password_change_revokes_other_sessions(app, client, auth, admin):
    auth.login(admin, PASSWORD)
    other = app.test_client()
    post_form(other, "/auth/login", {"email": admin, "password": PASSWORD})
    post_form(
        client,
        "/auth/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert (is_logged_in(client), is_logged_in(other)) == (True, False)


def test_password_change_sets_the_new_password(app, client, auth, admin):
    auth.login(admin, PASSWORD)
    post_form(
        client,
        "/auth/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert store_of(app).verify(admin, NEW_PASSWORD)


def test_password_change_needs_the_current_password(app, client, auth, admin):
    auth.login(admin, PASSWORD)
    resp = post_form(
        client,
        "/auth/password",
        {
            "current_password": "not it at all",
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert ("当前密码不正确" in resp.text, store_of(app).verify(admin, PASSWORD)) == (True, True)


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("short1", "密码至少需要 10 个字符"),
        ("1234567890123", "密码不能全是数字"),
        (ADMIN, "密码不能与登录邮箱相同"),
    ],
)
def test_password_change_enforces_the_policy(client, auth, admin, new, message):
    auth.login(admin, PASSWORD)
    resp = post_form(
        client,
        "/auth/password",
        {"current_password": PASSWORD, "new_password": new, "confirm": new},
    )
    assert message in resp.text


def test_disabling_by_cli_revokes_the_session(client, auth, admin, runner):
    auth.login(admin, PASSWORD)
    assert runner.invoke(args=["users", "disable", admin]).exit_code == 0
    assert not is_logged_in(client)


def test_disabling_in_the_sheet_revokes_the_session(app, client, auth, admin):
    """The office types 否 in 启用: the next request of that user is anonymous."""
    auth.login(admin, PASSWORD)
    with app.app_context():
        users = get_db().table("users")
        row = users.where(email=admin)[0]
        users.update(row.id, {"active": "否"}, base={"active": True}, user="office")
    assert not is_logged_in(client)


# -- reset links ------------------------------------------------------------------------------


def reset_path(runner, email: str = ADMIN) -> str:
    result = runner.invoke(args=["users", "reset-link", email])
    assert result.exit_code == 0, result.output
    url = result.output.strip().splitlines()[0]
    return "/" + url.split("/", 3)[3]


def test_reset_link_sets_a_new_password(app, client, auth, admin, runner):
    post_form(client, reset_path(runner), {"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert auth.login(admin, NEW_PASSWORD).headers["Location"] == "/"


def test_reset_link_works_only_once(client, admin, runner):
    path = reset_path(runner)
    post_form(client, path, {"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert client.get(path).status_code == 404


def test_reset_link_expires(app, client, admin, runner):
    path = reset_path(runner)
    con = sqlite3.connect(store_of(app).path)
    with con:
        con.execute("UPDATE reset_tokens SET expires_at = ?", (time.time() - 1,))
    con.close()
    assert client.get(path).status_code == 404


def test_opening_a_reset_link_does_not_use_it_up(client, admin, runner):
    path = reset_path(runner)
    client.get(path)
    assert client.get(path).status_code == 200


def test_reset_revokes_existing_sessions(app, client, auth, admin, runner):
    auth.login(admin, PASSWORD)
    other = app.test_client()
    post_form(other, reset_path(runner), {"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert not is_logged_in(client)


def test_reset_link_carries_only_an_opaque_token(admin, runner):
    path = reset_path(runner)
    assert re.fullmatch(r"/auth/reset/[A-Za-z0-9_-]{40,}", path)


def test_reset_link_refused_for_a_disabled_account(admin, runner):
    runner.invoke(args=["users", "disable", admin])
    assert runner.invoke(args=["users", "reset-link", admin]).exit_code != 0


def test_reset_request_answers_the_same_for_known_and_unknown_emails(app, admin):
    def answer(email: str) -> tuple[int, str | None, list[str]]:
        client = app.test_client()
        resp = post_form(client, "/auth/reset/request", {"email": email})
        with client.session_transaction() as sess:
            flashes = [m for _c, m in sess.get("_flashes", [])]
        return resp.status_code, resp.headers.get("Location"), flashes

    assert answer(admin) == answer("nobody@example.cn")


# -- mail -------------------------------------------------------------------------------------


class SMTPSink(socketserver.ThreadingTCPServer):
    """Just enough SMTP on loopback to receive messages from smtplib."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SMTPHandler)
        self.messages: list[str] = []
        self.received = threading.Event()


class _SMTPHandler(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 sink ready")
        while line := self.rfile.readline():
            verb = line.decode(errors="replace").strip().split(" ")[0].upper()
            if verb in ("EHLO", "HELO", "MAIL", "RCPT", "RSET", "NOOP"):
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 go ahead")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk
                self.server.messages.append(data.decode("utf-8", errors="replace"))  # type: ignore[attr-defined]
                self.server.received.set()  # type: ignore[attr-defined]
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


@pytest.fixture
def smtp():
    server = SMTPSink()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def mail_config(app, smtp) -> None:
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp.server_address[1],
        MAIL_USE_TLS=False,
        BASE_URL="https://mingxiao.example.cn",
    )


def decoded(message: str) -> str:
    msg = email.message_from_string(message)
    part = msg.get_payload(decode=True)
    return part.decode("utf-8") if isinstance(part, bytes) else str(msg)


def test_reset_request_emails_a_working_link(app, client, admin, smtp):
    mail_config(app, smtp)
    post_form(client, "/auth/reset/request", {"email": admin})
    assert smtp.received.wait(10)
    link = re.search(r"https://mingxiao\.example\.cn(/auth/reset/\S+)", decoded(smtp.messages[0]))
    assert link and client.get(link.group(1)).status_code == 200


def test_reset_request_for_unknown_email_sends_nothing(app, client, admin, smtp):
    mail_config(app, smtp)
    post_form(client, "/auth/reset/request", {"email": "nobody@example.cn"})
    assert not smtp.received.wait(1)


def test_cli_reset_link_is_emailed_when_smtp_is_configured(app, admin, runner, smtp):
    mail_config(app, smtp)
    printed = runner.invoke(args=["users", "reset-link", admin]).output.splitlines()[0]
    assert smtp.received.wait(10) and printed in decoded(smtp.messages[0])


# -- the users CLI ----------------------------------------------------------------------------


def test_cli_add_writes_the_row_into_the_workbook(app, add_user):
    add_user("mentor.li@example.cn", "mentor", PASSWORD, "--name", "李老师", "--mentor", "M0001")
    ws = openpyxl.load_workbook(app.config["WORKBOOK"])["账号"]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    header = rows[0]
    found = [dict(zip(header, r, strict=False)) for r in rows[1:] if "mentor.li@example.cn" in r]
    assert [(r["姓名"], r["角色"], r["导师编号"], r["启用"]) for r in found] == [
        ("李老师", "mentor", "M0001", "是")
    ]


def test_cli_added_user_can_log_in(client, auth, add_user):
    add_user("expert@example.cn", "expert")
    auth.login("expert@example.cn", PASSWORD)
    assert is_logged_in(client)


def test_cli_add_twice_updates_instead_of_duplicating(app, add_user):
    add_user("d@example.cn", "district", PASSWORD, "--district", "西湖区")
    add_user("d@example.cn", "district", PASSWORD, "--district", "滨江区")
    with app.app_context():
        rows = get_db().table("users").where(email="d@example.cn")
    assert [r["district"] for r in rows] == ["滨江区"]


def test_cli_district_role_requires_a_district(runner):
    result = runner.invoke(
        args=["users", "add", "d@example.cn", "--role", "district", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert (result.exit_code, "--district" in result.output) == (1, True)


def test_cli_district_must_be_in_the_choice_list(runner):
    result = runner.invoke(
        args=[
            "users",
            "add",
            "d@example.cn",
            "--role",
            "district",
            "--district",
            "火星区",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
    )
    assert (result.exit_code, "未知的区、县（市）" in result.output) == (1, True)


def test_cli_refuses_a_weak_password(runner):
    result = runner.invoke(
        args=["users", "add", "a@example.cn", "--role", "admin", "--password-stdin"],
        input="12345\n",
    )
    assert (result.exit_code, "密码至少需要 10 个字符" in result.output) == (1, True)


def test_cli_disable_sets_active_no_in_the_sheet(app, admin, runner):
    runner.invoke(args=["users", "disable", admin])
    ws = openpyxl.load_workbook(app.config["WORKBOOK"])["账号"]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    col = rows[0].index("启用")
    assert [r[col] for r in rows[1:] if admin in r] == ["否"]


def test_cli_disabled_user_cannot_log_in(client, auth, admin, runner):
    runner.invoke(args=["users", "disable", admin])
    assert GENERIC_ERROR in auth.login(admin, PASSWORD).text


def test_cli_enable_lets_a_disabled_user_back_in(client, auth, admin, runner):
    runner.invoke(args=["users", "disable", admin])
    runner.invoke(args=["users", "enable", admin])
    auth.login(admin, PASSWORD)
    assert is_logged_in(client)


def test_cli_disable_unknown_account_fails(runner):
    assert runner.invoke(args=["users", "disable", "ghost@example.cn"]).exit_code == 1


# -- demo accounts ----------------------------------------------------------------------------


def test_ensure_demo_accounts_sets_every_demo_password(app):
    demo = pytest.importorskip("mingxiao.sheetdb.demo")

    emails = ensure_demo_accounts(app, PASSWORD)
    assert emails == [e.lower() for e in demo_emails(demo.DEMO_LOGINS)] and all(
        store_of(app).verify(e, PASSWORD) for e in emails
    )


def test_reset_page_keeps_its_token_out_of_referers_and_caches(client, admin, runner):
    resp = client.get(reset_path(runner))
    assert (resp.headers["Referrer-Policy"], resp.headers["Cache-Control"]) == (
        "no-referrer",
        "no-store",
    )


# -- plugin hooks -----------------------------------------------------------------------------


def test_nav_offers_password_change_to_signed_in_users(client, auth, admin):
    auth.login(admin, PASSWORD)
    assert 'href="/auth/password"' in client.get("/").text


def test_nav_hook_offers_nothing_to_anonymous_visitors(app):
    with app.test_request_context():
        assert [
            i.endpoint for i in nav_items(AnonymousUserMixin()) if i.endpoint.startswith("auth.")
        ] == []


def test_core_permissions_are_registered(app):
    assert {"admin.access", "account.change_password"} <= set(
        app.extensions["mingxiao.permissions"]
    )


def test_users_cli_group_is_registered(app):
    assert {"add", "disable", "enable", "reset-link"} <= set(app.cli.commands["users"].commands)
