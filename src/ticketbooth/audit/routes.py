"""/api/commerce/customer/accounts/{accountId}/AuditLog/Entries: an account's audit trail, newest first,
as Kibo's CustomerAuditEntryCollection.

Each entry is mapped to Kibo's CustomerAuditEntry (customerAccountId, customerAuditEntryId, entryDate,
entryUser, application, site, description, fieldPath, oldValue, newValue) with two fields of ours:
`eventType` (the event name, e.g. `login.failed`) and `clientAddress`. `entryUser` is the application
that acted for an administrator's action, else the account's own userId. Readable by the account's own
shopper and by applications with the customer:admin behavior (403 for anyone else, 404 for an account
that does not exist).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from ticketbooth.accounts.access import account_for
from ticketbooth.audit import service as audit
from ticketbooth.core import Core
from ticketbooth.domain.models import AuditEntry
from ticketbooth.kibo import wire
from ticketbooth.kibo.context import Context, core_of, resolve
from ticketbooth.kibo.lists import Paging, PagingParams, by_kibo_name
from ticketbooth.kibo.wire import KiboJSON, respond

router = APIRouter(prefix="/api/commerce/customer/accounts/{accountId}/auditlog", tags=["CustomerAuditLog"])

AccountId = Annotated[int, Path(ge=1, le=2**63 - 1)]
NO_FIELDS = by_kibo_name({})  # no filter or sortBy: the trail is newest first

_SENTENCES: dict[str, str] = {
    audit.Event.LOGIN_SUCCEEDED: "Logged in",
    audit.Event.LOGIN_FAILED: "Login failed",
    audit.Event.ACCOUNT_LOCKED: "Account locked",
    audit.Event.ACCOUNT_UNLOCKED: "Account unlocked",
    audit.Event.TWO_FACTOR_SENT: "Two-factor code sent",
    audit.Event.TWO_FACTOR_VERIFIED: "Two-factor code verified",
    audit.Event.TWO_FACTOR_FAILED: "Two-factor code refused",
    audit.Event.OTP_SENT: "One-time passcode sent",
    audit.Event.OTP_VERIFIED: "Logged in with a one-time passcode",
    audit.Event.OTP_FAILED: "One-time passcode refused",
    audit.Event.REFRESH_REPLAYED: "A used refresh token was presented again; its session was ended",
    audit.Event.SESSION_ENDED: "Session ended",
    audit.Event.SESSIONS_REVOKED: "Sessions ended",
    audit.Event.IMPERSONATED: "Application acted as the shopper",
    audit.Event.PASSWORD_CHANGED: "Password changed",
    audit.Event.PASSWORD_RESET_REQUESTED: "Password reset requested",
    audit.Event.PASSWORD_RESET: "Password reset with a confirmation code",
    audit.Event.PASSWORD_CHANGE_REQUIRED: "Password change requirement set",
    audit.Event.ACCOUNT_CREATED: "Account created",
    audit.Event.ACCOUNT_UPDATED: "Account updated",
    audit.Event.ACCOUNT_DISABLED: "Account disabled",
    audit.Event.ACCOUNT_DELETED: "Account deleted",
    audit.Event.CARD_ADDED: "Card saved",
    audit.Event.CARD_UPDATED: "Saved card changed",
    audit.Event.CARD_DELETED: "Saved card deleted",
    audit.Event.PO_ACCOUNT_CREATED: "Purchase order account created",
    audit.Event.PO_ACCOUNT_UPDATED: "Purchase order account changed",
    audit.Event.PO_TRANSACTION_ADDED: "Purchase order transaction added",
    audit.Event.B2B_ACCOUNT_CREATED: "B2B account created",
    audit.Event.B2B_ACCOUNT_UPDATED: "B2B account updated",
    audit.Event.B2B_USER_ADDED: "User added to the B2B account",
    audit.Event.B2B_USER_UPDATED: "User of the B2B account changed",
    audit.Event.B2B_USER_REMOVED: "User removed from the B2B account",
    audit.Event.B2B_USER_ROLE_ADDED: "Role given to a user of the B2B account",
    audit.Event.B2B_USER_ROLE_REMOVED: "Role taken from a user of the B2B account",
    audit.Event.B2B_PRIORITIES_CHANGED: "B2B account priorities changed",
    audit.Event.PASSKEY_REGISTERED: "Passkey added",
    audit.Event.PASSKEY_RENAMED: "Passkey renamed",
    audit.Event.PASSKEY_REMOVED: "Passkey removed",
    audit.Event.PASSKEY_USED: "Logged in with a passkey",
    audit.Event.PASSKEY_REFUSED: "Passkey refused",
    audit.Event.IDENTITY_LINKED: "Provider identity linked",
    audit.Event.IDENTITY_UNLINKED: "Provider identity unlinked",
    audit.Event.IDENTITY_USED: "Logged in with a provider",
}
_REASONS = {
    "bad-password": "wrong password", "locked": "the account is locked", "unknown": "unknown user",
    "no-login": "the account has no login", "address-blocked": "too many failures from this address",
    "inactive": "the account is disabled", "other-account": "the login belongs to another account",
}
_CAUSES = {
    "failed-logins": "after too many failed logins", "admin": "by an administrator",
    "password-reset": "by a password reset", "password-change": "by a password change",
    "otp-login": "by a one-time passcode login", "passkey-login": "by a passkey sign-in",
    "federated-login": "by a provider's sign-in",
}
_PASSKEY_REFUSALS = {  # passkeys/ceremony.py and passkeys/service.py name them
    "counter": "its sign counter did not grow (a cloned authenticator?)", "ceremony": "wrong origin, site or challenge",
    "signature": "the signature does not verify", "user-verification": "the user was not verified",
    "challenge": "unknown, used or expired challenge", "unknown-credential": "unknown passkey",
    "other-user": "the passkey is another account's", "account-unavailable": "the account is disabled or locked",
    "malformed": "not a credential", "user-handle": "the passkey names another user",
    "relying-party": "a passkey of another site", "password-change-required": "the password must be changed first",
}


def description(entry: AuditEntry) -> str:
    """A readable sentence for the entry, from its event and detail (which holds no secrets)."""
    detail = entry.detail or {}
    sentence = _SENTENCES.get(entry.event, entry.event)
    if entry.event == audit.Event.LOGIN_FAILED and detail.get("reason"):
        sentence += f": {_REASONS.get(str(detail['reason']), str(detail['reason']))}"
    elif entry.event in (audit.Event.ACCOUNT_LOCKED, audit.Event.ACCOUNT_UNLOCKED) and detail.get("by"):
        sentence += f" {_CAUSES.get(str(detail['by']), 'by ' + str(detail['by']))}"
        if detail.get("until"):
            sentence += f" until {detail['until']}"
    elif entry.event == audit.Event.PASSKEY_REFUSED and detail.get("reason"):
        reason = str(detail["reason"])
        sentence += f" at {detail.get('stage', 'sign-in')}: {_PASSKEY_REFUSALS.get(reason, reason)}"
    elif entry.event in (audit.Event.PASSKEY_REGISTERED, audit.Event.PASSKEY_RENAMED, audit.Event.PASSKEY_REMOVED,
                         audit.Event.PASSKEY_USED) and detail.get("passkeyId"):
        sentence += f": {detail['passkeyId']}"
    elif entry.event == audit.Event.PASSWORD_CHANGED and detail.get("by") == "admin":
        sentence += " by an administrator"
    elif entry.event == audit.Event.PASSWORD_CHANGE_REQUIRED and detail.get("required") is False:
        sentence = "Password change requirement cleared"
    elif entry.event == audit.Event.ACCOUNT_UPDATED and detail.get("fields"):
        sentence += f": {', '.join(str(f) for f in detail['fields'])}"
    elif entry.event in (audit.Event.CARD_ADDED, audit.Event.CARD_UPDATED, audit.Event.CARD_DELETED) and \
            detail.get("cardId"):
        sentence += f": {detail['cardId']}"
    elif entry.event in (audit.Event.PO_ACCOUNT_CREATED, audit.Event.PO_ACCOUNT_UPDATED) and "creditLimit" in detail:
        sentence += f": credit limit {detail['creditLimit']}"
    elif entry.event == audit.Event.PO_TRANSACTION_ADDED and "transactionAmount" in detail:
        sentence += (f": type {detail.get('transactionTypeId')}, amount {detail['transactionAmount']}, available "
                     f"balance {detail.get('availableBalance')}")
    return sentence + "."


def _field_change(entry: AuditEntry) -> tuple[str | None, str | None, str | None]:
    """fieldPath, oldValue and newValue where the event is the change of one login flag."""
    detail = entry.detail or {}
    if entry.event == audit.Event.ACCOUNT_LOCKED:
        return "isLocked", "false", "true"
    if entry.event == audit.Event.ACCOUNT_UNLOCKED:
        return "isLocked", "true", "false"
    if entry.event == audit.Event.PASSWORD_CHANGE_REQUIRED and isinstance(detail.get("required"), bool):
        new = "true" if detail["required"] else "false"
        return "isPasswordChangeRequired", None, new
    if entry.event == audit.Event.ACCOUNT_DISABLED:
        return "isActive", "true", "false"
    if entry.event == audit.Event.ACCOUNT_UPDATED and detail.get("fields"):
        return ",".join(str(f) for f in detail["fields"]), None, None
    return None, None, None


def entry_json(entry: AuditEntry, user_id: str) -> dict[str, Any]:
    """CustomerAuditEntry, with our `eventType` and `clientAddress`."""
    field_path, old, new = _field_change(entry)
    return {
        "customerAccountId": entry.account_id,
        "customerAuditEntryId": entry.id,
        "entryDate": wire.date(entry.at),
        "entryUser": entry.actor or user_id,
        "application": entry.client_id,
        "site": str(entry.site_id) if entry.site_id is not None else None,
        "description": description(entry),
        "fieldPath": field_path,
        "oldValue": old,
        "newValue": new,
        "eventType": entry.event,
        "clientAddress": entry.client_address,
    }


@router.get("/entries", summary="Get an account's audit log entries")
async def get_entries(request: Request, accountId: AccountId, paging: PagingParams,
                      responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request, shopper="optional")
    return respond(await audit_page(core_of(request), ctx, accountId, paging), responseFields)


async def audit_page(core: Core, ctx: Context, account_id: int, paging: Paging) -> dict[str, Any]:
    """A page of the account's trail as Kibo's CustomerAuditEntryCollection, for its shopper or an admin
    application (REST and GraphQL)."""
    account = await account_for(core, ctx.caller, ctx.shopper, account_id, with_parts=False)
    query = paging.query(NO_FIELDS)
    items, total = await audit.entries(core, ctx.caller.tenant.id, account.id, query.offset, query.limit)
    return wire.collection([entry_json(e, account.user_id) for e in items], query.offset, query.limit, total)
