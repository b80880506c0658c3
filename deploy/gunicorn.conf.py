"""gunicorn settings for one small server: ``gunicorn -c deploy/gunicorn.conf.py 'app:create_app()'``.

Every value can be changed through the environment (e.g. in /etc/mingxiao/mingxiao.env, which
the systemd unit reads), so this file stays as shipped.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

from gunicorn.glogging import Logger


def _int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


# Loopback only: nginx (deploy/nginx.conf) terminates TLS and forwards to this address.
bind = os.environ.get("MINGXIAO_BIND", "127.0.0.1:8000")
# Four workers suit 2 cores: requests mostly wait on the workbook lock or the network.
workers = _int("MINGXIAO_WORKERS", 4)
# sync, not gthread: pages are CPU-bound Python, so the threads of one worker share its
# interpreter lock. With 4 threads per worker the load test (bench/README.md) saw more list
# throughput at 10x the real data but a much worse p95 at the real size (pages, forms and
# exports 6-12x slower at p95). gthread passes the set test too: MINGXIAO_WORKER_CLASS=gthread.
worker_class = os.environ.get("MINGXIAO_WORKER_CLASS", "sync")
threads = _int("MINGXIAO_THREADS", 4 if worker_class == "gthread" else 1)
# A Google Sheets call gives up well before this (mingxiao's own per-call timeout is shorter),
# so a slow API shows the user an error page instead of a killed worker.
timeout = _int("MINGXIAO_WORKER_TIMEOUT", 60)
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak in a library never grows without bound.
# Each worker loads the whole workbook when it starts (seconds at a large one), and the load
# spreads requests evenly, so a small jitter restarted all four workers within seconds of each
# other and left nobody serving (the load test at demo scale 10): a wide jitter staggers them.
# MINGXIAO_MAX_REQUESTS=0 turns recycling off (the load test's fair-yardstick runs do).
max_requests = _int("MINGXIAO_MAX_REQUESTS", 10000)
max_requests_jitter = max_requests // 2
# The database opens per worker after the fork (post_worker_init below): no preload needed.
preload_app = False
# Trust X-Forwarded-* only from the local proxy; the app also needs MINGXIAO_PROXY_COUNT=1.
forwarded_allow_ips = "127.0.0.1"
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("MINGXIAO_LOG_LEVEL", "info")
# No query strings in the access log: searches may carry names (never phones or ID numbers,
# which are kept out of URLs, but a log should hold as little personal data as it can).
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'

# Password-reset and fill-in invitation links carry their secret in the path: the access log
# keeps the page (/auth/reset/...), never the secret, or whoever reads the log could use the link.
SECRET_IN_PATH = re.compile(r"(/auth/reset/|/nominations/invite/)[^/?#\s]+")


class AccessLogWithoutSecrets(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("U", "r"):
            if isinstance(atoms.get(key), str):
                atoms[key] = SECRET_IN_PATH.sub(r"\1...", atoms[key])
        return atoms


logger_class = AccessLogWithoutSecrets


def pre_request(worker, req):
    """gunicorn's own hook logs each request's path at debug level: without the secret too."""
    worker.log.debug("%s %s", req.method, SECRET_IN_PATH.sub(r"\1...", req.path))


def post_worker_init(worker):
    """Load the workbook before this worker serves, telling the master it is alive meanwhile.

    A big workbook takes seconds of CPU per worker to load, and every worker loads at once:
    inside the first request that could pass ``timeout`` and get the worker killed and
    restarted, over and over (mingxiao.database.warm_worker).
    """
    from flask import Flask

    from mingxiao.database import warm_worker

    if isinstance(worker.wsgi, Flask):
        warm_worker(worker.wsgi, worker.notify)


# One dedicated writer process beside the workers (``flask sheets writer``): the workers only
# journal each save; the writer applies and saves them, so loading and saving a big workbook
# never competes with page views for a worker's interpreter lock. If it stops, the workers'
# own flushers take over; MINGXIAO_WRITER=0 runs without it.
_writer: subprocess.Popen | None = None


def when_ready(server):
    global _writer
    if os.environ.get("MINGXIAO_WRITER", "1") == "0":
        return
    uri = getattr(server.app, "app_uri", None) or "app:create_app()"
    _writer = subprocess.Popen(  # noqa: S603 - our own interpreter and CLI
        [sys.executable, "-m", "flask", "--app", uri, "sheets", "writer"],
        cwd=server.cfg.chdir or None,
    )
    server.log.info("dedicated writer started (pid %s)", _writer.pid)


def on_exit(server):
    if _writer is not None and _writer.poll() is None:
        _writer.terminate()  # it finishes the save in progress and applies what is pending
        try:
            _writer.wait(timeout=graceful_timeout + 60)
        except subprocess.TimeoutExpired:
            _writer.kill()
