"""Injected ENOSPC for the disk-full scenario where ``mount -t tmpfs`` is not permitted.

Used as gunicorn's config (``-c python:tests.proof._enospc``): after the fork, each worker's
journal transactions fail as SQLite fails on a full disk (``SQLITE_FULL``) and ``os.fsync``
fails with ``ENOSPC`` (as a workbook save does when the blocks run out) — while the marker
file named by ``PROOF_ENOSPC_MARKER`` exists. Nothing else changes.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MARKER_ENV = "PROOF_ENOSPC_MARKER"


def install(marker: Path) -> None:
    from mingxiao.sheetdb.journal import Journal

    real_tx = Journal.tx
    real_fsync = os.fsync

    def full() -> sqlite3.OperationalError:
        exc = sqlite3.OperationalError("database or disk is full")
        exc.sqlite_errorname = "SQLITE_FULL"  # type: ignore[attr-defined]
        return exc

    @contextmanager
    def tx(self: Journal) -> Iterator[sqlite3.Connection]:
        if marker.exists():
            raise full()
        with real_tx(self) as con:
            yield con

    def fsync(fd: int) -> None:
        if marker.exists():
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    Journal.tx = tx  # type: ignore[method-assign]
    os.fsync = fsync


def post_fork(server: Any, worker: Any) -> None:  # gunicorn server hook
    marker = os.environ.get(MARKER_ENV)
    if marker:
        install(Path(marker))
