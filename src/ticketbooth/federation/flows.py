"""Signing in with an OpenID Connect provider: the authorization code flow with PKCE, in three steps.

1. `authorize` (the storefront's server, with its application credential): checks the return URL against the
   site's list (exact match), keeps a flow (a random `state` and `nonce`, as hashes; the PKCE verifier, sealed;
   the tenant, site and application that started it; for a link flow, the signed-in shopper's account) and
   answers the provider's authorization URL, where the storefront sends the browser.
2. `callback` (the browser, sent back by the provider with ?code=&state=): spends the flow of `state` (once,
   unexpired; anything else is a plain 400, no redirect: an unknown state names no return URL to trust),
   redeems the provider's code at its token endpoint with the PKCE verifier and the client secret, validates
   the ID token (federation/id_tokens.py), applies the linking rule (federation/rules.py `decide`) and ends with
   a redirect to the return URL: `?code=<exchange code>` (the parameter name is the site's `code_parameter`), or
   `?error=<name>&error_description=...`.
3. `exchange` (the storefront's server again, the same application that started): spends the exchange code
   (once, within `code_seconds`) for the shopper's ticket, as a login does: the site's 2FA rule applies (a
   mailed code) unless the provider asserted `mfa` in the ID token's `amr`. Kibo's `getOneTimeSecret` redeems
   the same code (GraphQL).

Nothing secret is logged, audited, published or put in an error: no state, nonce, code, verifier, token or
client secret.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from authlib.oauth2.rfc7636 import create_s256_code_challenge

from ticketbooth.accounts.persistence import AccountsPersistence
from ticketbooth.audit import service as audit
from ticketbooth.caller import Caller
from ticketbooth.core import Core, federation_persistence
from ticketbooth.domain.errors import (
    Conflict,
    Forbidden,
    InvalidAccessToken,
    InvalidExchangeCode,
    InvalidParameter,
    NotFound,
    TicketboothError,
    TooManyRequests,
)
from ticketbooth.domain.models import IssuedTicket, NewAccount, Profile, Shopper
from ticketbooth.domain.policies import TWO_FACTOR_TRIGGERS, logged_in_recently, login_key
from ticketbooth.domain.text import clean_email, clean_username
from ticketbooth.federation import id_tokens, outbound, providers
from ticketbooth.federation.persistence import FederationPersistence
from ticketbooth.federation.rules import (
    ERROR_DESCRIPTIONS,
    AccountFacts,
    Assertion,
    ExchangeGrant,
    Flow,
    Outcome,
    Provider,
    SignInError,
    back_to,
    decide,
    needs_email_lookup,
    return_url_allowed,
)
from ticketbooth.federation.sealing import open_verifier, seal_verifier
from ticketbooth.infra.mail import SealError
from ticketbooth.infra.tokens import at_rest, new_hex
from ticketbooth.login import challenges, limits
from ticketbooth.login.rules import may_log_in_without_password
from ticketbooth.tickets.service import LoginProof

log = logging.getLogger("ticketbooth.federation")

CALLBACK_PATH = "/api/commerce/customer/authtickets/oidc/callback"
STATE_MAX = 200
CODE_MAX = 200
PROVIDER_CODE_MAX = 4096
EXCHANGE_CODE_BYTES = 32
FEDERATED = "fed"
FEDERATED_PROOF_MFA = LoginProof((FEDERATED, "mfa"), TWO_FACTOR_TRIGGERS)
"""A provider that asserted multi-factor authentication (`amr` holds "mfa"): two factors, whatever a site asks."""


def federated_proof(caller: Caller) -> LoginProof:
    """A provider's sign-in without a second factor, where none was due: like a password, it meets the triggers of
    the site that checked (none applied), no other site's."""
    return LoginProof((FEDERATED,), tuple(caller.site.settings.two_factor))


def _store(core: Core) -> FederationPersistence:
    return federation_persistence(core.store)


