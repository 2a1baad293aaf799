"""The topics of the event log and what an event may carry: pure rules, no I/O.

A topic is `resource.action`, lower case, as Kibo names its event topics (`customeraccount.created`).
Every topic is declared here, once, with its meaning: adding one is one line (`_topic(...)`), and
publishing it one call (`events.publish(core, tx, topics.X, ...)`). README.md's "Events" table lists them.

`entityId` is the account's id for every topic about one account (its parts and its security events
too), so a receiver that keeps order per entity sees one account's events in order; a tenant-level
resource (a segment, an attribute definition) is its own entity. `extendedProperties` hold ids only:
never an email address, a name, a password, a token or a code (`check_extended` refuses any key that
does not name an id).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TopicInfo:
    name: str
    meaning: str
    kibo: bool
    """Kibo has this topic (its name and meaning); else it is ours, in Kibo's style."""
    counted: bool
    """Counted in /metrics (`ticketbooth_events_written_total{topic}`): only topics whose count cannot tell
    whether an account exists, as audit.COUNTED_IN_METRICS decides for the audit trail."""


TOPICS: dict[str, TopicInfo] = {}


def _topic(name: str, meaning: str, *, kibo: bool = False, counted: bool = True) -> str:
    if name in TOPICS or not re.fullmatch(r"[a-z0-9]+\.[a-z0-9.]+", name):
        raise ValueError(f"bad or repeated topic {name!r}")
    TOPICS[name] = TopicInfo(name, meaning, kibo, counted)
    return name


# -- accounts ---------------------------------------------------------------------------------------
ACCOUNT_CREATED = _topic("customeraccount.created", (
    "An account was created (registration, an administrator, bulk import)."), kibo=True)
ACCOUNT_UPDATED = _topic("customeraccount.updated", (
    "An account's profile, active flag or login was changed."), kibo=True)
ACCOUNT_DELETED = _topic("customeraccount.deleted", (
    "An account was deleted (with its parts; its sessions ended)."), kibo=True)
LOGIN_NAMES_CHANGED = _topic("customeraccount.loginnameschanged", (
    "An account's email address or username (its login names) changed."))
# -- an account's parts -------------------------------------------------------------------------------
CONTACT_CREATED = _topic("customercontact.created", "A contact (address) was added to an account; extended: contactId.")
CONTACT_UPDATED = _topic("customercontact.updated", "An account's contact was changed; extended: contactId.")
CONTACT_DELETED = _topic("customercontact.deleted", "An account's contact was deleted; extended: contactId.")
ATTRIBUTE_CHANGED = _topic("customeraccount.attributechanged", (
    "An account's attribute value was set, changed or removed; extended: attributeFQN."))
NOTE_CHANGED = _topic("customeraccount.notechanged", (
    "A merchant's note on an account was added, changed or deleted; extended: noteId."))
CARD_CREATED = _topic("customercard.created", "A saved card was added to an account; extended: cardId.")
CARD_UPDATED = _topic("customercard.updated", "An account's saved card was changed; extended: cardId.")
CARD_DELETED = _topic("customercard.deleted", "An account's saved card was deleted; extended: cardId.")
# -- segments and attribute definitions (the tenant's) ----------------------------------------------------
SEGMENT_CREATED = _topic("customersegment.created", (
    "A customer segment was created; entityId: the segment id."), kibo=True)
SEGMENT_UPDATED = _topic("customersegment.updated", (
    "A customer segment was changed; entityId: the segment id."), kibo=True)
SEGMENT_DELETED = _topic("customersegment.deleted", (
    "A customer segment was deleted; entityId: the segment id."), kibo=True)
SEGMENT_ACCOUNT_ADDED = _topic("customersegment.customeradded", (
    "An account joined a segment; entityId: the account id, extended: segmentId."))
SEGMENT_ACCOUNT_REMOVED = _topic("customersegment.customerremoved", (
    "An account left a segment; entityId: the account id, extended: segmentId."))
ATTRIBUTE_DEFINITION_CREATED = _topic("customerattribute.created", (
    "A customer attribute definition was created; entityId: its id, extended: attributeFQN."))
ATTRIBUTE_DEFINITION_UPDATED = _topic("customerattribute.updated", (
    "A customer attribute definition was changed; entityId: its id, extended: attributeFQN."))
# -- customer sets -----------------------------------------------------------------------------------------
CUSTOMER_SET_CREATED = _topic("customerset.created", "A customer set was created; entityId: the customer set id.")
# -- security ------------------------------------------------------------------------------------------------
LOGIN_SUCCEEDED = _topic("customeraccount.loginsucceeded", (
    "A shopper logged in and got a ticket (password, second factor, one-time passcode, registration, "
    "Create-Login); extended: userId, sessionId, previousAnonymousUserId (the anonymous visit the login "
    "took over: merge its cart)."))
