"""The stack of the federation end-to-end tests, one per database for the whole module: a real OpenID
provider (provider.mjs: the npm oidc-provider) and a seeded `ticketbooth serve` that reaches it over plain
HTTP on 127.0.0.1 (allowed by the operator settings below), with six identity providers registered through
the admin REST API, all six clients of the same provider process:

- `trusted`: the tenant trusts its verified emails (`trustEmail`), new accounts allowed;
- `untrusted`: it does not (a verified email of an existing account needs the shopper to sign in and link);
- `closed`: trusted, but `createAccounts` is off (an unknown email gets an error, no account);
- `posting`: as `trusted`, but the provider posts the browser back (`responseMode: form_post`, as Apple does);
- `hmac`: as `trusted`, but its client's ID tokens are signed HS256 with the client secret (to be refused);
- `switched`: as `trusted`, for the test that disables a provider in the middle of a sign-in.

Site 200 allows the return URL `RETURN_URL` only; site 201 (same customer set) `KIBO_RETURN_URL` only, with
the code in `secretId`; site 202 (customer set "outlet") `RETURN_URL`, and asks a second factor at every
sign-in (`two_factor: always`). Tenant 100 has a second storefront application
(`ANOTHER`) for the exchange-by-another-application case."""

from __future__ import annotations

import email
import email.policy
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

import httpx
import pytest

from tests.conftest import (
    _CLI_BATCH,
    ADMIN,
    BACKENDS,
    SITE,
    SITE_OTHER_SET,
    SITE_SAME_SET,
    TENANT,
    LiveServer,
    _empty_postgres,
    free_port,
    seed_cli,
    start_server,
    stop_server,
)
from tests.federation_e2e.support import CALLBACK, IDENTITY_PROVIDERS, KIBO_RETURN_URL, RETURN_URL, Client, OidcProvider

ANOTHER = ("another.app", "another-secret-0123456789abcdef")
SIX_DIGITS = re.compile(r"\b\d{6}\b")
MAX_FAILED_LOGINS = 3
"""Tenant 100's lockout: this many failed passwords lock an account (the lock a federated sign-in goes past)."""
"""A second storefront application of tenant 100."""
OIDC_ENV = {
    # The operator's outbound rules for the OpenID provider (federation's settings in config.py): plain HTTP to
    # 127.0.0.1, which is a loopback address, so allowed explicitly.
    "TICKETBOOTH_OIDC_HTTP_HOSTS": "127.0.0.1",
    "TICKETBOOTH_OIDC_ALLOWED_NETWORKS": "127.0.0.1/32",
}


@dataclass(frozen=True)
class Registered:
    """An identity provider as Ticketbooth knows it."""

    alias: str
    id: int
    client: Client


@dataclass
class Stack:
    server: LiveServer
    provider: OidcProvider
    database_url: str
    providers: dict[str, Registered]
    workdir: Path

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def log(self, since: int = 0) -> str:
        """What the server wrote to its log (from character `since` on: see `log_mark`)."""
        port = self.server.base_url.rsplit(":", 1)[1]
        return (self.workdir / f"server-{port}.log").read_text(errors="replace")[since:]

    def log_mark(self) -> int:
        return len(self.log())

    def mailed_code(self, to: str, code: re.Pattern[str] = SIX_DIGITS, seconds: float = 30.0) -> str:
        """The code (the one match of `code`: by default a 6-digit code) of the one message to `to` the server
        wrote (no SMTP server: .eml files in var/mail), waiting for its mail sender."""
        deadline = time.monotonic() + seconds
        while True:
            found = [m for m in (email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                                 for p in sorted((self.workdir / "var" / "mail").glob("*.eml"))) if m["To"] == to]
            if found or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert len(found) == 1, f"{len(found)} messages to {to}"
        body = found[0].get_body(preferencelist=("plain",))
        assert body is not None
        codes: set[str] = set(code.findall(str(body.get_content())))
        assert len(codes) == 1, body.get_content()
        return codes.pop()


