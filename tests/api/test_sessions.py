"""Sessions over HTTP: logout of one token family, ending all or one of an account's sessions, the
admins' session list, revocation by password change, reset, lock, disable and delete, and the audit
entry of a replayed refresh token. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.api.login_support import NEW_PASSWORD, admin_headers, as_shopper, change_path, done, lock_path
from tests.api.support import (
    CURRENT,
    CUSTOMER,
    LOGIN,
    anonymous,
    assert_error,
    kibo_date,
    login,
    ok,
    refresh,
    register,
)
from tests.conftest import ADMIN, OTHER, PASSWORD, SITE_OTHER_SET, STOREFRONT, TENANT, app_token, headers
from tests.smtp import SmtpServer
from ticketbooth.core import Core
from ticketbooth.domain.models import AuditEntry
from ticketbooth.infra.clock import ManualClock
from ticketbooth.infra.mail import SmtpTransport
from ticketbooth.infra.tokens import at_rest
from ticketbooth.mail.service import MailSender

pytestmark = pytest.mark.usefixtures("seeded")

LOGOUT = f"{CUSTOMER}/authtickets"
EMAIL = "sam.sessions@example.com"
SESSION_KEYS = {"id", "createdOn", "lastUsedOn", "expiresOn", "clientAddress", "userAgent", "applicationId",
                "siteId", "isImpersonation"}


def sessions_path(account_id: int, session_id: str | None = None) -> str:
    path = f"{CUSTOMER}/accounts/{account_id}/sessions"
    return f"{path}/{session_id}" if session_id else path


async def _registered(client: httpx.AsyncClient, hdrs: dict[str, str], email: str = EMAIL) -> tuple[int, dict[str, Any]]:
    t = await register(client, hdrs, email)
    return int(t["customerAccount"]["id"]), t


async def _refreshes(client: httpx.AsyncClient, hdrs: dict[str, str], ticket: dict[str, Any]) -> bool:
    r = await refresh(client, hdrs, ticket["refreshToken"])
    if r.status_code == 401:
        assert_error(r, 401, "INVALID_REFRESH_TOKEN")
        return False
    ok(r)
    return True


async def _acts(client: httpx.AsyncClient, hdrs: dict[str, str], ticket: dict[str, Any]) -> bool:
    """Whether the ticket's opaque access token still names its shopper."""
    r = await client.get(CURRENT, headers=as_shopper(hdrs, ticket))
    if r.status_code == 401:
        assert_error(r, 401, "INVALID_ACCESS_TOKEN")
        return False
    ok(r)
    return True


async def assert_ended(client: httpx.AsyncClient, hdrs: dict[str, str], ticket: dict[str, Any]) -> None:
    """Both the access token and the refresh token of the ticket are refused (access first: a refused
    refresh of a live family would not end it, but check in the order that cannot mislead)."""
    assert not await _acts(client, hdrs, ticket)
    assert not await _refreshes(client, hdrs, ticket)


async def _events(core: Core, account_id: int) -> list[AuditEntry]:
    entries, _ = await core.store.audit_entries(TENANT, account_id, 0, 100)
    return entries


async def _of(core: Core, account_id: int, event: str) -> list[AuditEntry]:
    return [e for e in await _events(core, account_id) if e.event == event]


# -- logout --------------------------------------------------------------------------------------

async def test_logout_ends_the_family_at_once_and_only_it(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core) -> None:
    account_id, mine = await _registered(client, app_headers)
    other = ok(await login(client, app_headers, EMAIL))
    r = await client.delete(LOGOUT, headers=app_headers, params={"refreshToken": mine["refreshToken"]})
    assert (r.status_code, r.content) == (204, b"")
    await assert_ended(client, app_headers, mine)
    assert await _acts(client, app_headers, other) and await _refreshes(client, app_headers, other)

    [entry] = await _of(core, account_id, "session.ended")
    assert entry.detail == {"sessionId": (await _family_of(core, mine)), "reason": "logout"}
    assert (entry.client_id, entry.tenant_id) == (STOREFRONT[0], TENANT)
    assert mine["refreshToken"] not in str(entry.detail) and at_rest(mine["refreshToken"]) not in str(entry.detail)


