"""A full disk gives the user a clear Chinese 503 ("nothing was saved"), not a bare 500.

Found by the disk-full scenario of the set test (tests/proof/test_nothing_lost.py): with the
instance folder's disk full, SQLite refuses the journal write (SQLITE_FULL) and even the
credential store's lookup of the signed-in user (SQLITE_IOERR_SHMSIZE), and the site answered
"500 系统出错了" — true (no false acknowledgement) but no hint of what to do. Now the answer
is a 503 that says the disk is full, nothing was saved, try again later and tell the admin.
"""

from __future__ import annotations

import errno
import sqlite3

import pytest
from flask import Flask

from mingxiao.database import storage_full


def _full(name: str) -> sqlite3.OperationalError:
    exc = sqlite3.OperationalError(
        "database or disk is full" if name == "SQLITE_FULL" else "disk I/O error"
    )
    exc.sqlite_errorname = name  # type: ignore[attr-defined]
    return exc


@pytest.fixture
def failing(app: Flask) -> Flask:
    """The app with a route that raises whatever the test puts in ``app.config['RAISE']``."""

    @app.post("/_raise")
    def _raise() -> str:
        raise app.config["RAISE"]

    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.config["WTF_CSRF_ENABLED"] = False
    return app


@pytest.mark.parametrize(
    "exc",
    [
        _full("SQLITE_FULL"),
        _full("SQLITE_IOERR_SHMSIZE"),
        OSError(errno.ENOSPC, "No space left on device"),
    ],
    ids=["journal-full", "shm-cannot-grow", "enospc"],
)
def test_a_full_disk_answers_503_that_says_so_in_chinese(failing: Flask, exc: Exception) -> None:
    failing.config["RAISE"] = exc
    r = failing.test_client().post("/_raise")
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "60"
    text = r.get_data(as_text=True)
    assert "服务器的磁盘已满或暂时无法写入，这次操作没有保存" in text


@pytest.mark.parametrize(
    "exc",
    [sqlite3.OperationalError("no such table: ops"), OSError(errno.EACCES, "Permission denied")],
    ids=["sqlite-other", "oserror-other"],
)
def test_other_storage_errors_stay_the_ordinary_500(failing: Flask, exc: Exception) -> None:
    failing.config["RAISE"] = exc
    r = failing.test_client().post("/_raise")
    assert r.status_code == 500
    assert "磁盘已满" not in r.get_data(as_text=True)


def test_storage_full_recognises_only_full_or_unwritable_disks() -> None:
    assert storage_full(_full("SQLITE_FULL"))
    assert storage_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert not storage_full(sqlite3.OperationalError("database is locked"))
    assert not storage_full(OSError(errno.ENOENT, "No such file"))
    assert not storage_full(None)
