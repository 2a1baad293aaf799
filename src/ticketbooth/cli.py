"""The `ticketbooth` command. Every command migrates the database first, is idempotent, prints
JSON, and exits non-zero with a clear message on bad input."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ticketbooth.applications import admin
from ticketbooth.applications import service as applications
from ticketbooth.config import PROMETHEUS_MULTIPROC_ENV, Settings
from ticketbooth.core import Core, open_core
from ticketbooth.domain.errors import TicketboothError
from ticketbooth.infra.logging import log_config
from ticketbooth.staff import commands as staff_commands
from ticketbooth.webhooks import routes as webhook_wire
from ticketbooth.webhooks import service as webhook_flows

DEMO_TENANT, DEMO_SITE, DEMO_CLIENT = 100, 200, "demo.app"
DEMO_PASSKEY_ORIGIN = "http://localhost:3000"
"""Passkeys at the demo site: for a storefront under development at this origin (relying party `localhost`)."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ticketbooth", description="Shopper identity service (Kibo-compatible).")
    sub = p.add_subparsers(dest="command", required=True)

    sub.add_parser("migrate", help="create or upgrade the database schema")

    serve = sub.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--demo", action="store_true", help="seed the demo tenant and app first and print how to call it")

    tenant = sub.add_parser("tenant", help="tenants and sites").add_subparsers(dest="action", required=True)
    tc = tenant.add_parser("create", help="create a tenant, or add a site to an existing tenant")
    tc.add_argument("--tenant-id", type=int, required=True)
    tc.add_argument("--site-id", type=int, required=True)
    tc.add_argument("--name")
    tc.add_argument("--customer-set", help="code of the customer set a new site joins (default: the tenant's default)")
    _settings_parser(tenant.add_parser("settings", help="print a tenant's effective settings as JSON, after changing them"),
                     "TENANT_ID")
    site = sub.add_parser("site", help="sites").add_subparsers(dest="action", required=True)
    _settings_parser(site.add_parser("settings", help="print a site's effective settings as JSON, after changing them"),
                     "SITE_ID")

    app = sub.add_parser("app", help="applications (API clients)").add_subparsers(dest="action", required=True)
    ac = app.add_parser("create", help="create or update an application")
    ac.add_argument("--tenant-id", type=int, required=True)
    ac.add_argument("--client-id", required=True)
    ac.add_argument("--client-secret", required=True)
    ac.add_argument("--behavior", action="append", default=[])
    ac.add_argument("--name")
    ac.add_argument("--disabled", action="store_true")
    ac.add_argument("--storefront-server", action=argparse.BooleanOptionalAction, default=None,
                    help="the application is a storefront's server calling for all its shoppers: rate limit its "
                         "calls per shopper address it forwards (X-Forwarded-For), else against a budget of its "
                         "own (rate_limits.<class>.per_storefront_server), not per its own address; "
                         "omitted: unchanged (a new application: no)")

    customer = sub.add_parser("customer", help="customer accounts").add_subparsers(dest="action", required=True)
    cc = customer.add_parser("create", help="create a customer account with a login")
    cc.add_argument("--tenant-id", type=int, required=True)
    cc.add_argument("--site-id", type=int)
    cc.add_argument("--email", required=True)
    cc.add_argument("--password", required=True)
    cc.add_argument("--first-name")
    cc.add_argument("--last-name")

    staff = sub.add_parser("staff", help="staff of the web console").add_subparsers(dest="action", required=True)
    sc = staff.add_parser("create", help="create a staff member and print their single-use enrolment link")
    sc.add_argument("--email", required=True)
    sc.add_argument("--role", required=True, choices=["viewer", "support", "admin"])
    sc.add_argument("--tenant-id", type=int, help="default: TICKETBOOTH_CONSOLE_TENANT_ID, else the lowest tenant id")
    sl = staff.add_parser("list", help="list the staff of a tenant")
    sl.add_argument("--tenant-id", type=int)
    for name, what in (("disable", "disable a staff member (their sessions end)"), ("enable", "enable a staff member"),
                       ("reset-2fa", "drop a staff member's password, TOTP and recovery codes; print a new "
                                     "enrolment link"),
                       ("sessions", "list a staff member's live console sessions")):
        staff.add_parser(name, help=what).add_argument("--email", required=True)
    sr = staff.add_parser("revoke", help="end console sessions: all of a staff member's, or one by id")
    target = sr.add_mutually_exclusive_group(required=True)
    target.add_argument("--email")
    target.add_argument("--session-id", type=int)
    hook = sub.add_parser("webhook", help="event subscriptions (push delivery of events)").add_subparsers(
        dest="action", required=True)
    wa = hook.add_parser("add", help="subscribe an application's endpoint to topics; prints the signing secret once")
    wa.add_argument("--tenant-id", type=int, required=True)
    wa.add_argument("--client-id", required=True, help="the subscribing application")
    wa.add_argument("--url", required=True, help="the endpoint: https (http only for TICKETBOOTH_WEBHOOK_HTTP_HOSTS)")
    wa.add_argument("--topic", action="append", required=True, help="a topic, e.g. customeraccount.created (repeatable)")
    wa.add_argument("--paused", action="store_true", help="create it paused (Kibo's noCallback)")
    wl = hook.add_parser("list", help="the subscriptions (of one tenant)")
    wl.add_argument("--tenant-id", type=int)
    wr = hook.add_parser("remove", help="delete a subscription and its deliveries")
    wr.add_argument("subscription_id", type=int)
    wd = hook.add_parser("deliveries", help="a subscription's deliveries, newest first")
    wd.add_argument("subscription_id", type=int)
    wd.add_argument("--status", choices=["pending", "delivered", "failed"])
    wd.add_argument("--start", type=int, default=0)
    wd.add_argument("--size", type=int, default=20)
    wx = hook.add_parser("redeliver", help="send a delivery again (same body and eventId)")
    wx.add_argument("subscription_id", type=int)
    wx.add_argument("delivery_id", type=int)

    keys = sub.add_parser("keys", help="JWT signing keys").add_subparsers(dest="action", required=True)
    keys.add_parser("rotate", help="add a new signing key; retired keys stay published until their tokens expire")
    return p


