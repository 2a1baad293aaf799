"""Account protection (issue 4) through `@kibocommerce/rest-sdk` against a live `ticketbooth serve`.

What a storefront or call-centre application built on Kibo's own SDK sees of the protection endpoints:
2FA by mailed code (createUserAuthTicket -> requires2FA, generateAndSend2faOtp, validate2FAAndCreateAuthTicket),
one-time-passcode login (generateAndSendOtp, validateOtpAndCreateAuthTicket), the lockout (createUserAuthTicket,
getLoginState), a rate limit's 429, impersonateCart, a replayed refresh token (refreshUserAuthTicket), and the
audit log (getAccountAuditLog). Codes are read from the mail the server's own background sender delivered to a
real SMTP server.

One server (and one SMTP server) per database serves the whole module; the flows keep apart by site, tenant
and account. Settings are made through the CLI before the server starts:

- site 200: `two_factor=["always"]` (the 2FA flow); the other flows log in on site 201, which shares site
  200's customer set and asks no second factor;
- tenant 100: `lockout.max_failed_logins=3`, and `codes.otp_resend_seconds=2` (so a resend is refused at once
  and allowed two seconds later);
- tenant 300 (site 400, application OTHER): a login bucket of 2 per login name (the rate-limit flow);
- application IMPERSONATOR of tenant 100 with the `customer-auth:impersonate` behavior.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.conformance.conftest import HEX32, Kibo, assert_api_error, parse_date
from tests.conformance.test_kibo_sdk import verified_claims
from tests.conftest import (
    _CLI_BATCH,
    ADMIN,
    BACKENDS,
    OTHER,
    OTHER_SITE,
    OTHER_TENANT,
    PASSWORD,
    SITE,
    SITE_SAME_SET,
    STOREFRONT,
    TENANT,
    LiveServer,
    _empty_postgres,
    seed_cli,
    start_server,
    stop_server,
)
from tests.smtp import Delivered, Recorder, SmtpServer, free_port
from ticketbooth.domain.models import BEHAVIOR_IMPERSONATE

pytestmark = pytest.mark.conformance

ACCOUNTS, TICKETS = "CustomerAccountApi", "StorefrontAuthTicketApi"
IMPERSONATOR = ("agent.app", "agent-secret-0123456789abcdef")
MAX_FAILED_LOGINS = 3
LOGIN_BUCKET = 2
RESEND_SECONDS = 6  # the resends it must refuse take several node runs: on a loaded machine 2 s was too short
SIX_DIGITS = re.compile(r"^\s+(\d{6})\s*$", re.MULTILINE)
TICKET_KEYS = {"accessToken", "accessTokenExpiration", "refreshToken", "refreshTokenExpiration", "jwtAccessToken",
               "userId", "customerAccount", "requires2FA"}


@dataclass
class Stack:
    server: LiveServer
    smtp: SmtpServer
    kibo: Kibo  # the storefront application on site 201 (no second factor there)
    workdir: Path

    def code_for(self, address: str, count: int, subject: str) -> str:
        """The 6-digit code of the `count`-th message to `address` (waiting for it); its subject must hold
        `subject`."""
        deadline = time.monotonic() + 20
        while len(self.smtp.to(address)) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        mails = self.smtp.to(address)
        assert len(mails) >= count, f"{len(mails)} of {count} messages to {address} arrived"
        return code_in(mails[count - 1], subject)

    def server_log(self) -> str:
        port = self.server.base_url.rsplit(":", 1)[1]
        return (self.workdir / f"server-{port}.log").read_text()


def code_in(mail: Delivered, subject: str) -> str:
    assert subject in str(mail.message["Subject"]), mail.message["Subject"]
    codes: set[str] = set(SIX_DIGITS.findall(mail.text))
    assert len(codes) == 1, mail.text
    code = codes.pop()
    assert code in mail.html
    return code


def configure(env: dict[str, str], cwd: Path) -> None:
    """The settings and the extra application of this module, through the CLI (one interpreter)."""
    tenant = ["--tenant-id", str(TENANT)]
    commands = [
        ["app", "create", *tenant, "--client-id", IMPERSONATOR[0], "--client-secret", IMPERSONATOR[1],
         "--behavior", BEHAVIOR_IMPERSONATE],
        ["site", "settings", str(SITE), "--set", 'two_factor=["always"]'],
        ["tenant", "settings", str(TENANT), "--set", f"lockout.max_failed_logins={MAX_FAILED_LOGINS}",
         "--set", f"codes.otp_resend_seconds={RESEND_SECONDS}"],
        ["tenant", "settings", str(OTHER_TENANT), "--set",
         f'rate_limits.login.per_account={{"capacity": {LOGIN_BUCKET}, "per_minute": 0.01}}'],
    ]
    done = subprocess.run([sys.executable, "-c", _CLI_BATCH, json.dumps(commands)], env=env, cwd=cwd,
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()


@pytest.fixture(scope="module", params=BACKENDS)
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A seeded, configured server on SQLite or PostgreSQL, mailing through a real SMTP server."""
    workdir = tmp_path_factory.mktemp(f"protection-{request.param}")
    if request.param == "sqlite":
        database_url = f"sqlite:///{workdir / 'ticketbooth.db'}"
    else:
        database_url = request.getfixturevalue("postgres_database")
        _empty_postgres(database_url)
    env = {**os.environ, "TICKETBOOTH_DATABASE_URL": database_url}
    seed_cli(env, workdir)
    configure(env, workdir)
    recorder, port = Recorder(), free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        smtp = SmtpServer("127.0.0.1", port, recorder)
        server = start_server(database_url, workdir, extra_env={
            "TICKETBOOTH_SMTP_HOST": smtp.host, "TICKETBOOTH_SMTP_PORT": str(smtp.port),
            "TICKETBOOTH_SMTP_STARTTLS": "false", "TICKETBOOTH_MAIL_DIR": str(workdir / "mail")})
        try:
            yield Stack(server, smtp, Kibo(server.base_url).as_(site=SITE_SAME_SET), workdir)
        finally:
            stop_server(server)
    finally:
        controller.stop()


