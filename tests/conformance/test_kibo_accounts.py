"""The Customer Account API of `@kibocommerce/rest-sdk` against a live `ticketbooth serve`.

What the issue "Customer accounts" promises, done the way merchants and storefronts do it: through Kibo's
own SDK (kibo_client.mjs scenarios `merchant`, `shopper`, `call`, `reset-password`,
`update-forgotten-password`). A merchant script creates, searches, updates, locks and deletes accounts with
an application that has the customer:admin behavior; a shopper looks after their own account and is refused
everyone else's; a shopper resets a forgotten password from the email alone. Each test runs on SQLite and
PostgreSQL (the `database_url` fixture); scenarios share servers, as each server start costs seconds.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.conftest import HEX32, Kibo, StepChecks, assert_api_error, parse_date
from tests.conftest import (
    ADMIN,
    OTHER,
    PASSWORD,
    SITE,
    SITE_OTHER_SET,
    SITE_SAME_SET,
    LiveServer,
    seed_cli,
    start_server,
    stop_server,
)
from tests.smtp import SmtpServer

pytestmark = pytest.mark.conformance

NEW_PASSWORD = "a brand new and fine passphrase"
ACCOUNTS = "CustomerAccountApi"
# Every key of Kibo's CustomerAccount (tests/api/support.py ACCOUNT_KEYS), as the SDK hands it over.
ACCOUNT_KEYS = {
    "accountType", "attributes", "auditInfo", "commerceSummary", "companyOrOrganization", "contacts", "customerSet",
    "customerSinceDate", "externalId", "id", "migrationRequired", "notes", "segments", "taxExempt", "taxId",
    "acceptsMarketing", "emailAddress", "firstName", "hasExternalPassword", "isActive", "isAnonymous", "isLocked",
    "last2FaDate", "lastName", "localeCode", "userId", "userName",
}
COLLECTION_KEYS = {"startIndex", "pageSize", "pageCount", "totalCount", "items"}


def emails(collection: dict[str, Any]) -> list[str]:
    return [a["emailAddress"] for a in collection["items"]]


def audit_by(record: dict[str, Any], who: str, *, updated: bool = False) -> None:
    audit = record["auditInfo"]
    assert audit["createBy" if not updated else "updateBy"] == who, audit
    parse_date(audit["createDate"])
    if updated:
        assert parse_date(audit["updateDate"]) >= parse_date(audit["createDate"]), audit


# -- one server: the merchant script, the shopper, and the refusals ----------------------------------

def test_account_api_through_the_sdk(live_server: LiveServer) -> None:
    kibo = Kibo(live_server.base_url)
    with ThreadPoolExecutor(max_workers=3) as pool:
        parts = [pool.submit(merchant, kibo), pool.submit(shopper, kibo), pool.submit(refusals, kibo)]
    failures = []
    for part in parts:
        try:
            part.result()
        except AssertionError as exc:
            failures.append(str(exc))
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)


def merchant(kibo: Kibo) -> None:
    """A whole merchant script in one SDK process, with the admin application."""
    prefix = "mrc"
    ann, bob, cid = (f"{prefix}.{name}@example.com" for name in ("ann", "bob", "cid"))
    out = kibo.as_(creds=ADMIN).ok("merchant", prefix, PASSWORD, NEW_PASSWORD)
    c = StepChecks(out)
    ids: dict[str, int] = {}

    # -- accounts
    @c.ok("addAccount")
    def _(account: dict[str, Any]) -> None:
        assert set(account) >= ACCOUNT_KEYS, ACCOUNT_KEYS - set(account)
        assert isinstance(account["id"], int) and account["id"] > 0
        ids["ann"] = account["id"]
        assert (account["emailAddress"], account["userName"], account["firstName"], account["lastName"]) == (
            ann, ann, "Ann", "Merchant")
        assert (account["externalId"], account["acceptsMarketing"], account["companyOrOrganization"]) == (
            f"{prefix}-ext-1", True, "Acme")
        assert (account["customerSet"], account["isActive"], account["isAnonymous"], account["isLocked"]) == (
            "default", True, False, False)
        assert account["hasExternalPassword"] is False and HEX32.match(account["userId"])
        assert account["contacts"] == [] and account["notes"] == [] and account["segments"] == []
        audit_by(account, ADMIN[0])

    @c.ok("addAccounts")
    def _(bulk: dict[str, Any]) -> None:  # Kibo: CustomerAccountCollection
        assert set(bulk) >= {"totalCount", "items"}, bulk
        assert bulk["totalCount"] == 2 and emails(bulk) == [bob, cid]
        assert [(a["firstName"], a["lastName"]) for a in bulk["items"]] == [("Bob", "Bulk"), ("Cid", "Bulk")]
        assert all(isinstance(a["id"], int) and a["id"] > 0 for a in bulk["items"])
        assert all(a["hasExternalPassword"] is False for a in bulk["items"])

    ids |= {k: v for k, v in c.ids.items() if isinstance(v, int)}

    @c.ok("filterEq")
    def _(found: dict[str, Any]) -> None:
        assert set(found) == COLLECTION_KEYS, found
        assert (found["startIndex"], found["pageSize"], found["pageCount"], found["totalCount"]) == (0, 20, 1, 1)
        assert emails(found) == [bob] and found["items"][0]["id"] == ids.get("bob")

    @c.ok("filterSwAnd")
    def _(found: dict[str, Any]) -> None:
        assert emails(found) == [bob, cid] and found["totalCount"] == 2

    @c.ok("filterOrParens")
    def _(found: dict[str, Any]) -> None:
        assert [a["firstName"] for a in found["items"]] == ["Cid", "Ann"]

    @c.ok("search")
    def _(found: dict[str, Any]) -> None:
        assert found["totalCount"] == 3 and sorted(emails(found)) == [ann, bob, cid]

    @c.ok("page1")
    def _(page: dict[str, Any]) -> None:
        assert (page["startIndex"], page["pageSize"], page["pageCount"], page["totalCount"]) == (0, 2, 2, 3)
        assert [a["firstName"] for a in page["items"]] == ["Ann", "Bob"]

    @c.ok("page2")
    def _(page: dict[str, Any]) -> None:
        assert (page["startIndex"], page["pageSize"], page["pageCount"], page["totalCount"]) == (2, 2, 2, 3)
        assert [a["firstName"] for a in page["items"]] == ["Cid"]

    @c.ok("responseFields")
    def _(trimmed: dict[str, Any]) -> None:
        assert trimmed == {"totalCount": 1, "items": [{"id": ids.get("ann"), "emailAddress": ann}]}

    @c.ok("getAccount")
    def _(account: dict[str, Any]) -> None:
        assert set(account) >= ACCOUNT_KEYS
        assert (account["id"], account["emailAddress"], account["firstName"]) == (ids.get("ann"), ann, "Ann")

    @c.ok("updateAccount")
    def _(account: dict[str, Any]) -> None:
        assert (account["id"], account["firstName"], account["lastName"]) == (ids.get("ann"), "Anna", "Merchant")
        assert (account["taxExempt"], account["taxId"], account["companyOrOrganization"]) == (True, "TX-1", "Acme")
        assert account["emailAddress"] == ann
        audit_by(account, ADMIN[0], updated=True)

    @c.ok("getAccountAfterUpdate")
    def _(account: dict[str, Any]) -> None:
        assert (account["firstName"], account["taxExempt"], account["taxId"]) == ("Anna", True, "TX-1")

    # -- contacts
    contact_ids: dict[str, int] = {}

    @c.ok("addContact")
    def _(contact: dict[str, Any]) -> None:
        assert isinstance(contact["id"], int) and contact["accountId"] == ids.get("ann")
        contact_ids["billing"] = contact["id"]
        assert (contact["email"], contact["firstName"], contact["lastNameOrSurname"]) == (ann, "Ann", "Merchant")
        assert contact["types"] == [{"name": "Billing", "isPrimary": True}]
        assert {k: contact["address"][k] for k in ("address1", "cityOrTown", "countryCode")} == {
            "address1": "1 Main St", "cityOrTown": "Austin", "countryCode": "US"}
        assert contact["phoneNumbers"]["home"] == "5125550100"
        audit_by(contact, ADMIN[0])

    @c.ok("addContact2")
    def _(contact: dict[str, Any]) -> None:
        assert isinstance(contact["id"], int) and contact["id"] != contact_ids.get("billing")
        contact_ids["shipping"] = contact["id"]
        assert contact["types"] == [{"name": "Shipping", "isPrimary": True}]

    @c.ok("listContacts")
    def _(contacts: dict[str, Any]) -> None:
        assert contacts["totalCount"] == 2
        assert sorted(x["id"] for x in contacts["items"]) == sorted(contact_ids.values())

    @c.ok("updateContact")
    def _(contact: dict[str, Any]) -> None:
        assert contact["id"] == contact_ids.get("billing")
        assert (contact["address"]["cityOrTown"], contact["address"]["postalOrZipCode"]) == ("Dallas", "75201")
        audit_by(contact, ADMIN[0], updated=True)

    @c.ok("getContact")
    def _(contact: dict[str, Any]) -> None:
        assert (contact["id"], contact["address"]["cityOrTown"]) == (contact_ids.get("billing"), "Dallas")

    @c.ok("deleteContact")
    def _(result: Any) -> None:
        assert result is None  # a void method: the SDK never reads the body

    @c.ok("listContactsAfterDelete")
    def _(contacts: dict[str, Any]) -> None:
        assert [x["id"] for x in contacts["items"]] == [contact_ids.get("billing")] and contacts["totalCount"] == 1

    @c.ok("addContactList")
    def _(added: dict[str, Any]) -> None:  # Kibo: creates the contacts in bulk (multi-ship)
        assert [x["lastNameOrSurname"] for x in added["items"]] == ["Office", "Cabin"] and added["totalCount"] == 2
        assert all(isinstance(x["id"], int) and x["id"] != contact_ids.get("billing") for x in added["items"])
        assert added["items"][0]["types"] == [{"name": "Billing", "isPrimary": True}]

    @c.ok("getContactAfterList")
    def _(contact: dict[str, Any]) -> None:  # one primary contact per type: the new Billing one took over
        assert contact["types"] == [{"name": "Billing", "isPrimary": False}]

    @c.ok("listContactsAfterList")
    def _(contacts: dict[str, Any]) -> None:
        assert [x["lastNameOrSurname"] for x in contacts["items"]] == ["Merchant", "Office", "Cabin"]
        assert contacts["totalCount"] == 3

    # -- notes
    @c.ok("addNote")
    def _(note: dict[str, Any]) -> None:
        assert isinstance(note["id"], int) and note["content"] == "Prefers phone calls"
        audit_by(note, ADMIN[0])

    note_ids: dict[str, int] = {}

    @c.ok("addNote2")
    def _(note: dict[str, Any]) -> None:
        note_ids["catalog"] = note["id"]

    @c.ok("listNotes")
    def _(notes: dict[str, Any]) -> None:
        assert notes["totalCount"] == 2
        assert [n["content"] for n in notes["items"]] == ["Prefers phone calls", "Asked for a catalog"]

    @c.ok("updateNote")
    def _(note: dict[str, Any]) -> None:
        assert (note["id"], note["content"]) == (note_ids.get("catalog"), "Asked for the spring catalog")
        audit_by(note, ADMIN[0], updated=True)

    @c.ok("getNote")
    def _(note: dict[str, Any]) -> None:
        assert note["content"] == "Asked for the spring catalog"

    @c.ok("deleteNote")
    def _(result: Any) -> None:
        assert result is None

    c.fails("getDeletedNote", 404, "ITEM_NOT_FOUND")

    # -- attribute definition and value
    fqn = f"tenant~{prefix}Tier"  # mixed case, as created; the SDK sends it so in paths

    @c.ok("createAttribute")
    def _(definition: dict[str, Any]) -> None:
        assert (definition["attributeFQN"], definition["attributeCode"], definition["namespace"]) == (
            fqn, f"{prefix}Tier", "tenant")
        assert (definition["valueType"], definition["dataType"], definition["inputType"]) == ("Predefined", "String", "List")
        assert [v["value"] for v in definition["vocabularyValues"]] == ["gold", "silver"]
        assert isinstance(definition["id"], int)
        audit_by(definition, ADMIN[0])

    @c.ok("getAttribute")
    def _(definition: dict[str, Any]) -> None:
        assert (definition["attributeFQN"], definition["adminName"]) == (fqn, "Tier")

    @c.ok("getAttributeVocabularyValues")
    def _(values: list[dict[str, Any]]) -> None:
        assert [(v["value"], v["content"]["value"]) for v in values] == [("gold", "Gold"), ("silver", "Silver")]

    @c.ok("getAttributesAccountApi")
    def _(definitions: dict[str, Any]) -> None:  # the accountattributedefinition path serves the same
        assert fqn in [d["attributeFQN"] for d in definitions["items"]]

    @c.ok("addAccountAttribute")
    def _(attribute: dict[str, Any]) -> None:
        assert (attribute["fullyQualifiedName"], attribute["values"]) == (fqn, ["gold"])

    @c.ok("updateAccountAttribute")
    def _(attribute: dict[str, Any]) -> None:
        assert (attribute["fullyQualifiedName"], attribute["values"]) == (fqn, ["silver"])

    c.fails("addAccountAttributeNotInVocabulary", 400, "MISSING_OR_INVALID_PARAMETER")

    @c.ok("listAccountAttributes")
    def _(attributes: dict[str, Any]) -> None:
        assert [(a["fullyQualifiedName"], a["values"]) for a in attributes["items"]] == [(fqn, ["silver"])]

    @c.ok("getAccountAttribute")
    def _(attribute: dict[str, Any]) -> None:
        assert (attribute["fullyQualifiedName"], attribute["values"]) == (fqn, ["silver"])

    @c.ok("updateAttribute")
    def _(definition: dict[str, Any]) -> None:
        assert (definition["attributeFQN"], definition["adminName"]) == (fqn, "Tier level")
        assert [v["value"] for v in definition["vocabularyValues"]] == ["gold", "silver", "bronze"]

    @c.ok("getAttributes")
    def _(definitions: dict[str, Any]) -> None:
        assert {d["attributeFQN"]: d["adminName"] for d in definitions["items"]}.get(fqn) == "Tier level"

    @c.ok("setBronze")
    def _(attribute: dict[str, Any]) -> None:  # the new vocabulary value is accepted at once
        assert attribute["values"] == ["bronze"]

    @c.ok("deleteAccountAttribute")
    def _(result: Any) -> None:
        assert result is None

    c.fails("getDeletedAccountAttribute", 404, "ITEM_NOT_FOUND")

    # -- segments
    @c.ok("addSegment")
    def _(segment: dict[str, Any]) -> None:
        assert isinstance(segment["id"], int)
        assert (segment["code"], segment["name"], segment["description"]) == (f"{prefix}-vip", "VIP customers", "Spends a lot")

    @c.ok("addSegmentAccounts")
    def _(result: Any) -> None:
        assert result is None

    @c.ok("getAccountSegments")
    def _(segments: dict[str, Any]) -> None:
        assert [s["code"] for s in segments["items"]] == [f"{prefix}-vip"] and segments["totalCount"] == 1

    @c.ok("removeSegmentAccount")
    def _(result: Any) -> None:
        assert result is None

    @c.ok("getAccountSegmentsAfterRemove")
    def _(segments: dict[str, Any]) -> None:
        assert segments["items"] == [] and segments["totalCount"] == 0

    @c.ok("getSegment")
    def _(segment: dict[str, Any]) -> None:
        assert segment["code"] == f"{prefix}-vip"

    @c.ok("updateSegment")
    def _(segment: dict[str, Any]) -> None:
        assert (segment["code"], segment["name"]) == (f"{prefix}-vip", "Very important customers")
        audit_by(segment, ADMIN[0], updated=True)

    @c.ok("getSegments")
    def _(segments: dict[str, Any]) -> None:
        assert {s["code"]: s["name"] for s in segments["items"]}.get(f"{prefix}-vip") == "Very important customers"

    @c.ok("deleteSegment")
    def _(result: Any) -> None:
        assert result is None

    c.fails("getDeletedSegment", 404, "ITEM_NOT_FOUND")

    @c.ok("getAccountSegmentsAfterSegmentDelete")
    def _(segments: dict[str, Any]) -> None:  # Kibo: the segment is deleted in all accounts that have it
        assert segments["items"] == [] and segments["totalCount"] == 0

    # -- customer sets
    @c.ok("getCustomerSets")
    def _(sets: dict[str, Any]) -> None:
        by_code = {s["code"]: s for s in sets["items"]}
        assert set(by_code) == {"default", "outlet"} and sets["totalCount"] == 2
        assert sorted(s["siteId"] for s in by_code["default"]["sites"]) == [SITE, SITE_SAME_SET]
        assert [s["siteId"] for s in by_code["outlet"]["sites"]] == [SITE_OTHER_SET]
        assert (by_code["default"]["isDefault"], by_code["outlet"]["isDefault"]) == (True, False)

    @c.ok("getCustomerSet")
    def _(customer_set: dict[str, Any]) -> None:
        assert customer_set["code"] == "outlet"
        assert [s["siteId"] for s in customer_set["sites"]] == [SITE_OTHER_SET]

    # -- lock and unlock
    @c.ok("loginBob")
    def _(ticket: dict[str, Any]) -> None:
        assert ticket["customerAccount"]["id"] == ids.get("bob")

    @c.ok("lockBob")
    def _(result: Any) -> None:
        assert result is None

    @c.ok("loginStateLocked")
    def _(state: dict[str, Any]) -> None:
        assert state["isLocked"] is True and state["isPasswordChangeRequired"] is False
        parse_date(state["lastLockedOn"])
        parse_date(state["lastLoginOn"])  # loginBob

    c.fails("loginBobLocked", 401, "INVALID_CREDENTIALS")

    @c.ok("loginStateByEmailAddress")
    def _(state: dict[str, Any]) -> None:
        assert state["isLocked"] is True

    @c.ok("unlockBob")
    def _(result: Any) -> None:
        assert result is None

    @c.ok("loginStateUnlocked")
    def _(state: dict[str, Any]) -> None:
        assert state["isLocked"] is False and state["failedLoginAttemptCount"] == 0

    @c.ok("loginBobUnlocked")
    def _(ticket: dict[str, Any]) -> None:
        assert ticket["customerAccount"]["id"] == ids.get("bob")

    # -- password change required, bulk password change
    @c.ok("requirePasswordChangeCid")
    def _(result: Any) -> None:
        assert result is None

    @c.ok("loginStateByUserName")
    def _(state: dict[str, Any]) -> None:
        assert state["isPasswordChangeRequired"] is True and state["isLocked"] is False

    c.fails("loginCidRefused", 401, "PASSWORD_CHANGE_REQUIRED")

    @c.ok("changePasswords")
    def _(results: dict[str, Any]) -> None:
        by_id = {r["accountId"]: r for r in results["items"]}
        assert set(by_id) == {ids.get("cid"), 2147483000} and results["totalCount"] == 2
        assert by_id[ids["cid"]]["succeeded"] is True
        assert by_id[2147483000]["succeeded"] is False and by_id[2147483000]["errorMessage"]

    @c.ok("loginCidNewPassword")
    def _(ticket: dict[str, Any]) -> None:
        assert ticket["customerAccount"]["id"] == ids.get("cid")

    c.fails("loginCidOldPassword", 401, "INVALID_CREDENTIALS")

    @c.ok("loginStateCidAfterChange")
    def _(state: dict[str, Any]) -> None:
        assert state["isPasswordChangeRequired"] is False
        parse_date(state["lastPasswordChangeOn"])

    # -- delete
    @c.ok("deleteAccount")
    def _(result: Any) -> None:
        assert result is None

    c.fails("getDeletedAccount", 404, "ITEM_NOT_FOUND")
    c.fails("deleteDeletedAccount", 404, "ITEM_NOT_FOUND")

    @c.ok("searchAfterDelete")
    def _(found: dict[str, Any]) -> None:
        assert sorted(emails(found)) == [bob, cid]

    c.done()


def shopper(kibo: Kibo) -> None:
    """A shopper registers with the storefront application, then acts with the ticket's JWT."""
    prefix = "shp"
    sam = f"{prefix}.sam@example.com"
    out = kibo.ok("shopper", prefix, PASSWORD, NEW_PASSWORD)
    c = StepChecks(out)
    me, other = out["ids"].get("me"), out["ids"].get("other")
    user: dict[str, str] = {}

    @c.ok("register")
    def _(ticket: dict[str, Any]) -> None:
        assert ticket["customerAccount"]["emailAddress"] == sam and isinstance(me, int)
        user["id"] = ticket["userId"]

    @c.ok("registerOther")
    def _(ticket: dict[str, Any]) -> None:
        assert isinstance(other, int) and other != me

    @c.ok("getOwnAccount")
    def _(account: dict[str, Any]) -> None:
        assert set(account) >= ACCOUNT_KEYS
        assert (account["id"], account["emailAddress"], account["firstName"]) == (me, sam, "Sam")

    @c.ok("updateOwnAccount")
    def _(account: dict[str, Any]) -> None:
        assert (account["id"], account["firstName"], account["acceptsMarketing"], account["emailAddress"]) == (
            me, "Samuel", True, sam)
        audit_by(account, user.get("id", "?"), updated=True)  # the shopper's userId is the actor

    @c.ok("addOwnContact")
    def _(contact: dict[str, Any]) -> None:
        assert contact["accountId"] == me and contact["address"]["cityOrTown"] == "Boston"
        assert contact["types"] == [{"name": "Shipping", "isPrimary": True}]
        audit_by(contact, user.get("id", "?"))

    @c.ok("listOwnContacts")
    def _(contacts: dict[str, Any]) -> None:
        assert contacts["totalCount"] == 1 and contacts["items"][0]["email"] == sam

    @c.ok("getOwnLoginState")
    def _(state: dict[str, Any]) -> None:
        assert (state["isLocked"], state["isPasswordChangeRequired"], state["failedLoginAttemptCount"]) == (False, False, 0)
        parse_date(state["createdOn"])

    @c.ok("getOwnSegments")
    def _(segments: dict[str, Any]) -> None:
        assert segments["items"] == [] and segments["totalCount"] == 0

    @c.ok("changeOwnPassword")
    def _(result: Any) -> None:
        assert result is None

    @c.ok("getOwnAccountAfterChange")
    def _(account: dict[str, Any]) -> None:  # the caller's own ticket survives its password change
        assert account == {"id": me, "firstName": "Samuel"}

    @c.ok("loginNewPassword")
    def _(ticket: dict[str, Any]) -> None:
        assert ticket["customerAccount"]["id"] == me

    c.fails("loginOldPassword", 401, "INVALID_CREDENTIALS")
    for name in ("getOtherAccount", "updateOtherAccount", "addOtherContact", "getOtherLoginState",
                 "changeOtherPassword", "listAccounts", "addOwnNote", "lockOwnLogin", "deleteOwnAccount",
                 "appGetsAccount"):
        c.fails(name, 403, "FORBIDDEN")

    @c.ok("otherStillReadable")
    def _(account: dict[str, Any]) -> None:  # and nothing the shopper tried changed the other account
        assert account == {"id": other, "firstName": "Olga"}

    c.done()


