"""The app as gunicorn serves it in the security tests: ``tests.security._wsgi:create({...})``.

Two test-only additions, neither of which changes what the app does:
- each answer names the worker that served it (``X-Test-Worker: <pid>``), so a test can show
  that a worker which never saw the logout (or the failed logins) still refuses;
- the app's own loggers (``mingxiao``, ``blueprints``, ``app``) log at DEBUG to stderr, which
  gunicorn's output file collects with its error and access logs, for the log scan.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from flask import Flask, Response

from app import create_app

WORKER_HEADER = "X-Test-Worker"


def create(config: dict[str, Any], app_log_level: str = "DEBUG") -> Flask:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)
    for name in ("mingxiao", "blueprints", "app", "flask_wtf", "werkzeug"):
        logging.getLogger(name).setLevel(app_log_level)
    app = create_app(config)
    app.logger.setLevel(app_log_level)

    @app.after_request
    def name_the_worker(response: Response) -> Response:
        response.headers[WORKER_HEADER] = str(os.getpid())
        return response

    return app
