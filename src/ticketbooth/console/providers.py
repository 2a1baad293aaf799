"""The operator's page of the tenant's identity providers (OpenID Connect, federation/providers.py): listed
for every role; added, changed, switched on or off and deleted by an admin (`manage-identity-providers`),
each change audited by the flow with the staff member as actor.

The client secret is write-only: never shown, never put back into a form; an empty field keeps the stored
one. Setting it (or deleting a provider, which unlinks its identities) needs a recent re-authentication.
Saving runs the provider's discovery (the flow refuses a provider it cannot reach or read, and the page
shows why on the field).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request, Response

from ticketbooth.console.context import CheckedForm, SignedInStaff
from ticketbooth.console.ops import when
from ticketbooth.console.pages import PREFIX, PageError, console_router, redirect, render
from ticketbooth.domain.errors import Conflict, InvalidParameter
from ticketbooth.federation import providers
from ticketbooth.federation.providers import RESPONSE_MODES, ProviderInput
from ticketbooth.federation.rules import Provider
from ticketbooth.staff.rules import Action

router = console_router()

PAGE = f"{PREFIX}/identity-providers"
FIELDS = {"alias": "alias", "displayName": "display_name", "issuer": "issuer", "clientId": "client_id",
          "clientSecret": "client_secret", "scopes": "scopes", "responseMode": "response_mode"}
"""The flow's parameter names -> the form's field names (an error is shown on its field)."""
FLAGS = (("is_enabled", "Enabled: shoppers may sign in with it"),
         ("trust_email", "Trust its verified emails: link an existing account with the same email automatically"),
         ("create_accounts", "Create an account at a first sign-in with an unknown verified email"))
DONE = {
    "created": "The identity provider is added.",
    "saved": "The identity provider is saved.",
    "enabled": "The identity provider is on: shoppers may sign in with it.",
    "disabled": "The identity provider is off: sign-ins with it are refused.",
    "deleted": "The identity provider is deleted, and the identities linked through it with it.",
}


def _input(form: Mapping[str, str], *, new: bool) -> ProviderInput:
    """The form as the flow's input. A checkbox not sent is off (the form always shows them all); an empty
    secret is none given (an edit keeps the stored one)."""
    scopes = form.get("scopes", "").replace(",", " ").split()
    return ProviderInput(
        alias=form.get("alias", "")[:200] if new or "alias" in form else None,
        display_name=form.get("display_name", "")[:300] or None,
        issuer=form.get("issuer", "")[:2100] if new or "issuer" in form else None,
        client_id=form.get("client_id", "")[:500] if new or "client_id" in form else None,
        client_secret=form.get("client_secret") or None,
        scopes=scopes[:50] or None,
        trust_email=form.get("trust_email") == "on",
        create_accounts=form.get("create_accounts") == "on",
        is_enabled=form.get("is_enabled") == "on",
        response_mode=form.get("response_mode") or None)


def _shown(form: Mapping[str, str]) -> dict[str, str]:
    """What a refused form shows again: everything typed but the secret."""
    return {k: v for k, v in form.items() if k not in ("client_secret", "csrf")}


def _values(provider: Provider) -> dict[str, str]:
    values = {"alias": provider.alias, "display_name": provider.display_name, "issuer": provider.issuer,
              "client_id": provider.client_id, "scopes": " ".join(provider.scopes),
              "response_mode": provider.endpoints.response_mode}
    values.update({name: "on" for name, _ in FLAGS if getattr(provider, name)})
    return values


def _error(exc: InvalidParameter | Conflict) -> dict[str, str]:
    if isinstance(exc, Conflict):
        return {"alias": exc.message}
    return {FIELDS.get(exc.name, "issuer"): exc.message}


async def _list(request: Request, ctx: SignedInStaff, values: Mapping[str, Any] | None = None,
                status: int = 200) -> Response:
    found = await providers.listing(ctx.core, ctx.caller)
    return render(request, "ops/providers.html", {
        "title": "Identity providers", "providers": found, "may_manage": ctx.may(Action.MANAGE_IDENTITY_PROVIDERS),
        "flags": FLAGS, "modes": RESPONSE_MODES, "when": when, "done": DONE.get(request.query_params.get("done", "")),
        "callback": f"{ctx.core.settings.effective_public_url}/api/commerce/customer/authtickets/oidc/callback",
        "form": {"is_enabled": "on", "create_accounts": "on", "scopes": "openid email profile",
                 "response_mode": "query"}, "errors": {}, **(values or {})}, status=status)


def _provider_id(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) < 2**63:
        raise PageError(404, "There is no such identity provider.")
    return int(raw)


async def _edit(request: Request, ctx: SignedInStaff, provider: Provider, values: Mapping[str, Any] | None = None,
                status: int = 200) -> Response:
    return render(request, "ops/provider.html", {
        "title": f"Identity provider {provider.display_name}", "provider": provider,
        "may_manage": ctx.may(Action.MANAGE_IDENTITY_PROVIDERS), "flags": FLAGS, "modes": RESPONSE_MODES,
        "when": when, "done": DONE.get(request.query_params.get("done", "")), "form": _values(provider),
        "errors": {}, **(values or {})}, status=status)


@router.get("/identity-providers")
async def providers_page(request: Request, ctx: SignedInStaff) -> Response:
    return await _list(request, ctx)


@router.post("/identity-providers")
async def create_provider(request: Request, ctx: SignedInStaff, form: CheckedForm) -> Response:
    caller = ctx.caller_for(Action.MANAGE_IDENTITY_PROVIDERS)
    if form.get("client_secret"):
        ctx.require_recent_auth()
    try:
        made = await providers.create(ctx.core, caller, _input(form, new=True))
    except (InvalidParameter, Conflict) as exc:
        return await _list(request, ctx, {"form": _shown(form), "errors": _error(exc)},
                           status=409 if isinstance(exc, Conflict) else 400)
    return redirect(request, f"{PAGE}/{made.id}?done=created")


@router.get("/identity-providers/{provider_id}")
async def provider_page(request: Request, provider_id: str, ctx: SignedInStaff) -> Response:
    return await _edit(request, ctx, await providers.get(ctx.core, ctx.caller, _provider_id(provider_id)))


@router.post("/identity-providers/{provider_id}")
async def save_provider(request: Request, provider_id: str, ctx: SignedInStaff, form: CheckedForm) -> Response:
    caller = ctx.caller_for(Action.MANAGE_IDENTITY_PROVIDERS)
    if form.get("client_secret"):
        ctx.require_recent_auth()
    current = await providers.get(ctx.core, caller, _provider_id(provider_id))
    try:
        await providers.update(ctx.core, caller, current.id, _input(form, new=False))
    except (InvalidParameter, Conflict) as exc:
        return await _edit(request, ctx, current, {"form": _shown(form), "errors": _error(exc)},
                           status=409 if isinstance(exc, Conflict) else 400)
    return redirect(request, f"{PAGE}/{current.id}?done=saved")


@router.post("/identity-providers/{provider_id}/enabled")
async def provider_enabled(request: Request, provider_id: str, ctx: SignedInStaff, form: CheckedForm) -> Response:
    caller = ctx.caller_for(Action.MANAGE_IDENTITY_PROVIDERS)
    if form.get("enabled") not in ("true", "false"):
        raise PageError(400, "Say whether to switch the provider on or off. Nothing was changed.")
    current = await providers.get(ctx.core, caller, _provider_id(provider_id))
    on = form["enabled"] == "true"
    try:
        await providers.update(ctx.core, caller, current.id, ProviderInput(is_enabled=on))
    except InvalidParameter as exc:
        return await _edit(request, ctx, current, {"error": f"Nothing was changed: {exc.message}"}, status=400)
    return redirect(request, f"{PAGE}/{current.id}?done={'enabled' if on else 'disabled'}")


@router.post("/identity-providers/{provider_id}/delete")
async def delete_provider(request: Request, provider_id: str, ctx: SignedInStaff, form: CheckedForm) -> Response:
    caller = ctx.caller_for(Action.MANAGE_IDENTITY_PROVIDERS)
    ctx.require_recent_auth()
    await providers.delete(ctx.core, caller, _provider_id(provider_id))
    return redirect(request, f"{PAGE}?done=deleted")
