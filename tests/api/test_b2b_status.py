"""PUT /b2baccounts/{accountId}/status/{actionName}: approve, deny, enable, disable; the mail, the audit entry, and the
sessions an unusable account loses."""

from __future__ import annotations

import httpx
import pytest

from tests.api.b2b_more_support import B2B, audit_events, b2b_user, new_b2b_account, revoked, session_for
from tests.api.code_support import Mailbox
from tests.api.parts_support import Shopper, other_tenant_admin
from tests.api.support import assert_error, ok
from tests.conftest import SITE_OTHER_SET
from ticketbooth.b2b.rules import ADMIN_ROLE, APPROVED, DENIED, PENDING_APPROVAL, PURCHASER_ROLE
from ticketbooth.core import Core

pytestmark = pytest.mark.usefixtures("seeded")


def _status(client: httpx.AsyncClient, hdrs: dict[str, str], account_id: int, action: str) -> object:
    return client.put(f"{B2B}/{account_id}/status/{action}", headers=hdrs)


async def test_approving_mails_the_admins_and_keeps_sessions(client: httpx.AsyncClient, admin: dict[str, str],
                                                             core: Core, mailbox: Mailbox) -> None:
    acme = await new_b2b_account(core, "Acme & Sons", email="office@acme.example")
    await b2b_user(core, acme, "boss@acme.example", {ADMIN_ROLE}, first_name="Ada")
    await b2b_user(core, acme, "buyer@acme.example", {PURCHASER_ROLE})
    await b2b_user(core, acme, "gone@acme.example", {ADMIN_ROLE}, removed=True)
    await b2b_user(core, acme, "off@acme.example", {ADMIN_ROLE}, active=False)
    account = ok(await _status(client, admin, acme, "approve"))  # type: ignore[arg-type]
    assert (account["id"], account["approvalStatus"], account["isActive"]) == (acme, APPROVED, True)
    [message] = await mailbox.new()
    assert message.rcpt_tos == ["boss@acme.example"]
    assert message.message["Subject"] == "Your business account at Test tenant is approved"
    assert "Hello Ada," in message.text and "Acme & Sons" in message.text
    assert "Acme &amp; Sons" in message.html
    [entry] = await audit_events(core, "b2b.status-changed")
    assert entry["account_id"] == acme and entry["detail"] == {
        "action": "approve", "approvalStatus": APPROVED, "isActive": True, "sessionsEnded": 0}
    family = await session_for(core, acme)
    # approving again changes nothing: no mail, no entry
    assert ok(await _status(client, admin, acme, "Approve"))["approvalStatus"] == APPROVED  # type: ignore[arg-type]
    assert await mailbox.new() == []
    assert len(await audit_events(core, "b2b.status-changed")) == 1
    assert await revoked(core, family) is None


async def test_denying_mails_the_account_without_admins(client: httpx.AsyncClient, admin: dict[str, str], core: Core,
                                                        mailbox: Mailbox) -> None:
    acme = await new_b2b_account(core, "Acme", email="office@acme.example")
    family = await session_for(core, acme)
    account = ok(await _status(client, admin, acme, "deny"))  # type: ignore[arg-type]
    assert (account["approvalStatus"], account["isActive"]) == (DENIED, False)
    message = await mailbox.one("office@acme.example")
    assert message.message["Subject"] == "Your business account request at Test tenant"
    assert "was not\napproved" in message.text or "was not approved" in message.text.replace("\n", " ")
    assert await revoked(core, family) == "account-deactivated"
    # a denied account is reinstated by approving or enabling it
    assert ok(await _status(client, admin, acme, "enable"))["approvalStatus"] == APPROVED  # type: ignore[arg-type]
    assert await mailbox.new() == []  # enabling mails nobody
    no_mail = await new_b2b_account(core, "Nomail")
    assert ok(await _status(client, admin, no_mail, "deny"))["approvalStatus"] == DENIED  # type: ignore[arg-type]
    assert await mailbox.new() == []


