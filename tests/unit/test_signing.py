"""JWT signing keys: sign and verify against the injected time, the JWKS, and rotation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from ticketbooth.core import Core, rotate_signing_key
from ticketbooth.domain.models import SigningKey
from ticketbooth.infra import signing
from ticketbooth.infra.clock import ManualClock
from ticketbooth.infra.signing import ALGORITHM, KeyRing, generate_key

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
ISSUER, AUDIENCE = "https://shop.example.test", "ticketbooth"


def ring(*keys: SigningKey, issuer: str = ISSUER, audience: str = AUDIENCE) -> KeyRing:
    async def load() -> list[SigningKey]:
        return list(keys)

    return KeyRing(load, issuer, audience, reload_seconds=3600)


def claims(now: datetime = NOW, **extra: Any) -> dict[str, Any]:
    ts = int(now.timestamp())
    return {"sub": "u" * 32, "iat": ts, "nbf": ts, "exp": ts + 900, **extra}


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.fixture
def key() -> SigningKey:
    return generate_key(NOW)


# -- sign and verify -----------------------------------------------------------------------------

async def test_a_signed_token_verifies_with_its_claims(key: SigningKey) -> None:
    keys = ring(key)
    token = await keys.sign(claims(tenant=100))
    header = jwt.get_unverified_header(token)
    assert header["alg"] == ALGORITHM == "ES256"
    assert header["kid"] == key.kid
    verified = await keys.verify(token, NOW)
    assert verified is not None
    assert (verified["tenant"], verified["iss"], verified["aud"]) == (100, ISSUER, AUDIENCE)


async def test_the_token_verifies_with_the_published_public_key(key: SigningKey) -> None:
    keys = ring(key)
    token = await keys.sign(claims())
    jwk = (await keys.jwks())["keys"][0]
    public = jwt.PyJWK(jwk).key
    assert jwt.decode(token, public, algorithms=["ES256"], audience=AUDIENCE, issuer=ISSUER,
                      options={"verify_exp": False, "verify_iat": False, "verify_nbf": False})["sub"] == "u" * 32


async def test_every_signature_is_raw_r_and_s_that_pyjwt_accepts(key: SigningKey) -> None:
    # tokens are signed without PyJWT (speed); R or S with leading zero bytes comes up in about 1 of
    # 128 signatures, so 400 of them cover the padding of both
    keys = ring(key)
    public = jwt.PyJWK((await keys.jwks())["keys"][0]).key
    for i in range(400):
        token = await keys.sign(claims(n=i))
        assert len(base64.urlsafe_b64decode(token.rsplit(".", 1)[1] + "==")) == 64
        assert jwt.get_unverified_header(token) == {"alg": "ES256", "kid": key.kid, "typ": "JWT"}
        decoded = jwt.decode(token, public, algorithms=["ES256"], audience=AUDIENCE, issuer=ISSUER,
                             options={"verify_exp": False, "verify_iat": False, "verify_nbf": False})
        assert decoded == {**claims(n=i), "iss": ISSUER, "aud": AUDIENCE}


async def test_time_is_the_injected_time_not_the_system_clock(key: SigningKey) -> None:
    """Tokens from 2026 are checked against the given `now`, whatever today's date is."""
    keys = ring(key)
    far_future = datetime(2090, 1, 1, tzinfo=UTC)
    token = await keys.sign(claims(far_future))
    assert await keys.verify(token, far_future + timedelta(minutes=1)) is not None
    assert await keys.verify(token, NOW) is None


async def test_an_expired_token_is_refused(key: SigningKey) -> None:
    keys = ring(key)
    token = await keys.sign(claims())
    assert await keys.verify(token, NOW + timedelta(seconds=899)) is not None
    assert await keys.verify(token, NOW + timedelta(seconds=900)) is None
    assert await keys.verify(token, NOW + timedelta(days=1)) is None


async def test_a_token_not_yet_valid_is_refused(key: SigningKey) -> None:
    keys = ring(key)
    token = await keys.sign(claims(NOW + timedelta(minutes=1)))
    assert await keys.verify(token, NOW) is None
    assert await keys.verify(token, NOW + timedelta(minutes=1)) is not None


async def test_nbf_is_used_when_present(key: SigningKey) -> None:
    keys = ring(key)
    token = await keys.sign(claims(nbf=int((NOW + timedelta(minutes=5)).timestamp())))
    assert await keys.verify(token, NOW + timedelta(minutes=1)) is None
    assert await keys.verify(token, NOW + timedelta(minutes=5)) is not None


async def test_a_token_for_another_audience_is_refused(key: SigningKey) -> None:
    token = await ring(key, audience="someone-else").sign(claims())
    assert await ring(key).verify(token, NOW) is None


async def test_a_token_from_another_issuer_is_refused(key: SigningKey) -> None:
    token = await ring(key, issuer="https://evil.example").sign(claims())
    assert await ring(key).verify(token, NOW) is None


async def test_a_token_without_a_subject_is_refused(key: SigningKey) -> None:
    keys = ring(key)
    body = claims()
    del body["sub"]
    assert await keys.verify(await keys.sign(body), NOW) is None


