"""Application secrets are checked without the password-hashing pool (issue 6b). The pool (Argon2,
a few hashes at a time per process) is what shopper logins wait for; app authentication used it for
every request, so a flood of bad secrets, which needs no credential at all, made shopper logins
answer 503. New secrets are stored as a keyed hash (HMAC-SHA256) checked in constant time on the
event loop; unknown client ids cost the same work; a secret hashed with Argon2 by an earlier
version still works, and is stored in the new form once it has been presented."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prometheus_client import REGISTRY

from tests.api.support import APP_TICKETS, LOGIN, OAUTH, ok, register
from tests.conftest import STOREFRONT, TENANT, app_token
from ticketbooth.applications import admin
from ticketbooth.config import Settings
from ticketbooth.core import Core
from ticketbooth.infra.hashing import PasswordHashing

pytestmark = pytest.mark.usefixtures("seeded")


@pytest.fixture
def settings(database_url: str) -> Settings:
    # the rate limits are another defence (test_app_auth_limits.py): off here, to show this one alone
    return Settings(database_url=database_url, public_host="shop.example.test",
                    app_auth_per_address=None, app_auth_per_client=None)


def pool_verifies() -> float:
    """Verifies run by the hashing pool so far (its own histogram)."""
    return REGISTRY.get_sample_value("ticketbooth_password_hash_duration_seconds_count", {"operation": "verify"}) or 0.0


async def oauth(client: httpx.AsyncClient, client_id: str, secret: str) -> httpx.Response:
    return await client.post(OAUTH, json={"client_id": client_id, "client_secret": secret,
                                          "grant_type": "client_credentials"})


async def test_app_authentication_never_uses_the_hashing_pool(client: httpx.AsyncClient, core: Core) -> None:
    stored = await core.store.get_application(STOREFRONT[0])
    assert stored is not None and stored.secret_hash.startswith("hmac-sha256$")
    assert STOREFRONT[1] not in stored.secret_hash
    before = pool_verifies()
    for i in range(20):
        assert (await oauth(client, STOREFRONT[0], f"a wrong secret {i:04}")).status_code == 401
        assert (await oauth(client, f"unknown-{i}.app", f"a wrong secret {i:04}")).status_code == 401
        assert (await client.post(APP_TICKETS, json={"applicationId": STOREFRONT[0],
                                                     "sharedSecret": f"wrong {i:016}"})).status_code == 401
    ok(await oauth(client, *STOREFRONT))
    assert pool_verifies() == before


async def test_a_bad_secret_flood_does_not_make_shopper_logins_503(client: httpx.AsyncClient, core: Core,
                                                                     app_headers: dict[str, str]) -> None:
    await register(client, app_headers, "patient@example.com")
    # one hashing slot and no queue: any app secret hashed in the pool makes a login meeting it 503
    core.hashing.close()
    core.hashing = PasswordHashing(1, 0)
    stop = asyncio.Event()
    answered: list[int] = []

    async def flood(n: int) -> None:
        i = 0
        while not stop.is_set():
            answered.append((await oauth(client, f"unknown-{n}-{i % 3}.app" if i % 2 else STOREFRONT[0],
                                         f"not the secret {n}-{i}")).status_code)
            i += 1

    flooders = [asyncio.create_task(flood(n)) for n in range(16)]
    try:
        logins = []
        for _ in range(10):
            await asyncio.sleep(0)
            r = await client.post(LOGIN, headers=app_headers, json={"username": "patient@example.com",
                                                                     "password": "a perfectly fine passphrase"})
            logins.append(r.status_code)
    finally:
        stop.set()
        await asyncio.gather(*flooders)
    assert logins == [200] * 10
    assert len(answered) >= 16 and set(answered) == {401}  # the flood went on all along, refused as it should


async def test_an_argon2_secret_of_an_earlier_version_still_works_and_is_rehashed(
        client: httpx.AsyncClient, core: Core) -> None:
    secret = "legacy-secret-0123456789abcdef"
    await core.store.save_application("legacy.app", TENANT, "Legacy", await core.hashing.hash(secret), [], True,
                                      core.clock.now())
    assert (await oauth(client, "legacy.app", "not the legacy secret")).status_code == 401
    stored = await core.store.get_application("legacy.app")
    assert stored is not None and stored.secret_hash.startswith("$argon2id$")  # a failure changes nothing
    ok(await oauth(client, "legacy.app", secret))
    stored = await core.store.get_application("legacy.app")
    assert stored is not None and stored.secret_hash.startswith("hmac-sha256$")
    before = pool_verifies()
    ok(await oauth(client, "legacy.app", secret))
    assert (await oauth(client, "legacy.app", "not the legacy secret")).status_code == 401
    assert pool_verifies() == before


async def test_saving_an_application_again_keeps_or_replaces_its_secret(client: httpx.AsyncClient, core: Core) -> None:
    before = await core.store.get_application(STOREFRONT[0])
    await admin.save_application(core, TENANT, *STOREFRONT, ["customer:admin"])  # same secret: same hash
    after = await core.store.get_application(STOREFRONT[0])
    assert before is not None and after is not None and after.secret_hash == before.secret_hash
    await admin.save_application(core, TENANT, STOREFRONT[0], "a brand new secret 0123456789", [])
    assert (await oauth(client, *STOREFRONT)).status_code == 401
    assert await app_token(client, (STOREFRONT[0], "a brand new secret 0123456789"))
