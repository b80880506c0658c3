"""The app's handle on the spreadsheet database: opened lazily, once per process.

gunicorn forks workers after importing the app, and a SQLite connection or a flusher thread
must never cross a fork. So nothing is opened in ``create_app``: the first ``get_db()`` in a
process opens the :class:`~mingxiao.sheetdb.Database` and remembers which process did it; a
forked child sees a different pid and opens its own.
"""

from __future__ import annotations

import errno
import importlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app
from flask_babel import lazy_gettext as _l

from .config import ConfigError
from .plugins import EXT_SHEETS, fire_record_committed
from .sheetdb import Backend, Database, SchemaSet, load_schemas, open_database
from .sheetdb.schema import default_schema_dir

log = logging.getLogger(__name__)

EXT_DB = "mingxiao.db"  # the open Database of this process, or None before first use
EXT_DB_PID = "mingxiao.db_pid"
EXT_DB_LOCK = "mingxiao.db_lock"


STORAGE_TEXT = (
    _l("服务器磁盘已满"),
    _l("服务器的磁盘已满或暂时无法写入，这次操作没有保存。请稍后重试，并请管理员清理服务器磁盘。"),
)
PLAIN_STORAGE = (
    "503 服务器的磁盘已满或暂时无法写入，这次操作没有保存。请稍后重试，并请管理员清理服务器磁盘。"
    " / The server's disk is full or cannot be written: nothing was saved. Please try again later"
    " and ask the administrator to free disk space.\n"
)


def init_app(app: Flask) -> None:
    """Prepare the lazy database slot; the database itself opens on first use."""
    app.extensions[EXT_DB] = None
    app.extensions[EXT_DB_PID] = None
    app.extensions[EXT_DB_LOCK] = threading.Lock()
    app.register_error_handler(sqlite3.OperationalError, _storage_error)
    app.before_request(_begin_read)
    app.teardown_request(_end_read)
    app.register_error_handler(OSError, _storage_error)


def _open_db(app: Flask | None = None) -> Database | None:
    """This process's Database for ``app`` (default: the current app) if it is open, else None."""
    ext = (app if app is not None else current_app).extensions
    db: Database | None = ext.get(EXT_DB)
    return db if db is not None and ext.get(EXT_DB_PID) == os.getpid() else None


def _begin_read() -> None:
    """One request, one look at the journal and the workbook's version (Database.begin_read)."""
    db = _open_db()
    if db is not None:
        db.begin_read()


def _end_read(exc: BaseException | None = None) -> None:
    db = _open_db()
    if db is not None:
        db.end_read()


def storage_full(exc: BaseException | None) -> bool:
    """A full (or unwritable) disk under the journal, the credential store or the workbook."""
    if isinstance(exc, sqlite3.OperationalError):
        name = getattr(exc, "sqlite_errorname", "") or ""
        return (
            name == "SQLITE_FULL" or name.startswith("SQLITE_IOERR") or "disk is full" in str(exc)
        )
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def _storage_error(exc: Exception) -> Any:
    """A clear 503 instead of the bare 500 page when the disk is full; anything else is re-raised
    (and becomes the ordinary 500). Nothing was journaled: the save was not acknowledged."""
    if not storage_full(exc):
        raise exc
    log.error("storage full or unwritable: %s", exc)
    try:
        from .security import _render_error

        response = _render_error(503, *STORAGE_TEXT)
    except Exception:  # the page itself needs the disk (e.g. the signed-in user's record)
        response = Response(PLAIN_STORAGE, status=503, mimetype="text/plain")
    response.headers["Retry-After"] = "60"
    return response


def get_db(app: Flask | None = None) -> Database:
    """This process's Database for ``app`` (default: the current app), opening it if needed."""
    target: Flask = app if app is not None else current_app._get_current_object()  # type: ignore[attr-defined]
    ext = target.extensions
    pid = os.getpid()
    db = _open_db(target)
    if db is not None:
        return db
    if ext.get(EXT_DB_PID) != pid:
        # A lock inherited through fork may be held by a thread that no longer exists.
        ext[EXT_DB_LOCK] = threading.Lock()
    with ext[EXT_DB_LOCK]:
        db = ext.get(EXT_DB)
        if db is None or ext.get(EXT_DB_PID) != pid:
            db = _open(target)
            ext[EXT_DB] = db
            ext[EXT_DB_PID] = pid
    return db


