"""Notifiers: how members hear that their miles are about to expire.

The default notifier writes a log line; with MILES_SMTP_URL set, an e-mail goes out over SMTP:
`smtp://[user[:password]@]host[:port][?from=address&starttls=1]`, or `smtps://...` for SMTP over TLS.
Each message carries a Message-ID made from the warning's id, so that a message sent again after a
crash (the relay sends before it records) can be recognised as the same one.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger("miles.notifier")


@dataclass(frozen=True)
class ExpiryNotice:
    warning_id: int
    member_number: str
    given_name: str
    family_name: str
    email: str
    expires_date: date
    miles: int

    @property
    def subject(self) -> str:
        return f"{self.miles:,} of your miles expire after {self.expires_date.isoformat()}"

    @property
    def body(self) -> str:
        return (
            f"Dear {self.given_name} {self.family_name},\n\n"
            f"{self.miles:,} miles on your account {self.member_number} are good until "
            f"{self.expires_date.isoformat()} and expire after that day. Earn or redeem miles before "
            "then to use them.\n"
        )


class Notifier(Protocol):
    def expiry_warning(self, notice: ExpiryNotice) -> None:
        """Deliver the notice or raise."""


class LogNotifier:
    """The default: one log line per notice."""

    def expiry_warning(self, notice: ExpiryNotice) -> None:
        log.info(
            "expiry warning %d to member %s <%s>: %d miles expire after %s",
            notice.warning_id,
            notice.member_number,
            notice.email,
            notice.miles,
            notice.expires_date.isoformat(),
        )


class SmtpNotifier:
    """E-mail over SMTP, one connection per notice (the relay sends a few hundred a minute at most)."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("MILES_SMTP_URL must look like smtp://[user[:password]@]host[:port][?from=...]")
        query = parse_qs(parts.query)
        self.ssl = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.ssl else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = query.get("from", ["miles@localhost"])[0]
        self.starttls = query.get("starttls", ["0"])[0] in ("1", "true", "yes")
        self.timeout = timeout

    def message(self, notice: ExpiryNotice) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = notice.email
        message["Subject"] = notice.subject
        domain = self.sender.rpartition("@")[2] or "localhost"
        message["Message-ID"] = f"<expiry-warning-{notice.warning_id}@{domain}>"
        message.set_content(notice.body)
        return message

    def expiry_warning(self, notice: ExpiryNotice) -> None:
        smtp_class = smtplib.SMTP_SSL if self.ssl else smtplib.SMTP
        with smtp_class(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(self.message(notice))


def notifier_from_url(smtp_url: str | None) -> Notifier:
    return SmtpNotifier(smtp_url) if smtp_url else LogNotifier()
