"""The operator's console pages: the overview, applications, signing keys, tenant and site settings,
webhooks and their deliveries, staff.

Every page is readable by every role but the staff page (admin); every change is a POST with the CSRF-checked
form, allowed by the role (`ctx.caller_for(action)` before anything runs: a forged POST of a role that may
not is a 403 page and changes nothing), and audited with the staff member's identity by the flow it calls.
Rotating an application secret, rotating the signing keys and adding a staff member need a recent
re-authentication (`ctx.require_recent_auth()`, first thing). A secret or an enrolment link is shown once,
on the page that answers the POST (never in a URL, never stored by the browser: no-store).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response

from ticketbooth.applications import operations
from ticketbooth.applications.rules import SettingField, SettingsForm
from ticketbooth.console.context import CheckedForm, SignedInStaff
from ticketbooth.console.pages import PREFIX, PageError, console_router, redirect, render
from ticketbooth.domain.errors import Conflict, InvalidParameter, NotFound
from ticketbooth.domain.models import KNOWN_BEHAVIORS, SettingsOwner
from ticketbooth.health import overview as overview_flow
from ticketbooth.infra import metrics
from ticketbooth.staff import rules as staff_rules
from ticketbooth.staff import service as staff_service
from ticketbooth.staff.rules import Action
from ticketbooth.webhooks import operations as webhooks

router = console_router()

PAGE_SIZE = 25
TRAIL_SIZE = 20
BEHAVIOR_FIELD = "behavior:"
"""A behavior checkbox is named `behavior:<behavior>` (one field per box: the console's form keeps one
value per name)."""
CHOICE_SEPARATOR = ":"
"""A settings checkbox of a list field is named `<path>:<choice>`."""


def when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else ""


def _start(request: Request) -> int:
    raw = request.query_params.get("start", "0")
    return int(raw) if raw.isdigit() and len(raw) < 10 else 0


def _pager(request: Request, start: int, total: int, size: int = PAGE_SIZE, **keep: str) -> dict[str, Any]:
    """Previous/next links of a paged list, keeping the query's other values."""
    def link(to: int) -> str:
        return f"{request.url.path}?{urlencode({**{k: v for k, v in keep.items() if v}, 'start': to})}"
    return {
        "start": start, "total": total, "first": start + 1 if total else 0, "last": min(start + size, total),
        "previous": link(max(0, start - size)) if start > 0 else None,
        "next": link(start + size) if start + size < total else None,
    }


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _history(request: Request) -> metrics.History:
    history = getattr(request.app.state, "metrics_history", None)
    if history is None:
        history = request.app.state.metrics_history = metrics.History()
    return history


# -- overview ---------------------------------------------------------------------------------------------

@router.get("/overview")
async def overview_page(request: Request, ctx: SignedInStaff) -> Response:
    ctx.require(Action.VIEW)
    found = await overview_flow.overview(ctx.core, ctx.tenant.id, _history(request))
    return render(request, "ops/overview.html", {"title": "Overview", "o": found, "when": when})


# -- applications -----------------------------------------------------------------------------------------

def _behaviors(form: Mapping[str, str]) -> list[str]:
    return sorted(key[len(BEHAVIOR_FIELD):] for key, value in form.items() if key.startswith(BEHAVIOR_FIELD) and value)


async def _applications(request: Request, ctx: SignedInStaff, values: Mapping[str, Any] | None = None,
                        status: int = 200) -> Response:
    start = _start(request)
    listed = await operations.applications_page(ctx.core, ctx.caller, start, PAGE_SIZE)
    return render(request, "ops/applications.html", {
        "title": "Applications", "apps": listed.items, "paging": _pager(request, listed.start, listed.total),
        "known_behaviors": sorted(KNOWN_BEHAVIORS), "may_manage": ctx.may(Action.MANAGE_APPLICATIONS),
        "form": {}, "errors": {}, **(values or {})}, status=status)


@router.get("/applications")
async def applications_page(request: Request, ctx: SignedInStaff) -> Response:
    return await _applications(request, ctx)


