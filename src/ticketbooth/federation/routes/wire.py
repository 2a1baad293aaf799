"""The federation answers in Kibo's style: camelCase, dates as Kibo writes them. A provider's client secret is
never part of an answer (`hasClientSecret` says whether one is kept)."""

from __future__ import annotations

from typing import Any

from ticketbooth.federation.flows import Authorization
from ticketbooth.federation.rules import LinkedIdentity, Provider
from ticketbooth.kibo import wire


def provider(p: Provider, redirect_uri: str) -> dict[str, Any]:
    return {"id": p.id, "alias": p.alias, "displayName": p.display_name, "issuer": p.issuer, "clientId": p.client_id,
            "hasClientSecret": p.has_secret, "scopes": list(p.scopes), "trustEmail": p.trust_email,
            "createAccounts": p.create_accounts, "isEnabled": p.is_enabled,
            "responseMode": p.endpoints.response_mode, "redirectUri": redirect_uri,
            "createdOn": wire.date(p.created_at), "updatedOn": wire.date(p.updated_at)}


def linked_identity(i: LinkedIdentity) -> dict[str, Any]:
    return {"id": i.id, "providerId": i.provider_id, "providerAlias": i.provider_alias,
            "providerName": i.provider_name, "subject": i.subject, "emailAddress": i.email,
            "createdOn": wire.date(i.created_at), "lastUsedOn": wire.date(i.last_used_at)}


def identities(items: list[LinkedIdentity]) -> dict[str, Any]:
    return wire.collection([linked_identity(i) for i in items], 0, max(len(items), 1), len(items))


def authorization(a: Authorization) -> dict[str, Any]:
    return {"authorizationUrl": a.authorization_url, "expiresOn": wire.date(a.expires_at), "flowId": a.flow_id}