async def test_disabling_ends_the_sessions_for_the_account(client: httpx.AsyncClient, admin: dict[str, str],
                                                           core: Core) -> None:
    acme = await new_b2b_account(core, "Acme", status=APPROVED)
    child = await new_b2b_account(core, "Acme North", acme, status=APPROVED)
    user = await b2b_user(core, acme, "boss@acme.example", {ADMIN_ROLE})
    mine, theirs, child_session = (await session_for(core, acme, user), await session_for(core, acme),
                                   await session_for(core, child))
    account = ok(await _status(client, admin, acme, "inactivate"))  # type: ignore[arg-type]
    assert (account["approvalStatus"], account["isActive"]) == (APPROVED, False)
    assert await revoked(core, mine) == "account-deactivated" and await revoked(core, theirs) == "account-deactivated"
    assert await revoked(core, child_session) is None  # a child account is left as it is
    child_account = ok(await client.get(f"{B2B}/{child}/hierarchy", headers=admin))["accounts"]
    assert {a["id"]: a["isActive"] for a in child_account}[child] is True
    [entry] = await audit_events(core, "b2b.status-changed")
    assert entry["detail"] == {"action": "disable", "approvalStatus": APPROVED, "isActive": False, "sessionsEnded": 2}
    again = ok(await _status(client, admin, acme, "ACTIVATE"))  # type: ignore[arg-type]
    assert (again["approvalStatus"], again["isActive"]) == (APPROVED, True)
    assert ok(await _status(client, admin, acme, "disable"))["isActive"] is False  # type: ignore[arg-type]
    assert ok(await _status(client, admin, acme, "approve"))["isActive"] is True  # type: ignore[arg-type]


async def test_transitions_kibo_does_not_make(client: httpx.AsyncClient, admin: dict[str, str], core: Core) -> None:
    pending = await new_b2b_account(core, "Pending")
    approved = await new_b2b_account(core, "Approved", status=APPROVED)
    assert_error(await _status(client, admin, pending, "enable"), 400, parameter="actionName")  # type: ignore[arg-type]
    assert_error(await _status(client, admin, approved, "deny"), 400, parameter="actionName")  # type: ignore[arg-type]
    for bad in ("delete", "approved", "approve%20it", "disable!"):
        assert_error(await _status(client, admin, pending, bad), 400, "MISSING_OR_INVALID_PARAMETER",  # type: ignore[arg-type]
                     "actionName")
    assert ok(await client.get(f"{B2B}/{pending}/hierarchy", headers=admin))["accounts"][0]["approvalStatus"] \
        == PENDING_APPROVAL
    assert await audit_events(core, "b2b.status-changed") == []


async def test_only_merchants_change_a_status(client: httpx.AsyncClient, admin: dict[str, str],
                                              app_headers: dict[str, str], nina: Shopper, core: Core) -> None:
    acme = await new_b2b_account(core, "Acme")
    for hdrs in (app_headers, nina.headers):
        for account in (acme, 999999):
            for action in ("approve", "bogus"):
                assert_error(await _status(client, hdrs, account, action), 403, "FORBIDDEN")  # type: ignore[arg-type]
    other = await other_tenant_admin(core, client)
    assert_error(await _status(client, other, acme, "approve"), 404, "ITEM_NOT_FOUND")  # type: ignore[arg-type]
    outlet_admin = {**admin, "x-vol-site": str(SITE_OTHER_SET)}
    assert_error(await _status(client, outlet_admin, acme, "approve"), 404, "ITEM_NOT_FOUND")  # type: ignore[arg-type]
    assert_error(await _status(client, admin, nina.account_id, "approve"), 404, "ITEM_NOT_FOUND")  # type: ignore[arg-type]
    assert ok(await client.get(f"{B2B}/{acme}/hierarchy", headers=admin))["accounts"][0]["approvalStatus"] \
        == PENDING_APPROVAL
