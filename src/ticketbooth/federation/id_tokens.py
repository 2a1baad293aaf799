"""Validating a provider's ID token (OpenID Connect Core 3.1.3.7) with Authlib's JOSE library (joserfc, which
Authlib 1.9 builds on and installs): the signature against the provider's published keys (JWKS), asymmetric
algorithms only; `iss` exactly the provider's issuer; our client id among `aud`, and `azp` ours when present or
when there are several audiences; `exp` not passed and `iat` not in the future (LEEWAY_SECONDS of skew); `sub`
present; `nonce` the one this flow sent (compared as hashes: only the hash is kept).

The provider's keys are cached per JWKS address in this process, and fetched again when a token names a key
(`kid`) the cache does not hold (the provider rotated its keys), but not more often than REFETCH_FLOOR: a stream
of tokens with made-up key ids cannot make us hammer the provider. Keys are also refreshed after KEYS_MAX_AGE.
"""

from __future__ import annotations

import hmac
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from ticketbooth.config import Settings
from ticketbooth.federation import outbound
from ticketbooth.federation.rules import (
    ID_TOKEN_ALGORITHMS,
    LEEWAY_SECONDS,
    Assertion,
    Provider,
    assertion_of,
    audience_problem,
)
from ticketbooth.infra.tokens import at_rest

REFETCH_FLOOR = timedelta(seconds=60)
KEYS_MAX_AGE = timedelta(hours=6)
CACHED_KEY_SETS = 256
ID_TOKEN_MAX = 16 * 1024


class IdTokenRefused(Exception):
    """The ID token failed a check; `reason` names which (never the token or a claim's value)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Keys:
    keys: KeySet
    fetched_at: datetime


class KeyCache:
    """The providers' key sets, by JWKS address (least recently used dropped past CACHED_KEY_SETS)."""

    def __init__(self) -> None:
        self._sets: OrderedDict[str, _Keys] = OrderedDict()

    async def keys(self, settings: Settings, jwks_uri: str, now: datetime, *, unknown_kid: bool = False) -> KeySet:
        cached = self._sets.get(jwks_uri)
        stale = cached is None or now - cached.fetched_at > KEYS_MAX_AGE
        may_refetch = cached is None or now - cached.fetched_at >= REFETCH_FLOOR
        if cached is not None and not stale and not (unknown_kid and may_refetch):
            self._sets.move_to_end(jwks_uri)
            return cached.keys
        fetched = await fetch_keys(settings, jwks_uri)
        self._sets[jwks_uri] = _Keys(fetched, now)
        self._sets.move_to_end(jwks_uri)
        while len(self._sets) > CACHED_KEY_SETS:
            self._sets.popitem(last=False)
        return fetched

    def clear(self) -> None:
        self._sets.clear()

    def fetched_at(self, jwks_uri: str) -> datetime | None:
        cached = self._sets.get(jwks_uri)
        return cached.fetched_at if cached else None


KEY_CACHE = KeyCache()
"""This process's cache (the keys are public; a process that starts fetches them again)."""


async def fetch_keys(settings: Settings, jwks_uri: str) -> KeySet:
    """The provider's signing keys (ProviderUnreachable when they cannot be fetched or read)."""
    document = await outbound.get_json(settings, jwks_uri)
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise outbound.ProviderUnreachable("the provider's key set has no keys")
    usable = [k for k in entries if isinstance(k, dict) and k.get("use", "sig") == "sig" and k.get("kty") != "oct"]
    try:
        return KeySet.import_key_set({"keys": usable})
    except (JoseError, ValueError, TypeError, KeyError):
        raise outbound.ProviderUnreachable("the provider's key set cannot be read") from None


def nonce_hash(nonce: str) -> str:
    return at_rest(nonce)


async def validate(settings: Settings, provider: Provider, id_token: str, expected_nonce_hash: str, now: datetime,
                   cache: KeyCache = KEY_CACHE) -> Assertion:
    """The shopper the ID token asserts, once every check of the module docstring passed; IdTokenRefused
    otherwise (ProviderUnreachable when the provider's keys cannot be had)."""
    if not id_token or len(id_token) > ID_TOKEN_MAX:
        raise IdTokenRefused("malformed")
    keys = await cache.keys(settings, provider.endpoints.jwks_uri, now)
    try:
        token = _decode(id_token, keys)
    except InvalidKeyIdError:
        keys = await cache.keys(settings, provider.endpoints.jwks_uri, now, unknown_kid=True)
        try:
            token = _decode(id_token, keys)
        except InvalidKeyIdError:
            raise IdTokenRefused("unknown-key") from None
    claims: dict[str, Any] = dict(token.claims)
    registry = JWTClaimsRegistry(
        now=int(now.timestamp()), leeway=LEEWAY_SECONDS, iss={"essential": True, "value": provider.issuer},
        sub={"essential": True}, exp={"essential": True}, iat={"essential": True})
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise IdTokenRefused(f"claim-{getattr(exc, 'claim', None) or exc.error}") from None
    problem = audience_problem(claims, provider.client_id)
    if problem:
        raise IdTokenRefused(f"claim-{problem}")
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not hmac.compare_digest(nonce_hash(nonce), expected_nonce_hash):
        raise IdTokenRefused("claim-nonce")
    try:
        return assertion_of(claims)
    except ValueError:
        raise IdTokenRefused("claim-sub") from None


def _decode(id_token: str, keys: KeySet) -> jwt.Token:
    try:
        return jwt.decode(id_token, keys, algorithms=list(ID_TOKEN_ALGORITHMS))
    except InvalidKeyIdError:
        raise
    except (JoseError, ValueError, TypeError, KeyError):
        raise IdTokenRefused("signature") from None
