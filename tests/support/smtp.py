"""A real SMTP server for tests (aiosmtpd in a thread) that keeps what it receives and can go down and up."""

from __future__ import annotations

import email
import threading
import time
from email.message import Message

from aiosmtpd.controller import Controller

from tests.support.live_server import free_port


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls this by name
        with self.lock:
            message = email.message_from_bytes(envelope.content)
            message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
            self.messages.append(message)
        return "250 OK"


class SmtpServer:
    """Listens on 127.0.0.1:`port`; `stop()` makes connections fail as a mail outage does, `start()` restores it."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.inbox = _Inbox()
        self._controller: Controller | None = None

    def start(self) -> SmtpServer:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def messages(self) -> list[Message]:
        with self.inbox.lock:
            return list(self.inbox.messages)

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Message]:
        """Wait until at least `count` messages arrived; return them all (fewer if the time ran out)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.messages) < count:
            time.sleep(0.05)
        return self.messages

    def settings(self) -> dict[str, object]:
        """The app config that points at this server."""
        return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": self.port, "MAIL_TIMEOUT": 5}


def text_part(message: Message) -> str:
    """The plain-text body of a (multipart) message."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode()
    return ""


def html_part(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            return part.get_payload(decode=True).decode()
    return ""
