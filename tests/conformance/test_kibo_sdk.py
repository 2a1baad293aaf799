"""Kibo's own npm SDKs against a live `ticketbooth serve`.

Every request here is made by @kibocommerce/rest-sdk or @kibocommerce/sdk-authentication, driven
through kibo_client.mjs (one scenario per `node` run, one JSON line back); the tests check what the
SDKs returned, and fetch only the published JWKS themselves, to verify ticket JWTs as another service
would. Each test runs on SQLite and, when TICKETBOOTH_TEST_POSTGRES_URL is set, on PostgreSQL (the
`database_url` fixture). Scenarios are grouped so that few servers are started: each CLI seeding and
server start costs seconds.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import re
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conformance.conftest import HEX32, Kibo, assert_api_error, parse_date
from tests.conftest import (
    ADMIN,
    OTHER,
    PASSWORD,
    SITE,
    SITE_OTHER_SET,
    SITE_SAME_SET,
    STOREFRONT,
    TENANT,
    LiveServer,
    seed_cli,
    start_server,
    stop_server,
)

pytestmark = pytest.mark.conformance

LOGIN_FIELDS = "accessToken,customerAccount(id,emailAddress)"


def minutes_from_now(value: str) -> float:
    return (parse_date(value) - dt.datetime.now(dt.UTC)).total_seconds() / 60


def verified_claims(base_url: str, token: str, cafile: Path | None = None) -> dict[str, Any]:
    """The claims of a ticket JWT, checked as another service would: with the key its `kid` names in the
    JWKS that the server's discovery document points to, and the issuer that document names."""
    verify = ssl.create_default_context(cafile=str(cafile)) if cafile else True
    with httpx.Client(verify=verify, timeout=10) as http:
        discovery = http.get(f"{base_url}/.well-known/openid-configuration").json()
        assert discovery["issuer"] == base_url
        jwks = jwt.PyJWKSet.from_dict(http.get(discovery["jwks_uri"]).json())
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks.keys if k.key_id == kid)
    claims: dict[str, Any] = jwt.decode(token, key.key, algorithms=["ES256"], audience="ticketbooth", issuer=base_url)
    return claims


# -- one server, every storefront flow --------------------------------------------------------------
# One test, so that one server (and one seeding) serves them all. The parts touch different shoppers
# and run side by side; a failing part fails the test with its own traceback.

def test_storefront_flows_through_the_sdks(live_server: LiveServer) -> None:
    kibo = Kibo(live_server.base_url)
    with ThreadPoolExecutor(max_workers=4) as pool:
        parts = [pool.submit(app_tokens_and_anonymous_ticket, kibo), pool.submit(shopper_lifecycle, kibo),
                 pool.submit(create_login, kibo), pool.submit(refusals, kibo)]
    for part in parts:
        part.result()


def app_tokens_and_anonymous_ticket(kibo: Kibo) -> None:
    token = kibo.ok("app-token")  # APIAuthClient.authenticate(): OAuth client credentials
    assert token["access_token"] and token["token_type"] == "Bearer"
    assert 3500 <= token["expires_in"] <= 3600
    assert HEX32.match(token["refresh_token"])
    assert abs(token["expires_at"] / 1000 - time.time() - token["expires_in"]) < 60  # the SDK's own bookkeeping

    pair = kibo.ok("app-token-refresh")
    first, refreshed = pair["first"], pair["refreshed"]
    assert refreshed["access_token"] and refreshed["access_token"] != first["access_token"]
    assert refreshed["refresh_token"] != first["refresh_token"]
    assert 3500 <= refreshed["expires_in"] <= 3600

    ticket = kibo.ok("anonymous")
    assert set(ticket) == {"accessToken", "accessTokenExpiration", "refreshToken", "refreshTokenExpiration",
                           "jwtAccessToken", "userId", "customerAccount", "requires2FA"}
    assert re.fullmatch(r"[0-9a-f]{32,}", ticket["accessToken"])
    # no userId, as Kibo's own anonymous tickets: a storefront takes any userId for a signed-in shopper
    assert HEX32.match(ticket["refreshToken"]) and ticket["userId"] is None
    assert ticket["customerAccount"] is None and ticket["requires2FA"] is False
    assert 14 <= minutes_from_now(ticket["accessTokenExpiration"]) <= 15
    assert minutes_from_now(ticket["refreshTokenExpiration"]) > 24 * 60
    claims = verified_claims(kibo.base_url, ticket["jwtAccessToken"])
    assert HEX32.match(claims["sub"])  # the anonymous identity
    assert (claims["tenant"], claims["site"], claims["anon"], claims["account_id"]) == (TENANT, SITE, True, None)
    assert claims["client_id"] == STOREFRONT[0]

    # an anonymous shopper's ticket works for other calls of the same customer set, but there is no account
    missing = kibo.error("current", ticket["jwtAccessToken"], "bearer")
    assert_api_error(missing, 404, "ITEM_NOT_FOUND")

    trimmed = kibo.ok("anonymous", "userId,refreshToken")
    assert set(trimmed) == {"userId", "refreshToken"} and trimmed["refreshToken"] != ticket["refreshToken"]


