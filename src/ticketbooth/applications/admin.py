"""Setting up tenants, sites, applications and customers (used by the CLI). Each operation is
idempotent: running it again with the same input leaves the same state and says what is there."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from ticketbooth.applications import service as applications
from ticketbooth.audit import service as audit
from ticketbooth.core import Core, rotate_signing_key
from ticketbooth.domain.errors import Conflict, InvalidParameter
from ticketbooth.domain.models import KNOWN_BEHAVIORS, NewAccount, Profile, SettingsOwner
from ticketbooth.domain.policies import SiteSettings, TenantSettings, login_key, user_inputs
from ticketbooth.domain.text import clean_email, clean_username
from ticketbooth.events import rules as topics
from ticketbooth.events import service as events
from ticketbooth.infra.tokens import new_hex
from ticketbooth.login.passwords import password_problems, strength_problems


def _positive(name: str, value: int) -> None:
    if not 0 < value < 2**31:
        raise InvalidParameter(name, f"{name} must be a positive 32-bit number")


async def ensure_tenant(core: Core, tenant_id: int, site_id: int, name: str | None = None,
                        customer_set: str | None = None) -> dict[str, Any]:
    """The tenant with `site_id` among its sites, creating either as needed. A new site joins the
    customer set `customer_set` (created if missing), else the tenant's default set."""
    _positive("tenant-id", tenant_id)
    _positive("site-id", site_id)
    created_tenant = created_site = False
    tenant = await core.store.get_tenant(tenant_id)
    if tenant is None:
        await core.store.create_tenant(tenant_id, name or f"Tenant {tenant_id}", TenantSettings(), core.clock.now())
        created_tenant = True
        tenant = await core.store.get_tenant(tenant_id)
        assert tenant is not None
    if customer_set is not None and not (0 < len(customer_set) <= 100 and customer_set.isprintable()):
        raise InvalidParameter("customer-set", "customer-set must be 1-100 printable characters")
    set_id = tenant.default_customer_set_id
    if customer_set:
        async with core.store.transaction() as tx:
            set_id, created_set = await tx.claim_customer_set(tenant_id, customer_set, core.clock.now())
            if created_set:
                await events.publish(core, tx, topics.CUSTOMER_SET_CREATED, entity_id=set_id, tenant_id=tenant_id)
    site = await core.store.get_site(site_id)
    if site is None:
        await core.store.create_site(site_id, tenant_id, set_id, f"Site {site_id}", core.clock.now())
        created_site = True
    elif site.tenant_id != tenant_id:
        raise Conflict(f"site {site_id} already belongs to tenant {site.tenant_id}")
    elif site.customer_set_id != set_id and customer_set is not None:
        raise Conflict(f"site {site_id} already belongs to another customer set")
    core.directory.forget()
    sites = await core.store.list_sites(tenant_id)
    return {
        "tenantId": tenant_id, "name": tenant.name, "createdTenant": created_tenant, "createdSite": created_site,
        "sites": [{"id": s.id, "customerSetId": s.customer_set_id} for s in sites],
    }


async def save_application(core: Core, tenant_id: int, client_id: str, secret: str, behaviors: list[str],
                           name: str | None = None, enabled: bool = True,
                           storefront_server: bool | None = None) -> dict[str, Any]:
    """Create or update an application. `storefront_server` None keeps what the application has (a new
    one: not a storefront server), so saving it again, say with a new secret, does not drop the flag."""
    if await core.store.get_tenant(tenant_id) is None:
        raise InvalidParameter("tenant-id", f"tenant {tenant_id} does not exist; create it first")
    if not client_id or len(client_id) > 200 or any(c.isspace() for c in client_id):
        raise InvalidParameter("client-id", "client-id must be 1-200 characters without spaces")
    if len(secret) < 16:
        raise InvalidParameter("client-secret", "client-secret must be at least 16 characters")
    unknown = sorted(set(behaviors) - KNOWN_BEHAVIORS)
    if unknown:
        raise InvalidParameter("behavior", f"unknown behavior {unknown[0]!r}; known: {', '.join(sorted(KNOWN_BEHAVIORS))}")
    existing = await core.store.get_application(client_id)
    if existing is not None and existing.tenant_id != tenant_id:
        raise Conflict(f"application {client_id} belongs to tenant {existing.tenant_id}")
    if existing is not None and await applications.secret_matches(core, existing, secret):
        secret_hash = existing.secret_hash  # the same secret: an Argon2 hash of an earlier version stays until used
    else:
        secret_hash = applications.hash_secret(core, secret)
    if storefront_server is None:
        storefront_server = existing is not None and existing.storefront_server
    app = await core.store.save_application(client_id, tenant_id, name or client_id, secret_hash, behaviors,
                                            enabled, core.clock.now(), storefront_server)
    core.directory.forget()
    return {"clientId": app.client_id, "tenantId": app.tenant_id, "behaviors": sorted(app.behaviors),
            "enabled": app.enabled, "storefrontServer": app.storefront_server, "created": existing is None}


