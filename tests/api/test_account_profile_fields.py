"""A new account's profile and an update's are read through one table of Kibo's profile names
(accounts/routes/accounts.py): every profile field a client sends when adding an account is kept, and true-or-false
fields sent as null are false."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.support import CUSTOMER, ok
from tests.conftest import ADMIN, app_token, headers

pytestmark = pytest.mark.usefixtures("seeded")

ACCOUNTS = f"{CUSTOMER}/accounts"
PROFILE: dict[str, Any] = {
    "firstName": "Nina", "lastName": "Neu", "companyOrOrganization": "Neu GmbH", "taxExempt": True,
    "taxId": "DE123456789", "acceptsMarketing": True, "externalId": "ext-7", "localeCode": "de-DE",
    "accountType": "B2B",
}


async def test_every_profile_field_of_a_new_account_is_kept(client: httpx.AsyncClient) -> None:
    admin = headers(await app_token(client, ADMIN))
    added = ok(await client.post(ACCOUNTS, headers=admin, json={"emailAddress": "profile@example.com", **PROFILE}))
    assert {name: added[name] for name in PROFILE} == PROFILE
    again = ok(await client.get(f"{ACCOUNTS}/{added['id']}", headers=admin))
    assert {name: again[name] for name in PROFILE} == PROFILE


async def test_null_true_or_false_fields_of_a_new_account_are_false(client: httpx.AsyncClient) -> None:
    admin = headers(await app_token(client, ADMIN))
    added = ok(await client.post(ACCOUNTS, headers=admin, json={
        "emailAddress": "nulls@example.com", "taxExempt": None, "acceptsMarketing": None, "taxId": None}))
    assert (added["taxExempt"], added["acceptsMarketing"], added["taxId"]) == (False, False, None)