def shopper_lifecycle(kibo: Kibo) -> None:
    """Register (Add-Account-And-Login), log in, refresh, the current account, responseFields, a wrong password."""
    email = "ann.shopper@example.com"

    registered = kibo.ok("register", email, PASSWORD, json.dumps({"account": {"firstName": "Ann", "lastName": "Lee"}}))
    account = registered["customerAccount"]
    assert HEX32.match(registered["userId"]) and HEX32.match(registered["refreshToken"])
    assert isinstance(account["id"], int) and account["id"] > 0
    assert (account["emailAddress"], account["userName"], account["firstName"], account["lastName"]) == (
        email, email, "Ann", "Lee")
    assert (account["userId"], account["isAnonymous"], account["isActive"], account["customerSet"]) == (
        registered["userId"], False, True, "default")
    assert parse_date(account["auditInfo"]["createDate"])

    # log in with another capitalisation of the email
    login = kibo.ok("login", email.upper(), PASSWORD)
    assert login["userId"] == registered["userId"]
    assert login["customerAccount"]["id"] == account["id"]
    assert login["customerAccount"]["emailAddress"] == email
    assert login["refreshToken"] != registered["refreshToken"]
    assert 14 <= minutes_from_now(login["accessTokenExpiration"]) <= 15
    assert 23.9 * 60 <= minutes_from_now(login["refreshTokenExpiration"]) <= 24 * 60
    claims = verified_claims(kibo.base_url, login["jwtAccessToken"])
    assert (claims["sub"], claims["account_id"], claims["anon"], claims["tenant"]) == (
        registered["userId"], account["id"], False, TENANT)

    refreshed = kibo.ok("refresh", login["refreshToken"], str(account["id"]))
    assert HEX32.match(refreshed["refreshToken"]) and refreshed["refreshToken"] != login["refreshToken"]
    assert refreshed["accessToken"] != login["accessToken"]
    assert refreshed["userId"] == registered["userId"]
    assert refreshed["customerAccount"]["emailAddress"] == email
    # Kibo: the refresh token's lifetime runs from the login and is not extended by a refresh
    assert refreshed["refreshTokenExpiration"] == login["refreshTokenExpiration"]
    # a retry within the grace window (a lost response, a second tab) gets the very same successor
    again = kibo.ok("refresh", login["refreshToken"])
    assert (again["refreshToken"], again["accessToken"]) == (refreshed["refreshToken"], refreshed["accessToken"])

    # the current shopper, with each way the SDK can carry the shopper's credential
    fields = "id,emailAddress,userId,firstName"
    expected = {"id": account["id"], "emailAddress": email, "userId": registered["userId"], "firstName": "Ann"}
    assert kibo.ok("current", refreshed["jwtAccessToken"], "bearer", fields) == expected
    assert kibo.ok("current", refreshed["accessToken"], "claims", fields) == expected
    assert kibo.ok("current", refreshed["accessToken"], "bearer+claims", fields) == expected
    whole = kibo.ok("current", refreshed["jwtAccessToken"])
    assert whole == {**account, "auditInfo": whole["auditInfo"]}  # same account as at registration
    # a site of the same customer set knows the shopper too
    assert kibo.as_(site=SITE_SAME_SET).ok("current", refreshed["accessToken"], "claims", fields) == expected

    # responseFields on login: only the fields asked for come back
    trimmed = kibo.ok("login-response-fields", email, PASSWORD, LOGIN_FIELDS)
    assert set(trimmed) == {"accessToken", "customerAccount"}
    assert trimmed["customerAccount"] == {"id": account["id"], "emailAddress": email}
    assert re.fullmatch(r"[0-9a-f]{32,}", trimmed["accessToken"])

    # a wrong password, as the SDK reports it
    wrong = kibo.error("login", email, PASSWORD + "!")
    assert_api_error(wrong, 401, "INVALID_CREDENTIALS")
    assert wrong["message"].startswith("Invalid Credentials: ")
    assert wrong["statusText"] == "Unauthorized"
    assert wrong["apiError"]["applicationName"] == "Customer"
    assert wrong["additionalErrorData"] == [] and wrong["apiError"]["items"] == []
    assert wrong["apiError"]["exceptionDetail"] is None
    # an unknown user gets the very same answer
    unknown = kibo.error("login", "nobody@example.com", PASSWORD)
    assert (unknown["status"], unknown["errorCode"], unknown["message"]) == (401, "INVALID_CREDENTIALS", wrong["message"])

    # registering the same email again
    assert_api_error(kibo.error("register", email, PASSWORD), 409, "VALIDATION_CONFLICT")

    # an application with configure-token-durations may ask for shorter lifetimes
    short = kibo.as_(creds=ADMIN).ok("login", email, PASSWORD, json.dumps(
        {"authTicketTtlMinutes": 5, "refreshTokenTtlMinutes": 60}))
    assert 4 <= minutes_from_now(short["accessTokenExpiration"]) <= 5
    assert 59 <= minutes_from_now(short["refreshTokenExpiration"]) <= 60


