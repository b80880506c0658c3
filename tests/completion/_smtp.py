"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for mail tests.

``Mailbox.messages`` holds one :class:`Received` per accepted message: the envelope sender and
recipients and the parsed message. Addresses in ``Mailbox.refuse`` get ``550`` at RCPT.
``free_port()`` is a loopback port nobody listens on (a server that is down).

PYTEST_DONT_REWRITE: test modules import this file before pytest would load it as a plugin.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())


class Mailbox:
    """The handler: accepts every message except for refused recipients."""

    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.refuse: set[str] = set()
        self._lock = threading.Lock()

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address.lower() in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        with self._lock:
            self.messages.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.rcpt_tos]


@dataclass
class SMTPServer:
    port: int
    mailbox: Mailbox
    controller: Controller


def start_server(port: int | None = None) -> SMTPServer:
    mailbox = Mailbox()
    for _attempt in range(5):
        chosen = port or free_port()
        controller = Controller(mailbox, hostname=HOST, port=chosen)
        try:
            controller.start()
        except (OSError, RuntimeError):
            if port:
                raise
            continue
        return SMTPServer(chosen, mailbox, controller)
    raise RuntimeError("no free loopback port for the SMTP server")


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    server = start_server()
    yield server
    server.controller.stop()


def mail_settings(port: int) -> dict[str, Any]:
    return {
        "MAIL_SERVER": HOST,
        "MAIL_PORT": port,
        "MAIL_USE_TLS": False,
        "MAIL_USE_SSL": False,
        "MAIL_DEFAULT_SENDER": "mingxiao@example.cn",
        "MAIL_TIMEOUT": 5,
        "BASE_URL": "https://mingxiao.example.cn",
    }