async def _family_of(core: Core, ticket: dict[str, Any]) -> str:
    found = await core.store.ticket_by_refresh(at_rest(ticket["refreshToken"]))
    assert found is not None
    return found[1].id


async def test_logout_takes_the_token_in_a_body_and_any_case(
        client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    await _registered(client, app_headers)
    by_body, by_lower_name, by_upper_token = [ok(await login(client, app_headers, EMAIL)) for _ in range(3)]
    r = await client.request("DELETE", LOGOUT, headers=app_headers, json={"REFRESHTOKEN": by_body["refreshToken"]})
    assert r.status_code == 204, r.text
    r = await client.delete(f"{LOGOUT}/", headers=app_headers, params={"refreshtoken": by_lower_name["refreshToken"]})
    assert r.status_code == 204, r.text
    r = await client.delete(LOGOUT, headers=app_headers, params={"refreshToken": by_upper_token["refreshToken"].upper()})
    assert r.status_code == 204, r.text
    for ticket in (by_body, by_lower_name, by_upper_token):
        await assert_ended(client, app_headers, ticket)


async def test_logout_does_not_tell_whether_the_token_was_good(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, clock: ManualClock) -> None:
    account_id, mine = await _registered(client, app_headers)
    answers = []
    for token in (mine["refreshToken"], mine["refreshToken"], "0" * 32, "not even hex", "x" * 256):
        r = await client.delete(LOGOUT, headers=app_headers, params={"refreshToken": token})
        answers.append((r.status_code, r.content))
    assert set(answers) == {(204, b"")}
    assert len(await _of(core, account_id, "session.ended")) == 1  # the second logout ended nothing

    # another tenant's application cannot end this tenant's sessions, and is told nothing either
    theirs = ok(await login(client, app_headers, EMAIL))
    other = headers(await app_token(client, OTHER), tenant=300, site=400)
    r = await client.delete(LOGOUT, headers=other, params={"refreshToken": theirs["refreshToken"]})
    assert (r.status_code, r.content) == (204, b"")
    # nor can a site of another customer set
    r = await client.delete(LOGOUT, headers={**app_headers, "x-vol-site": str(SITE_OTHER_SET)},
                            params={"refreshToken": theirs["refreshToken"]})
    assert (r.status_code, r.content) == (204, b"")
    assert await _acts(client, app_headers, theirs)


async def test_logout_with_a_spent_refresh_token_ends_its_successor_too(
        client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    await _registered(client, app_headers)
    first = ok(await login(client, app_headers, EMAIL))
    second = ok(await refresh(client, app_headers, first["refreshToken"]))
    r = await client.delete(LOGOUT, headers=app_headers, params={"refreshToken": first["refreshToken"]})
    assert r.status_code == 204
    await assert_ended(client, app_headers, second)


async def test_logout_of_an_anonymous_visit(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    guest = await anonymous(client, app_headers)
    assert (await client.delete(LOGOUT, headers=app_headers, params={"refreshToken": guest["refreshToken"]})).status_code == 204
    assert not await _refreshes(client, app_headers, guest)


async def test_logout_needs_the_application_and_a_token(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    _, mine = await _registered(client, app_headers)
    r = await client.delete(LOGOUT, params={"refreshToken": mine["refreshToken"]})
    assert_error(r, 401, "UNAUTHORIZED")
    for params in ({}, {"refreshToken": ""}, {"refreshToken": "  "}):
        assert_error(await client.delete(LOGOUT, headers=app_headers, params=params), 400,
                     "MISSING_OR_INVALID_PARAMETER", "refreshToken")
    assert_error(await client.delete(LOGOUT, headers=app_headers, params={"refreshToken": "a" * 257}), 400,
                 "MISSING_OR_INVALID_PARAMETER", "refreshToken")
    r = await client.request("DELETE", LOGOUT, headers=app_headers, content=b"[1, 2]")
    assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "body")
    assert await _acts(client, app_headers, mine)


# -- ending all of an account's sessions -----------------------------------------------------------

async def test_shopper_ends_all_own_sessions(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, clock: ManualClock) -> None:
    account_id, mine = await _registered(client, app_headers)
    other = ok(await login(client, app_headers, EMAIL))
    r = await client.delete(sessions_path(account_id), headers=as_shopper(app_headers, mine))
    assert (r.status_code, r.content) == (204, b"")
    for ticket in (mine, other):
        await assert_ended(client, app_headers, ticket)
    [entry] = await _of(core, account_id, "sessions.revoked")
    assert entry.detail == {"count": 2, "reason": "ended-by-owner"}
    assert entry.actor == mine["userId"]

    # a ticket JWT is checked without the database: it works until it expires (15 minutes), no longer
    jwt_only = {"Authorization": f"Bearer {mine['jwtAccessToken']}"}
    assert ok(await client.get(CURRENT, headers=jwt_only))["id"] == account_id
    clock.advance(timedelta(minutes=15, seconds=1))
    assert_error(await client.get(CURRENT, headers=jwt_only), 401)


async def test_an_admin_ends_anyones_sessions(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core) -> None:
    account_id, mine = await _registered(client, app_headers)
    _, bystander = await _registered(client, app_headers, "bystander@example.com")
    admin = await admin_headers(client)
    r = await client.delete(sessions_path(account_id), headers=admin)
    assert (r.status_code, r.content) == (204, b"")
    await assert_ended(client, app_headers, mine)
    assert await _acts(client, app_headers, bystander)
    [entry] = await _of(core, account_id, "sessions.revoked")
    assert (entry.detail, entry.actor, entry.client_id) == ({"count": 1, "reason": "ended-by-admin"}, ADMIN[0], ADMIN[0])
    # nothing left to end: still 204, and audited
    assert (await client.delete(sessions_path(account_id), headers=admin)).status_code == 204
    assert [(e.detail or {})["count"] for e in await _of(core, account_id, "sessions.revoked")] == [0, 1]  # newest first


async def test_who_may_end_an_accounts_sessions(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    account_id, mine = await _registered(client, app_headers)
    _, intruder = await _registered(client, app_headers, "intruder@example.com")
    guest = await anonymous(client, app_headers)
    for hdrs in (as_shopper(app_headers, intruder), as_shopper(app_headers, guest), app_headers):
        assert_error(await client.delete(sessions_path(account_id), headers=hdrs), 403, "FORBIDDEN")
        assert_error(await client.delete(sessions_path(account_id, "0" * 32), headers=hdrs), 403, "FORBIDDEN")
    assert_error(await client.delete(sessions_path(account_id)), 401, "UNAUTHORIZED")
    assert_error(await client.delete(sessions_path(account_id), headers=as_shopper(app_headers, {"accessToken": "0" * 64})),
                 401, "INVALID_ACCESS_TOKEN")
    admin = await admin_headers(client)
    assert_error(await client.delete(sessions_path(999999), headers=admin), 404, "ITEM_NOT_FOUND")
    # an account of another customer set is not found from this site
    outlet = {**app_headers, "x-vol-site": str(SITE_OTHER_SET)}
    outlet_id, _ = await _registered(client, outlet, "outlet@example.com")
    assert_error(await client.delete(sessions_path(outlet_id), headers=admin), 404, "ITEM_NOT_FOUND")
    assert_error(await client.delete(f"{CUSTOMER}/accounts/0/sessions", headers=admin), 400,
                 "MISSING_OR_INVALID_PARAMETER", "accountId")
    assert await _acts(client, app_headers, mine)


# -- one session ------------------------------------------------------------------------------------

async def test_ending_one_session_by_id(client: httpx.AsyncClient, app_headers: dict[str, str], core: Core) -> None:
    account_id, mine = await _registered(client, app_headers)
    other = ok(await login(client, app_headers, EMAIL))
    admin = await admin_headers(client)
    other_id = await _family_of(core, other)
    r = await client.delete(sessions_path(account_id, other_id.upper()), headers=admin)
    assert (r.status_code, r.content) == (204, b"")
    await assert_ended(client, app_headers, other)
    assert await _acts(client, app_headers, mine)
    assert_error(await client.delete(sessions_path(account_id, other_id), headers=admin), 404, "ITEM_NOT_FOUND")
    assert_error(await client.delete(sessions_path(account_id, "nope"), headers=admin), 404, "ITEM_NOT_FOUND")
    assert_error(await client.delete(sessions_path(account_id, "a" * 300), headers=admin), 404, "ITEM_NOT_FOUND")

    # a session of another account is not found under this one
    _, stranger = await _registered(client, app_headers, "stranger@example.com")
    assert_error(await client.delete(sessions_path(account_id, await _family_of(core, stranger)), headers=admin),
                 404, "ITEM_NOT_FOUND")
    assert await _acts(client, app_headers, stranger)

    # the owner ends their own
    mine_id = await _family_of(core, mine)
    assert (await client.delete(sessions_path(account_id, mine_id), headers=as_shopper(app_headers, mine))).status_code == 204
    await assert_ended(client, app_headers, mine)
    details = [(e.detail or {}).get("reason") for e in await _of(core, account_id, "session.ended")]
    assert sorted(details) == ["ended-by-admin", "ended-by-owner"]


# -- the session list -------------------------------------------------------------------------------

async def test_admin_lists_live_sessions(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, clock: ManualClock) -> None:
    account_id, first = await _registered(client, app_headers)
    start = clock.now()
    clock.advance(timedelta(minutes=5))
    second = ok(await client.post(LOGIN, headers={**app_headers, "User-Agent": "Phone/1.0"},
                                  json={"username": EMAIL, "password": PASSWORD}))
    clock.advance(timedelta(minutes=5))
    ok(await refresh(client, app_headers, first["refreshToken"]))
    third = ok(await login(client, app_headers, EMAIL))
    await client.delete(LOGOUT, headers=app_headers, params={"refreshToken": third["refreshToken"]})
    await anonymous(client, app_headers)  # not the account's

    admin = await admin_headers(client)
    page = ok(await client.get(sessions_path(account_id), headers=admin))
    assert (page["startIndex"], page["pageSize"], page["pageCount"], page["totalCount"]) == (0, 20, 1, 2)
    newest, oldest = page["items"]
    assert set(newest) == SESSION_KEYS == set(oldest)
    assert newest["id"] == await _family_of(core, second) and oldest["id"] == await _family_of(core, first)
    assert kibo_date(oldest["createdOn"]) == start
    assert kibo_date(oldest["lastUsedOn"]) == start + timedelta(minutes=10)  # refreshed then
    assert kibo_date(oldest["expiresOn"]) == start + timedelta(hours=24)  # not extended by the refresh
    assert kibo_date(newest["createdOn"]) == kibo_date(newest["lastUsedOn"]) == start + timedelta(minutes=5)
    assert newest["userAgent"] == "Phone/1.0"
    assert newest["clientAddress"] == "127.0.0.1"
    assert (newest["applicationId"], newest["siteId"], newest["isImpersonation"]) == (STOREFRONT[0], 200, False)
    for token in (first["refreshToken"], first["accessToken"], second["refreshToken"], second["accessToken"]):
        assert token not in str(page) and at_rest(token) not in str(page)

    # paging and responseFields
    one = ok(await client.get(sessions_path(account_id), headers=admin, params={"startIndex": "1", "pageSize": "1"}))
    assert (one["pageCount"], one["totalCount"], [s["id"] for s in one["items"]]) == (2, 2, [oldest["id"]])
    slim = ok(await client.get(sessions_path(account_id), headers=admin, params={"responseFields": "items(id)"}))
    assert slim == {"items": [{"id": newest["id"]}, {"id": oldest["id"]}]}

    # expired sessions are not live
    clock.advance(timedelta(hours=24))
    admin = await admin_headers(client)
    assert ok(await client.get(sessions_path(account_id), headers=admin))["totalCount"] == 0


async def test_only_admins_list_sessions(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    account_id, mine = await _registered(client, app_headers)
    for hdrs in (app_headers, as_shopper(app_headers, mine)):
        assert_error(await client.get(sessions_path(account_id), headers=hdrs), 403, "FORBIDDEN")
        assert_error(await client.get(sessions_path(account_id), headers=hdrs, params={"pageSize": "x"}), 403)
    assert_error(await client.get(sessions_path(account_id)), 401, "UNAUTHORIZED")
    admin = await admin_headers(client)
    assert_error(await client.get(sessions_path(999999), headers=admin), 404, "ITEM_NOT_FOUND")
    for name, value in (("pageSize", "0"), ("pageSize", "201"), ("pageSize", "ten"), ("startIndex", "-1")):
        assert_error(await client.get(sessions_path(account_id), headers=admin, params={name: value}), 400,
                     "MISSING_OR_INVALID_PARAMETER", name)


# -- automatic revocation ---------------------------------------------------------------------------

async def test_a_password_change_ends_the_other_sessions(
        client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    account_id, mine = await _registered(client, app_headers)
    other = ok(await login(client, app_headers, EMAIL))
    done(await client.post(change_path(account_id), headers=as_shopper(app_headers, mine),
                           json={"oldPassword": PASSWORD, "newPassword": NEW_PASSWORD}))
    await assert_ended(client, app_headers, other)
    assert await _acts(client, app_headers, mine)  # the session that changed it goes on


async def test_an_admin_password_change_ends_every_session(
        client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    account_id, mine = await _registered(client, app_headers)
    done(await client.post(change_path(account_id), headers=await admin_headers(client),
                           json={"newPassword": NEW_PASSWORD}))
    await assert_ended(client, app_headers, mine)


async def test_a_password_reset_ends_every_session(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, smtp_server: SmtpServer) -> None:
    _, mine = await _registered(client, app_headers)
    r = await client.post(f"{CUSTOMER}/accounts/Reset-Password", headers=app_headers, json={"emailAddress": EMAIL})
    assert r.status_code == 200, r.text
    await MailSender(core, SmtpTransport(smtp_server.host, smtp_server.port, starttls=False, timeout=5)).run_once()
    [mail] = smtp_server.messages
    r = await client.post(f"{CUSTOMER}/accounts/Update-Forgotten-Password", headers=app_headers,
                          json={"userName": EMAIL, "confirmationCode": mail.code(), "newPassword": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    await assert_ended(client, app_headers, mine)


async def test_a_lock_ends_every_session(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    account_id, mine = await _registered(client, app_headers)
    done(await client.post(lock_path(account_id), headers=await admin_headers(client), json=True))
    await assert_ended(client, app_headers, mine)


async def test_disabling_ends_every_session(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    account_id, mine = await _registered(client, app_headers)
    ok(await client.put(f"{CUSTOMER}/accounts/{account_id}", headers=await admin_headers(client),
                        json={"isActive": False}))
    await assert_ended(client, app_headers, mine)


async def test_deleting_ends_every_session(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    account_id, mine = await _registered(client, app_headers)
    r = await client.delete(f"{CUSTOMER}/accounts/{account_id}", headers=await admin_headers(client))
    assert r.status_code == 204, r.text
    await assert_ended(client, app_headers, mine)


# -- refresh replay ---------------------------------------------------------------------------------

async def test_a_replayed_refresh_token_ends_the_family_and_is_audited(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, clock: ManualClock) -> None:
    account_id, first = await _registered(client, app_headers)
    bystander = ok(await login(client, app_headers, EMAIL))
    second = ok(await refresh(client, app_headers, first["refreshToken"]))
    # inside the grace window (10 s in the tests) a replay gets the same successor: no alarm
    assert ok(await refresh(client, app_headers, first["refreshToken"]))["refreshToken"] == second["refreshToken"]
    assert await _of(core, account_id, "refresh.replayed") == []

    clock.advance(timedelta(seconds=11))
    assert_error(await refresh(client, app_headers, first["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")
    await assert_ended(client, app_headers, second)  # the successor the thief may hold ends too
    assert await _acts(client, app_headers, bystander)  # other logins of the account do not
    [entry] = await _of(core, account_id, "refresh.replayed")
    assert entry.detail == {"sessionId": await _family_of(core, first), "generation": 0}
    assert (entry.client_id, entry.client_address) == (STOREFRONT[0], "127.0.0.1")
    assert await core.store.family_revoke_reason(await _family_of(core, first)) == "refresh-replay"

    # replaying again finds the family ended: one alarm per family
    assert_error(await refresh(client, app_headers, first["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")
    assert len(await _of(core, account_id, "refresh.replayed")) == 1