PROVIDERS: dict[str, dict[str, Any]] = {
    "trusted": {"trustEmail": True, "createAccounts": True},
    "untrusted": {"trustEmail": False, "createAccounts": True},
    "closed": {"trustEmail": True, "createAccounts": False},
    "posting": {"trustEmail": True, "createAccounts": True, "responseMode": "form_post"},
    "hmac": {"trustEmail": True, "createAccounts": True},
    "switched": {"trustEmail": True, "createAccounts": True},
}
HMAC_SIGNED = {"hmac"}
"""The providers whose ID tokens the provider signs with HS256 (keyed with the client secret), not its RSA key."""


def _prepare(database_url: str, workdir: Path) -> None:
    env = {**os.environ, "TICKETBOOTH_DATABASE_URL": database_url}
    seed_cli(env, workdir)
    commands = [
        ["app", "create", "--tenant-id", str(TENANT), "--client-id", ANOTHER[0], "--client-secret", ANOTHER[1]],
        ["tenant", "settings", str(TENANT), "--set", f"lockout.max_failed_logins={MAX_FAILED_LOGINS}"],
        ["site", "settings", str(SITE), "--set", f"federation.return_urls={json.dumps([RETURN_URL])}"],
        ["site", "settings", str(SITE_SAME_SET), "--set", f"federation.return_urls={json.dumps([KIBO_RETURN_URL])}",
         "--set", "federation.code_parameter=secretId"],
        ["site", "settings", str(SITE_OTHER_SET), "--set", f"federation.return_urls={json.dumps([RETURN_URL])}",
         "--set", 'two_factor=["always"]'],
    ]
    done = subprocess.run([sys.executable, "-c", _CLI_BATCH, json.dumps(commands)], env=env, cwd=workdir,
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()


def _register(base_url: str, issuer: str, clients: dict[str, Client]) -> dict[str, Registered]:
    with httpx.Client(base_url=base_url, timeout=60) as http:
        r = http.post("/api/platform/applications/authtickets/oauth", json={
            "client_id": ADMIN[0], "client_secret": ADMIN[1], "grant_type": "client_credentials"})
        assert r.status_code == 200, r.text
        headers = {"Authorization": f"Bearer {r.json()['access_token']}", "x-vol-tenant": str(TENANT),
                   "x-vol-site": str(SITE)}
        registered = {}
        for alias, flags in PROVIDERS.items():
            client = clients[alias]
            r = http.post(IDENTITY_PROVIDERS, headers=headers, json={
                "alias": alias, "displayName": f"Test provider ({alias})", "issuer": issuer,
                "clientId": client.client_id, "clientSecret": client.client_secret, "isEnabled": True, **flags})
            assert r.status_code in (200, 201), r.text
            body = r.json()
            assert "clientSecret" not in body or not body["clientSecret"], "the client secret is write only"
            registered[alias] = Registered(alias, int(body["id"]), client)
        return registered


@pytest.fixture(scope="module", params=BACKENDS)
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The provider and a seeded server on the backend of `request.param`, for the module (each test uses
    identities and shoppers of its own)."""
    workdir = tmp_path_factory.mktemp(f"federation-{request.param}")
    if request.param == "sqlite":
        database_url = f"sqlite:///{workdir / 'ticketbooth.db'}"
    else:
        database_url = request.getfixturevalue("postgres_database")
        _empty_postgres(database_url)
    port = free_port()
    callback = f"http://127.0.0.1:{port}{CALLBACK}"
    clients = {alias: Client(f"ticketbooth-{alias}", f"{alias}-client-secret-0123456789abcdef", callback,
                             "HS256" if alias in HMAC_SIGNED else "RS256")
               for alias in PROVIDERS}
    provider = OidcProvider(list(clients.values()), workdir=workdir)
    try:
        _prepare(database_url, workdir)
        server = start_server(database_url, workdir, port=port, extra_env=OIDC_ENV)
        try:
            registered = _register(server.base_url, provider.issuer, clients)
            yield Stack(server, provider, database_url, registered, workdir)
        finally:
            stop_server(server)
    finally:
        provider.stop()
