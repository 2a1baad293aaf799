"""The ways an account has to sign in: its password, its passkeys, its linked provider identities. Removing a
passkey (passkeys/service.py) or unlinking an identity (federation/identities.py) never takes the last one, so
an account is never left with no way in but an administrator."""

from __future__ import annotations

from ticketbooth.core import Core
from ticketbooth.domain.models import Account


async def count(core: Core, account: Account, *, identities: bool = True) -> int:
    """How many ways `account` has to sign in: a password (its own or an imported one), each passkey and, unless
    `identities` is False (the unlink counts those itself, in its transaction), each linked identity."""
    ways = int(account.has_password or account.has_external_password) + await core.store.count_passkeys(account.id)
    if identities:
        ways += (await core.store.identity_counts([account.id])).get(account.id, 0)
    return ways