async def test_an_unsigned_alg_none_token_is_refused(key: SigningKey) -> None:
    keys = ring(key)
    body = {"iss": ISSUER, "aud": AUDIENCE, **claims()}
    forged = f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': key.kid})}.{b64(body)}."
    assert await keys.verify(forged, NOW) is None
    forged_es = f"{b64({'alg': 'ES256', 'typ': 'JWT', 'kid': key.kid})}.{b64(body)}."
    assert await keys.verify(forged_es, NOW) is None


async def test_an_hs256_token_keyed_with_the_public_key_is_refused(key: SigningKey) -> None:
    """The classic algorithm confusion: an HMAC token whose secret is our (public) key."""
    keys = ring(key)
    public_pem = serialization.load_pem_private_key(key.private_pem, password=None).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    body = {"iss": ISSUER, "aud": AUDIENCE, **claims()}
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT', 'kid': key.kid})}.{b64(body)}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    forged = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    assert await keys.verify(forged, NOW) is None
    hs = jwt.encode(body, "shared-secret-of-at-least-32-bytes!!", algorithm="HS256", headers={"kid": key.kid})
    assert await keys.verify(hs, NOW) is None


async def test_a_token_signed_by_a_key_we_do_not_hold_is_refused(key: SigningKey) -> None:
    stranger = generate_key(NOW)
    token = await ring(stranger).sign(claims())
    assert await ring(key).verify(token, NOW) is None


async def test_a_foreign_key_claiming_our_kid_is_refused(key: SigningKey) -> None:
    impostor = replace(generate_key(NOW), kid=key.kid)
    token = await ring(impostor).sign(claims())
    assert jwt.get_unverified_header(token)["kid"] == key.kid
    assert await ring(key).verify(token, NOW) is None


async def test_a_tampered_token_is_refused(key: SigningKey) -> None:
    keys = ring(key)
    header, _, signature = (await keys.sign(claims())).split(".")
    tampered = f"{header}.{b64({'iss': ISSUER, 'aud': AUDIENCE, **claims(), 'sub': 'x' * 32})}.{signature}"
    assert await keys.verify(tampered, NOW) is None


@pytest.mark.parametrize("garbage", ["", "not-a-jwt", "a.b.c", "..", "x" * 5000])
async def test_garbage_is_refused(key: SigningKey, garbage: str) -> None:
    assert await ring(key).verify(garbage, NOW) is None


async def test_signing_uses_the_newest_active_key() -> None:
    old = generate_key(NOW - timedelta(days=1))
    newer = generate_key(NOW)
    retired_newest = replace(generate_key(NOW + timedelta(seconds=1)), retired_at=NOW)
    keys = ring(old, newer, retired_newest)
    token = await keys.sign(claims())
    assert jwt.get_unverified_header(token)["kid"] == newer.kid


async def test_signing_without_an_active_key_fails_loudly() -> None:
    retired = replace(generate_key(NOW), retired_at=NOW)
    with pytest.raises(RuntimeError, match="no active signing key"):
        await ring(retired).sign(claims())


# -- JWKS ----------------------------------------------------------------------------------------

async def test_jwks_lists_every_loaded_key_public_part_only() -> None:
    first, second = generate_key(NOW), generate_key(NOW)
    document = await ring(first, second).jwks()
    assert {k["kid"] for k in document["keys"]} == {first.kid, second.kid}
    for jwk in document["keys"]:
        assert jwk["kty"] == "EC"
        assert jwk["crv"] == "P-256"
        assert jwk["alg"] == "ES256"
        assert jwk["use"] == "sig"
        assert {"x", "y"} <= jwk.keys()
        assert "d" not in jwk  # never the private part


def test_generated_keys_have_distinct_kids_and_a_pkcs8_private_key() -> None:
    a, b = generate_key(NOW), generate_key(NOW)
    assert a.kid != b.kid
    assert a.private_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert (a.created_at, a.retired_at, a.publish_until) == (NOW, None, None)


# -- rotation (through the store) ------------------------------------------------------------------

async def test_rotation_keeps_the_old_key_published_until_its_tokens_expire(core: Core, clock: ManualClock) -> None:
    await core.keys.refresh()
    old_token = await core.keys.sign(claims(clock.now()))
    old_kid = jwt.get_unverified_header(old_token)["kid"]

    new_kid = await rotate_signing_key(core.store, clock)
    await core.keys.refresh()
    assert new_kid != old_kid

    published = {k["kid"] for k in (await core.keys.jwks())["keys"]}
    assert published == {old_kid, new_kid}
    assert await core.keys.verify(old_token, clock.now()) is not None
    new_token = await core.keys.sign(claims(clock.now()))
    assert jwt.get_unverified_header(new_token)["kid"] == new_kid
    assert await core.keys.verify(new_token, clock.now()) is not None

    stored = {k.kid: k for k in await core.store.published_keys(clock.now())}
    retired = stored[old_kid]
    assert retired.retired_at == clock.now()
    assert retired.publish_until is not None
    assert retired.publish_until >= clock.now() + timedelta(hours=24)  # longest token lifetime
    assert stored[new_kid].retired_at is None

    # still published just before publish_until, gone after it
    clock.advance(retired.publish_until - clock.now() - timedelta(seconds=1))
    await core.keys.refresh()
    assert {k["kid"] for k in (await core.keys.jwks())["keys"]} == {old_kid, new_kid}

    clock.advance(timedelta(seconds=2))
    await core.keys.refresh()
    assert {k["kid"] for k in (await core.keys.jwks())["keys"]} == {new_kid}
    long_lived = await ring(replace(retired, retired_at=None)).sign(claims(clock.now()))
    assert await core.keys.verify(long_lived, clock.now()) is None
    assert await core.keys.verify(await core.keys.sign(claims(clock.now())), clock.now()) is not None