def refusals(kibo: Kibo) -> None:
    """Errors as the SDK reports them: malformed filters and parameters, missing permission, unknown records."""
    admin = kibo.as_(creds=ADMIN)
    failures: list[str] = []

    def expect(out: dict[str, Any], status: int, code: str, parameter: str | None = None) -> None:
        if out["ok"]:
            failures.append(f"{out['call']} should have failed with {status} {code}, the SDK returned "
                            f"{json.dumps(out['result'])[:300]}")
            return
        try:
            assert_api_error(out["error"], status, code, parameter)
        except AssertionError:
            error = {k: out["error"].get(k) for k in ("kind", "status", "errorCode", "message", "additionalErrorData")}
            failures.append(f"{out['call']} expected {status} {code} {parameter or ''}, got {json.dumps(error)}")

    for bad in ("emailAddress eq", "emailAddress eq 'unterminated", "nosuchfield eq 1", "emailAddress zz 'a'",
                "(emailAddress eq 'a'", "id eq 'not a number'", "firstName eq 'a' and", "(" * 300 + "id eq 1" + ")" * 300):
        expect(admin.call(ACCOUNTS, "getAccounts", {"filter": bad}), 400, "MISSING_OR_INVALID_PARAMETER", "filter")
    expect(admin.call(ACCOUNTS, "getAccounts", {"sortBy": "password asc"}), 400, "MISSING_OR_INVALID_PARAMETER", "sortBy")
    expect(admin.call(ACCOUNTS, "getAccounts", {"pageSize": -1}), 400, "MISSING_OR_INVALID_PARAMETER", "pageSize")
    expect(admin.call(ACCOUNTS, "getAccounts", {"startIndex": -1}), 400, "MISSING_OR_INVALID_PARAMETER", "startIndex")

    # a storefront application (no customer:admin) may not list, create or change accounts
    storefront = kibo
    expect(storefront.call(ACCOUNTS, "getAccounts", {}), 403, "FORBIDDEN")
    expect(storefront.call(ACCOUNTS, "addAccount", {"customerAccount": {"emailAddress": "ref.x@example.com"}}), 403, "FORBIDDEN")
    expect(storefront.call("CustomerSegmentApi", "getSegments", {}), 403, "FORBIDDEN")
    expect(storefront.call("CustomerAttributeDefinitionApi", "createAttribute", {"customerAttribute2": {
        "attributeCode": "refx", "displayGroup": "General", "valueType": "AdminEntered"}}), 403, "FORBIDDEN")
    expect(storefront.call(ACCOUNTS, "getLoginStateByEmailAddress", {"emailAddress": "ref.x@example.com"}), 403, "FORBIDDEN")
    expect(storefront.call(ACCOUNTS, "changePasswords", {"accountPasswordInfoCollection": {"items": []}}), 403, "FORBIDDEN")
    # another tenant's application
    expect(kibo.as_(creds=OTHER).call(ACCOUNTS, "getAccounts", {}), 401, "UNAUTHORIZED")

    # unknown records
    expect(admin.call(ACCOUNTS, "getAccount", {"accountId": 2147483000}), 404, "ITEM_NOT_FOUND")
    expect(admin.call(ACCOUNTS, "deleteAccount", {"accountId": 2147483000}), 404, "ITEM_NOT_FOUND")
    expect(admin.call(ACCOUNTS, "getLoginState", {"accountId": 2147483000}), 404, "ITEM_NOT_FOUND")
    expect(admin.call(ACCOUNTS, "getLoginStateByEmailAddress", {"emailAddress": "ref.nobody@example.com"}), 404,
           "ITEM_NOT_FOUND")
    expect(admin.call("CustomerSegmentApi", "getSegment", {"id": 2147483000}), 404, "ITEM_NOT_FOUND")
    expect(admin.call("CustomerSetApi", "getCustomerSet", {"code": "nosuchset"}), 404, "ITEM_NOT_FOUND")
    expect(admin.call("CustomerAttributeDefinitionApi", "getAttribute", {"attributeFQN": "tenant~nosuch"}), 404,
           "ITEM_NOT_FOUND")

    # bodies the SDK sends when the caller leaves them out or gets them wrong
    made = admin.call(ACCOUNTS, "addAccount", {"customerAccount": {"emailAddress": "ref.x@example.com", "firstName": "Rex"}})
    if not made["ok"]:
        failures.append(f"addAccount for the refusals failed: {made['error']}")
    else:
        account_id = made["result"]["id"]
        expect(admin.call(ACCOUNTS, "setLoginLocked", {"accountId": account_id}), 400, "MISSING_OR_INVALID_PARAMETER")
        expect(admin.call(ACCOUNTS, "updateAccount", {"accountId": account_id,
                                                      "customerAccount": {"id": account_id + 1, "firstName": "Rex"}}),
               400, "MISSING_OR_INVALID_PARAMETER")
        expect(admin.call(ACCOUNTS, "addAccount", {"customerAccount": {"emailAddress": "ref.x@example.com"}}), 409,
               "VALIDATION_CONFLICT")
        expect(admin.call(ACCOUNTS, "addAccount", {"customerAccount": {"emailAddress": "not an email"}}), 400,
               "MISSING_OR_INVALID_PARAMETER")
        expect(admin.call(ACCOUNTS, "addAccountNote", {"accountId": account_id, "customerNote": {}}), 400,
               "MISSING_OR_INVALID_PARAMETER")
        unchanged = admin.call(ACCOUNTS, "getAccount", {"accountId": account_id, "responseFields": "id,firstName,isLocked"})
        if unchanged.get("result") != {"id": account_id, "firstName": "Rex", "isLocked": False}:
            failures.append(f"the refused calls changed account {account_id}: {unchanged}")
    if failures:
        raise AssertionError(f"{len(failures)} refusals not as Kibo's:\n  " + "\n  ".join(failures))