def create_login(kibo: Kibo) -> None:
    """Create-Login on an account that an admin made without a login (addAccount with no email or password)."""
    made = kibo.as_(creds=ADMIN).call("CustomerAccountApi", "addAccount",
                                      {"customerAccount": {"firstName": "Walk", "lastName": "In"}})
    assert made["ok"], made["error"]
    account_id = made["result"]["id"]
    assert (made["result"]["emailAddress"], made["result"]["userName"]) == (None, None)
    walk_in = "walk.in@example.com"
    new_password = "another perfectly fine passphrase"
    forbidden = kibo.error("create-login", str(account_id), walk_in, new_password)  # storefront lacks customer:admin
    assert_api_error(forbidden, 403, "FORBIDDEN")
    admin = kibo.as_(creds=ADMIN)
    created = admin.ok("create-login", str(account_id), walk_in, new_password)
    assert created["customerAccount"]["id"] == account_id
    assert (created["customerAccount"]["emailAddress"], created["customerAccount"]["userName"]) == (walk_in, walk_in)
    assert (created["customerAccount"]["firstName"], created["customerAccount"]["lastName"]) == ("Walk", "In")
    assert HEX32.match(created["refreshToken"]) and HEX32.match(created["userId"])
    assert verified_claims(kibo.base_url, created["jwtAccessToken"])["account_id"] == account_id
    logged_in = kibo.ok("login", walk_in, new_password)
    assert (logged_in["customerAccount"]["id"], logged_in["userId"]) == (account_id, created["userId"])
    assert_api_error(admin.error("create-login", str(account_id), walk_in, new_password), 409, "VALIDATION_CONFLICT")
    assert_api_error(admin.error("create-login", "999999", "x@example.com", new_password), 404, "ITEM_NOT_FOUND")


