"""Request bodies of the federation routes, in Kibo's style (camelCase, keys matched case-insensitively)."""

from __future__ import annotations

from pydantic import Field, field_validator

from ticketbooth.kibo.bodies import KiboBody


class IdentityProviderIn(KiboBody):
    alias: str | None = None
    displayName: str | None = None
    issuer: str | None = None
    clientId: str | None = None
    clientSecret: str | None = None
    scopes: list[str] | None = Field(default=None, max_length=50)
    trustEmail: bool | None = None
    createAccounts: bool | None = None
    isEnabled: bool | None = None
    responseMode: str | None = None


class OidcAuthorizationIn(KiboBody):
    provider: str | None = None
    """The provider's alias, or its id."""
    returnUrl: str | None = None
    link: bool | None = None

    @field_validator("provider", mode="before")
    @classmethod
    def _id_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class OidcExchangeIn(KiboBody):
    code: str | None = None
    flowId: str | None = None
    """The `flowId` the authorization answered, when the storefront kept it in the shopper's session: the code
    is then refused unless it ends that very flow (a code from a sign-in another browser started)."""
    fingerprint: str | None = None
    region: str | None = None
