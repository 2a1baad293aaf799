"""A real SMTP server for the mail tests: aiosmtpd on 127.0.0.1 at a free port, in its own thread,
keeping every message it accepts. It can refuse (451 for the next N messages, 550 for chosen
recipients), hold a delivery, and, in its TLS flavour, require STARTTLS and AUTH with a self-signed
certificate made here.

tests/conftest.py makes the fixtures `smtp_server` and `smtp_tls_server` available to every test.
"""

from __future__ import annotations

import asyncio
import datetime
import email
import email.policy
import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ticketbooth.core import Core
from ticketbooth.infra.mail import SmtpTransport
from ticketbooth.mail.service import MailSender

SMTP_USER, SMTP_PASSWORD = "mailer", "smtp-password-7f3a"
CODE = re.compile(r"\b[0-9a-f]{32}\b")


@dataclass
class Delivered:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    authenticated_as: str | None
    tls: bool

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content()).replace("\r\n", "\n")

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        assert part is not None
        return str(part.get_content()).replace("\r\n", "\n")

    @property
    def outbox_id(self) -> int:
        """The outbox row the message came from, as its Message-ID names it (`<ticketbooth.ID.…@host>`)."""
        return int(str(self.message["Message-ID"]).strip("<>").split(".")[1])

    def code(self) -> str:
        """The confirmation code the message carries (the only 32-hex word in its text)."""
        found = set(CODE.findall(self.text))
        assert len(found) == 1, self.text
        return found.pop()


@dataclass
class Recorder:
    """The aiosmtpd handler: keeps what it accepts; refuses what it is told to."""

    messages: list[Delivered] = field(default_factory=list)
    refuse_next: int = 0
    """Answer 451 (try again later) to the next this many messages."""
    reject: set[str] = field(default_factory=set)
    """Recipients answered 550 (no such user)."""
    hold_seconds: float = 0.0
    """Wait this long before answering DATA (a slow server)."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.reject:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.hold_seconds:
            await asyncio.sleep(self.hold_seconds)
        with self.lock:
            if self.refuse_next > 0:
                self.refuse_next -= 1
                return "451 4.3.0 Try again later"
            raw = envelope.original_content or envelope.content
            assert isinstance(raw, bytes)
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            assert isinstance(msg, EmailMessage)
            login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
            self.messages.append(Delivered(str(envelope.mail_from), list(envelope.rcpt_tos), msg, login,
                                           session.ssl is not None))
        return "250 OK"


@dataclass
class SmtpServer:
    host: str
    port: int
    recorder: Recorder
    ca_pem: bytes | None = None

    @property
    def messages(self) -> list[Delivered]:
        return self.recorder.messages

    def to(self, address: str) -> list[Delivered]:
        return [m for m in self.messages if address in m.rcpt_tos]

    def wait_for(self, count: int, seconds: float = 20.0) -> list[Delivered]:
        """Block until `count` messages have arrived (for a server in another process)."""
        deadline = time.monotonic() + seconds
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.messages) >= count, f"{len(self.messages)} of {count} messages arrived"
        return self.messages

    def client_tls_context(self) -> ssl.SSLContext:
        assert self.ca_pem is not None
        return ssl.create_default_context(cadata=self.ca_pem.decode())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _self_signed() -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) for 127.0.0.1 and localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ticketbooth test smtp")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _authenticator(server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any) -> AuthResult:
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == SMTP_USER.encode()
          and auth_data.password == SMTP_PASSWORD.encode())
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


def _run(controller: Controller, server: SmtpServer) -> Iterator[SmtpServer]:
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A plain SMTP server (no TLS, no AUTH)."""
    recorder, port = Recorder(), free_port()
    yield from _run(Controller(recorder, hostname="127.0.0.1", port=port), SmtpServer("127.0.0.1", port, recorder))


@pytest.fixture
def smtp_tls_server(tmp_path: Path) -> Iterator[SmtpServer]:
    """An SMTP server that requires STARTTLS and AUTH (user SMTP_USER, password SMTP_PASSWORD)."""
    cert_pem, key_pem = _self_signed()
    (tmp_path / "smtp-cert.pem").write_bytes(cert_pem)
    (tmp_path / "smtp-key.pem").write_bytes(key_pem)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "smtp-cert.pem", tmp_path / "smtp-key.pem")
    recorder, port = Recorder(), free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                            auth_required=True, authenticator=_authenticator)
    yield from _run(controller, SmtpServer("127.0.0.1", port, recorder, cert_pem))


class Mailbox:
    """Runs a mail sender in the test's own time and hands over what the SMTP server received."""

    def __init__(self, core: Core, server: SmtpServer) -> None:
        self.server = server
        self.sender = MailSender(core, SmtpTransport(server.host, server.port, starttls=False, timeout=5))
        self._seen = 0

    async def new(self) -> list[Delivered]:
        await self.sender.run_until_idle()  # one person's messages go one batch after another
        fresh = self.server.messages[self._seen:]
        self._seen = len(self.server.messages)
        # in the order they were queued: the sender delivers a batch at once, so they may arrive in any order
        return sorted(fresh, key=lambda m: m.outbox_id)

    async def one(self, to: str) -> Delivered:
        [message] = await self.new()
        assert message.rcpt_tos == [to]
        return message
