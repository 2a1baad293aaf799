"""Random tokens, their at-rest hashes and keyed derivation."""

from __future__ import annotations

import hashlib
import re
import string

import pytest

from ticketbooth.infra.tokens import at_rest, derive, new_hex

HEX = re.compile(r"^[0-9a-f]+$")


@pytest.mark.parametrize("nbytes", [8, 16, 32])
def test_new_hex_is_lowercase_hex_of_twice_the_byte_count(nbytes: int) -> None:
    token = new_hex(nbytes)
    assert len(token) == 2 * nbytes
    assert HEX.match(token)


def test_new_hex_defaults_to_kibo_sized_tokens() -> None:
    assert len(new_hex()) == 32


def test_new_hex_is_random() -> None:
    tokens = {new_hex() for _ in range(1000)}
    assert len(tokens) == 1000
    # every hex digit shows up: the alphabet is the full lowercase hex one, not a subset
    assert set("".join(tokens)) == set(string.hexdigits.lower())


def test_at_rest_is_the_sha256_hex_digest() -> None:
    assert at_rest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    token = new_hex()
    assert at_rest(token) == hashlib.sha256(token.encode()).hexdigest()
    assert at_rest(token) != token


def test_at_rest_hashes_utf8() -> None:
    assert at_rest("é") == hashlib.sha256("é".encode()).hexdigest()


SECRET = b"s" * 32


def test_derive_is_deterministic() -> None:
    assert derive(SECRET, "refresh", "token") == derive(SECRET, "refresh", "token")


def test_derive_is_keyed() -> None:
    assert derive(SECRET, "refresh", "token") != derive(b"t" * 32, "refresh", "token")


def test_derive_separates_labels_and_inputs() -> None:
    values = {derive(SECRET, "refresh", "token"), derive(SECRET, "access", "token"), derive(SECRET, "refresh", "tokem")}
    assert len(values) == 3


def test_derive_is_not_a_plain_hash_of_the_input() -> None:
    derived = derive(SECRET, "refresh", "token", nbytes=32)
    assert derived not in {hashlib.sha256(b"refresh:token").hexdigest(), hashlib.sha256(b"token").hexdigest()}


@pytest.mark.parametrize("nbytes", [8, 16, 32])
def test_derive_has_the_requested_length_in_lowercase_hex(nbytes: int) -> None:
    derived = derive(SECRET, "refresh", "token", nbytes=nbytes)
    assert len(derived) == 2 * nbytes
    assert HEX.match(derived)


def test_derive_defaults_to_a_refresh_token_sized_value() -> None:
    assert len(derive(SECRET, "refresh", new_hex())) == 32


def test_derive_cannot_be_confused_by_moving_text_between_label_and_token() -> None:
    assert derive(SECRET, "a:b", "c") != derive(SECRET, "a", "b:c")
    assert derive(SECRET, "ab", "c") != derive(SECRET, "a", "bc")
