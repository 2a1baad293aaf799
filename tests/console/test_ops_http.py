"""The operator pages over HTTP (no browser), through the real forms with their CSRF tokens, on SQLite and
PostgreSQL: applications, signing keys, tenant and site settings, the overview, staff; each change audited
with the staff member's identity; re-authentication for the sensitive ones; a viewer or support refused
every admin action even when the form is forged."""

from __future__ import annotations

import html
import re
from urllib.parse import quote

import httpx
import pytest

from tests.api.support import LOGIN
from tests.conftest import OTHER, OTHER_SITE, SITE, STOREFRONT, TENANT, app_token, headers
from tests.console.conftest import StaffFactory
from tests.console.ops_support import app_secret_works, audit_rows, reauthenticate, shown_secret, stale
from tests.console.support import fresh_client
from ticketbooth.audit import service as audit
from ticketbooth.core import Core
from ticketbooth.infra.clock import ManualClock

APPS = "/console/applications"
STOREFRONT_PAGE = f"/console/application?client_id={STOREFRONT[0]}"


# -- every page --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["viewer", "support", "admin"])
async def test_every_page_answers_each_role(console_staff: StaffFactory, role: str) -> None:
    member = await console_staff(role)
    for path in ("/console/overview", APPS, STOREFRONT_PAGE, "/console/keys", "/console/settings",
                 f"/console/settings/sites/{SITE}", "/console/webhooks"):
        r = await member.console.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        assert "<h1>" in r.text
    home = (await member.console.get("/console")).text
    for label in ("Overview", "Applications", "Signing keys", "Settings", "Webhooks"):
        assert f">{label}</a>" in home
    staff = await member.console.get("/console/staff")
    assert staff.status_code == (200 if role == "admin" else 403)
    assert (">Staff</a>" in home) == (role == "admin")
    # the forms that change something are shown to the admin only
    apps = (await member.console.get(APPS)).text
    assert ("Create application" in apps) == (role == "admin")
    assert ("Rotate secret" in (await member.console.get(STOREFRONT_PAGE)).text) == (role == "admin")
    assert ("Save settings" in (await member.console.get("/console/settings")).text) == (role == "admin")


async def test_lists_are_paged_on_the_server(console_staff: StaffFactory, core: Core) -> None:
    from ticketbooth.applications import admin as setup

    for i in range(30):
        await setup.save_application(core, TENANT, f"app-{i:02d}", "a-secret-of-sixteen-chars", [])
    member = await console_staff("viewer")
    first = (await member.console.get(APPS)).text
    assert "1 to 25 of 32" in first and 'rel="next"' in first and 'rel="prev"' not in first
    second = (await member.console.get(f"{APPS}?start=25")).text
    assert "26 to 32 of 32" in second and 'rel="prev"' in second and 'rel="next"' not in second
    assert "storefront.app" in second and "storefront.app" not in first
    assert "other.app" not in first + second  # another tenant's
    assert (await member.console.get(f"{APPS}?start=-5")).status_code == 200


# -- applications ------------------------------------------------------------------------------------------

async def test_create_an_application_its_secret_shown_once(console_staff: StaffFactory, client: httpx.AsyncClient,
                                                           core: Core) -> None:
    admin = await console_staff("admin")
    r = await admin.console.submit(APPS, APPS, {"client_id": "new.app", "name": "New shop",
                                                "behavior:customer:admin": "on"})
    assert r.status_code == 200, r.text[:500]
    assert r.headers["cache-control"] == "no-store"
    secret = shown_secret(r.text)
    assert len(secret) >= 40 and await app_secret_works(client, "new.app", secret)
    stored = await core.store.get_application("new.app")
    assert stored is not None and stored.tenant_id == TENANT and stored.behaviors == {"customer:admin"}
    assert secret not in stored.secret_hash
    # shown once: not on the list, not on the application's page
    for path in (APPS, "/console/application?client_id=new.app"):
        assert secret not in (await admin.console.get(path)).text
    (row,) = await audit_rows(core, audit.Event.APPLICATION_CREATED)
    assert row.actor == f"staff:{admin.email}" and row.tenant_id == TENANT
    assert row.detail["clientId"] == "new.app" and secret not in str(row.detail)