async def ensure_customer(core: Core, tenant_id: int, site_id: int | None, email: str, password: str,
                          first_name: str | None = None, last_name: str | None = None) -> dict[str, Any]:
    tenant = await core.store.get_tenant(tenant_id)
    if tenant is None:
        raise InvalidParameter("tenant-id", f"tenant {tenant_id} does not exist; create it first")
    customer_set_id = tenant.default_customer_set_id
    if site_id is not None:
        site = await core.store.get_site(site_id)
        if site is None or site.tenant_id != tenant_id:
            raise InvalidParameter("site-id", f"site {site_id} is not a site of tenant {tenant_id}")
        customer_set_id = site.customer_set_id
    clean = clean_email(email, required=True, name="email")
    assert clean is not None
    username = clean_username(None, clean)
    found = await core.store.find_login(customer_set_id, login_key(clean))
    if found is not None:
        account = found[0]
        return {"accountId": account.id, "userId": account.user_id, "emailAddress": account.email,
                "created": False, "note": "account exists; its password was not changed"}
    policy = tenant.settings.password
    problems = password_problems(password, policy) + await strength_problems(
        password, policy, user_inputs(clean, username, first_name, last_name))
    if problems:
        raise InvalidParameter("password", "password " + "; ".join(problems))
    new = NewAccount(
        tenant_id=tenant_id, customer_set_id=customer_set_id, user_id=new_hex(16), email=clean,
        email_key=login_key(clean), username=username, username_key=login_key(username),
        password_hash=await core.hashing.hash(password), profile=Profile(first_name=first_name, last_name=last_name),
        created_by="cli",
    )
    account_id = await core.store.insert_account(new, core.clock.now())
    return {"accountId": account_id, "userId": new.user_id, "emailAddress": clean, "created": True}


async def rotate_keys(core: Core) -> dict[str, Any]:
    kid = await rotate_signing_key(core.store, core.clock, core.settings.key_reload_seconds)
    keys = await core.store.published_keys(core.clock.now())
    return {"activeKid": kid, "published": [
        {"kid": k.kid, "retiredAt": k.retired_at.isoformat() if k.retired_at else None,
         "publishUntil": k.publish_until.isoformat() if k.publish_until else None} for k in keys
    ]}


# -- tenant and site settings ------------------------------------------------------------------------

_SETTING_PATH = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$")


def _setting_path(text: str, name: str) -> list[str]:
    if not _SETTING_PATH.match(text):
        raise InvalidParameter(name, f"{name}: {text!r} is not a settings path such as password.min_length")
    return text.split(".")


def _setting_value(text: str) -> Any:
    """VALUE of `--set path=VALUE`: JSON when it parses as JSON (12, true, null, ["always"],
    "quoted"), else the text itself (so mail.from_address=shop@example.com needs no quotes)."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def changed_settings(document: dict[str, Any], model: type[BaseModel], assignments: Sequence[str] = (),
                     removals: Sequence[str] = ()) -> dict[str, Any]:
    """`document` (a stored settings document) with each `path=VALUE` of `assignments` set and each
    path of `removals` taken out (back to its default), validated by `model` as a whole: a bad path
    or value is a 400 naming the field and the rule, and nothing changes. Only what is set is kept,
    so defaults not set stay defaults when a later version changes them."""
    changed: dict[str, Any] = json.loads(json.dumps(document))
    for path_text in removals:
        *parents, last = _setting_path(path_text, "unset")
        node: Any = changed
        for key in parents:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(last, None)
    for assignment in assignments:
        path_text, equals, value_text = assignment.partition("=")
        if not equals:
            raise InvalidParameter("set", f"set: {assignment!r} is not path=VALUE")
        *parents, last = _setting_path(path_text.strip(), "set")
        node = changed
        for key in parents:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        node[last] = _setting_value(value_text)
    try:
        model.model_validate(changed)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "settings"
        raise InvalidParameter("set", f"{where}: {error['msg']}") from None
    return changed


async def settings_of(core: Core, owner: SettingsOwner, owner_id: int, assignments: Sequence[str] = (),
                      removals: Sequence[str] = ()) -> dict[str, Any]:
    """The effective settings (defaults filled in) of a tenant (`owner` "tenant", TenantSettings) or a
    site ("site", SiteSettings), after applying `assignments` (`path=VALUE`) and `removals` (paths)
    when any are given. A change is stored atomically, written to the audit trail (paths only) and
    seen by this process at once; server processes see it within their directory cache time
    (`app_cache_seconds`)."""
    _positive(f"{owner}-id", owner_id)
    model: type[BaseModel] = TenantSettings if owner == "tenant" else SiteSettings
    if assignments or removals:
        document = await core.store.change_settings(
            owner, owner_id,
            lambda stored: changed_settings(stored, model, assignments, removals))
    else:
        document = await core.store.stored_settings(owner, owner_id)
    if document is None:
        raise InvalidParameter(f"{owner}-id", f"{owner} {owner_id} does not exist")
    tenant_id = owner_id
    if owner == "site":
        site = await core.store.get_site(owner_id)
        assert site is not None
        tenant_id = site.tenant_id
    if assignments or removals:
        core.directory.forget()
        paths = sorted({a.partition("=")[0].strip() for a in assignments} | set(removals))
        await audit.record(core, audit.Event.SETTINGS_CHANGED, tenant_id=tenant_id, actor="cli",
                           detail={"scope": owner, f"{owner}Id": owner_id, "paths": paths})
    effective = model.model_validate(document).model_dump(mode="json")
    return {f"{owner}Id": owner_id, **({"tenantId": tenant_id} if owner == "site" else {}), "settings": effective}
