"""In-app notifications (站内通知): a small store in the instance folder, not in the workbook.

Notifications are messages for people, not programme data: they never go into the sheet the
office edits. They live in ``<instance>/notifications.sqlite3`` (SQLite in WAL mode, file mode
0600, a fresh connection per call with a busy timeout), so every gunicorn worker and the
``reminders`` CLI read and write the same store safely.

A notification is addressed to one audience:

- one person, by login email (``email=``), or
- everyone of a role (``role=``), optionally only in one 区县 (``role="district",
  district="上城区"``: that district's staff).

Whether it was read is kept per reader, so a role-wide notice is read or unread for each
person separately. Only the addressees ever see a notification (:func:`for_user`,
:func:`get_for_user`). ``link`` is a path inside this site (``/trainees/T2026-0001``), never an
outside address. ``key`` makes a notification idempotent: a second :func:`notify` with the same
key is ignored, so a reminder run twice by cron does not tell anyone twice.

API::

    from mingxiao import notifications
    notifications.notify(app, role="district", district="上城区", title="…", body="…",
                         link="/trainees/T2026-0001")
    notifications.notify(app, email="a@b.cn", title="…", key="deliverable-D1-due")
    notifications.for_user(app, current_user)          # newest first
    notifications.unread_count(app, current_user)
    notifications.mark_read(app, current_user, nid)    # False if not the user's
    notifications.mark_all_read(app, current_user)

``target`` (the first argument) is a Flask app or the path of the store file.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask

STORE_FILE = "notifications.sqlite3"
CONFIG_KEY = "NOTIFICATIONS_PATH"
BUSY_TIMEOUT_MS = 10_000
TITLE_MAX = 200
BODY_MAX = 4000
LINK_MAX = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    email TEXT,
    role TEXT,
    district TEXT,
    title TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    link TEXT,
    kind TEXT,
    key TEXT UNIQUE,
    CHECK (email IS NOT NULL OR role IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS notifications_email ON notifications (email);
CREATE INDEX IF NOT EXISTS notifications_role ON notifications (role, district);
CREATE TABLE IF NOT EXISTS reads (
    notification_id INTEGER NOT NULL REFERENCES notifications (id),
    email TEXT NOT NULL,
    read_at TEXT NOT NULL,
    PRIMARY KEY (notification_id, email)
);
"""


@dataclass(frozen=True)
class Notification:
    """One notification as a reader sees it (``read``: read by this reader)."""

    id: int
    created_at: dt.datetime
    title: str
    body: str
    link: str | None
    kind: str | None
    email: str | None
    role: str | None
    district: str | None
    read: bool


def store_path(target: Flask | str | os.PathLike[str]) -> Path:
    """The store file of an app (``NOTIFICATIONS_PATH`` or the instance folder) or a path."""
    if isinstance(target, Flask):
        configured = target.config.get(CONFIG_KEY)
        return Path(configured) if configured else Path(target.instance_path) / STORE_FILE
    return Path(target)


def _connect_raw(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    con.row_factory = sqlite3.Row
    con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return con


@contextmanager
def _open(
    target: Flask | str | os.PathLike[str], *, create: bool
) -> Iterator[sqlite3.Connection | None]:
    """A connection to the store; None when it does not exist and ``create`` is False (reads
    never create the file, so a page view changes nothing on disk)."""
    path = store_path(target)
    if not path.exists():
        if not create:
            yield None
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        os.close(fd)
    con = _connect_raw(path)
    try:
        if create:
            con.execute("PRAGMA journal_mode = WAL")
            con.executescript(_SCHEMA)
        yield con
    finally:
        con.close()


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def _clean(text: Any, limit: int) -> str:
    value = "" if text is None else str(text).strip()
    return value[:limit]


def safe_link(link: Any) -> str | None:
    """``link`` if it is a path on this site (``/…``, not ``//…``, no scheme), else None."""
    if not link:
        return None
    text = str(link).strip()
    if not text.startswith("/") or text.startswith("//") or "\\" in text:
        return None
    if any(ord(ch) < 32 for ch in text):
        return None
    return text[:LINK_MAX]


def notify(
    target: Flask | str | os.PathLike[str],
    *,
    title: str,
    body: str = "",
    link: str | None = None,
    email: str | None = None,
    role: str | None = None,
    district: str | None = None,
    kind: str | None = None,
    key: str | None = None,
) -> int | None:
    """Store a notification for ``email`` or for ``role`` (+ ``district``); returns its id.

    Returns None when ``key`` was already used (the notification exists). ValueError if there
    is no audience or no title, or the link is not a path on this site.
    """
    if not email and not role:
        raise ValueError("a notification needs an audience: email= or role=")
    if district and not role:
        raise ValueError("district= narrows a role audience; give role= too")
    title_text = _clean(title, TITLE_MAX)
    if not title_text:
        raise ValueError("a notification needs a title")
    clean_link = safe_link(link)
    if link and clean_link is None:
        raise ValueError(f"notification links must be paths on this site, not {link!r}")
    with _open(target, create=True) as con:
        assert con is not None
        cur = con.execute(
            "INSERT OR IGNORE INTO notifications"
            " (created_at, email, role, district, title, body, link, kind, key)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                _now(),
                email.strip().lower() if email else None,
                role or None,
                district or None,
                title_text,
                _clean(body, BODY_MAX),
                clean_link,
                kind,
                key,
            ),
        )
        return int(cur.lastrowid) if cur.rowcount and cur.lastrowid is not None else None


