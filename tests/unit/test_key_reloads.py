"""Tokens naming a `kid` the key ring does not know make it reload its keys (another process may
have rotated), but requests arriving together share ONE load, and such reloads happen at most once a
second (issue 13d): a burst of garbage tokens with made-up kids cannot turn into a burst of database
reads. Loads are counted through the `load` callable the ring is given."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ticketbooth.domain.models import SigningKey
from ticketbooth.infra import signing
from ticketbooth.infra.signing import KeyRing, encode_es256, generate_key, protected_header

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
ISSUER, AUDIENCE = "https://shop.example.test", "ticketbooth"


class Monotonic:
    """Stands in for the `time` module inside infra.signing: a monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Monotonic:
    clock = Monotonic()
    monkeypatch.setattr(signing, "time", clock)
    return clock


def forged(kid: str) -> str:
    """A well-formed ES256 token naming `kid`, signed by a key the ring does not hold."""
    private = serialization.load_pem_private_key(generate_key(NOW).private_pem, password=None)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    ts = int(NOW.timestamp())
    claims: dict[str, Any] = {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "iat": ts, "exp": ts + 900}
    return encode_es256(claims, private, protected_header(kid))


class Counted:
    def __init__(self, key: SigningKey) -> None:
        self.key = key
        self.loads = 0

    async def __call__(self) -> list[SigningKey]:
        self.loads += 1
        await asyncio.sleep(0.01)  # a database read: concurrent callers overlap it
        return [self.key]


async def test_concurrent_unknown_kids_share_one_load_at_most_once_a_second(clock: Monotonic) -> None:
    load = Counted(generate_key(NOW))
    keys = KeyRing(load, ISSUER, AUDIENCE, reload_seconds=3600)
    await keys.refresh()
    assert load.loads == 1
    clock.now += 5  # the keys were loaded long enough ago for an unknown kid to ask again

    results = await asyncio.gather(*(keys.verify(forged(f"unknown{i}"), NOW) for i in range(50)))
    assert results == [None] * 50
    assert load.loads == 2  # one load for all fifty

    clock.now += 0.5  # within a second of that load: unknown kids reload nothing
    assert await asyncio.gather(*(keys.verify(forged(f"again{i}"), NOW) for i in range(20))) == [None] * 20
    assert load.loads == 2

    clock.now += 1.0
    assert await asyncio.gather(*(keys.verify(forged(f"later{i}"), NOW) for i in range(20))) == [None] * 20
    assert load.loads == 3


async def test_a_key_rotated_in_by_another_process_is_still_found_by_its_kid(clock: Monotonic) -> None:
    old, new = generate_key(NOW), generate_key(NOW)
    published = [old]

    async def load() -> list[SigningKey]:
        return list(published)

    keys = KeyRing(load, ISSUER, AUDIENCE, reload_seconds=3600)
    signer = KeyRing(lambda: asyncio.sleep(0, [new]), ISSUER, AUDIENCE, reload_seconds=3600)
    await keys.refresh()
    published.insert(0, new)  # the other process rotated
    token = await signer.sign({"sub": "x", "iat": int(NOW.timestamp()), "exp": int(NOW.timestamp()) + 900})
    clock.now += 2
    verified = await asyncio.gather(*(keys.verify(token, NOW) for _ in range(10)))
    assert all(v is not None and v["sub"] == "x" for v in verified)
