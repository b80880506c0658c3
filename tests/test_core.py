"""The shell: home dashboard, /healthz, the sync indicator and its rules."""

from __future__ import annotations

import pytest

from blueprints.core.rules import health_status, safe_next_url, sync_state
from mingxiao.database import get_db
from tests.conftest import AuthActions

PASSWORD = "correct horse 2026"


def sign_in(
    app, client, role: str = "admin", email: str = "admin@example.cn", **options: str
) -> None:
    args = ["users", "add", email, "--role", role, "--name", "王老师", "--password-stdin"]
    for name, value in options.items():
        args += [f"--{name}", value]
    result = app.test_cli_runner().invoke(args=args, input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    AuthActions(client).login(email, PASSWORD)


def test_home_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login")


def test_home_shows_the_account_widget(app, client, workbook):
    sign_in(app, client)
    html = client.get("/").get_data(as_text=True)
    assert "我的账号" in html and "王老师" in html


def test_home_has_landmarks_and_a_skip_link(app, client, workbook):
    sign_in(app, client)
    html = client.get("/").get_data(as_text=True)
    assert all(
        part in html for part in ('href="#main"', '<main id="main"', "<nav", "<header", "<footer")
    )


def test_logout_is_a_post_form_with_csrf(app, client, workbook):
    sign_in(app, client)
    html = client.get("/").get_data(as_text=True)
    form = html[html.index('class="logout-form"') - 200 : html.index('class="logout-form"') + 300]
    assert 'method="post"' in form and 'name="csrf_token"' in form


def test_page_has_no_inline_script_or_style(app, client, workbook):
    sign_in(app, client)
    html = client.get("/").get_data(as_text=True)
    assert (
        "<script>" not in html
        and "style=" not in html
        and "<style" not in html
        and "onclick" not in html
    )


def test_healthz_reports_engine_status_without_login(client, workbook):
    data = client.get("/healthz").json
    assert set(data) == {"status", "backend", "pending", "parked", "last_sync", "problems", "writer"}
    assert (data["status"], data["backend"], data["pending"]) == ("ok", "xlsx", 0)
    assert data["writer"] is None  # no dedicated writer process here (gunicorn's config starts one)


def test_healthz_is_degraded_when_the_workbook_is_missing(client):
    data = client.get("/healthz").json
    assert data["status"] == "degraded" and data["problems"] >= 1


# No background flusher: a write stays pending in the journal until the test syncs.
no_autoflush = pytest.mark.app_config(DATABASE_OPTIONS={"autoflush": False})


@no_autoflush
def test_healthz_counts_pending_operations(app, client, workbook):
    db = get_db(app)
    db.table("cohorts").insert(
        {"name": "测试期", "number": 3, "start_date": "2026-01-01"} | _cohort_extras(db)
    )
    assert client.get("/healthz").json["pending"] == 1


def _cohort_extras(db) -> dict:
    """Fill any other required cohort columns with a valid value, whatever the schema says."""
    extras = {}
    for col in db.schemas["cohorts"].user_columns:
        if col.required and col.key not in {"name", "number", "start_date"}:
            extras[col.key] = {"date": "2026-12-31", "int": 1, "decimal": 1, "bool": False}.get(
                col.type
            ) or ((db.choices_for(col) or ("x",))[0])
    return extras


@no_autoflush
def test_sync_indicator_shows_pending_writes(app, client, workbook):
    sign_in(app, client)
    db = get_db(app)
    db.table("cohorts").insert(
        {"name": "测试期", "number": 3, "start_date": "2026-01-01"} | _cohort_extras(db)
    )
    html = client.get("/").get_data(as_text=True)
    assert "sync--syncing" in html and "同步中：1 条待同步" in html


def test_sync_indicator_says_synced_when_nothing_waits(app, client, workbook):
    sign_in(app, client)
    get_db(app).sync()
    assert "已同步" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (None, "unknown"),
        ({"pending": 0, "parked": 0}, "synced"),
        ({"pending": 3, "parked": 0}, "syncing"),
        ({"pending": 3, "parked": 0, "blocked": "~$mingxiao.xlsx"}, "blocked"),
        ({"pending": 0, "parked": 1}, "conflict"),
    ],
)
def test_sync_state(status, state):
    assert sync_state(status) == state


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({"problems": 0, "parked": 0, "sheets_readonly": []}, "ok"),
        ({"problems": 0, "parked": 0, "pending": 40}, "ok"),
        ({"problems": 2}, "degraded"),
        ({"parked": 1}, "degraded"),
        ({"sheets_readonly": ["人选推荐"]}, "degraded"),
    ],
)
def test_health_status(status, expected):
    assert health_status(status) == expected


@pytest.mark.parametrize("target", ["/", "/nominations/?page=2", "/a/b#c"])
def test_safe_next_url_keeps_site_paths(target):
    assert safe_next_url(target) == target


@pytest.mark.parametrize(
    "target",
    [None, "", "http://evil.example/", "//evil.example", "/\\evil", "javascript:x", "evil", "/\nx"],
)
def test_safe_next_url_refuses_everything_else(target):
    assert safe_next_url(target) is None


# --------------------------------------------------------------------------- macros


def render_macro(app, source: str, **context) -> str:
    with app.test_request_context():
        template = app.jinja_env.from_string(
            '{% from "_macros.html" import field, data_table %}' + source
        )
        return template.render(**context)


def test_field_macro_links_label_help_and_errors(app):
    from flask_wtf import FlaskForm
    from wtforms import StringField
    from wtforms.validators import DataRequired

    class NameForm(FlaskForm):
        name = StringField("姓名", validators=[DataRequired()], description="与身份证一致")

    with app.test_request_context(method="POST", data={}):
        form = NameForm(meta={"csrf": False})
        form.validate()
        html = app.jinja_env.from_string(
            '{% from "_macros.html" import field %}{{ field(form.name) }}'
        ).render(form=form)
    assert all(
        part in html
        for part in (
            'for="name"',
            'aria-describedby="name-help name-error"',
            'aria-invalid="true"',
            "与身份证一致",
            'id="name-error"',
        )
    )


def test_data_table_macro_paginates_and_keeps_filters_on_export_links(app):
    from mingxiao.sheetdb import Page

    page = Page(items=[{"id": "N2026-0001", "name": "张三"}], total=120, page=2, per_page=50)
    html = render_macro(
        app,
        "{{ data_table(page, [('id', '编号'), ('name', '姓名')], 'core.index', args={'district': '上城区'}) }}",
        page=page,
    )
    assert "page=3" in html and "format=xlsx" in html and "format=csv" in html
    assert html.count("district=%E4%B8%8A%E5%9F%8E%E5%8C%BA") >= 4 and "张三" in html


def test_data_table_macro_escapes_cell_values(app):
    from mingxiao.sheetdb import Page

    page = Page(items=[{"name": "<script>alert(1)</script>"}], total=1, page=1, per_page=50)
    html = render_macro(app, "{{ data_table(page, [('name', '姓名')], 'core.index') }}", page=page)
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
