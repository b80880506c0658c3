"""The deployment kit in deploy/: gunicorn's config file serves the site, logs no query
strings, and the nightly backup script copies the workbook, the journal and the credentials."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests._servers import free_port

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
SECRET = "deploy-test-secret-key-0123456789abcdef"


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    req = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
            return resp.status, dict(resp.headers), resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode()


@pytest.mark.slow
def test_gunicorn_config_serves_the_site_behind_a_tls_proxy_without_logging_query_strings(
    tmp_path: Path,
):
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "MINGXIAO_BIND": f"127.0.0.1:{port}",
        "MINGXIAO_WORKERS": "2",
        "MINGXIAO_SECRET_KEY": SECRET,
        "MINGXIAO_INSTANCE_PATH": str(tmp_path / "instance"),
        "MINGXIAO_TLS": "1",
        "MINGXIAO_PROXY_COUNT": "1",
        "PYTHONPATH": str(REPO),
    }
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(DEPLOY / "gunicorn.conf.py"), "app:create_app()"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            if len(set(re.findall(r"Booting worker with pid: (\d+)", log.read_text()))) >= 2:
                try:
                    status, headers, body = _get(base + "/healthz", {"X-Forwarded-Proto": "https"})
                    break
                except OSError:
                    pass
            time.sleep(0.2)
        assert status == 200 and '"status"' in body
        # Behind the TLS proxy the app sends HSTS (it trusts the one X-Forwarded-Proto hop).
        assert "max-age" in headers.get("Strict-Transport-Security", "")
        _get(base + "/auth/login?next=/trainees/&q=13800138000", {"X-Forwarded-Proto": "https"})
        time.sleep(0.5)  # let the access log line reach the file
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    text = log.read_text()
    assert '"GET /auth/login HTTP/1.1" 200' in text, text[-2000:]
    assert "13800138000" not in text


def test_gunicorn_config_ships_sync_workers_and_gthread_only_when_asked(
    monkeypatch: pytest.MonkeyPatch,
):
    """sync by default (bench/README.md: gthread's p95 was worse); the environment may switch."""
    import runpy

    monkeypatch.delenv("MINGXIAO_WORKER_CLASS", raising=False)
    monkeypatch.delenv("MINGXIAO_THREADS", raising=False)
    shipped = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert (shipped["worker_class"], shipped["threads"], shipped["workers"]) == ("sync", 1, 4)
    monkeypatch.setenv("MINGXIAO_WORKER_CLASS", "gthread")
    asked = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert (asked["worker_class"], asked["threads"]) == ("gthread", 4)


def test_systemd_unit_runs_gunicorn_with_the_shipped_config():
    unit = (DEPLOY / "mingxiao.service").read_text(encoding="utf-8")
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    assert "-c deploy/gunicorn.conf.py" in exec_start and "app:create_app()" in exec_start
    assert "EnvironmentFile=/etc/mingxiao/mingxiao.env" in unit


def test_nginx_example_forwards_to_the_gunicorn_bind_address_with_tls():
    conf = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    assert "proxy_pass http://127.0.0.1:8000;" in conf
    assert "listen 443 ssl;" in conf and "X-Forwarded-Proto" in conf


@pytest.mark.slow
def test_backup_script_copies_workbook_journal_and_credentials(tmp_path: Path):
    instance = tmp_path / "instance"
    dest = tmp_path / "backups"
    env = {
        **os.environ,
        "MINGXIAO_APP": str(REPO),
        "MINGXIAO_VENV": sys.prefix,
        "MINGXIAO_INSTANCE_PATH": str(instance),
        "MINGXIAO_BACKUP_DIR": str(dest),
        "MINGXIAO_SECRET_KEY": SECRET,
        "PYTHONPATH": str(REPO),
    }
    flask = [str(Path(sys.prefix) / "bin" / "flask"), "--app", "app"]
    subprocess.run([*flask, "sheets", "init"], cwd=REPO, env=env, check=True, capture_output=True)
    subprocess.run(
        [*flask, "users", "add", "a@example.cn", "--role", "admin", "--name", "管理员", "--password-stdin"],
        cwd=REPO, env=env, check=True, capture_output=True, input=b"correct horse 2026\n",
    )  # fmt: skip
    done = subprocess.run(
        ["bash", str(DEPLOY / "backup.sh")], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (folder,) = [p for p in dest.iterdir() if p.is_dir()]
    workbooks = list(folder.glob("*.xlsx"))
    assert workbooks and "账号" in load_workbook(workbooks[0], read_only=True).sheetnames
    with sqlite3.connect(folder / "credentials.sqlite3") as db:
        tables = {r[0] for r in db.execute("select name from sqlite_master where type='table'")}
    assert tables, "the credential store copy is empty"
    assert (folder / "journal.sqlite3").exists()
