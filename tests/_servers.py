"""Real servers for multi-process tests: gunicorn on a free loopback port.

    with start_gunicorn('app:create_app({"INSTANCE_PATH": "/tmp/x", "TESTING": True})',
                        env={"MINGXIAO_SECRET_KEY": "…"}, workers=2) as base_url:
        requests.get(base_url + "/healthz")

The server runs in its own process group, which is killed when the block exits, so no worker
outlives a test. Its output goes to a log file whose tail is shown if it fails to start.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _booted_workers(log_path: Path) -> set[str]:
    text = log_path.read_text(encoding="utf-8", errors="replace")
    return set(re.findall(r"Booting worker with pid: (\d+)", text))


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def start_gunicorn(
    app_factory_expr: str,
    env: Mapping[str, str] | None = None,
    workers: int = 2,
    *,
    ready_path: str = "/auth/login",
    timeout: float = 60,
    extra_args: tuple[str, ...] = (),
) -> Iterator[str]:
    """Run ``gunicorn -w workers app_factory_expr`` on 127.0.0.1 and yield its base URL.

    Ready means every worker has booted and ``ready_path`` answers (any HTTP status).
    """
    port = free_port()
    log_file = tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False)
    log_path = Path(log_file.name)
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--timeout",
        "60",
        "--graceful-timeout",
        "5",
        "--log-level",
        "info",
        *extra_args,
        app_factory_expr,
    ]
    proc_env = {**os.environ, **(env or {})}
    proc_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), proc_env.get("PYTHONPATH", "")) if p
    )
    proc = subprocess.Popen(
        cmd,
        cwd=REPO,
        env=proc_env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log_file.close()
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"gunicorn not ready after {timeout}s:\n{log_path.read_text()[-4000:]}"
                )
            if len(_booted_workers(log_path)) >= workers and _answers(base_url + ready_path):
                break
            time.sleep(0.1)
        yield base_url
    finally:
        _stop(proc)
        log_path.unlink(missing_ok=True)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback URL built above
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer means a worker is serving
    except OSError:
        return False
