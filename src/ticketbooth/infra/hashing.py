"""Password hashing with Argon2id, off the event loop and bounded.

Hashes run in a thread pool (argon2-cffi releases the GIL), at most `concurrency` at a time. When
more than `queue_limit` callers already wait for a slot, or the wait a new caller can expect passes
`max_wait`, it is refused at once with `Overloaded` instead of queueing for seconds: a login burst
cannot starve the rest of the service.

The pool's threads run at a lower CPU priority (`nice`, Linux: a thread's own nice value): a hash
uses every free cycle, but when the event loop has requests to answer (anonymous tickets, refreshes,
the 503s of the login burst itself) the kernel runs the loop first. Without it, one hash per core
kept the loop waiting for a core and anonymous tickets took over a second while logins were saturated.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
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


def _lower_priority(nice: int) -> None:
    """Run by each hashing thread as it starts: raise this thread's nice value by `nice`."""
    if nice and hasattr(os, "setpriority"):
        with contextlib.suppress(OSError):  # not permitted somewhere: hash at the normal priority
            thread = threading.get_native_id()  # Linux: PRIO_PROCESS with a thread id sets that thread's
            os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + nice))


class PasswordHashing:
    def __init__(self, concurrency: int, queue_limit: int, hasher: PasswordHasher | None = None,
                 nice: int = 0, max_wait: float | None = None) -> None:
        self._hasher = hasher or make_hasher()
        self._concurrency = concurrency
        # A caller is also refused when its expected wait for a slot (callers ahead of it x the recent
        # time per hash / slots) passes `max_wait`: when the CPU is contended hashes take longer, and
        # a queue of `queue_limit` would then mean seconds.
        self._max_wait = max_wait
        self.seconds_per_hash = 0.0
        """Moving average of the time a hash takes in the pool (0 until the first one)."""
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="argon2",
                                        initializer=_lower_priority, initargs=(nice,))
        self._queue_limit = queue_limit
        # Hashes asked for and not finished: at most `concurrency` run, the others wait in the pool's
        # own queue, so a thread that finishes a hash starts the next at once, without a turn of the
        # event loop in between (under load the loop's turn is long: the threads sat idle).
        self._in_flight = 0
        # Verified against when the user is unknown, so unknown users cost the same hash work. Made
        # in the pool (never on the event loop thread); it is the pool's first job, so any verify
        # that waits for it runs after it has started.
        self._dummy_hash: Future[str] = self._pool.submit(self._hasher.hash, "ticketbooth-dummy-password-for-unknown-users")

    def admit(self) -> None:
        """Refuse at once (Overloaded) when a hash asked for now would be refused: for callers that would
        read the database before hashing, so that a refused login costs no query either."""
        waiting = self._in_flight - self._concurrency  # callers ahead of this one that wait for a thread
        if waiting >= 0 and (waiting >= self._queue_limit or (
                self._max_wait is not None
                and (waiting + 1) * self.seconds_per_hash / self._concurrency > self._max_wait)):
            raise Overloaded("Service Unavailable: too many logins in progress, retry shortly", retry_after=1)

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        self.admit()
        self._in_flight += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, self._timed, fn, *args)
        finally:  # also when the caller went away: a hash not started yet is dropped from the queue
            self._in_flight -= 1

    def _timed(self, fn: Callable[..., T], *args: object) -> T:
        """In the pool: `fn(*args)`, its time folded into `seconds_per_hash`."""
        started = time.perf_counter()
        try:
            return fn(*args)
        finally:
            took = time.perf_counter() - started
            self.seconds_per_hash = took if not self.seconds_per_hash else 0.8 * self.seconds_per_hash + 0.2 * took

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
