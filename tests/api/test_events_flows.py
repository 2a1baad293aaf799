"""Every flow writes exactly its events, in the transaction of its change (issue 17), on SQLite and
PostgreSQL: registration, login (with the anonymous visit it took over), account and login-name updates,
contacts, attributes, notes, segments and their members, lock and unlock, failed logins past the
tenant's threshold, password change, refresh replay, logout, impersonation, deletion. A change that fails
after its event was written leaves neither. The autouse scan of tests/api/conftest.py checks that these
events hold ids only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.api.code_support import Mailbox
from tests.api.login_support import CHANGE_PASSWORDS, NEW_PASSWORD, as_shopper, lock_path
from tests.api.parts_support import SEGMENTS, Shopper, define, part
from tests.api.support import (
    CURRENT,
    RESET_PASSWORD,
    UPDATE_FORGOTTEN_PASSWORD,
    anonymous,
    anonymous_id,
    assert_error,
    login,
    ok,
    refresh,
    register,
)
from tests.conftest import PASSWORD
from tests.smtp import SmtpServer
from ticketbooth.core import Core
from ticketbooth.db import tables as t
from ticketbooth.events import store as event_store
from ticketbooth.infra.clock import ManualClock

pytestmark = pytest.mark.usefixtures("seeded")

EMAIL = "eve.events@example.com"
IMPERSONATE = "/api/commerce/customer/authtickets/impersonatecart"


async def _last(core: Core) -> int:
    async with core.store.engine.connect() as conn:
        return int((await conn.execute(select(func.coalesce(func.max(t.events.c.id), 0)))).scalar_one())


async def _since(core: Core, after: int) -> list[tuple[str, str, dict[str, Any]]]:
    """(topic, entityId, extendedProperties) of the events written after id `after`, in log order."""
    async with core.store.engine.connect() as conn:
        rows = (await conn.execute(select(t.events).where(t.events.c.id > after).order_by(t.events.c.id))).all()
    return [(r.topic, r.entity_id, dict(r.extended_properties or {})) for r in rows]


async def test_registration_over_an_anonymous_visit(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                    core: Core) -> None:
    before = await _last(core)
    guest = await anonymous(client, app_headers)
    assert await _since(core, before) == []  # an anonymous ticket writes no event
    reg = await register(client, as_shopper(app_headers, guest), EMAIL)
    account = str(reg["customerAccount"]["id"])
    (created, logged_in) = await _since(core, before)
    assert created == ("customeraccount.created", account, {})
    assert logged_in[:2] == ("customeraccount.loginsucceeded", account)
    assert logged_in[2]["userId"] == reg["userId"] and logged_in[2]["previousAnonymousUserId"] == anonymous_id(guest)
    assert len(logged_in[2]["sessionId"]) == 32


async def test_login_carries_the_anonymous_visit_it_took_over(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                               core: Core) -> None:
    reg = await register(client, app_headers, EMAIL)
    guest = await anonymous(client, app_headers)
    before = await _last(core)
    ok(await login(client, as_shopper(app_headers, guest), EMAIL))
    ((topic, entity, extended),) = await _since(core, before)
    assert (topic, entity) == ("customeraccount.loginsucceeded", str(reg["customerAccount"]["id"]))
    assert extended["previousAnonymousUserId"] == anonymous_id(guest) and extended["userId"] == reg["userId"]
    # a login without a visit before it names none; a refresh writes nothing
    before = await _last(core)
    t2 = ok(await login(client, app_headers, EMAIL))
    ((_, _, extended),) = await _since(core, before)
    assert "previousAnonymousUserId" not in extended
    before = await _last(core)
    ok(await refresh(client, app_headers, t2["refreshToken"]))
    assert await _since(core, before) == []


async def test_account_updates_and_login_names(client: httpx.AsyncClient, admin: dict[str, str], nina: Shopper,
                                               core: Core) -> None:
    me, account = nina.headers, str(nina.account_id)
    current = ok(await client.get(CURRENT, headers=me))
    before = await _last(core)
    ok(await client.put(f"/api/commerce/customer/accounts/{nina.account_id}", headers=admin,
                        json={**current, "firstName": "Nina-Maria"}))
    assert await _since(core, before) == [("customeraccount.updated", account, {})]
    before = await _last(core)
    ok(await client.put(f"/api/commerce/customer/accounts/{nina.account_id}", headers=admin,
                        json={**current, "emailAddress": "nina.new@example.com"}))
    assert await _since(core, before) == [("customeraccount.updated", account, {}),
                                          ("customeraccount.loginnameschanged", account, {})]


async def test_parts(client: httpx.AsyncClient, admin: dict[str, str], nina: Shopper, core: Core) -> None:
    account = str(nina.account_id)
    before = await _last(core)
    c = ok(await client.post(part(nina.account_id, "contacts"), headers=nina.headers,
                             json={"firstName": "Nina", "address": {"countryCode": "DE"}}))
    ok(await client.put(part(nina.account_id, "contacts", c["id"]), headers=nina.headers,
                        json={"firstName": "Nina", "address": {"countryCode": "AT"}}))
    assert (await client.delete(part(nina.account_id, "contacts", c["id"]), headers=nina.headers)).status_code == 204
    assert await _since(core, before) == [(f"customercontact.{action}", account, {"contactId": c["id"]})
                                          for action in ("created", "updated", "deleted")]
    before = await _last(core)
    d = await define(client, admin, "shoesize")
    fqn = d["attributeFQN"]
    ok(await client.post(part(nina.account_id, "attributes"), headers=admin,
                         json={"fullyQualifiedName": fqn, "values": ["42"]}))
    assert (await client.delete(part(nina.account_id, "attributes", fqn), headers=admin)).status_code == 204
    assert await _since(core, before) == [
        ("customerattribute.created", str(d["id"]), {"attributeFQN": fqn}),
        ("customeraccount.attributechanged", account, {"attributeFQN": fqn}),
        ("customeraccount.attributechanged", account, {"attributeFQN": fqn})]
    before = await _last(core)
    n = ok(await client.post(part(nina.account_id, "notes"), headers=admin, json={"content": "calls often"}))
    assert await _since(core, before) == [("customeraccount.notechanged", account, {"noteId": n["id"]})]


async def test_segments_and_members(client: httpx.AsyncClient, admin: dict[str, str], nina: Shopper,
                                    core: Core) -> None:
    before = await _last(core)
    s = ok(await client.post(SEGMENTS, headers=admin, json={"code": "vip", "name": "VIP"}))
    ok(await client.put(f"{SEGMENTS}/{s['id']}", headers=admin, json={"code": "vip", "name": "Very VIP"}))
    for _ in range(2):  # the second time nina is a member already: no event
        assert (await client.post(f"{SEGMENTS}/{s['id']}/accounts", headers=admin,
                                  json=[nina.account_id])).status_code == 204
    assert (await client.delete(f"{SEGMENTS}/{s['id']}/accounts/{nina.account_id}", headers=admin)).status_code == 204
    assert (await client.delete(f"{SEGMENTS}/{s['id']}", headers=admin)).status_code == 204
    segment, account = str(s["id"]), str(nina.account_id)
    assert await _since(core, before) == [
        ("customersegment.created", segment, {}), ("customersegment.updated", segment, {}),
        ("customersegment.customeradded", account, {"segmentId": s["id"]}),
        ("customersegment.customerremoved", account, {"segmentId": s["id"]}),
        ("customersegment.deleted", segment, {})]


async def test_lock_unlock_and_failed_logins_past_the_threshold(
        client: httpx.AsyncClient, app_headers: dict[str, str], admin: dict[str, str], core: Core) -> None:
    reg = await register(client, app_headers, EMAIL)
    account = str(reg["customerAccount"]["id"])
    before = await _last(core)
    for _ in range(4):
        assert_error(await login(client, app_headers, EMAIL, "not the password"), 401)
    assert await _since(core, before) == []  # 4 failures: under the default threshold (5)
    assert_error(await login(client, app_headers, EMAIL, "not the password"), 401)
    assert await _since(core, before) == [("customeraccount.loginfailed", account, {})]
    before = await _last(core)
    assert (await client.post(lock_path(int(account)), headers=admin, json=True)).status_code == 200
    assert (await client.post(lock_path(int(account)), headers=admin, json=False)).status_code == 200
    assert await _since(core, before) == [("customeraccount.locked", account, {}),
                                          ("customeraccount.unlocked", account, {})]


async def test_password_change_replay_logout_impersonation_and_deletion(
        client: httpx.AsyncClient, app_headers: dict[str, str], admin: dict[str, str], csr: dict[str, str],
        core: Core, clock: ManualClock) -> None:
    reg = await register(client, app_headers, EMAIL)
    account_id = reg["customerAccount"]["id"]
    account = str(account_id)
    before = await _last(core)
    r = await client.post(CHANGE_PASSWORDS, headers=admin, json={"items": [
        {"accountId": account_id, "passwordInfo": {"oldPassword": PASSWORD, "newPassword": NEW_PASSWORD}}]})
    assert r.status_code == 200, r.text
    assert await _since(core, before) == [("customeraccount.passwordchanged", account, {})]

    t1 = ok(await login(client, app_headers, EMAIL, NEW_PASSWORD))
    ok(await refresh(client, app_headers, t1["refreshToken"]))
    clock.advance(timedelta(seconds=60))  # past the grace: the used token again is a replay
    before = await _last(core)
    assert_error(await refresh(client, app_headers, t1["refreshToken"]), 401)
    ((topic, entity, extended),) = await _since(core, before)
    assert (topic, entity) == ("customersession.refreshreplayed", account) and len(extended["sessionId"]) == 32

    t2 = ok(await login(client, app_headers, EMAIL, NEW_PASSWORD))
    before = await _last(core)
    r = await client.delete("/api/commerce/customer/authtickets", headers=app_headers,
                            params={"refreshToken": t2["refreshToken"]})
    assert r.status_code == 204
    ((topic, entity, extended),) = await _since(core, before)
    assert (topic, entity) == ("customersession.ended", account) and len(extended["sessionId"]) == 32

    before = await _last(core)
    ok(await client.post(IMPERSONATE, headers=csr, json={"accountId": account_id}))
    ((topic, entity, extended),) = await _since(core, before)
    assert (topic, entity) == ("customersession.impersonationstarted", account) and extended["applicationId"] > 0

    before = await _last(core)
    assert (await client.delete(f"/api/commerce/customer/accounts/{account_id}", headers=admin)).status_code in (200, 204)
    assert await _since(core, before) == [("customeraccount.deleted", account, {})]


async def test_a_change_failing_after_its_event_leaves_neither(
        client: httpx.AsyncClient, app_headers: dict[str, str], admin: dict[str, str], core: Core,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The event is written, then the transaction fails: the account and its events are rolled back."""
    written = event_store.EventStore.add_events

    async def then_fail(self: event_store.EventStore, rows: list[dict[str, Any]]) -> None:
        await written(self, rows)
        raise RuntimeError("the disk is full")

    before = await _last(core)
    monkeypatch.setattr(event_store.EventStore, "add_events", then_fail)
    with pytest.raises(RuntimeError):
        await register(client, app_headers, EMAIL)
    with pytest.raises(RuntimeError):
        await client.post(SEGMENTS, headers=admin, json={"code": "gold", "name": "Gold"})
    monkeypatch.undo()
    assert await _since(core, before) == []
    async with core.store.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(t.accounts).where(
            t.accounts.c.email == EMAIL))).scalar_one() == 0
        assert (await conn.execute(select(func.count()).select_from(t.segments))).scalar_one() == 0


