"""The console's identity-providers page over HTTP (both databases), against a real OpenID provider
(tests/federation_e2e/support.py `OidcProvider`: the npm oidc-provider) whose discovery document and keys
the federation flow reads when a provider is saved: list for every role, add, change, switch off, delete
for admins only, the client secret write-only (never on a page, never audited) and a recent
re-authentication asked before setting it or deleting a provider."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.console.conftest import StaffFactory
from tests.console.ops_support import audit_rows, reauthenticate, stale
from tests.federation_e2e.support import Client, OidcProvider
from ticketbooth.config import Settings
from ticketbooth.core import Core, federation_persistence
from ticketbooth.infra.clock import ManualClock

SECRET = "console-client-secret-0123456789abcdef"
PAGE = "/console/identity-providers"


@pytest.fixture(scope="module")
def oidc() -> Iterator[OidcProvider]:
    client = Client("console-client", SECRET, "https://shop.example.test/api/commerce/customer/authtickets/oidc/callback")
    provider = OidcProvider([client])
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture
def settings(database_url: str) -> Settings:
    # the operator's outbound rules let the flow call the provider on 127.0.0.1 over plain http
    return Settings(database_url=database_url, public_host="shop.example.test", refresh_grace_seconds=10,
                    oidc_http_hosts="127.0.0.1", oidc_allowed_networks="127.0.0.1/32")


def fields(issuer: str, **more: str) -> dict[str, str]:
    return {"alias": "corp", "display_name": "Corp ID", "issuer": issuer, "client_id": "console-client",
            "scopes": "openid email", "response_mode": "query", "is_enabled": "on", "create_accounts": "on", **more}


async def test_an_admin_manages_the_providers_and_the_secret_stays_unseen(
        core: Core, clock: ManualClock, console_staff: StaffFactory, oidc: OidcProvider) -> None:
    admin, support, viewer = await console_staff("admin"), await console_staff("support"), await console_staff("viewer")
    page = await viewer.console.get(PAGE)
    assert page.status_code == 200 and "No identity provider yet." in page.text
    assert "Add an identity provider" not in page.text
    assert "/api/commerce/customer/authtickets/oidc/callback" in page.text  # the redirect URI to register
    for who in (viewer, support):
        r = await who.console.submit(PAGE, PAGE, fields(oidc.issuer))
        assert r.status_code == 403

    # setting a secret needs password and code again
    stale(clock, core)
    r = await admin.console.submit(PAGE, PAGE, fields(oidc.issuer, client_secret=SECRET))
    assert r.status_code == 303 and r.headers["location"].startswith("/console/reauth?next=")
    assert await federation_persistence(core.store).list_providers(100) == []
    await reauthenticate(admin, clock, PAGE)

    # an issuer that does not answer: refused on its field, the secret not shown back
    r = await admin.console.submit(PAGE, PAGE, fields("http://127.0.0.1:9/nothing", client_secret=SECRET))
    assert r.status_code == 400 and 'id="error-issuer"' in r.text and SECRET not in r.text
    r = await admin.console.submit(PAGE, PAGE, fields(oidc.issuer, client_secret=SECRET))
    assert r.status_code == 303, r.text[:1000]
    path = r.headers["location"].split("?")[0]
    shown = await admin.console.get(r.headers["location"])
    assert "The identity provider is added." in shown.text and "set (never shown)" in shown.text
    assert f"{oidc.issuer}/" in shown.text or oidc.issuer in shown.text  # discovery's endpoints shown
    assert SECRET not in shown.text
    [made] = await federation_persistence(core.store).list_providers(100)
    assert made.has_secret and made.alias == "corp" and made.scopes == ("openid", "email")
    r = await admin.console.submit(PAGE, PAGE, fields(oidc.issuer))
    assert r.status_code == 409 and 'id="error-alias"' in r.text  # the alias is taken

    # a change without a secret needs no re-authentication, and keeps the secret
    stale(clock, core)
    r = await admin.console.submit(path, path, fields(oidc.issuer, display_name="Corp sign-in", trust_email="on"))
    assert r.status_code == 303 and r.headers["location"].endswith("?done=saved")
    [saved] = await federation_persistence(core.store).list_providers(100)
    assert saved.display_name == "Corp sign-in" and saved.trust_email and saved.has_secret
    # switched off, then on (support may not)
    assert (await support.console.submit(path, f"{path}/enabled", {"enabled": "false"})).status_code == 403
    r = await admin.console.submit(path, f"{path}/enabled", {"enabled": "false"})
    assert r.status_code == 303 and "off: sign-ins with it are refused" in (await admin.console.get(path)).text
    assert not (await federation_persistence(core.store).list_providers(100))[0].is_enabled
    for row in await audit_rows(core, "identityprovider.created") + await audit_rows(core, "identityprovider.updated"):
        assert row.actor == f"staff:{admin.email}" and SECRET not in json.dumps(row.detail)

    # deleting asks for password and code again
    r = await admin.console.submit(path, f"{path}/delete", {})
    assert r.status_code == 303 and r.headers["location"].startswith("/console/reauth?next=")
    await reauthenticate(admin, clock, path)
    assert (await viewer.console.submit(PAGE, f"{path}/delete", {})).status_code == 403
    r = await admin.console.submit(path, f"{path}/delete", {})
    assert r.status_code == 303 and r.headers["location"] == f"{PAGE}?done=deleted"
    assert await federation_persistence(core.store).list_providers(100) == []
    assert [r.actor for r in await audit_rows(core, "identityprovider.deleted")] == [f"staff:{admin.email}"]
    assert (await admin.console.get(path)).status_code == 404
    assert (await admin.console.get(f"{PAGE}/%C2%B2")).status_code == 404


async def test_the_provider_form_shows_every_field_labelled(console_staff: StaffFactory,
                                                             client: httpx.AsyncClient) -> None:
    admin = await console_staff("admin")
    page = (await admin.console.get(PAGE)).text
    for name in ("alias", "display_name", "issuer", "client_id", "client_secret", "scopes", "response_mode",
                 "is_enabled", "trust_email", "create_accounts"):
        assert re.search(rf'<label for="{name}"', page), name
    assert 'type="password" id="client_secret"' in page and 'autocomplete="off" value=""' in page


async def test_a_provider_that_is_down_can_still_be_switched_off(core: Core, console_staff: StaffFactory) -> None:
    admin = await console_staff("admin")
    down = OidcProvider([Client("down-client", SECRET, "https://shop.example.test/callback")])
    try:
        r = await admin.console.submit(PAGE, PAGE, fields(down.issuer, alias="down", client_id="down-client"))
        assert r.status_code == 303, r.text[:800]
        path = r.headers["location"].split("?")[0]
    finally:
        down.stop()
    r = await admin.console.submit(path, f"{path}/enabled", {"enabled": "false"})
    assert r.status_code == 303 and r.headers["location"].endswith("?done=disabled")
    [provider] = await federation_persistence(core.store).list_providers(100)
    assert not provider.is_enabled
    # saving the whole form reads the provider's discovery again: refused while it is down, nothing changed
    r = await admin.console.submit(path, path, fields(down.issuer, alias="down", client_id="down-client",
                                                      display_name="Renamed"))
    assert r.status_code == 400 and 'id="error-issuer"' in r.text
    [provider] = await federation_persistence(core.store).list_providers(100)
    assert provider.display_name == "Corp ID"
