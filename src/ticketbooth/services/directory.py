"""Tenants, sites, customer sets and applications, as each request needs them, with a short cache.

These records change rarely and are read on every request, so each process keeps them for
`ttl_seconds` (an application disabled through another process stops working within that time).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from ticketbooth.domain.models import Application, CustomerSet, Site, Tenant
from ticketbooth.store.repositories import Store

K = TypeVar("K")
V = TypeVar("V")


class _TtlCache(Generic[K, V]):
    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._data: dict[K, tuple[float, V]] = {}

    async def get_or_load(self, key: K, load: Callable[[K], Awaitable[V]]) -> V:
        hit = self._data.get(key)
        if hit is not None and time.monotonic() - hit[0] <= self._ttl:
            return hit[1]
        value = await load(key)
        if len(self._data) >= self._max:
            self._data.clear()
        self._data[key] = (time.monotonic(), value)
        return value

    def clear(self) -> None:
        self._data.clear()


class Directory:
    def __init__(self, store: Store, ttl_seconds: float) -> None:
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
