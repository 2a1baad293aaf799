"""Optional strength scoring (PasswordPolicy.min_strength, zxcvbn): off by default; when a tenant
sets it, every way a shopper picks a password refuses one that scores below it, with the account's
email, username and names counted against the password."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from pydantic import ValidationError

from tests.api.login_support import ACCOUNTS, admin_headers, as_shopper, change_path, done
from tests.api.support import REGISTER, UPDATE_FORGOTTEN_PASSWORD, assert_error, login, ok, register
from tests.conftest import PASSWORD, TENANT, Seed
from ticketbooth.applications import admin
from ticketbooth.core import Core
from ticketbooth.domain.errors import InvalidParameter
from ticketbooth.domain.models import PURPOSE_RESET
from ticketbooth.domain.policies import PasswordPolicy, strength_problem, user_inputs
from ticketbooth.infra.tokens import at_rest
from ticketbooth.login.passwords import STRENGTH_MAX_CHARS, password_strength

EMAIL = "zorblax.quintessa@example.com"
# Strong on its own (score 4), weak (1) for the account whose email and names it is made of.
OWN_NAMES = "zorblaxquintessa"
# Not on the common-password list, long enough, but easy to guess (score 1).
GUESSABLE = "abcdefgh1234"


async def require_strength(core: Core, score: int) -> None:
    await admin.settings_of(core, "tenant", TENANT, [f"password.min_strength={score}"])
    core.directory.forget()


def test_the_scores_these_tests_rely_on() -> None:
    inputs = user_inputs(EMAIL, EMAIL, "Zorblax", "Quintessa")
    assert password_strength(OWN_NAMES) == 4
    assert password_strength(OWN_NAMES, inputs) <= 1
    assert password_strength(GUESSABLE) <= 1
    assert password_strength(PASSWORD) == 4


def test_user_inputs_are_the_values_their_local_parts_and_their_words() -> None:
    assert user_inputs("Bob.Smith@Example.com", None, "Bob", "", "Smith") == [
        "bob.smith@example.com", "bob.smith", "bob", "smith", "example", "com"]
    assert user_inputs(None, "") == []


def test_long_passwords_are_scored_on_a_prefix_without_error() -> None:
    assert password_strength("Xq7#" * 500) == password_strength(("Xq7#" * 500)[:STRENGTH_MAX_CHARS])
    assert password_strength("a" * 10_000) == 0


def test_min_strength_is_0_to_4_and_off_by_default() -> None:
    assert PasswordPolicy().min_strength == 0
    for bad in (-1, 5):
        with pytest.raises(ValidationError):
            PasswordPolicy(min_strength=bad)
    assert strength_problem(None, PasswordPolicy(min_strength=4)) is None
    assert strength_problem(3, PasswordPolicy(min_strength=3)) is None
    assert strength_problem(2, PasswordPolicy(min_strength=3)) == "is too easy to guess (strength 2 of 4; at least 3 is required)"


async def test_off_by_default_a_guessable_password_is_accepted(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    await register(client, app_headers, EMAIL, OWN_NAMES, firstName="Zorblax", lastName="Quintessa")
    await register(client, app_headers, "other@example.com", GUESSABLE)


async def test_registration_refuses_weak_passwords_and_names_the_reason(
        core: Core, client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    await require_strength(core, 3)
    for password in (GUESSABLE, OWN_NAMES):
        r = await client.post(REGISTER, headers=app_headers, json={
            "account": {"emailAddress": EMAIL, "firstName": "Zorblax", "lastName": "Quintessa"}, "password": password})
        message = assert_error(r, 400, "ADD_CUSTOMER_FAILED")["message"]
        assert "too easy to guess" in message and "at least 3" in message
        assert password not in message
    # the same password is fine for someone whose names it does not hold
    await register(client, app_headers, "someone.else@example.com", OWN_NAMES)
    await register(client, app_headers, EMAIL, PASSWORD, firstName="Zorblax", lastName="Quintessa")


async def test_every_problem_is_reported_at_once(core: Core, client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    await require_strength(core, 4)
    r = await client.post(REGISTER, headers=app_headers, json={"account": {"emailAddress": EMAIL}, "password": "qwerty"})
    message = assert_error(r, 400, "ADD_CUSTOMER_FAILED")["message"]
    assert "at least 8 characters" in message and "too common" in message and "too easy to guess" in message


async def test_bulk_registration_names_the_weak_entry(core: Core, client: httpx.AsyncClient, seeded: Seed) -> None:
    await require_strength(core, 3)
    hdrs = await admin_headers(client)
    entries = [{"account": {"emailAddress": f"bulk{i}@example.com"}, "password": PASSWORD} for i in range(2)]
    entries.append({"account": {"emailAddress": EMAIL, "firstName": "Zorblax"}, "password": OWN_NAMES})
    r = await client.post(f"{ACCOUNTS}/Bulk", headers=hdrs, json=entries)
    message = assert_error(r, 400, "ADD_CUSTOMER_FAILED")["message"]
    assert "entry 2" in message and "too easy to guess" in message


async def test_change_password_scores_against_the_accounts_own_words(
        core: Core, client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    ticket = await register(client, app_headers, EMAIL, PASSWORD, firstName="Zorblax", lastName="Quintessa")
    account_id = ticket["customerAccount"]["id"]
    await require_strength(core, 3)
    me = as_shopper(app_headers, ticket)
    for weak in (GUESSABLE, OWN_NAMES):
        r = await client.post(change_path(account_id), headers=me, json={"oldPassword": PASSWORD, "newPassword": weak})
        assert "too easy to guess" in assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "newPassword")["message"]
    ok(await login(client, app_headers, EMAIL, PASSWORD))
    strong = "quiet lanterns over the harbour"
    done(await client.post(change_path(account_id), headers=me, json={"oldPassword": PASSWORD, "newPassword": strong}))
    ok(await login(client, app_headers, EMAIL, strong))


async def test_a_reset_refuses_a_weak_password_and_the_code_stays_usable(
        core: Core, client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    ticket = await register(client, app_headers, EMAIL, PASSWORD, firstName="Zorblax", lastName="Quintessa")
    account_id = ticket["customerAccount"]["id"]
    code = "0123456789abcdef0123456789abcdef"
    now = core.clock.now()
    await core.store.issue_code(account_id, PURPOSE_RESET, at_rest(code), now, now + timedelta(hours=1))
    await require_strength(core, 3)
    r = await client.post(UPDATE_FORGOTTEN_PASSWORD, headers=app_headers,
                          json={"userName": EMAIL, "confirmationCode": code, "newPassword": OWN_NAMES})
    assert "too easy to guess" in assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "newPassword")["message"]
    strong = "quiet lanterns over the harbour"
    r = await client.post(UPDATE_FORGOTTEN_PASSWORD, headers=app_headers,
                          json={"userName": EMAIL, "confirmationCode": code, "newPassword": strong})
    assert r.status_code == 200, r.text
    ok(await login(client, app_headers, EMAIL, strong))


async def test_the_cli_customer_command_applies_it_too(core: Core, seeded: Seed) -> None:
    await require_strength(core, 3)
    with pytest.raises(InvalidParameter, match="too easy to guess"):
        await admin.ensure_customer(core, TENANT, None, EMAIL, OWN_NAMES, "Zorblax", "Quintessa")
    created = await admin.ensure_customer(core, TENANT, None, EMAIL, PASSWORD, "Zorblax", "Quintessa")
    assert created["created"] is True
