"""The one settings object. Every setting is an environment variable prefixed TICKETBOOTH_."""

from __future__ import annotations

import ipaddress
import os
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ticketbooth.domain.policies import RateBucket

PROMETHEUS_MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus-client's own environment variable (no TICKETBOOTH_ prefix): the library reads it itself, when
it is imported, to decide where counters are kept, so for worker processes it is the only interface."""


def default_database_url() -> str:
    return "sqlite:///" + os.path.join(os.getcwd(), "var", "ticketbooth.db")


class Settings(BaseSettings):
    # `null` in the environment is None: how a bucket setting (JSON) is switched off
    model_config = SettingsConfigDict(env_prefix="TICKETBOOTH_", extra="ignore", env_parse_none_str="null")

    database_url: str = Field(default_factory=default_database_url)
    """Plain URL: sqlite:///path/to.db or postgresql://user@host/db. The async driver is picked for you."""

    public_host: str = "127.0.0.1:8080"
    """Host (and port) that clients should call; returned as `domain` by tenant discovery."""

    issuer: str = ""
    """JWT `iss` claim and discovery issuer; defaults to http(s)://{public_host}."""

    jwt_audience: str = "ticketbooth"
    secret_key: str = ""
    """Server secret used to derive refresh-token successors. Empty: generated once and kept in the
    database, so that every process sharing the database shares it."""

    db_pool_size: int = Field(default=10, ge=1, le=200)
    hash_concurrency: int = Field(default=0, ge=0, le=256)
    """Password hashes that may run at once in a process; 0 means one per CPU core. Also with `serve
    --workers N`: the workers share the listening socket unevenly (one often holds most connections),
    and a process with a thread per core can use the whole machine while the others are idle."""

    hash_nice: int = Field(default=10, ge=0, le=19)
    """How much lower the CPU priority of the hashing threads is than the rest of the process (Linux nice
    levels): hashes get every cycle the event loop does not need, so a login burst cannot slow anonymous
    tickets and refreshes. 0 hashes at the same priority."""

    hash_queue_limit: int = Field(default=32, ge=0)
    """Logins that may wait for a hashing slot before new ones are answered 503 at once. 32 waiting on one
    slot per core is about half a second of hashing here: past that, a fast 503 with Retry-After serves a
    client better than seconds in a queue."""

    hash_max_wait_seconds: float = Field(default=1.0, gt=0, le=60)
    """A login whose expected wait for a hashing slot (logins ahead of it x the recent time per hash /
    slots) is longer is answered 503 at once. It keeps the wait short when the hashes slow down because
    the CPU is busy with other work (under a login flood they took three times as long here). Not much
    lower: clients that retry at once instead of after Retry-After turn refusals into a flood that slows
    the hashes further (at 0.5 s, two processes at full login load, whose threads shared the cores,
    refused nine logins in ten)."""

    refresh_grace_seconds: float = Field(default=10.0, ge=0, le=300)
    """How long a replay of a just-rotated refresh token returns its successor instead of revoking."""

    fresh_login_seconds: int = Field(default=300, ge=0, le=86400)
    """A fresh login (domain/policies.py `logged_in_recently`): within this many seconds of logging in, a
    shopper may change their account's email address or user name (its login names) without giving the
    current password (later the update must carry `password`; 0: always the password; applications with
    customer:admin need neither), add a passkey, or link a provider to their account (0: never)."""

    key_reload_seconds: float = Field(default=30.0, gt=0)
    """How often each process re-reads signing keys (rotation by another process shows up within this)."""

    app_cache_seconds: float = Field(default=5.0, ge=0)
    """How long a process may trust a cached application record (disable takes effect within this)."""

    tls_certfile: str = ""
    tls_keyfile: str = ""
    """PEM certificate and key: `ticketbooth serve` speaks HTTPS with them (Kibo's SDKs call the
    tenant's domain over https when they discover it)."""

    log_level: str = "info"
    log_format: Literal["json", "text"] = "json"
    """`json`: one JSON object per line (time, level, logger, message, correlation_id, ...); `text`: plain lines."""
    access_log: bool = False
    """Log every request (method, route template, status, duration, client address); never its query or body."""
    metrics_enabled: bool = True
    """Serve Prometheus metrics at /metrics, to whoever holds `metrics_token`."""
    metrics_token: str = Field(default="", repr=False)
    """The Bearer token /metrics requires (`Authorization: Bearer <token>`; Prometheus:
    `authorization: {credentials: <token>}` in the scrape config). Empty (the default): /metrics
    answers 404 to everyone. Metrics are for the operator: request rates and outcomes, hash times
    and the mail backlog say a lot about the service and its users."""
    metrics_multiprocess_dir: str = Field(
        default="", validation_alias=AliasChoices(PROMETHEUS_MULTIPROC_ENV, PROMETHEUS_MULTIPROC_ENV.lower()))
    """The directory through which several processes add up their metrics (PROMETHEUS_MULTIPROC_DIR, the
    name prometheus-client reads). `serve --workers N` sets it for its workers when the operator has not;
    empty: each process keeps its metrics in memory (see infra/metrics.py)."""

    app_auth_per_address: RateBucket | None = Field(
        default_factory=lambda: RateBucket(capacity=120, per_minute=120))
    """Application authentications (`/api/platform/applications/authtickets/oauth` and the legacy
    `/authtickets`) one client address may make, as a token bucket (JSON: `{"capacity": 120,
    "per_minute": 120}`; `null` switches it off). Every attempt counts, right or wrong: a storefront
    fleet behind one address needs a token per process about once an hour. There is no tenant before
    an application is authenticated, so this is a setting, not a tenant setting. Beyond it: 429
    TOO_MANY_REQUESTS with Retry-After."""

    app_auth_per_client: RateBucket | None = Field(
        default_factory=lambda: RateBucket(capacity=30, per_minute=30))
    """Failed application authentications per client id, from any address (same JSON form; `null`:
    off). When they are used up, every attempt for that client id is refused (429) until the bucket
    refills, the right secret included, as for shopper logins: guessing a secret stays bounded
    whatever the number of addresses. Unknown client ids are limited exactly like known ones."""

    redis_url: str = ""
    """Redis (redis://host:6379/0) for rate limits shared by every process. Empty: limits are kept in
    each process, which is right for one process only; set it whenever more than one runs."""

    graphql_max_depth: int = Field(default=15, ge=2, le=100)
    """The deepest selection a GraphQL operation may nest (fragments expanded). A storefront's deepest
    document (an account with its contacts' addresses) is about 5; the standard introspection query 15."""

    graphql_max_cost: int = Field(default=1000, ge=10, le=100_000)
    """The most fields a GraphQL operation may select (fragments expanded, each use counted). A storefront's
    account document selects under 100; the standard introspection query 220."""

    graphql_cache_size: int = Field(default=512, ge=0, le=100_000)
    """GraphQL documents kept parsed and validated, by their text (least recently used dropped first):
    storefronts send the same few documents again and again. 0 keeps none."""

    max_body_bytes: int = Field(default=65536, ge=1024, le=64 * 1024 * 1024)
    """The largest request body accepted, in bytes. A larger one is answered 413 REQUEST_TOO_LARGE as
    soon as it is known: at once when its Content-Length says so, else (chunked) when the bytes
    received pass the limit, without reading the rest."""

    trusted_proxies: str = ""
    """Comma-separated addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For is
    believed. Empty: the client address is always the direct peer."""

    # -- mail (see mail/service.py) --
    smtp_host: str = ""
    """SMTP server that delivers mail. Empty: no SMTP; messages are written as .eml files to `mail_dir`."""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str = ""
    smtp_password: str = Field(default="", repr=False)
    smtp_starttls: bool = True
    """Upgrade the connection with STARTTLS (required when on; the message is not sent in clear)."""
    smtp_tls: bool = False
    """Implicit TLS from the first byte (usually port 465); excludes smtp_starttls."""
    smtp_cafile: str = ""
    """PEM bundle of the CAs that may sign the SMTP server's certificate (default: the system's)."""
    smtp_timeout: float = Field(default=30.0, gt=0, le=600)
    mail_dir: str = Field(default_factory=lambda: os.path.join(os.getcwd(), "var", "mail"))
    mail_poll_seconds: float = Field(default=5.0, gt=0, le=3600)
    """How often the sender looks for mail queued by other processes (mail queued here wakes it at once)."""
    mail_max_attempts: int = Field(default=10, ge=1, le=100)
    """Deliveries tried (exponential backoff from `mail_retry_seconds`, several hours in all) before a message is given up."""
    mail_retry_seconds: float = Field(default=60.0, gt=0, le=3600)
    """Delay before the first retry of a failed delivery (SMTP down or answering 4xx); it doubles with
    each further failure, up to six hours, each drawn between half and all of it."""
    mail_keep_days: int = Field(default=7, ge=1, le=3650)
    """How long sent and given-up messages stay in the outbox table (sent ones without their body)."""
    event_retention_days: int = Field(default=30, ge=1, le=3650)
    """How long events stay in the event log (events/) once dispatched to their subscriptions; an event not
    yet dispatched is never deleted. The mail sender's hourly housekeeping deletes them. Webhook deliveries
    (webhooks/) delivered or given up are kept as long (for inspection and redelivery), then deleted by the
    deliverer's hourly housekeeping; pending ones never are."""
    mail_template_dir: str = ""
    """Directory of mail templates that override the bundled ones (same layout: <kind>/[<locale>/]file)."""

    # -- the web console (console/, staff/) --
    console_enabled: bool = True
    """Serve the staff console under /console. Off: /console answers 404 (staff commands still work)."""
    console_tenant_id: int = Field(default=0, ge=0)
    """The tenant the console manages (its staff sign in there). 0: the tenant with the lowest id."""
    console_idle_seconds: int = Field(default=30 * 60, ge=1, le=7 * 24 * 3600)
    """A console session unused this long ends (the staff member signs in again)."""
    console_absolute_seconds: int = Field(default=12 * 3600, ge=1, le=30 * 24 * 3600)
    """A console session ends this long after sign-in, however busy."""
    console_reauth_seconds: int = Field(default=5 * 60, ge=1, le=24 * 3600)
    """The most sensitive actions (rotate keys, add staff, rotate an application secret) need password and
    code proven within this many seconds; else the console asks for them again first."""
    console_enrolment_hours: int = Field(default=72, ge=1, le=30 * 24)
    """How long a staff member's enrolment link (`ticketbooth staff create`) stays valid."""

    # -- webhooks: push delivery of events (see webhooks/delivery.py) --
    webhook_timeout_seconds: float = Field(default=45.0, gt=0, le=600)
    """A delivery succeeds when the endpoint answers 2xx within this many seconds (Kibo: 45), connection
    included; anything else is a failed attempt, retried."""
    webhook_retry_seconds: float = Field(default=60.0, gt=0, le=86400)
    """Delay before the first retry of a failed delivery; it doubles with each further failure up to an
    hour, each drawn between half and all of it."""
    webhook_retry_for_seconds: float = Field(default=14 * 86400, gt=0, le=90 * 86400)
    """How long a delivery is retried before it is given up (`failed`, kept for inspection and
    redelivery): 14 days, Kibo's promise."""
    webhook_poll_seconds: float = Field(default=1.0, gt=0, le=3600)
    """How often the deliverer looks for new events and due retries."""
    webhook_endpoint_concurrency: int = Field(default=4, ge=1, le=100)
    """Deliveries one process sends to one subscription's endpoint at once: a slow or dead endpoint holds
    at most this many of the process's delivery slots and never delays the others."""
    webhook_max_in_flight: int = Field(default=64, ge=1, le=10_000)
    """Deliveries one process sends at once, over all endpoints."""
    webhook_cafile: str = ""
    """PEM bundle of the CAs that may sign webhook endpoints' certificates (default: the system's)."""
    webhook_http_hosts: str = ""
    """Comma-separated host names (or addresses) whose endpoints may use plain http; every other endpoint
    must be https."""
    webhook_allowed_networks: str = ""
    """Comma-separated addresses or networks (CIDR) that deliveries may go to although they are not public
    (loopback, private, link-local...); empty: only public addresses. Checked when subscribing and again
    at every delivery, against the address the endpoint's name resolves to then."""

    # -- OpenID Connect federation: social and enterprise sign-in (see federation/) --
    public_url: str = ""
    """The address browsers reach this server at, as `https://id.example.com` (no path): the provider sends
    the shopper back to `{public_url}/api/commerce/customer/authtickets/oidc/callback`, the redirect URI to
    register with each provider. Empty: the issuer (`issuer`, else http(s)://{public_host})."""
    oidc_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    """How long one call to a provider (discovery, its keys, the token endpoint) may take, connection included."""
    oidc_http_hosts: str = ""
    """Comma-separated host names (or addresses) of providers that may be called over plain http; every other
    provider address (issuer, endpoints) must be https."""
    oidc_allowed_networks: str = ""
    """Comma-separated addresses or networks (CIDR) that calls to providers may go to although they are not
    public (loopback, private...); empty: only public addresses. Checked at every call, against the address the
    name resolves to then (the webhooks' rule, webhooks/rules.py)."""

    @field_validator("oidc_allowed_networks")
    @classmethod
    def _oidc_networks(cls, value: str) -> str:
        for item in value.split(","):
            if item.strip():
                ipaddress.ip_network(item.strip(), strict=False)  # ValueError names the bad entry
        return value

    @property
    def effective_public_url(self) -> str:
        return (self.public_url or self.effective_issuer).rstrip("/")

    # -- staff passkeys of the web console (staff/passkeys.py, issue 19) --
    console_origin: str = ""
    """The console's origin as staff browsers see it (`https://host[:port]`, or `http://localhost[:port]`
    for a console on this machine): staff passkeys are made for it, their relying party id is its host.
    Empty: staff passkeys are off (the console says so; password and code work as ever)."""

    @field_validator("console_origin")
    @classmethod
    def _console_origin(cls, value: str) -> str:
        return clean_console_origin(value)

    @field_validator("trusted_proxies", "webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        for item in value.split(","):
            if item.strip():
                ipaddress.ip_network(item.strip(), strict=False)  # ValueError names the bad entry
        return value

    @property
    def effective_issuer(self) -> str:
        scheme = "https" if self.tls_certfile else "http"
        return self.issuer or f"{scheme}://{self.public_host}"

    @property
    def effective_hash_concurrency(self) -> int:
        return self.hash_concurrency or max(1, os.cpu_count() or 1)


def clean_console_origin(value: str) -> str:
    """`value` as a clean origin (lower case, no trailing slash), or ValueError saying what is wrong: a
    WebAuthn relying party needs a secure context (https, or http on localhost) and a host name (not an
    address), and an origin has no path."""
    text = value.strip().rstrip("/").lower()
    if not text:
        return ""
    parsed = urlsplit(text)
    host = parsed.hostname or ""
    if parsed.scheme not in ("https", "http") or not host or parsed.path or parsed.query or parsed.fragment \
            or parsed.username is not None or parsed.password is not None:
        raise ValueError("console_origin must be an origin: https://host[:port] (no path)")
    if parsed.scheme == "http" and host != "localhost":
        raise ValueError("console_origin must be https (plain http only for localhost): passkeys need it")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return text
    raise ValueError("console_origin must name the console by a host name: an address cannot be a passkey's "
                     "relying party")
