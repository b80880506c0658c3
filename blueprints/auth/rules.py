"""Password policy and redirect safety as pure functions (no Flask, testable alone).

Messages are Chinese msgids marked with ``N_``; views and forms translate them when shown.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from mingxiao.auth import normalize_email

MIN_LENGTH = 10
MAX_LENGTH = 256  # argon2 copes with more; the limit stops megabyte "passwords"
RESET_TTL = 3600  # seconds a reset link stays valid
MAX_RESET_MAILS_PER_HOUR = 3  # more requests for one address are answered but not mailed


def N_(text: str) -> str:
    """Mark ``text`` for the translation catalogue without translating it here."""
    return text


TOO_SHORT = N_("密码至少需要 %(n)d 个字符。")
TOO_LONG = N_("密码不能超过 %(n)d 个字符。")
ALL_DIGITS = N_("密码不能全是数字，请加入字母或符号。")
SAME_AS_EMAIL = N_("密码不能与登录邮箱相同。")


def password_problems(password: str, email: str | None = None) -> list[tuple[str, dict[str, int]]]:
    """What is wrong with ``password`` as ``(msgid, params)`` pairs; empty when it is acceptable."""
    problems: list[tuple[str, dict[str, int]]] = []
    if len(password) < MIN_LENGTH:
        problems.append((TOO_SHORT, {"n": MIN_LENGTH}))
    if len(password) > MAX_LENGTH:
        problems.append((TOO_LONG, {"n": MAX_LENGTH}))
    if password.isdigit():
        problems.append((ALL_DIGITS, {}))
    if email and normalize_email(password) == normalize_email(email):
        problems.append((SAME_AS_EMAIL, {}))
    return problems


def password_messages(password: str, email: str | None = None) -> list[str]:
    """The problems as untranslated Chinese sentences (for the CLI)."""
    return [
        msgid % params if params else msgid for msgid, params in password_problems(password, email)
    ]


def safe_next(target: str | None, default: str = "/") -> str:
    """A redirect target that stays on this site: a relative path, or ``default``.

    Refuses absolute URLs, scheme-relative ``//host`` and the ``/\\host`` form some browsers
    treat as a host, and anything with control characters.
    """
    if not target or any(ord(ch) < 32 or ch == "\x7f" for ch in target):
        return default
    if not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