@pytest.mark.parametrize(("fields", "status", "message"), [
    ({"client_id": "has space"}, 400, "without spaces"),
    ({"client_id": ""}, 400, "without spaces"),
    ({"client_id": "x" * 201}, 400, "without spaces"),
    ({"client_id": "ok.app", "behavior:root": "on"}, 400, "Unknown behavior"),
    ({"client_id": STOREFRONT[0]}, 409, "is taken"),
    ({"client_id": OTHER[0]}, 409, "is taken"),  # another tenant's: taken all the same, nothing more said
])
async def test_create_field_errors_change_nothing(console_staff: StaffFactory, core: Core, fields: dict[str, str],
                                                  status: int, message: str) -> None:
    admin = await console_staff("admin")
    before = await core.store.page_applications(TENANT, 0, 100)
    r = await admin.console.submit(APPS, APPS, fields)
    assert r.status_code == status, r.text[:300]
    assert message in html.unescape(r.text) and 'class="field-error"' in r.text
    assert 'class="secret"' not in r.text
    assert await core.store.page_applications(TENANT, 0, 100) == before
    assert await audit_rows(core, audit.Event.APPLICATION_CREATED) == []


async def test_disable_and_enable_an_application(console_staff: StaffFactory, client: httpx.AsyncClient,
                                                 core: Core) -> None:
    admin = await console_staff("admin")
    assert await app_secret_works(client, *STOREFRONT)
    r = await admin.console.submit(STOREFRONT_PAGE, "/console/application/enabled",
                                   {"client_id": STOREFRONT[0], "enabled": "false"})
    assert r.status_code == 303 and r.headers["location"] == STOREFRONT_PAGE
    assert not await app_secret_works(client, *STOREFRONT)
    assert "Enable application" in (await admin.console.get(STOREFRONT_PAGE)).text
    await admin.console.submit(STOREFRONT_PAGE, "/console/application/enabled",
                               {"client_id": STOREFRONT[0], "enabled": "true"})
    assert await app_secret_works(client, *STOREFRONT)
    rows = await audit_rows(core, audit.Event.APPLICATION_CHANGED)
    assert [r.detail["enabled"] for r in rows] == [False, True]
    assert {r.actor for r in rows} == {f"staff:{admin.email}"}
    r = await admin.console.submit(STOREFRONT_PAGE, "/console/application/enabled",
                                   {"client_id": STOREFRONT[0], "enabled": "maybe"})
    assert r.status_code == 400 and await app_secret_works(client, *STOREFRONT)


async def test_edit_behaviors(console_staff: StaffFactory, core: Core) -> None:
    admin = await console_staff("admin")
    r = await admin.console.submit(STOREFRONT_PAGE, "/console/application/behaviors", {
        "client_id": STOREFRONT[0], "behavior:customer:admin": "on", "behavior:customer-auth:impersonate": "on",
        "storefront_server": "on"})
    assert r.status_code == 303
    app = await core.store.get_application(STOREFRONT[0])
    assert app is not None and app.behaviors == {"customer:admin", "customer-auth:impersonate"}
    assert app.storefront_server
    r = await admin.console.submit(STOREFRONT_PAGE, "/console/application/behaviors", {
        "client_id": STOREFRONT[0], "behavior:everything": "on"})
    assert r.status_code == 400 and "Unknown behavior" in html.unescape(r.text)
    assert await core.store.get_application(STOREFRONT[0]) == app
    await admin.console.submit(STOREFRONT_PAGE, "/console/application/behaviors", {"client_id": STOREFRONT[0]})
    app = await core.store.get_application(STOREFRONT[0])
    assert app is not None and app.behaviors == frozenset() and not app.storefront_server