def refusals(kibo: Kibo) -> None:
    """What the SDKs see when they are refused: bad app secret, bad or replayed refresh tokens, wrong tenant or site."""
    # a wrong application secret: sdk-authentication throws a plain Error with the server's message
    bad_app = kibo.as_(creds=(STOREFRONT[0], "not-the-secret-at-all")).error("app-token")
    assert bad_app["kind"] == "Error" and bad_app["status"] is None
    assert bad_app["message"].startswith("Unauthorized: ")

    # a refresh token that was never issued
    assert_api_error(kibo.error("refresh", "0123456789abcdef0123456789abcdef"), 401, "INVALID_REFRESH_TOKEN")
    assert_api_error(kibo.error("refresh", "garbage"), 401, "INVALID_REFRESH_TOKEN")

    registered = kibo.ok("register", "bob.shopper@example.com", PASSWORD)
    account_id = registered["customerAccount"]["id"]
    # the right token with another account id
    assert_api_error(kibo.error("refresh", registered["refreshToken"], str(account_id + 1)), 401,
                     "INVALID_REFRESH_TOKEN")

    # a replay after the successor was used revokes the whole family, the newest token included
    first = kibo.ok("refresh", registered["refreshToken"])
    second = kibo.ok("refresh", first["refreshToken"])
    assert kibo.ok("current", second["accessToken"], "claims", "id") == {"id": account_id}
    replay = kibo.error("refresh", registered["refreshToken"])
    assert_api_error(replay, 401, "INVALID_REFRESH_TOKEN")
    assert_api_error(kibo.error("refresh", second["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")
    # and the family's opaque access token stops working at once
    assert_api_error(kibo.error("current", second["accessToken"], "claims"), 401, "INVALID_ACCESS_TOKEN")
    # a new login is not affected
    assert kibo.ok("login", "bob.shopper@example.com", PASSWORD)["customerAccount"]["id"] == account_id

    # another tenant's application asking for tenant 100
    other = kibo.as_(creds=OTHER)
    assert other.ok("app-token")["access_token"]
    assert_api_error(other.error("anonymous"), 401, "UNAUTHORIZED")
    assert_api_error(other.error("login", "bob.shopper@example.com", PASSWORD), 401, "UNAUTHORIZED")

    # a ticket of site 200 used on site 202, which has its own customer set
    ticket = kibo.ok("login", "bob.shopper@example.com", PASSWORD)
    outlet = kibo.as_(site=SITE_OTHER_SET)
    for token, auth in ((ticket["jwtAccessToken"], "bearer"), (ticket["accessToken"], "claims"),
                        (ticket["accessToken"], "bearer+claims")):
        assert_api_error(outlet.error("current", token, auth), 401, "INVALID_ACCESS_TOKEN")
    # nor do the shopper's credentials or refresh token work there
    assert_api_error(outlet.error("refresh", ticket["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")
    assert_api_error(outlet.error("login", "bob.shopper@example.com", PASSWORD), 401, "INVALID_CREDENTIALS")
    # a shopper token that is not one
    assert_api_error(kibo.error("current", "not-a-token", "claims"), 401, "INVALID_ACCESS_TOKEN")


# -- discovery over HTTPS: the rest-sdk's stock configuration ----------------------------------------

def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for the IP address 127.0.0.1 (an IP SAN), its own issuer."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Ticketbooth conformance test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return certfile, keyfile


def test_discovery_mode_over_tls(database_url: str, tmp_path: Path) -> None:
    seed_cli({**os.environ, "TICKETBOOTH_DATABASE_URL": database_url}, tmp_path)
    certfile, keyfile = self_signed_certificate(tmp_path)
    server = start_server(database_url, tmp_path, scheme="https", extra_env={
        "TICKETBOOTH_TLS_CERTFILE": str(certfile), "TICKETBOOTH_TLS_KEYFILE": str(keyfile)})
    try:
        host = server.base_url.removeprefix("https://")
        assert server.env["TICKETBOOTH_PUBLIC_HOST"] == host
        kibo = Kibo(server.base_url, TB_MODE="discovery", NODE_EXTRA_CA_CERTS=str(certfile))

        out = kibo.as_(TB_TRACE="1").run("anonymous")
        assert out["ok"] is True and out["mode"] == "discovery", out.get("error")
        ticket = out["result"]
        assert HEX32.match(ticket["refreshToken"]) and ticket["userId"] is None
        assert ticket["customerAccount"] is None
        # what the stock SDK did: an app token from the auth host, tenant discovery, then the
        # tenant's domain (ours) over https with the tenant and site headers
        calls = [(c["method"], c["url"], c.get("status")) for c in out["trace"]]
        assert calls == [
            ("POST", f"https://{host}/api/platform/applications/authtickets/oauth", 200),
            ("GET", f"https://{host}/api/platform/tenants/{TENANT}", 200),
            ("GET", f"https://{host}/api/commerce/customer/authtickets/anonymousshopper", 200),
        ]
        discovered = json.loads(out["trace"][1]["responseBody"])
        assert discovered["domain"] == host and SITE in [s["id"] for s in discovered["sites"]]
        headers = {k.lower(): v for k, v in out["trace"][2]["headers"].items()}
        assert (headers["x-vol-tenant"], headers["x-vol-site"]) == (str(TENANT), str(SITE))
        claims = verified_claims(server.base_url, ticket["jwtAccessToken"], certfile)
        assert (claims["anon"], claims["tenant"], claims["site"]) == (True, TENANT, SITE) and HEX32.match(claims["sub"])

        email = "cleo.shopper@example.com"
        registered = kibo.ok("register", email, PASSWORD)
        login = kibo.ok("login", email, PASSWORD)
        assert login["userId"] == registered["userId"]
        assert login["customerAccount"]["emailAddress"] == email
        assert kibo.ok("current", login["jwtAccessToken"], "bearer", "emailAddress") == {"emailAddress": email}
        assert_api_error(kibo.error("login", email, "wrong " + PASSWORD), 401, "INVALID_CREDENTIALS")
    finally:
        stop_server(server)