LOGIN_FAILED = _topic("customeraccount.loginfailed", (
    "An account's consecutive failed password logins reached the tenant's `lockout.failed_logins_event` "
    "(default 5; once per run of failures)."), counted=False)
ACCOUNT_LOCKED = _topic("customeraccount.locked", (
    "An account was locked (by failed logins or an administrator)."), counted=False)
ACCOUNT_UNLOCKED = _topic("customeraccount.unlocked", (
    "An account's lock was lifted (administrator, password change or reset, one-time passcode login)."))
PASSWORD_CHANGED = _topic("customeraccount.passwordchanged", (
    "An account's password was changed (by its shopper or an administrator)."))
PASSWORD_RESET = _topic("customeraccount.passwordreset", "An account's password was reset with a mailed reset code.")
REFRESH_REPLAYED = _topic("customersession.refreshreplayed", (
    "A used refresh token came back: its session was ended; entityId: the account id (an anonymous "
    "visit's userId), extended: sessionId."))
SESSION_ENDED = _topic("customersession.ended", (
    "A session was ended (logout, its shopper, an administrator); extended: sessionId, or none when every"
    " session of the account ended."))
IMPERSONATION_STARTED = _topic("customersession.impersonationstarted", (
    "An application started acting as the shopper (impersonation); extended: applicationId (the acting application)."))
# -- B2B accounts (b2b/; entityId: the B2B account id) ---------------------------------------------------------
B2B_ACCOUNT_CREATED = _topic("b2baccount.created", (
    "A B2B account was created (by a merchant, or requested from a storefront); extended: parentAccountId."))
B2B_ACCOUNT_UPDATED = _topic("b2baccount.updated", "A B2B account's details were changed.")
B2B_USER_ADDED = _topic("b2baccount.useradded", "A user was added to a B2B account; extended: userId.")
B2B_USER_UPDATED = _topic("b2baccount.userupdated", "A user of a B2B account was changed; extended: userId.")
B2B_USER_REMOVED = _topic("b2baccount.userremoved", (
    "A user was removed from a B2B account (their sessions for it ended); extended: userId."))
B2B_USER_ROLE_ADDED = _topic("b2baccount.userroleadded", (
    "A user of a B2B account was given a role there; extended: userId, roleId."))
B2B_USER_ROLE_REMOVED = _topic("b2baccount.userroleremoved", (
    "A role was taken from a user of a B2B account; extended: userId, roleId."))
B2B_STATUS_CHANGED = _topic("b2baccount.statuschanged", (
    "A B2B account was approved, denied, enabled or disabled (its sessions end when it can no longer be used)."))
B2B_PARENT_CHANGED = _topic("b2baccount.parentchanged", (
    "A B2B account moved under another parent, with everything below it; extended: parentAccountId."))
B2B_ROLE_GIVEN = _topic("b2baccount.rolegiven", "A merchant's role was given to a B2B account; extended: roleId.")
B2B_ROLE_TAKEN = _topic("b2baccount.roletaken", (
    "A merchant's role was taken from a B2B account and its users there; extended: roleId."))
B2B_SALES_REPS_CHANGED = _topic("b2baccount.salesrepschanged", "The sales reps of a B2B account changed.")
B2B_UPGRADED = _topic("b2baccount.upgraded", (
    "A B2C account became a B2B account; its shopper's login became the account's Admin."))


# -- passkeys (passkeys/; entityId: the account id) -------------------------------------------------------------
PASSKEY_ADDED = _topic("customeraccount.passkeyadded", "A passkey was added to an account; extended: passkeyId.")
PASSKEY_REMOVED = _topic("customeraccount.passkeyremoved", (
    "A passkey was removed from an account (by its shopper or an administrator); extended: passkeyId."))


_ID_KEY = re.compile(r"[a-z][A-Za-z]*(Id|FQN)")
_ID_VALUE = re.compile(r"[A-Za-z0-9_.:~@-]{1,255}")
MAX_EXTENDED = 8


def check_extended(extended: Mapping[str, object] | None) -> dict[str, str | int] | None:
    """The extended properties as stored: ids only, keys ending in `Id` or `FQN`, values ints or short id
    strings (None values left out). ValueError for anything else: a programming error, never input."""
    if not extended:
        return None
    out: dict[str, str | int] = {}
    for key, value in extended.items():
        if value is None:
            continue
        if not _ID_KEY.fullmatch(key):
            raise ValueError(f"an event's extended property must name an id, not {key!r}")
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(f"extended property {key!r} must be an id")
        if isinstance(value, str) and not _ID_VALUE.fullmatch(value):
            raise ValueError(f"extended property {key!r} is not an id")
        out[key] = value
    if len(out) > MAX_EXTENDED:
        raise ValueError("too many extended properties")
    return out or None


def check_topic(topic: str) -> str:
    if topic not in TOPICS:
        raise ValueError(f"unknown topic {topic!r}: declare it in events/rules.py")
    return topic

