"""The nginx example (deploy/nginx.conf) passes ``nginx -t`` and logs no secret of a link.

Run with the system's nginx (Debian 12: 1.22, what the README's ``apt-get install nginx``
gives), included inside ``http {}`` as sites-enabled/* is, with a throw-away certificate and
free ports. The real nginx then serves a few requests (the upstream is down: 502 is fine, the
access log is what is read): password-reset and invitation links are logged without their
secret, and no query string is logged.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests._servers import REPO, free_port

pytestmark = pytest.mark.slow

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
OPENSSL = shutil.which("openssl")
# Read at import: the autouse fixture of tests/conftest.py clears MINGXIAO_* before each test.
# .ci/run sets it, so in CI a missing nginx fails instead of skipping.
REQUIRED = bool(os.environ.get("MINGXIAO_REQUIRE_NGINX"))
needs_nginx = pytest.mark.skipif(
    (NGINX is None or OPENSSL is None) and not REQUIRED,
    reason="needs nginx and openssl (apt-get install nginx)",
)


def site(tmp: Path) -> tuple[Path, int]:
    """The example, made runnable here: its cert, log and ports replaced; returns (main, port)."""
    assert NGINX and OPENSSL, "nginx and openssl are required here (.ci/run installs them)"
    subprocess.run(
        [OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(tmp / "key.pem"), "-out", str(tmp / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    conf = (REPO / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    conf = conf.replace("/etc/ssl/mingxiao/fullchain.pem", str(tmp / "cert.pem"))
    conf = conf.replace("/etc/ssl/mingxiao/privkey.pem", str(tmp / "key.pem"))
    conf = conf.replace("/var/log/nginx/", f"{tmp}/")
    conf = re.sub(r"\n\s*listen \[::\]:\d+[^\n]*", "", conf)  # no IPv6 needed here
    conf = conf.replace("listen 80;", f"listen 127.0.0.1:{free_port()};")
    conf = conf.replace("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;")
    conf = conf.replace(
        "proxy_pass http://127.0.0.1:8000;", f"proxy_pass http://127.0.0.1:{free_port()};"
    )
    (tmp / "site.conf").write_text(conf, encoding="utf-8")
    main = tmp / "nginx.conf"
    main.write_text(
        f"pid {tmp}/nginx.pid;\nerror_log {tmp}/error.log;\nevents {{}}\n"
        f"http {{\n    access_log {tmp}/default.log;\n    include {tmp}/site.conf;\n}}\n",
        encoding="utf-8",
    )
    return main, port


@needs_nginx
def test_the_example_passes_nginx_t(tmp_path: Path):
    main, _port = site(tmp_path)
    result = subprocess.run(
        [NGINX, "-t", "-c", str(main), "-p", str(tmp_path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


@needs_nginx
def test_the_access_log_keeps_the_page_but_not_the_secret_or_the_query(tmp_path: Path):
    main, port = site(tmp_path)
    cert = str(tmp_path / "cert.pem")  # the throw-away certificate is the trusted one
    proc = subprocess.Popen(
        [NGINX, "-c", str(main), "-p", str(tmp_path), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    secrets = ["resetSECRETtoken0123456789abcdefghijkl", "inviteSECRETtoken0123456789abcdefghij"]
    paths = [
        f"/auth/reset/{secrets[0]}",
        f"/nominations/invite/{secrets[1]}",
        "/trainees/?q=13800138000",
    ]
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                requests.get(f"https://127.0.0.1:{port}/healthz", verify=cert, timeout=5)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.1)
        for path in paths:
            answer = requests.get(f"https://127.0.0.1:{port}{path}", verify=cert, timeout=10)
            assert answer.status_code == 502  # nobody upstream: only the log matters here
    finally:
        proc.send_signal(signal.SIGQUIT)  # graceful: the log is flushed
        proc.wait(timeout=20)
    log = (tmp_path / "mingxiao.access.log").read_text(encoding="utf-8")
    assert '"GET /auth/reset/..."' in log and '"GET /nominations/invite/..."' in log, log
    assert '"GET /trainees/"' in log, log
    assert not [s for s in [*secrets, "13800138000"] if s in log], log
