"""The pure rules of push delivery: which endpoint URLs and addresses may be called, the notification's
body, how a delivery is signed (Kibo's `x-vol-hmac-sha256` and the Standard Webhooks headers), and how
long a failed delivery waits before the next try. No I/O: the flows (webhooks/service.py,
webhooks/delivery.py) resolve names, call endpoints and keep the books.

Signing. A subscription has its own signing secret, generated when it is created and shown once (our
applications keep only a keyed hash of their shared secret: applications/, infra/app_secrets.py). Its
text is Standard Webhooks' form, `whsec_` and 32 random bytes in base64, and serves both schemes:

- Kibo's, as `mozu-node-sdk`'s `security/is-request-valid.js` and `hash-stream.js` verify it, with the
  whole text as the app's `sharedSecret`: `x-vol-hmac-sha256` is
  base64(SHA-256(base64(SHA-256(secret + secret)) + Date header + body)), a plain SHA-256 (not an HMAC)
  of the three strings, and a `Date` header older than 180 s is refused;
- Standard Webhooks', as the `standardwebhooks` library verifies it: `webhook-id` (the eventId),
  `webhook-timestamp` (Unix seconds) and `webhook-signature`, `v1,` + base64(HMAC-SHA256(the 32 bytes,
  id.timestamp.body)).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import random
import re
import secrets
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

from standardwebhooks import Webhook

from ticketbooth.domain.errors import InvalidParameter

SECRET_PREFIX = "whsec_"
ENDPOINT_MAX = 2000
TOPICS_MAX = 100
RESPONSE_READ_CAP = 1024
"""Bytes of a receiver's answer read (and thrown away) before the connection is closed."""
RETRY_MAX_SECONDS = 3600
"""The longest wait between two attempts (the delay doubles up to it)."""
_TOPIC = re.compile(r"^[a-z][a-z0-9]*(?:[.\-][a-z0-9]+)+$")

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
STATUSES = (PENDING, DELIVERED, FAILED)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


# -- the secret and the signatures ------------------------------------------------------------------------

def new_secret() -> str:
    """A fresh signing secret: `whsec_` + 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def kibo_signature(secret: str, date: str, body: str) -> str:
    """`x-vol-hmac-sha256`, as mozu-node-sdk's hash-stream.js computes it from the app's shared secret, the
    `Date` header and the body."""
    key = base64.b64encode(hashlib.sha256((secret + secret).encode("utf-8")).digest()).decode("ascii")
    return base64.b64encode(hashlib.sha256((key + date + body).encode("utf-8")).digest()).decode("ascii")


def http_date(at: datetime) -> str:
    """The `Date` header: RFC 7231's IMF-fixdate (JavaScript's `new Date()` reads it)."""
    return format_datetime(at.astimezone(UTC).replace(microsecond=0), usegmt=True)


def signed_headers(secret: str, event_id: str, body: str, at: datetime) -> dict[str, str]:
    """The headers that sign one attempt of a delivery made at `at`: Kibo's and Standard Webhooks'."""
    date = http_date(at)
    stamp = at.astimezone(UTC).replace(microsecond=0)
    return {
        "Date": date,
        "x-vol-hmac-sha256": kibo_signature(secret, date, body),
        "webhook-id": event_id,
        "webhook-timestamp": str(int(stamp.timestamp())),
        "webhook-signature": Webhook(secret).sign(event_id, stamp, body),
    }


# -- the notification --------------------------------------------------------------------------------------

def timestamp(at: datetime) -> str:
    """ISO-8601 UTC with milliseconds, as Kibo writes dates: 2026-11-27T05:31:56.123Z."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def extended_properties(value: Any) -> list[dict[str, Any]]:
    """Kibo's `extendedProperties`: a list of `{key, value}` (a stored mapping becomes one)."""
    if not value:
        return []
    if isinstance(value, Mapping):
        return [{"key": str(k), "value": v} for k, v in value.items()]
    return [dict(item) for item in value if isinstance(item, Mapping)]


def notification(event_id: str, topic: str, entity_id: str, created_at: datetime, correlation_id: str | None,
                 is_test: bool, extended: Any) -> str:
    """The body every attempt of a delivery sends, fixed when the delivery is created: Kibo's notification,
    ids only, as compact JSON (what a receiver's `JSON.stringify` of the parsed body gives back byte for
    byte, so is-request-valid.js verifies it whether or not the receiver parsed it)."""
    return json.dumps({
        "eventId": event_id, "topic": topic, "entityId": entity_id, "timestamp": timestamp(created_at),
        "correlationId": correlation_id, "isTest": bool(is_test), "extendedProperties": extended_properties(extended),
    }, separators=(",", ":"), ensure_ascii=False)


# -- topics --------------------------------------------------------------------------------------------

def topic_number(topic: str) -> int:
    """AppDevEvent's `eventId` for a topic: a number that stays the topic's whatever topics are added (CRC-32
    of its name, in int32)."""
    return zlib.crc32(topic.encode("ascii", "replace")) & 0x7FFFFFFF


def topic_by_number(number: int, known: Iterable[str]) -> str | None:
    return next((t for t in known if topic_number(t) == number), None)


