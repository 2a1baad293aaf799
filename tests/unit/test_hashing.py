"""Argon2id password hashing: parameters, verification, rehash detection, the bounded queue, and
that no hash runs on the event loop thread."""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

import pytest
from argon2 import PasswordHasher, Type
from argon2.exceptions import VerifyMismatchError

from ticketbooth.domain.errors import Overloaded
from ticketbooth.infra.hashing import PasswordHashing, make_hasher

FAST = dict(memory_kib=64, time_cost=1)  # weak on purpose: keeps the tests that need no real cost fast


def parse_encoded(encoded: str) -> dict[str, Any]:
    """`$argon2id$v=19$m=19456,t=2,p=1$salt$hash` -> its parts."""
    _, variant, version, params, salt, digest = encoded.split("$")
    values = dict(p.split("=") for p in params.split(","))
    return {"variant": variant, "version": version, "m": int(values["m"]), "t": int(values["t"]),
            "p": int(values["p"]), "salt": salt, "hash": digest}


class Recording:
    """A PasswordHasher stand-in that records the thread of every call and blocks the hash of
    BLOCKING until released."""

    BLOCKING = "block-me"

    def __init__(self, inner: PasswordHasher | None = None) -> None:
        self.inner = inner or make_hasher(**FAST)
        self.threads: list[tuple[str, int]] = []
        self.started = threading.Event()
        self.release = threading.Event()

    def hash(self, password: str) -> str:
        self.threads.append(("hash", threading.get_ident()))
        if password == self.BLOCKING:
            self.started.set()
            assert self.release.wait(10), "the test never released the blocked hash"
        return self.inner.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        self.threads.append(("verify", threading.get_ident()))
        return self.inner.verify(stored, password)

    def check_needs_rehash(self, stored: str) -> bool:
        return self.inner.check_needs_rehash(stored)


@pytest.fixture
def fast() -> Any:
    hashing = PasswordHashing(concurrency=2, queue_limit=8, hasher=make_hasher(**FAST))
    yield hashing
    hashing.close()


# -- parameters ----------------------------------------------------------------------------------

async def test_default_hashes_are_argon2id_with_at_least_owasp_parameters() -> None:
    hashing = PasswordHashing(concurrency=1, queue_limit=1)
    try:
        encoded = await hashing.hash("correct horse battery staple")
    finally:
        hashing.close()
    parts = parse_encoded(encoded)
    assert parts["variant"] == "argon2id"
    assert parts["version"] == "v=19"
    assert parts["m"] >= 19 * 1024
    assert parts["t"] >= 2
    assert parts["p"] >= 1


def test_make_hasher_defaults_are_argon2id_at_owasp_minimums() -> None:
    hasher = make_hasher()
    assert hasher.type is Type.ID
    assert hasher.memory_cost >= 19 * 1024
    assert hasher.time_cost >= 2


async def test_hashes_are_salted(fast: PasswordHashing) -> None:
    first, second = await fast.hash("same password"), await fast.hash("same password")
    assert first != second
    assert parse_encoded(first)["salt"] != parse_encoded(second)["salt"]


# -- verify --------------------------------------------------------------------------------------

async def test_hash_then_verify_roundtrip(fast: PasswordHashing) -> None:
    stored = await fast.hash("a perfectly fine passphrase")
    assert await fast.verify(stored, "a perfectly fine passphrase") is True
    assert await fast.verify(stored, "a perfectly fine passphrasE") is False
    assert await fast.verify(stored, "") is False


async def test_verify_with_a_malformed_hash_is_false(fast: PasswordHashing) -> None:
    assert await fast.verify("not-a-hash", "anything") is False
    assert await fast.verify("$argon2id$v=19$m=64,t=1,p=1$broken", "anything") is False


async def test_verify_without_a_stored_hash_is_false_but_does_the_same_work() -> None:
    recording = Recording()
    hashing = PasswordHashing(concurrency=1, queue_limit=1, hasher=recording)  # type: ignore[arg-type]
    try:
        known = await hashing.hash("pw-of-a-known-user")
        recording.threads.clear()
        assert await hashing.verify(None, "pw-of-a-known-user") is False
        assert await hashing.verify(None, "ticketbooth-dummy-password-for-unknown-users") is False
        assert [call for call, _ in recording.threads] == ["verify", "verify"]

        recording.threads.clear()
        assert await hashing.verify(known, "wrong") is False
        assert [call for call, _ in recording.threads] == ["verify"]
    finally:
        hashing.close()


# -- rehash --------------------------------------------------------------------------------------

async def test_needs_rehash_for_a_hash_made_with_weaker_parameters() -> None:
    weak = make_hasher(memory_kib=1024, time_cost=1).hash("pw")
    hashing = PasswordHashing(concurrency=1, queue_limit=1)
    try:
        assert hashing.needs_rehash(weak) is True
        assert hashing.needs_rehash(await hashing.hash("pw")) is False
    finally:
        hashing.close()


def test_needs_rehash_for_an_unreadable_hash() -> None:
    hashing = PasswordHashing(concurrency=1, queue_limit=1, hasher=make_hasher(**FAST))
    try:
        assert hashing.needs_rehash("$2b$12$somebcrypthashfromanotherlibrary") is True
    finally:
        hashing.close()


# -- the bounded queue ---------------------------------------------------------------------------

