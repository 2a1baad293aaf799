"""The audit trail of security events (issue 4): who did what to which account, when, from where.

Every flow that changes how an account can be reached records an entry here: logins, locks, codes,
sessions, impersonation, password changes and administrators' actions. An entry never holds a
secret: no password, code, token or hash goes into `detail`. Pass the transaction's store (`tx`)
when the event belongs to a change, so the entry commits with it or not at all.

An audit event that is also a topic of the event log (`PUBLISHED`) publishes its event here, in the same
transaction as its entry (events/, issue 17): one place for the security events.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from ticketbooth.audit.persistence import AuditTrail
from ticketbooth.caller import Caller
from ticketbooth.core import AuditListener, Core
from ticketbooth.domain.models import AuditEntry
from ticketbooth.events import rules as topics
from ticketbooth.events import service as events


class Event(StrEnum):
    LOGIN_SUCCEEDED = "login.succeeded"
    LOGIN_FAILED = "login.failed"
    ACCOUNT_LOCKED = "account.locked"
    ACCOUNT_UNLOCKED = "account.unlocked"
    TWO_FACTOR_SENT = "2fa.sent"
    TWO_FACTOR_VERIFIED = "2fa.verified"
    TWO_FACTOR_FAILED = "2fa.failed"
    OTP_SENT = "otp.sent"
    OTP_VERIFIED = "otp.verified"
    OTP_FAILED = "otp.failed"
    REFRESH_REPLAYED = "refresh.replayed"
    SESSION_ENDED = "session.ended"
    SESSIONS_REVOKED = "sessions.revoked"
    IMPERSONATED = "impersonation.started"
    PASSWORD_CHANGED = "password.changed"
    PASSWORD_RESET_REQUESTED = "password.reset-requested"
    PASSWORD_RESET = "password.reset"
    PASSWORD_CHANGE_REQUIRED = "password.change-required"
    ACCOUNT_CREATED = "account.created"
    ACCOUNT_UPDATED = "account.updated"
    ACCOUNT_DISABLED = "account.disabled"
    ACCOUNT_DELETED = "account.deleted"
    SETTINGS_CHANGED = "settings.changed"
    CARD_ADDED = "card.added"
    CARD_UPDATED = "card.updated"
    CARD_DELETED = "card.deleted"
    PO_ACCOUNT_CREATED = "po-account.created"
    PO_ACCOUNT_UPDATED = "po-account.updated"
    PO_TRANSACTION_ADDED = "po-transaction.added"
    B2B_ACCOUNT_CREATED = "b2b.account-created"
    B2B_ACCOUNT_UPDATED = "b2b.account-updated"
    B2B_USER_ADDED = "b2b.user-added"
    B2B_USER_UPDATED = "b2b.user-updated"
    B2B_USER_REMOVED = "b2b.user-removed"
    B2B_USER_ROLE_ADDED = "b2b.user-role-added"
    B2B_USER_ROLE_REMOVED = "b2b.user-role-removed"
    B2B_PRIORITIES_CHANGED = "b2b.priorities-changed"
    APPLICATION_CREATED = "application.created"
    APPLICATION_CHANGED = "application.changed"
    APPLICATION_SECRET_ROTATED = "application.secret-rotated"
    SIGNING_KEY_ROTATED = "signing-key.rotated"
    WEBHOOK_SUBSCRIPTION_CREATED = "webhook.subscription-created"
    WEBHOOK_SUBSCRIPTION_CHANGED = "webhook.subscription-changed"
    WEBHOOK_REDELIVERED = "webhook.redelivered"
    # Staff of the web console (staff/service.py): tenant-level entries (no account), `actor` staff:<email>
    STAFF_CREATED = "staff.created"
    STAFF_ENROLLED = "staff.enrolled"
    STAFF_SIGNED_IN = "staff.signed-in"
    STAFF_SIGN_IN_FAILED = "staff.sign-in-failed"
    STAFF_LOCKED = "staff.locked"
    STAFF_RECOVERY_CODE_USED = "staff.recovery-code-used"
    STAFF_REAUTHENTICATED = "staff.reauthenticated"
    STAFF_SIGNED_OUT = "staff.signed-out"
    STAFF_SESSIONS_REVOKED = "staff.sessions-revoked"
    STAFF_DISABLED = "staff.disabled"
    STAFF_ENABLED = "staff.enabled"
    STAFF_SECOND_FACTOR_RESET = "staff.second-factor-reset"
    # B2B: merchant roles, hierarchy, status, sales reps, upgrades (b2b-more)
    B2B_ROLE_CREATED = "b2b.role-created"
    B2B_ROLE_UPDATED = "b2b.role-updated"
    B2B_ROLE_DELETED = "b2b.role-deleted"
    B2B_ROLE_GIVEN = "b2b.role-given"
    B2B_ROLE_TAKEN = "b2b.role-taken"
    B2B_ROLE_INHERITANCE = "b2b.role-inheritance"
    B2B_PARENT_CHANGED = "b2b.parent-changed"
    B2B_STATUS_CHANGED = "b2b.status-changed"
    B2B_SALES_REPS_CHANGED = "b2b.sales-reps-changed"
    B2B_UPGRADED = "b2b.upgraded"
    # Passkeys (passkeys/service.py): detail holds the passkey's id and fixed words, never a key or challenge
    PASSKEY_REGISTERED = "passkey.registered"
    PASSKEY_RENAMED = "passkey.renamed"
    PASSKEY_REMOVED = "passkey.removed"
    PASSKEY_USED = "passkey.used"
    PASSKEY_REFUSED = "passkey.refused"


COUNTED_IN_METRICS = frozenset({
    Event.LOGIN_SUCCEEDED, Event.LOGIN_FAILED, Event.ACCOUNT_UNLOCKED, Event.TWO_FACTOR_SENT,
    Event.TWO_FACTOR_VERIFIED, Event.OTP_VERIFIED, Event.OTP_FAILED, Event.REFRESH_REPLAYED, Event.SESSION_ENDED,
    Event.SESSIONS_REVOKED, Event.IMPERSONATED, Event.PASSWORD_CHANGED, Event.PASSWORD_RESET_REQUESTED,
    Event.PASSWORD_RESET, Event.PASSWORD_CHANGE_REQUIRED, Event.ACCOUNT_CREATED, Event.ACCOUNT_UPDATED,
    Event.ACCOUNT_DISABLED, Event.ACCOUNT_DELETED, Event.SETTINGS_CHANGED,
})
"""The events /metrics counts: those an outsider causes only with an answer that already says as much,
or equally for real and made-up accounts (a failed login is recorded for both). Left out, because
they happen only for a real account while the caller's answer is the same for any name: `otp.sent`
(/otp/request answers 204 either way), `account.locked` (every failed login answers 401) and
`2fa.failed` (recorded only for a user id with a pending login). They stay in the audit trail. A new
event is left out until it is added here: a counter must never tell whether an account exists."""


PUBLISHED: dict[Event, tuple[str, tuple[str, ...]]] = {
    Event.ACCOUNT_CREATED: (topics.ACCOUNT_CREATED, ()),
    Event.ACCOUNT_DELETED: (topics.ACCOUNT_DELETED, ()),
    Event.ACCOUNT_LOCKED: (topics.ACCOUNT_LOCKED, ()),
    Event.ACCOUNT_UNLOCKED: (topics.ACCOUNT_UNLOCKED, ()),
    Event.PASSWORD_CHANGED: (topics.PASSWORD_CHANGED, ()),
    Event.PASSWORD_RESET: (topics.PASSWORD_RESET, ()),
    Event.SESSION_ENDED: (topics.SESSION_ENDED, ("sessionId",)),
    Event.SESSIONS_REVOKED: (topics.SESSION_ENDED, ()),
    Event.CARD_ADDED: (topics.CARD_CREATED, ("cardId",)),
    Event.CARD_UPDATED: (topics.CARD_UPDATED, ("cardId",)),
    Event.CARD_DELETED: (topics.CARD_DELETED, ("cardId",)),
    Event.B2B_ACCOUNT_CREATED: (topics.B2B_ACCOUNT_CREATED, ("parentAccountId",)),
    Event.B2B_ACCOUNT_UPDATED: (topics.B2B_ACCOUNT_UPDATED, ()),
    Event.B2B_USER_ADDED: (topics.B2B_USER_ADDED, ("userId",)),
    Event.B2B_USER_UPDATED: (topics.B2B_USER_UPDATED, ("userId",)),
    Event.B2B_USER_REMOVED: (topics.B2B_USER_REMOVED, ("userId",)),
    Event.B2B_USER_ROLE_ADDED: (topics.B2B_USER_ROLE_ADDED, ("userId", "roleId")),
    Event.B2B_USER_ROLE_REMOVED: (topics.B2B_USER_ROLE_REMOVED, ("userId", "roleId")),
    Event.B2B_STATUS_CHANGED: (topics.B2B_STATUS_CHANGED, ()),
    Event.B2B_PARENT_CHANGED: (topics.B2B_PARENT_CHANGED, ("parentAccountId",)),
    Event.B2B_ROLE_GIVEN: (topics.B2B_ROLE_GIVEN, ("roleId",)),
    Event.B2B_ROLE_TAKEN: (topics.B2B_ROLE_TAKEN, ("roleId",)),
    Event.B2B_SALES_REPS_CHANGED: (topics.B2B_SALES_REPS_CHANGED, ()),
    Event.B2B_UPGRADED: (topics.B2B_UPGRADED, ()),
    Event.PASSKEY_REGISTERED: (topics.PASSKEY_ADDED, ("passkeyId",)),
    Event.PASSKEY_REMOVED: (topics.PASSKEY_REMOVED, ("passkeyId",)),
}
"""The audit events that publish an event of the log, about their account (`entityId`), and the keys of
their `detail` (ids) that go into its extendedProperties. The others publish theirs where they happen
(account updates, logins, replays, impersonation), or none (codes sent, 2FA and one-time passcodes)."""


def listen(core: Core, listener: AuditListener) -> None:
    """Call `listener` with every event `core` records, after it is stored (metrics count them so).
    The listeners belong to the core, not to the process."""
    if listener not in core.audit_listeners:
        core.audit_listeners.append(listener)


async def record(
    core: Core, event: Event, *, caller: Caller | None = None, tenant_id: int | None = None,
    account_id: int | None = None, actor: str | None = None, detail: dict[str, Any] | None = None,
    store: AuditTrail | None = None, user_id: str | None = None,
) -> None:
    """Store one entry. The tenant, site, client address and application come from `caller` when
    given (else `tenant_id` is required). `actor` names who acted when it is not the account's
    shopper (an application's client id for admin actions, for example). The entry is tied to the
    account's user id as well as its id: the store reads it when `user_id` is not given, so it must
    be given for an account that no longer exists (its deletion)."""
    row = entry(core, event, caller=caller, tenant_id=tenant_id, account_id=account_id, actor=actor, detail=detail,
                user_id=user_id)
    published = PUBLISHED.get(event) if account_id is not None else None
    if published is None:
        await (store or core.store).add_audit_entries([row])
    elif store is None:  # the entry and its event together all the same
        async with core.store.transaction() as tx:
            await tx.add_audit_entries([row])
            await _publish(core, tx, published, caller, tenant_id, account_id, detail)
    else:
        await store.add_audit_entries([row])
        await _publish(core, store, published, caller, tenant_id, account_id, detail)
    recorded(core, event)


async def _publish(core: Core, store: AuditTrail, published: tuple[str, tuple[str, ...]], caller: Caller | None,
                   tenant_id: int | None, account_id: int | None, detail: dict[str, Any] | None) -> None:
    topic, keys = published
    assert account_id is not None
    await events.publish(core, store, topic, entity_id=account_id, caller=caller, tenant_id=tenant_id,
                         extended={key: (detail or {}).get(key) for key in keys})


def entry(
    core: Core, event: Event, *, caller: Caller | None = None, tenant_id: int | None = None,
    account_id: int | None = None, actor: str | None = None, detail: dict[str, Any] | None = None,
    user_id: str | None = None,
) -> dict[str, Any]:
    """The row of one entry (see `record`), for a store method that writes it with its change; call
    `recorded` once it is stored. A store method that inserts the row itself (not through
    `add_audit_entries`) needs the account's `user_id` given here, or the entry is in no account's
    trail."""
    if caller is None and tenant_id is None:
        raise ValueError("an audit entry needs a caller or a tenant")
    return {
        "tenant_id": caller.tenant.id if caller else tenant_id,
        "site_id": caller.site.id if caller else None,
        "account_id": account_id,
        "user_id": user_id,
        "event": str(event),
        "at": core.clock.now(),
        "client_address": (caller.client_address or None) if caller else None,
        "client_id": caller.app.client_id if caller else None,
        "actor": actor,
        "detail": detail or None,
    }


def recorded(core: Core, event: Event) -> None:
    """Tell the core's listeners that an entry of `event` was stored."""
    for listener in core.audit_listeners:
        listener(event)


async def entries(core: Core, tenant_id: int, account_id: int, start: int, size: int) -> tuple[list[AuditEntry], int]:
    """One page of an account's trail, newest first, and the total (the entries of this account, not
    of an earlier one that had its id)."""
    return await core.store.audit_entries(tenant_id, account_id, start, size)

