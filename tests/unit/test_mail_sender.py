"""The mail sender against a real SMTP server (aiosmtpd) and a real database (SQLite and PostgreSQL):
delivery, retries, giving up, two senders at once, a sender that died, encryption at rest, and the
background task's start and stop."""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from tests.conftest import free_port
from tests.smtp import SmtpServer
from ticketbooth.config import Settings
from ticketbooth.core import Core, open_core
from ticketbooth.db import tables as t
from ticketbooth.domain.models import MAIL_PASSWORD_CHANGED, MAIL_PASSWORD_RESET, Tenant
from ticketbooth.domain.policies import MailSettings, TenantSettings
from ticketbooth.infra.clock import ManualClock
from ticketbooth.infra.mail import FileTransport, SmtpTransport
from ticketbooth.mail import service as mail
from ticketbooth.mail.service import MailSender

TENANT = Tenant(id=100, name="Test Shop", settings=TenantSettings(mail=MailSettings(from_address="shop@mail.example")),
                default_customer_set_id=1, default_site_id=200)
CODE = "5f0c2a9e7b1d4c3a8e6f0b2d4a6c8e0f"
TO = "zora.quux@example.org"


def smtp(server: SmtpServer) -> SmtpTransport:
    return SmtpTransport(server.host, server.port, starttls=False, timeout=5)


async def enqueue(core: Core, to: str = TO, code: str = CODE, locale: str | None = None) -> int:
    async with core.store.transaction() as tx:
        return await mail.enqueue(core, tx, TENANT, MAIL_PASSWORD_RESET, to, locale, {
            "code": code, "user_name": to, "first_name": None, "reset_url": None, "expires_hours": 72})


async def outbox_row(core: Core, message_id: int) -> dict[str, object]:
    async with core.store.engine.connect() as conn:
        return dict((await conn.execute(select(t.outbox).where(t.outbox.c.id == message_id))).one()._mapping)


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    """For the background task only: wait (polling, bounded) until `check` holds."""
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_sender_delivers_and_keeps_a_record_without_the_body(
        core: Core, clock: ManualClock, smtp_server: SmtpServer) -> None:
    message_id = await enqueue(core)
    created = clock.now()
    clock.advance(timedelta(seconds=3))
    result = await MailSender(core, smtp(smtp_server)).run_once()
    assert (result.claimed, result.sent, result.failed) == (1, 1, 0)
    [got] = smtp_server.messages
    assert got.rcpt_tos == [TO] and got.mail_from == "shop@mail.example"
    assert got.message["From"] == "Test Shop <shop@mail.example>"
    assert got.message["Subject"] == "Reset your Test Shop password"
    assert got.message["Message-ID"] == f"<ticketbooth.{message_id}.{core.mail.tag}@mail.example>"
    assert got.message["Date"].datetime == created
    assert got.code() == CODE and CODE in got.html
    row = await outbox_row(core, message_id)
    assert row["sent_at"] == clock.now() and row["message"] is None and row["attempts"] == 1
    assert (await MailSender(core, smtp(smtp_server)).run_once()).claimed == 0
    assert len(smtp_server.messages) == 1


async def test_no_mail_when_the_transaction_rolls_back(core: Core, smtp_server: SmtpServer) -> None:
    with pytest.raises(RuntimeError):
        async with core.store.transaction() as tx:
            await mail.enqueue(core, tx, TENANT, MAIL_PASSWORD_CHANGED, TO, None,
                               {"user_name": TO, "first_name": None})
            raise RuntimeError("the change failed")
    assert (await MailSender(core, smtp(smtp_server)).run_once()).claimed == 0
    assert smtp_server.messages == []


async def test_messages_are_encrypted_at_rest(core: Core, settings: Settings, smtp_server: SmtpServer) -> None:
    message_id = await enqueue(core)
    stored = (await outbox_row(core, message_id))["message"]
    assert isinstance(stored, bytes) and len(stored) > 100
    for secret in (CODE, TO, "Reset your", "Test Shop"):
        assert secret.encode() not in stored
    if settings.database_url.startswith("sqlite:///"):  # and nowhere in the database's files
        path = Path(settings.database_url.removeprefix("sqlite:///"))
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert stored in raw and CODE.encode() not in raw and TO.encode() not in raw
    await MailSender(core, smtp(smtp_server)).run_once()
    assert smtp_server.messages[0].code() == CODE


