"""Tenants, sites, customer sets and applications, as each request needs them, with a short cache.

These records change rarely and are read on every request, so each process keeps them for
`ttl_seconds` (an application disabled through another process stops working within that time), and
reloads them in the background before then (see `_TtlCache`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from ticketbooth.applications.persistence import DirectoryPersistence
from ticketbooth.domain.models import Application, CustomerSet, Site, Tenant

K = TypeVar("K")
V = TypeVar("V")


class _TtlCache(Generic[K, V]):
    """Values loaded at most `ttl` seconds ago. Once a value is past half its time, the next request
    that reads it starts one reload in the background and is answered at once, so under steady
    traffic no request waits for a reload; a request waits only for a value missing or past its
    time, and then every request that wants it waits for the same single load (on a busy process a
    reload per request was a burst of identical queries that held them all up for hundreds of ms)."""

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._data: dict[K, tuple[float, V]] = {}
        self._loading: dict[K, asyncio.Task[V]] = {}
        self._generation = 0  # one more on each `clear`: a load begun before it stores nothing

    async def get_or_load(self, key: K, load: Callable[[K], Awaitable[V]]) -> V:
        hit = self._data.get(key)
        if hit is not None:
            age = time.monotonic() - hit[0]
            if age <= self._ttl:
                if age > self._ttl / 2:
                    self._load(key, load)
                return hit[1]
        # shielded: a caller that goes away does not cancel the load the others wait for
        return await asyncio.shield(self._load(key, load))

    def _load(self, key: K, load: Callable[[K], Awaitable[V]]) -> asyncio.Task[V]:
        """The running load of `key`, or a new one."""
        task = self._loading.get(key)
        if task is None:
            task = self._loading[key] = asyncio.get_running_loop().create_task(self._store(key, load))
            task.add_done_callback(lambda done: self._loaded(key, done))
        return task

    async def _store(self, key: K, load: Callable[[K], Awaitable[V]]) -> V:
        started, generation = time.monotonic(), self._generation  # a value is as old as its load's start
        value = await load(key)
        if generation == self._generation:
            if len(self._data) >= self._max:
                self._data.clear()
            self._data[key] = (started, value)
        return value

    def _loaded(self, key: K, task: asyncio.Task[V]) -> None:
        if self._loading.get(key) is task:
            del self._loading[key]
        if not task.cancelled():
            task.exception()  # a failed background reload is not an error of its own: the entry stays

    def clear(self) -> None:
        self._data.clear()
        self._generation += 1
        self._loading.clear()  # their callers still get what they load; the next read loads again


class Directory:
    def __init__(self, store: DirectoryPersistence, ttl_seconds: float) -> None:
        self._store = store
        self._apps: _TtlCache[str, Application | None] = _TtlCache(ttl_seconds)
        self._tenants: _TtlCache[int, Tenant | None] = _TtlCache(ttl_seconds)
        self._sites: _TtlCache[int, Site | None] = _TtlCache(ttl_seconds)
        self._sets: _TtlCache[int, CustomerSet | None] = _TtlCache(ttl_seconds)

    async def application(self, client_id: str) -> Application | None:
        return await self._apps.get_or_load(client_id, self._store.get_application)

    async def tenant(self, tenant_id: int) -> Tenant | None:
        return await self._tenants.get_or_load(tenant_id, self._store.get_tenant)

    async def site(self, site_id: int) -> Site | None:
        return await self._sites.get_or_load(site_id, self._store.get_site)

    async def customer_set(self, customer_set_id: int) -> CustomerSet | None:
        return await self._sets.get_or_load(customer_set_id, self._store.get_customer_set)

    def forget(self) -> None:
        for cache in (self._apps, self._tenants, self._sites, self._sets):
            cache.clear()
