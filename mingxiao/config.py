"""Configuration: defaults → ``instance/config.py`` → ``MINGXIAO_*`` environment → test dict.

Later sources win. After merging, a few settings are derived (paths under the instance
folder, cookie flags behind TLS) and the secret key is checked: production refuses to start
without one, demo mode generates one once and keeps it in ``instance/secret_key`` (0600).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

ENV_PREFIX = "MINGXIAO_"
ENVIRONMENTS = ("production", "demo", "testing")
SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a password
MB = 1024 * 1024

# Keys whose value is a comma-separated list when it comes from the environment.
LIST_KEYS = frozenset(
    {
        "ENABLED_PLUGINS",
        "EXTRA_PLUGINS",
        "LANGUAGES",
        "PUBLICITY_HOLIDAYS",
        "PUBLICITY_EXTRA_WORKDAYS",
    }
)

# Settings an environment variable may set besides the defaults below (no natural default).
EXTRA_ENV_KEYS = frozenset({"SECRET_KEY", "TLS"})


class ConfigError(RuntimeError):
    """The configuration cannot run the site; the message says what to set, in Chinese and English."""


def defaults() -> dict[str, Any]:
    """The built-in defaults. ``None`` for a path means "derive it from the instance folder"."""
    return {
        "ENV": None,  # production | demo | testing; derived when not set
        "SECRET_KEY": None,
        "DEBUG": False,
        "TESTING": False,
        "TLS": False,  # the site is served over HTTPS (directly or behind a proxy)
        "PROXY_COUNT": 0,  # reverse proxies in front of the app that set X-Forwarded-*
        # The spreadsheet database
        "BACKEND": "xlsx",  # xlsx | gsheets
        "WORKBOOK": None,  # default <instance>/mingxiao.xlsx
        "GSHEETS_KEY": None,
        "GSHEETS_CREDENTIALS": None,
        "GSHEETS_READS_PER_MINUTE": 60,  # request budgets shared by all workers of one server
        "GSHEETS_WRITES_PER_MINUTE": 60,
        "GSHEETS_CHANGE_TTL": 10.0,  # seconds between Drive modifiedTime checks
        "GSHEETS_TIMEOUT": 20.0,  # per request; retries stop well before gunicorn's 60 s
        "GSHEETS_API_BASE": None,  # tests/bench only: URL of the in-repo fake instead of Google
        "SCHEMA_DIR": None,  # default: sheets_schema/ beside the package
        "BACKUP_KEEP": 24,
        # The dedicated writer process (`flask sheets writer`, started by deploy/gunicorn.conf.py)
        # lowers its CPU priority by this much: page views first, saves wait in the journal.
        "WRITER_NICE": 5,
        "DATABASE_OPTIONS": {},  # extra keyword arguments for sheetdb.open_database
        # Plugins
        "ENABLED_PLUGINS": None,  # None = every installed plugin
        "EXTRA_PLUGINS": (),  # site-local plugin modules to load by import name
        # Uploads: the request limit leaves room for the form fields around the file
        "UPLOAD_MAX_BYTES": 20 * MB,
        "MAX_CONTENT_LENGTH": None,  # default UPLOAD_MAX_BYTES + 1 MB
        "UPLOAD_FOLDER": None,  # default <instance>/uploads, never under static/
        # Language
        "LANGUAGES": ("zh_CN", "en"),
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "BABEL_TRANSLATION_DIRECTORIES": "translations",
        # Sessions and cookies
        "SESSION_COOKIE_NAME": "mingxiao_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": False,
        "PERMANENT_SESSION_LIFETIME": 8 * 3600,
        "PREFERRED_URL_SCHEME": "http",
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        # Mail (optional; without MAIL_SERVER links are printed instead of emailed)
        "MAIL_SERVER": None,
        "MAIL_PORT": 587,
        "MAIL_USERNAME": None,
        "MAIL_PASSWORD": None,
        "MAIL_USE_TLS": True,
        "MAIL_USE_SSL": False,
        "MAIL_DEFAULT_SENDER": None,
        "MAIL_TIMEOUT": 10,
        # Password reset links: scheme://host the emailed link starts with (None = the request's)
        "BASE_URL": None,
        # Accounts: the credential store (None = <instance>/credentials.sqlite3) and login
        # throttling, counted in that store so the limits hold across gunicorn workers
        "CREDENTIALS_PATH": None,
        "LOGIN_MAX_FAILURES_PER_EMAIL": 5,  # failed logins per email inside the window
        "LOGIN_MAX_FAILURES_PER_IP": 20,  # failed logins per client address inside the window
        "LOGIN_THROTTLE_WINDOW": 15 * 60,  # seconds
        # Policy: the status of a refused *record* (404 does not confirm the id exists; or 403)
        "POLICY_RECORD_DENIAL_STATUS": 404,
        # 差额审核: an expert does not score nominees of their own 区县 (回避)
        "NOMINATIONS_EXCLUDE_OWN_DISTRICT_EXPERTS": True,
        # 公示: the period counts working days, Monday–Friday minus PUBLICITY_HOLIDAYS plus
        # PUBLICITY_EXTRA_WORKDAYS (调休上班); both are lists of ISO dates such as "2026-10-01"
        "PUBLICITY_WORKING_DAYS": 5,
        "PUBLICITY_HOLIDAYS": (),
        "PUBLICITY_EXTRA_WORKDAYS": (),
    }


def _truthy(text: str) -> bool:
    return text.strip().lower() in {"1", "true", "yes", "on", "y"}


def _convert(key: str, text: str, default: Any) -> Any:
    """Turn an environment string into the type of the setting's default."""
    if key in LIST_KEYS:
        return tuple(part.strip() for part in text.split(",") if part.strip())
    if isinstance(default, bool) or key in {"TLS", "DEBUG", "TESTING"}:
        return _truthy(text)
    if isinstance(default, int):
        try:
            return int(text)
        except ValueError as exc:
            raise ConfigError(
                f"环境变量 {ENV_PREFIX}{key} 应为整数，实际为 {text!r}。"
                f" / Environment variable {ENV_PREFIX}{key} must be an integer, got {text!r}."
            ) from exc
    return text


