"""The operator's flows over applications, signing keys and settings, as the console's pages use them.

Each change names who made it (`actor`, e.g. `staff:ops@example.com`) and is written to the audit trail in
the same transaction, with the caller's tenant, address and application. Who may call these is decided
by the transport (the console checks the staff role with `staff.rules.may` first); the flows keep to the
caller's tenant: another tenant's application or site is not found.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from ticketbooth.applications import rules
from ticketbooth.applications import service as applications
from ticketbooth.applications.persistence import OperationsPersistence
from ticketbooth.audit import service as audit
from ticketbooth.caller import Caller
from ticketbooth.core import Core, rotate_signing_key
from ticketbooth.domain.errors import Conflict, InvalidParameter, NotFound
from ticketbooth.domain.models import KNOWN_BEHAVIORS, Application, KeyInfo, SettingsOwner, Site
from ticketbooth.domain.policies import SiteSettings, TenantSettings

SECRET_BYTES = 32
"""An application secret made here: 32 random bytes, URL-safe base64 (43 characters)."""


def _store(core: Core) -> OperationsPersistence:
    return core.store


@dataclass(frozen=True, slots=True)
class Listed:
    """One page of a list: its items, the total, where it starts and how long a page is."""

    items: list[Any]
    total: int
    start: int
    size: int

    @property
    def has_previous(self) -> bool:
        return self.start > 0

    @property
    def has_next(self) -> bool:
        return self.start + self.size < self.total


def _page_bounds(start: int, size: int) -> tuple[int, int]:
    return max(0, start), min(max(1, size), 200)


def _clean_client_id(client_id: str) -> str:
    client_id = client_id.strip()
    if not client_id or len(client_id) > 200 or any(c.isspace() or not c.isprintable() for c in client_id):
        raise InvalidParameter("clientId", "A client id is 1-200 printable characters without spaces.")
    return client_id


def _clean_behaviors(behaviors: Sequence[str]) -> list[str]:
    unknown = sorted(set(behaviors) - KNOWN_BEHAVIORS)
    if unknown:
        raise InvalidParameter("behaviors", f"Unknown behavior {unknown[0][:100]!r}.")
    return sorted(set(behaviors))


def _not_found(client_id: str) -> NotFound:
    return NotFound(f"Item not found: application {client_id[:200]}")


# -- applications --------------------------------------------------------------------------------------

async def applications_page(core: Core, caller: Caller, start: int, size: int) -> Listed:
    start, size = _page_bounds(start, size)
    items, total = await _store(core).page_applications(caller.tenant.id, start, size)
    return Listed(items, total, start, size)


async def application(core: Core, caller: Caller, client_id: str) -> Application:
    app = await _store(core).get_application(client_id)
    if app is None or app.tenant_id != caller.tenant.id:
        raise _not_found(client_id)
    return app


async def create_application(core: Core, caller: Caller, actor: str, client_id: str, name: str,
                             behaviors: Sequence[str], storefront_server: bool = False) -> tuple[Application, str]:
    """A new application of the caller's tenant, and its secret: made here, returned this once, kept only
    as a keyed hash."""
    client_id = _clean_client_id(client_id)
    name = name.strip() or client_id
    if len(name) > 200 or not name.isprintable():
        raise InvalidParameter("name", "A name is at most 200 printable characters.")
    cleaned = _clean_behaviors(behaviors)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    async with core.store.transaction() as tx:
        app = await tx.insert_application(client_id, caller.tenant.id, name, applications.hash_secret(core, secret),
                                          cleaned, storefront_server, core.clock.now())
        await audit.record(core, audit.Event.APPLICATION_CREATED, caller=caller, actor=actor, store=tx, detail={
            "clientId": app.client_id, "behaviors": cleaned, "storefrontServer": storefront_server})
    core.directory.forget()
    return app, secret


async def _change(core: Core, caller: Caller, actor: str, client_id: str, changes: dict[str, Any],
                  event: audit.Event, detail: dict[str, Any]) -> Application:
    async with core.store.transaction() as tx:
        app = await tx.update_application(caller.tenant.id, client_id, changes, core.clock.now())
        if app is None:
            raise _not_found(client_id)
        if "secret_hash" in changes:
            detail = {**detail, "refreshTokensRevoked": await tx.revoke_app_refresh_tokens(app.id, core.clock.now())}
        await audit.record(core, event, caller=caller, actor=actor, store=tx,
                           detail={"clientId": app.client_id, **detail})
    core.directory.forget()
    return app


async def set_application_enabled(core: Core, caller: Caller, actor: str, client_id: str,
                                  enabled: bool) -> Application:
    """Enable or disable an application: disabled, its secret and refresh tokens stop working (in other
    processes once their directory cache expires, `app_cache_seconds`)."""
    return await _change(core, caller, actor, client_id, {"enabled": enabled},
                         audit.Event.APPLICATION_CHANGED, {"enabled": enabled})


async def set_application_behaviors(core: Core, caller: Caller, actor: str, client_id: str,
                                    behaviors: Sequence[str], storefront_server: bool) -> Application:
    cleaned = _clean_behaviors(behaviors)
    return await _change(core, caller, actor, client_id,
                         {"behaviors": cleaned, "storefront_server": storefront_server},
                         audit.Event.APPLICATION_CHANGED, {"behaviors": cleaned, "storefrontServer": storefront_server})


async def rotate_application_secret(core: Core, caller: Caller, actor: str, client_id: str) -> tuple[Application, str]:
    """A new secret for the application, returned this once; the old one stops working at once, and so do
    the application's refresh tokens (its access tokens run out by themselves, `app_token_seconds`)."""
    secret = secrets.token_urlsafe(SECRET_BYTES)
    app = await _change(core, caller, actor, client_id, {"secret_hash": applications.hash_secret(core, secret)},
                        audit.Event.APPLICATION_SECRET_ROTATED, {})
    return app, secret


