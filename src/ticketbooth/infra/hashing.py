"""Password hashing with Argon2id, off the event loop and bounded.

Hashes run in a thread pool (argon2-cffi releases the GIL), at most `concurrency` at a time. When
more than `queue_limit` callers already wait for a slot, a new caller is refused at once with
`Overloaded` instead of queueing for seconds: a login burst cannot starve the rest of the service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ticketbooth.domain.errors import Overloaded
from ticketbooth.infra import legacy_hashes, metrics

# OWASP Password Storage Cheat Sheet, Argon2id: m=19 MiB, t=2, p=1 (the minimum configuration).
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1

T = TypeVar("T")


def make_hasher(
    memory_kib: int = ARGON2_MEMORY_KIB, time_cost: int = ARGON2_TIME_COST, parallelism: int = ARGON2_PARALLELISM
) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, hash_len=32, salt_len=16,
        type=Type.ID,
    )


class PasswordHashing:
    def __init__(self, concurrency: int, queue_limit: int, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or make_hasher()
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="argon2")
        self._slots = asyncio.Semaphore(concurrency)
        self._queue_limit = queue_limit
        self._waiting = 0
        # Verified against when the user is unknown, so unknown users cost the same hash work. Made
        # in the pool (never on the event loop thread); it is the pool's first job, so any verify
        # that waits for it runs after it has started.
        self._dummy_hash: Future[str] = self._pool.submit(self._hasher.hash, "ticketbooth-dummy-password-for-unknown-users")

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        if self._waiting >= self._queue_limit and self._slots.locked():
            raise Overloaded("Service Unavailable: too many logins in progress, retry shortly", retry_after=1)
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        finally:
            self._slots.release()

    async def hash(self, password: str) -> str:
        return await self._run(metrics.timed_hash("hash", self._hasher.hash), password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when `password` matches. The stored hash may be ours (Argon2id) or one imported from
        another system (see `infra.legacy_hashes`); either is verified in the pool. With no stored
        hash, verifies against a dummy hash and returns False, so the caller spends the same time
        as for a wrong password."""
        ok: bool = await self._run(metrics.timed_hash("verify", self._verify_sync), stored_hash, password)
        return ok and stored_hash is not None

    def _verify_sync(self, stored_hash: str | None, password: str) -> bool:
        encoded = stored_hash or self._dummy_hash.result()
        if legacy_hashes.scheme_of(encoded) != legacy_hashes.ARGON2:
            return legacy_hashes.verify(encoded, password)
        try:
            return self._hasher.verify(encoded, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """True for a hash that is not Argon2id with the current parameters (imported hashes included)."""
        if legacy_hashes.scheme_of(stored_hash) != legacy_hashes.ARGON2:
            return True
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