@router.post("/applications")
async def create_application(request: Request, ctx: SignedInStaff, form: CheckedForm) -> Response:
    caller = ctx.caller_for(Action.MANAGE_APPLICATIONS)
    try:
        app, secret = await operations.create_application(
            ctx.core, caller, ctx.actor, form.get("client_id", "")[:300], form.get("name", "")[:300],
            _behaviors(form), bool(form.get("storefront_server")))
    except InvalidParameter as exc:
        field = {"clientId": "client_id", "name": "name", "behaviors": "behaviors"}.get(exc.name, "client_id")
        return await _applications(request, ctx, {"form": form, "errors": {field: exc.message}}, status=400)
    except Conflict:
        return await _applications(request, ctx, {"form": form, "errors": {
            "client_id": "This client id is taken: choose another."}}, status=409)
    return _no_store(render(request, "ops/secret.html", {
        "title": "Application created", "app": app, "secret": secret, "created": True}))


def _client_id(request: Request, form: Mapping[str, str] | None = None) -> str:
    value = (form or {}).get("client_id") if form is not None else request.query_params.get("client_id")
    if not value or len(value) > 200:
        raise PageError(404, "No such application.")
    return value


async def _application(request: Request, ctx: SignedInStaff, client_id: str, values: Mapping[str, Any] | None = None,
                       status: int = 200) -> Response:
    app = await operations.application(ctx.core, ctx.caller, client_id)
    return render(request, "ops/application.html", {
        "title": f"Application {app.client_id}", "app": app, "known_behaviors": sorted(KNOWN_BEHAVIORS),
        "may_manage": ctx.may(Action.MANAGE_APPLICATIONS), "errors": {}, **(values or {})}, status=status)


@router.get("/application")
async def application_page(request: Request, ctx: SignedInStaff) -> Response:
    return await _application(request, ctx, _client_id(request))


def _application_path(client_id: str) -> str:
    return f"{PREFIX}/application?{urlencode({'client_id': client_id})}"


@router.post("/application/behaviors")
async def application_behaviors(request: Request, ctx: SignedInStaff, form: CheckedForm) -> Response:
    caller = ctx.caller_for(Action.MANAGE_APPLICATIONS)
    client_id = _client_id(request, form)
    try:
        await operations.set_application_behaviors(ctx.core, caller, ctx.actor, client_id, _behaviors(form),
                                                   bool(form.get("storefront_server")))
    except InvalidParameter as exc:
        return await _application(request, ctx, client_id, {"errors": {"behaviors": exc.message}}, status=400)
    return redirect(request, _application_path(client_id))


@router.post("/application/enabled")
async def application_enabled(request: Request, ctx: SignedInStaff, form: CheckedForm) -> Response:
    caller = ctx.caller_for(Action.MANAGE_APPLICATIONS)
    client_id = _client_id(request, form)
    if form.get("enabled") not in ("true", "false"):
        raise PageError(400, "Say whether to enable or disable the application. Nothing was changed.")
    await operations.set_application_enabled(ctx.core, caller, ctx.actor, client_id, form["enabled"] == "true")
    return redirect(request, _application_path(client_id))


@router.post("/application/rotate-secret")
async def rotate_application_secret(request: Request, ctx: SignedInStaff, form: CheckedForm) -> Response:
    caller = ctx.caller_for(Action.MANAGE_APPLICATIONS)
    ctx.require_recent_auth()
    app, secret = await operations.rotate_application_secret(ctx.core, caller, ctx.actor, _client_id(request, form))
    return _no_store(render(request, "ops/secret.html", {
        "title": "New application secret", "app": app, "secret": secret, "created": False}))


# -- signing keys -----------------------------------------------------------------------------------------