def callback_url(core: Core) -> str:
    """The redirect URI to register with every provider."""
    return core.settings.effective_public_url + CALLBACK_PATH


# -- 1. authorize ------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Authorization:
    authorization_url: str
    expires_at: datetime
    flow_id: str


async def authorize(core: Core, caller: Caller, shopper: Shopper | None, provider_ref: str | None,
                    return_url: str | None, link: bool = False) -> Authorization:
    """Start a sign-in (or, with `link`, the linking of a provider to the signed-in shopper's account, which
    needs a login within `fresh_login_seconds`)."""
    await limits.check(core, caller, limits.Limit.FEDERATION)
    settings = caller.site.settings.federation
    if not return_url_allowed(return_url, settings.return_urls):
        raise InvalidParameter("returnUrl", "Missing or invalid parameter: returnUrl is not one of this site's return "
                               "URLs (federation.return_urls, compared exactly)", (return_url or "")[:200])
    assert return_url is not None
    if not provider_ref or not str(provider_ref).strip():
        raise InvalidParameter("provider", "Missing or invalid parameter: provider (its alias or id) is required")
    provider = await providers.find(core, caller.tenant.id, provider_ref)
    if provider is None or not provider.is_enabled:
        raise NotFound(f"Item not found: identity provider {str(provider_ref)[:70]} does not exist or is not enabled")
    link_account_id = None
    if link:
        link_account_id = _link_account(core, shopper)
    now = core.clock.now()
    flow_id, state, nonce = new_hex(16), secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    expires = now + timedelta(minutes=settings.flow_minutes)
    previous = shopper.user_id if shopper is not None and shopper.is_anonymous else None
    flow = Flow(id=flow_id, tenant_id=caller.tenant.id, site_id=caller.site.id, application_id=caller.app.id,
                provider_id=provider.id, return_url=return_url, nonce_hash=id_tokens.nonce_hash(nonce),
                verifier=seal_verifier(core, flow_id, verifier), link_account_id=link_account_id,
                previous_anonymous=previous, created_at=now, expires_at=expires)
    await _store(core).insert_flow(flow, at_rest(state), now)
    params = {
        "response_type": "code", "client_id": provider.client_id, "redirect_uri": callback_url(core),
        "scope": " ".join(provider.scopes), "state": state, "nonce": nonce,
        "code_challenge": create_s256_code_challenge(verifier), "code_challenge_method": "S256",
    }
    if provider.endpoints.response_mode == "form_post":
        params["response_mode"] = "form_post"
    return Authorization(back_to(provider.endpoints.authorization_endpoint, params), expires, flow_id)


def _link_account(core: Core, shopper: Shopper | None) -> int:
    if shopper is None or shopper.is_anonymous or shopper.account_id is None:
        raise InvalidAccessToken("Invalid Access Token: linking a provider needs the signed-in shopper's ticket")
    if shopper.acting_client_id or shopper.user_account_id is not None:
        raise Forbidden("Forbidden: an impersonation or B2B user's ticket may not link a provider")
    if not logged_in_recently(shopper.logged_in_at, core.clock.now(), core.settings.fresh_login_seconds):
        raise Forbidden(f"Forbidden: linking a provider needs a login within the last {core.settings.fresh_login_seconds} "
                        "seconds; sign in again first")
    return shopper.account_id


# -- 2. the provider's callback --------------------------------------------------------------------------------

class CallbackRefused(Exception):
    """The callback names no flow that may continue (unknown, spent or expired state): a plain 400, no redirect."""


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    state: str | None
    code: str | None
    error: str | None
    client_address: str
    user_agent: str


