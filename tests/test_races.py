"""Races against a live `ticketbooth serve` process: real parallel HTTP requests over many connections,
on SQLite and PostgreSQL (the in-process versions in tests/api run through one ASGI transport).

- registration of one email: exactly one 200, every other answer 409 VALIDATION_CONFLICT, one account;
- refresh of one token: one successor for all (the grace rule hands the same one to the parallel
  replays), one new ticket in the family, no replay recorded; replays once the successor is used are
  refused and end the family;
- wrong passwords, each from an address of its own: the account locks exactly once, at the tenant's
  count (the counter is exact), with one lock notice delivered to a real SMTP server;
- one mailed code (OTP login and the second factor of a login) used in parallel: one ticket.

Rate limits of the classes under test are off (they would answer some of the parallel requests 429
and hide the race). The server trusts 127.0.0.1 as a proxy, so X-Forwarded-For gives each request a
client address of its own. Codes are read from the messages the real SMTP server (tests/smtp.py) got.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from tests.api.code_support import OTP_AUTH, OTP_REQUEST, TWO_FACTOR_AUTH, code_of
from tests.api.support import assert_error, ok
from tests.conftest import BACKENDS, PASSWORD, SITE, SITE_SAME_SET, LiveServer, free_port, start_server, stop_server
from tests.live_support import (
    add_account,
    app_headers,
    assert_one_successor,
    at,
    http_fixture,  # noqa: F401  (the `http` fixture)
    live_client,
    login,
    new_address,
    own_database,
    prepare,
    query,
    refresh,
    ticket_row,
)
from tests.smtp import Delivered, Recorder, SmtpServer
from tests.smtp import _run as run_smtp
from ticketbooth.db import tables as t

PARALLEL = 24
LOCK_AFTER = 5
WRONG = "not the passphrase at all"
TENANT_SETTINGS = [
    "rate_limits.registration.enabled=false", "rate_limits.refresh.enabled=false", "rate_limits.login.enabled=false",
    "rate_limits.code_verify.enabled=false",
    f"lockout.max_failed_logins={LOCK_AFTER}", "lockout.max_failed_logins_per_address=1000",
]
TWO_FACTOR_SITE = SITE_SAME_SET
"""The site that asks every login for a second factor (it shares site 200's logins)."""


@dataclass
class Race:
    server: LiveServer
    database_url: str
    smtp: SmtpServer


@pytest.fixture(scope="module", params=BACKENDS)
def race(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Race]:
    """One seeded server per backend for the module (each test uses accounts of its own), on a database of
    its own, mailing through an SMTP server of the module's own."""
    workdir = tmp_path_factory.mktemp("races")
    recorder, port = Recorder(), free_port()
    for smtp in run_smtp(Controller(recorder, hostname="127.0.0.1", port=port), SmtpServer("127.0.0.1", port, recorder)):
        env = {"TICKETBOOTH_TRUSTED_PROXIES": "127.0.0.1", "TICKETBOOTH_SMTP_HOST": smtp.host,
               "TICKETBOOTH_SMTP_PORT": str(smtp.port), "TICKETBOOTH_SMTP_STARTTLS": "false",
               "TICKETBOOTH_MAIL_POLL_SECONDS": "0.5",
               "TICKETBOOTH_HASH_QUEUE_LIMIT": "500"}  # every parallel registration waits for its hash, none gets 503
        with own_database(request.param, workdir) as database_url:
            prepare(database_url, workdir, env, tenant=TENANT_SETTINGS, site=['two_factor=["always"]'],
                    site_id=TWO_FACTOR_SITE)
            server = start_server(database_url, workdir, extra_env=env)
            try:
                yield Race(server, database_url, smtp)
            finally:
                stop_server(server)


@pytest.fixture
def email(request: pytest.FixtureRequest) -> str:
    """An email address of this test's own."""
    return f"{request.node.name.split('[')[0].removeprefix('test_')[:40]}@example.com"


async def shopper(race: Race, http: httpx.AsyncClient, email: str, site: int = SITE) -> tuple[dict[str, str], int]:
    """(application headers for `site`, account id) of a new account `email`."""
    hdrs = {**await app_headers(http, race.server), "x-vol-site": str(site)}
    ok(await add_account(http, race.server, hdrs, email))
    return hdrs, await account_id(race.database_url, email)


def one_winner(answers: list[httpx.Response], status: int, code: str) -> dict[str, Any]:
    """The body of the one answer 200; every other answer is the error envelope `status` `code`."""
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200] + [status] * (len(answers) - 1), statuses
    for r in answers:
        if r.status_code != 200:
            assert_error(r, status, code)
    return ok(next(r for r in answers if r.status_code == 200))


