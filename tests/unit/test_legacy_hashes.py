"""Hashes imported from other systems: which formats are accepted, the work caps, verification of
the right and wrong passwords, and that `PasswordHashing` verifies them in its pool. Test vectors
are made with the real libraries (bcrypt, hashlib, argon2-cffi) or copied from the projects that
defined the formats (Django, passlib)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from argon2 import Type

from tests.legacy_hash_vectors import (
    DJANGO_MYSTERY,
    PASSLIB_PASSWORD,
    argon2_hash,
    bcrypt_hash,
    django_hash,
    passlib_hash,
)
from ticketbooth.infra import legacy_hashes
from ticketbooth.infra.hashing import PasswordHashing, make_hasher
from ticketbooth.infra.legacy_hashes import UnsupportedHash, check_importable, verify

PASSWORD = "Tr0ub4dor&3 old system"
WRONG = "Tr0ub4dor&3 old systeM"


@pytest.fixture
def hashing() -> Iterator[PasswordHashing]:
    h = PasswordHashing(concurrency=2, queue_limit=8, hasher=make_hasher(memory_kib=64, time_cost=1))
    yield h
    h.close()


# -- formats that verify ------------------------------------------------------------------------------

def test_django_vector_made_by_django_verifies() -> None:
    assert check_importable(DJANGO_MYSTERY) == DJANGO_MYSTERY
    assert verify(DJANGO_MYSTERY, "mystery") is True
    assert verify(DJANGO_MYSTERY, "Mystery") is False
    assert django_hash("mystery", salt="mysalt", iterations=10000) == DJANGO_MYSTERY


def test_passlib_vector_made_by_passlib_verifies() -> None:
    assert check_importable(PASSLIB_PASSWORD) == PASSLIB_PASSWORD
    assert verify(PASSLIB_PASSWORD, "password") is True
    assert verify(PASSLIB_PASSWORD, "passwort") is False


@pytest.mark.parametrize("make", [
    pytest.param(lambda p: bcrypt_hash(p, prefix=b"2b"), id="bcrypt-2b"),
    pytest.param(lambda p: bcrypt_hash(p, prefix=b"2a"), id="bcrypt-2a"),
    # PHP's crypt_blowfish writes $2y$ for what is $2b$ elsewhere; the bcrypt package makes no $2y$ itself
    pytest.param(lambda p: "$2y$" + bcrypt_hash(p)[4:], id="bcrypt-2y"),
    pytest.param(django_hash, id="django-pbkdf2-sha256"),
    pytest.param(passlib_hash, id="passlib-pbkdf2-sha256"),
])
def test_legacy_formats_verify_the_right_password_only(make: object) -> None:
    encoded = make(PASSWORD)  # type: ignore[operator]
    assert check_importable(f"  {encoded}\n") == encoded
    assert verify(encoded, PASSWORD) is True
    assert verify(encoded, WRONG) is False
    assert verify(encoded, "") is False


def test_unicode_passwords_are_utf8_as_the_old_systems_did() -> None:
    word = "pässwörd ünïcödé ✓"
    for encoded in (bcrypt_hash(word), django_hash(word), passlib_hash(word)):
        assert verify(encoded, word) is True
        assert verify(encoded, "passwörd ünïcödé ✓") is False


def test_bcrypt_counts_only_the_first_72_bytes_like_every_bcrypt() -> None:
    long = "x" * 72
    encoded = bcrypt_hash(long)
    assert verify(encoded, long + " anything after byte 72") is True
    assert verify(encoded, "x" * 71) is False


@pytest.mark.parametrize("kind", [Type.I, Type.ID])
async def test_argon2_with_other_parameters_is_accepted_and_verified_by_the_pool(hashing: PasswordHashing,
                                                                                 kind: Type) -> None:
    encoded = argon2_hash(PASSWORD, kind=kind)
    assert check_importable(encoded) == encoded
    assert await hashing.verify(encoded, PASSWORD) is True
    assert await hashing.verify(encoded, WRONG) is False
    assert hashing.needs_rehash(encoded) is True


async def test_pool_verifies_every_legacy_format_and_asks_to_rehash_them(hashing: PasswordHashing) -> None:
    for encoded in (bcrypt_hash(PASSWORD), django_hash(PASSWORD), passlib_hash(PASSWORD)):
        assert await hashing.verify(encoded, PASSWORD) is True
        assert await hashing.verify(encoded, WRONG) is False
        assert hashing.needs_rehash(encoded) is True
    ours = await hashing.hash(PASSWORD)
    assert hashing.needs_rehash(ours) is False
    assert await hashing.verify(ours, PASSWORD) is True


async def test_legacy_verification_runs_in_the_pool_not_on_the_event_loop(hashing: PasswordHashing,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[int] = []
    real = legacy_hashes.verify

    def recording(encoded: str, password: str) -> bool:
        threads.append(threading.get_ident())
        return real(encoded, password)

    monkeypatch.setattr(legacy_hashes, "verify", recording)
    assert await hashing.verify(bcrypt_hash(PASSWORD), PASSWORD) is True
    assert await hashing.verify(django_hash(PASSWORD), WRONG) is False
    assert len(threads) == 2
    assert threading.get_ident() not in threads


# -- refused at import ------------------------------------------------------------------------------

def _refused(encoded: str, why: str) -> None:
    with pytest.raises(UnsupportedHash) as caught:
        check_importable(encoded)
    assert why in str(caught.value)
    assert verify(encoded, PASSWORD) is False


def test_work_factors_over_the_caps_are_refused() -> None:
    body = bcrypt_hash(PASSWORD)[7:]
    _refused(f"$2b$16${body}", "bcrypt cost")
    _refused(f"$2b$31${body}", "bcrypt cost")
    _refused(f"$2b$03${body}", "bcrypt cost")
    assert check_importable(f"$2b$15${body}") == f"$2b$15${body}"  # the cap itself is allowed (not verified here)

    key = django_hash(PASSWORD).rsplit("$", 1)[1]
    _refused(f"pbkdf2_sha256$2000001$salt${key}", "iterations")
    _refused(f"pbkdf2_sha256$0$salt${key}", "iterations")
    assert check_importable(f"pbkdf2_sha256$2000000$salt${key}")
    passlib_parts = passlib_hash(PASSWORD).split("$")
    _refused(f"$pbkdf2-sha256$2000001${passlib_parts[3]}${passlib_parts[4]}", "iterations")

    salt_and_hash = argon2_hash(PASSWORD, kind=Type.ID).split("$", 4)[4]
    _refused(f"$argon2id$v=19$m=1048577,t=1,p=1${salt_and_hash}", "memory")
    _refused(f"$argon2id$v=19$m=65536,t=11,p=1${salt_and_hash}", "time cost")
    _refused(f"$argon2id$v=19$m=1048576,t=3,p=1${salt_and_hash}", "memory times time")
    _refused(f"$argon2id$v=19$m=65536,t=1,p=17${salt_and_hash}", "parallelism")
    assert check_importable(f"$argon2id$v=19$m=1048576,t=2,p=4${salt_and_hash}")


@pytest.mark.parametrize("encoded", [
    "",
    "plain text password",
    "5f4dcc3b5aa765d61d8327deb882cf99",  # unsalted MD5
    "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/",  # md5-crypt
    "$6$rounds=5000$salt$" + "a" * 86,  # sha512-crypt
    "sha1$salt$" + "a" * 40,  # Django's old SHA-1 hasher
    "pbkdf2_sha1$10000$salt$" + "A" * 27 + "=",
    "$2x$04$" + "a" * 53,  # crypt_blowfish's bug-compatible variant
    "$2b$04$" + "a" * 52,  # one character short
    "$2b$04$" + "a" * 52 + "!",
    "pbkdf2_sha256$1000$salt$notbase64!!!",
    "pbkdf2_sha256$1000$salt$" + "A" * 44,  # no padding: not a 32-byte key
    "pbkdf2_sha256$1000$$" + "A" * 43 + "=",  # empty salt
    "pbkdf2_sha256$abc$salt$" + "A" * 43 + "=",
    "$pbkdf2-sha256$1000$salt$tooshort",
    "$pbkdf2-sha256$1000$a$" + "A" * 43,  # a salt of one character is not base64
    "$pbkdf2-sha512$1000$salt$" + "A" * 86,
    "$argon2d$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
    "$argon2id$v=16$m=65536,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
    "$argon2id$m=65536,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
    "$argon2id$v=19$m=65536,t=2,p=1,keyid=x$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
    "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",  # 4-byte salt
    "$argon2id$v=19$m=4,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",  # under 8 KiB per lane
    "$2b$04$" + "a" * 53 + "x" * 500,
])
def test_malformed_or_unsupported_hashes_are_refused(encoded: str) -> None:
    with pytest.raises(UnsupportedHash):
        check_importable(encoded)
    assert verify(encoded, PASSWORD) is False


def test_refusals_say_which_formats_are_accepted() -> None:
    with pytest.raises(UnsupportedHash) as caught:
        check_importable("5f4dcc3b5aa765d61d8327deb882cf99")
    message = str(caught.value)
    for name in ("bcrypt", "pbkdf2_sha256", "$pbkdf2-sha256$", "$argon2id$"):
        assert name in message
