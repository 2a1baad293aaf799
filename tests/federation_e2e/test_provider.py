"""The test provider itself (provider.mjs), driven as a relying party would, without Ticketbooth: the other
tests' cases mean something only if it really requires PKCE, signs what it says, and issues an expired ID
token when asked to. No database: it runs once."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tests.federation_e2e.support import Browser, Client, Identity, OidcProvider, query_of

RP = "http://127.0.0.1:9"
"""The relying party's base: nothing listens there; the browser stops before going to it."""
CLIENT = Client("relying-party", "relying-party-secret-0123456789abcdef", f"{RP}/callback")
HMAC_CLIENT = Client("hmac-party", "hmac-party-secret-0123456789abcdef0123", f"{RP}/callback", "HS256")


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    p = OidcProvider([CLIENT, HMAC_CLIENT], id_token_ttl=120, workdir=tmp_path_factory.mktemp("provider"))
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    b = Browser(RP, "198.51.100.7")
    try:
        yield b
    finally:
        await b.close()




def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


async def configuration(issuer: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        r = await http.get(f"{issuer}/.well-known/openid-configuration")
        assert r.status_code == 200
        answer: dict[str, Any] = r.json()
        return answer


def authorization_url(config: dict[str, Any], nonce: str, challenge: str | None, client: Client = CLIENT) -> str:
    params = {"client_id": client.client_id, "redirect_uri": client.redirect_uri, "response_type": "code",
              "scope": "openid email profile", "state": "s-" + secrets.token_urlsafe(8), "nonce": nonce}
    if challenge is not None:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return str(httpx.URL(config["authorization_endpoint"], params=params))


async def id_token(provider: OidcProvider, identity: Identity, client: Client = CLIENT) -> tuple[dict[str, Any], str]:
    """A whole code flow as the relying party, in a browser of its own (no session at the provider): the ID
    token's verified claims (expiry not checked) and the nonce sent."""
    config = await configuration(provider.issuer)
    verifier, challenge = pkce()
    nonce = secrets.token_urlsafe(16)
    browser = Browser(RP, "198.51.100.8")
    try:
        sign_in = await browser.sign_in(authorization_url(config, nonce, challenge, client), identity)
    finally:
        await browser.close()
    assert query_of(sign_in.callback_url)["iss"] == provider.issuer
    async with httpx.AsyncClient() as http:
        r = await http.post(config["token_endpoint"], auth=(client.client_id, client.client_secret), data={
            "grant_type": "authorization_code", "code": sign_in.provider_code, "redirect_uri": client.redirect_uri,
            "code_verifier": verifier})
        assert r.status_code == 200, r.text
        token = r.json()["id_token"]
        keys = jwt.PyJWKSet.from_dict((await http.get(config["jwks_uri"])).json())
    header = jwt.get_unverified_header(token)
    assert header["alg"] == client.id_token_alg
    key = client.client_secret if client.id_token_alg == "HS256" else keys[header["kid"]].key
    claims: dict[str, Any] = jwt.decode(token, key, algorithms=[client.id_token_alg], audience=client.client_id,
                                        issuer=provider.issuer, options={"verify_exp": False})
    return claims, nonce


async def test_a_code_flow_gives_a_signed_id_token_with_the_identity_the_test_chose(provider: OidcProvider) -> None:
    identity = Identity(sub="subject-1", email="Someone@Example.com", email_verified=False, amr=("pwd", "mfa"))
    claims, nonce = await id_token(provider, identity)
    assert claims["sub"] == "subject-1"
    assert (claims["email"], claims["email_verified"]) == ("Someone@Example.com", False)
    assert claims["nonce"] == nonce
    assert claims["amr"] == ["pwd", "mfa"]
    assert claims["iat"] <= time.time() + 5 < claims["exp"] <= time.time() + 130


async def test_an_identity_asked_to_be_expired_gets_an_id_token_expired_by_that_much(provider: OidcProvider) -> None:
    claims, _ = await id_token(provider, Identity(sub="subject-2", email="late@example.com",
                                                           expired_by=3600))
    assert claims["exp"] <= time.time() - 3600 + 5
    assert claims["exp"] - claims["iat"] == 120
    # The shift was that request's only: the next identity's token is fresh.
    claims, _ = await id_token(provider, Identity(sub="subject-3", email="fresh@example.com"))
    assert claims["sub"] == "subject-3" and claims["exp"] > time.time()


async def test_a_client_may_have_its_id_tokens_signed_with_its_secret(provider: OidcProvider) -> None:
    """What the `hmac` provider of the sign-in tests gets: an HS256 ID token keyed with the client secret."""
    claims, _ = await id_token(provider, Identity(sub="subject-4", email="hmac@example.com"), HMAC_CLIENT)
    assert claims["sub"] == "subject-4"


async def test_pkce_is_required(provider: OidcProvider, browser: Browser) -> None:
    config = await configuration(provider.issuer)
    r = await browser.client.get(authorization_url(config, "n", None))
    assert r.status_code == 303
    answer = query_of(r.headers["location"])
    assert r.headers["location"].startswith(CLIENT.redirect_uri)
    assert answer["error"] == "invalid_request" and "PKCE" in answer["error_description"]


def test_the_provider_exits_when_its_parent_closes_its_stdin(tmp_path: Path) -> None:
    p = OidcProvider([CLIENT], workdir=tmp_path)
    assert p.process.stdin is not None
    p.process.stdin.close()
    assert p.process.wait(timeout=30) == 0
    p.stop()
