"""Rate limits on the endpoints an attacker would hammer: which class an endpoint belongs to, and the
check every such flow makes first.

Each class has two token buckets per tenant (limits in `TenantSettings.rate_limits`): one per client
address and one per account. The account bucket is keyed on what the request names -- an account
id, a login name or an email -- and an unknown name gets a bucket exactly like a known one, so the
answer never tells whether an account exists. Applications with the customer:admin behavior (a
merchant's back office, calling for everyone from one address) skip the per-address bucket only.

A storefront's server (an application flagged `storefront_server`, proving itself with its own
credential, see `Caller`) calls for all its shoppers from its own address: its calls are counted
against a bucket of the application's own (`per_storefront_server`, sized for a busy storefront), and
against the per-address bucket of the shopper's address only when it forwards one; never against its
own address. Its budget bounds it also when it forwards made-up addresses (a storefront that passes
on whatever its visitors claim).
Application authentication comes before any tenant is known: its two buckets (per client address,
and per client id counting failures) take their numbers from the settings (`app_auth_*`).

Keys are HMACs under a key derived from the server secret, so neither emails nor client addresses
end up in Redis. A client address counts as `address_key` says (an IPv6 client as its /64), here and
in the lockout's per-address allowance.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
from collections.abc import Awaitable, Callable
from enum import StrEnum

from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import TooManyRequests
from ticketbooth.domain.models import BEHAVIOR_CUSTOMER_ADMIN
from ticketbooth.domain.policies import RateBucket


class Limit(StrEnum):
    LOGIN = "login"
    REFRESH = "refresh"
    ANONYMOUS = "anonymous"
    REGISTRATION = "registration"
    CODE_REQUEST = "code-request"
    PASSWORD_RESET = "password-reset"
    CODE_VERIFY = "code-verify"
    FEDERATION = "federation"


_WHAT = {
    Limit.LOGIN: "login attempts",
    Limit.REFRESH: "refresh requests",
    Limit.ANONYMOUS: "anonymous ticket requests",
    Limit.REGISTRATION: "registrations",
    Limit.CODE_REQUEST: "code requests",
    Limit.PASSWORD_RESET: "password reset requests",
    Limit.CODE_VERIFY: "code attempts",
    Limit.FEDERATION: "federated sign-in requests",
}


def address_key(address: str) -> str:
    """The client a per-address limit counts, from its address: an IPv4 address whole; an IPv6
    address as its /64 network, because one host (a home, a VM) is given a whole /64 and may send
    from any of its 2**64 addresses; an IPv4-mapped IPv6 address as the IPv4 address it maps. Text
    that is not an address stays as it is ("unknown" when empty). Every per-address key is made
    from this, so rate limits and the lockout allowance agree on who one client is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))  # the zone (%eth0), if any, dropped
    return str(ip)


def bucket_key(core: Core, caller: Caller, limit: Limit, side: str, value: str) -> str:
    """The limiter key of one bucket: tenant, class, side ("address" or "account") and a keyed hash
    of the address or account key."""
    return f"{caller.tenant.id}:{limit.value}:{side}:{_digest(core, value)}"


def _digest(core: Core, value: str) -> str:
    secret = hmac.new(core.refresh_secret, b"ticketbooth rate limit keys", hashlib.sha256).digest()
    return hmac.new(secret, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:32]


async def _take(core: Core, key: str, bucket: RateBucket, message: str) -> None:
    wait = await core.limiter.take(key, bucket.capacity, bucket.per_second)
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise TooManyRequests(f"Too Many Requests: {message}; retry in {seconds} seconds", seconds)


