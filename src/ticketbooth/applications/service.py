"""Application (client) authentication: client-credentials tokens, the legacy ticket calls, and
checking an application token on each request."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ticketbooth.core import Core
from ticketbooth.domain.errors import Unauthorized
from ticketbooth.domain.models import Application, AppToken
from ticketbooth.infra import app_secrets
from ticketbooth.infra.signing import header_type
from ticketbooth.infra.tokens import at_rest, new_hex
from ticketbooth.login import limits

TOKEN_USE_APP = "app"
TOKEN_USE_SHOPPER = "shopper"
APP_TOKEN_TYPE = "at+jwt"
"""The `typ` header of an application's access token (RFC 9068)."""
TICKET_TOKEN_TYPE = "ticket+jwt"
"""The `typ` header of a shopper's ticket JWT: a distinct type, so no verifier takes it for an app token."""
_TYPES = {TOKEN_USE_APP: APP_TOKEN_TYPE, TOKEN_USE_SHOPPER: TICKET_TOKEN_TYPE}
_UNTYPED = "jwt"
"""The `typ` of tokens signed before the types above; known by their `token_use` claim until they expire."""


def token_use(token: str, claims: dict[str, Any]) -> str | None:
    """What a verified token is: TOKEN_USE_APP, TOKEN_USE_SHOPPER, or None for neither (refuse it).
    Its `typ` header and its `token_use` claim must agree. Every verifying site asks here and then
    requires the kind it expects, so an app token is never taken as a ticket nor a ticket as an app
    token."""
    use = claims.get("token_use")
    if not isinstance(use, str) or use not in _TYPES:
        return None
    typ = header_type(token)
    return use if typ in (_TYPES[use], _UNTYPED) else None


def _refused() -> Unauthorized:
    return Unauthorized("Unauthorized: invalid application credentials")


async def authenticate(core: Core, client_id: str | None, secret: str | None, client_address: str = "",
                       refresh_token: str | None = None) -> AppToken:
    """Tokens for an application that proves its secret, within the app-auth rate limits (per client
    address, and per client id counting failures). Unknown client ids are limited, checked and
    answered exactly like known ones. A live refresh token of the same application, sent along (as
    Kibo's auth SDK does when it renews), gets the request past a client id whose failures are used
    up: it is not used up here, and the secret is checked all the same."""
    if not client_id or not secret:
        raise Unauthorized("Unauthorized: client_id and client_secret are required")

    async def vouched() -> bool:
        held = refresh_token.strip().lower() if refresh_token else ""
        return bool(held) and await core.store.app_refresh_token_client(at_rest(held), core.clock.now()) == client_id

    await limits.check_app_auth(core, client_address, client_id, vouched)
    app = await core.store.get_application(client_id)
    ok = await secret_matches(core, app, secret)  # also without an application: the same work
    if app is None or not ok or not app.enabled:
        await limits.spend_app_auth_failure(core, client_id)
        raise _refused()
    if not app_secrets.is_keyed(app.secret_hash):  # an Argon2 hash of an earlier version: no more pool for it
        await core.store.replace_application_secret_hash(
            app.client_id, app.secret_hash, app_secrets.hash_secret(_secret_key(core), secret))
    return await _issue(core, app)


def hash_secret(core: Core, secret: str) -> str:
    """What to store for a new application secret (see infra/app_secrets.py)."""
    return app_secrets.hash_secret(_secret_key(core), secret)


async def secret_matches(core: Core, app: Application | None, secret: str) -> bool:
    """Whether `secret` is `app`'s. A keyed hash is checked here, on the event loop (one HMAC): never
    in the hashing pool that shopper logins wait for. An Argon2 hash stored by an earlier version is
    verified in that pool, as before. No application: a dummy keyed hash is checked, the same work
    as for a known one, and the answer is False."""
    if app is None or app_secrets.is_keyed(app.secret_hash):
        return app_secrets.verify(_secret_key(core), app.secret_hash if app else None, secret)
    return await core.hashing.verify(app.secret_hash, secret)


def _secret_key(core: Core) -> bytes:
    if not core.app_secret_key:
        raise RuntimeError("no key for application secrets: open the core with open_core")
    return core.app_secret_key


async def refresh(core: Core, refresh_token: str | None) -> AppToken:
    """New tokens for a live application refresh token, which is used up."""
    if not refresh_token:
        raise Unauthorized("Unauthorized: refresh token required")
    client_id = await core.store.consume_app_refresh_token(at_rest(refresh_token), core.clock.now())
    app = await core.directory.application(client_id) if client_id else None
    if app is None or not app.enabled:
        raise _refused()
    return await _issue(core, app)


async def revoke(core: Core, refresh_token: str) -> None:
    """Delete (revoke) an application refresh token; unknown tokens are answered the same way."""
    await core.store.consume_app_refresh_token(at_rest(refresh_token), core.clock.now())


async def _issue(core: Core, app: Application) -> AppToken:
    tenant = await core.directory.tenant(app.tenant_id)
    if tenant is None:
        raise _refused()
    lifetimes = tenant.settings.tokens
    now = core.clock.now()
    expires = now + timedelta(seconds=lifetimes.app_token_seconds)
    access = await core.keys.sign({
        "sub": app.client_id, "token_use": TOKEN_USE_APP, "tenant": app.tenant_id,
        "iat": int(now.timestamp()), "nbf": int(now.timestamp()), "exp": int(expires.timestamp()),
        "jti": new_hex(16),
    }, APP_TOKEN_TYPE)
    refresh_token = new_hex(16)
    refresh_expires = now + timedelta(days=lifetimes.app_refresh_token_days)
    await core.store.insert_app_refresh_token(at_rest(refresh_token), app.id, now, refresh_expires)
    return AppToken(
        access_token=access, access_expires_at=expires, refresh_token=refresh_token,
        refresh_expires_at=refresh_expires, expires_in=lifetimes.app_token_seconds,
    )


async def application_for_claims(core: Core, claims: dict[str, Any]) -> Application:
    """The enabled application named by a verified token's claims (an app token or a ticket JWT)."""
    client_id = claims.get("sub") if claims.get("token_use") == TOKEN_USE_APP else claims.get("client_id")
    if not isinstance(client_id, str):
        raise Unauthorized("Unauthorized: invalid application token")
    app = await core.directory.application(client_id)
    if app is None or not app.enabled or app.tenant_id != claims.get("tenant"):
        raise Unauthorized("Unauthorized: the application is unknown or disabled")
    return app
