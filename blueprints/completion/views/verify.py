"""The public certificate verification page: ``/completion/verify``.

The only public page of the plugin. A visitor types (or a printed link carries) the
verification code; the answer is one page of one shape whatever the code: a valid or revoked
certificate shows the holder's name, cohort and validity and nothing else (no number, school,
district, phone or id); an unknown or mistyped code shows a neutral “未找到”. Look-ups are
counted per client address in a small SQLite table in the instance folder (shared by the
gunicorn workers), and past ``VERIFY_RATE_LIMIT`` per ``VERIFY_RATE_WINDOW`` seconds the
page answers 429 without looking anything up, so codes cannot be enumerated.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Any

from flask import current_app, render_template, request
from flask_babel import gettext as _

from mingxiao.database import get_db

from .. import certificates, data, rules
from ..blueprint import bp
from ..forms import VerifyForm

RATE_DB = "completion-verify.sqlite"


def _rate_db() -> sqlite3.Connection:
    path = Path(current_app.instance_path) / RATE_DB
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=10, isolation_level=None)
    con.execute("CREATE TABLE IF NOT EXISTS hits(key TEXT NOT NULL, at REAL NOT NULL)")
    con.execute("CREATE INDEX IF NOT EXISTS hits_key ON hits(key, at)")
    return con


def allow_lookup(key: str, limit: int, window: float, now: float | None = None) -> bool:
    """Count one look-up for ``key``; False when ``key`` already made ``limit`` in the window.

    One ``BEGIN IMMEDIATE`` transaction, so parallel workers cannot all slip under the limit.
    """
    now = time.time() if now is None else now
    with closing(_rate_db()) as con:
        con.execute("BEGIN IMMEDIATE")
        try:
            con.execute("DELETE FROM hits WHERE at <= ?", (now - window,))
            (count,) = con.execute(
                "SELECT COUNT(*) FROM hits WHERE key = ? AND at > ?", (key, now - window)
            ).fetchone()
            if count >= limit:
                con.execute("COMMIT")
                return False
            con.execute("INSERT INTO hits(key, at) VALUES (?, ?)", (key, now))
            con.execute("COMMIT")
            return True
        except BaseException:
            con.execute("ROLLBACK")
            raise


def _outcome(code: str) -> dict[str, Any]:
    """What the page may say about ``code``: state, and name and cohort for a known one."""
    db = get_db()
    cert = certificates.find_by_code(db, code)
    state = rules.certificate_state(cert)
    if cert is None or state == rules.UNKNOWN:
        return {"state": rules.UNKNOWN, "name": "", "cohort": ""}
    trainee = db.table("trainees").get(str(cert.get("trainee") or ""))
    if trainee is None:
        return {"state": rules.UNKNOWN, "name": "", "cohort": ""}
    cohort = db.table("cohorts").get(str(trainee.get("cohort") or ""))
    return {
        "state": state,
        "name": str(trainee.get("name") or ""),
        "cohort": data.cohort_label(cohort),
    }


@bp.route("/verify", methods=["GET", "POST"])
def verify() -> Any:
    """Form (GET); a look-up by POST (CSRF) or by ``?code=`` (the link printed on a certificate)."""
    form = VerifyForm()
    code = ""
    if request.method == "POST":
        if form.validate_on_submit():
            code = form.code.data or ""
    else:
        code = request.args.get("code", "")[:40]
        form.code.data = code
    result = None
    status = 200
    if rules.normalize_code(code):
        limit = int(rules.positive_setting(current_app.config, "VERIFY_RATE_LIMIT"))
        window = float(rules.positive_setting(current_app.config, "VERIFY_RATE_WINDOW"))
        if allow_lookup("ip:" + (request.remote_addr or "?"), limit, window):
            result = _outcome(code)
        else:
            status = 429
    form.code.data = ""  # the page never echoes a code back
    return (
        render_template(
            "completion/verify.html",
            form=form,
            result=result,
            limited=status == 429,
            title=_("结业证书核验"),
        ),
        status,
    )
