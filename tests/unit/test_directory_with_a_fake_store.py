"""The directory (applications/directory.py) against an in-memory implementation of its persistence
interface (`DirectoryPersistence`) instead of a database: what it is meant to save is reads, and a fake
that counts them says plainly how many reach storage.

What it must do: every request resolves its application, tenant, site and customer set through it, so a
record is read once per `ttl` and not per request, an unknown client id is remembered as unknown too (a
flood of made-up client ids does not become a flood of queries), and after `forget` (an application
disabled or changed through this process) the next request sees the stored record as it is now."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter

from ticketbooth.applications.directory import Directory
from ticketbooth.applications.persistence import DirectoryPersistence
from ticketbooth.domain.models import Application, CustomerSet, Site, Tenant
from ticketbooth.domain.policies import TenantSettings

APP = Application(id=7, client_id="shop.app.1.0.0.Release", tenant_id=100, name="Shop", secret_hash="h",
                  behaviors=frozenset(), enabled=True)


class FakeDirectoryStore:
    """The four reads of `DirectoryPersistence`, from dicts, counting each read by kind and key."""

    def __init__(self) -> None:
        self.applications: dict[str, Application] = {APP.client_id: APP}
        self.tenants = {100: Tenant(id=100, name="Shop", settings=TenantSettings(), default_customer_set_id=1,
                                    default_site_id=200)}
        self.sites = {200: Site(id=200, tenant_id=100, customer_set_id=1, name="Main")}
        self.customer_sets = {1: CustomerSet(id=1, tenant_id=100, code="default", name="Default", is_default=True)}
        self.reads: Counter[tuple[str, object]] = Counter()

    async def get_application(self, client_id: str) -> Application | None:
        self.reads["application", client_id] += 1
        return self.applications.get(client_id)

    async def get_tenant(self, tenant_id: int) -> Tenant | None:
        self.reads["tenant", tenant_id] += 1
        return self.tenants.get(tenant_id)

    async def get_site(self, site_id: int) -> Site | None:
        self.reads["site", site_id] += 1
        return self.sites.get(site_id)

    async def get_customer_set(self, customer_set_id: int) -> CustomerSet | None:
        self.reads["customer set", customer_set_id] += 1
        return self.customer_sets.get(customer_set_id)


def directory(store: DirectoryPersistence) -> Directory:
    return Directory(store, ttl_seconds=3600)  # nothing expires during a test: no timing involved


async def test_each_record_is_read_once_for_many_requests_and_by_its_own_kind() -> None:
    store = FakeDirectoryStore()
    d = directory(store)
    for _ in range(3):
        answers = await asyncio.gather(*(
            asyncio.gather(d.application(APP.client_id), d.tenant(100), d.site(200), d.customer_set(1))
            for _ in range(20)))
        assert all(a == [APP, store.tenants[100], store.sites[200], store.customer_sets[1]] for a in answers)
    assert store.reads == Counter({("application", APP.client_id): 1, ("tenant", 100): 1, ("site", 200): 1,
                                   ("customer set", 1): 1})


async def test_an_unknown_client_id_is_remembered_as_unknown() -> None:
    store = FakeDirectoryStore()
    d = directory(store)
    for _ in range(50):
        assert await d.application("made.up.1.0.0.Release") is None
    assert store.reads["application", "made.up.1.0.0.Release"] == 1


async def test_after_forget_a_changed_application_is_seen_as_it_is_now() -> None:
    store = FakeDirectoryStore()
    d = directory(store)
    assert (await d.application(APP.client_id)) == APP
    disabled = dataclasses.replace(APP, enabled=False)
    store.applications[APP.client_id] = disabled
    assert (await d.application(APP.client_id)) == APP  # within its time the cached record is served
    d.forget()
    assert (await d.application(APP.client_id)) == disabled
    assert store.reads["application", APP.client_id] == 2