def _audience(user: Any) -> tuple[str, list[Any]] | None:
    """The SQL condition matching notifications addressed to ``user`` (None: nobody)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    email = str(getattr(user, "email", "") or "").strip().lower()
    if not email:
        return None
    role = getattr(user, "role", None)
    district = getattr(user, "district", None)
    return (
        "(n.email = ? OR (n.email IS NULL AND n.role = ?"
        " AND (n.district IS NULL OR n.district = ?)))",
        [email, role or "", district or ""],
    )


def _row(row: sqlite3.Row) -> Notification:
    created = dt.datetime.fromisoformat(row["created_at"])
    return Notification(
        id=int(row["id"]),
        created_at=created,
        title=row["title"],
        body=row["body"] or "",
        link=row["link"],
        kind=row["kind"],
        email=row["email"],
        role=row["role"],
        district=row["district"],
        read=bool(row["read_at"]),
    )


_COUNT = (
    "SELECT COUNT(*) FROM notifications n LEFT JOIN reads r"
    " ON r.notification_id = n.id AND r.email = ?"
    " WHERE r.read_at IS NULL AND "
)
_SELECT = (
    "SELECT n.*, r.read_at FROM notifications n"
    " LEFT JOIN reads r ON r.notification_id = n.id AND r.email = ?"
    " WHERE "
)


def for_user(
    target: Flask | str | os.PathLike[str],
    user: Any,
    *,
    unread_only: bool = False,
    limit: int = 200,
) -> list[Notification]:
    """The notifications addressed to ``user``, newest first."""
    audience = _audience(user)
    if audience is None:
        return []
    where, params = audience
    email = params[0]
    sql = _SELECT + where
    if unread_only:
        sql += " AND r.read_at IS NULL"
    sql += " ORDER BY n.id DESC LIMIT ?"
    with _open(target, create=False) as con:
        if con is None:
            return []
        return [_row(r) for r in con.execute(sql, [email, *params, int(limit)])]


def get_for_user(
    target: Flask | str | os.PathLike[str], user: Any, notification_id: int
) -> Notification | None:
    """One notification if it is addressed to ``user``; None otherwise (not theirs or absent)."""
    audience = _audience(user)
    if audience is None:
        return None
    where, params = audience
    with _open(target, create=False) as con:
        if con is None:
            return None
        row = con.execute(
            _SELECT + where + " AND n.id = ?", [params[0], *params, int(notification_id)]
        ).fetchone()
    return _row(row) if row is not None else None


def unread_count(target: Flask | str | os.PathLike[str], user: Any) -> int:
    """How many notifications addressed to ``user`` they have not read."""
    audience = _audience(user)
    if audience is None:
        return 0
    where, params = audience
    with _open(target, create=False) as con:
        if con is None:
            return 0
        sql = _COUNT + where  # constant fragments only: every value is a bound parameter
        row = con.execute(sql, [params[0], *params]).fetchone()
    return int(row[0])


def mark_read(target: Flask | str | os.PathLike[str], user: Any, notification_id: int) -> bool:
    """Mark one of ``user``'s notifications read; False if it is not addressed to them."""
    if get_for_user(target, user, notification_id) is None:
        return False
    email = str(user.email).strip().lower()
    with _open(target, create=True) as con:
        assert con is not None
        con.execute(
            "INSERT OR IGNORE INTO reads (notification_id, email, read_at) VALUES (?, ?, ?)",
            (int(notification_id), email, _now()),
        )
    return True


def mark_all_read(target: Flask | str | os.PathLike[str], user: Any) -> int:
    """Mark every unread notification of ``user`` read; returns how many."""
    unread = for_user(target, user, unread_only=True, limit=10_000)
    if not unread:
        return 0
    email = str(user.email).strip().lower()
    now = _now()
    with _open(target, create=True) as con:
        assert con is not None
        con.executemany(
            "INSERT OR IGNORE INTO reads (notification_id, email, read_at) VALUES (?, ?, ?)",
            [(n.id, email, now) for n in unread],
        )
    return len(unread)