async def callback(core: Core, request: CallbackRequest) -> str:
    """Where to send the browser: the return URL with an exchange code, or with an error."""
    state = request.state or ""
    if not state or len(state) > STATE_MAX:
        raise CallbackRefused("the sign-in is unknown, was used already or has expired")
    now = core.clock.now()
    flow = await _store(core).take_flow(at_rest(state), now)
    if flow is None:
        raise CallbackRefused("the sign-in is unknown, was used already or has expired")
    caller = await _flow_caller(core, flow, request)
    if caller is None:
        raise CallbackRefused("the sign-in's application or site no longer exists")
    code_parameter = caller.site.settings.federation.code_parameter
    try:
        await limits.check(core, caller, limits.Limit.FEDERATION)
        code = await _complete(core, caller, flow, request, now)
    except _Refusal as refusal:
        return _error_url(flow.return_url, refusal.error)
    except TooManyRequests:
        return _error_url(flow.return_url, SignInError.TEMPORARILY_UNAVAILABLE)
    return back_to(flow.return_url, {code_parameter: code})


def _error_url(return_url: str, error: SignInError) -> str:
    return back_to(return_url, {"error": error.value, "error_description": ERROR_DESCRIPTIONS[error]})


class _Refusal(Exception):
    def __init__(self, error: SignInError, reason: str) -> None:
        super().__init__(reason)
        self.error = error
        self.reason = reason


async def _flow_caller(core: Core, flow: Flow, request: CallbackRequest) -> Caller | None:
    """The caller the flow acts as: the application, tenant and site that started it; the browser's address."""
    app = await core.store.get_application_by_id(flow.application_id)
    tenant = await core.directory.tenant(flow.tenant_id)
    site = await core.directory.site(flow.site_id)
    if app is None or not app.enabled or tenant is None or site is None or site.tenant_id != tenant.id:
        return None
    return Caller(app=app, tenant=tenant, site=site, client_address=request.client_address,
                  user_agent=request.user_agent[:300], app_credential=False)


async def _complete(core: Core, caller: Caller, flow: Flow, request: CallbackRequest, now: datetime) -> str:
    provider = await _store(core).get_provider(flow.tenant_id, flow.provider_id)
    if provider is None or not provider.is_enabled:
        raise _Refusal(SignInError.PROVIDER_DISABLED, "provider-disabled")
    if request.error:
        raise _Refusal(SignInError.ACCESS_DENIED if request.error == "access_denied" else SignInError.PROVIDER_ERROR,
                       "provider-said-no")
    if not request.code or len(request.code) > PROVIDER_CODE_MAX:
        raise _Refusal(SignInError.PROVIDER_ERROR, "no-code")
    id_token = await _redeem(core, provider, flow, request.code)
    try:
        assertion = await id_tokens.validate(core.settings, provider, id_token, flow.nonce_hash, now)
    except id_tokens.IdTokenRefused as exc:
        log.warning("an ID token from provider %s was refused: %s", provider.id, exc.reason)
        raise _Refusal(SignInError.INVALID_ID_TOKEN, exc.reason) from None
    except outbound.ProviderUnreachable as exc:
        log.warning("provider %s's keys could not be fetched: %s", provider.id, exc)
        raise _Refusal(SignInError.PROVIDER_ERROR, "keys") from None
    return await _link_and_code(core, caller, flow, provider, assertion, now)


async def _redeem(core: Core, provider: Provider, flow: Flow, code: str) -> str:
    """The provider's ID token for its authorization code (RFC 6749 4.1.3 with RFC 7636's verifier)."""
    try:
        verifier = open_verifier(core, flow.id, flow.verifier)
        secret = await providers.client_secret(core, provider)
    except SealError:
        log.error("provider %s: a sealed secret cannot be opened (was the server secret changed?)", provider.id)
        raise _Refusal(SignInError.PROVIDER_ERROR, "sealed") from None
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": callback_url(core),
            "code_verifier": verifier}
    auth = None
    if secret is None:
        form["client_id"] = provider.client_id
    elif provider.endpoints.client_auth == "client_secret_post":
        form.update(client_id=provider.client_id, client_secret=secret)
    else:  # RFC 6749 2.3.1: both form-encoded before Basic
        auth = (quote(provider.client_id, safe=""), quote(secret, safe=""))
    try:
        status, answer = await outbound.post_form(core.settings, provider.endpoints.token_endpoint, form, auth)
    except outbound.ProviderUnreachable as exc:
        log.warning("provider %s's token endpoint failed: %s", provider.id, exc)
        raise _Refusal(SignInError.PROVIDER_ERROR, "token-endpoint") from None
    id_token = answer.get("id_token") if answer else None
    if status != 200 or not isinstance(id_token, str):
        error = answer.get("error") if answer else None
        log.warning("provider %s's token endpoint answered %s (%s)", provider.id, status,
                    error if isinstance(error, str) and error.isidentifier() else "no error name")
        raise _Refusal(SignInError.PROVIDER_ERROR, "token-endpoint")
    return id_token


