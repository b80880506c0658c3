"""The application factory and configuration: precedence, secret keys, debug, cookies."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from flask import Flask

import app as app_module
from app import create_app
from mingxiao.config import ConfigError


def write_instance_config(instance: Path, text: str) -> None:
    instance.mkdir(parents=True, exist_ok=True)
    (instance / "config.py").write_text(text, encoding="utf-8")


def base(tmp_path: Path, **extra: object) -> dict[str, object]:
    return {"INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "k", **extra}


def test_defaults_apply_without_other_sources(tmp_path):
    app = create_app(base(tmp_path))
    assert app.config["BACKUP_KEEP"] == 24


def test_instance_config_overrides_defaults(tmp_path):
    write_instance_config(tmp_path / "instance", "BACKUP_KEEP = 5\n")
    app = create_app(base(tmp_path))
    assert app.config["BACKUP_KEEP"] == 5


def test_environment_overrides_instance_config(tmp_path, monkeypatch):
    write_instance_config(tmp_path / "instance", "BACKUP_KEEP = 5\n")
    monkeypatch.setenv("MINGXIAO_BACKUP_KEEP", "7")
    app = create_app(base(tmp_path))
    assert app.config["BACKUP_KEEP"] == 7  # typed like the default, not the string "7"


def test_test_dict_overrides_environment(tmp_path, monkeypatch):
    write_instance_config(tmp_path / "instance", "BACKUP_KEEP = 5\n")
    monkeypatch.setenv("MINGXIAO_BACKUP_KEEP", "7")
    app = create_app(base(tmp_path, BACKUP_KEEP=9))
    assert app.config["BACKUP_KEEP"] == 9


@pytest.mark.parametrize(
    ("variable", "key", "value", "expected"),
    [
        ("MINGXIAO_SECRET_KEY", "SECRET_KEY", "s3cret", "s3cret"),
        ("MINGXIAO_BACKEND", "BACKEND", "gsheets", "gsheets"),
        ("MINGXIAO_WORKBOOK", "WORKBOOK", "/srv/share/名校长.xlsx", "/srv/share/名校长.xlsx"),
        ("MINGXIAO_GSHEETS_KEY", "GSHEETS_KEY", "abc123", "abc123"),
        ("MINGXIAO_GSHEETS_CREDENTIALS", "GSHEETS_CREDENTIALS", "/etc/sa.json", "/etc/sa.json"),
        (
            "MINGXIAO_ENABLED_PLUGINS",
            "ENABLED_PLUGINS",
            "blueprints.core, x.y",
            ("blueprints.core", "x.y"),
        ),
        ("MINGXIAO_MAIL_USE_TLS", "MAIL_USE_TLS", "no", False),
        ("MINGXIAO_UPLOAD_MAX_BYTES", "UPLOAD_MAX_BYTES", "1024", 1024),
    ],
)
def test_environment_variables_map_to_typed_settings(
    tmp_path, monkeypatch, variable, key, value, expected
):
    monkeypatch.setenv(variable, value)
    config = base(tmp_path)
    if key == "SECRET_KEY":
        del config["SECRET_KEY"]
    app = create_app(config)
    assert app.config[key] == expected


def test_bad_integer_in_environment_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("MINGXIAO_BACKUP_KEEP", "many")
    with pytest.raises(ConfigError, match="MINGXIAO_BACKUP_KEEP"):
        create_app(base(tmp_path))


def test_production_refuses_to_start_without_secret_key(tmp_path):
    with pytest.raises(ConfigError) as info:
        create_app({"INSTANCE_PATH": str(tmp_path / "instance")})
    message = str(info.value)
    assert "MINGXIAO_SECRET_KEY" in message and "密钥" in message and "SECRET_KEY" in message


def test_production_is_the_default_environment(tmp_path):
    app = create_app(base(tmp_path))
    assert app.config["ENV"] == "production"


def test_demo_mode_generates_a_private_key_once_and_reuses_it(tmp_path, monkeypatch):
    monkeypatch.setenv("MINGXIAO_ENV", "demo")
    first = create_app({"INSTANCE_PATH": str(tmp_path / "instance")})
    second = create_app({"INSTANCE_PATH": str(tmp_path / "instance")})
    key_file = tmp_path / "instance" / "secret_key"
    assert first.secret_key and first.secret_key == second.secret_key
    assert key_file.read_text().strip() == first.secret_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_debug_is_off_by_default(tmp_path):
    app = create_app(base(tmp_path))
    assert app.debug is False


def test_production_refuses_debug(tmp_path):
    with pytest.raises(ConfigError, match="DEBUG"):
        create_app(base(tmp_path, DEBUG=True))


def test_unknown_environment_name_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("MINGXIAO_ENV", "staging")
    with pytest.raises(ConfigError, match="staging"):
        create_app(base(tmp_path))


def test_instance_path_comes_from_the_test_dict(tmp_path):
    app = create_app(base(tmp_path))
    assert Path(app.instance_path) == (tmp_path / "instance").resolve()


def test_paths_default_to_the_instance_folder(tmp_path):
    app = create_app(base(tmp_path))
    instance = Path(app.instance_path)
    assert (Path(app.config["WORKBOOK"]), Path(app.config["UPLOAD_FOLDER"])) == (
        instance / "mingxiao.xlsx",
        instance / "uploads",
    )


def test_request_limit_leaves_room_around_the_upload_limit(tmp_path):
    app = create_app(base(tmp_path, UPLOAD_MAX_BYTES=1000))
    assert app.config["MAX_CONTENT_LENGTH"] > 1000


def test_session_cookie_is_httponly_and_samesite_lax(app, client):
    response = client.get("/auth/login")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_session_cookie_is_secure_behind_tls(tmp_path, monkeypatch):
    monkeypatch.setenv("MINGXIAO_TLS", "1")
    app = create_app(base(tmp_path, TESTING=True))
    response = app.test_client().get("/auth/login", base_url="https://localhost")
    assert "Secure" in response.headers["Set-Cookie"]


def test_factory_module_holds_no_app_object():
    assert not [name for name, value in vars(app_module).items() if isinstance(value, Flask)]