def from_environ(environ: Mapping[str, str], base: Mapping[str, Any]) -> dict[str, Any]:
    """Every ``MINGXIAO_X`` variable as setting ``X``, typed like ``base[X]``."""
    out: dict[str, Any] = {}
    for name, text in environ.items():
        if not name.startswith(ENV_PREFIX) or name == f"{ENV_PREFIX}INSTANCE_PATH":
            continue
        key = name[len(ENV_PREFIX) :]
        if not key:
            continue
        out[key] = _convert(key, text, base.get(key))
    return out


def instance_path_from(config: Mapping[str, Any] | None, environ: Mapping[str, str]) -> str | None:
    """The instance folder chosen by the test dict or ``MINGXIAO_INSTANCE_PATH`` (absolute)."""
    chosen = (config or {}).get("INSTANCE_PATH") or environ.get(f"{ENV_PREFIX}INSTANCE_PATH")
    return str(Path(chosen).resolve()) if chosen else None


def load_config(
    app: Flask, config: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> None:
    """Fill ``app.config`` from every source in order, derive paths and check the secret key."""
    environ = os.environ if environ is None else environ
    app.config.from_mapping(defaults())
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(from_environ(environ, app.config))
    if config:
        app.config.update({k: v for k, v in config.items() if k != "INSTANCE_PATH"})
    _derive(app)
    _check_environment(app)
    _ensure_secret_key(app)


def _derive(app: Flask) -> None:
    """Settings that follow from others unless set explicitly."""
    cfg = app.config
    instance = Path(app.instance_path)
    if not cfg.get("ENV"):
        cfg["ENV"] = "testing" if cfg.get("TESTING") else "production"
    if not cfg.get("WORKBOOK"):
        cfg["WORKBOOK"] = str(instance / "mingxiao.xlsx")
    if not cfg.get("UPLOAD_FOLDER"):
        cfg["UPLOAD_FOLDER"] = str(instance / "uploads")
    if not cfg.get("MAX_CONTENT_LENGTH"):
        cfg["MAX_CONTENT_LENGTH"] = int(cfg["UPLOAD_MAX_BYTES"]) + MB
    if cfg.get("ENABLED_PLUGINS") is not None:
        cfg["ENABLED_PLUGINS"] = tuple(cfg["ENABLED_PLUGINS"])
    cfg["EXTRA_PLUGINS"] = tuple(cfg.get("EXTRA_PLUGINS") or ())
    cfg["LANGUAGES"] = tuple(cfg["LANGUAGES"])
    # Behind TLS every cookie is Secure; HSTS is sent by security.py.
    if cfg.get("TLS") or cfg.get("PREFERRED_URL_SCHEME") == "https":
        cfg["TLS"] = True
        cfg["PREFERRED_URL_SCHEME"] = "https"
        cfg["SESSION_COOKIE_SECURE"] = True
        cfg["REMEMBER_COOKIE_SECURE"] = True


def _check_environment(app: Flask) -> None:
    env = app.config["ENV"]
    if env not in ENVIRONMENTS:
        raise ConfigError(
            f"MINGXIAO_ENV 只能是 production、demo 或 testing，当前为 {env!r}。"
            f" / MINGXIAO_ENV must be production, demo or testing, not {env!r}."
        )
    if env == "production" and app.config.get("DEBUG"):
        raise ConfigError(
            "生产环境不能开启调试模式（调试页面会暴露服务器）。请去掉 DEBUG 设置。"
            " / Refusing to run in production with DEBUG on: the debugger exposes the server."
        )


def _ensure_secret_key(app: Flask) -> None:
    """Production needs a configured key; demo keeps a generated one; tests get a throwaway one."""
    if app.config.get("SECRET_KEY"):
        return
    env = app.config["ENV"]
    if env == "demo":
        app.config["SECRET_KEY"] = demo_secret_key(Path(app.instance_path))
    elif env == "testing":
        app.config["SECRET_KEY"] = secrets.token_hex(32)
    else:
        raise ConfigError(
            "未设置密钥，生产环境无法启动。请设置环境变量 MINGXIAO_SECRET_KEY"
            "（例如 python3 -c 'import secrets; print(secrets.token_hex(32))' 的输出），"
            "或在 instance/config.py 中写 SECRET_KEY；试用请设 MINGXIAO_ENV=demo。"
            " / No SECRET_KEY: refusing to start in production. Set MINGXIAO_SECRET_KEY"
            " (or SECRET_KEY in instance/config.py), or MINGXIAO_ENV=demo to try the site."
        )


def demo_secret_key(instance: Path) -> str:
    """Read ``instance/secret_key``, creating it (mode 0600) with a random key the first time.

    The key is written to a private temp file and hard-linked into place, so two workers
    starting together agree on one key and never see a half-written file.
    """
    path = instance / SECRET_KEY_FILE
    instance.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = instance / f".{SECRET_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secrets.token_hex(32) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another worker won the race; use its key
        finally:
            tmp.unlink(missing_ok=True)
    key = path.read_text(encoding="ascii").strip()
    if not key:
        raise ConfigError(
            f"{path} 是空的。请删除该文件后重新启动，系统会生成新的密钥。"
            f" / {path} is empty: delete it and restart to generate a new key."
        )
    return key