async def _facts(core: Core, account_id: int | None, customer_set_id: int) -> AccountFacts | None:
    if account_id is None:
        return None
    account = await core.store.get_account(account_id, with_parts=False)
    gate = await core.store.login_gate(account_id)
    if account is None or gate is None or account.customer_set_id != customer_set_id:
        return None
    now = core.clock.now()
    admin_lock = gate.locked_by_admin and gate.is_locked and (gate.lock_expires_at is None or gate.lock_expires_at > now)
    return AccountFacts(id=account_id, is_active=gate.is_active, locked_by_admin=admin_lock)


async def _email_account(core: Core, caller: Caller, email: str) -> AccountFacts | None:
    """The account of the site's customer set whose email address is `email` (not an account that merely has it
    as its username)."""
    found = await core.store.find_login(caller.site.customer_set_id, login_key(email))
    if found is None or not found[0].email or login_key(found[0].email) != login_key(email):
        return None
    return await _facts(core, found[0].id, caller.site.customer_set_id)


async def _link_and_code(core: Core, caller: Caller, flow: Flow, provider: Provider, assertion: Assertion,
                         now: datetime) -> str:
    store = _store(core)
    customer_set = caller.site.customer_set_id
    identity = await store.identity_by_subject(provider.id, assertion.subject)
    linked = await _facts(core, identity.account_id, customer_set) if identity else None
    if identity is not None and linked is None:  # linked to an account of another customer set
        raise _Refusal(SignInError.IDENTITY_LINKED_ELSEWHERE, "other-customer-set")
    target = await _facts(core, flow.link_account_id, customer_set)
    email_account = None
    if needs_email_lookup(linked, target, assertion):
        assert assertion.email is not None
        email_account = await _email_account(core, caller, assertion.email)
    decision = decide(linked=linked, link_flow=flow.link_account_id is not None, link_target=target,
                      assertion=assertion, trust_email=provider.trust_email,
                      create_accounts=provider.create_accounts, email_account=email_account)
    if decision.outcome is Outcome.REFUSE:
        assert decision.error is not None
        raise _Refusal(decision.error, decision.reason)
    code = secrets.token_urlsafe(EXCHANGE_CODE_BYTES)
    expires = now + timedelta(seconds=caller.site.settings.federation.code_seconds)
    try:
        async with core.store.transaction() as tx:
            account_id = decision.account_id
            if decision.outcome is Outcome.CREATE:
                account_id = await _create_account(core, tx, caller, provider, assertion, now)
            assert account_id is not None
            if identity is None:
                identity = await tx.add_identity(caller.tenant.id, provider.id, account_id, assertion.subject,
                                                 assertion.email, now)
                await audit.record(core, audit.Event.IDENTITY_LINKED, caller=caller, account_id=account_id,
                                   detail={"identityId": identity.id, "providerId": provider.id,
                                           "by": decision.reason}, store=tx)
            else:
                await tx.touch_identity(identity.id, assertion.email, now)
            await tx.insert_code(at_rest(code), ExchangeGrant(
                flow_id=flow.id, tenant_id=flow.tenant_id, site_id=flow.site_id, application_id=flow.application_id,
                account_id=account_id, identity_id=identity.id, provider_mfa=assertion.mfa,
                previous_anonymous=flow.previous_anonymous, expires_at=expires), now)
    except Conflict:  # a concurrent sign-in took the email or linked the identity first
        raise _Refusal(SignInError.LINK_REQUIRED if decision.outcome is Outcome.CREATE
                       else SignInError.IDENTITY_LINKED_ELSEWHERE, "conflict") from None
    return code


