"""/.well-known: the JWKS (public signing keys) and an OpenID-style discovery document, so other
services can verify ticket JWTs without a shared secret. (The health checks are in health/routes.py.)"""

from __future__ import annotations

from fastapi import APIRouter, Request

from ticketbooth.infra.signing import ALGORITHM
from ticketbooth.kibo.context import core_of
from ticketbooth.kibo.wire import KiboJSON

router = APIRouter(tags=["Discovery"])


@router.get("/.well-known/jwks.json", summary="Public keys that sign ticket JWTs")
async def jwks(request: Request) -> KiboJSON:
    keys = await core_of(request).keys.jwks()
    return KiboJSON(keys, headers={"Cache-Control": "public, max-age=300"})


@router.get("/.well-known/openid-configuration", summary="Discovery document")
async def openid_configuration(request: Request) -> KiboJSON:
    settings = core_of(request).settings
    issuer = settings.effective_issuer
    return KiboJSON({
        "issuer": issuer,
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "token_endpoint": f"{issuer}/api/platform/applications/authtickets/oauth",
        "grant_types_supported": ["client_credentials", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "claims_supported": [
            "iss", "aud", "sub", "iat", "nbf", "exp", "jti", "sid", "tenant", "site", "customer_set",
            "account_id", "anon", "client_id", "prev_sub", "token_use",
        ],
    })