async def test_a_call_beyond_the_queue_limit_is_refused_at_once() -> None:
    recording = Recording()
    hashing = PasswordHashing(concurrency=1, queue_limit=0, hasher=recording)  # type: ignore[arg-type]
    try:
        first = asyncio.create_task(hashing.hash(Recording.BLOCKING))
        assert await asyncio.to_thread(recording.started.wait, 5)

        with pytest.raises(Overloaded) as info:
            await asyncio.wait_for(hashing.hash("second"), timeout=1)
        assert info.value.retry_after >= 1
        with pytest.raises(Overloaded):
            await asyncio.wait_for(hashing.verify(None, "third"), timeout=1)
        assert not first.done()

        recording.release.set()
        assert (await first).startswith("$argon2id$")
        assert (await hashing.hash("after")).startswith("$argon2id$")  # the slot is free again
    finally:
        recording.release.set()
        hashing.close()


async def test_callers_up_to_the_queue_limit_wait_for_a_slot() -> None:
    recording = Recording()
    hashing = PasswordHashing(concurrency=1, queue_limit=1, hasher=recording)  # type: ignore[arg-type]
    try:
        first = asyncio.create_task(hashing.hash(Recording.BLOCKING))
        assert await asyncio.to_thread(recording.started.wait, 5)
        second = asyncio.create_task(hashing.hash("second"))
        await asyncio.sleep(0.01)  # let `second` start waiting for the slot
        assert not second.done()

        with pytest.raises(Overloaded):
            await asyncio.wait_for(hashing.hash("third"), timeout=1)

        recording.release.set()
        hashes = await asyncio.gather(first, second)
        assert all(h.startswith("$argon2id$") for h in hashes)
    finally:
        recording.release.set()
        hashing.close()


async def test_no_more_than_concurrency_hashes_run_at_once() -> None:
    running = peak = 0
    lock = threading.Lock()
    inner = make_hasher(**FAST)

    class Counting(Recording):
        def hash(self, password: str) -> str:
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
            try:
                threading.Event().wait(0.05)
                return inner.hash(password)
            finally:
                with lock:
                    running -= 1

    hashing = PasswordHashing(concurrency=2, queue_limit=100, hasher=Counting())  # type: ignore[arg-type]
    try:
        peak = 0
        await asyncio.gather(*(hashing.hash(f"pw{i}") for i in range(8)))
        assert peak == 2
    finally:
        hashing.close()


# -- off the event loop --------------------------------------------------------------------------

async def test_no_hash_or_verify_runs_on_the_event_loop_thread() -> None:
    loop_thread = threading.get_ident()
    recording = Recording()
    hashing = PasswordHashing(concurrency=2, queue_limit=4, hasher=recording)  # type: ignore[arg-type]
    try:
        stored = await hashing.hash("pw")
        assert await hashing.verify(stored, "pw")
        assert not await hashing.verify(None, "pw")
    finally:
        hashing.close()
    calls = [call for call, _ in recording.threads]
    assert "hash" in calls and "verify" in calls
    assert all(thread != loop_thread for _, thread in recording.threads), recording.threads


def test_the_recording_hasher_really_records_a_mismatch() -> None:
    recording = Recording()
    with pytest.raises(VerifyMismatchError):
        recording.verify(recording.hash("a"), "b")


# -- priority ------------------------------------------------------------------------------------

def _nice_of_thread(tid: int) -> int:
    # /proc/<pid>/task/<tid>/stat: field 19 is the nice value (after the command name in parentheses)
    return int(open(f"/proc/self/task/{tid}/stat").read().rsplit(")", 1)[1].split()[16])


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="reads thread nice values from Linux /proc")
async def test_hashing_threads_run_at_a_lower_priority_than_the_event_loop() -> None:
    hashing = PasswordHashing(concurrency=2, queue_limit=8, hasher=make_hasher(**FAST), nice=7)
    loop_nice = _nice_of_thread(threading.get_native_id())
    try:
        tids = set()
        for _ in range(8):  # both threads of the pool start and hash
            tids.add(await hashing._run(threading.get_native_id))
        assert threading.get_native_id() not in tids
        assert {_nice_of_thread(tid) for tid in tids} == {min(19, loop_nice + 7)}
        assert _nice_of_thread(threading.get_native_id()) == loop_nice  # the loop's own priority is untouched
    finally:
        hashing.close()


async def test_a_call_whose_expected_wait_is_too_long_is_refused_at_once() -> None:
    """With hashes measured at about 0.2 s each on one slot, a caller behind one waiting caller would
    wait about 0.4 s: past a max_wait of 0.3 s it is refused, though the queue limit has room."""
    recording = Recording(make_hasher(memory_kib=64, time_cost=1))
    hashing = PasswordHashing(concurrency=1, queue_limit=100, hasher=recording, max_wait=0.3)  # type: ignore[arg-type]
    slow = "slow"

    def hash_slowly(password: str) -> str:
        if password == slow:
            threading.Event().wait(0.2)
        return Recording.hash(recording, password)

    recording.hash = hash_slowly  # type: ignore[method-assign]
    try:
        await hashing.hash(slow)
        assert 0.19 < hashing.seconds_per_hash < 2
        first = asyncio.create_task(hashing.hash(Recording.BLOCKING))
        assert await asyncio.to_thread(recording.started.wait, 5)
        second = asyncio.create_task(hashing.hash("second"))  # expected wait 1 x 0.2 s: admitted
        await asyncio.sleep(0.01)
        assert not second.done()
        with pytest.raises(Overloaded):  # expected wait 2 x 0.2 s
            await asyncio.wait_for(hashing.hash("third"), timeout=1)
        recording.release.set()
        assert all(h.startswith("$argon2id$") for h in await asyncio.gather(first, second))
    finally:
        recording.release.set()
        hashing.close()
