"""The federation routes' entries of the OpenAPI document (kibo/openapi.py `extend`). The provider's callback is
left out of the document: a browser follows it from the provider, no client calls it (README "Social sign-in")."""

from __future__ import annotations

from ticketbooth.federation.routes import bodies
from ticketbooth.kibo import openapi
from ticketbooth.kibo.openapi import BOOL, DATE, INT64, SHOPPER, STRING, TEXT, Operation, array, collection, shape

P = f"{openapi.C}/identityproviders"
OIDC = f"{openapi.T}/oidc"
L = f"{openapi.A}/{{accountId}}/linkedidentities"

SCHEMAS = {
    "IdentityProvider": shape(
        "An OpenID Connect identity provider of the tenant; its client secret is never answered.",
        id=INT64, alias=STRING, displayName=STRING, issuer=STRING, clientId=STRING, hasClientSecret=BOOL,
        scopes=array(STRING), trustEmail=BOOL, createAccounts=BOOL, isEnabled=BOOL, responseMode=STRING,
        redirectUri=STRING, createdOn=DATE, updatedOn=DATE),
    "IdentityProviderCollection": collection("IdentityProvider", "The tenant's identity providers."),
    "OidcAuthorization": shape(
        "Where to send the browser to sign in at the provider, until when, and the flow's id (keep it in the "
        "shopper's session and give it back with the exchange).", authorizationUrl=STRING, expiresOn=DATE,
        flowId=STRING),
    "LinkedIdentity": shape(
        "A provider identity linked to the account.", id=INT64, providerId=INT64, providerAlias=STRING,
        providerName=STRING, subject=STRING, emailAddress=TEXT, createdOn=DATE, lastUsedOn=DATE),
    "LinkedIdentityCollection": collection("LinkedIdentity", "An account's linked identities."),
}

OPERATIONS = {
    ("GET", P): Operation("IdentityProviderCollection"),
    ("POST", P): Operation("IdentityProvider", body="IdentityProviderInput", body_required=True),
    ("GET", f"{P}/{{providerId}}"): Operation("IdentityProvider"),
    ("PUT", f"{P}/{{providerId}}"): Operation("IdentityProvider", body="IdentityProviderInput", body_required=True),
    ("DELETE", f"{P}/{{providerId}}"): Operation("204"),
    ("POST", f"{OIDC}/authorize"): Operation("OidcAuthorization", "400 401 403 404 413 429 503",
                                          body="OidcAuthorizationInput", body_required=True, auth=SHOPPER),
    ("POST", f"{OIDC}/exchange"): Operation("CustomerAuthTicket", "400 401 413 429 503", body="OidcExchangeInput",
                                         body_required=True, auth=SHOPPER),
    ("GET", L): Operation("LinkedIdentityCollection", auth=SHOPPER),
    ("DELETE", f"{L}/{{identityId}}"): Operation("204", auth=SHOPPER),
}

openapi.extend(operations=OPERATIONS, schemas=SCHEMAS, models=(
    bodies.IdentityProviderIn, bodies.OidcAuthorizationIn, bodies.OidcExchangeIn))
