"""A real SMTP server (aiosmtpd) on a loopback port the OS chooses, in the test's event loop: it
keeps every message it accepts, and refuses the next `refuse` messages with a 554 (a mail
server's permanent failure for this transaction), to test retries."""
from __future__ import annotations

import asyncio
import email
from dataclasses import dataclass, field
from email.message import Message

from aiosmtpd.smtp import SMTP


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: Message

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        payload = self.message.get_payload(decode=True)
        return payload.decode() if isinstance(payload, bytes) else str(payload)


@dataclass
class MailServer:
    received: list[Received] = field(default_factory=list)
    refuse: int = 0
    port: int = 0
    server: asyncio.AbstractServer | None = None

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's handler hook
        if self.refuse > 0:
            self.refuse -= 1
            return "554 Transaction failed: try again later"
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                      email.message_from_bytes(envelope.original_content or envelope.content)))
        return "250 Message accepted for delivery"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def start(self) -> MailServer:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: SMTP(self, hostname="127.0.0.1"), "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