@router.get("/keys")
async def keys_page(request: Request, ctx: SignedInStaff) -> Response:
    ctx.require(Action.VIEW)
    listed = await operations.keys_page(ctx.core, _start(request), PAGE_SIZE)
    now = ctx.core.clock.now()
    return render(request, "ops/keys.html", {
        "title": "Signing keys", "keys": [(k, operations.key_state(k, now)) for k in listed.items],
        "paging": _pager(request, listed.start, listed.total), "may_rotate": ctx.may(Action.ROTATE_KEYS),
        "when": when, "rotated": request.query_params.get("rotated", "")[:64]})


@router.post("/keys/rotate")
async def rotate_keys(request: Request, ctx: SignedInStaff, form: CheckedForm) -> Response:
    caller = ctx.caller_for(Action.ROTATE_KEYS)
    ctx.require_recent_auth()
    kid = await operations.rotate_keys(ctx.core, caller, ctx.actor)
    return redirect(request, f"{PREFIX}/keys?{urlencode({'rotated': kid})}")


# -- tenant and site settings -----------------------------------------------------------------------------

def _settings_input(form: Mapping[str, str], fields: list[SettingField]) -> dict[str, list[str]]:
    """The console's one-value-per-name form as the settings form's input: a list field's checkboxes
    (`<path>:<choice>`) gathered under its path."""
    out: dict[str, list[str]] = {}
    list_fields = {f.path for f in fields if f.kind == "choices"}
    for key, value in form.items():
        path, sep, choice = key.rpartition(CHOICE_SEPARATOR)
        if sep and path in list_fields:
            if value:
                out.setdefault(path, []).append(choice)
        else:
            out[key] = [value]
    return out


async def _settings(request: Request, ctx: SignedInStaff, owner: SettingsOwner, owner_id: int,
                    form: SettingsForm | None = None, saved: list[str] | None = None, status: int = 200,
                    error: str | None = None) -> Response:
    shown = form or await operations.settings_form(ctx.core, ctx.caller, owner, owner_id)
    return render(request, "ops/settings.html", {
        "title": "Tenant settings" if owner == "tenant" else f"Site {owner_id} settings",
        "owner": owner, "owner_id": owner_id, "form": shown, "sites": await operations.sites(ctx.core, ctx.caller),
        "may_edit": ctx.may(Action.EDIT_SETTINGS), "saved": saved, "separator": CHOICE_SEPARATOR,
        "action": f"{PREFIX}/settings" if owner == "tenant" else f"{PREFIX}/settings/sites/{owner_id}",
        "error": error or ("The settings were not saved: correct the fields marked below."
                           if form and form.errors else None),
    }, status=status)


async def _save_settings(request: Request, ctx: SignedInStaff, form: Mapping[str, str], owner: SettingsOwner,
                         owner_id: int) -> Response:
    caller = ctx.caller_for(Action.EDIT_SETTINGS)
    current = await operations.settings_form(ctx.core, caller, owner, owner_id)
    try:
        checked, changed = await operations.save_settings_form(ctx.core, caller, ctx.actor, owner, owner_id,
                                                               _settings_input(form, current.fields),
                                                               form.get("version", ""))
    except Conflict as exc:
        return await _settings(request, ctx, owner, owner_id, status=409, error=exc.message)
    if checked.errors:
        return await _settings(request, ctx, owner, owner_id, checked, status=400)
    return await _settings(request, ctx, owner, owner_id, checked, saved=changed)


def _site_id(raw: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) < 2**31:
        raise PageError(404, "No such site.")
    return int(raw)


@router.get("/settings")
async def tenant_settings_page(request: Request, ctx: SignedInStaff) -> Response:
    return await _settings(request, ctx, "tenant", ctx.tenant.id)


@router.post("/settings")
async def save_tenant_settings(request: Request, ctx: SignedInStaff, form: CheckedForm) -> Response:
    return await _save_settings(request, ctx, form, "tenant", ctx.tenant.id)


@router.get("/settings/sites/{site_id}")
async def site_settings_page(request: Request, site_id: str, ctx: SignedInStaff) -> Response:
    return await _settings(request, ctx, "site", _site_id(site_id))


@router.post("/settings/sites/{site_id}")
async def save_site_settings(request: Request, site_id: str, ctx: SignedInStaff, form: CheckedForm) -> Response:
    return await _save_settings(request, ctx, form, "site", _site_id(site_id))


