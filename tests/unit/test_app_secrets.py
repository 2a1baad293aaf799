"""Application secrets at rest (issue 6b): a keyed hash, checked in constant time."""

from __future__ import annotations

from ticketbooth.infra import app_secrets


def test_the_hash_depends_on_the_key_and_only_the_right_secret_matches() -> None:
    one, two = b"1" * 32, b"2" * 32
    stored = app_secrets.hash_secret(one, "client secret 0123456789")
    assert stored.startswith("hmac-sha256$") and len(stored) == len("hmac-sha256$") + 64
    assert stored != app_secrets.hash_secret(two, "client secret 0123456789")
    assert app_secrets.verify(one, stored, "client secret 0123456789")
    assert not app_secrets.verify(two, stored, "client secret 0123456789")
    assert not app_secrets.verify(one, stored, "client secret 012345678")
    assert not app_secrets.verify(one, None, "client secret 0123456789")  # no application: False, same work
    assert not app_secrets.verify(one, "hmac-sha256$zz", "client secret 0123456789")
