"""B2B users and passkeys: adding one is not offered to a B2B user yet (the customer accounts API serves no
B2B user's login, and a user is never told their login's row id); the sign-in path handles a B2B user's
passkey as a one-time passcode's: a ticket for their first B2B account by priority. The passkey is stored
directly here (the store's own method), the ceremonies are real."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from tests.api.b2b_support import PURCHASER_ROLE, add_account, row_id, user_in
from tests.api.support import assert_error, ok
from tests.passkeys.authenticator import Authenticator, b64url
from tests.passkeys.support import ORIGIN, RP_ID, enable, passkeys_path, sign_in
from ticketbooth.core import Core
from ticketbooth.passkeys import ceremony
from ticketbooth.passkeys.rules import Passkey, RelyingParty, user_handle


async def test_a_b2b_users_passkey_signs_in_to_their_account(client: httpx.AsyncClient, core: Core,
                                                             app_headers: dict[str, str],
                                                             admin: dict[str, str]) -> None:
    await enable(core)
    company = await add_account(client, admin)
    user = await user_in(client, admin, app_headers, company["id"], "buyer@acme.example", (PURCHASER_ROLE,))
    # not offered to B2B users yet
    r = await client.post(passkeys_path(company["id"], "registrationoptions"), headers=user.headers, json={})
    assert "B2B users" in assert_error(r, 403, "FORBIDDEN")["message"]
    # a passkey of the user's login, made by a real ceremony and stored as registration would
    login_id = await row_id(core, "buyer@acme.example")
    rp = RelyingParty(RP_ID, "Shop", (ORIGIN,))
    options = ceremony.registration_options(rp, user_handle=user_handle(user.user_id), user_name=user.email,
                                            display_name=user.email)
    auth = Authenticator(ORIGIN)
    new = ceremony.verify_registration(rp, auth.create(options.options), options.challenge)
    account = await core.store.get_account(login_id, with_parts=False)
    assert account is not None
    await core.store.insert_passkey(Passkey(
        id=0, tenant_id=account.tenant_id, customer_set_id=account.customer_set_id, account_id=login_id,
        credential_id=new.credential_id, public_key=new.public_key, sign_count=0, name="Passkey", aaguid=new.aaguid,
        transports=(), backup_eligible=False, backed_up=False, rp_id=RP_ID, created_at=datetime.now(UTC),
        last_used_at=None))
    ticket = ok(await sign_in(client, app_headers, auth))
    assert ticket["userId"] == user.user_id and ticket["customerAccount"]["id"] == company["id"]
    assert b64url(auth.credentials[0].credential_id) == new.credential_id
    # removed from the B2B account, the user's passkey signs in nowhere
    removed = await client.put(f"/api/commerce/customer/b2baccounts/{company['id']}/user/{user.user_id}/remove",
                               headers=admin)
    assert removed.status_code == 200, removed.text
    assert_error(await sign_in(client, app_headers, auth), 401, "INVALID_CREDENTIALS")
