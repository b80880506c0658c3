"""The README's Quick start, run from the README text itself in a clean temporary folder.

Command 1 must install, build the demo workbook, print one demo login per role and serve the
site. Command 2 must install and collect the whole suite there (CI runs it in full through
``.ci/run``; running the suite inside itself would recurse).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[1]
ROLES = ("admin", "district", "expert", "mentor", "trainee")


def quickstart_commands() -> list[str]:
    """The shell commands of the README's Quick start section, in order."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## 快速开始 / Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    return [line.strip() for b in blocks for line in b.splitlines() if line.strip() and not line.startswith("#")]


def test_readme_quick_start_has_exactly_two_commands() -> None:
    assert quickstart_commands() == ["make run", "make test"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def clean_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tracked files only, as a fresh clone would have them (no .venv, no instance/)."""
    dest = tmp_path_factory.mktemp("quickstart") / "mingxiao"
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    for name in filter(None, files):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def _env(port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MINGXIAO_", "PYTEST", "VIRTUAL_ENV"))}
    env["PORT"] = str(port)  # the Makefile's `PORT ?= 5000`: avoid clashing with a real server
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    env.pop("PYTHON", None)  # the Makefile's own default (python3)
    return env


@pytest.mark.slow
def test_quick_start_command_one_installs_and_serves_the_demo(clean_checkout: Path) -> None:
    port = _free_port()
    cmd = quickstart_commands()[0]
    log = clean_checkout / "run.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd, shell=True, cwd=clean_checkout, env=_env(port), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 900
        page = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                page = requests.get(f"http://127.0.0.1:{port}/auth/login", timeout=5)
                if page.status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(2)
        output = log.read_text(encoding="utf-8", errors="replace")
        assert page is not None and page.status_code == 200, output[-3000:]
        assert "登录" in page.text
        logins = re.findall(r"^\s+(admin|district|expert|mentor|trainee)\s+(\S+@\S+)", output, flags=re.M)
        assert {role for role, _ in logins} == set(ROLES), output[-3000:]
        assert (clean_checkout / "instance" / "mingxiao.xlsx").is_file()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.slow
def test_quick_start_command_two_installs_and_collects_the_whole_suite(clean_checkout: Path) -> None:
    cmd = quickstart_commands()[1]
    env = _env(_free_port())
    env["PYTEST_ADDOPTS"] = "--collect-only -q"  # collect, don't recurse into running
    done = subprocess.run(cmd, shell=True, cwd=clean_checkout, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert re.search(r"\d+ tests collected", done.stdout), done.stdout[-2000:]
    assert "error" not in done.stdout.lower().split("tests collected")[-1]
