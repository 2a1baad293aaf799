"""Helpers of the 2FA and one-time-passcode tests: site settings, the mailbox the codes arrive in (a
real SMTP server), and the audit events written."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select, update

from tests.api.support import CUSTOMER
from tests.conftest import SITE
from tests.smtp import Delivered
from tests.smtp import Mailbox as SmtpMailbox
from ticketbooth.core import Core
from ticketbooth.db import tables as t

TICKETS = f"{CUSTOMER}/authtickets"
TWO_FACTOR_REQUEST = f"{TICKETS}/2fa/request"
TWO_FACTOR_AUTH = f"{TICKETS}/2fa/auth"
OTP_REQUEST = f"{TICKETS}/otp/request"
OTP_AUTH = f"{TICKETS}/otp/auth"
SIX_DIGITS = re.compile(r"\b\d{6}\b")


class Mailbox(SmtpMailbox):
    """The test mailbox, reading the code out of a message too."""

    async def code(self, to: str) -> str:
        return code_of(await self.one(to))


def code_of(message: Delivered) -> str:
    """The 6-digit code a message carries, the same in its text and HTML parts."""
    found = set(SIX_DIGITS.findall(message.text))
    assert len(found) == 1, message.text
    code = found.pop()
    assert code in message.html
    return code


async def set_site(core: Core, site: int = SITE, **settings: Any) -> None:
    """Give site `site` these settings (SiteSettings fields), at once for every request."""
    async with core.store.engine.begin() as conn:
        await conn.execute(update(t.sites).where(t.sites.c.id == site).values(settings=settings))
    core.directory.forget()


async def events(core: Core, account_id: int | None = None) -> list[str]:
    """The audit events recorded (for one account, when given), oldest first."""
    stmt = select(t.audit_entries.c.event).order_by(t.audit_entries.c.id)
    if account_id is not None:
        stmt = stmt.where(t.audit_entries.c.account_id == account_id)
    async with core.store.engine.connect() as conn:
        return [str(e) for e in (await conn.execute(stmt)).scalars()]


async def count_rows(core: Core, table: Any) -> int:
    async with core.store.engine.connect() as conn:
        return len((await conn.execute(select(table))).all())
