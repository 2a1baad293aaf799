"""Mail plumbing: a rendered message, its sealing at rest (AES-GCM), the RFC 5322 message built from
it, and the transports that deliver it (SMTP with aiosmtplib, or .eml files in a directory).

Nothing here knows about outbox rows or templates (mail/service.py does); transports only deliver.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import ssl
import tempfile
from dataclasses import asdict, dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Protocol

import aiosmtplib
import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SEAL_VERSION = b"\x01"
NONCE_BYTES = 12
OUTBOX_KEY_INFO = b"ticketbooth outbox message key v1"
MESSAGE_ID_INFO = b"ticketbooth message-id tag v1"


@dataclass(frozen=True, slots=True)
class RenderedMail:
    """A message ready to send: who from and to, and its subject, text and HTML bodies."""

    to: str
    from_address: str
    from_name: str
    subject: str
    text: str
    html: str

    def to_bytes(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_bytes(cls, data: bytes) -> RenderedMail:
        return cls(**orjson.loads(data))


def derive_key(secret: bytes, info: bytes, length: int = 32) -> bytes:
    """A key of its own for one use of the server secret (HKDF-SHA256, RFC 5869)."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(secret)


class SealError(Exception):
    """A sealed message cannot be opened (damaged, or sealed under another server secret)."""


class Sealer:
    """Encrypts outbox messages at rest with AES-256-GCM under a key derived from the server secret.
    `context` (authenticated, not stored) binds a sealed message to where it belongs."""

    def __init__(self, secret: bytes) -> None:
        self._aead = AESGCM(derive_key(secret, OUTBOX_KEY_INFO))

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return SEAL_VERSION + nonce + self._aead.encrypt(nonce, plaintext, context)

    def open(self, sealed: bytes, context: bytes) -> bytes:
        if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[:1] != SEAL_VERSION:
            raise SealError("not a sealed message")
        nonce, body = sealed[1:1 + NONCE_BYTES], sealed[1 + NONCE_BYTES:]
        try:
            return self._aead.decrypt(nonce, body, context)
        except InvalidTag:
            raise SealError("the message cannot be opened with this server secret") from None


def message_id(outbox_id: int, tag: str, from_address: str) -> str:
    """The same Message-ID every time the outbox message is sent, so a resend after a crash between
    delivery and bookkeeping is recognisable as the same message. `tag` tells installations apart."""
    domain = from_address.rpartition("@")[2] or "localhost"
    return f"<ticketbooth.{outbox_id}.{tag}@{domain}>"


def build_message(mail: RenderedMail, msg_id: str, date: datetime) -> EmailMessage:
    """The RFC 5322 message: plain text with an HTML alternative."""
    msg = EmailMessage()
    local, _, domain = mail.from_address.rpartition("@")
    msg["From"] = Address(display_name=mail.from_name, username=local, domain=domain)
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = msg_id
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(mail.text)
    if mail.html:
        msg.add_alternative(mail.html, subtype="html")
    return msg


class DeliveryError(Exception):
    """A delivery that failed. `permanent`: retrying will not help (the recipient was refused)."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Transport(Protocol):
    def describe(self) -> str:
        """Where mail goes, for logs (no secrets)."""
        ...

    async def deliver(self, name: str, msg: EmailMessage) -> str:
        """Deliver `msg`; where it went (for logs). `name` is stable per outbox message. Raises DeliveryError."""
        ...


class SmtpTransport:
    """Delivers through an SMTP server: STARTTLS (required when `starttls`) or implicit TLS, and AUTH
    LOGIN/PLAIN when a user is set. One connection per message keeps failures independent."""

    def __init__(self, host: str, port: int, *, user: str = "", password: str = "", starttls: bool = True,
                 tls: bool = False, timeout: float = 30.0, tls_context: ssl.SSLContext | None = None) -> None:
        self.host, self.port = host, port
        self._user, self._password = user, password
        self._starttls, self._tls, self._timeout = starttls and not tls, tls, timeout
        self._tls_context = tls_context

    def describe(self) -> str:
        mode = "implicit TLS" if self._tls else ("STARTTLS" if self._starttls else "no TLS")
        return f"SMTP {self.host}:{self.port} ({mode}{', AUTH as ' + self._user if self._user else ''})"

    async def deliver(self, name: str, msg: EmailMessage) -> str:
        try:
            await asyncio.wait_for(aiosmtplib.send(
                msg, hostname=self.host, port=self.port, username=self._user or None,
                password=self._password or None, use_tls=self._tls, start_tls=self._starttls,
                tls_context=self._tls_context, timeout=self._timeout,
            ), timeout=self._timeout * 3)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = sorted({r.code for r in exc.recipients})
            raise DeliveryError(f"recipient refused ({', '.join(map(str, codes))})",
                                permanent=all(500 <= c < 600 for c in codes)) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc.code} {_clean(exc.message, self._password)}") from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {_clean(str(exc), self._password)}") from None
        return f"smtp://{self.host}:{self.port}"


def _clean(text: str, secret: str) -> str:
    """An error text fit to store: one line, without the SMTP password should a server echo it."""
    text = " ".join(text.split())
    return text.replace(secret, "***") if secret else text


class FileTransport:
    """Writes each message as an RFC 5322 `.eml` file into `directory` (when no SMTP server is set up).
    The file is named after the outbox message and written atomically (temporary file, then rename):
    a resend replaces the file instead of adding a second one, and a reader never sees half a file."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def describe(self) -> str:
        return f"files in {self.directory}"

    async def deliver(self, name: str, msg: EmailMessage) -> str:
        try:
            return await asyncio.to_thread(self._write, name, msg.as_bytes())
        except OSError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc.strerror or exc}") from None

    def _write(self, name: str, data: bytes) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / f"{name}.eml"
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as f:  # mkstemp makes it 0600: the message may carry a code
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return str(target)


def tls_context(cafile: str = "") -> ssl.SSLContext:
    """Certificate-verifying client context, trusting `cafile` instead of the system CAs when given."""
    return ssl.create_default_context(cafile=cafile or None)
