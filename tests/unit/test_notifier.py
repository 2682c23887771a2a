"""Notifiers: the default logs; the SMTP one sends a message with a stable Message-ID."""

from __future__ import annotations

import logging
import socketserver
import threading
from collections.abc import Iterator
from datetime import date
from email import message_from_bytes

import pytest

from miles.adapters.notifier import ExpiryNotice, LogNotifier, SmtpNotifier, notifier_from_url

NOTICE = ExpiryNotice(7, "1000000016", "Ada", "Lovelace", "ada@example.test", date(2028, 3, 31), 12_345)


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT."""

    received: list[tuple[str, list[str], bytes, str | None]] = []

    def handle(self) -> None:
        self.wfile.write(b"220 test ESMTP\r\n")
        sender, recipients, auth = "", [], None
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.wfile.write(b"250-test\r\n250 AUTH PLAIN\r\n")
            elif verb == "AUTH":
                auth = command.split(" ")[-1]
                self.wfile.write(b"235 ok\r\n")
            elif verb == "MAIL":
                sender = command.split(":", 1)[1].strip("<> ")
                self.wfile.write(b"250 ok\r\n")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].strip("<> "))
                self.wfile.write(b"250 ok\r\n")
            elif verb == "DATA":
                self.wfile.write(b"354 go on\r\n")
                data = b""
                while (chunk := self.rfile.readline()) != b".\r\n":
                    data += chunk
                _Smtp.received.append((sender, recipients, data, auth))
                self.wfile.write(b"250 queued\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp_port() -> Iterator[int]:
    _Smtp.received = []
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_the_smtp_notifier_sends_the_warning_with_a_stable_message_id(smtp_port: int) -> None:
    notifier = notifier_from_url(f"smtp://miles:secret@127.0.0.1:{smtp_port}?from=miles@aurora.example")
    assert isinstance(notifier, SmtpNotifier)
    notifier.expiry_warning(NOTICE)
    [(sender, recipients, data, auth)] = _Smtp.received
    message = message_from_bytes(data)
    assert (sender, recipients) == ("miles@aurora.example", ["ada@example.test"])
    assert auth is not None
    assert message["Message-ID"] == "<expiry-warning-7@aurora.example>"
    assert message["Subject"] == "12,345 of your miles expire after 2028-03-31"
    assert "1000000016" in message.get_payload()


def test_without_an_smtp_url_warnings_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    notifier = notifier_from_url(None)
    assert isinstance(notifier, LogNotifier)
    with caplog.at_level(logging.INFO, logger="miles.notifier"):
        notifier.expiry_warning(NOTICE)
    assert "expiry warning 7 to member 1000000016" in caplog.text


def test_a_malformed_smtp_url_is_refused() -> None:
    with pytest.raises(ValueError, match="MILES_SMTP_URL"):
        SmtpNotifier("http://example.test")