async def test_a_refused_delivery_is_retried_after_a_backoff(
        core: Core, clock: ManualClock, smtp_server: SmtpServer) -> None:
    message_id = await enqueue(core)
    smtp_server.recorder.refuse_next = 1
    sender = MailSender(core, smtp(smtp_server), rng=random.Random(1))
    assert (await sender.run_once()).failed == 1
    row = await outbox_row(core, message_id)
    assert row["attempts"] == 1 and row["sent_at"] is None and row["failed_at"] is None and row["claimed_by"] is None
    assert "451" in str(row["last_error"])
    retry_at = row["next_attempt_at"]
    assert isinstance(retry_at, type(clock.now()))
    assert clock.now() + timedelta(seconds=30) <= retry_at <= clock.now() + timedelta(seconds=60)
    assert (await sender.run_once()).claimed == 0  # not before its time
    clock.advance(retry_at - clock.now())
    assert (await sender.run_once()).sent == 1
    assert len(smtp_server.messages) == 1
    row = await outbox_row(core, message_id)
    assert row["attempts"] == 2 and row["sent_at"] == clock.now() and row["last_error"] is None


async def test_server_down_then_up(core: Core, clock: ManualClock, smtp_server: SmtpServer) -> None:
    message_id = await enqueue(core)
    sender = MailSender(core, SmtpTransport("127.0.0.1", free_port(), starttls=False, timeout=5))
    assert (await sender.run_once()).failed == 1
    assert (await outbox_row(core, message_id))["last_error"]
    sender.transport = smtp(smtp_server)  # the server is back
    clock.advance(timedelta(minutes=1))
    assert (await sender.run_once()).sent == 1
    assert [m.code() for m in smtp_server.messages] == [CODE]


async def test_gives_up_after_the_last_attempt(core: Core, clock: ManualClock, smtp_server: SmtpServer,
                                               caplog: pytest.LogCaptureFixture) -> None:
    message_id = await enqueue(core)
    smtp_server.recorder.refuse_next = 100
    sender = MailSender(core, smtp(smtp_server))
    sender.max_attempts = 3
    for _ in range(3):
        assert (await sender.run_once()).failed == 1
        clock.advance(timedelta(hours=1))
    row = await outbox_row(core, message_id)
    assert row["failed_at"] is not None and row["attempts"] == 3
    assert (await sender.run_once()).claimed == 0
    assert "given up after 3 attempt(s)" in caplog.text


async def test_a_refused_recipient_is_given_up_at_once(core: Core, smtp_server: SmtpServer) -> None:
    message_id = await enqueue(core)
    smtp_server.recorder.reject.add(TO)
    assert (await MailSender(core, smtp(smtp_server)).run_once()).failed == 1
    row = await outbox_row(core, message_id)
    assert row["failed_at"] is not None and row["attempts"] == 1 and "550" in str(row["last_error"])


async def test_a_message_that_cannot_be_opened_is_given_up(core: Core, smtp_server: SmtpServer) -> None:
    message_id = await enqueue(core)
    async with core.store.engine.begin() as conn:
        await conn.execute(update(t.outbox).where(t.outbox.c.id == message_id).values(message=b"\x01" + b"\x00" * 60))
    assert (await MailSender(core, smtp(smtp_server)).run_once()).failed == 1
    row = await outbox_row(core, message_id)
    assert row["failed_at"] is not None and "cannot build" in str(row["last_error"])
    assert smtp_server.messages == []


async def test_two_senders_deliver_every_message_exactly_once(
        core: Core, settings: Settings, clock: ManualClock, smtp_server: SmtpServer) -> None:
    ids = [await enqueue(core, to=f"shopper{i}@example.org", code=f"{i:032x}") for i in range(30)]
    other = await open_core(settings, clock)  # a second process: its own engine and connections
    try:
        senders = [MailSender(core, smtp(smtp_server), batch=4), MailSender(other, smtp(smtp_server), batch=4)]

        async def drain(sender: MailSender) -> int:
            sent = 0
            while (result := await sender.run_once()).claimed:
                sent += result.sent
            return sent

        counts = await asyncio.gather(*(drain(s) for s in senders))
    finally:
        await other.close()
    assert sum(counts) == 30 and all(counts)
    ids_seen = sorted(int(m.message["Message-ID"].split(".")[1]) for m in smtp_server.messages)
    assert ids_seen == ids
    assert sorted(m.code() for m in smtp_server.messages) == sorted(f"{i:032x}" for i in range(30))


async def test_a_message_claimed_by_a_dead_sender_is_sent_by_the_next(
        core: Core, clock: ManualClock, smtp_server: SmtpServer) -> None:
    message_id = await enqueue(core)
    now = clock.now()
    sender = MailSender(core, smtp(smtp_server))
    assert [m.id for m in await core.store.claim_mail("crashed", now, now + sender.lease, 10, 10)] == [message_id]
    assert (await sender.run_once()).claimed == 0
    clock.advance(sender.lease + timedelta(seconds=1))
    assert (await sender.run_once()).sent == 1
    assert [m.code() for m in smtp_server.messages] == [CODE]


