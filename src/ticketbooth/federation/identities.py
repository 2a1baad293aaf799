"""An account's linked identities (the provider identities that sign in to it): listed by the account's own
shopper or an application with customer:admin, unlinked by the same (not under an impersonation ticket: it
changes how the account is reached). Unlinking never leaves an account without a way to sign in: its last
identity goes only while it has a password or a passkey."""

from __future__ import annotations

from ticketbooth.accounts.access import account_for
from ticketbooth.audit import service as audit
from ticketbooth.caller import Caller
from ticketbooth.core import Core, federation_persistence
from ticketbooth.domain.errors import Conflict, NotFound
from ticketbooth.domain.models import Account, Shopper
from ticketbooth.federation.rules import LinkedIdentity
from ticketbooth.passkeys import service as passkey_flows


async def listing(core: Core, caller: Caller, shopper: Shopper | None, account_id: int) -> list[LinkedIdentity]:
    account = await account_for(core, caller, shopper, account_id, with_parts=False)
    return await federation_persistence(core.store).list_identities(caller.tenant.id, account.id)


async def other_ways_in(core: Core, account: Account) -> int:
    """How many ways to sign in the account has besides its linked identities: its password, its passkeys."""
    passkeys = await passkey_flows.count(core, account.id)
    return int(account.has_password or account.has_external_password) + passkeys


async def unlink(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, identity_id: int) -> None:
    account = await account_for(core, caller, shopper, account_id, with_parts=False, sensitive=True)
    store = federation_persistence(core.store)
    async with store.transaction() as tx:
        removed = await tx.delete_identity(caller.tenant.id, account.id, identity_id, await other_ways_in(core, account))
        if removed is None:
            raise NotFound(f"Item not found: linked identity {identity_id} does not exist")
        if removed is False:
            raise Conflict("Validation conflict: this is the account's last way to sign in (no password, no passkey, "
                           "no other linked identity); add one before unlinking it")
        assert isinstance(removed, LinkedIdentity)
        await audit.record(core, audit.Event.IDENTITY_UNLINKED, caller=caller, account_id=account.id,
                           detail={"identityId": removed.id, "providerId": removed.provider_id}, store=tx)


async def count(core: Core, account_id: int) -> int:
    """How many provider identities the account has linked (a passkey's removal may ask: is there another way
    to sign in?)."""
    return (await federation_persistence(core.store).identity_counts([account_id])).get(account_id, 0)
