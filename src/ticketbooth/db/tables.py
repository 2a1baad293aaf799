"""The schema, as SQLAlchemy Core tables. Migrations under migrations/ must produce exactly this
(a test compares them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps are always aware UTC in Python, whatever the database keeps (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        parsed: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# BigInteger primary keys that still autoincrement on SQLite (where only INTEGER PRIMARY KEY does).
BigId = BigInteger().with_variant(Integer(), "sqlite")


def _ts(name: str, nullable: bool = False) -> Column[object]:
    return Column(name, UtcDateTime(), nullable=nullable)


server_secrets = Table(
    "server_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", LargeBinary, nullable=False),
)

tenants = Table(
    "tenants",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("settings", JSON, nullable=False),
    _ts("created_at"),
)

customer_sets = Table(
    "customer_sets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("tenant_id", Integer, ForeignKey("tenants.id"), nullable=False),
    Column("code", String(100), nullable=False),
    Column("name", String(200), nullable=False),
    Column("is_default", Boolean, nullable=False),
    _ts("created_at"),
    UniqueConstraint("tenant_id", "code"),
)

sites = Table(
    "sites",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("tenant_id", Integer, ForeignKey("tenants.id"), nullable=False, index=True),
    Column("customer_set_id", Integer, ForeignKey("customer_sets.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("settings", JSON, nullable=False, default=dict),
    _ts("created_at"),
)

applications = Table(
    "applications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", String(200), nullable=False, unique=True),
    Column("tenant_id", Integer, ForeignKey("tenants.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("secret_hash", String(200), nullable=False),
    Column("behaviors", JSON, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("storefront_server", Boolean, nullable=False, default=False, server_default=false()),
    _ts("created_at"),
    _ts("updated_at"),
)

app_refresh_tokens = Table(
    "app_refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("application_id", Integer, ForeignKey("applications.id"), nullable=False, index=True),
    _ts("created_at"),
    _ts("expires_at"),
    _ts("revoked_at", nullable=True),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("algorithm", String(16), nullable=False),
    Column("private_pem", LargeBinary, nullable=False),
    Column("public_jwk", JSON, nullable=False),
    _ts("created_at"),
    _ts("retired_at", nullable=True),
    _ts("publish_until", nullable=True),
)

# AUTOINCREMENT on SQLite (migration 0005e): an id is never handed out twice, even after the account
# that had the highest one is deleted, so nothing kept under a deleted account's id (its audit trail,
# its sessions, a ticket JWT naming it) can ever be taken for a later account's. PostgreSQL's
# sequences never hand an id out twice anyway.
accounts = Table(
    "accounts",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("tenant_id", Integer, ForeignKey("tenants.id"), nullable=False),
    Column("customer_set_id", Integer, ForeignKey("customer_sets.id"), nullable=False),
    Column("user_id", String(32), nullable=False, unique=True),
    Column("email", String(320), nullable=True),
    Column("email_key", String(320), nullable=True),
    Column("username", String(320), nullable=True),
    Column("username_key", String(320), nullable=True),
    Column("password_hash", String(500), nullable=True),
    Column("password_changed_at", UtcDateTime(), nullable=True),
    Column("has_external_password", Boolean, nullable=False, default=False),
    Column("migration_required", Boolean, nullable=False, default=False),
    Column("first_name", String(200), nullable=True),
    Column("last_name", String(200), nullable=True),
    Column("company_or_organization", String(200), nullable=True),
    Column("tax_exempt", Boolean, nullable=False, default=False),
    Column("tax_id", String(100), nullable=True),
    Column("accepts_marketing", Boolean, nullable=False, default=False),
    Column("external_id", String(200), nullable=True),
    Column("locale_code", String(20), nullable=True),
    Column("account_type", String(50), nullable=True),
    Column("is_active", Boolean, nullable=False, default=True),
    Column("is_locked", Boolean, nullable=False, default=False),
    Column("locked_at", UtcDateTime(), nullable=True),
    Column("lock_expires_at", UtcDateTime(), nullable=True),
    # set by an administrator's lock (Set-Login-Locked), which only an administrator lifts; a lock reached
    # by failed passwords leaves it false and may be lifted by a password reset or a one-time-code login
    Column("locked_by_admin", Boolean, nullable=False, default=False, server_default=false()),
    Column("password_change_required", Boolean, nullable=False, default=False, server_default=false()),
    Column("failed_login_count", Integer, nullable=False, default=0, server_default="0"),
    Column("first_failed_login_at", UtcDateTime(), nullable=True),
    Column("last_2fa_at", UtcDateTime(), nullable=True),
    Column("last_login_at", UtcDateTime(), nullable=True),
    _ts("created_at"),
    Column("created_by", String(200), nullable=True),
    _ts("updated_at"),
    Column("updated_by", String(200), nullable=True),
    Index(None, "customer_set_id", "email_key"),
    Index(None, "customer_set_id", "username_key"),  # 0009_console_search
    Index(None, "customer_set_id"),  # a set's accounts counted, and read in id order unsorted (0009_console_search)
    sqlite_autoincrement=True,
)

# The free-text search's trigram index (0009_console_search), which no Table here describes:
# - SQLite: the FTS5 table `account_search` (trigram tokenizer, external content: `accounts`) over the
#   columns below, kept by triggers; FTS5 keeps its index in shadow tables named after it.
# - PostgreSQL: the GIN (pg_trgm) index `accounts_search_text` over `ACCOUNT_SEARCH_TEXT`, the searched
#   fields as the list compares them (login keys as stored, other text lower-cased) joined by \x01.
#   A query uses the index only when it writes the expression exactly so.
ACCOUNT_SEARCH_TABLE = "account_search"
ACCOUNT_SEARCH_COLUMNS = ("email_key", "username_key", "first_name", "last_name", "external_id")
ACCOUNT_SEARCH_TEXT = ("(coalesce(email_key, '') || chr(1) || coalesce(username_key, '') || chr(1) || "
                       "lower(coalesce(first_name, '')) || chr(1) || lower(coalesce(last_name, '')) || chr(1) || "
                       "lower(coalesce(external_id, '')))")


ACCOUNT_SEARCH_INDEX = "accounts_search_text"
ACCOUNT_EXPRESSION_INDEXES = frozenset({ACCOUNT_SEARCH_INDEX, "ix_accounts_first_name_lower", "ix_accounts_last_name_lower"})
"""Indexes of 0009_console_search over expressions, which no Table here describes: the trigram index
(PostgreSQL) and (customer_set_id, lower(first_name / last_name)), which a filter on a name uses."""


def is_search_index_table(name: str) -> bool:
    """The FTS5 table of the account search or one of its shadow tables (SQLite)."""
    return name == ACCOUNT_SEARCH_TABLE or name.startswith(ACCOUNT_SEARCH_TABLE + "_")

# Usernames and emails are one namespace per customer set (a login may give either), enforced here:
# one row per name an account logs in with, so two accounts can never claim the same name, whichever
# column it came from, even when they register at the same moment.
login_names = Table(
    "login_names",
    metadata,
    Column("customer_set_id", Integer, primary_key=True),
    Column("name_key", String(320), primary_key=True),
    Column("account_id", BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True),
)

token_families = Table(
    "token_families",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("tenant_id", Integer, nullable=False),
    Column("site_id", Integer, nullable=False),
    Column("customer_set_id", Integer, nullable=False),
    Column("application_id", Integer, nullable=False),
    Column("client_id", String(200), nullable=False),
    Column("user_id", String(32), nullable=False),
    Column("account_id", BigInteger, nullable=True, index=True),
    Column("is_anonymous", Boolean, nullable=False),
    Column("previous_anonymous_user_id", String(32), nullable=True),
    _ts("created_at"),
    _ts("expires_at"),
    Column("access_ttl_seconds", Integer, nullable=False),
    Column("refresh_ttl_seconds", Integer, nullable=False),
    _ts("revoked_at", nullable=True),
    Column("revoke_reason", String(50), nullable=True),
    Column("client_address", String(64), nullable=True),
    Column("user_agent", String(300), nullable=True),
    Column("acting_client_id", String(200), nullable=True),
    Column("amr", String(32), nullable=True),
    Column("two_factor_met", String(64), nullable=True),
    # a B2B user's session (migration 0007_b2b): `account_id` is the B2B account the ticket is for and
    # this is the user's own `accounts` row (their login); NULL for every other session (indexed by
    # migration 0008_b2b_core: ending a login's sessions ends these too)
    Column("user_account_id", BigInteger, nullable=True, index=True),
)

tickets = Table(
    "tickets",
    metadata,
    Column("refresh_hash", String(64), primary_key=True),
    Column("access_hash", String(64), nullable=False, unique=True),
    Column("family_id", String(32), nullable=False),
    Column("generation", Integer, nullable=False),
    Column("jti", String(32), nullable=False),
    _ts("issued_at"),
    _ts("access_expires_at"),
    _ts("refresh_expires_at"),
    _ts("used_at", nullable=True),
    Index(None, "family_id"),
)


# -- account parts (migration 0002) ------------------------------------------------------------------

contacts = Table(
    "contacts",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("account_id", BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("email", String(320), nullable=True),
    Column("first_name", String(200), nullable=True),
    Column("middle_name_or_initial", String(200), nullable=True),
    Column("last_name_or_surname", String(200), nullable=True),
    Column("company_or_organization", String(200), nullable=True),
    Column("fax_number", String(50), nullable=True),
    Column("label", String(200), nullable=True),
    Column("address", JSON, nullable=True),
    Column("phone_numbers", JSON, nullable=True),
    Column("types", JSON, nullable=False),
    _ts("created_at"),
    Column("created_by", String(200), nullable=True),
    _ts("updated_at"),
    Column("updated_by", String(200), nullable=True),
)

notes = Table(
    "notes",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("account_id", BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("content", Text, nullable=False),
    _ts("created_at"),
    Column("created_by", String(200), nullable=True),
    _ts("updated_at"),
    Column("updated_by", String(200), nullable=True),
)

attribute_definitions = Table(
    "attribute_definitions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("tenant_id", Integer, ForeignKey("tenants.id"), nullable=False),
    Column("fqn", String(300), nullable=False),
    Column("definition", JSON, nullable=False),
    _ts("created_at"),
    Column("created_by", String(200), nullable=True),
    _ts("updated_at"),
    Column("updated_by", String(200), nullable=True),
    UniqueConstraint("tenant_id", "fqn"),
)

account_attributes = Table(
    "account_attributes",
    metadata,
    Column("account_id", BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("definition_id", Integer, ForeignKey("attribute_definitions.id", ondelete="CASCADE"), primary_key=True),
    Column("attribute_values", JSON, nullable=False),
    _ts("created_at"),
    Column("created_by", String(200), nullable=True),
    _ts("updated_at"),
    Column("updated_by", String(200), nullable=True),
)

segments = Table(
    "segments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("tenant_id", Integer, ForeignKey("tenants.id"), nullable=False),
    Column("code", String(100), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", String(1000), nullable=True),
    _ts("created_at"),
    Column("created_by", String(200), nullable=True),
    _ts("updated_at"),
    Column("updated_by", String(200), nullable=True),
    UniqueConstraint("tenant_id", "code"),
)

segment_accounts = Table(
    "segment_accounts",
    metadata,
    Column("segment_id", Integer, ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True),
    Column("account_id", BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, index=True),
    _ts("created_at"),
)

# Saved payment cards (migration 0006): what Kibo's Card holds, never a card number or security code.
# `card_id` is the card's id on the wire (the payment service's card id, or one made up), unique in the
# tenant, so that no account can attach a card another account holds. `id` only orders an account's
# cards; AUTOINCREMENT on SQLite, so it is never handed out twice. No foreign key to contacts: deleting
# the billing contact leaves the card as it was (Kibo's storefront deletes the contact, then the card).
# One default card per account: the service switches it under the account's row lock, and the partial
# unique index refuses a second one whatever happens.
cards = Table(
    "cards",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("tenant_id", Integer, nullable=False),
    Column("account_id", BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("card_id", String(100), nullable=False),
    Column("name_on_card", String(200), nullable=True),
    Column("card_type", String(50), nullable=True),
    Column("expire_month", Integer, nullable=True),
    Column("expire_year", Integer, nullable=True),
    Column("card_number_part", String(30), nullable=True),
    Column("contact_id", BigInteger, nullable=False),
    Column("is_default", Boolean, nullable=False),
    _ts("created_at"),
    Column("created_by", String(200), nullable=True),
    _ts("updated_at"),
    Column("updated_by", String(200), nullable=True),
    UniqueConstraint("tenant_id", "card_id"),
    Index("ix_cards_one_default", "account_id", unique=True, sqlite_where=text("is_default"),
          postgresql_where=text("is_default")),
    sqlite_autoincrement=True,
)

# Single-use codes sent to a shopper (password reset now; 2FA and one-time passcodes later). Only
# a hash of the code is kept.
account_codes = Table(
    "account_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("purpose", String(20), nullable=False),
    Column("account_id", BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True),
    _ts("created_at"),
    _ts("expires_at"),
    _ts("used_at", nullable=True),
    Column("failed_attempts", Integer, nullable=False, default=0),
)

# Mail waiting to be sent, written in the same transaction as the change that causes it. The
# message is kept encrypted (it may carry a code) and dropped once delivered.
outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("tenant_id", Integer, nullable=False),
    Column("kind", String(50), nullable=False),
    Column("message", LargeBinary, nullable=True),
    _ts("created_at"),
    _ts("next_attempt_at"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", String(500), nullable=True),
    Column("claimed_by", String(64), nullable=True),
    _ts("claimed_until", nullable=True),
    _ts("sent_at", nullable=True),
    _ts("failed_at", nullable=True),
    Index(None, "sent_at", "next_attempt_at"),
)


# -- account protection (migration 0003) -------------------------------------------------------------

# A login waiting for its emailed code: a 2FA challenge (after the right password; found by the
# hash of its pending access token) or a one-time-passcode login (found by account). Only an HMAC of
# the code is kept.
login_challenges = Table(
    "login_challenges",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("purpose", String(10), nullable=False),
    Column("account_id", BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("tenant_id", Integer, nullable=False),
    Column("site_id", Integer, nullable=False),
    Column("application_id", Integer, nullable=False),
    Column("token_hash", String(64), nullable=True, unique=True),
    Column("code_hash", String(64), nullable=False),
    _ts("created_at"),
    _ts("expires_at"),
    _ts("used_at", nullable=True),
    Column("failed_attempts", Integer, nullable=False, default=0),
    # wrong codes sent with the userId alone (no pending token): an allowance of their own, so that
    # whoever knows a userId cannot spend the tries of the client that passed the password
    Column("user_id_failed_attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("sends", Integer, nullable=False, default=1),
    _ts("last_sent_at"),
    Column("context", JSON, nullable=False),
)

# Device fingerprints and regions an account has completed a login from (for the 2FA triggers
# "new device" and "region change"); only a hash of each value is kept.
known_devices = Table(
    "known_devices",
    metadata,
    Column("account_id", BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(12), primary_key=True),
    Column("value_hash", String(64), primary_key=True),
    _ts("first_seen_at"),
    _ts("last_seen_at"),
)

# Security events. No foreign key to accounts: an account's trail outlives the account for the
# tenant's retention period. An entry names its account by id AND user id (migration 0005e), and an
# account's trail is read by both, so no entry of one account is ever shown as another's.
audit_entries = Table(
    "audit_entries",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("tenant_id", Integer, nullable=False),
    Column("site_id", Integer, nullable=True),
    Column("account_id", BigInteger, nullable=True),
    Column("user_id", String(32), nullable=True),
    Column("event", String(50), nullable=False),
    _ts("at"),
    Column("client_address", String(64), nullable=True),
    Column("client_id", String(200), nullable=True),
    Column("actor", String(200), nullable=True),
    Column("detail", JSON, nullable=True),
    Index(None, "account_id", "at"),
    Index(None, "at"),
)


# -- B2B accounts (migration 0007_b2b) ----------------------------------------------------------------

# A B2B account is a customer account (`accounts` row, account_type "B2B") that never logs in itself: no
# password, no login names. What only a B2B account has sits here. `root_account_id` is the top of its
# hierarchy (itself for a top account) and `depth` its distance from it (0 at the top); both are kept by
# the flows that change a parent, under the root's row lock.
b2b_accounts = Table(
    "b2b_accounts",
    metadata,
    Column("account_id", BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("tenant_id", Integer, nullable=False),
    Column("parent_account_id", BigInteger, ForeignKey("accounts.id"), nullable=True, index=True),
    Column("root_account_id", BigInteger, nullable=False, index=True),
    Column("depth", Integer, nullable=False, default=0),
    # Kibo's approval statuses: PendingApproval, Approved, Denied
    Column("approval_status", String(20), nullable=False),
    Column("price_list", String(100), nullable=True),
    _ts("created_at"),
    _ts("updated_at"),
)

# A user of a B2B account. The user is a login identity: an `accounts` row of account_type "B2BUser"
# (its email, username, password, lockout and 2FA state are the usual ones), never listed among customer
# accounts. One user may belong to several B2B accounts; `priority` orders them (the account a login
# without `accountId` chooses: the lowest priority number first, then the oldest membership).
b2b_users = Table(
    "b2b_users",
    metadata,
    Column("account_id", BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("user_account_id", BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("tenant_id", Integer, nullable=False),
    Column("priority", Integer, nullable=True),
    Column("is_active", Boolean, nullable=False, default=True),
    Column("is_removed", Boolean, nullable=False, default=False),
    _ts("created_at"),
    Column("created_by", String(200), nullable=True),
    _ts("updated_at"),
    Column("updated_by", String(200), nullable=True),
    Index(None, "user_account_id"),
)

# Roles. Rows 1-3 are Kibo's built-in roles (Admin, Purchaser, Non-Purchaser; tenant_id NULL, seeded by
# the migration; their behaviors are defined in code, b2b/rules.py). A merchant's roles have ids from
# 1001 on, belong to one tenant, and are either tenant-wide (no rows in b2b_role_accounts) or given to
# the accounts listed there. AUTOINCREMENT on SQLite: a deleted role's id is never handed out again.
b2b_roles = Table(
    "b2b_roles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("tenant_id", Integer, nullable=True, index=True),
    Column("name", String(100), nullable=False),
    Column("is_system", Boolean, nullable=False, default=False),
    _ts("created_at"),
    Column("created_by", String(200), nullable=True),
    _ts("updated_at"),
    Column("updated_by", String(200), nullable=True),
    sqlite_autoincrement=True,
)

# The behaviors of a merchant's role (built-in roles' behaviors are in code).
b2b_role_behaviors = Table(
    "b2b_role_behaviors",
    metadata,
    Column("role_id", Integer, ForeignKey("b2b_roles.id", ondelete="CASCADE"), primary_key=True),
    Column("behavior_id", Integer, primary_key=True),
)

# The accounts a merchant's role is given to; `apply_to_future_children`: child accounts created under
# this account later get the role too.
b2b_role_accounts = Table(
    "b2b_role_accounts",
    metadata,
    Column("role_id", Integer, ForeignKey("b2b_roles.id", ondelete="CASCADE"), primary_key=True),
    Column("account_id", BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("apply_to_future_children", Boolean, nullable=False, default=False),
    Index(None, "account_id"),
)

# A user's roles in one B2B account. A user's behaviors there are the union of their roles'.
b2b_user_roles = Table(
    "b2b_user_roles",
    metadata,
    Column("account_id", BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("user_account_id", BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", Integer, ForeignKey("b2b_roles.id", ondelete="CASCADE"), primary_key=True),
    _ts("created_at"),
    Column("created_by", String(200), nullable=True),
    Index(None, "user_account_id"),
    Index(None, "role_id"),
)

# Sales reps: the merchant's admin users (an id of the merchant's own user directory, as Kibo's
# `adminUserId`) assigned to B2B accounts.
b2b_sales_reps = Table(
    "b2b_sales_reps",
    metadata,
    Column("account_id", BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("admin_user_id", String(200), primary_key=True),
    _ts("created_at"),
    Index(None, "admin_user_id"),
)


# -- events (migration 0007_events) ---------------------------------------------------------------------

# The event log (issue 17): one row per change or security event, written in the same transaction as the
# change. Ids only, never a secret or personal data: `entity_id` names the entity (an account id, a user
# id...), `extended_properties` holds more ids. `dispatched_at` is set once the event's deliveries to the
# matching subscriptions are created (webhooks/). AUTOINCREMENT on SQLite: `id` orders the log.
events = Table(
    "events",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("tenant_id", Integer, nullable=False),
    Column("site_id", Integer, nullable=True),
    Column("topic", String(100), nullable=False),
    Column("entity_id", String(100), nullable=False),
    Column("correlation_id", String(100), nullable=True),
    Column("is_test", Boolean, nullable=False, default=False),
    Column("extended_properties", JSON, nullable=True),
    _ts("created_at"),
    _ts("dispatched_at", nullable=True),
    Index(None, "tenant_id", "id"),
    Index(None, "tenant_id", "topic", "id"),
    Index("ix_events_undispatched", "id", sqlite_where=text("dispatched_at IS NULL"),
          postgresql_where=text("dispatched_at IS NULL")),
    sqlite_autoincrement=True,
)


# Purchase-order accounts (purchase_orders/): one per account at most. Money in integer minor units
# (cents), never floats. `overdraft_amount` is how far below zero `available_balance` may go, kept
# with the settings it follows from (credit limit, allowance and its type), so that a debit's one
# conditional UPDATE compares two columns of the row it changes.
po_accounts = Table(
    "po_accounts",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("tenant_id", Integer, nullable=False),
    Column("account_id", BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, unique=True),
    Column("is_enabled", Boolean, nullable=False),
    Column("credit_limit", BigInteger, nullable=False),
    Column("available_balance", BigInteger, nullable=False),
    Column("overdraft_allowance", BigInteger, nullable=True),
    Column("overdraft_allowance_type", String(10), nullable=True),
    Column("overdraft_amount", BigInteger, nullable=False),
    Column("payment_terms", JSON, nullable=True),
    _ts("created_at"),
    Column("created_by", String(200), nullable=True),
    _ts("updated_at"),
    Column("updated_by", String(200), nullable=True),
    sqlite_autoincrement=True,
)

# Every change of a purchase-order account's balance or credit limit, with the balance after it.
po_transactions = Table(
    "po_transactions",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("po_account_id", BigInteger, ForeignKey("po_accounts.id", ondelete="CASCADE"), nullable=False),
    Column("account_id", BigInteger, nullable=False),
    Column("tenant_id", Integer, nullable=False),
    Column("site_id", Integer, nullable=True),
    Column("transaction_type", Integer, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("credit_limit", BigInteger, nullable=False),
    Column("available_balance", BigInteger, nullable=False),
    Column("order_id", String(100), nullable=True),
    Column("purchase_order_number", String(100), nullable=True),
    Column("external_id", String(100), nullable=True),
    Column("additional_detail", String(1000), nullable=True),
    Column("author", String(200), nullable=True),
    _ts("transaction_date"),
    _ts("created_at"),
    Column("created_by", String(200), nullable=True),
    _ts("updated_at"),
    Column("updated_by", String(200), nullable=True),
    Index(None, "po_account_id", "id"),
    sqlite_autoincrement=True,
)


# -- webhooks (migration 0008_webhooks) --------------------------------------------------------------------

# A push subscription (Kibo's ApplicationSubscription): an application of a tenant asks for the events of
# some topics at an endpoint. `secret` is the signing secret, sealed (AES-GCM under the server secret, as the
# outbox's mail): it is shown once, when the subscription is created, and never stored in clear.
webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", Integer, nullable=False),
    Column("client_id", String(200), nullable=False),
    Column("endpoint", String(2000), nullable=False),
    Column("topics", JSON, nullable=False),
    Column("package_id", Integer, nullable=True),
    Column("is_active", Boolean, nullable=False, default=True),
    Column("secret", LargeBinary, nullable=False),
    _ts("created_at"),
    _ts("updated_at"),
    Index(None, "tenant_id", "id"),
    sqlite_autoincrement=True,
)

# One delivery of one event to one subscription: the body is fixed when the delivery is created (the same
# bytes and eventId on every attempt). Claimed with a lease (`claimed_by`, `claimed_until`); `status` is
# pending, delivered or failed (given up, kept for inspection and redelivery). Retries stop
# `webhook_retry_for_seconds` after `retry_since` (its creation, or its last redelivery). No personal data, no secret:
# `last_error` says what went wrong in our words, never the receiver's answer.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("subscription_id", Integer, ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), nullable=False),
    Column("tenant_id", Integer, nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("topic", String(100), nullable=False),
    Column("entity_id", String(100), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    _ts("created_at"),
    _ts("retry_since"),
    _ts("next_attempt_at"),
    Column("claimed_by", String(64), nullable=True),
    _ts("claimed_until", nullable=True),
    _ts("last_attempt_at", nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", String(500), nullable=True),
    _ts("delivered_at", nullable=True),
    _ts("failed_at", nullable=True),
    Index(None, "status", "next_attempt_at"),
    Index(None, "subscription_id", "entity_id", "id"),
    Index(None, "subscription_id", "id"),
    sqlite_autoincrement=True,
)


# Staff (staff/): the people who use the web console, separate from shoppers. A staff member belongs to
# one tenant; the email is unique in the installation (the console's sign-in page asks no tenant).
# Secrets are never kept in clear: the password as Argon2id, the TOTP secret sealed (infra/totp.py),
# the enrolment token, session tokens and recovery codes as hashes.
staff = Table(
    "staff",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("tenant_id", Integer, nullable=False),
    Column("email", String(200), nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("password_hash", Text, nullable=True),
    Column("totp_secret", Text, nullable=True),
    Column("totp_last_step", BigInteger, nullable=True),
    Column("enrol_token_hash", String(64), nullable=True, unique=True),
    Column("enrol_expires_at", UtcDateTime, nullable=True),
    Column("failed_count", Integer, nullable=False),
    Column("is_locked", Boolean, nullable=False),
    Column("lock_expires_at", UtcDateTime, nullable=True),
    Column("last_sign_in_at", UtcDateTime, nullable=True),
    _ts("created_at"),
    Column("created_by", String(200), nullable=True),
    sqlite_autoincrement=True,
)

staff_recovery_codes = Table(
    "staff_recovery_codes",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("staff_id", BigInteger, ForeignKey("staff.id", ondelete="CASCADE"), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
    Index(None, "staff_id"),
    sqlite_autoincrement=True,
)

# One row per console session: pending (password right, second factor awaited) or signed in. The cookie
# holds a random token; the row its SHA-256.
staff_sessions = Table(
    "staff_sessions",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("staff_id", BigInteger, ForeignKey("staff.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("stage", String(20), nullable=False),
    _ts("created_at"),
    _ts("last_seen_at"),
    _ts("authenticated_at"),
    Column("client_address", String(64), nullable=True),
    Column("user_agent", String(300), nullable=True),
    Column("ended_at", UtcDateTime, nullable=True),
    Column("ended_by", String(40), nullable=True),
    Index(None, "staff_id"),
    sqlite_autoincrement=True,
)


# -- passkeys (migration 0010_passkeys, issue 19) ------------------------------------------------------
# A shopper's passkey (WebAuthn credential): the public key as COSE bytes (no secret is kept: a passkey's
# private key never leaves the authenticator), the sign counter, the backup flags read at registration and
# at each use, and the relying party (the site's rp_id) it was made for. A credential id is unique in a
# customer set (the accounts a sign-in searches), not across sets: whoever copies a credential id into
# another tenant's registration blocks no one else.
passkeys = Table(
    "passkeys",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("tenant_id", Integer, nullable=False),
    Column("customer_set_id", Integer, nullable=False),
    Column("account_id", BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("credential_id", String(1400), nullable=False),
    Column("public_key", LargeBinary, nullable=False),
    Column("sign_count", BigInteger, nullable=False),
    Column("name", String(100), nullable=False),
    Column("aaguid", String(36), nullable=False),
    Column("transports", JSON, nullable=False),
    Column("backup_eligible", Boolean, nullable=False),
    Column("backed_up", Boolean, nullable=False),
    Column("rp_id", String(253), nullable=False),
    _ts("created_at"),
    _ts("last_used_at", nullable=True),
    UniqueConstraint("customer_set_id", "credential_id"),
    sqlite_autoincrement=True,
)

# One WebAuthn ceremony waiting for the browser's answer: the challenge it sent, for whom (a shopper's
# registration: the account; a sign-in: the account a username named, or none; staff: the staff member)
# and where (tenant, site, application). Single use (`used_at` set by the one conditional UPDATE that
# wins), short-lived (`expires_at`); a challenge is not a secret (the browser sees it) but never leaves
# this table otherwise (not in logs, audit entries or events).
passkey_challenges = Table(
    "passkey_challenges",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("purpose", String(20), nullable=False),
    Column("tenant_id", Integer, nullable=False),
    Column("site_id", Integer, nullable=True),
    Column("application_id", Integer, nullable=True),
    Column("account_id", BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True, index=True),
    Column("staff_id", BigInteger, ForeignKey("staff.id", ondelete="CASCADE"), nullable=True, index=True),
    Column("challenge", LargeBinary, nullable=False),
    Column("rp_id", String(253), nullable=False),
    _ts("created_at"),
    _ts("expires_at"),
    _ts("used_at", nullable=True),
    Index(None, "expires_at"),
)

# A staff member's passkey for the console (staff/ and console/, issue 19): as `passkeys`, per staff
# member; a credential id is unique in the installation (staff emails are).
staff_passkeys = Table(
    "staff_passkeys",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("staff_id", BigInteger, ForeignKey("staff.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("credential_id", String(1400), nullable=False, unique=True),
    Column("public_key", LargeBinary, nullable=False),
    Column("sign_count", BigInteger, nullable=False),
    Column("name", String(100), nullable=False),
    Column("aaguid", String(36), nullable=False),
    Column("transports", JSON, nullable=False),
    Column("backup_eligible", Boolean, nullable=False),
    Column("backed_up", Boolean, nullable=False),
    Column("rp_id", String(253), nullable=False),
    _ts("created_at"),
    _ts("last_used_at", nullable=True),
    sqlite_autoincrement=True,
)
