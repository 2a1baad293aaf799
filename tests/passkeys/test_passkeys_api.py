"""Shoppers' passkeys over REST, end to end with the software authenticator (tests/passkeys/authenticator.py),
on SQLite and PostgreSQL: registration, the account's passkeys, sign-in."""

from __future__ import annotations

import httpx

from tests.api.support import ok
from tests.passkeys.authenticator import Authenticator
from tests.passkeys.support import ORIGIN, add_passkey, enable, fresh_shopper, passkeys_path, sign_in
from ticketbooth.core import Core


async def test_register_then_sign_in(client: httpx.AsyncClient, core: Core, app_headers: dict[str, str]) -> None:
    await enable(core)
    ann = await fresh_shopper(client, app_headers, "ann@example.com")
    auth = Authenticator(ORIGIN)
    kept = ok(await add_passkey(client, ann, auth, name="Laptop"))
    assert kept["name"] == "Laptop" and kept["lastUsedOn"] is None
    listed = ok(await client.get(passkeys_path(ann.account_id), headers=ann.headers))
    assert [p["id"] for p in listed["items"]] == [kept["id"]]
    ticket = ok(await sign_in(client, app_headers, auth))
    assert ticket["userId"] == ann.user_id and ticket["customerAccount"]["id"] == ann.account_id
    # the ticket of a passkey sign-in acts as the shopper
    hdrs = {**app_headers, "x-vol-user-claims": ticket["accessToken"]}
    assert ok(await client.get(passkeys_path(ann.account_id), headers=hdrs))["totalCount"] == 1