async def _create_account(core: Core, tx: AccountsPersistence, caller: Caller, provider: Provider,
                          assertion: Assertion, now: datetime) -> int:
    """A new account for the asserted (verified) email: no password, its email as its login name."""
    try:
        email = clean_email(assertion.email, required=True)
        assert email is not None
        username = clean_username(None, email)
    except TicketboothError:
        raise _Refusal(SignInError.EMAIL_UNVERIFIED, "email-unusable") from None
    new = NewAccount(
        tenant_id=caller.tenant.id, customer_set_id=caller.site.customer_set_id, user_id=new_hex(16), email=email,
        email_key=login_key(email), username=username, username_key=login_key(username), password_hash=None,
        profile=Profile(first_name=assertion.given_name, last_name=assertion.family_name),
        created_by=caller.app.client_id)
    account_id = await tx.insert_account(new, now)
    await audit.record(core, audit.Event.ACCOUNT_CREATED, caller=caller, account_id=account_id,
                       detail={"login": True, "providerId": provider.id}, store=tx)
    return int(account_id)


# -- 3. the exchange ----------------------------------------------------------------------------------------

def _refused(detail: str = "") -> InvalidExchangeCode:
    return InvalidExchangeCode("Invalid Exchange Code: the code is unknown, was used already, has expired, or belongs "
                               f"to another application{detail}")


async def exchange(core: Core, caller: Caller, code: str | None, *, fingerprint: str | None = None,
                   region: str | None = None, previous: Shopper | None = None,
                   flow_id: str | None = None, parameter: str = "code") -> IssuedTicket:
    """The shopper's ticket for an exchange code (see the module docstring). `flow_id`, when the storefront
    gives it, must be the flow the code ends (the storefront kept it in the shopper's session when it started
    the sign-in: a code from a sign-in started in another browser is then refused). `parameter` names the code in
    an error (`secretId` for Kibo's getOneTimeSecret)."""
    await limits.check(core, caller, limits.Limit.FEDERATION)
    given = (code or "").strip()
    if not given:
        raise InvalidParameter(parameter, f"Missing or invalid parameter: {parameter} is required")
    if len(given) > CODE_MAX:
        raise _refused()
    now = core.clock.now()
    grant = await _store(core).take_code(at_rest(given), now)
    if grant is None:
        raise _refused()
    if not (hmac.compare_digest(str(grant.application_id), str(caller.app.id)) and grant.tenant_id == caller.tenant.id
            and grant.site_id == caller.site.id and (not flow_id or hmac.compare_digest(flow_id, grant.flow_id))):
        log.warning("an exchange code of application %s was presented by application %s (or for another flow): "
                    "refused, and spent", grant.application_id, caller.app.id)
        raise _refused()
    gate = await core.store.login_gate(grant.account_id)
    account = await core.store.get_account(grant.account_id)
    if gate is None or account is None or not may_log_in_without_password(gate, now):
        raise _refused()
    # a provider's sign-in is one factor, as a password: the site's 2FA applies unless the provider says mfa
    return await challenges.finish_login(
        core, caller, account, gate, now, used=(audit.Event.IDENTITY_USED, {
            "identityId": grant.identity_id, "mfa": grant.provider_mfa}), unlocked_by="federated-login",
        proof=FEDERATED_PROOF_MFA if grant.provider_mfa else federated_proof(caller), two_factor=False,
        refused=_refused, fingerprint=fingerprint, region=region, remember_devices=False,
        second_factor=not grant.provider_mfa,
        previous_anonymous=grant.previous_anonymous or (
            previous.user_id if previous is not None and previous.is_anonymous else None))
