"""A tenant's identity providers (OpenID Connect): created, changed, read and deleted by an application with
customer:admin. A provider is configured by its issuer: saving it runs discovery
(`{issuer}/.well-known/openid-configuration`, whose `issuer` must be the one given, character for character) and
fetches its keys, so a provider that cannot be reached or read is refused then, not at a shopper's sign-in. The
client secret is write-only: sealed at rest (federation/sealing.py), never answered, logged or audited."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ticketbooth.accounts.access import require_admin
from ticketbooth.audit import service as audit
from ticketbooth.caller import Caller
from ticketbooth.core import Core, federation_persistence
from ticketbooth.domain.errors import InvalidParameter, NotFound
from ticketbooth.federation import outbound
from ticketbooth.federation.id_tokens import fetch_keys
from ticketbooth.federation.persistence import FederationPersistence
from ticketbooth.federation.rules import (
    CLIENT_ID_MAX,
    CLIENT_SECRET_MAX,
    DISPLAY_NAME_MAX,
    Provider,
    ProviderEndpoints,
    check_alias,
    check_scopes,
    check_text,
)
from ticketbooth.federation.sealing import open_client_secret, seal_client_secret
from ticketbooth.infra.mail import SealError

log = logging.getLogger("ticketbooth.federation")

ISSUER_MAX = 2000
WELL_KNOWN = "/.well-known/openid-configuration"
RESPONSE_MODES = ("query", "form_post")


@dataclass(frozen=True, slots=True)
class ProviderInput:
    """A provider as a request gives it; None: not given (a change keeps the stored value)."""

    alias: str | None = None
    display_name: str | None = None
    issuer: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    scopes: list[str] | None = None
    trust_email: bool | None = None
    create_accounts: bool | None = None
    is_enabled: bool | None = None
    response_mode: str | None = None


def _store(core: Core) -> FederationPersistence:
    return federation_persistence(core.store)


def _not_found(reference: object) -> NotFound:
    return NotFound(f"Item not found: identity provider {str(reference)[:70]} does not exist")


async def discover(core: Core, issuer: str, response_mode: str = "query") -> ProviderEndpoints:
    """The provider's endpoints from its discovery document, checked: the same issuer, an authorization code
    flow with PKCE S256 (when it lists its methods), every endpoint an address we may call, keys that read."""
    settings = core.settings
    endpoint = outbound.checked_url(settings, issuer, "issuer")
    if "?" in endpoint.target or endpoint.url != issuer:
        raise InvalidParameter("issuer", "Missing or invalid parameter: issuer must be an https URL without a query",
                               issuer[:200])
    try:
        document = await outbound.get_json(settings, issuer.rstrip("/") + WELL_KNOWN)
    except outbound.ProviderUnreachable as exc:
        raise InvalidParameter("issuer", f"Missing or invalid parameter: issuer: discovery failed: {exc}",
                               issuer[:200]) from None
    if document.get("issuer") != issuer:
        raise InvalidParameter("issuer", "Missing or invalid parameter: issuer: the discovery document names another "
                               "issuer", issuer[:200])
    urls: dict[str, str] = {}
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = document.get(name)
        if not isinstance(value, str):
            raise InvalidParameter("issuer", f"Missing or invalid parameter: issuer: the discovery document has no "
                                   f"{name}", issuer[:200])
        outbound.checked_url(settings, value, "issuer")
        urls[name] = value
    methods = document.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        raise InvalidParameter("issuer", "Missing or invalid parameter: issuer: the provider does not offer PKCE "
                               "with S256", issuer[:200])
    responses = document.get("response_types_supported")
    if isinstance(responses, list) and "code" not in responses:
        raise InvalidParameter("issuer", "Missing or invalid parameter: issuer: the provider does not offer the "
                               "authorization code flow", issuer[:200])
    auth_methods = document.get("token_endpoint_auth_methods_supported")
    try:
        await fetch_keys(settings, urls["jwks_uri"])
    except outbound.ProviderUnreachable as exc:
        raise InvalidParameter("issuer", f"Missing or invalid parameter: issuer: the provider's keys: {exc}",
                               issuer[:200]) from None
    return ProviderEndpoints(
        authorization_endpoint=urls["authorization_endpoint"], token_endpoint=urls["token_endpoint"],
        jwks_uri=urls["jwks_uri"], response_mode=response_mode,
        token_auth_methods=tuple(str(m) for m in auth_methods if isinstance(m, str))
        if isinstance(auth_methods, list) and auth_methods else ("client_secret_basic",))


def _response_mode(value: str | None) -> str:
    mode = (value or "query").strip().lower()
    if mode not in RESPONSE_MODES:
        raise InvalidParameter("responseMode", "Missing or invalid parameter: responseMode must be query or form_post",
                               (value or "")[:50])
    return mode


def _secret(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    return check_text("clientSecret", value, CLIENT_SECRET_MAX)


async def create(core: Core, caller: Caller, given: ProviderInput) -> Provider:
    require_admin(caller, "configuring identity providers")
    alias = check_alias(given.alias)
    display_name = check_text("displayName", given.display_name or alias, DISPLAY_NAME_MAX)
    issuer = check_text("issuer", given.issuer, ISSUER_MAX)
    client_id = check_text("clientId", given.client_id, CLIENT_ID_MAX)
    secret = _secret(given.client_secret)
    scopes = check_scopes(given.scopes)
    endpoints = await discover(core, issuer, _response_mode(given.response_mode))
    now = core.clock.now()
    values: dict[str, Any] = dict(
        tenant_id=caller.tenant.id, alias=alias, display_name=display_name, issuer=issuer, client_id=client_id,
        client_secret=seal_client_secret(core, caller.tenant.id, alias, secret) if secret else None,
        scopes=list(scopes), trust_email=bool(given.trust_email), is_enabled=given.is_enabled is not False,
        create_accounts=given.create_accounts is not False, metadata=endpoints.as_json())
    async with _store(core).transaction() as tx:
        provider = await tx.add_provider(values, now)
        await audit.record(core, audit.Event.IDENTITY_PROVIDER_CREATED, caller=caller, actor=caller.app.client_id,
                           detail={"providerId": provider.id, "alias": alias, "issuer": issuer[:200]}, store=tx)
    return provider


async def find(core: Core, tenant_id: int, reference: str | int) -> Provider | None:
    """The tenant's provider named by its id (a number) or its alias."""
    text = str(reference).strip()
    if text.isascii() and text.isdigit():
        number = int(text)
        return await _store(core).get_provider(tenant_id, number) if number < 2**63 else None
    if not text or len(text) > 64:
        return None
    return await _store(core).provider_by_alias(tenant_id, text.lower())


