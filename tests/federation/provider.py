"""A small OpenID Connect provider for the federation API tests, served over real HTTP on 127.0.0.1 from a
thread: discovery, its keys (JWKS, rotatable) and a token endpoint that redeems authorization codes the test
issued (`issue_code`) with PKCE S256 and the client's secret, answering a signed ID token. The browser's visit to
the authorization endpoint is what the test plays itself: it reads state, nonce and code challenge from the
authorization URL Ticketbooth answered, then calls the callback as the provider's redirect would.

The full certified provider (npm oidc-provider, with its login pages) is tests/federation_e2e/."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

CLIENT_ID = "ticketbooth-client"
CLIENT_SECRET = "provider-client-secret-7d1f0c"


@dataclass
class Grant:
    claims: dict[str, Any]
    challenge: str
    redirect_uri: str


@dataclass
class TinyProvider:
    now: Callable[[], datetime]
    keys: list[ECKey] = field(default_factory=list)
    grants: dict[str, Grant] = field(default_factory=dict)
    token_requests: int = 0
    jwks_requests: int = 0
    forge: ECKey | None = None
    """Set to sign ID tokens with a key the provider does not publish."""
    discovery_issuer: str | None = None
    """Set to make discovery name another issuer."""
    server: ThreadingHTTPServer | None = None

    @property
    def issuer(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def rotate(self) -> ECKey:
        key = ECKey.generate_key("P-256", parameters={"kid": secrets.token_hex(4), "use": "sig", "alg": "ES256"})
        self.keys = [key]
        return key

    def sign(self, claims: dict[str, Any], key: ECKey | None = None) -> str:
        signer = key if key is not None else self.forge if self.forge is not None else self.keys[0]
        return jwt.encode({"alg": "ES256", "kid": signer.kid or ""}, claims, signer)

    def id_claims(self, sub: str, nonce: str, **extra: Any) -> dict[str, Any]:
        at = int(self.now().timestamp())
        return {"iss": self.issuer, "sub": sub, "aud": CLIENT_ID, "iat": at, "exp": at + 300, "nonce": nonce,
                **extra}

    def issue_code(self, authorization_url: str, sub: str, *, nonce: str | None = None, **extra: Any) -> str:
        """The code the provider would send back after the shopper signed in as `sub`; `extra` claims (email,
        email_verified, amr, or overrides such as exp) go into its ID token."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorization_url).query).items()}
        claims = self.id_claims(sub, nonce if nonce is not None else query["nonce"], **extra)
        code = secrets.token_urlsafe(16)
        self.grants[code] = Grant(claims, query["code_challenge"], query["redirect_uri"])
        return code

    # -- HTTP ------------------------------------------------------------------------------------------

    def start(self) -> TinyProvider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _json(self, status: int, value: Any) -> None:
                body = json.dumps(value).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    self._json(200, {
                        "issuer": provider.discovery_issuer or provider.issuer,
                        "authorization_endpoint": provider.issuer + "/authorize",
                        "token_endpoint": provider.issuer + "/token", "jwks_uri": provider.issuer + "/jwks",
                        "response_types_supported": ["code"], "code_challenge_methods_supported": ["S256"],
                        "token_endpoint_auth_methods_supported": ["client_secret_basic"]})
                elif self.path == "/jwks":
                    provider.jwks_requests += 1
                    self._json(200, KeySet(list(provider.keys)).as_dict(private=False))
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                provider.token_requests += 1
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                auth = self.headers.get("Authorization", "")
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":") if auth[:6] == "Basic " else ("", "", "")
                if (unquote(user), unquote(password)) != (CLIENT_ID, CLIENT_SECRET):
                    self._json(401, {"error": "invalid_client"})
                    return
                grant = provider.grants.pop(form.get("code", ""), None)
                verifier = form.get("code_verifier", "")
                challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if (grant is None or form.get("grant_type") != "authorization_code" or challenge != grant.challenge
                        or form.get("redirect_uri") != grant.redirect_uri):
                    self._json(400, {"error": "invalid_grant"})
                    return
                self._json(200, {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer",
                                 "id_token": provider.sign(grant.claims)})

        self.rotate()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