async def test_background_sender_is_woken_by_a_new_message_and_stops(
        core: Core, smtp_server: SmtpServer) -> None:
    core.settings.mail_poll_seconds = 600  # only the wake-up can deliver within the test
    sender = MailSender(core, smtp(smtp_server))
    sender.start()
    try:
        await asyncio.sleep(0)
        await enqueue(core)
        core.mail.wake()

        async def delivered() -> bool:
            return len(smtp_server.messages) == 1

        await eventually(delivered)
    finally:
        started = time.monotonic()
        await sender.stop()
        assert time.monotonic() - started < 5
    assert sender._task is None


async def test_stop_gives_back_the_claim_of_a_delivery_in_progress(
        core: Core, clock: ManualClock, smtp_server: SmtpServer) -> None:
    message_id = await enqueue(core)
    smtp_server.recorder.hold_seconds = 1
    sender = MailSender(core, smtp(smtp_server))
    sender.start()

    async def claimed() -> bool:
        return (await outbox_row(core, message_id))["claimed_by"] == sender.worker

    try:
        await eventually(claimed)
    finally:
        await sender.stop(grace=0.05)
    row = await outbox_row(core, message_id)
    assert row["claimed_by"] is None and row["sent_at"] is None
    smtp_server.recorder.hold_seconds = 0
    assert (await MailSender(core, smtp(smtp_server)).run_once()).sent == 1  # at once, no lease to wait for
    # the server may also have kept the interrupted copy: any copy carries the same Message-ID
    assert {m.message["Message-ID"] for m in smtp_server.messages} == {
        f"<ticketbooth.{message_id}.{core.mail.tag}@mail.example>"}


async def test_file_transport_delivery_and_log(core: Core, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ticketbooth.mail")
    message_id = await enqueue(core, locale="de-DE")
    assert (await MailSender(core, FileTransport(tmp_path / "mail")).run_once()).sent == 1
    path = tmp_path / "mail" / f"outbox-{message_id}.eml"
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert parsed["To"] == TO and parsed["Subject"] == "Ihr Passwort bei Test Shop zurücksetzen"
    assert str(path) in caplog.text
    assert CODE not in caplog.text and TO not in caplog.text


async def test_housekeeping_purges_old_sent_messages(core: Core, clock: ManualClock, smtp_server: SmtpServer) -> None:
    message_id = await enqueue(core)
    sender = MailSender(core, smtp(smtp_server))
    await sender.run_once()
    clock.advance(timedelta(days=7, seconds=-1))
    await sender.housekeeping()
    assert (await outbox_row(core, message_id))["sent_at"] is not None
    clock.advance(timedelta(seconds=2))
    await sender.housekeeping()
    async with core.store.engine.connect() as conn:
        assert (await conn.execute(select(t.outbox.c.id))).all() == []


async def test_one_persons_codes_arrive_in_the_order_they_were_queued(core: Core, smtp_server: SmtpServer) -> None:
    """A superseded code never arrives after its replacement: the second message to an address (however
    its case is spelled) waits until the first is sent, while another person's goes in the same batch."""
    first = await enqueue(core, code="1" * 32)
    second = await enqueue(core, to=TO.upper(), code="2" * 32)
    other = await enqueue(core, to="yann.other@example.org", code="3" * 32)
    sender = MailSender(core, smtp(smtp_server))
    assert (await sender.run_once()).sent == 2
    assert sorted(m.code() for m in smtp_server.messages) == ["1" * 32, "3" * 32]
    assert (await outbox_row(core, second))["sent_at"] is None
    assert (await sender.run_once()).sent == 1
    assert smtp_server.messages[-1].code() == "2" * 32
    keys = [(await outbox_row(core, m))["recipient_key"] for m in (first, second, other)]
    assert keys[0] == keys[1] != keys[2] and TO not in str(keys[0])


async def test_background_sender_sends_a_persons_next_message_without_waiting_for_the_poll(
        core: Core, smtp_server: SmtpServer) -> None:
    core.settings.mail_poll_seconds = 600  # only going again at once after a delivery sends the second code
    await enqueue(core, code="1" * 32)
    await enqueue(core, code="2" * 32)
    sender = MailSender(core, smtp(smtp_server))
    sender.start()
    try:
        async def both() -> bool:
            return len(smtp_server.messages) == 2

        await eventually(both)
    finally:
        await sender.stop()
    assert [m.code() for m in smtp_server.messages] == ["1" * 32, "2" * 32]
