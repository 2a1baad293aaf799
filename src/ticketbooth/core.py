"""What every service function needs, built once per process by the app factory or the CLI."""

from __future__ import annotations

import gzip
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from importlib import resources

from ticketbooth.accounts.persistence import AccountsPersistence
from ticketbooth.applications.directory import Directory
from ticketbooth.applications.persistence import ApplicationsPersistence, OperationsPersistence
from ticketbooth.audit.persistence import AuditPersistence
from ticketbooth.b2b.persistence import B2BPersistence
from ticketbooth.config import Settings
from ticketbooth.db.database import create_engine, migrate
from ticketbooth.db.store import Store
from ticketbooth.domain.policies import MAX_ACCESS_TOKEN_MINUTES, MAX_APP_TOKEN_SECONDS
from ticketbooth.events.persistence import EventsPersistence
from ticketbooth.federation.persistence import FederationPersistence
from ticketbooth.health.persistence import OverviewPersistence
from ticketbooth.infra.clock import Clock, SystemClock
from ticketbooth.infra.hashing import PasswordHashing
from ticketbooth.infra.ratelimit import Limiter, MemoryLimiter, open_limiter
from ticketbooth.infra.signing import KeyRing, generate_key
from ticketbooth.login.persistence import LoginPersistence
from ticketbooth.mail.persistence import MailPersistence
from ticketbooth.mail.room import Mail, Templates
from ticketbooth.purchase_orders.persistence import PurchaseOrdersPersistence
from ticketbooth.sessions.persistence import SessionsPersistence
from ticketbooth.staff.persistence import StaffPersistence
from ticketbooth.tickets.persistence import TicketsPersistence
from ticketbooth.webhooks.persistence import WebhooksPersistence

REFRESH_SECRET_NAME = "refresh-derivation"
APP_SECRET_KEY_NAME = "app-secret-hashing"
"""The HMAC key application secrets are stored under (infra/app_secrets.py): kept in the database
whatever TICKETBOOTH_SECRET_KEY says, so that setting or changing that never locks every application out."""

AuditListener = Callable[[str], None]
"""Called with the name of every audit event once its entry is stored (audit/service.py)."""


@dataclass
class Core:
    settings: Settings
    store: Store
    clock: Clock
    keys: KeyRing
    hashing: PasswordHashing
    directory: Directory
    refresh_secret: bytes = field(repr=False)
    mail: Mail = field(repr=False)
    limiter: Limiter = field(default_factory=MemoryLimiter, repr=False)
    app_secret_key: bytes = field(default=b"", repr=False)
    audit_listeners: list[AuditListener] = field(default_factory=list, repr=False)
    """This core's audit listeners (the app that serves it counts events in /metrics): per core, so two
    apps in one process, or a CLI command beside them, do not hear each other's events."""

    async def close(self) -> None:
        self.hashing.close()
        await self.store.engine.dispose()
        await self.limiter.close()


def persistence(store: Store) -> tuple[AccountsPersistence, ApplicationsPersistence, AuditPersistence, LoginPersistence,
                                       MailPersistence, SessionsPersistence, TicketsPersistence,
                                       PurchaseOrdersPersistence, EventsPersistence, StaffPersistence,
                                       WebhooksPersistence, OperationsPersistence, OverviewPersistence]:
    """The store as each concept's persistence interface: where mypy checks that the SQL store implements
    every one of them in full (a flow reaches some of them through `core.store` until step 4 of issue 14
    hands each flow only its own; docs/architecture.md)."""
    return store, store, store, store, store, store, store, store, store, store, store, store, store


def b2b_persistence(store: Store) -> B2BPersistence:
    """The store as the B2B flows' persistence interface (mypy checks that the SQL store implements it)."""
    return store


def federation_persistence(store: Store) -> FederationPersistence:
    """The store as the federation flows' persistence interface (mypy checks that the SQL store implements it)."""
    return store


async def open_core(settings: Settings, clock: Clock | None = None, *, migrate_first: bool = True) -> Core:
    """Connect, migrate (idempotent), make sure a signing key and the server secret exist."""
    clock = clock or SystemClock()
    engine = create_engine(settings.database_url, settings.db_pool_size)
    if migrate_first:
        await migrate(engine)
    store = Store(engine, pool_size=settings.db_pool_size)
    if settings.secret_key:
        refresh_secret = settings.secret_key.encode("utf-8")
    else:
        refresh_secret = await store.get_or_create_secret(REFRESH_SECRET_NAME, secrets.token_bytes(32))
    app_secret_key = await store.get_or_create_secret(APP_SECRET_KEY_NAME, secrets.token_bytes(32))
    if not await store.has_active_key():
        await rotate_signing_key(store, clock)
    keys = KeyRing(
        lambda: store.published_keys(clock.now()), settings.effective_issuer, settings.jwt_audience,
        settings.key_reload_seconds,
    )
    hashing = PasswordHashing(settings.effective_hash_concurrency, settings.hash_queue_limit,
                              nice=settings.hash_nice, max_wait=settings.hash_max_wait_seconds)
    directory = Directory(store, settings.app_cache_seconds)
    mail = Mail(refresh_secret, Templates(settings.mail_template_dir))
    return Core(settings, store, clock, keys, hashing, directory, refresh_secret, mail,
                limiter=open_limiter(settings.redis_url), app_secret_key=app_secret_key)


async def rotate_signing_key(store: Store, clock: Clock, key_reload_seconds: float = 300) -> str:
    """Add a new signing key and retire the current one. A retired key stays published until every
    token it may have signed has expired: the longest token lifetime plus the time other processes
    may take to notice the rotation."""
    now = clock.now()
    key = generate_key(now)
    longest = max(timedelta(minutes=MAX_ACCESS_TOKEN_MINUTES), timedelta(seconds=MAX_APP_TOKEN_SECONDS))
    await store.rotate_keys(key, now, now + longest + timedelta(seconds=key_reload_seconds) + timedelta(minutes=5))
    return key.kid


@cache
def common_passwords() -> frozenset[str]:
    """The bundled list of common passwords (see data/README.md), lower-cased."""
    data = resources.files("ticketbooth").joinpath("data/common-passwords.txt.gz").read_bytes()
    return frozenset(line.strip().lower() for line in gzip.decompress(data).decode("utf-8").splitlines() if line)