# -- webhooks ---------------------------------------------------------------------------------------------

def _topics(form: Mapping[str, str]) -> list[str]:
    return sorted(key[len("topic:"):] for key, value in form.items() if key.startswith("topic:") and value)


async def _webhooks(request: Request, ctx: SignedInStaff, values: Mapping[str, Any] | None = None,
                    status: int = 200) -> Response:
    start = _start(request)
    subs, total = await webhooks.subscriptions(ctx.core, ctx.caller, start, PAGE_SIZE)
    apps = await operations.applications_page(ctx.core, ctx.caller, 0, 200)
    return render(request, "ops/webhooks.html", {
        "title": "Webhooks", "subs": subs, "paging": _pager(request, start, total), "apps": apps.items,
        "topics": webhooks.known_topics(), "may_manage": ctx.may(Action.MANAGE_WEBHOOKS), "when": when,
        "form": {}, "errors": {}, **(values or {})}, status=status)


@router.get("/webhooks")
async def webhooks_page(request: Request, ctx: SignedInStaff) -> Response:
    return await _webhooks(request, ctx)


@router.post("/webhooks")
async def create_webhook(request: Request, ctx: SignedInStaff, form: CheckedForm) -> Response:
    caller = ctx.caller_for(Action.MANAGE_WEBHOOKS)
    try:
        sub, secret = await webhooks.create(ctx.core, caller, ctx.actor, form.get("client_id", "")[:300],
                                            form.get("endpoint", "")[:2000], _topics(form))
    except InvalidParameter as exc:
        field = {"clientId": "client_id", "events": "topics"}.get(exc.name, "endpoint")
        return await _webhooks(request, ctx, {"form": form, "errors": {field: exc.message}}, status=400)
    return _no_store(render(request, "ops/webhook_secret.html", {
        "title": "Subscription created", "sub": sub, "secret": secret}))


def _id(raw: str, what: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) < 2**63:
        raise PageError(404, f"No such {what}.")
    return int(raw)


@router.post("/webhooks/{subscription_id}/active")
async def webhook_active(request: Request, subscription_id: str, ctx: SignedInStaff, form: CheckedForm) -> Response:
    caller = ctx.caller_for(Action.MANAGE_WEBHOOKS)
    if form.get("active") not in ("true", "false"):
        raise PageError(400, "Say whether to pause or resume the subscription. Nothing was changed.")
    sub_id = _id(subscription_id, "subscription")
    await webhooks.set_active(ctx.core, caller, ctx.actor, sub_id, form["active"] == "true")
    return redirect(request, f"{PREFIX}/webhooks/{sub_id}")


@router.get("/webhooks/{subscription_id}")
async def webhook_page(request: Request, subscription_id: str, ctx: SignedInStaff) -> Response:
    sub_id = _id(subscription_id, "subscription")
    sub = await webhooks.subscription(ctx.core, ctx.caller, sub_id)
    status = request.query_params.get("status", "")
    if status and status not in webhooks.STATUSES:
        raise PageError(400, "Filter by pending, delivered or failed.")
    start = _start(request)
    items, total = await webhooks.deliveries(ctx.core, ctx.caller, sub_id, status or None, start, PAGE_SIZE)
    return render(request, "ops/webhook.html", {
        "title": f"Subscription {sub.id}", "sub": sub, "deliveries": items, "status": status,
        "statuses": webhooks.STATUSES, "paging": _pager(request, start, total, status=status),
        "may_manage": ctx.may(Action.MANAGE_WEBHOOKS), "when": when,
        "redelivered": request.query_params.get("redelivered", "")[:20]})


@router.post("/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver")
async def redeliver(request: Request, subscription_id: str, delivery_id: str, ctx: SignedInStaff,
                    form: CheckedForm) -> Response:
    caller = ctx.caller_for(Action.MANAGE_WEBHOOKS)
    sub_id = _id(subscription_id, "subscription")
    delivery = await webhooks.redeliver(ctx.core, caller, ctx.actor, sub_id, _id(delivery_id, "delivery"))
    return redirect(request, f"{PREFIX}/webhooks/{sub_id}?{urlencode({'redelivered': delivery.id})}")


