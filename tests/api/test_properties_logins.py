"""Unicode login names through the HTTP API, on both databases: a name registered in one spelling
logs in with any spelling of the same name (composed or decomposed accents, compatibility forms,
any case, 'ß' or 'SS'), and registering such a spelling again is the 409 of a taken name; names
that only look alike (letters of another script) are different names, each its own account.
The rule itself is stated and checked in tests/unit/test_properties_text.py."""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Callable
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.support import LOGIN, REGISTER, assert_error, ok
from tests.conftest import ADMIN, PASSWORD, Seed, app_token, headers
from tests.hypothesis_profiles import examples
from tests.unit.test_properties_text import DIFFERENT, SAME
from ticketbooth.domain.policies import login_key

_numbers = itertools.count(1)


async def register(client: httpx.AsyncClient, hdrs: dict[str, str], username: str) -> httpx.Response:
    """A new account with `username` and an email of its own (the admin application: no per-address limit)."""
    email = f"user{next(_numbers)}@example.com"
    return await client.post(REGISTER, headers=hdrs, json={"account": {"emailAddress": email, "userName": username},
                                                            "password": PASSWORD})


async def login_id(client: httpx.AsyncClient, hdrs: dict[str, str], username: str) -> int:
    ticket = ok(await client.post(LOGIN, headers=hdrs, json={"username": username, "password": PASSWORD}))
    account_id: int = ticket["customerAccount"]["id"]
    return account_id


async def admin(client: httpx.AsyncClient) -> dict[str, str]:
    return headers(await app_token(client, ADMIN))


async def test_every_spelling_of_a_name_logs_in_to_its_account(client: httpx.AsyncClient, seeded: Seed) -> None:
    hdrs = await admin(client)
    for i, (registered, typed) in enumerate(SAME):
        prefix = f"u{i}-"  # names of different pairs never collide
        account_id = ok(await register(client, hdrs, prefix + registered.strip()))["customerAccount"]["id"]
        assert await login_id(client, hdrs, prefix + typed.strip()) == account_id, (registered, typed)
        assert await login_id(client, hdrs, f"  {prefix}{typed.strip()}\t") == account_id, (registered, typed)
        assert_error(await register(client, hdrs, prefix + typed.strip()), 409, "VALIDATION_CONFLICT")


EMAIL_SPELLINGS = ["STRASSE.NINA@EXAMPLE.COM", "strasse.nina@example.com", "Stra\u00dfe.Nina@Example.com",
                   "\uff33\uff54\uff52\uff41\u00dfe.nina@example.com"]  # fullwidth 'Stra'


async def test_every_spelling_of_an_email_logs_in_to_its_account(client: httpx.AsyncClient, seeded: Seed) -> None:
    hdrs = await admin(client)
    r = await client.post(REGISTER, headers=hdrs, json={"account": {"emailAddress": "stra\u00dfe.nina@example.com"},
                                                         "password": PASSWORD})
    account_id = ok(r)["customerAccount"]["id"]
    for email in EMAIL_SPELLINGS:
        assert await login_id(client, hdrs, email) == account_id, email
        taken = await client.post(REGISTER, headers=hdrs, json={"account": {"emailAddress": email}, "password": PASSWORD})
        assert_error(taken, 409, "VALIDATION_CONFLICT")


async def test_look_alike_names_are_different_accounts(client: httpx.AsyncClient, seeded: Seed) -> None:
    hdrs = await admin(client)
    for i, (first, second) in enumerate(DIFFERENT):
        names = (f"l{i}-{first}", f"l{i}-{second}")
        ids = []
        for name in names:
            r = await register(client, hdrs, name)
            if not all(c.isprintable() for c in name):  # a zero-width space: refused, never a hidden twin
                assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "userName")
                continue
            ids.append(ok(r)["customerAccount"]["id"])
            assert await login_id(client, hdrs, name) == ids[-1]
        assert len(set(ids)) == len(ids)


# -- generated names -------------------------------------------------------------------------------

def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) - 0x21 + 0xFF01) if "!" <= c <= "~" else c for c in text)


SPELLINGS: dict[str, Callable[[str], str]] = {
    "NFD": lambda s: unicodedata.normalize("NFD", s), "NFKD": lambda s: unicodedata.normalize("NFKD", s),
    "NFC": lambda s: unicodedata.normalize("NFC", s), "casefold": str.casefold, "lower": str.lower,
    "upper": str.upper, "fullwidth": _fullwidth, "swapcase": str.swapcase,
}
# letters (with their marks) and digits of any script: what a username is made of
NAME = st.text(st.characters(categories=("Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Nd")), min_size=1, max_size=12)


def _same_name(a: str, b: str) -> bool:
    """b is a spelling of a when every character's case variants fold alike (not so for dotless i,
    whose upper case is I: a different letter)."""
    return login_key(a) == login_key(b)


@settings(max_examples=examples(12), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=NAME, spelling=st.sampled_from(sorted(SPELLINGS)))
async def test_a_generated_name_logs_in_with_another_spelling(client: httpx.AsyncClient, seeded: Seed, name: str,
                                                              spelling: str) -> None:
    hdrs = await admin(client)
    registered = f"g{next(_numbers)}-{name}"
    typed = SPELLINGS[spelling](registered)
    r = await register(client, hdrs, registered)
    if r.status_code != 200:  # a name the username rules refuse: a 400, never anything else
        body: dict[str, Any] = assert_error(r, 400)
        assert body["errorCode"] in ("MISSING_OR_INVALID_PARAMETER", "ADD_CUSTOMER_FAILED"), body
        return
    account_id = r.json()["customerAccount"]["id"]
    answer = await client.post(LOGIN, headers=hdrs, json={"username": typed, "password": PASSWORD})
    if _same_name(registered, typed):
        assert ok(answer)["customerAccount"]["id"] == account_id, (registered, typed)
    else:  # another name (upper() of a dotless i): it logs in to no account, or to another one
        assert answer.status_code == 401 or ok(answer)["customerAccount"]["id"] != account_id
