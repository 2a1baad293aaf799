"""Properties of the token codecs: random tokens are URL-safe lowercase hex of their length; at-rest
hashes and derived successors are functions (same input, same output) that tell inputs apart; a
signed JWT verifies to exactly the claims signed, only in the exact form it was issued (no other
string, also none decoding to the same bytes, is accepted), and no text at all makes the verifier
raise."""

from __future__ import annotations

import asyncio
import string
from datetime import UTC, datetime
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from ticketbooth.infra.signing import KeyRing, generate_key
from ticketbooth.infra.tokens import at_rest, derive, new_hex

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
KEY = generate_key(NOW)
SECRET = b"k" * 32
HEX = set(string.hexdigits.lower())
B64URL = string.ascii_letters + string.digits + "-_"


async def _load() -> list[Any]:
    return [KEY]


RING = KeyRing(_load, issuer="https://issuer.test", audience="ticketbooth", reload_seconds=3600)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


@given(st.integers(1, 64))
def test_a_new_token_is_lowercase_hex_of_twice_its_bytes(nbytes: int) -> None:
    token = new_hex(nbytes)
    assert len(token) == 2 * nbytes and set(token) <= HEX


@given(st.text(), st.text())
def test_at_rest_hashes_tell_tokens_apart(a: str, b: str) -> None:
    assert len(at_rest(a)) == 64 and set(at_rest(a)) <= HEX
    assert (at_rest(a) == at_rest(b)) == (a == b)


LABELS = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=10)
TOKENS = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=40)


@given(LABELS, TOKENS, LABELS, TOKENS, st.integers(1, 32))
@example("refresh", "ab", "refres", "hab", 16)  # the separator keeps label and token apart
def test_derived_tokens_are_hex_and_tell_their_inputs_apart(label: str, token: str, other_label: str, other_token: str,
                                                            nbytes: int) -> None:
    derived = derive(SECRET, label, token, nbytes)
    assert len(derived) == 2 * nbytes and set(derived) <= HEX
    assert derive(SECRET, label, token, nbytes) == derived
    if (label, token) != (other_label, other_token) and nbytes >= 8:
        assert derive(SECRET, other_label, other_token, nbytes) != derived


CLAIM_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8,
)
RESERVED = {"iss", "aud", "exp", "iat", "nbf", "sub"}
CLAIMS = st.dictionaries(st.text(max_size=10).filter(lambda k: k not in RESERVED), CLAIM_VALUES, max_size=5)


def signed(extra: dict[str, Any]) -> str:
    ts = int(NOW.timestamp())
    token: str = run(RING.sign({**extra, "sub": "shopper", "iat": ts, "exp": ts + 900}))
    return token


TOKEN = signed({"token_use": "shopper"})


@given(CLAIMS)
def test_a_signed_token_verifies_to_its_claims(extra: dict[str, Any]) -> None:
    claims = run(RING.verify(signed(extra), NOW))
    assert claims is not None
    assert {k: claims[k] for k in extra} == extra


@st.composite
def altered(draw: st.DrawFn) -> str:
    """The issued token with one change: a character replaced, inserted or removed, or padding added."""
    kind = draw(st.sampled_from(["replace", "insert", "delete", "pad"]))
    if kind == "pad":
        return TOKEN + draw(st.sampled_from(["=", "==", "===", " ", "\n", "."]))
    i = draw(st.integers(0, len(TOKEN) - 1))
    if kind == "delete":
        return TOKEN[:i] + TOKEN[i + 1:]
    c = draw(st.sampled_from(B64URL + "=.+/ !") | st.characters(exclude_categories=("Cs",)))
    return TOKEN[:i] + c + TOKEN[i + (kind == "replace"):]


@given(altered())
@example(TOKEN + "==")
@example(TOKEN.replace(".", "=.", 1))
def test_only_the_token_as_issued_verifies(token: str) -> None:
    if token == TOKEN:
        return
    assert run(RING.verify(token, NOW)) is None


@given(st.text(max_size=400) | st.lists(st.text(B64URL + "=.", max_size=60), min_size=3, max_size=3).map(".".join))
@example("e30.e30.")
@example("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")  # alg none
@example("\x00.\x00.\x00")
def test_the_verifier_answers_none_for_any_text(token: str) -> None:
    assert run(RING.verify(token, NOW)) is None