def warm_worker(
    app: Flask, heartbeat: Callable[[], None], *, interval: float = 1.0, limit: float = 600.0
) -> bool:
    """Open this process's database and load the workbook before the worker serves anyone.

    For gunicorn's ``post_worker_init`` hook (deploy/gunicorn.conf.py). Loading a big workbook
    takes seconds of CPU per worker, and the workers of one server load in parallel: inside a
    request that can pass gunicorn's worker timeout, so the master kills the worker and the
    next one starts over (found by the load test at demo scale 10 on a busy 2-core machine).
    Here the load runs in a thread while ``heartbeat`` (the worker's ``notify``) tells the
    master every ``interval`` seconds that the worker is alive; requests wait in the listen
    queue meanwhile. Gives up waiting after ``limit`` seconds (the first request then
    finishes the load). Returns True when the workbook was loaded.
    """
    done = threading.Event()
    ok: list[bool] = []

    def load() -> None:
        try:
            with app.app_context():
                get_db(app).snapshot()
            ok.append(True)
        except Exception:
            log.exception(
                "could not load the workbook before serving; the first request will try again"
            )
        finally:
            done.set()

    threading.Thread(target=load, name="mingxiao-warm", daemon=True).start()
    deadline = time.monotonic() + limit
    while not done.wait(interval):
        heartbeat()
        if time.monotonic() > deadline:
            log.warning("the workbook is still loading after %.0f s; serving anyway", limit)
            return False
    return bool(ok)


def close_db(app: Flask) -> None:
    """Stop the flusher and close the journal of this process's database, if it is open."""
    db = _open_db(app)
    if db is not None:
        db.close()
    app.extensions[EXT_DB] = None
    app.extensions[EXT_DB_PID] = None


def schemas_for(app: Flask) -> SchemaSet:
    """The schema files plus any sheets plugins declared in their own TOML files."""
    directory = Path(app.config.get("SCHEMA_DIR") or default_schema_dir())
    base = load_schemas(directory)
    extra = {k: s for k, s in app.extensions.get(EXT_SHEETS, {}).items() if k not in base.sheets}
    return base.merged(extra) if extra else base


def gsheets_backend(app: Flask) -> Backend:
    """The Google Sheets backend from the app's GSHEETS_* settings (also used by ``sheets migrate``)."""
    key = app.config.get("GSHEETS_KEY")
    credentials = app.config.get("GSHEETS_CREDENTIALS")
    if not key or not (credentials or app.config.get("GSHEETS_API_BASE")):
        raise ConfigError(
            "使用 Google 表格需要设置 MINGXIAO_GSHEETS_KEY（表格 ID）和 MINGXIAO_GSHEETS_CREDENTIALS（服务账号 JSON 文件路径）。"
            " / The gsheets backend needs MINGXIAO_GSHEETS_KEY and MINGXIAO_GSHEETS_CREDENTIALS."
        )
    try:
        gsheets = importlib.import_module("mingxiao.sheetdb.gsheets")
    except ImportError as exc:
        raise ConfigError(
            f"无法加载 Google 表格后端：{exc} / Cannot load the gsheets backend: {exc}"
        ) from exc
    backend: Backend = gsheets.backend_from_config(
        key=key,
        credentials=credentials,
        state_path=Path(app.instance_path) / "journal.sqlite3",  # the budget shared by workers
        base_url=app.config.get("GSHEETS_API_BASE"),  # tests/bench only: the in-repo fake
        reads_per_minute=int(app.config.get("GSHEETS_READS_PER_MINUTE", 60)),
        writes_per_minute=int(app.config.get("GSHEETS_WRITES_PER_MINUTE", 60)),
        change_ttl=float(app.config.get("GSHEETS_CHANGE_TTL", 10.0)),
        timeout=float(app.config.get("GSHEETS_TIMEOUT", 20.0)),
    )
    return backend


def _backend(app: Flask) -> Backend | None:
    """The configured backend, or None for the engine's default (the xlsx workbook)."""
    kind = app.config.get("BACKEND", "xlsx")
    if kind == "xlsx":
        return None
    if kind == "gsheets":
        return gsheets_backend(app)
    raise ConfigError(
        f"MINGXIAO_BACKEND 只能是 xlsx 或 gsheets，当前为 {kind!r}。"
        f" / MINGXIAO_BACKEND must be xlsx or gsheets, not {kind!r}."
    )


def _open(app: Flask) -> Database:
    kwargs: dict[str, Any] = {
        "backup_keep": int(app.config.get("BACKUP_KEEP", 24)),
        "timezone": app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai",
    }
    kwargs.update(app.config.get("DATABASE_OPTIONS") or {})
    db = open_database(
        workbook=app.config["WORKBOOK"],
        instance=app.instance_path,
        backend=_backend(app),
        schemas=schemas_for(app),
        **kwargs,
    )
    hint = getattr(db.backend, "min_save_interval", None)
    if hint:  # Google: fewer, bigger group commits keep writes per save low
        db.min_save_interval = max(db.min_save_interval, float(hint))
    db.add_listener(lambda op: fire_record_committed(app, op))
    if not app.testing:
        # The flusher also notices direct edits in the workbook (audit, stale copies) and
        # retries blocked writes, even in a worker that has not written anything yet.
        db.start()
    return db
