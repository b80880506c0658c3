"""Security headers on every response (pages, static files, 404, 500), error pages, CSRF."""

from __future__ import annotations

import pytest

from mingxiao.security import CONTENT_SECURITY_POLICY
from tests.conftest import AuthActions, post_form

EXPECTED = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin or stricter",
    "X-Frame-Options": "DENY",
}
STRICT_REFERRER = {"same-origin", "no-referrer"}  # a view may tighten it (e.g. reset-link pages)


@pytest.fixture
def failing_app(app):
    """The app with a route that raises, and exceptions turned into 500 pages as in production."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/_boom")
    def boom():
        raise RuntimeError("secret internal detail")

    return app


def headers_of(response):
    found = {name: response.headers.get(name) for name in EXPECTED}
    if found["Referrer-Policy"] in STRICT_REFERRER:
        found["Referrer-Policy"] = "same-origin or stricter"
    return found


def test_csp_forbids_inline_scripts_framing_and_plugins():
    for directive in (
        "script-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
    ):
        assert directive in CONTENT_SECURITY_POLICY


def test_headers_on_a_page(client):
    assert headers_of(client.get("/auth/login")) == EXPECTED


def test_headers_on_a_static_file(client):
    assert headers_of(client.get("/static/css/app.css")) == EXPECTED


def test_headers_on_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and headers_of(response) == EXPECTED


def test_headers_on_500(failing_app):
    response = failing_app.test_client().get("/_boom")
    assert response.status_code == 500 and headers_of(response) == EXPECTED


def test_500_page_is_chinese_and_hides_the_exception(failing_app):
    html = failing_app.test_client().get("/_boom").get_data(as_text=True)
    assert "系统出错了" in html and "secret internal detail" not in html


def test_404_page_is_a_chinese_sentence(client):
    assert "找不到您要的页面" in client.get("/no-such-page").get_data(as_text=True)


def test_405_keeps_the_allow_header(client):
    response = client.get("/lang")
    assert response.status_code == 405 and "POST" in response.headers["Allow"]


def test_json_clients_get_json_errors(client):
    response = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert response.json["error"] == 404


def test_post_without_csrf_token_gets_the_expired_form_page(client):
    response = client.post("/lang", data={"lang": "en", "next": "/"})
    assert response.status_code == 400 and "请刷新页面后重新提交" in response.get_data(as_text=True)


def test_response_that_sets_a_session_is_not_cached(client):
    response = client.get("/auth/login")  # renders a CSRF token, which starts a session
    assert "Set-Cookie" in response.headers and response.headers["Cache-Control"] == "no-store"


def test_healthz_sets_no_cookie(client, workbook):
    assert "Set-Cookie" not in client.get("/healthz").headers


def test_pages_for_signed_in_users_are_not_cached(app, client, runner, workbook):
    result = runner.invoke(
        args=[
            "users",
            "add",
            "a@example.cn",
            "--role",
            "admin",
            "--name",
            "管理员",
            "--password-stdin",
        ],
        input="correct horse 2026\n",
    )
    assert result.exit_code == 0, result.output
    AuthActions(client).login("a@example.cn", "correct horse 2026")
    response = client.get("/")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"


def test_language_switch_with_csrf_token_is_accepted(client):
    response = post_form(client, "/lang", {"lang": "en", "next": "/auth/login"}, page="/auth/login")
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"],
)
def test_language_switch_never_redirects_off_site(client, target):
    response = post_form(client, "/lang", {"lang": "en", "next": target}, page="/auth/login")
    assert response.headers["Location"] == "/"


def test_hsts_only_behind_tls(tmp_path):
    from app import create_app
    from tests.conftest import make_config

    plain = create_app(make_config(tmp_path / "a")).test_client().get("/auth/login")
    tls = (
        create_app(make_config(tmp_path / "b", TLS=True))
        .test_client()
        .get("/auth/login", base_url="https://localhost")
    )
    assert (
        "Strict-Transport-Security" not in plain.headers
        and "max-age" in tls.headers["Strict-Transport-Security"]
    )