async def check(core: Core, caller: Caller, limit: Limit, account_key: str | None = None) -> None:
    """Take one token from the caller's per-address bucket (a storefront server's: from its own
    bucket, and from the forwarded address's if any) and, when `account_key` is given, from that
    account's bucket; TooManyRequests (429 with Retry-After) when any is empty."""
    rules = caller.tenant.settings.rate_limits.of(limit.value)
    if not rules.enabled:
        return
    what = _WHAT[limit]
    server = caller.storefront_server
    if server and rules.per_storefront_server is not None:
        key = bucket_key(core, caller, limit, "storefront-server", str(caller.app.id))
        await _take(core, key, rules.per_storefront_server, f"too many {what} from this storefront server")
    by_address = not server or bool(caller.forwarded_for)  # a server's own address is never counted
    if by_address and rules.per_address is not None and not caller.app.has(BEHAVIOR_CUSTOMER_ADMIN):
        key = bucket_key(core, caller, limit, "address", address_key(caller.client_address))
        await _take(core, key, rules.per_address, f"too many {what} from this address")
    if account_key is not None:
        await check_account(core, caller, limit, account_key)


async def check_account(core: Core, caller: Caller, limit: Limit, account_key: str) -> None:
    """The per-account half of `check` alone, for flows that learn the account only after the
    per-address check (refresh: the token family)."""
    rules = caller.tenant.settings.rate_limits.of(limit.value)
    if rules.enabled and rules.per_account is not None:
        key = bucket_key(core, caller, limit, "account", account_key)
        await _take(core, key, rules.per_account, f"too many {_WHAT[limit]} for this account")


async def check_account_left(core: Core, caller: Caller, limit: Limit, account_key: str) -> None:
    """TooManyRequests when the account's bucket is empty, taking nothing: for a class whose account
    bucket counts only failures (login), spent afterwards with `spend_account`."""
    rules = caller.tenant.settings.rate_limits.of(limit.value)
    if rules.enabled and rules.per_account is not None:
        key = bucket_key(core, caller, limit, "account", account_key)
        wait = await core.limiter.peek(key, rules.per_account.capacity, rules.per_account.per_second)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise TooManyRequests(f"Too Many Requests: too many {_WHAT[limit]} for this account; retry in {seconds} "
                                  "seconds", seconds)


async def spend_account(core: Core, caller: Caller, limit: Limit, account_key: str) -> None:
    """Take one token from the account's bucket, refusing nothing (the request has been answered
    already); an empty bucket stays empty."""
    rules = caller.tenant.settings.rate_limits.of(limit.value)
    if rules.enabled and rules.per_account is not None:
        key = bucket_key(core, caller, limit, "account", account_key)
        await core.limiter.take(key, rules.per_account.capacity, rules.per_account.per_second)


# -- application authentication (no tenant yet) -------------------------------------------------------

APP_AUTH = "app-auth"


def _app_auth_key(core: Core, side: str, value: str) -> str:
    return f"{APP_AUTH}:{side}:{_digest(core, value)}"


async def check_app_auth(core: Core, client_address: str, client_id: str,
                         vouched: Callable[[], Awaitable[bool]] | None = None) -> None:
    """Before an application's secret is checked: take one token from the client address's bucket,
    and refuse when the client id's failures are used up (TooManyRequests), unless `vouched()` says the
    request comes from the application itself (it holds a live refresh token of it): whoever knows a
    client id could otherwise keep a running storefront from renewing its token for as long as they
    kept failing. The client id's bucket is the same whether the id exists or not."""
    per_address, per_client = core.settings.app_auth_per_address, core.settings.app_auth_per_client
    if per_address is not None:
        key = _app_auth_key(core, "address", address_key(client_address))
        await _take(core, key, per_address, "too many application authentications from this address")
    if per_client is not None:
        wait = await core.limiter.peek(_app_auth_key(core, "client", client_id), per_client.capacity,
                                       per_client.per_second)
        if wait > 0 and not (vouched is not None and await vouched()):
            seconds = max(1, math.ceil(wait))
            raise TooManyRequests("Too Many Requests: too many failed application authentications for this client; "
                                  f"retry in {seconds} seconds", seconds)


async def spend_app_auth_failure(core: Core, client_id: str) -> None:
    """Count a refused application authentication against its client id."""
    per_client = core.settings.app_auth_per_client
    if per_client is not None:
        await core.limiter.take(_app_auth_key(core, "client", client_id), per_client.capacity, per_client.per_second)
