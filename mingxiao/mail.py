"""Outgoing mail through SMTP (smtplib), shared by the password-reset mail and the reminders.

Settings (``app.config`` or any mapping): ``MAIL_SERVER`` (no server: no mail at all),
``MAIL_PORT`` (465 with SSL, else 25 when unset), ``MAIL_USE_SSL``, ``MAIL_USE_TLS``
(STARTTLS), ``MAIL_USERNAME``, ``MAIL_PASSWORD``, ``MAIL_DEFAULT_SENDER`` and
``MAIL_TIMEOUT`` (seconds per SMTP call, 10).

Failures are logged with the exception's class and the SMTP code only: never the address,
the subject or the body (a reset link is a password; an address is personal data).

API::

    from mingxiao import mail
    mail.configured(config)                                   # MAIL_SERVER set?
    mail.send_mail(config, "a@b.cn", "主题", "正文", what="password reset")   # → bool
    mail.send_many(config, [mail.message(config, to, subject, body), ...])    # → [bool, ...]
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_SENDER = "no-reply@localhost"


def configured(config: Mapping[str, Any]) -> bool:
    """True when ``MAIL_SERVER`` is set."""
    return bool(config.get("MAIL_SERVER"))


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def message(config: Mapping[str, Any], to: str, subject: str, body: str) -> EmailMessage:
    """A plain-text UTF-8 message from ``MAIL_DEFAULT_SENDER`` to ``to``."""
    msg = EmailMessage()
    # Subjects carry sheet data (names, titles): a line break typed into a cell must neither
    # add a header nor make the message unbuildable (EmailMessage refuses CR/LF in headers).
    msg["Subject"] = _one_line(subject)
    msg["From"] = _one_line(config.get("MAIL_DEFAULT_SENDER") or DEFAULT_SENDER)
    msg["To"] = _one_line(to)
    msg.set_content(body)
    return msg


def _error(exc: BaseException) -> str:
    """What may be logged about a failure: the class and the SMTP code (no addresses)."""
    code = getattr(exc, "smtp_code", None)
    if code is None and isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({c for c, _m in exc.recipients.values()})
        return f"{type(exc).__name__} {codes}"
    return f"{type(exc).__name__} {code}" if code is not None else type(exc).__name__


@contextmanager
def connect(config: Mapping[str, Any]) -> Iterator[smtplib.SMTP]:
    """An SMTP connection, after STARTTLS and login when configured; closed (QUIT) on exit.

    Raises OSError or smtplib.SMTPException when the server cannot be reached or refuses.
    """
    server = str(config.get("MAIL_SERVER") or "")
    if not server:
        raise smtplib.SMTPException("MAIL_SERVER is not configured")
    port = int(config.get("MAIL_PORT") or (465 if config.get("MAIL_USE_SSL") else 25))
    timeout = float(config.get("MAIL_TIMEOUT", 10))
    smtp: smtplib.SMTP
    if config.get("MAIL_USE_SSL"):
        smtp = smtplib.SMTP_SSL(server, port, timeout=timeout)
    else:
        smtp = smtplib.SMTP(server, port, timeout=timeout)
    with smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(str(config["MAIL_USERNAME"]), str(config.get("MAIL_PASSWORD") or ""))
        yield smtp


def send_many(
    config: Mapping[str, Any], messages: Sequence[EmailMessage], *, what: str = "mail"
) -> list[bool]:
    """Send ``messages`` over one connection; one bool per message (True: accepted).

    A message the server refuses (recipient, data) fails alone. When the connection drops,
    it is opened again once for the rest; if that fails too, the rest fail. Without
    ``MAIL_SERVER`` nothing is sent (all False).
    """
    results = [False] * len(messages)
    if not configured(config) or not messages:
        return results
    todo = list(range(len(messages)))
    connects = 0
    while todo and connects < 2:
        connects += 1
        in_flight: int | None = None
        try:
            with connect(config) as smtp:
                while todo:
                    in_flight = todo.pop(0)
                    try:
                        smtp.send_message(messages[in_flight])
                    except (
                        smtplib.SMTPRecipientsRefused,
                        smtplib.SMTPSenderRefused,
                        smtplib.SMTPDataError,
                    ) as exc:
                        log.error("%s %d could not be sent: %s", what, in_flight + 1, _error(exc))
                    else:
                        results[in_flight] = True
                    in_flight = None
        except (OSError, smtplib.SMTPException) as exc:
            # The message in flight when the connection broke is counted as failed (it may
            # have arrived; sending it again could deliver it twice).
            failed = len(todo) + (in_flight is not None)
            log.error("%s: SMTP failed, %d message(s) not sent: %s", what, failed, _error(exc))
    return results


def send_mail(
    config: Mapping[str, Any], to: str, subject: str, body: str, *, what: str = "mail"
) -> bool:
    """Send one plain-text message; False when SMTP is not configured or sending failed."""
    if not configured(config):
        return False
    return send_many(config, [message(config, to, subject, body)], what=what)[0]