# -- staff ------------------------------------------------------------------------------------------------

async def _staff(request: Request, ctx: SignedInStaff, values: Mapping[str, Any] | None = None,
                 status: int = 200) -> Response:
    ctx.require(Action.MANAGE_STAFF)
    start = _start(request)
    members, total = await staff_service.list_staff(ctx.core, ctx.tenant.id, start, PAGE_SIZE)
    raw = request.query_params.get("trail", "0")
    trail_start = int(raw) if raw.isdigit() and len(raw) < 10 else 0
    entries, trail_total = await staff_service.trail(ctx.core, ctx.tenant.id, start=trail_start, size=TRAIL_SIZE)
    return render(request, "ops/staff.html", {
        "title": "Staff", "members": members, "paging": _pager(request, start, total), "roles": staff_rules.ROLES,
        "trail": entries,
        "trail_older": f"{PREFIX}/staff?trail={trail_start + TRAIL_SIZE}" if trail_start + TRAIL_SIZE < trail_total
        else None,
        "trail_newer": f"{PREFIX}/staff?trail={max(0, trail_start - TRAIL_SIZE)}" if trail_start else None,
        "when": when, "me": ctx.staff.id, "form": {}, "errors": {}, **(values or {})}, status=status)


@router.get("/staff")
async def staff_page(request: Request, ctx: SignedInStaff) -> Response:
    return await _staff(request, ctx)


@router.post("/staff")
async def add_staff(request: Request, ctx: SignedInStaff, form: CheckedForm) -> Response:
    caller = ctx.caller_for(Action.MANAGE_STAFF)
    ctx.require_recent_auth()
    try:
        invitation = await staff_service.create(ctx.core, form.get("email", "")[:300], form.get("role", "")[:20],
                                                by=ctx.actor, caller=caller)
    except InvalidParameter as exc:
        field = "role" if exc.name == "role" else "email"
        return await _staff(request, ctx, {"form": form, "errors": {field: exc.message}}, status=400)
    except Conflict:
        return await _staff(request, ctx, {"form": form, "errors": {
            "email": "A staff member with this email exists."}}, status=409)
    return _no_store(render(request, "ops/staff_added.html", {
        "title": "Staff member added", "invitation": invitation, "when": when}))


async def _member(ctx: SignedInStaff, raw: str) -> staff_rules.Staff:
    member = await staff_service.get_staff(ctx.core, _id(raw, "staff member"))
    if member is None or member.tenant_id != ctx.tenant.id:
        raise NotFound("Item not found: no such staff member")
    return member


@router.post("/staff/{staff_id}/enabled")
async def staff_enabled(request: Request, staff_id: str, ctx: SignedInStaff, form: CheckedForm) -> Response:
    caller = ctx.caller_for(Action.MANAGE_STAFF)
    if form.get("enabled") not in ("true", "false"):
        raise PageError(400, "Say whether to enable or disable the staff member. Nothing was changed.")
    member = await _member(ctx, staff_id)
    if member.id == ctx.staff.id:
        raise PageError(400, "You cannot disable yourself. Nothing was changed.")
    await staff_service.set_enabled(ctx.core, member.email, form["enabled"] == "true", by=ctx.actor, caller=caller,
                                    tenant_id=ctx.tenant.id)
    return redirect(request, f"{PREFIX}/staff")


@router.post("/staff/{staff_id}/revoke-sessions")
async def staff_revoke_sessions(request: Request, staff_id: str, ctx: SignedInStaff, form: CheckedForm) -> Response:
    caller = ctx.caller_for(Action.MANAGE_STAFF)
    member = await _member(ctx, staff_id)
    await staff_service.revoke_sessions(ctx.core, member, by=ctx.actor, caller=caller)
    return redirect(request, f"{PREFIX}/staff")
