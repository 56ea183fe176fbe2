"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for the outbox."""

import email
import email.policy
import socket
import threading
from email.message import EmailMessage

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class _Keeper:
    def __init__(self, server: "MailServer"):
        self.server = server

    async def handle_DATA(self, _server, _session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.server.lock:
            self.server.received.append((list(envelope.rcpt_tos), message))
            self.server.arrived.set()
        return "250 Message accepted"


class MailServer:
    """`start()` and `stop()` may be called again, on the same port: a server that is down
    for a while, then back."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.received: list[tuple[list[str], EmailMessage]] = []
        self.lock = threading.Lock()
        self.arrived = threading.Event()
        self.controller: Controller | None = None

    def start(self) -> "MailServer":
        self.controller = Controller(_Keeper(self), hostname=HOST, port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def settings(self) -> dict:
        """The app's settings for sending here."""
        return {
            "MAIL_BACKEND": "smtp",
            "MAIL_SERVER": HOST,
            "MAIL_PORT": self.port,
            "MAIL_USE_TLS": False,
            "MAIL_USE_SSL": False,
            "MAIL_TIMEOUT": 5,
        }

    def take(self) -> list[tuple[list[str], EmailMessage]]:
        """Every message received since the last call."""
        with self.lock:
            taken, self.received = self.received, []
            self.arrived.clear()
        return taken