async def test_rotating_a_secret_demands_reauthentication(console_staff: StaffFactory, client: httpx.AsyncClient,
                                                          core: Core, clock: ManualClock) -> None:
    admin = await console_staff("admin")
    held = await client.post("/api/platform/applications/authtickets/oauth", json={
        "client_id": STOREFRONT[0], "client_secret": STOREFRONT[1], "grant_type": "client_credentials"})
    refresh_token = held.json()["refresh_token"]
    stale(clock, core)
    token = await admin.console.csrf(STOREFRONT_PAGE)
    r = await admin.console.post("/console/application/rotate-secret", {"client_id": STOREFRONT[0], "csrf": token},
                                 headers={"referer": f"http://testserver{STOREFRONT_PAGE}"})  # as a browser
    assert r.status_code == 303
    assert r.headers["location"] == f"/console/reauth?next={quote(STOREFRONT_PAGE, safe='/')}"
    assert await app_secret_works(client, *STOREFRONT)  # nothing rotated yet
    assert await audit_rows(core, audit.Event.APPLICATION_SECRET_ROTATED) == []

    back = await reauthenticate(admin, clock, STOREFRONT_PAGE)
    assert back.headers["location"] == STOREFRONT_PAGE
    r = await admin.console.submit(STOREFRONT_PAGE, "/console/application/rotate-secret",
                                   {"client_id": STOREFRONT[0]})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    secret = shown_secret(r.text)
    assert not await app_secret_works(client, *STOREFRONT)
    assert await app_secret_works(client, STOREFRONT[0], secret)
    # the application's refresh tokens went with the old secret
    renewed = await client.post("/api/platform/applications/authtickets/oauth",
                                json={"grant_type": "refresh_token", "refresh_token": refresh_token})
    assert renewed.status_code == 401, renewed.text
    (row,) = await audit_rows(core, audit.Event.APPLICATION_SECRET_ROTATED)
    assert row.actor == f"staff:{admin.email}" and row.detail["refreshTokensRevoked"] >= 1
    assert secret not in str(row.detail)


async def test_another_tenants_application_is_not_found(console_staff: StaffFactory, client: httpx.AsyncClient,
                                                        core: Core) -> None:
    admin = await console_staff("admin")
    path = f"/console/application?client_id={OTHER[0]}"
    assert (await admin.console.get(path)).status_code == 404
    assert (await admin.console.get("/console/application")).status_code == 404
    for action, fields in (("enabled", {"enabled": "false"}), ("behaviors", {"behavior:customer:admin": "on"}),
                           ("rotate-secret", {})):
        r = await admin.console.submit(APPS, f"/console/application/{action}", {"client_id": OTHER[0], **fields})
        assert r.status_code == 404, (action, r.status_code)
    other = await core.store.get_application(OTHER[0])
    assert other is not None and other.enabled and not other.behaviors
    assert await app_secret_works(client, *OTHER)


# -- signing keys ------------------------------------------------------------------------------------------

async def test_keys_listed_and_rotated_after_reauthentication(console_staff: StaffFactory, client: httpx.AsyncClient,
                                                              core: Core, clock: ManualClock) -> None:
    admin = await console_staff("admin")
    page = (await admin.console.get("/console/keys")).text
    (old_kid,) = [k.kid for k in await core.store.published_keys(clock.now())]
    assert old_kid in page and "signing" in page and "private" not in page.lower()
    stale(clock, core)
    r = await admin.console.submit("/console/keys", "/console/keys/rotate", {})
    assert r.status_code == 303 and r.headers["location"].startswith("/console/reauth?next=/console/keys")
    assert [k.kid for k in await core.store.published_keys(clock.now())] == [old_kid]
    await reauthenticate(admin, clock, "/console/keys")
    r = await admin.console.submit("/console/keys", "/console/keys/rotate", {})
    assert r.status_code == 303
    keys = await core.store.published_keys(clock.now())
    assert len(keys) == 2 and keys[1].kid == old_kid and keys[1].retired_at is not None
    new_kid = keys[0].kid
    page = (await admin.console.get(r.headers["location"])).text
    assert f"A new key <code>{new_kid}</code>" in page and "retired, still published" in page
    jwks = (await client.get("/.well-known/jwks.json")).json()
    assert {k["kid"] for k in jwks["keys"]} == {old_kid, new_kid}
    (row,) = await audit_rows(core, audit.Event.SIGNING_KEY_ROTATED)
    assert row.actor == f"staff:{admin.email}" and row.detail == {"kid": new_kid}
    # this process signs with the new key at once
    token = await app_token(client)
    assert new_kid in _jwt_header(token)


