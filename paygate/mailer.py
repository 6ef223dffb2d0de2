"""Sending email over SMTP with aiosmtplib (the worker's `send-emails` job; domain/notifications.py
decides what is sent and when it is tried again).

PAYGATE_SMTP_URL is `smtp://[user[:password]@]host[:port]` (port 25 by default; STARTTLS whenever
the server offers it) or `smtps://…` (TLS from the first byte, port 465 by default). Unset, no
sender is built and emails wait in the outbox, where staff see them.
"""
from __future__ import annotations

from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib

TIMEOUT_S = 30.0  # one SMTP exchange; the outbox's claim (notifications.CLAIM_FOR) is far longer


class SmtpSender:
    def __init__(self, url: str, from_address: str, *, timeout_s: float = TIMEOUT_S) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("PAYGATE_SMTP_URL must look like smtp://user:password@host:587 or smtps://host:465")
        self.tls = parts.scheme == "smtps"
        self.hostname = parts.hostname
        self.port = parts.port or (465 if self.tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.from_address = from_address
        self.timeout_s = timeout_s

    async def send(self, to_address: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.from_address
        message["To"] = to_address
        message["Subject"] = subject
        message.set_content(body)
        await aiosmtplib.send(message, hostname=self.hostname, port=self.port, username=self.username,
                              password=self.password, use_tls=self.tls, timeout=self.timeout_s)


def build_sender(smtp_url: str | None, from_address: str) -> SmtpSender | None:
    return SmtpSender(smtp_url, from_address) if smtp_url else None