async def test_a_second_rotation_retires_only_the_current_key(core: Core, clock: ManualClock) -> None:
    await core.keys.refresh()
    first = jwt.get_unverified_header(await core.keys.sign(claims(clock.now())))["kid"]
    second = await rotate_signing_key(core.store, clock)
    clock.advance(timedelta(hours=1))
    third = await rotate_signing_key(core.store, clock)
    keys = {k.kid: k for k in await core.store.published_keys(clock.now())}
    assert set(keys) == {first, second, third}
    assert [kid for kid, k in keys.items() if k.retired_at is None] == [third]
    first_until, second_until = keys[first].publish_until, keys[second].publish_until
    assert first_until is not None and second_until is not None
    assert second_until - first_until == timedelta(hours=1)  # the first key's window is not extended


async def test_another_process_notices_a_rotation_when_it_meets_the_new_kid(
    core: Core, clock: ManualClock, monkeypatch: pytest.MonkeyPatch,
) -> None:
    other = KeyRing(lambda: core.store.published_keys(clock.now()), core.settings.effective_issuer,
                    core.settings.jwt_audience, reload_seconds=3600)
    await other.refresh()
    await rotate_signing_key(core.store, clock)
    await core.keys.refresh()
    token = await core.keys.sign(claims(clock.now()))
    # `other` reloads on an unknown kid at most once a second: let two seconds pass for it
    later = time.monotonic() + 2

    class Later:
        @staticmethod
        def monotonic() -> float:
            return later

    monkeypatch.setattr(signing, "time", Later)
    assert await other.verify(token, clock.now()) is not None


async def test_keys_are_reloaded_once_ahead_of_time_and_callers_do_not_queue_for_it(key: SigningKey) -> None:
    """Past half the reload period one background reload starts and signing goes on meanwhile; past the
    period, every caller waits for the same single reload (not one each, in turn)."""
    import asyncio

    loads = 0
    gate = asyncio.Event()

    async def load() -> list[SigningKey]:
        nonlocal loads
        loads += 1
        await gate.wait()
        return [key]

    keys = KeyRing(load, ISSUER, AUDIENCE, reload_seconds=0.2)
    gate.set()
    await keys.refresh()
    assert loads == 1
    gate.clear()  # from now on a reload hangs until released
    await asyncio.sleep(0.12)  # past half the period
    await asyncio.wait_for(asyncio.gather(*(keys.sign(claims()) for _ in range(20))), 1)  # not waiting
    assert loads == 2  # one reload started, in the background
    await asyncio.sleep(0.1)  # past the period, the reload still hanging
    waiting = [asyncio.create_task(keys.sign(claims())) for _ in range(20)]
    await asyncio.sleep(0.05)
    assert not any(w.done() for w in waiting) and loads == 2  # they all wait for the one reload
    gate.set()
    assert len(await asyncio.wait_for(asyncio.gather(*waiting), 1)) == 20
    assert loads == 2


# -- malleability (issue 13b) ----------------------------------------------------------------------

async def test_signatures_are_low_s_and_their_high_s_twins_are_refused(key: SigningKey) -> None:
    keys = ring(key)
    half = signing.P256_ORDER // 2
    for i in range(64):  # about half the raw ECDSA signatures come out high-S: the signer flips them
        token = await keys.sign(claims(n=i))
        head, sig = token.rsplit(".", 1)
        raw = base64.urlsafe_b64decode(sig + "==")
        s = int.from_bytes(raw[32:], "big")
        assert 0 < s <= half
        twin = base64.urlsafe_b64encode(raw[:32] + (signing.P256_ORDER - s).to_bytes(32, "big")).rstrip(b"=").decode()
        public = jwt.PyJWK((await keys.jwks())["keys"][0]).key
        # the twin is a valid ECDSA signature (PyJWT alone takes it) ...
        assert jwt.decode(f"{head}.{twin}", public, algorithms=["ES256"], audience=AUDIENCE, issuer=ISSUER,
                          options={"verify_exp": False, "verify_iat": False, "verify_nbf": False})["n"] == i
        # ... and we refuse it
        assert await keys.verify(f"{head}.{twin}", NOW) is None
        assert await keys.verify(token, NOW) is not None