def _jwt_header(token: str) -> str:
    import base64

    head = token.split(".")[0]
    return base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)).decode()


# -- settings ----------------------------------------------------------------------------------------------

def _form_fields(page: str) -> dict[str, str]:
    """What a browser posts from the settings page unchanged: text inputs, selected options, checked boxes."""
    form = page[page.index('<form method="post" action="/console/settings'):]
    fields: dict[str, str] = {}
    for tag in re.findall(r"<input [^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        if not name:
            continue
        kind = re.search(r'type="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if kind and kind.group(1) == "checkbox" and " checked" not in tag:
            continue
        fields[html.unescape(name.group(1))] = html.unescape(value.group(1)) if value else ""
    for name, options in re.findall(r'<select id="[^"]+" name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', options)
        fields[html.unescape(name)] = html.unescape(chosen.group(1)) if chosen else ""
    fields.pop("csrf", None)
    return fields


async def test_settings_form_shows_defaults_and_saves_what_differs(console_staff: StaffFactory, core: Core) -> None:
    admin = await console_staff("admin")
    page = (await admin.console.get("/console/settings")).text
    assert "Nothing: every setting has its default." in page
    assert 'id="password.min_length"' in page and "default: 8" in page
    fields = _form_fields(page)
    assert fields["password.min_length"] == "8" and fields["password.rule"] == "default"
    r = await admin.console.submit("/console/settings", "/console/settings", {
        **fields, "password.min_length": "12", "lockout.lock_minutes": "0", "mail.from_name": "Shop & Co"})
    assert r.status_code == 200, r.text[:500]
    assert "Saved. Changed: lockout.lock_minutes, mail.from_name, password.min_length." in html.unescape(r.text)
    stored = await core.store.stored_settings("tenant", TENANT)
    assert stored == {"password": {"min_length": 12}, "lockout": {"lock_minutes": 0}, "mail": {"from_name": "Shop & Co"}}
    tenant = await core.store.get_tenant(TENANT)
    assert tenant is not None and tenant.settings.password.min_length == 12
    differing = r.text[r.text.index("What differs"):r.text.index("All settings")]
    assert "password.min_length" in differing and "lockout.lock_minutes" in differing
    assert "password.max_length" not in differing
    (row,) = await audit_rows(core, audit.Event.SETTINGS_CHANGED)
    assert row.actor == f"staff:{admin.email}"
    assert row.detail == {"scope": "tenant", "tenantId": TENANT,
                          "paths": ["lockout.lock_minutes", "mail.from_name", "password.min_length"]}
    # saved again unchanged: nothing changes, nothing audited; back to a default: taken out of the document
    again = _form_fields((await admin.console.get("/console/settings")).text)
    r = await admin.console.submit("/console/settings", "/console/settings", again)
    assert "Saved: nothing changed." in r.text and len(await audit_rows(core, audit.Event.SETTINGS_CHANGED)) == 1
    again = _form_fields(r.text)
    r = await admin.console.submit("/console/settings", "/console/settings", {**again, "password.min_length": "8"})
    assert await core.store.stored_settings("tenant", TENANT) == {
        "lockout": {"lock_minutes": 0}, "mail": {"from_name": "Shop & Co"}}


async def test_settings_field_errors_change_nothing(console_staff: StaffFactory, core: Core) -> None:
    admin = await console_staff("admin")
    fields = _form_fields((await admin.console.get("/console/settings")).text)
    r = await admin.console.submit("/console/settings", "/console/settings", {
        **fields, "password.min_length": "abc", "codes.otp_max_sends": "99", "mail.reset_url": "ftp://nope",
        "tokens.access_token_minutes": "20"})
    before = await core.store.stored_settings("tenant", TENANT)
    assert r.status_code == 400
    text = html.unescape(r.text)
    assert "The settings were not saved" in text
    assert 'id="error-password.min_length">Enter a whole number.' in text
    assert 'id="error-codes.otp_max_sends">Input should be less than or equal to 20.' in text
    assert "reset_url must be an http(s) URL" in text
    assert 'value="abc"' in r.text  # shown again as typed
    tenant = await core.store.get_tenant(TENANT)
    assert tenant is not None and tenant.settings.password.min_length == 8 and tenant.settings.codes.otp_max_sends == 5
    assert await core.store.stored_settings("tenant", TENANT) == before
    assert await audit_rows(core, audit.Event.SETTINGS_CHANGED) == []


async def test_settings_changed_meanwhile_are_not_overwritten(console_staff: StaffFactory, core: Core) -> None:
    from ticketbooth.applications import admin as setup

    admin = await console_staff("admin")
    page = await admin.console.get("/console/settings")
    fields = _form_fields(page.text)
    await setup.settings_of(core, "tenant", TENANT, ["mail.from_name=Meanwhile"])  # another operator, the CLI
    meanwhile = await core.store.stored_settings("tenant", TENANT)
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    r = await admin.console.post("/console/settings", {**fields, "password.min_length": "12", "csrf": token.group(1)})
    assert r.status_code == 409 and "changed by someone else" in r.text
    assert await core.store.stored_settings("tenant", TENANT) == meanwhile
    tenant = await core.store.get_tenant(TENANT)
    assert tenant is not None and tenant.settings.mail.from_name == "Meanwhile"
    assert tenant.settings.password.min_length == 8


async def test_site_settings_and_another_tenants_site(console_staff: StaffFactory, core: Core) -> None:
    admin = await console_staff("admin")
    page_path = f"/console/settings/sites/{SITE}"
    page = (await admin.console.get(page_path)).text
    assert 'name="two_factor:always"' in page and "otp_login" in page
    fields = _form_fields(page)
    r = await admin.console.submit(page_path, page_path, {**fields, "two_factor:new-device": "on"})
    assert r.status_code == 200 and "Changed: two_factor." in r.text
    assert await core.store.stored_settings("site", SITE) == {"two_factor": ["new-device"]}
    site = await core.store.get_site(SITE)
    assert site is not None and site.settings.two_factor == ["new-device"]
    (row,) = await audit_rows(core, audit.Event.SETTINGS_CHANGED)
    assert row.detail == {"scope": "site", "siteId": SITE, "paths": ["two_factor"]}
    other = f"/console/settings/sites/{OTHER_SITE}"
    assert (await admin.console.get(other)).status_code == 404
    before = await core.store.stored_settings("site", OTHER_SITE)
    r = await admin.console.submit(page_path, other, {"otp_login": "", "version": ""})
    assert r.status_code == 404 and await core.store.stored_settings("site", OTHER_SITE) == before
    assert (await admin.console.get("/console/settings/sites/abc")).status_code == 404


# -- roles: every admin action refused to viewer and support, even forged -------------------------------------

ADMIN_ACTIONS: list[tuple[str, dict[str, str]]] = [
    (APPS, {"client_id": "forged.app"}),
    ("/console/application/enabled", {"client_id": STOREFRONT[0], "enabled": "false"}),
    ("/console/application/behaviors", {"client_id": STOREFRONT[0], "behavior:customer:admin": "on"}),
    ("/console/application/rotate-secret", {"client_id": STOREFRONT[0]}),
    ("/console/keys/rotate", {}),
    ("/console/settings", {"password.min_length": "20"}),
    ("/console/settings/sites/200", {"two_factor:always": "on"}),
    ("/console/webhooks", {"client_id": STOREFRONT[0], "endpoint": "https://hooks.example.com/x",
                           "topic:customeraccount.created": "on"}),
    ("/console/webhooks/1/active", {"active": "false"}),
    ("/console/webhooks/1/deliveries/1/redeliver", {}),
    ("/console/staff", {"email": "forged@staff.example.test", "role": "admin"}),
    ("/console/staff/1/enabled", {"enabled": "false"}),
    ("/console/staff/1/revoke-sessions", {}),
]


def test_the_list_of_admin_actions_is_every_post_of_the_operator_pages() -> None:
    from ticketbooth.console import ops

    posts = {route.path for route in ops.router.routes if "POST" in getattr(route, "methods", ())}
    listed = {re.sub(r"/\d+", "/{}", path) for path, _ in ADMIN_ACTIONS}
    templated = {re.sub(r"\{[a-z_]+\}", "{}", path) for path in posts}
    assert templated == listed


@pytest.mark.parametrize("role", ["viewer", "support"])
async def test_viewer_and_support_are_refused_every_admin_action(console_staff: StaffFactory, client: httpx.AsyncClient,
                                                                  core: Core, clock: ManualClock, role: str) -> None:
    admin = await console_staff("admin")
    member = await console_staff(role)
    kids = [k.kid for k in await core.store.published_keys(clock.now())]
    apps = await core.store.page_applications(TENANT, 0, 100)
    settings = (await core.store.stored_settings("tenant", TENANT), await core.store.stored_settings("site", SITE))
    token = re.search(r'name="csrf" value="([^"]+)"', (await member.console.get(APPS)).text)
    assert token
    for action, fields in ADMIN_ACTIONS:
        r = await member.console.post(action, {**fields, "csrf": html.unescape(token.group(1))})
        assert r.status_code == 403, (action, r.status_code, r.text[:300])
        assert "Nothing was changed" in r.text
    assert [k.kid for k in await core.store.published_keys(clock.now())] == kids
    assert await core.store.page_applications(TENANT, 0, 100) == apps
    assert (await core.store.stored_settings("tenant", TENANT), await core.store.stored_settings("site", SITE)) \
        == settings
    assert await app_secret_works(client, *STOREFRONT)
    assert (await admin.console.get("/console")).status_code == 200  # staff 1 (the admin) still signed in
    for event in (audit.Event.APPLICATION_CREATED, audit.Event.APPLICATION_CHANGED, audit.Event.SIGNING_KEY_ROTATED,
                  audit.Event.SETTINGS_CHANGED, audit.Event.STAFF_CREATED):
        assert [r for r in await audit_rows(core, event) if r.actor == f"staff:{member.email}"] == []


async def test_a_post_without_the_csrf_token_is_refused(console_staff: StaffFactory, client: httpx.AsyncClient) -> None:
    admin = await console_staff("admin")
    r = await admin.console.post("/console/application/enabled", {"client_id": STOREFRONT[0], "enabled": "false"})
    assert r.status_code == 403
    r = await admin.console.post("/console/application/enabled", {"client_id": STOREFRONT[0], "enabled": "false",
                                                                  "csrf": "forged"})
    assert r.status_code == 403
    assert await app_secret_works(client, *STOREFRONT)


async def test_signed_out_visitors_are_sent_to_sign_in(client: httpx.AsyncClient, seeded: object) -> None:
    anonymous = fresh_client(client)
    for path in ("/console/overview", APPS, "/console/keys", "/console/settings", "/console/webhooks", "/console/staff"):
        r = await anonymous.get(path)
        assert r.status_code == 303 and r.headers["location"] == "/console/sign-in", path


# -- overview ----------------------------------------------------------------------------------------------

def _total(page: str, key: str) -> int:
    found = re.search(rf'<td data-total="{re.escape(key)}">(\d+)</td>', page)
    assert found, key
    return int(found.group(1))


async def test_overview_counts_from_the_metrics(console_staff: StaffFactory, client: httpx.AsyncClient,
                                                core: Core) -> None:
    viewer = await console_staff("viewer")
    before = (await viewer.console.get("/console/overview")).text
    hdrs = headers(await app_token(client))
    for _ in range(3):
        r = await client.post(LOGIN, headers=hdrs, json={"username": "nobody@example.test", "password": "wrong one!"})
        assert r.status_code == 401
    await audit.record(core, audit.Event.ACCOUNT_LOCKED, tenant_id=TENANT, detail={})
    await audit.record(core, audit.Event.ACCOUNT_LOCKED, tenant_id=300, detail={})  # another tenant's
    after = (await viewer.console.get("/console/overview")).text
    assert _total(after, "login.failed") - _total(before, "login.failed") == 3
    assert "Mail waiting in the outbox</dt><dd>0</dd>" in after
    # deliveries waiting and events not yet dispatched (the flows above published some)
    assert f"Webhook deliveries waiting</dt><dd>{await core.store.webhook_backlog()}</dd>" in after
    assert "Accounts locked</dt><dd>1</dd>" in after
    assert after.count("<tr>") >= 15  # a row per minute