def _settings_parser(p: argparse.ArgumentParser, metavar: str) -> None:
    p.add_argument("owner_id", type=int, metavar=metavar)
    p.add_argument("--set", dest="assignments", action="append", default=[], metavar="PATH=VALUE",
                   help="change one setting, e.g. password.min_length=12 or lockout.lock_minutes=0; VALUE is JSON "
                        "when it parses as JSON, else text (repeatable)")
    p.add_argument("--unset", dest="removals", action="append", default=[], metavar="PATH",
                   help="take a setting back to its default (repeatable)")


async def _with_core(settings: Settings, fn: Callable[[Core], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    core = await open_core(settings)
    try:
        return await fn(core)
    finally:
        await core.close()


def _demo_secret_file(settings: Settings) -> Path:
    return Path(os.getcwd()) / "var" / "demo-app-secret"


async def seed_demo(core: Core) -> dict[str, Any]:
    """Tenant 100, site 200 and the application demo.app. The generated secret is kept in
    var/demo-app-secret (mode 600) so later runs can print the same curl line. The site gets passkeys for a
    storefront at http://localhost:3000 unless its passkey settings were set already."""
    await admin.ensure_tenant(core, DEMO_TENANT, DEMO_SITE, "Demo")
    stored = await core.store.stored_settings("site", DEMO_SITE)
    if stored is not None and "passkeys" not in stored:
        await admin.settings_of(core, "site", DEMO_SITE, ['passkeys.rp_id="localhost"',
                                                          f'passkeys.origins=["{DEMO_PASSKEY_ORIGIN}"]'])
    secret_file = _demo_secret_file(core.settings)
    app = await core.store.get_application(DEMO_CLIENT)
    secret = secret_file.read_text().strip() if secret_file.exists() else ""
    if app is None or not secret or not await applications.secret_matches(core, app, secret):
        secret = secrets.token_urlsafe(24)
        await admin.save_application(core, DEMO_TENANT, DEMO_CLIENT, secret, [], "Demo storefront")
        secret_file.parent.mkdir(parents=True, exist_ok=True)
        secret_file.write_text(secret + "\n")
        secret_file.chmod(0o600)
    return {"tenantId": DEMO_TENANT, "siteId": DEMO_SITE, "clientId": DEMO_CLIENT, "clientSecret": secret}


def _demo_instructions(demo: dict[str, Any], base: str) -> str:
    return f"""
Ticketbooth demo: tenant {demo['tenantId']}, site {demo['siteId']}
  client_id:     {demo['clientId']}
  client_secret: {demo['clientSecret']}

Get an application token, then an anonymous shopper ticket:

  TOKEN=$(curl -s -X POST {base}/api/platform/applications/authtickets/oauth \\
    -H 'Content-Type: application/json' \\
    -d '{{"client_id":"{demo['clientId']}","client_secret":"{demo['clientSecret']}","grant_type":"client_credentials"}}' \\
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  curl -s {base}/api/commerce/customer/authtickets/anonymousshopper \\
    -H "Authorization: Bearer $TOKEN" -H 'x-vol-tenant: {demo['tenantId']}' -H 'x-vol-site: {demo['siteId']}'

Passkeys are on for a storefront at {DEMO_PASSKEY_ORIGIN} (README "Passkeys").
The staff console is at {base}/console: `ticketbooth staff create --email you@example.com --role admin`
prints a one-time enrolment link for it.
"""


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    if args.workers > 1 and not settings.redis_url:
        # each process would keep its own rate limits and per-address lockout counts: N times the limits
        print(json.dumps({"error": "--workers above 1 needs TICKETBOOTH_REDIS_URL: rate limits and lockout counts "
                                   "must be shared by every process"}), file=sys.stderr)
        return 2
    if "public_host" not in settings.model_fields_set:
        # Unless told otherwise, clients reach us where we listen. Worker processes read their
        # settings from the environment, so that is where this default goes.
        settings.public_host = f"{args.host}:{args.port}"
        os.environ["TICKETBOOTH_PUBLIC_HOST"] = settings.public_host

    async def prepare() -> dict[str, Any] | None:
        core = await open_core(settings)  # migrates once, before any worker starts
        try:
            return await seed_demo(core) if args.demo else None
        finally:
            await core.close()

    demo = asyncio.run(prepare())
    if demo is not None:
        print(_demo_instructions(demo, f"http://{args.host}:{args.port}"), flush=True)
    print(_mail_note(settings), flush=True)
    metrics_dir = _share_metrics(settings, args.workers)
    _stop_quietly()
    try:
        uvicorn.run(
            "ticketbooth.app:create_app", factory=True, host=args.host, port=args.port, workers=args.workers,
            log_level=settings.log_level, proxy_headers=False, server_header=False, access_log=False,
            timeout_graceful_shutdown=30, log_config=_log_config(settings),
            ssl_certfile=settings.tls_certfile or None, ssl_keyfile=settings.tls_keyfile or None,
        )
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _share_metrics(settings: Settings, workers: int) -> str | None:
    """With several worker processes, a fresh directory through which prometheus-client adds up
    every worker's metrics (see infra/metrics.py), named in PROMETHEUS_MULTIPROC_DIR for the workers
    to inherit; returned so it is removed at exit. None with one process, or when the operator set
    PROMETHEUS_MULTIPROC_DIR (`settings.metrics_multiprocess_dir`; theirs to empty before each start).
    The one place that sets it: prometheus-client reads the variable itself, at import, in each worker,
    and the workers' settings read it too."""
    if workers <= 1 or settings.metrics_multiprocess_dir:
        return None
    path = tempfile.mkdtemp(prefix="ticketbooth-metrics-")
    os.environ[PROMETHEUS_MULTIPROC_ENV] = path
    return path


def _stop_quietly() -> None:
    """SIGTERM and SIGINT stop the server gracefully (uvicorn stops accepting, lets in-flight requests
    finish for up to 30 s, runs the shutdown) and the process then exits 0. uvicorn raises the
    signal again once it is done, for the previous handler; this is that handler, and it does
    nothing, so a requested stop is a clean exit rather than death by signal."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: None)


def _mail_note(settings: Settings) -> str:
    if settings.smtp_host:
        return f"Mail: sent through SMTP {settings.smtp_host}:{settings.smtp_port}"
    return (f"Mail: no SMTP server configured (TICKETBOOTH_SMTP_HOST); messages are written as .eml files to "
            f"{settings.mail_dir}")


def _log_config(settings: Settings) -> dict[str, Any]:
    """uvicorn's loggers and the service's own (`ticketbooth.*`) on one handler, in every worker: one
    JSON object per line (TICKETBOOTH_LOG_FORMAT=json, the default) or plain text."""
    return log_config(settings.log_level, settings.log_format)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        print(json.dumps({"error": f"bad configuration: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}"}),
              file=sys.stderr)
        return 2
    command = args.command
    try:
        if command == "serve":
            return _serve(settings, args)
        actions: dict[tuple[str, str | None], Callable[[Core], Awaitable[dict[str, Any]]]] = {
            ("migrate", None): lambda core: _migrated(core),
            ("tenant", "create"): lambda core: admin.ensure_tenant(
                core, args.tenant_id, args.site_id, args.name, args.customer_set),
            ("app", "create"): lambda core: admin.save_application(
                core, args.tenant_id, args.client_id, args.client_secret, args.behavior, args.name, not args.disabled,
                args.storefront_server),
            ("customer", "create"): lambda core: admin.ensure_customer(
                core, args.tenant_id, args.site_id, args.email, args.password, args.first_name, args.last_name),
            ("keys", "rotate"): admin.rotate_keys,
            **staff_commands.actions(args),
            ("webhook", "add"): lambda core: _webhook_add(core, args),
            ("webhook", "list"): lambda core: _webhook_list(core, args.tenant_id),
            ("webhook", "remove"): lambda core: _webhook_remove(core, args.subscription_id),
            ("webhook", "deliveries"): lambda core: _webhook_deliveries(core, args),
            ("webhook", "redeliver"): lambda core: _webhook_redeliver(core, args.subscription_id, args.delivery_id),
            ("tenant", "settings"): lambda core: admin.settings_of(
                core, "tenant", args.owner_id, args.assignments, args.removals),
            ("site", "settings"): lambda core: admin.settings_of(
                core, "site", args.owner_id, args.assignments, args.removals),
        }
        result = asyncio.run(_with_core(settings, actions[(command, getattr(args, "action", None))]))
    except TicketboothError as exc:
        print(json.dumps({"error": exc.message}), file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(json.dumps({"error": str(exc)}), file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


async def _webhook_add(core: Core, args: argparse.Namespace) -> dict[str, Any]:
    app = await core.store.get_application(args.client_id)
    if app is None or app.tenant_id != args.tenant_id:
        raise ValueError(f"no application {args.client_id!r} in tenant {args.tenant_id}")
    sub, secret = await webhook_flows.create(core, None, args.url, list(args.topic), no_callback=args.paused,
                                             tenant_id=args.tenant_id, client_id=args.client_id)
    return {**webhook_wire.subscription(sub), "tenantId": sub.tenant_id, "clientId": sub.client_id,
            "sharedSecret": secret}


async def _webhook_list(core: Core, tenant_id: int | None) -> dict[str, Any]:
    subs = await webhook_flows.listing(core, None, tenant_id)
    return {"items": [{**webhook_wire.subscription(s), "tenantId": s.tenant_id, "clientId": s.client_id}
                      for s in subs]}


async def _webhook_remove(core: Core, subscription_id: int) -> dict[str, Any]:
    await webhook_flows.delete(core, None, subscription_id)
    return {"deleted": subscription_id}


async def _webhook_deliveries(core: Core, args: argparse.Namespace) -> dict[str, Any]:
    items, total = await webhook_flows.deliveries(core, None, args.subscription_id, args.status, args.start, args.size)
    return {"totalCount": total, "items": [webhook_wire.delivery(d) for d in items]}


async def _webhook_redeliver(core: Core, subscription_id: int, delivery_id: int) -> dict[str, Any]:
    return webhook_wire.delivery(await webhook_flows.redeliver(core, None, subscription_id, delivery_id))


async def _migrated(core: Core) -> dict[str, Any]:
    return {"migrated": True, "database": core.store.dialect}
