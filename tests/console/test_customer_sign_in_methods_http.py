"""A customer's passkeys and linked identities on the console's customer page (both databases): listed,
removed and unlinked through the API's own flows (passkeys/service.py, federation/identities.py), audited
with the staff member; a viewer refused; the account's last way to sign in kept.

The shopper's passkey is made through the REST API with the software authenticator
(tests/passkeys/support.py); the linked identity is stored with the federation store (a provider's
sign-in itself is the federation end-to-end tests' subject)."""

from __future__ import annotations

import re

import httpx

from tests.api.support import ok
from tests.console.conftest import StaffFactory
from tests.console.ops_support import audit_rows
from tests.passkeys.authenticator import Authenticator
from tests.passkeys.support import ORIGIN, add_passkey, enable, fresh_shopper, passkeys_path
from ticketbooth.core import Core, federation_persistence
from ticketbooth.db import tables as t
from ticketbooth.federation.rules import ProviderEndpoints

ENDPOINTS = ProviderEndpoints("https://id.example.test/auth", "https://id.example.test/token",
                              "https://id.example.test/jwks")


async def provider(core: Core, alias: str = "idp", name: str = "Example ID") -> int:
    store = federation_persistence(core.store)
    async with store.transaction() as tx:
        made = await tx.add_provider(dict(
            tenant_id=100, alias=alias, display_name=name, issuer=f"https://{alias}.example.test", client_id="tb",
            client_secret=None, scopes=["openid", "email"], trust_email=False, is_enabled=True,
            create_accounts=True, metadata=ENDPOINTS.as_json()), core.clock.now())
    return made.id


async def link(core: Core, provider_id: int, account_id: int, subject: str, email: str | None) -> int:
    identity = await federation_persistence(core.store).add_identity(100, provider_id, account_id, subject, email,
                                                                     core.clock.now())
    return identity.id


def page_of(text: str, section: str) -> str:
    found = re.search(rf'<section aria-labelledby="{section}-h">(.*?)</section>', text, re.S)
    assert found, section
    return found.group(1)


async def test_a_customers_passkeys_are_listed_and_removed(core: Core, client: httpx.AsyncClient,
                                                         app_headers: dict[str, str],
                                                         console_staff: StaffFactory) -> None:
    await enable(core)
    shopper = await fresh_shopper(client, app_headers, "keys@example.com")
    key = Authenticator(ORIGIN, backup=True)
    made = ok(await add_passkey(client, shopper, key, "Anna's phone"))
    support, viewer = await console_staff("support"), await console_staff("viewer")
    path = f"/console/customers/{shopper.account_id}"

    shown = page_of((await viewer.console.get(path)).text, "passkeys")
    assert "Anna&#39;s phone" in shown and "yes (synced)" in shown and "never" in shown
    assert "/remove" not in shown  # a viewer sees no Remove
    r = await viewer.console.submit(path, f"{path}/passkeys/{made['id']}/remove", {})
    assert r.status_code == 403
    shown = page_of((await support.console.get(path)).text, "passkeys")
    assert f'action="{path}/passkeys/{made["id"]}/remove"' in shown
    r = await support.console.submit(path, f"{path}/passkeys/{made['id']}/remove", {})
    assert r.status_code == 303 and r.headers["location"] == f"{path}?done=passkey-removed"
    after = await support.console.get(r.headers["location"])
    assert "The passkey is removed" in after.text and "No passkey." in page_of(after.text, "passkeys")
    listed = ok(await client.get(passkeys_path(shopper.account_id), headers=shopper.headers))
    assert listed["totalCount"] == 0
    removed = await audit_rows(core, "passkey.removed")
    assert [(r.actor or r.client_id, r.account_id) for r in removed] == [(f"staff:{support.email}",
                                                                         shopper.account_id)]
    # another customer's passkey id under this customer: nothing removed
    other = await fresh_shopper(client, app_headers, "other@example.com")
    theirs = ok(await add_passkey(client, other, Authenticator(ORIGIN), "theirs"))
    r = await support.console.submit(path, f"{path}/passkeys/{theirs['id']}/remove", {})
    assert r.status_code == 404
    assert ok(await client.get(passkeys_path(other.account_id), headers=other.headers))["totalCount"] == 1


async def test_a_customers_identities_are_listed_and_unlinked_but_not_the_last_way_in(
        core: Core, client: httpx.AsyncClient, app_headers: dict[str, str], console_staff: StaffFactory) -> None:
    shopper = await fresh_shopper(client, app_headers, "fed@example.com")
    idp = await provider(core)
    first = await link(core, idp, shopper.account_id, "sub-123", "fed@idp.example.test")
    support, viewer = await console_staff("support"), await console_staff("viewer")
    path = f"/console/customers/{shopper.account_id}"
    shown = page_of((await viewer.console.get(path)).text, "identities")
    assert "Example ID" in shown and "sub-123" in shown and "fed@idp.example.test" in shown and "/unlink" not in shown
    assert (await viewer.console.submit(path, f"{path}/identities/{first}/unlink", {})).status_code == 403
    r = await support.console.submit(path, f"{path}/identities/{first}/unlink", {})
    assert r.status_code == 303 and r.headers["location"] == f"{path}?done=identity-unlinked"
    assert "No linked identity." in page_of((await support.console.get(path)).text, "identities")
    unlinked = await audit_rows(core, "identity.unlinked")
    assert [(r.client_id, r.account_id) for r in unlinked] == [(f"staff:{support.email}", shopper.account_id)]
    assert await federation_persistence(core.store).list_identities(100, shopper.account_id) == []

    # an account made by a provider (no password): its only identity stays
    async with core.store.engine.begin() as conn:
        await conn.execute(t.accounts.update().where(t.accounts.c.id == shopper.account_id).values(password_hash=None))
    only = await link(core, idp, shopper.account_id, "sub-456", None)
    r = await support.console.submit(path, f"{path}/identities/{only}/unlink", {})
    assert r.status_code == 409 and "last way to sign in" in r.text
    assert "sub-456" in page_of((await support.console.get(path)).text, "identities")