def audit_events(kibo: Kibo, account_id: int, token: str | None = None) -> list[dict[str, Any]]:
    """The account's audit trail through CustomerAccountApi.getAccountAuditLog, oldest first (as the admin
    application, or as the shopper whose ticket JWT is `token`)."""
    out = kibo.call(ACCOUNTS, "getAccountAuditLog", {"accountId": account_id, "pageSize": 200}, token)
    assert out["ok"], f"{out['call']}: {out['error']}"
    log = out["result"]
    assert set(log) >= {"startIndex", "pageSize", "pageCount", "totalCount", "items"}, log
    assert log["totalCount"] == len(log["items"])
    for entry in log["items"]:
        assert entry["customerAccountId"] == account_id
        assert isinstance(entry["customerAuditEntryId"], int) and entry["description"]
        parse_date(entry["entryDate"])
    return list(reversed(log["items"]))


def login_state(stack: Stack, account_id: int) -> dict[str, Any]:
    out = stack.kibo.as_(creds=ADMIN).call(ACCOUNTS, "getLoginState", {"accountId": account_id})
    assert out["ok"], f"{out['call']}: {out['error']}"
    state: dict[str, Any] = out["result"]
    return state


def traced(kibo: Kibo, scenario: str, *args: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the driver's output, the last HTTP exchange the SDK made) for one scenario run with tracing."""
    out = kibo.as_(TB_TRACE="1").run(scenario, *args)
    return out, out["trace"][-1]


# -- 1. 2FA by mailed code -------------------------------------------------------------------------

def test_two_factor_login(stack: Stack) -> None:
    """A site that always asks a second factor: the password answers a pending ticket, the code comes by
    mail, generateAndSend2faOtp resends it, validate2FAAndCreateAuthTicket opens the session."""
    site200 = Kibo(stack.server.base_url)  # the storefront on site 200 (two_factor: always)
    email = "tess.twofactor@example.com"
    registered = site200.ok("register", email, PASSWORD)
    account_id, user_id = registered["customerAccount"]["id"], registered["userId"]
    assert registered["requires2FA"] is False and registered["customerAccount"]["last2FaDate"] is None

    pending = site200.ok("login", email, PASSWORD, json.dumps({"fingerprint": "device-1", "region": "US-TX"}))
    assert set(pending) == TICKET_KEYS
    assert pending["requires2FA"] is True and pending["userId"] == user_id
    assert (pending["refreshToken"], pending["refreshTokenExpiration"], pending["jwtAccessToken"],
            pending["customerAccount"]) == (None, None, None, None)
    token = pending["accessToken"]
    assert isinstance(token, str) and len(token) >= 32
    # at once, with the legacy claims headers: within otp_resend_seconds of the mail a resend is a 429
    out, exchange = traced(site200, "2fa-request", token, "claims")
    assert_api_error(out["error"], 429, "TOO_MANY_REQUESTS")
    assert exchange["headers"]["x-vol-user-claims"] == token and exchange["headers"]["x-vol-app-claims"]
    retry_after = int(exchange["responseHeaders"]["retry-after"])
    assert 1 <= retry_after <= RESEND_SECONDS
    first_code = stack.code_for(email, 1, "verification code")

    # the pending ticket is no shopper ticket
    assert_api_error(site200.error("current", token, "claims"), 401, "INVALID_ACCESS_TOKEN")

    # the SDK's `accessToken` option (Authorization: Bearer <pending>, nothing else) reaches the pending
    # login: the login names its application, tenant and site; the resend is throttled like the one above
    out, exchange = traced(site200, "2fa-request", token, "bearer")
    assert_api_error(out["error"], 429, "TOO_MANY_REQUESTS")
    assert exchange["headers"].get("Authorization") == f"Bearer {token}"
    assert not {"x-vol-app-claims", "x-vol-user-claims"} & set(exchange["headers"])

    # after Retry-After the resend works: 204, and generateAndSend2faOtp sends no body at all
    time.sleep(retry_after + 0.2)
    out, exchange = traced(site200, "2fa-request", token, "claims")
    assert out["ok"] is True and out["result"] is None, out.get("error")
    assert (exchange["method"], exchange["status"], exchange["responseBody"], exchange["body"]) == (
        "POST", 204, "", None)
    second_code = stack.code_for(email, 2, "verification code")
    # the app's Bearer token plus x-vol-user-claims (initOverrides)
    time.sleep(RESEND_SECONDS + 0.2)
    assert site200.ok("2fa-request", token, "bearer+claims") is None
    code = stack.code_for(email, 3, "verification code")

    # an earlier code stopped working with the resend (a wrong try, 1 of 3)
    stale = first_code if first_code != code else second_code
    assert_api_error(site200.error("2fa-auth", token, user_id, stale, "claims"), 401, "INVALID_OTP")
    # generateAndSend2faOtp with the application's credential alone names no login (no body): refused
    assert_api_error(site200.error("2fa-request", "-", "app"), 401, "INVALID_OTP")
    # another application of the tenant cannot finish this login
    assert_api_error(site200.as_(creds=ADMIN).error("2fa-auth", token, user_id, code, "claims"), 401, "INVALID_OTP")

    ticket = site200.ok("2fa-auth", token, user_id, code, "claims")
    assert set(ticket) == TICKET_KEYS and ticket["requires2FA"] is False
    assert HEX32.match(ticket["refreshToken"]) and ticket["userId"] == user_id
    assert ticket["customerAccount"]["id"] == account_id
    last_2fa = parse_date(ticket["customerAccount"]["last2FaDate"])
    claims = verified_claims(stack.server.base_url, ticket["jwtAccessToken"])
    assert (claims["sub"], claims["account_id"], claims["site"]) == (user_id, account_id, SITE)
    current = site200.ok("current", ticket["jwtAccessToken"], "bearer", "id,last2FaDate")
    assert current["id"] == account_id and parse_date(current["last2FaDate"]) == last_2fa
    assert site200.ok("current", ticket["accessToken"], "claims", "id") == {"id": account_id}
    # the session refreshes like any other
    assert site200.ok("refresh", ticket["refreshToken"])["customerAccount"]["id"] == account_id
    # single use: the code, and the pending ticket, are spent
    assert_api_error(site200.error("2fa-auth", token, user_id, code, "claims"), 401, "INVALID_OTP")
    assert_api_error(site200.error("2fa-request", token, "claims"), 401, "INVALID_OTP")

    # the two other ways a storefront may carry the pending token also finish a login
    # and the SDK's own models alone (AuthTicket2FAInfo {userId, otpCode} with the application's
    # credential: the pending login is the user's newest; wrong codes sent this way have an allowance of
    # their own, issue 13e) or the pending token as the Bearer token alone
    for n, auth in enumerate(("bearer+claims", "body", "bearer", "app"), start=4):
        again = site200.ok("login", email, PASSWORD)
        assert again["requires2FA"] is True and again["refreshToken"] is None
        code = stack.code_for(email, n, "verification code")
        out, exchange = traced(site200, "2fa-auth", again["accessToken"] if auth != "app" else "-", user_id, code,
                               auth)
        if auth == "app":
            assert json.loads(exchange["body"]) == {"userId": user_id, "otpCode": code}
            assert "x-vol-user-claims" not in exchange["headers"]
        assert out["ok"] is True, (auth, out.get("error"))
        done = out["result"]
        assert done["customerAccount"]["id"] == account_id and HEX32.match(done["refreshToken"]), auth

    # a wrong user id spends a try and fails; three wrong tries void the code
    again = site200.ok("login", email, PASSWORD)
    code = stack.code_for(email, 6, "verification code")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert_api_error(site200.error("2fa-auth", again["accessToken"], "0" * 32, code, "claims"), 401, "INVALID_OTP")
    assert_api_error(site200.error("2fa-auth", again["accessToken"], user_id, wrong, "claims"), 401, "INVALID_OTP")
    assert_api_error(site200.error("2fa-auth", again["accessToken"], user_id, wrong, "claims"), 401, "INVALID_OTP")
    assert_api_error(site200.error("2fa-auth", again["accessToken"], user_id, code, "claims"), 401, "INVALID_OTP")

    # site 201 shares the customer set but asks no second factor
    direct = stack.kibo.ok("login", email, PASSWORD)
    assert direct["requires2FA"] is False and direct["customerAccount"]["id"] == account_id

    # the trail, read by the shopper: sends, the verification and the refusals, never a code
    entries = audit_events(site200, account_id, ticket["jwtAccessToken"])
    events = [e["eventType"] for e in entries]
    assert events.count("2fa.sent") == 8  # 6 logins + 2 resends
    # a stale code, a wrong user id, two wrong codes (refusals of the pending token itself leave no entry)
    assert events.count("2fa.verified") == 5 and events.count("2fa.failed") == 4
    assert all(e["application"] == STOREFRONT[0] for e in entries if e["eventType"].startswith("2fa."))
    sent = [c for m in stack.smtp.to(email) for c in SIX_DIGITS.findall(m.text)]
    dumped = json.dumps(entries)
    assert not [c for c in sent if c in dumped]
    assert not [c for c in sent if c in stack.server_log()]


# -- 2. one-time passcode login --------------------------------------------------------------------

def test_one_time_passcode_login(stack: Stack) -> None:
    kibo = stack.kibo
    email, unknown = "otto.otp@example.com", "nobody.otp@example.com"
    registered = kibo.ok("register", email, PASSWORD)
    account_id = registered["customerAccount"]["id"]

    # known and unknown addresses: the very same answer (void: 204, no body)
    known_out, known = traced(kibo, "otp-request", email)
    unknown_out, nobody = traced(kibo, "otp-request", unknown)
    assert known_out["ok"] is True and unknown_out["ok"] is True
    assert known_out["result"] is None and unknown_out["result"] is None
    assert (known["status"], known["responseBody"]) == (nobody["status"], nobody["responseBody"]) == (204, "")
    assert json.loads(known["body"]) == {"email": email}
    code = stack.code_for(email, 1, "sign-in code")

    # a wrong code: the SDK throws a ResponseError with errorCode INVALID_OTP
    wrong = kibo.error("otp-auth", email, f"{(int(code) + 1) % 10**6:06d}")
    assert_api_error(wrong, 401, "INVALID_OTP")
    assert wrong["message"].startswith("Invalid OTP: ") and wrong["statusText"] == "Unauthorized"
    # an unknown address, with any code, gets the same error
    other = kibo.error("otp-auth", unknown, code)
    assert (other["status"], other["errorCode"], other["message"]) == (401, "INVALID_OTP", wrong["message"])

    ticket = kibo.ok("otp-auth", email, code, "device-otp", "US-CA")
    assert set(ticket) == TICKET_KEYS and ticket["requires2FA"] is False
    assert ticket["customerAccount"]["id"] == account_id and ticket["userId"] == registered["userId"]
    assert HEX32.match(ticket["refreshToken"])
    assert kibo.ok("current", ticket["jwtAccessToken"], "bearer", "id,emailAddress") == {
        "id": account_id, "emailAddress": email}
    assert kibo.ok("refresh", ticket["refreshToken"])["customerAccount"]["id"] == account_id
    # single use
    assert_api_error(kibo.error("otp-auth", email, code), 401, "INVALID_OTP")
    # a site without OTP login would answer 403; this one has it. Nothing went to the unknown address.
    assert stack.smtp.to(unknown) == []
    events = [e["eventType"] for e in audit_events(kibo.as_(creds=ADMIN), account_id)]
    # the wrong code, the login, the replayed code
    assert ["otp.sent", "otp.failed", "otp.verified", "otp.failed"] == [e for e in events if e.startswith("otp.")]


# -- 3. lockout ------------------------------------------------------------------------------------

def test_lockout_and_the_way_back_in(stack: Stack) -> None:
    kibo = stack.kibo
    email = "lou.locked@example.com"
    registered = kibo.ok("register", email, PASSWORD)
    account_id = registered["customerAccount"]["id"]
    bad = kibo.error("login", email, "wrong " + PASSWORD)
    assert_api_error(bad, 401, "INVALID_CREDENTIALS")
    state = login_state(stack, account_id)
    assert (state["isLocked"], state["failedLoginAttemptCount"], state["remainingLoginAttempts"]) == (
        False, 1, MAX_FAILED_LOGINS - 1)
    parse_date(state["firstFailedLoginAttemptOn"])

    for _ in range(MAX_FAILED_LOGINS - 1):
        assert_api_error(kibo.error("login", email, "wrong " + PASSWORD), 401, "INVALID_CREDENTIALS")
    # locked: the right password gets the wrong password's very answer
    right = kibo.error("login", email, PASSWORD)
    assert (right["status"], right["errorCode"], right["message"]) == (401, "INVALID_CREDENTIALS", bad["message"])
    state = login_state(stack, account_id)
    assert state["isLocked"] is True and state["remainingLoginAttempts"] == 0
    assert state["failedLoginAttemptCount"] == MAX_FAILED_LOGINS
    parse_date(state["lastLockedOn"])
    # the owner was told, with how to get back in
    deadline = time.monotonic() + 20
    while not stack.smtp.to(email) and time.monotonic() < deadline:
        time.sleep(0.05)
    [locked_mail] = stack.smtp.to(email)
    assert "locked" in str(locked_mail.message["Subject"]).lower(), locked_mail.message["Subject"]
    # a lock by failed passwords stops new logins only: the owner's session goes on (issue 13, finding 4)
    assert kibo.ok("refresh", registered["refreshToken"])["customerAccount"]["id"] == account_id
    # the storefront itself may not read the login state
    forbidden = kibo.call(ACCOUNTS, "getLoginState", {"accountId": account_id})
    assert_api_error(forbidden["error"], 403, "FORBIDDEN")

    # a one-time passcode still lets the owner in, and lifts the lock
    assert kibo.ok("otp-request", email) is None
    code = stack.code_for(email, 2, "sign-in code")
    ticket = kibo.ok("otp-auth", email, code)
    assert ticket["customerAccount"]["id"] == account_id and HEX32.match(ticket["refreshToken"])
    assert ticket["customerAccount"]["isLocked"] is False
    state = login_state(stack, account_id)
    assert (state["isLocked"], state["failedLoginAttemptCount"], state["remainingLoginAttempts"]) == (
        False, 0, MAX_FAILED_LOGINS)
    assert kibo.ok("login", email, PASSWORD)["customerAccount"]["id"] == account_id

    entries = audit_events(kibo.as_(creds=ADMIN), account_id)
    events = [e["eventType"] for e in entries]
    assert events.count("login.failed") == MAX_FAILED_LOGINS + 1  # the right password while locked, too
    [lock] = [e for e in entries if e["eventType"] == "account.locked"]
    assert (lock["fieldPath"], lock["oldValue"], lock["newValue"]) == ("isLocked", "false", "true")
    [unlock] = [e for e in entries if e["eventType"] == "account.unlocked"]
    assert (unlock["fieldPath"], unlock["oldValue"], unlock["newValue"]) == ("isLocked", "true", "false")
    assert events.index("account.locked") < events.index("otp.verified")


# -- 4. rate limits --------------------------------------------------------------------------------

def test_rate_limit_reaches_the_sdk(stack: Stack) -> None:
    """Tenant 300 allows LOGIN_BUCKET failed logins per login name: the next login, even with the right
    password, is a 429 the SDK reports with errorCode TOO_MANY_REQUESTS, alike for a real account and
    for a name nobody has. (The owner's own successful logins do not count.)"""
    other = Kibo(stack.server.base_url, TB_TENANT=str(OTHER_TENANT), TB_SITE=str(OTHER_SITE)).as_(creds=OTHER)
    email = "rita.ratelimited@example.com"
    account_id = other.ok("register", email, PASSWORD)["customerAccount"]["id"]
    for _ in range(LOGIN_BUCKET + 1):
        assert other.ok("login", email, PASSWORD)["customerAccount"]["id"] == account_id
    for _ in range(LOGIN_BUCKET):
        assert_api_error(other.error("login", email, "not the password"), 401, "INVALID_CREDENTIALS")
    out, exchange = traced(other, "login", email, PASSWORD)
    refused = out["error"]
    assert_api_error(refused, 429, "TOO_MANY_REQUESTS")
    assert refused["statusText"] == "Too Many Requests" and refused["message"].startswith("Too Many Requests: ")
    assert refused["apiError"]["applicationName"] == "Customer"
    retry_after = exchange["responseHeaders"]["retry-after"]
    assert retry_after.isdigit() and int(retry_after) >= 1
    assert exchange["headers"]["x-vol-tenant"] == str(OTHER_TENANT)

    nobody = "nobody.ratelimited@example.com"
    for _ in range(LOGIN_BUCKET):
        assert_api_error(other.error("login", nobody, PASSWORD), 401, "INVALID_CREDENTIALS")
    unknown = other.error("login", nobody, PASSWORD)
    assert (unknown["status"], unknown["errorCode"], unknown["message"]) == (429, "TOO_MANY_REQUESTS", refused["message"])
    # tenant 100 is not affected
    assert stack.kibo.ok("anonymous")["requires2FA"] is False


# -- 5. impersonation ------------------------------------------------------------------------------

def test_impersonate_cart(stack: Stack) -> None:
    kibo = stack.kibo
    email = "ivy.impersonated@example.com"
    registered = kibo.ok("register", email, PASSWORD)
    account_id, user_id = registered["customerAccount"]["id"], registered["userId"]
    agent = kibo.as_(creds=IMPERSONATOR)

    ticket = agent.ok("impersonate", str(account_id), user_id, "cart-42")
    assert set(ticket) == TICKET_KEYS and ticket["requires2FA"] is False
    assert (ticket["refreshToken"], ticket["refreshTokenExpiration"]) == (None, None)
    assert ticket["userId"] == user_id and ticket["customerAccount"]["id"] == account_id
    parse_date(ticket["accessTokenExpiration"])
    claims = verified_claims(stack.server.base_url, ticket["jwtAccessToken"])
    assert (claims["sub"], claims["account_id"]) == (user_id, account_id)
    assert claims["act"] == {"client_id": IMPERSONATOR[0]} and claims["cart_id"] == "cart-42"
    # usable for the current account, as a Bearer JWT and as x-vol-user-claims
    assert kibo.ok("current", ticket["jwtAccessToken"], "bearer", "id,emailAddress") == {
        "id": account_id, "emailAddress": email}
    assert agent.ok("current", ticket["accessToken"], "claims", "id") == {"id": account_id}
    # without the userId too
    assert agent.ok("impersonate", str(account_id))["customerAccount"]["id"] == account_id

    # refused for an application without the behavior (customer:admin is not enough)
    for creds in (STOREFRONT, ADMIN):
        assert_api_error(kibo.as_(creds=creds).error("impersonate", str(account_id), user_id), 403, "FORBIDDEN")
    assert_api_error(agent.error("impersonate", str(account_id), "0" * 32), 400, "MISSING_OR_INVALID_PARAMETER",
                     "userId")
    assert_api_error(agent.error("impersonate", "2147483000"), 404, "ITEM_NOT_FOUND")

    entries = [e for e in audit_events(kibo.as_(creds=ADMIN), account_id) if e["eventType"] == "impersonation.started"]
    assert len(entries) == 2
    assert {(e["entryUser"], e["application"]) for e in entries} == {(IMPERSONATOR[0], IMPERSONATOR[0])}


# -- 6. a replayed refresh token -------------------------------------------------------------------

def test_replayed_refresh_token(stack: Stack) -> None:
    kibo = stack.kibo
    email = "ray.replayed@example.com"
    registered = kibo.ok("register", email, PASSWORD)
    account_id = registered["customerAccount"]["id"]
    first = kibo.ok("refresh", registered["refreshToken"])
    second = kibo.ok("refresh", first["refreshToken"])
    assert kibo.ok("current", second["accessToken"], "claims", "id") == {"id": account_id}

    replay = kibo.error("refresh", registered["refreshToken"])
    assert_api_error(replay, 401, "INVALID_REFRESH_TOKEN")
    # the whole session ended, its newest refresh token and opaque access token included
    assert_api_error(kibo.error("refresh", second["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")
    assert_api_error(kibo.error("current", second["accessToken"], "claims"), 401, "INVALID_ACCESS_TOKEN")
    assert kibo.ok("login", email, PASSWORD)["customerAccount"]["id"] == account_id

    entries = audit_events(kibo.as_(creds=ADMIN), account_id)
    [replayed] = [e for e in entries if e["eventType"] == "refresh.replayed"]
    assert replayed["application"] == STOREFRONT[0] and replayed["site"] == str(SITE_SAME_SET)
    assert registered["refreshToken"] not in json.dumps(entries)
    # the storefront application with no shopper, and another shopper, may not read the trail
    refused = kibo.call(ACCOUNTS, "getAccountAuditLog", {"accountId": account_id})
    assert_api_error(refused["error"], 403, "FORBIDDEN")
    stranger = kibo.ok("register", "sid.stranger@example.com", PASSWORD)
    refused = kibo.call(ACCOUNTS, "getAccountAuditLog", {"accountId": account_id}, stranger["jwtAccessToken"])
    assert_api_error(refused["error"], 403, "FORBIDDEN")