async def get(core: Core, caller: Caller, provider_id: int) -> Provider:
    require_admin(caller, "reading identity providers")
    provider = await _store(core).get_provider(caller.tenant.id, provider_id)
    if provider is None:
        raise _not_found(provider_id)
    return provider


async def listing(core: Core, caller: Caller) -> list[Provider]:
    require_admin(caller, "reading identity providers")
    return await _store(core).list_providers(caller.tenant.id)


async def update(core: Core, caller: Caller, provider_id: int, given: ProviderInput) -> Provider:
    """Change what is given. A body with `issuer` (the same one too: a provider's endpoints may move) or
    `responseMode` runs discovery again; one without calls no provider, so a provider that is down can still be
    disabled. A new alias seals the secret afresh; an empty clientSecret keeps the stored one."""
    current = await get(core, caller, provider_id)
    alias = check_alias(given.alias) if given.alias is not None else current.alias
    changes: dict[str, Any] = {"alias": alias}
    if given.issuer is not None or given.response_mode is not None:
        issuer = check_text("issuer", given.issuer, ISSUER_MAX) if given.issuer is not None else current.issuer
        mode = (_response_mode(given.response_mode) if given.response_mode is not None
                else current.endpoints.response_mode)
        changes.update(issuer=issuer, metadata=(await discover(core, issuer, mode)).as_json())
    if given.display_name is not None:
        changes["display_name"] = check_text("displayName", given.display_name, DISPLAY_NAME_MAX)
    if given.client_id is not None:
        changes["client_id"] = check_text("clientId", given.client_id, CLIENT_ID_MAX)
    if given.scopes is not None:
        changes["scopes"] = list(check_scopes(given.scopes))
    for name in ("trust_email", "create_accounts", "is_enabled"):
        value = getattr(given, name)
        if value is not None:
            changes[name] = bool(value)
    secret = _secret(given.client_secret)
    if secret is None and alias != current.alias and current.has_secret:
        sealed = await _store(core).provider_secret(current.id)
        try:
            secret = open_client_secret(core, caller.tenant.id, current.alias, sealed) if sealed else None
        except SealError:
            raise InvalidParameter("clientSecret", "Missing or invalid parameter: clientSecret: the stored secret "
                                   "cannot be opened (the server secret changed); send it again") from None
    if secret is not None:
        changes["client_secret"] = seal_client_secret(core, caller.tenant.id, alias, secret)
    async with _store(core).transaction() as tx:
        provider = await tx.update_provider(caller.tenant.id, provider_id, changes, core.clock.now())
        if provider is None:
            raise _not_found(provider_id)
        fields = sorted({"clientSecret" if k == "client_secret" else k for k in changes if k != "metadata"})
        await audit.record(core, audit.Event.IDENTITY_PROVIDER_UPDATED, caller=caller, actor=caller.app.client_id,
                           detail={"providerId": provider.id, "alias": provider.alias, "fields": fields}, store=tx)
    return provider


async def delete(core: Core, caller: Caller, provider_id: int) -> None:
    """Delete the provider with its linked identities (their accounts keep their other ways in: a password, a
    passkey, a mailed code) and its sign-ins under way."""
    current = await get(core, caller, provider_id)
    async with _store(core).transaction() as tx:
        if not await tx.delete_provider(caller.tenant.id, provider_id):
            raise _not_found(provider_id)
        await audit.record(core, audit.Event.IDENTITY_PROVIDER_DELETED, caller=caller, actor=caller.app.client_id,
                           detail={"providerId": provider_id, "alias": current.alias}, store=tx)


async def client_secret(core: Core, provider: Provider) -> str | None:
    """The provider's client secret, opened (SealError when the server secret changed since it was saved)."""
    if not provider.has_secret:
        return None
    sealed = await _store(core).provider_secret(provider.id)
    return open_client_secret(core, provider.tenant_id, provider.alias, sealed) if sealed else None
