"""The directory's cache (applications/directory.py): one load per key however many requests want it at
once, reloads ahead of expiry in the background, nothing stale kept after `clear`."""

from __future__ import annotations

import asyncio

import pytest

from ticketbooth.applications.directory import _TtlCache


class Loader:
    """Loads `key` -> f"{key}:{n}" (n counts the loads), taking `delay` seconds; fails when `fail`."""

    def __init__(self, delay: float = 0.02) -> None:
        self.delay, self.loads, self.fail = delay, 0, False

    async def __call__(self, key: str) -> str:
        self.loads += 1
        n = self.loads
        await asyncio.sleep(self.delay)
        if self.fail:
            raise ConnectionError("database down")
        return f"{key}:{n}"


async def test_concurrent_misses_share_one_load() -> None:
    cache: _TtlCache[str, str] = _TtlCache(ttl=10)
    load = Loader()
    assert await asyncio.gather(*(cache.get_or_load("app", load) for _ in range(50))) == ["app:1"] * 50
    assert load.loads == 1
    assert await cache.get_or_load("app", load) == "app:1" and load.loads == 1


async def test_past_half_its_time_a_value_is_served_and_reloaded_in_the_background() -> None:
    cache: _TtlCache[str, str] = _TtlCache(ttl=0.2)
    load = Loader()
    assert await cache.get_or_load("app", load) == "app:1"
    await asyncio.sleep(0.12)  # past half of 0.2 s, within it
    answers = await asyncio.gather(*(asyncio.wait_for(cache.get_or_load("app", load), 0.01) for _ in range(20)))
    assert answers == ["app:1"] * 20  # at once, without waiting for the reload
    await asyncio.sleep(0.05)
    assert load.loads == 2  # one reload for all of them
    assert await cache.get_or_load("app", load) == "app:2"


async def test_past_its_time_a_value_is_waited_for() -> None:
    cache: _TtlCache[str, str] = _TtlCache(ttl=0.05)
    load = Loader()
    await cache.get_or_load("app", load)
    await asyncio.sleep(0.08)
    assert await cache.get_or_load("app", load) == "app:2"


async def test_a_load_begun_before_clear_stores_nothing() -> None:
    cache: _TtlCache[str, str] = _TtlCache(ttl=10)
    load = Loader(delay=0.05)
    before = asyncio.create_task(cache.get_or_load("app", load))
    await asyncio.sleep(0.01)
    cache.clear()  # e.g. the application was disabled meanwhile
    assert await before == "app:1"  # its caller asked before the change
    assert await cache.get_or_load("app", load) == "app:2"  # the next read loads again
    assert load.loads == 2


async def test_a_failed_background_reload_keeps_the_value_until_its_time() -> None:
    cache: _TtlCache[str, str] = _TtlCache(ttl=0.2)
    load = Loader()
    await cache.get_or_load("app", load)
    load.fail = True
    await asyncio.sleep(0.12)
    assert await cache.get_or_load("app", load) == "app:1"
    await asyncio.sleep(0.1)  # the reload failed; now the value is past its time
    with pytest.raises(ConnectionError):
        await cache.get_or_load("app", load)


async def test_a_caller_that_goes_away_does_not_cancel_the_load_of_the_others() -> None:
    cache: _TtlCache[str, str] = _TtlCache(ttl=10)
    load = Loader(delay=0.05)
    leaving = asyncio.create_task(cache.get_or_load("app", load))
    staying = asyncio.create_task(cache.get_or_load("app", load))
    await asyncio.sleep(0.01)
    leaving.cancel()
    assert await staying == "app:1"
    assert load.loads == 1
