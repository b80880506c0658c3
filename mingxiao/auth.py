"""Accounts: who a visitor is (the 账号 sheet) and how they prove it (the credential store).

Identity and scope — email, name, role, district, mentor or trainee id, active — live in the
``users`` worksheet so the office manages accounts by typing rows. Secrets never go into the
sheet: password hashes, session versions, reset and invitation tokens and login throttling
live in ``<instance>/credentials.sqlite3`` (file mode 0600, WAL), which every gunicorn worker
shares.

Password hashing is argon2id through argon2-cffi's ``PasswordHasher()`` defaults, the RFC 9106
"low memory" profile: time_cost=3, memory_cost=64 MiB, parallelism=4, 16-byte salt, 32-byte
hash. That is above the OWASP Password Storage Cheat Sheet minimum for argon2id (m=19 MiB,
t=2, p=1). Hashes made with weaker parameters, and legacy werkzeug ``scrypt:``/``pbkdf2:``
hashes, are verified and then re-hashed at the next successful login.

The session cookie carries ``"email|session_version"``; bumping the version (logout,
password change, reset, disabling) makes every older cookie of that user worthless.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import secrets
import sqlite3
import time
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import Flask, current_app
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, UserMixin
from werkzeug.security import check_password_hash

from mingxiao import mail
from mingxiao.database import get_db

log = logging.getLogger(__name__)

ROLES = ("admin", "district", "expert", "mentor", "trainee")
USERS_SHEET = "users"
EXTENSION_KEY = "mingxiao.credentials"
CREDENTIALS_FILE = "credentials.sqlite3"
LEGACY_PREFIXES = ("scrypt:", "pbkdf2:")  # werkzeug.security.generate_password_hash formats
SCHEMA_VERSION = 2  # 2: invitation_tokens

_SCHEMA = """
CREATE TABLE IF NOT EXISTS credentials (
    email TEXT PRIMARY KEY,
    hash TEXT NOT NULL DEFAULT '',
    session_version INTEGER NOT NULL DEFAULT 1,
    disabled INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reset_tokens (
    token_hash TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    used_at REAL
);
CREATE INDEX IF NOT EXISTS reset_tokens_email ON reset_tokens(email);
CREATE TABLE IF NOT EXISTS login_attempts (
    key TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS login_attempts_key_at ON login_attempts(key, at);
CREATE INDEX IF NOT EXISTS login_attempts_at ON login_attempts(at);
CREATE TABLE IF NOT EXISTS invitation_tokens (
    token_hash TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    subject TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    used_at REAL,
    withdrawn_at REAL
);
CREATE INDEX IF NOT EXISTS invitation_tokens_subject ON invitation_tokens(purpose, subject);
"""


def normalize_email(value: str | None) -> str:
    """The canonical form of an email: NFKC (a full-width ＠ typed by an IME becomes @), trimmed, lower-cased."""
    return unicodedata.normalize("NFKC", value or "").strip().lower()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Credential:
    """One row of the credentials table."""

    email: str
    hash: str
    session_version: int
    disabled: bool


@dataclass(frozen=True)
class InvitationToken:
    """What the store knows of an invitation link: whose it is and whether it still opens.

    Times are POSIX timestamps; ``used_at`` / ``withdrawn_at`` are None while unset.
    """

    purpose: str
    subject: str
    created_at: float
    expires_at: float
    used_at: float | None
    withdrawn_at: float | None

    def active(self, now: float) -> bool:
        """True while the link may still be used: not used, not withdrawn, not expired."""
        return self.used_at is None and self.withdrawn_at is None and now < self.expires_at


@dataclass(frozen=True)
class LoginAttempt:
    """An attempt counted by :meth:`CredentialStore.begin_attempt` (its login_attempts rows)."""

    email: str
    rowids: tuple[int, ...]


class CredentialStore:
    """Password hashes, session versions, reset and invitation tokens and login throttling in
    one SQLite file.

    Every call opens its own short connection, so the store is safe across threads and across
    gunicorn workers forked after the app was built. Throttling counts live in the same file,
    so a limit holds no matter which worker serves an attempt.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_failures_per_email: int = 5,
        max_failures_per_ip: int = 20,
        throttle_window: float = 15 * 60,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self.path = Path(path)
        self.max_failures_per_email = max_failures_per_email
        self.max_failures_per_ip = max_failures_per_ip
        self.throttle_window = throttle_window
        self.hasher = hasher or PasswordHasher()
        self._dummy_hash: str | None = None
        self._create()

    # -- storage -------------------------------------------------------------------------

    def _create(self) -> None:
        """Create the file with mode 0600 *before* SQLite opens it, then the tables (WAL)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        os.chmod(self.path, 0o600)  # also tightens a file that existed with looser bits
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            if con.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                con.executescript(_SCHEMA)
                con.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        # SQLite gives the -wal/-shm files the database's mode; make sure of it anyway.
        for suffix in ("-wal", "-shm"):
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                os.chmod(side, 0o600)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=15, isolation_level=None)
        try:
            con.execute("PRAGMA busy_timeout=15000")
            yield con
        finally:
            con.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the lock up front (no upgrade deadlocks)."""
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    # -- credentials ---------------------------------------------------------------------

    def get(self, email: str) -> Credential | None:
        """The credential row of ``email``, or None when no password was ever set."""
        with self._connect() as con:
            row = con.execute(
                "SELECT email, hash, session_version, disabled FROM credentials WHERE email = ?",
                (normalize_email(email),),
            ).fetchone()
        if row is None:
            return None
        return Credential(
            email=row[0], hash=row[1], session_version=int(row[2]), disabled=bool(row[3])
        )

    def session_version(self, email: str) -> int:
        """The current session version (1 for an account that has no row yet)."""
        cred = self.get(email)
        return cred.session_version if cred else 1

    def set_password(self, email: str, password: str) -> None:
        """Store an argon2id hash of ``password``; the session version is left alone (see bump)."""
        self._store_hash(normalize_email(email), self.hasher.hash(password))

    def set_hash(self, email: str, encoded: str) -> None:
        """Store an already-encoded hash (imports from an older system, legacy formats)."""
        self._store_hash(normalize_email(email), encoded)

    def _store_hash(self, email: str, encoded: str) -> None:
        with self._tx() as con:
            con.execute(
                "INSERT INTO credentials(email, hash, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(email) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at",
                (email, encoded, _now_iso()),
            )

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash(secrets.token_hex(16))
        return self._dummy_hash

    def _check(self, encoded: str, password: str) -> bool:
        if encoded.startswith("$argon2"):
            try:
                return self.hasher.verify(encoded, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False
        if encoded.startswith(LEGACY_PREFIXES):
            try:
                return check_password_hash(encoded, password)
            except ValueError:  # a malformed legacy string
                return False
        return False  # an unknown format is never compared as plain text

    def needs_rehash(self, encoded: str) -> bool:
        """True for legacy formats and for argon2 hashes made with other parameters."""
        if not encoded.startswith("$argon2"):
            return True
        try:
            return self.hasher.check_needs_rehash(encoded)
        except InvalidHashError:
            return True

    def verify(self, email: str, password: str) -> bool:
        """Check a password; re-hash an outdated hash on success.

        An unknown or disabled account still costs one argon2 verification against a dummy
        hash, so the answer time does not tell whether the email exists.
        """
        email = normalize_email(email)
        cred = self.get(email)
        if cred is None or cred.disabled or not cred.hash:
            self._check(self._dummy(), password)
            return False
        if not self._check(cred.hash, password):
            return False
        if self.needs_rehash(cred.hash):
            self.set_password(email, password)
        return True

    def bump_session_version(self, email: str) -> int:
        """Invalidate every session cookie of ``email``; returns the new version."""
        email = normalize_email(email)
        with self._tx() as con:
            con.execute(
                "INSERT INTO credentials(email, session_version, updated_at) VALUES (?, 2, ?) "
                "ON CONFLICT(email) DO UPDATE SET session_version = session_version + 1, "
                "updated_at = excluded.updated_at",
                (email, _now_iso()),
            )
            row = con.execute(
                "SELECT session_version FROM credentials WHERE email = ?", (email,)
            ).fetchone()
        return int(row[0])

    def _set_disabled(self, email: str, disabled: bool) -> None:
        with self._tx() as con:
            con.execute(
                "INSERT INTO credentials(email, disabled, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(email) DO UPDATE SET disabled = excluded.disabled, updated_at = excluded.updated_at",
                (normalize_email(email), int(disabled), _now_iso()),
            )

    def disable(self, email: str) -> None:
        """Refuse logins and sessions of ``email`` and revoke every cookie it holds."""
        self._set_disabled(email, True)
        self.bump_session_version(email)
        with self._tx() as con:  # outstanding reset links must not re-open the account
            con.execute("DELETE FROM reset_tokens WHERE email = ?", (normalize_email(email),))

    def enable(self, email: str) -> None:
        """Allow logins again (the password is unchanged)."""
        self._set_disabled(email, False)

    # -- reset tokens --------------------------------------------------------------------

    def create_reset_token(self, email: str, ttl: float = 3600, now: float | None = None) -> str:
        """A one-time raw token for a reset link; only its sha256 is stored."""
        token = secrets.token_urlsafe(32)
        now = time.time() if now is None else now
        with self._tx() as con:
            con.execute(
                "DELETE FROM reset_tokens WHERE expires_at < ? AND created_at < ?",
                (now, now - 86400),
            )
            con.execute(
                "INSERT INTO reset_tokens(token_hash, email, created_at, expires_at) VALUES (?, ?, ?, ?)",
                (_token_hash(token), normalize_email(email), now, now + ttl),
            )
        return token

    def peek_reset_token(self, token: str, now: float | None = None) -> str | None:
        """The email a valid, unused, unexpired token belongs to, without using it up.

        Used to show the reset form: link scanners in mail systems fetch URLs, and a GET must
        not burn the token.
        """
        now = time.time() if now is None else now
        with self._connect() as con:
            row = con.execute(
                "SELECT email FROM reset_tokens WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
                (_token_hash(token), now),
            ).fetchone()
        return row[0] if row else None

    def consume_reset_token(self, token: str, now: float | None = None) -> str | None:
        """Use a token up: returns its email once, None if unknown, used or expired.

        Every other outstanding token of that email is withdrawn at the same time.
        """
        now = time.time() if now is None else now
        with self._tx() as con:
            row = con.execute(
                "SELECT email FROM reset_tokens WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
                (_token_hash(token), now),
            ).fetchone()
            if row is None:
                return None
            con.execute(
                "UPDATE reset_tokens SET used_at = ? WHERE email = ? AND used_at IS NULL",
                (now, row[0]),
            )
        return str(row[0])

    def recent_reset_tokens(
        self, email: str, within: float = 3600, now: float | None = None
    ) -> int:
        """How many reset links ``email`` was sent in the last ``within`` seconds (mail-bomb guard)."""
        now = time.time() if now is None else now
        with self._connect() as con:
            (count,) = con.execute(
                "SELECT COUNT(*) FROM reset_tokens WHERE email = ? AND created_at > ?",
                (normalize_email(email), now - within),
            ).fetchone()
        return int(count)

    # -- invitation tokens ---------------------------------------------------------------
    # Links that let someone without an account do one thing (fill in a form) once. The
    # feature names its ``purpose`` and the ``subject`` (e.g. the invitation's row id); only
    # the sha256 of the raw token is kept, and a token works for its own purpose only.

    def create_invitation_token(
        self, purpose: str, subject: str, expires_at: float, now: float | None = None
    ) -> str:
        """A new raw token for ``subject``, valid until ``expires_at``; only its hash is stored."""
        token = secrets.token_urlsafe(32)
        now = time.time() if now is None else now
        with self._tx() as con:
            con.execute(
                "INSERT INTO invitation_tokens(token_hash, purpose, subject, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (_token_hash(token), purpose, subject, now, expires_at),
            )
        return token

    def invitation_token(self, token: str, purpose: str) -> InvitationToken | None:
        """The stored state of ``token`` (used, withdrawn and expired ones too), or None."""
        with self._connect() as con:
            row = con.execute(
                "SELECT purpose, subject, created_at, expires_at, used_at, withdrawn_at "
                "FROM invitation_tokens WHERE token_hash = ? AND purpose = ?",
                (_token_hash(token), purpose),
            ).fetchone()
        return InvitationToken(*row) if row else None

    def use_invitation_token(
        self, token: str, purpose: str, now: float | None = None
    ) -> str | None:
        """Use ``token`` up: its subject once, None if unknown, used, withdrawn or expired.

        One write transaction checks and marks, so two requests racing with the same link
        cannot both get the subject.
        """
        now = time.time() if now is None else now
        with self._tx() as con:
            row = con.execute(
                "SELECT subject FROM invitation_tokens WHERE token_hash = ? AND purpose = ? "
                "AND used_at IS NULL AND withdrawn_at IS NULL AND expires_at > ?",
                (_token_hash(token), purpose, now),
            ).fetchone()
            if row is None:
                return None
            con.execute(
                "UPDATE invitation_tokens SET used_at = ? WHERE token_hash = ?",
                (now, _token_hash(token)),
            )
        return str(row[0])

    def release_invitation_token(self, token: str, purpose: str) -> None:
        """Undo :meth:`use_invitation_token` when the write it guarded did not happen."""
        with self._tx() as con:
            con.execute(
                "UPDATE invitation_tokens SET used_at = NULL WHERE token_hash = ? AND purpose = ?",
                (_token_hash(token), purpose),
            )

    def withdraw_invitation_tokens(
        self, purpose: str, subject: str, now: float | None = None
    ) -> int:
        """Withdraw every unused link of ``subject``; returns how many were still open."""
        now = time.time() if now is None else now
        with self._tx() as con:
            cur = con.execute(
                "UPDATE invitation_tokens SET withdrawn_at = ? WHERE purpose = ? AND subject = ? "
                "AND used_at IS NULL AND withdrawn_at IS NULL",
                (now, purpose, subject),
            )
        return int(cur.rowcount)

    # -- throttling ----------------------------------------------------------------------

    @staticmethod
    def _keys(email: str, ip: str | None) -> list[tuple[str, str]]:
        keys = [("email", "email:" + normalize_email(email))]
        if ip:
            keys.append(("ip", "ip:" + ip))
        return keys

    def begin_attempt(
        self, email: str, ip: str | None, now: float | None = None
    ) -> LoginAttempt | None:
        """Check the limits and count this attempt as a failure in one transaction.

        Returns None when ``email`` or ``ip`` is over its limit. Counting *before* the password
        check means parallel guesses cannot all slip past the check (one write lock serialises
        them across workers); call :meth:`forgive_attempt` when the password was right.
        """
        now = time.time() if now is None else now
        limits = {"email": self.max_failures_per_email, "ip": self.max_failures_per_ip}
        with self._tx() as con:
            con.execute("DELETE FROM login_attempts WHERE at <= ?", (now - self.throttle_window,))
            for kind, key in self._keys(email, ip):
                (count,) = con.execute(
                    "SELECT COUNT(*) FROM login_attempts WHERE key = ? AND at > ?",
                    (key, now - self.throttle_window),
                ).fetchone()
                if count >= limits[kind]:
                    return None
            rowids = []
            for _kind, key in self._keys(email, ip):
                cur = con.execute("INSERT INTO login_attempts(key, at) VALUES (?, ?)", (key, now))
                rowids.append(int(cur.lastrowid or 0))
        return LoginAttempt(email=normalize_email(email), rowids=tuple(rowids))

    def forgive_attempt(self, attempt: LoginAttempt) -> None:
        """A successful login: drop this attempt's rows and the email's earlier failures."""
        with self._tx() as con:
            con.executemany(
                "DELETE FROM login_attempts WHERE rowid = ?", [(r,) for r in attempt.rowids]
            )
            con.execute("DELETE FROM login_attempts WHERE key = ?", ("email:" + attempt.email,))

    def too_many_attempts(self, email: str, ip: str | None, now: float | None = None) -> bool:
        """True when ``email`` or ``ip`` reached its failure limit inside the window."""
        now = time.time() if now is None else now
        limits = {"email": self.max_failures_per_email, "ip": self.max_failures_per_ip}
        with self._connect() as con:
            for kind, key in self._keys(email, ip):
                (count,) = con.execute(
                    "SELECT COUNT(*) FROM login_attempts WHERE key = ? AND at > ?",
                    (key, now - self.throttle_window),
                ).fetchone()
                if count >= limits[kind]:
                    return True
        return False

    def record_failure(self, email: str, ip: str | None, now: float | None = None) -> None:
        """Count one failed login against the email and the address; old rows are pruned."""
        now = time.time() if now is None else now
        with self._tx() as con:
            con.execute("DELETE FROM login_attempts WHERE at <= ?", (now - self.throttle_window,))
            con.executemany(
                "INSERT INTO login_attempts(key, at) VALUES (?, ?)",
                [(key, now) for _kind, key in self._keys(email, ip)],
            )

    def clear_failures(self, email: str) -> None:
        """Forget the failures of ``email`` (not of the address: one good password must not
        wipe the count of an address that is guessing other accounts)."""
        with self._tx() as con:
            con.execute(
                "DELETE FROM login_attempts WHERE key = ?", ("email:" + normalize_email(email),)
            )


# -- users from the sheet -------------------------------------------------------------------


class User(UserMixin):
    """A logged-in person: a users-sheet row joined with their credential's session version."""

    def __init__(
        self,
        *,
        email: str,
        name: str = "",
        role: str = "",
        district: str | None = None,
        mentor_id: str | None = None,
        trainee_id: str | None = None,
        active: bool = True,
        session_version: int = 1,
        record_id: str = "",
    ) -> None:
        self.id = normalize_email(email)
        self.email = self.id
        self.name = name or self.id
        self.role = role
        self.district = district or None
        self.mentor_id = mentor_id or None
        self.trainee_id = trainee_id or None
        self.active = active
        self.session_version = session_version
        self.record_id = record_id

    @classmethod
    def from_record(cls, record: dict[str, Any], session_version: int) -> User:
        """Build from a users-sheet record (a ``sheetdb.Record``)."""
        return cls(
            email=str(record.get("email") or ""),
            name=str(record.get("name") or ""),
            role=str(record.get("role") or ""),
            district=_text(record.get("district")),
            mentor_id=_text(record.get("mentor")),
            trainee_id=_text(record.get("trainee")),
            active=account_active(record),
            session_version=session_version,
            record_id=str(record.get("id") or ""),
        )

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.email}|{self.session_version}"

    def __repr__(self) -> str:
        return f"<User {self.role} {self.record_id or '?'}>"  # no email: reprs end up in logs


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def account_active(record: dict[str, Any]) -> bool:
    """A row grants access when 启用 is 是 or left blank, its role is known and it is not voided.

    The 账号 sheet tells the office “填‘否’即停用”, so a blank cell means enabled. Anything
    unreadable (a typo such as “停用” stays text) denies: it must never switch an account on.
    A district account without a district is refused too.
    """
    active = record.get("active")
    if record.get("voided") or not (active is True or active is None):
        return False
    role = record.get("role")
    if role not in ROLES:
        return False
    return not (role == "district" and not _text(record.get("district")))


def find_account(db: Any, email: str) -> dict[str, Any] | None:
    """The users-sheet row of ``email`` (case-insensitive), or None.

    Two live rows with the same email are ambiguous about role and scope, so neither is used.
    """
    email = normalize_email(email)
    if not email:
        return None
    rows = [
        r
        for r in db.table(USERS_SHEET).where(
            lambda r: normalize_email(str(r.get("email") or "")) == email
        )
        if not r.get("voided")
    ]
    if len(rows) > 1:
        log.warning(
            "users sheet: rows %s share one email; none of them can log in",
            [r.get("id") for r in rows],
        )
        return None
    return rows[0] if rows else None


def load_user(email: str, store: CredentialStore | None = None) -> User | None:
    """The active ``User`` for ``email`` with the current session version, or None."""
    store = store or credentials()
    cred = store.get(email)
    if cred is None or cred.disabled:
        return None
    record = find_account(get_db(), email)
    if record is None or not account_active(record):
        return None
    return User.from_record(record, cred.session_version)


def credentials() -> CredentialStore:
    """The app's credential store."""
    store: CredentialStore = current_app.extensions[EXTENSION_KEY]
    return store


def _load_session_user(user_id: str) -> User | None:
    """Flask-Login's user_loader: ``"email|version"`` → User, refusing stale versions."""
    email, sep, version = user_id.rpartition("|")
    if not sep or not version.isdigit():
        return None
    user = load_user(email)
    if user is None or user.session_version != int(version):
        return None
    return user


def init_app(app: Flask) -> None:
    """Attach Flask-Login and the credential store to ``app``."""
    path = app.config.get("CREDENTIALS_PATH") or os.path.join(app.instance_path, CREDENTIALS_FILE)
    app.extensions[EXTENSION_KEY] = CredentialStore(
        path,
        max_failures_per_email=int(app.config.get("LOGIN_MAX_FAILURES_PER_EMAIL", 5)),
        max_failures_per_ip=int(app.config.get("LOGIN_MAX_FAILURES_PER_IP", 20)),
        throttle_window=float(app.config.get("LOGIN_THROTTLE_WINDOW", 15 * 60)),
    )
    manager = LoginManager()
    manager.login_view = "auth.login"
    manager.login_message = _l("请先登录后再访问该页面。")
    manager.login_message_category = "warning"
    manager.session_protection = "basic"
    manager.user_loader(_load_session_user)
    manager.init_app(app)


# -- mail -----------------------------------------------------------------------------------


def send_reset_email(config: dict[str, Any] | Any, to: str, url: str) -> bool:
    """Email a reset link through ``MAIL_SERVER`` (:mod:`mingxiao.mail`); False when SMTP is
    not configured or the mail failed. Errors are logged without the address or the link."""
    return mail.send_mail(
        config,
        to,
        "名校长培养工程管理平台：重设密码",
        "您好：\n\n有人（希望是您本人）申请重设名校长培养工程管理平台的登录密码。"
        "请在 1 小时内打开下面的链接设置新密码，链接只能使用一次：\n\n"
        f"{url}\n\n如果不是您本人操作，请忽略本邮件，您的密码不会改变。\n",
        what="password reset mail",
    )


# -- demo -----------------------------------------------------------------------------------


def demo_emails(logins: Any) -> Iterable[str]:
    """Emails out of ``DEMO_LOGINS`` whether it maps role → email/dict or lists emails/dicts."""
    items = logins.values() if isinstance(logins, dict) else logins
    for item in items:
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            yield str(item["email"])
        elif isinstance(item, tuple | list):
            yield next(str(x) for x in item if isinstance(x, str) and "@" in x)
        else:
            yield str(item.email)


def ensure_demo_accounts(app: Flask, password: str) -> list[str]:
    """Give every demo login (``sheetdb.demo.DEMO_LOGINS``) ``password``; returns their emails."""
    from mingxiao.sheetdb.demo import DEMO_LOGINS  # demo data is optional at run time

    store: CredentialStore = app.extensions[EXTENSION_KEY]
    emails = [normalize_email(e) for e in demo_emails(DEMO_LOGINS)]
    for email in emails:
        store.set_password(email, password)
        store.enable(email)
    return emails
