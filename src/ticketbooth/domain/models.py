"""The records the services work with. Plain dataclasses: no HTTP, no SQL, no Kibo JSON names."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from ticketbooth.domain.policies import SiteSettings, TenantSettings

T = TypeVar("T")

# Application behaviors (what an application may ask for beyond plain shopper flows).
BEHAVIOR_CONFIGURE_TOKEN_DURATIONS = "customer-auth:configure-token-durations"
BEHAVIOR_IMPERSONATE = "customer-auth:impersonate"
BEHAVIOR_CUSTOMER_ADMIN = "customer:admin"
KNOWN_BEHAVIORS = frozenset(
    {BEHAVIOR_CONFIGURE_TOKEN_DURATIONS, BEHAVIOR_IMPERSONATE, BEHAVIOR_CUSTOMER_ADMIN}
)


@dataclass(frozen=True, slots=True)
class Tenant:
    id: int
    name: str
    settings: TenantSettings
    default_customer_set_id: int
    default_site_id: int | None


@dataclass(frozen=True, slots=True)
class Site:
    id: int
    tenant_id: int
    customer_set_id: int
    name: str
    settings: SiteSettings = field(default_factory=SiteSettings)


@dataclass(frozen=True, slots=True)
class CustomerSet:
    id: int
    tenant_id: int
    code: str
    name: str
    is_default: bool


@dataclass(frozen=True, slots=True)
class Application:
    id: int
    client_id: str
    tenant_id: int
    name: str
    secret_hash: str
    behaviors: frozenset[str]
    enabled: bool
    storefront_server: bool = False
    """The application is a storefront's server, calling for all its shoppers from few addresses: its
    proven calls are rate limited per shopper address it forwards, else against a budget of its own
    (login/limits.py), not per its own address."""

    def has(self, behavior: str) -> bool:
        return behavior in self.behaviors


@dataclass(frozen=True, slots=True)
class Profile:
    """What a customer or merchant says about the customer; the same on every account record."""

    first_name: str | None = None
    last_name: str | None = None
    company_or_organization: str | None = None
    tax_exempt: bool = False
    tax_id: str | None = None
    accepts_marketing: bool = False
    external_id: str | None = None
    locale_code: str | None = None
    account_type: str | None = None


@dataclass(frozen=True, slots=True)
class Audit:
    """Who created and last changed a record: an application's client id, or a shopper's userId."""

    created_at: datetime | None = None
    created_by: str | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None


@dataclass(frozen=True, slots=True)
class Address:
    address1: str | None = None
    address2: str | None = None
    address3: str | None = None
    address4: str | None = None
    city_or_town: str | None = None
    state_or_province: str | None = None
    postal_or_zip_code: str | None = None
    country_code: str | None = None
    address_type: str | None = None
    is_validated: bool | None = None


@dataclass(frozen=True, slots=True)
class Phones:
    home: str | None = None
    mobile: str | None = None
    work: str | None = None


@dataclass(frozen=True, slots=True)
class ContactType:
    name: str
    is_primary: bool = False


@dataclass(frozen=True, slots=True)
class ContactDetails:
    """What a customer or merchant says about one contact (address book entry) of an account."""

    email: str | None = None
    first_name: str | None = None
    middle_name_or_initial: str | None = None
    last_name_or_surname: str | None = None
    company_or_organization: str | None = None
    fax_number: str | None = None
    label: str | None = None
    address: Address | None = None
    phone_numbers: Phones | None = None
    types: tuple[ContactType, ...] = ()


@dataclass(frozen=True, slots=True)
class Contact:
    id: int
    account_id: int
    details: ContactDetails
    audit: Audit = field(default_factory=Audit)


@dataclass(frozen=True, slots=True)
class Note:
    id: int
    account_id: int
    content: str
    audit: Audit = field(default_factory=Audit)


@dataclass(frozen=True, slots=True)
class AccountAttribute:
    """The values of one attribute (named by its definition's fully qualified name) on an account."""

    definition_id: int
    fqn: str
    values: tuple[object, ...]
    audit: Audit = field(default_factory=Audit)


@dataclass(frozen=True, slots=True)
class SegmentRef:
    """A segment as listed on an account (its audit is the segment's own)."""

    id: int
    code: str
    name: str
    description: str | None = None
    audit: Audit = field(default_factory=Audit)


@dataclass(frozen=True, slots=True)
class Segment:
    """A named group of accounts of a tenant (VIP, wholesale, ...), kept by the merchant."""

    id: int
    tenant_id: int
    code: str
    name: str
    description: str | None = None
    audit: Audit = field(default_factory=Audit)


@dataclass(frozen=True, slots=True)
class LocalizedText:
    locale_code: str | None
    value: str | None


@dataclass(frozen=True, slots=True)
class VocabularyValue:
    """One value a Predefined (list) attribute may take."""

    value: str
    sequence: int | None = None
    is_hidden: bool = False
    content: LocalizedText | None = None


@dataclass(frozen=True, slots=True)
class AttributeValidation:
    min_string_length: int | None = None
    max_string_length: int | None = None
    min_numeric_value: float | None = None
    max_numeric_value: float | None = None
    min_date_time: datetime | None = None
    max_date_time: datetime | None = None


# Attribute data types, input types and value types, in Kibo's spelling.
ATTRIBUTE_DATA_TYPES = ("String", "Number", "Bool", "Date")
ATTRIBUTE_INPUT_TYPES = ("TextBox", "TextArea", "List", "Date", "YesNo")
ATTRIBUTE_SHOPPER_ENTERED = "ShopperEntered"
ATTRIBUTE_VALUE_TYPES = ("AdminEntered", "Predefined", ATTRIBUTE_SHOPPER_ENTERED)


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    """What a merchant says about an attribute definition (everything but its id and audit)."""

    namespace: str
    attribute_code: str
    value_type: str
    data_type: str
    input_type: str
    admin_name: str | None = None
    display_group: str | None = None
    content: LocalizedText | None = None
    metadata: tuple[tuple[str, str], ...] = ()
    validation: AttributeValidation | None = None
    vocabulary_values: tuple[VocabularyValue, ...] = ()
    is_active: bool = True
    is_required: bool = False
    is_read_only: bool = False
    is_multi_valued: bool = False
    is_visible: bool = True
    order: int | None = None
    available_for_order_routing: bool = False
    available_for_discounts: bool = False

    @property
    def fqn(self) -> str:
        """The fully qualified name as shown: `namespace~attributeCode`."""
        return f"{self.namespace}~{self.attribute_code}"


@dataclass(frozen=True, slots=True)
class AttributeDefinition:
    """A custom attribute a tenant's accounts may carry. Looked up by `fqn_key` (the lower-cased FQN)."""

    id: int
    tenant_id: int
    spec: AttributeSpec
    audit: Audit = field(default_factory=Audit)

    @property
    def fqn(self) -> str:
        return self.spec.fqn


@dataclass(frozen=True, slots=True)
class CustomerSetInfo:
    """A customer set with the sites that use it and how many accounts it holds."""

    customer_set: CustomerSet
    sites: tuple[Site, ...]
    customer_count: int
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list (see `domain.filters.ListQuery`) and how many items match in all."""

    items: list[T]
    total: int
    start_index: int
    page_size: int


@dataclass(slots=True)
class Account:
    id: int
    tenant_id: int
    customer_set_id: int
    customer_set_code: str
    user_id: str
    email: str | None
    username: str | None
    profile: Profile = field(default_factory=Profile)
    customer_since: datetime | None = None
    is_active: bool = True
    is_locked: bool = False
    has_password: bool = False
    has_external_password: bool = False
    migration_required: bool = False
    last_2fa_at: datetime | None = None
    last_login_at: datetime | None = None
    created_at: datetime | None = None
    created_by: str | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None
    # login state
    password_changed_at: datetime | None = None
    password_change_required: bool = False
    locked_at: datetime | None = None
    lock_expires_at: datetime | None = None
    """When an automatic lock ends by itself (None: an admin's lock, a lock for good, or not locked)."""
    locked_by_admin: bool = False
    """The lock was set by an administrator: only an administrator lifts it (a password reset or a
    one-time-code login lifts only a lock reached by failed passwords), and it ends the sessions."""
    failed_login_count: int = 0
    first_failed_login_at: datetime | None = None
    # parts, loaded by `Store.get_account` (empty where a caller asked for the record alone)
    contacts: list[Contact] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    attributes: list[AccountAttribute] = field(default_factory=list)
    segments: list[SegmentRef] = field(default_factory=list)

    def settle_lock(self, now: datetime) -> Account:
        """The account as it stands at `now`: a lock whose time has run out no longer holds, and the
        failed-login count starts again (the store catches up at the next login)."""
        if self.is_locked and self.lock_expires_at is not None and self.lock_expires_at <= now:
            self.is_locked, self.lock_expires_at = False, None
            self.failed_login_count, self.first_failed_login_at = 0, None
        return self


@dataclass(slots=True)
class NewAccount:
    """What registration asks for; the store assigns the id."""

    tenant_id: int
    customer_set_id: int
    user_id: str
    email: str | None
    email_key: str | None
    username: str | None
    username_key: str | None
    password_hash: str | None
    profile: Profile = field(default_factory=Profile)
    is_active: bool = True
    has_external_password: bool = False
    created_by: str | None = None


@dataclass(frozen=True, slots=True)
class LoginState:
    """How an account's login stands: lock, password age, failed logins (Kibo's LoginState)."""

    password_change_required: bool
    password_changed_at: datetime | None
    is_locked: bool
    locked_at: datetime | None
    """When the account was last locked (kept after an unlock)."""
    failed_login_count: int
    remaining_login_attempts: int
    first_failed_login_at: datetime | None
    last_login_at: datetime | None
    created_at: datetime | None
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class TokenFamily:
    """One login (or one anonymous visit) and every ticket refreshed from it."""

    id: str
    tenant_id: int
    site_id: int
    customer_set_id: int
    application_id: int
    client_id: str
    user_id: str
    account_id: int | None
    is_anonymous: bool
    previous_anonymous_user_id: str | None
    created_at: datetime
    expires_at: datetime
    access_ttl_seconds: int
    refresh_ttl_seconds: int
    revoked_at: datetime | None = None
    client_address: str | None = None
    """Where the login (or visit) came from, and its user agent: shown in an account's session list."""
    user_agent: str | None = None
    acting_client_id: str | None = None
    """For an impersonation: the client id of the application acting as the shopper."""
    amr: str | None = None
    """What the login proved, as RFC 8176 `amr` values separated by spaces ("pwd", "otp", "mfa")."""
    two_factor_met: str | None = None
    """The site 2FA triggers (`SiteSettings.two_factor`) the login satisfied, separated by spaces: the
    family's tickets act only at sites whose triggers are all among them. None: an anonymous visit, or a
    family from before they were recorded (it meets no trigger)."""
    user_account_id: int | None = None
    """A B2B user's session: the user's own row (their login); `account_id` is then the B2B account the
    tickets are for. None for every other session."""


@dataclass(frozen=True, slots=True)
class TicketRecord:
    """A stored ticket: only hashes of its tokens are kept."""

    refresh_hash: str
    access_hash: str
    family_id: str
    generation: int
    jti: str
    issued_at: datetime
    access_expires_at: datetime
    refresh_expires_at: datetime
    used_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class IssuedTicket:
    """A ticket as handed to the client, with the plaintext tokens (never stored)."""

    access_token: str
    access_expires_at: datetime
    refresh_token: str | None
    refresh_expires_at: datetime | None
    jwt: str | None
    """None only for a pending 2FA login (`requires_2fa`)."""
    user_id: str
    """The shopper's user id; an anonymous visitor's is the JWT's `sub` only (see `is_anonymous`)."""
    account: Account | None
    requires_2fa: bool = False
    is_anonymous: bool = False
    """An anonymous visitor's ticket: it answers no `userId` (Kibo's anonymous tickets carry none, and
    Kibo's storefront takes any `userId` for a signed-in shopper)."""


@dataclass(frozen=True, slots=True)
class Shopper:
    """The shopper a request acts for, resolved from a ticket access token or a ticket JWT."""

    user_id: str
    account_id: int | None
    is_anonymous: bool
    tenant_id: int
    site_id: int
    customer_set_id: int
    family_id: str
    client_id: str
    acting_client_id: str | None = None
    """Set on an impersonation ticket: the application acting as this shopper."""
    logged_in_at: datetime | None = None
    """When the session (token family) began, i.e. the login; known once the session was read from the
    store (an opaque access token always, a ticket JWT when it is used for a change)."""
    user_account_id: int | None = None
    """A B2B user's ticket: the user's own row (their login); `account_id` is then the B2B account the
    ticket is for and `user_id` the user's. None for every other ticket."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    algorithm: str
    private_pem: bytes
    public_jwk: dict[str, str]
    created_at: datetime
    retired_at: datetime | None
    publish_until: datetime | None


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What may be shown of a signing key: never its private part."""

    kid: str
    algorithm: str
    created_at: datetime
    retired_at: datetime | None
    publish_until: datetime | None


@dataclass(frozen=True, slots=True)
class AppToken:
    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime
    expires_in: int
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Session:
    """One live token family of an account, without anything secret (no token hashes)."""

    id: str
    account_id: int
    site_id: int
    client_id: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    client_address: str | None
    user_agent: str | None
    acting_client_id: str | None

    @property
    def is_impersonation(self) -> bool:
        return self.acting_client_id is not None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One entry of an account's audit trail (a security event), as read back for its owner and administrators."""

    id: int
    tenant_id: int
    site_id: int | None
    account_id: int | None
    event: str
    at: datetime
    client_address: str | None
    client_id: str | None
    actor: str | None
    detail: dict[str, Any] | None
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One event of the log (events/, issue 17): ids only. `id` orders the log; `event_id` (a UUID) is the
    notification's `eventId`, the same on every delivery."""

    id: int
    event_id: str
    tenant_id: int
    site_id: int | None
    topic: str
    entity_id: str
    correlation_id: str | None
    is_test: bool
    extended_properties: dict[str, Any] | None
    created_at: datetime
    dispatched_at: datetime | None


# -- B2B accounts (b2b/) -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class UserRoleRef:
    """A role a B2B user holds in one account."""

    role_id: int
    name: str
    created_at: datetime | None = None
    created_by: str | None = None


@dataclass(slots=True)
class B2BUser:
    """A user of a B2B account: their own row (`user`, the login: email, names, lock) and their
    membership in the account (`account_id`): active, removed, priority, roles there."""

    account_id: int
    user: Account
    is_active: bool = True
    is_removed: bool = False
    priority: int | None = None
    roles: list[UserRoleRef] = field(default_factory=list)
    created_at: datetime | None = None


@dataclass(slots=True)
class B2BAccount:
    """A B2B account: a customer account (`account`, account_type "B2B") with what only a B2B account has."""

    account: Account
    parent_account_id: int | None
    root_account_id: int
    depth: int
    approval_status: str
    price_list: str | None = None
    sales_reps: list[str] = field(default_factory=list)
    users: list[B2BUser] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Membership:
    """A user's membership in a B2B account, with what a login into that account needs to know of it."""

    account_id: int
    user_account_id: int
    priority: int | None
    is_active: bool
    is_removed: bool
    created_at: datetime
    account_is_active: bool
    approval_status: str
    parent_account_id: int | None = None


@dataclass(frozen=True, slots=True)
class RoleInfo:
    """A role as the user-role flows need it: built-in (tenant None) or a merchant's, its behaviors, and
    the accounts it is given to (empty: tenant-wide)."""

    id: int
    tenant_id: int | None
    name: str
    is_system: bool
    behaviors: frozenset[int]
    account_ids: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class B2BScope:
    """What a B2B user's ticket is for: the B2B account (its `customerAccount`), the user's own row and
    their behaviors in the account (the JWT's `bv`)."""

    account: Account
    user_account_id: int
    behaviors: frozenset[int]


# -- records the stores hand to the flows (their persistence interfaces name them) -------------------

@dataclass(frozen=True, slots=True)
class StoredLogin:
    """What a password check needs of an account, read in one statement."""

    account_id: int
    tenant_id: int
    customer_set_id: int
    is_active: bool
    is_locked: bool
    password_hash: str | None
    lock_expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Challenge:
    id: str
    purpose: str
    account_id: int
    tenant_id: int
    site_id: int
    application_id: int
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    failed_attempts: int
    sends: int
    last_sent_at: datetime
    context: dict[str, Any]
    user_id_failed_attempts: int = 0

    def is_live(self, now: datetime, max_failed: int) -> bool:
        """Unused, unexpired, and not yet void from wrong tries."""
        return self.used_at is None and self.expires_at > now and self.failed_attempts < max_failed

    def open_to_user_id(self, now: datetime, max_failed: int) -> bool:
        """Live, and fewer than `max_failed` wrong codes came with the userId alone."""
        return self.is_live(now, max_failed) and self.user_id_failed_attempts < max_failed


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A claimed message. `message` is the sealed (encrypted) rendering; `attempts` counts this one."""

    id: int
    tenant_id: int
    kind: str
    message: bytes
    attempts: int
    created_at: datetime


SettingsOwner = Literal["tenant", "site"]
"""Whose stored settings document: a tenant's or a site's."""


# -- names stored in the database, shared by the flows and the store ---------------------------------

NO_ACCOUNT = 0
"""An account id that no account has (ids start at 1): the equal-work paths for an unknown account run
their statements with it (the failed-login count, the code-login gate, the latest challenge, the reset
code's rehearsal), so that an unknown user costs what a known one does and nothing is found or changed."""

PURPOSE_TWO_FACTOR = "2fa"
"""A login challenge's purpose: the second factor of a password login."""
PURPOSE_OTP = "otp"
"""A login challenge's purpose: a one-time passcode login."""
PURPOSE_RESET = "reset"
"""An account code's purpose: a forgotten-password reset."""

KIND_FINGERPRINT = "fingerprint"
"""A known device of an account, by the hash of its fingerprint (the new-device 2FA trigger)."""
KIND_REGION = "region"
"""A known region of an account (the region-change 2FA trigger)."""

# Why a session (token family) ended: `token_families.revoke_reason`. The values are stored; never change one.
REVOKED_BY_LOGOUT = "logout"
"""The shopper logged the session out (DELETE of the refresh token)."""
REVOKED_BY_OWNER = "ended-by-owner"
"""The account's owner ended their own sessions."""
REVOKED_BY_ADMIN = "ended-by-admin"
"""An administrator's application ended the account's sessions."""
REVOKED_BY_LOCK = "account-locked"
"""An administrator locked the account's login."""
REVOKED_BY_PASSWORD_CHANGE = "password-changed"
"""The account's password was changed (by its owner or an administrator)."""
REVOKED_BY_PASSWORD_RESET = "password-reset"
"""The password was set with a reset code (forgotten password)."""
REVOKED_BY_REPLAY = "refresh-replay"
"""A used refresh token came back after its grace window: the whole family is treated as stolen."""
REVOKED_BY_ACCOUNT_UNAVAILABLE = "account-unavailable"
"""A refresh found the family's account gone, inactive, or locked by an administrator."""
REVOKED_BY_DEACTIVATION = "account-deactivated"
"""The account was made inactive."""
REVOKED_BY_DELETION = "account-deleted"
"""The account was deleted."""
REVOKED_BY_B2B_REMOVAL = "b2b-user-removed"
"""The B2B user was removed from the account (or made inactive there) the session was for."""
REVOKED_BY_ACCOUNT_SWITCH = "account-switched"
"""A B2B user's refresh switched to another of their accounts: a new session took this one's place."""

# The kinds of mail: `outbox.kind`, and the folder of each kind's templates (mail/templates/<kind>/).
MAIL_PASSWORD_RESET = "password-reset"
"""The reset code of a forgotten password."""
MAIL_PASSWORD_CHANGED = "password-changed"
"""A notice that the account's password was set with a reset code."""
MAIL_ACCOUNT_LOCKED = "account-locked"
"""A notice that failed logins locked the account."""
MAIL_LOGIN_CHANGED = "login-changed"
"""A notice to the old address that the account's login name changed."""
MAIL_TWO_FACTOR_CODE = "two-factor-code"
"""The code of a password login's second factor."""
MAIL_LOGIN_CODE = "login-code"
"""The code of a one-time-passcode login."""
MAIL_B2B_USER_INVITED = "b2b-user-invited"
"""An invitation to a B2B account's new user: a single-use code (a reset code) to choose a password with."""
MAIL_B2B_ROLE_ADDED = "b2b-role-added"
"""A notice to a B2B user that a role was given to them in an account."""
MAIL_B2B_ROLE_REMOVED = "b2b-role-removed"
"""A notice to a B2B user that a role was taken from them in an account."""
MAIL_B2B_ACCOUNT_APPROVED = "b2b-account-approved"
"""A notice to a B2B account's admins (or its own address) that the merchant approved it."""
MAIL_B2B_ACCOUNT_DENIED = "b2b-account-denied"
"""A notice to a B2B account's admins (or its own address) that the merchant denied its request."""