# -- forgotten password, from the email alone ----------------------------------------------------------

def test_forgotten_password_through_the_sdk(database_url: str, tmp_path: Path, smtp_server: SmtpServer) -> None:
    """Reset-Password mails a code (to a real SMTP server, by the server's own background sender); the
    shopper reads it out of the email and sets a new password with Update-Forgotten-Password; the lock
    an admin had put on the account stays until the admin lifts it (issue 13, finding 9), and then the
    new password logs in."""
    seed_cli({**os.environ, "TICKETBOOTH_DATABASE_URL": database_url}, tmp_path)
    server = start_server(database_url, tmp_path, extra_env={
        "TICKETBOOTH_SMTP_HOST": smtp_server.host, "TICKETBOOTH_SMTP_PORT": str(smtp_server.port),
        "TICKETBOOTH_SMTP_STARTTLS": "false", "TICKETBOOTH_MAIL_DIR": str(tmp_path / "mail")})
    try:
        kibo = Kibo(server.base_url)
        email = "fay.forgetful@example.com"
        registered = kibo.ok("register", email, PASSWORD)
        account_id = registered["customerAccount"]["id"]
        locked = kibo.as_(creds=ADMIN).call("CustomerAccountApi", "setLoginLocked", {"accountId": account_id, "body": True})
        assert locked["ok"], locked["error"]
        assert_api_error(kibo.error("login", email, PASSWORD), 401, "INVALID_CREDENTIALS")

        # an unknown address gets the very same answer (void: the SDK returns nothing) and no mail
        assert kibo.ok("reset-password", "nobody.here@example.com") is None
        assert kibo.ok("reset-password", email.upper()) is None
        [mail] = smtp_server.wait_for(1)
        assert mail.rcpt_tos == [email]
        code = mail.code()
        assert code not in (tmp_path / f"server-{server.base_url.rsplit(':', 1)[1]}.log").read_text()

        # a wrong code, or a weak new password, is refused and spends nothing
        wrong = kibo.error("update-forgotten-password", email, "0" * 32, NEW_PASSWORD)
        assert_api_error(wrong, 400, "MISSING_OR_INVALID_PARAMETER", "confirmationCode")
        weak = kibo.error("update-forgotten-password", email, code, "short")
        assert_api_error(weak, 400, "MISSING_OR_INVALID_PARAMETER", "newPassword")
        # another user's name with this code
        other = kibo.ok("register", "gus.other@example.com", PASSWORD)
        assert_api_error(kibo.error("update-forgotten-password", "gus.other@example.com", code, NEW_PASSWORD), 400,
                         "MISSING_OR_INVALID_PARAMETER", "confirmationCode")

        # the code from the email sets the new password
        assert kibo.ok("update-forgotten-password", email, code, NEW_PASSWORD) is None
        assert_api_error(kibo.error("login", email, NEW_PASSWORD), 401, "INVALID_CREDENTIALS")  # the admin's lock stays
        unlocked = kibo.as_(creds=ADMIN).call("CustomerAccountApi", "setLoginLocked",
                                              {"accountId": account_id, "body": False})
        assert unlocked["ok"], unlocked["error"]
        login = kibo.ok("login", email, NEW_PASSWORD)
        assert (login["customerAccount"]["id"], login["userId"]) == (account_id, registered["userId"])
        assert_api_error(kibo.error("login", email, PASSWORD), 401, "INVALID_CREDENTIALS")
        # every ticket issued before the reset is dead; the code cannot be used twice
        assert_api_error(kibo.error("refresh", registered["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")
        assert_api_error(kibo.error("update-forgotten-password", email, code, PASSWORD + " again"), 400,
                         "MISSING_OR_INVALID_PARAMETER", "confirmationCode")
        assert kibo.ok("login", email, NEW_PASSWORD)["customerAccount"]["id"] == account_id
        # the other shopper was not touched
        assert kibo.ok("login", "gus.other@example.com", PASSWORD)["userId"] == other["userId"]
        # seconds later still: nothing was ever mailed to the unknown address (nor to anyone but Fay)
        assert {tuple(m.rcpt_tos) for m in smtp_server.messages} == {(email,)}
    finally:
        stop_server(server)
