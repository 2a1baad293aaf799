"""Mail to shoppers: rendering, the outbox, and the background sender. The templates, the sealing
key and the wake-up signal every process keeps are in `services.mailroom` (held by `core.Core`).

- `enqueue` renders a message from its templates and queues it, sealed (encrypted), in the outbox,
  on the caller's transaction: the message exists exactly when the change that causes it does.
- `MailSender` runs in every server process. It claims due messages with a lease (no two senders
  send one message at the same time), delivers them through the transport (SMTP, or .eml files
  when no SMTP server is configured), and marks them sent, or failed with a retry at an
  exponentially growing, jittered delay. A sender that dies mid-way leaves its lease to run out and
  the next sender delivers the message: no message is lost. Delivery is at least once: should a
  process die between the SMTP server's acceptance and the bookkeeping, the message goes again with
  the same Message-ID, by which receivers recognise it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
import random
import secrets
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ticketbooth.config import Settings
from ticketbooth.core import Core
from ticketbooth.domain.errors import ServiceUnavailable
from ticketbooth.domain.models import OutboxMessage, Tenant
from ticketbooth.infra.mail import (
    DeliveryError,
    FileTransport,
    RenderedMail,
    SealError,
    SmtpTransport,
    Transport,
    build_message,
    message_id,
    tls_context,
)
from ticketbooth.mail.persistence import MailPersistence, Outbox
from ticketbooth.mail.rules import retry_delay

log = logging.getLogger("ticketbooth.mail")

BATCH = 10
HOUSEKEEPING_SECONDS = 3600


def render(core: Core, tenant: Tenant, kind: str, to: str, locale: str | None,
           values: Mapping[str, Any]) -> RenderedMail:
    settings = tenant.settings.mail
    subject, text, html = core.mail.templates.render(kind, locale, {"tenant_name": tenant.name, **values})
    return RenderedMail(to=to, from_address=settings.from_address, from_name=settings.from_name or tenant.name,
                        subject=subject, text=text, html=html)


async def enqueue(core: Core, tx: Outbox, tenant: Tenant, kind: str, to: str, locale: str | None,
                  values: Mapping[str, Any]) -> int:
    """Render message `kind` for `to` and queue it, sealed, on the transaction `tx`; its outbox id.
    After the transaction commits, `core.mail.wake()` has it sent at once, after any earlier message to
    the same address (mail/store.py): a code that replaced another always arrives last."""
    mail = render(core, tenant, kind, to, locale, values)
    return await tx.enqueue_mail(tenant.id, kind, core.mail.seal(tenant.id, kind, mail), core.clock.now(),
                                 recipient_key(core, tenant.id, to))


_RECIPIENT_KEY_LABEL = b"ticketbooth mail recipients"


def recipient_key(core: Core, tenant_id: int, to: str) -> str:
    """The outbox's name for an address (keyed, so the table does not tell who is written to), the same for
    every spelling of its case."""
    key = hmac.new(core.refresh_secret, _RECIPIENT_KEY_LABEL, hashlib.sha256).digest()
    message = f"{tenant_id}\x00{to.strip().casefold()}".encode("utf-8", "surrogatepass")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


# -- the sender ---------------------------------------------------------------------------------------

def transport_for(settings: Settings) -> Transport:
    """SMTP when a host is configured, else .eml files in `mail_dir`."""
    if settings.smtp_host:
        return SmtpTransport(
            settings.smtp_host, settings.smtp_port, user=settings.smtp_user, password=settings.smtp_password,
            starttls=settings.smtp_starttls, tls=settings.smtp_tls, timeout=settings.smtp_timeout,
            tls_context=tls_context(settings.smtp_cafile) if (settings.smtp_starttls or settings.smtp_tls) else None,
        )
    return FileTransport(settings.mail_dir)


def _worker_name() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass
class SendResult:
    claimed: int = 0
    sent: int = 0
    failed: int = 0


class MailSender:
    """Delivers the outbox, in the background of a server process (`start` / `stop`) or one batch at
    a time (`run_once`, for tests and tools)."""

    def __init__(self, core: Core, transport: Transport, *, worker: str | None = None, batch: int = BATCH,
                 rng: random.Random | None = None, store: MailPersistence | None = None) -> None:
        self.core = core
        self.store: MailPersistence = store or core.store
        """The outbox: the core's store unless another implementation of `MailPersistence` is given."""
        self.transport = transport
        self.worker = worker or _worker_name()
        self.batch = batch
        s = core.settings
        self.max_attempts = s.mail_max_attempts
        self.retry_seconds = s.mail_retry_seconds
        # a whole batch is sent concurrently, each message bounded by the transport's deadline
        self.lease = timedelta(seconds=s.smtp_timeout * 3 + 30)
        self._rng = rng or random.Random()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._last_housekeeping = -float(HOUSEKEEPING_SECONDS)

    # -- one batch --

    async def run_until_idle(self, max_rounds: int = 100) -> SendResult:
        """Deliver what is due, batch after batch, until a batch sends nothing (a person's messages go one per
        batch, in order), at most `max_rounds` batches; the totals. For tests and tools, as `run_once`."""
        total = SendResult()
        for _ in range(max_rounds):
            result = await self.run_once()
            total.claimed, total.sent, total.failed = (
                total.claimed + result.claimed, total.sent + result.sent, total.failed + result.failed)
            if result.sent == 0:
                break
        return total

    async def run_once(self) -> SendResult:
        """Claim a batch of due messages and deliver it."""
        now = self.core.clock.now()
        claimed = await self.store.claim_mail(self.worker, now, now + self.lease, self.batch, self.max_attempts)
        result = SendResult(claimed=len(claimed))
        if claimed:
            outcomes = await asyncio.gather(*(self._deliver(m) for m in claimed), return_exceptions=True)
            for m, outcome in zip(claimed, outcomes, strict=True):
                if isinstance(outcome, asyncio.CancelledError):
                    raise outcome
                if isinstance(outcome, BaseException):  # e.g. the database went away: the lease runs out, it goes again
                    log.error("mail %s (%s) not recorded: %s: %s", m.id, m.kind, type(outcome).__name__, outcome)
            result.sent = sum(1 for ok in outcomes if ok is True)
            result.failed = len(outcomes) - result.sent
        return result

    async def _deliver(self, m: OutboxMessage) -> bool:
        try:
            mail = self.core.mail.open(m)
            msg = build_message(mail, message_id(m.id, self.core.mail.tag, mail.from_address), m.created_at)
        except (SealError, ValueError, TypeError, KeyError) as exc:
            error = f"cannot build the message: {type(exc).__name__}"
            await self.store.mark_mail_failed(m.id, self.worker, error, self.core.clock.now(), None)
            log.error("mail %s (%s) given up: %s", m.id, m.kind, error)
            return False
        try:
            where = await self.transport.deliver(f"outbox-{m.id}", msg)
        except DeliveryError as exc:
            now = self.core.clock.now()
            give_up = exc.permanent or m.attempts >= self.max_attempts
            retry_at = None if give_up else now + retry_delay(m.attempts, self._rng, self.retry_seconds)
            await self.store.mark_mail_failed(m.id, self.worker, str(exc), now, retry_at)
            if give_up:
                log.error("mail %s (%s) given up after %d attempt(s): %s", m.id, m.kind, m.attempts, exc)
            else:
                log.warning("mail %s (%s) not delivered (attempt %d), retry at %s: %s",
                            m.id, m.kind, m.attempts, retry_at.isoformat() if retry_at else "-", exc)
            return False
        if await self.store.mark_mail_sent(m.id, self.worker, self.core.clock.now()):
            log.info("mail %s (%s) delivered to %s", m.id, m.kind, where)
        else:
            log.warning("mail %s (%s) delivered to %s after its claim ran out; it may be sent twice",
                        m.id, m.kind, where)
        return True

    async def housekeeping(self) -> None:
        """Drop sent and given-up messages after `mail_keep_days`, codes and login challenges a day after
        they expired, audit entries older than their tenant's `audit.keep_days`, and dispatched events older than
        `event_retention_days`."""
        now = self.core.clock.now()
        await self.store.purge_mail(now, now - timedelta(days=self.core.settings.mail_keep_days), self.max_attempts)
        await self.store.purge_codes(now - timedelta(days=1))
        await self.store.purge_challenges(now - timedelta(days=1))
        await self.store.purge_expired_audit_entries(now)
        await self.store.purge_events(now - timedelta(days=self.core.settings.event_retention_days))

    # -- in the background --

    def start(self) -> None:
        if self._task is None:
            log.info("mail sender %s started; mail goes to %s", self.worker, self.transport.describe())
            self._task = asyncio.create_task(self._run(), name="ticketbooth-mail-sender")

    async def stop(self, grace: float = 10.0) -> None:
        """Let the batch being sent finish (up to `grace` seconds), else cancel it and give its claims back."""
        self._stopping = True
        task, self._task = self._task, None
        if task is None:
            return
        self.core.mail.wake()
        _, pending = await asyncio.wait({task}, timeout=grace)
        if pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        try:
            while not self._stopping:
                full = False
                try:
                    if time.monotonic() - self._last_housekeeping >= HOUSEKEEPING_SECONDS:
                        self._last_housekeeping = time.monotonic()
                        await self.housekeeping()
                    result = await self.run_once()
                    # go again at once when the batch was full, or when a message went out: it may have been
                    # holding back its recipient's next one (one person's mail goes in order, mail/store.py)
                    full = result.claimed >= self.batch or result.sent > 0
                except asyncio.CancelledError:
                    raise
                except ServiceUnavailable:  # the database is down for a while: one line a round, no traceback
                    log.warning("mail sender: the database cannot be reached; trying again in %g s",
                                self.core.settings.mail_poll_seconds)
                except Exception:  # keep the sender alive
                    log.exception("mail sender: delivery round failed; trying again shortly")
                if not full and not self._stopping:
                    await self.core.mail.wait(self.core.settings.mail_poll_seconds)
        finally:
            with contextlib.suppress(Exception):
                released = await asyncio.shield(self.store.release_mail(self.worker))
                if released:
                    log.info("mail sender %s gave back %d claimed message(s)", self.worker, released)
