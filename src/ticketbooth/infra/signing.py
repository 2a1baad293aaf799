"""JWT signing keys: generation, the key ring each process holds, signing, verifying and the JWKS.

Keys live in the database so every process shares them. Each process re-reads them every
`reload_seconds` and at once when it meets a `kid` it does not know (one reload shared by every
request waiting for it, at most one a second), so a rotation made through one process is published
and used by all of them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

import jwt
import orjson
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from jwt.algorithms import ECAlgorithm

from ticketbooth.domain.models import SigningKey
from ticketbooth.infra.tokens import new_hex

ALGORITHM = "ES256"
_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
"""A JWS in compact form: three unpadded base64url parts (RFC 7515)."""
VERIFIED_CACHE_SIZE = 10_000
UNKNOWN_KID_RELOAD_SECONDS = 1.0
"""At most one reload a second is caused by tokens naming kids the ring does not know."""
_ES256 = ec.ECDSA(hashes.SHA256())
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
"""n, the order of the P-256 group: (r, s) and (r, n - s) are both valid signatures of a message."""
_HALF_ORDER = P256_ORDER // 2


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def encode_es256(claims: dict[str, Any], private: ec.EllipticCurvePrivateKey, header: bytes) -> str:
    """A compact JWS (RFC 7515) of `claims` signed with ES256 (RFC 7518 3.4: the signature is R || S,
    32 bytes each). `header` is the protected header already base64url-encoded (one per key).

    The same token PyJWT's `jwt.encode` makes, at about half its cost: this runs on every ticket issued,
    and the JSON is serialized once, by orjson, with the header made once per key."""
    signing_input = header + b"." + _b64(orjson.dumps(claims))
    r, s = decode_dss_signature(private.sign(signing_input, _ES256))
    if s > _HALF_ORDER:  # the low-S twin of the same signature: the only form `KeyRing` accepts
        s = P256_ORDER - s
    return (signing_input + b"." + _b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))).decode("ascii")


def _low_s(token: str) -> bool:
    """Whether the token's ES256 signature is 64 bytes with s <= n/2. ECDSA signatures are
    malleable: anyone holding a token can turn (r, s) into (r, n - s), which verifies as well, and
    get a second spelling of the same token past anything that tells tokens apart by their text
    (the verified-token cache here, a relying party's replay or deny list). Our signer emits low S
    only, so refusing high S costs our own tokens nothing."""
    signature = token.rsplit(".", 1)[1]
    try:
        raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    except ValueError:
        return False
    return len(raw) == 64 and 0 < int.from_bytes(raw[32:], "big") <= _HALF_ORDER


def protected_header(kid: str, typ: str = "JWT") -> bytes:
    """The protected header of a token signed with key `kid`; `typ` says what kind of token it is
    (RFC 9068 section 2.1: an application's access token is `at+jwt`), so that a verifier cannot take
    one kind for another."""
    return _b64(orjson.dumps({"alg": ALGORITHM, "kid": kid, "typ": typ}))


@lru_cache(maxsize=VERIFIED_CACHE_SIZE)
def header_type(token: str) -> str | None:
    """The `typ` of a token's protected header, lower-cased and without an `application/` prefix
    (RFC 7515 4.1.9). Ask only about a token `KeyRing.verify` accepted: the header is signed with the
    claims, so it is then as trustworthy as they are (and only such tokens fill the cache, which saves
    parsing the header again on every request: an application sends the same token for an hour)."""
    try:
        typ = jwt.get_unverified_header(token).get("typ")
    except jwt.PyJWTError:
        return None
    if not isinstance(typ, str):
        return None
    typ = typ.strip().lower()
    return typ.removeprefix("application/")


def generate_key(now: datetime) -> SigningKey:
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    kid = new_hex(8)
    jwk: dict[str, str] = json.loads(ECAlgorithm.to_jwk(private.public_key()))
    jwk.update({"kid": kid, "use": "sig", "alg": ALGORITHM})
    return SigningKey(
        kid=kid, algorithm=ALGORITHM, private_pem=pem, public_jwk=jwk, created_at=now,
        retired_at=None, publish_until=None,
    )


def _retrieve(task: asyncio.Task[None]) -> None:
    """A background reload that failed is retried by the next caller: its error is not one of its own."""
    if not task.cancelled():
        task.exception()


class KeyRing:
    """The signing keys one process knows. `load` returns the keys to publish, newest first."""

    def __init__(
        self,
        load: Callable[[], Awaitable[Sequence[SigningKey]]],
        issuer: str,
        audience: str,
        reload_seconds: float,
    ) -> None:
        self._load = load
        self._issuer = issuer
        self._audience = audience
        self._reload_seconds = reload_seconds
        self._keys: dict[str, tuple[SigningKey, Any, Any]] = {}
        self._current: tuple[SigningKey, Any, bytes] | None = None
        self._typed_headers: dict[tuple[str, str], bytes] = {}
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()
        self._reloading: asyncio.Task[None] | None = None
        self._verified: dict[str, dict[str, Any]] = {}

    async def refresh(self) -> None:
        async with self._lock:
            keys = await self._load()
            ring: dict[str, tuple[SigningKey, Any, Any]] = {}
            current: tuple[SigningKey, Any, bytes] | None = None
            for key in keys:
                cached = self._keys.get(key.kid)
                if cached is not None:
                    private, public = cached[1], cached[2]
                else:
                    private = serialization.load_pem_private_key(key.private_pem, password=None)
                    public = private.public_key()
                ring[key.kid] = (key, private, public)
                if key.retired_at is None and (current is None or key.created_at > current[0].created_at):
                    current = (key, private, protected_header(key.kid))
            self._keys = ring
            self._current = current
            self._loaded_at = time.monotonic()

    async def _fresh(self) -> None:
        """Keys loaded less than `reload_seconds` ago. Past half that time the first caller starts one
        reload in the background and goes on with the keys it has; a caller waits only when the keys
        are older (or missing), and then all such callers wait for the same single reload. (Each
        request used to queue for a reload of its own: a stall of up to a second each time.)"""
        age = time.monotonic() - self._loaded_at
        if self._current is not None and age <= self._reload_seconds:
            if age > self._reload_seconds / 2:
                self._reload()
            return
        await asyncio.shield(self._reload())

    def _reload(self) -> asyncio.Task[None]:
        """The running reload, or a new one."""
        if self._reloading is None or self._reloading.done():
            self._reloading = asyncio.get_running_loop().create_task(self.refresh())
            self._reloading.add_done_callback(_retrieve)
        return self._reloading

    async def _reload_for_unknown_kid(self) -> None:
        """Reload for a token naming a kid not in the ring (another process may have rotated): wait
        for the reload under way, else start one unless the keys were loaded less than
        `UNKNOWN_KID_RELOAD_SECONDS` ago. Tokens with made-up kids arrive in bursts; each used to run
        a load of its own, one after another, so a burst became as many database reads."""
        if self._reloading is not None and not self._reloading.done():
            await asyncio.shield(self._reloading)
        elif time.monotonic() - self._loaded_at > UNKNOWN_KID_RELOAD_SECONDS:
            await asyncio.shield(self._reload())

    async def sign(self, claims: dict[str, Any], typ: str = "JWT") -> str:
        """A token of `claims` signed with the current key; `typ` goes into its header."""
        await self._fresh()
        if self._current is None:
            raise RuntimeError("no active signing key; run `ticketbooth keys rotate`")
        key, private, header = self._current
        if typ != "JWT":
            typed = self._typed_headers.get((key.kid, typ))
            if typed is None:
                typed = self._typed_headers[(key.kid, typ)] = protected_header(key.kid, typ)
            header = typed
        return encode_es256({"iss": self._issuer, "aud": self._audience, **claims}, private, header)

    async def verify(self, token: str, now: datetime) -> dict[str, Any] | None:
        """The claims of a token signed by one of our keys and valid at `now`, else None. Time is
        checked against the injected clock, not the system's. A signature once checked is
        remembered (an application presents the same token on every request for an hour)."""
        claims = self._verified.get(token)
        if claims is None:
            claims = await self._check_signature(token)
            if claims is None:
                return None
            if len(self._verified) >= VERIFIED_CACHE_SIZE:
                self._verified.clear()
            self._verified[token] = claims
        ts = now.timestamp()
        exp, nbf = claims.get("exp"), claims.get("nbf", claims.get("iat"))
        if not isinstance(exp, int | float) or not isinstance(nbf, int | float) or not nbf - 5 <= ts < exp:
            return None
        return claims

    async def _check_signature(self, token: str) -> dict[str, Any] | None:
        if not _COMPACT.fullmatch(token):  # the decoder also takes padding: one token, one spelling
            return None
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None
        kid = header.get("kid")
        if not isinstance(kid, str) or header.get("alg") != ALGORITHM or not _low_s(token):
            return None
        await self._fresh()
        entry = self._keys.get(kid)
        if entry is None:
            await self._reload_for_unknown_kid()
            entry = self._keys.get(kid)
        if entry is None:
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                token, entry[2], algorithms=[ALGORITHM], audience=self._audience, issuer=self._issuer,
                options={
                    "require": ["exp", "iat", "sub"], "verify_exp": False, "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError:
            return None
        return claims

    async def jwks(self) -> dict[str, list[dict[str, str]]]:
        await self._fresh()
        return {"keys": [entry[0].public_jwk for entry in self._keys.values()]}
