"""The application factory: ``flask --app app run`` finds :func:`create_app` here."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from mingxiao import auth, config, database, i18n, masking, plugins, security


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the site: configuration, extensions, then the plugins that add every feature.

    ``test_config`` overrides every other configuration source; its ``INSTANCE_PATH`` chooses
    the instance folder (tests use a temporary one).
    """
    instance_path = config.instance_path_from(test_config, os.environ)
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    os.makedirs(app.instance_path, mode=0o700, exist_ok=True)
    config.load_config(app, test_config)

    security.init_app(app)
    i18n.init_app(app)
    masking.init_app(app)
    database.init_app(app)
    auth.init_app(app)
    plugins.init_app(app)
    return app