def topics_of(names: Iterable[str | None], known: Sequence[str] | None = None) -> list[str]:
    """The topics a subscription asks for, lower case, each once, in the order given. A name must look like
    a topic (`resource.action`) and, when the list of `known` topics is given, be one of them."""
    out: list[str] = []
    for raw in names:
        name = (raw or "").strip().lower()
        if not name:
            raise InvalidParameter("events", "Missing or invalid parameter: events[].eventName is required")
        if len(name) > 100 or not _TOPIC.match(name) or (known is not None and name not in known):
            raise InvalidParameter("events", f"Missing or invalid parameter: events[].eventName {name[:100]!r} is "
                                             "not a known topic", name[:100])
        if name not in out:
            out.append(name)
    if not out:
        raise InvalidParameter("events", "Missing or invalid parameter: events must name at least one topic")
    if len(out) > TOPICS_MAX:
        raise InvalidParameter("events", f"Missing or invalid parameter: at most {TOPICS_MAX} topics")
    return out


# -- endpoints and addresses ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class EndpointPolicy:
    """What the operator allows beyond public https endpoints: hosts that may be called over plain http,
    and non-public networks that may be called at all (both settings; the tests allow 127.0.0.1)."""

    http_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, http_hosts: str, networks: str) -> EndpointPolicy:
        return cls(frozenset(h.strip().lower().strip("[]") for h in http_hosts.split(",") if h.strip()),
                   tuple(ipaddress.ip_network(n.strip(), strict=False) for n in networks.split(",") if n.strip()))


@dataclass(frozen=True)
class Endpoint:
    """An endpoint URL taken apart: what the deliverer connects to and what it asks for."""

    url: str
    scheme: str
    host: str
    port: int
    target: str
    """The path and query sent in the request line."""

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"

    def literal_address(self) -> Address | None:
        try:
            return ipaddress.ip_address(self.host)
        except ValueError:
            return None


def _bad(message: str, url: str) -> InvalidParameter:
    return InvalidParameter("applicationEndPoint", f"Missing or invalid parameter: applicationEndPoint {message}",
                            url[:200])


def parse_endpoint(url: str | None, policy: EndpointPolicy) -> Endpoint:
    """The endpoint, if its URL may be subscribed: absolute https (http only for a host the operator
    allows), no user name or password, no fragment. Where its name points is checked separately
    (`address_allowed`), when subscribing and again at every delivery."""
    text = (url or "").strip()
    if not text:
        raise _bad("is required", text)
    if len(text) > ENDPOINT_MAX or any(ord(c) < 33 or ord(c) == 127 for c in text):
        raise _bad("is not a valid URL", text)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise _bad("is not a valid URL", text) from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if scheme not in ("https", "http") or not host:
        raise _bad("must be an absolute https URL", text)
    if port == 0:
        raise _bad("is not a valid URL", text)
    if parts.username is not None or parts.password is not None:
        raise _bad("must not carry a user name or password", text)
    if parts.fragment:
        raise _bad("must not have a fragment", text)
    if scheme == "http" and host not in policy.http_hosts:
        raise _bad("must use https (plain http only for hosts the operator allows)", text)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Endpoint(url=text, scheme=scheme, host=host, port=port if port is not None else (443 if scheme == "https" else 80),
                    target=target)


def address_allowed(address: str | Address, policy: EndpointPolicy) -> bool:
    """Whether a delivery may connect to `address`: a public (globally routable) unicast address, or one in
    a network the operator allows. Loopback, link-local, private, shared, reserved, multicast and
    unspecified addresses are refused, IPv4 ones also when written as IPv6 (mapped, 6to4, NAT64...)."""
    try:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    except ValueError:
        return False
    if any(ip in net for net in policy.allowed_networks if net.version == ip.version):
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None or ip in ipaddress.ip_network("64:ff9b::/96"):
            return False
        if ip in ipaddress.ip_network("::/96"):  # IPv4-compatible (deprecated)
            return False
    return bool(ip.is_global) and not ip.is_multicast and not ip.is_unspecified


# -- retries ----------------------------------------------------------------------------------------------

def retry_delay(attempts: int, rng: random.Random, base: float, longest: float = RETRY_MAX_SECONDS) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: doubling from `base` seconds up to
    `longest`, each drawn in [half, all] of it, so that deliverers do not retry in lockstep."""
    full = min(longest, base * 2 ** max(0, min(attempts - 1, 30)))
    return timedelta(seconds=full * rng.uniform(0.5, 1.0))


def gives_up(created_at: datetime, now: datetime, retry_for: float) -> bool:
    """Whether a delivery that failed at `now` is given up: it has been retried for `retry_for` seconds
    (14 days by default, Kibo's promise)."""
    return now - created_at >= timedelta(seconds=retry_for)


# -- records ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Subscription:
    """A push subscription (Kibo's ApplicationSubscription), without its secret."""

    id: int
    tenant_id: int
    client_id: str
    endpoint: str
    topics: tuple[str, ...]
    package_id: int | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Delivery:
    """One event's delivery to one subscription, as shown to its owner and the operator."""

    id: int
    subscription_id: int
    tenant_id: int
    event_id: str
    topic: str
    entity_id: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    failed_at: datetime | None


@dataclass(frozen=True)
class Job:
    """A claimed delivery: what one attempt needs (the subscription's endpoint and sealed secret)."""

    id: int
    subscription_id: int
    tenant_id: int
    client_id: str
    event_id: str
    entity_id: str
    body: str
    attempts: int
    created_at: datetime
    retry_since: datetime
    endpoint: str
    secret: bytes