async def account_id(database_url: str, email: str) -> int:
    [(found,)] = await query(database_url, select(t.accounts.c.id).where(t.accounts.c.email_key == email.lower()))
    return int(found)


async def count(database_url: str, table: Any, *where: Any) -> int:
    [(n,)] = await query(database_url, select(func.count()).select_from(table).where(*where))
    return int(n)


def mail_to(smtp: SmtpServer, address: str, seconds: float = 20.0) -> Delivered:
    """The one message to `address`, once it has arrived; none other comes in the next second."""
    deadline = time.monotonic() + seconds
    while not smtp.to(address) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)
    [message] = smtp.to(address)
    return message


async def test_one_email_registered_in_parallel_gives_one_account(
        race: Race, http: httpx.AsyncClient, email: str) -> None:
    server, database_url = race.server, race.database_url
    hdrs = await app_headers(http, server)
    answers = await asyncio.gather(*(add_account(http, server, at(hdrs, new_address()), email) for _ in range(PARALLEL)))
    winner = one_winner(answers, 409, "VALIDATION_CONFLICT")
    assert await count(database_url, t.accounts, t.accounts.c.email_key == email) == 1
    assert await account_id(database_url, email) == winner["customerAccount"]["id"]
    assert await count(database_url, t.token_families, t.token_families.c.account_id == winner["customerAccount"]["id"]) == 1
    assert ok(await login(http, server, hdrs, email, PASSWORD))["customerAccount"]["id"] == winner["customerAccount"]["id"]


async def test_one_token_refreshed_in_parallel_gives_one_successor(
        race: Race, http: httpx.AsyncClient, email: str) -> None:
    server, database_url = race.server, race.database_url
    hdrs = await app_headers(http, server)
    token = ok(await add_account(http, server, hdrs, email))["refreshToken"]

    answers = await asyncio.gather(*(refresh(http, server, at(hdrs, new_address()), token) for _ in range(PARALLEL)))

    successor = await assert_one_successor(database_url, token, answers)
    # a later replay inside the grace window, while the successor is unused, still gets that successor
    assert ok(await refresh(http, server, hdrs, token))["refreshToken"] == successor
    # the successor is the head: it goes on, in parallel too
    answers = await asyncio.gather(*(refresh(http, server, at(hdrs, new_address()), successor) for _ in range(PARALLEL)))
    head = await assert_one_successor(database_url, successor, answers)
    # now that the successor is used, replaying the first token is a replay: refused, and the family ends
    assert_error(await refresh(http, server, hdrs, token), 401, "INVALID_REFRESH_TOKEN")
    assert_error(await refresh(http, server, hdrs, head), 401, "INVALID_REFRESH_TOKEN")
    family_id, _ = await ticket_row(database_url, token)
    assert await count(database_url, t.token_families, t.token_families.c.id == family_id,
                       t.token_families.c.revoke_reason == "refresh-replay") == 1


