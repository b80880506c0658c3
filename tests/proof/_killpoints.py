"""kill -9 at chosen points of a write, for the kill scenario of the set test.

Used as gunicorn's config (``-c python:tests.proof._killpoints``). The test drops token files
into the folder named by ``PROOF_KILL_DIR``; a worker that claims one (an atomic unlink, so
each token kills exactly one worker) sends itself SIGKILL at that point:

- ``before-*``: a save request arrived, before the app saw it (nothing journaled);
- ``after-*``: the app journaled the save and built its answer, before a byte of it was sent
  (the save is durable, the answer is lost);
- ``flush-*``: the flusher saved the workbook file, before the journal marked the operations
  applied (on the next sync they are found already in the file).

Random kill -9s from outside (:func:`tests.proof._setharness.worker_killer`) come on top.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

DIR_ENV = "PROOF_KILL_DIR"
SAVE_SUFFIX = "/logs/new"


def claim(folder: Path, point: str) -> bool:
    """Take one ``point`` token, if any is left (exactly one claimant per token)."""
    try:
        names = [n for n in os.listdir(folder) if n.startswith(point + "-")]
    except OSError:
        return False
    for name in names:
        try:
            os.unlink(folder / name)
        except FileNotFoundError:
            continue  # another worker took it
        return True
    return False


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def wrap(app: Callable[..., Iterable[bytes]], folder: Path) -> Callable[..., Iterable[bytes]]:
    def killing_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        save = environ.get("REQUEST_METHOD") == "POST" and str(
            environ.get("PATH_INFO", "")
        ).endswith(SAVE_SUFFIX)
        if save and claim(folder, "before"):
            die()
        body = app(environ, start_response)
        if save and claim(folder, "after"):
            die()
        return body

    return killing_app


def install_flush_kill(folder: Path) -> None:
    from mingxiao.sheetdb.xlsx import XlsxBackend

    real = XlsxBackend._save_atomic

    def save_atomic(self: XlsxBackend, wb: Any, expect: Any, **kwargs: Any) -> Any:
        version = real(self, wb, expect, **kwargs)
        if claim(folder, "flush"):
            die()
        return version

    XlsxBackend._save_atomic = save_atomic  # type: ignore[method-assign]


def post_worker_init(worker: Any) -> None:  # gunicorn server hook
    folder = os.environ.get(DIR_ENV)
    if folder:
        worker.wsgi = wrap(worker.wsgi, Path(folder))
        install_flush_kill(Path(folder))