# -- signing keys --------------------------------------------------------------------------------------

async def keys_page(core: Core, start: int, size: int) -> Listed:
    start, size = _page_bounds(start, size)
    items, total = await _store(core).page_signing_keys(start, size)
    return Listed(items, total, start, size)


async def rotate_keys(core: Core, caller: Caller, actor: str) -> str:
    """A new signing key; the current one retires and stays published until every token it may have
    signed has expired. This process signs with the new key at once, the others on their next reload."""
    async with core.store.transaction() as tx:
        kid = await rotate_signing_key(tx, core.clock, core.settings.key_reload_seconds)
        await audit.record(core, audit.Event.SIGNING_KEY_ROTATED, caller=caller, actor=actor, store=tx,
                           detail={"kid": kid})
    await core.keys.refresh()
    return kid


def key_state(key: KeyInfo, now: Any) -> str:
    """active, published (retired, still in the JWKS) or expired."""
    if key.retired_at is None:
        return "active"
    return "published" if key.publish_until is None or key.publish_until > now else "expired"


# -- tenant and site settings --------------------------------------------------------------------------

_MODELS: dict[SettingsOwner, type[BaseModel]] = {"tenant": TenantSettings, "site": SiteSettings}


async def sites(core: Core, caller: Caller) -> list[Site]:
    return await core.store.list_sites(caller.tenant.id)


async def _owned(core: Core, caller: Caller, owner: SettingsOwner, owner_id: int) -> None:
    if owner == "tenant":
        if owner_id != caller.tenant.id:
            raise NotFound(f"Item not found: tenant {owner_id}")
        return
    site = await core.store.get_site(owner_id)
    if site is None or site.tenant_id != caller.tenant.id:
        raise NotFound(f"Item not found: site {owner_id}")


async def settings_form(core: Core, caller: Caller, owner: SettingsOwner, owner_id: int) -> rules.SettingsForm:
    """The settings of the caller's tenant, or of one of its sites, as a form: each field with its value
    and its default."""
    await _owned(core, caller, owner, owner_id)
    stored = await core.store.stored_settings(owner, owner_id)
    if stored is None:
        raise NotFound(f"Item not found: {owner} {owner_id}")
    return rules.SettingsForm(rules.form_fields(_MODELS[owner], stored), rules.version_of(stored))


async def save_settings_form(core: Core, caller: Caller, actor: str, owner: SettingsOwner, owner_id: int,
                             form: Mapping[str, Sequence[str]], version: str) -> tuple[rules.SettingsForm, list[str]]:
    """Apply a submitted settings form, read at `version` of the stored settings. Invalid: the form with an
    error per field, and nothing changes. Stored settings changed since `version`: Conflict, nothing
    changes (the form would undo that change). Valid: the form as now stored and the paths whose value
    changed (audited with the actor; none: no entry)."""
    await _owned(core, caller, owner, owner_id)
    model = _MODELS[owner]
    stored = await core.store.stored_settings(owner, owner_id)
    if stored is None:
        raise NotFound(f"Item not found: {owner} {owner_id}")
    checked, changes = rules.read_form(model, stored, form)
    if changes is None:
        return checked, []
    changed: list[str] = []

    def change(current: dict[str, Any]) -> dict[str, Any]:
        if rules.version_of(current) != version:
            raise Conflict("The settings were changed by someone else since this form was shown: nothing was "
                           "saved. Review them and save again.")
        document, paths = rules.apply_changes(model, current, changes)
        changed[:] = paths
        return document

    async with core.store.transaction() as tx:
        document = await tx.change_settings(owner, owner_id, change)
        if document is None:
            raise NotFound(f"Item not found: {owner} {owner_id}")
        if changed:
            await audit.record(core, audit.Event.SETTINGS_CHANGED, caller=caller, actor=actor, store=tx,
                               detail={"scope": owner, f"{owner}Id": owner_id, "paths": changed})
    if changed:
        core.directory.forget()
    return rules.SettingsForm(rules.form_fields(model, document), rules.version_of(document)), changed