async def test_parallel_wrong_passwords_lock_the_account_once(
        race: Race, http: httpx.AsyncClient, email: str) -> None:
    server, database_url = race.server, race.database_url
    hdrs, account = await shopper(race, http, email)

    answers = await asyncio.gather(*(login(http, server, at(hdrs, new_address()), email, WRONG) for _ in range(PARALLEL)))

    for r in answers:
        assert_error(r, 401, "INVALID_CREDENTIALS")
    [(is_locked, failures)] = await query(database_url, select(t.accounts.c.is_locked, t.accounts.c.failed_login_count)
                                          .where(t.accounts.c.id == account))
    assert (is_locked, failures) == (True, LOCK_AFTER)
    locks = await query(database_url, select(t.audit_entries.c.detail).where(
        t.audit_entries.c.account_id == account, t.audit_entries.c.event == "account.locked"))
    assert len(locks) == 1 and locks[0][0]["failures"] == LOCK_AFTER
    assert await count(database_url, t.audit_entries, t.audit_entries.c.account_id == account,
                       t.audit_entries.c.event == "login.failed") == PARALLEL
    assert await count(database_url, t.outbox, t.outbox.c.kind == "account-locked") == 1  # the module's only lock
    notice = mail_to(race.smtp, email)  # exactly one lock notice arrives
    [(kind,)] = await query(database_url, select(t.outbox.c.kind).where(t.outbox.c.id == notice.outbox_id))
    assert kind == "account-locked"
    # locked: the right password is refused too, from a fresh address
    assert_error(await login(http, server, at(hdrs, new_address()), email, PASSWORD), 401, "INVALID_CREDENTIALS")


async def test_one_otp_code_used_in_parallel_gives_one_ticket(
        race: Race, http: httpx.AsyncClient, email: str) -> None:
    server, database_url = race.server, race.database_url
    hdrs, account = await shopper(race, http, email)
    r = await http.post(f"{server.base_url}{OTP_REQUEST}", headers=hdrs, json={"email": email})
    assert r.status_code == 204, r.text
    code = code_of(mail_to(race.smtp, email))
    families = await count(database_url, t.token_families, t.token_families.c.account_id == account)

    answers = await asyncio.gather(*(
        http.post(f"{server.base_url}{OTP_AUTH}", headers=at(hdrs, new_address()), json={"email": email, "otpCode": code})
        for _ in range(PARALLEL)))

    await one_ticket(database_url, account, families, answers, "otp.verified")


async def test_one_second_factor_code_used_in_parallel_gives_one_ticket(
        race: Race, http: httpx.AsyncClient, email: str) -> None:
    server, database_url = race.server, race.database_url
    hdrs, account = await shopper(race, http, email, TWO_FACTOR_SITE)
    pending = ok(await login(http, server, hdrs, email, PASSWORD))
    assert pending["requires2FA"] is True and pending["refreshToken"] is None
    code = code_of(mail_to(race.smtp, email))
    families = await count(database_url, t.token_families, t.token_families.c.account_id == account)

    answers = await asyncio.gather(*(
        http.post(f"{server.base_url}{TWO_FACTOR_AUTH}",
                  headers={**at(hdrs, new_address()), "x-vol-user-claims": pending["accessToken"]},
                  json={"userId": pending["userId"], "otpCode": code})
        for _ in range(PARALLEL)))

    await one_ticket(database_url, account, families, answers, "2fa.verified")


async def one_ticket(database_url: str, account: int, families: int, answers: list[httpx.Response], event: str) -> None:
    """Exactly one of the parallel uses of a code got a ticket (one new token family, one `event`); the
    others were refused as a used code."""
    winner = one_winner(answers, 401, "INVALID_OTP")
    assert winner["customerAccount"]["id"] == account and winner["refreshToken"]
    assert await count(database_url, t.token_families, t.token_families.c.account_id == account) == families + 1
    assert await count(database_url, t.audit_entries, t.audit_entries.c.account_id == account,
                       t.audit_entries.c.event == event) == 1


@pytest.mark.soak
async def test_wide_registration_and_refresh_races_round_after_round(race: Race) -> None:
    """The registration and refresh races, 10 rounds of 100 parallel requests each (connections not kept:
    a round of 100 registrations hashes for longer than the server keeps an idle connection)."""
    async with live_client(keep_alive=False) as http:
        hdrs = await app_headers(http, race.server)
        for round_ in range(10):
            email = f"wide-{round_}@example.com"
            answers = await asyncio.gather(*(add_account(http, race.server, at(hdrs, new_address()), email)
                                             for _ in range(100)))
            token = one_winner(answers, 409, "VALIDATION_CONFLICT")["refreshToken"]
            answers = await asyncio.gather(*(refresh(http, race.server, at(hdrs, new_address()), token) for _ in range(100)))
            await assert_one_successor(race.database_url, token, answers)