async def test_cards(client: httpx.AsyncClient, nina: Shopper, core: Core) -> None:
    contact = ok(await client.post(part(nina.account_id, "contacts"), headers=nina.headers,
                                   json={"firstName": "Nina", "address": {"countryCode": "DE"}}))["id"]
    body = {"nameOnCard": "Nina Neu", "cardType": "VISA", "expireMonth": 4, "expireYear": 2030,
            "cardNumberPart": "************1111", "contactId": contact, "isDefaultPayMethod": False}
    before = await _last(core)
    card = ok(await client.post(part(nina.account_id, "cards"), headers=nina.headers, json=body))
    ok(await client.put(part(nina.account_id, "cards", card["id"]), headers=nina.headers, json={**body, "expireYear": 2031}))
    assert (await client.delete(part(nina.account_id, "cards", card["id"]), headers=nina.headers)).status_code in (200, 204)
    assert await _since(core, before) == [(f"customercard.{action}", str(nina.account_id), {"cardId": card["id"]})
                                          for action in ("created", "updated", "deleted")]


async def test_password_reset_and_no_secret_in_any_event(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, smtp_server: SmtpServer) -> None:
    """The reset writes `customeraccount.passwordreset` alone (asking for a code writes nothing: its answer is
    the same for an unknown name); and no event of the whole run holds the code, a token, the email
    address, the name or a password."""
    mailbox = Mailbox(core, smtp_server)
    reg = await register(client, app_headers, EMAIL, firstName="Fenja", lastName="Forgetful")
    before = await _last(core)
    r = await client.post(RESET_PASSWORD, headers=app_headers, json={"emailAddress": EMAIL})
    assert r.status_code == 200
    assert await _since(core, before) == []
    code = (await mailbox.one(EMAIL)).code()
    r = await client.post(UPDATE_FORGOTTEN_PASSWORD, headers=app_headers, json={
        "userName": EMAIL, "confirmationCode": code, "newPassword": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    assert await _since(core, before) == [("customeraccount.passwordreset", str(reg["customerAccount"]["id"]), {})]
    t2 = ok(await login(client, app_headers, EMAIL, NEW_PASSWORD))
    async with core.store.engine.connect() as conn:
        everything = repr([dict(r._mapping) for r in await conn.execute(select(t.events))]).lower()
    for secret in (code, reg["accessToken"], reg["refreshToken"], reg["jwtAccessToken"], t2["accessToken"],
                   t2["refreshToken"], EMAIL, "fenja", "forgetful", PASSWORD, NEW_PASSWORD):
        assert secret.lower() not in everything
