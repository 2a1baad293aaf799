"""Who is calling and for which tenant and site (KIBO_COMPAT section 3), and reading request bodies.

- application: `Authorization: Bearer <app token>` or legacy `x-vol-app-claims`; a ticket JWT alone as
  Bearer names the shopper and the application that issued it, but grants only the shopper's rights;
- tenant and site: `x-vol-tenant` / `x-vol-site`, else a Host of the form `t{T}-s{S}.` or `t{T}.`,
  else the application's tenant and that tenant's default site;
- shopper: `x-vol-user-claims: <ticket accessToken>` (or a ticket JWT), or the Bearer ticket JWT.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, TypeVar

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel, ValidationError
from starlette.responses import Response
from starlette.routing import Route

from ticketbooth.applications.service import TOKEN_USE_SHOPPER, application_for_claims, token_use
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import InvalidAccessToken, InvalidParameter, TicketboothError, Unauthorized
from ticketbooth.domain.models import Shopper
from ticketbooth.kibo import forwarding
from ticketbooth.tickets import service as tickets

_HOST = re.compile(r"^t(\d{1,9})(?:-s(\d{1,9}))?\.", re.IGNORECASE)
MAX_ARRAY_ITEMS = 1000

M = TypeVar("M", bound=BaseModel)
ShopperNeed = Literal["none", "optional", "required", "lenient"]


def core_of(request: Request) -> Core:
    core: Core = request.app.state.core
    return core


@dataclass(frozen=True, slots=True)
class Context:
    caller: Caller
    shopper: Shopper | None


def parse_id(name: str, raw: str | None, low: int = 0, limit: int = 2**63) -> int | None:
    """A numeric id in [low, limit) from a header or the query; empty means absent (clients fill
    URL templates and headers with empty strings)."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if not (text.isascii() and text.isdigit()):  # str.isdigit also takes "²" and "①", which int() refuses
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} must be a number", raw[:50])
    value = int(text)
    if not low <= value < limit:
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} is out of range", raw[:50])
    return value


Endpoint = Callable[[Request], Awaitable[Response]]


def plain_route(router: APIRouter, path: str, method: str) -> Callable[[Endpoint], Endpoint]:
    """Register the decorated function as a plain Starlette route (no FastAPI parameter handling: the hot
    paths read their own with `query`). The route is put in the request's scope as FastAPI does for
    its own, so metrics and the access log name its template."""
    def register(endpoint: Endpoint) -> Endpoint:
        async def named(request: Request) -> Response:
            request.scope["route"] = route
            return await endpoint(request)

        route = Route(path, named, methods=[method], name=endpoint.__name__)
        router.routes.append(route)
        return endpoint

    return register


def query(request: Request, name: str, max_length: int | None = None) -> str | None:
    """A query parameter (the last, when repeated), for routes that read their own parameters."""
    value = request.query_params.get(name)
    if value is not None and max_length is not None and len(value) > max_length:
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} may be at most {max_length} characters",
                               value[:50])
    return value


def _header_int(request: Request, name: str) -> int | None:
    return parse_id(name, request.headers.get(name), low=1, limit=2**31)


def _app_token(request: Request) -> tuple[str | None, str | None]:
    """(application token, Bearer token). The Bearer token may be an app token or a ticket JWT."""
    auth = request.headers.get("authorization", "")
    bearer = auth[7:].strip() if auth[:7].lower() == "bearer " else None
    legacy = request.headers.get("x-vol-app-claims")
    return (legacy.strip() if legacy else bearer), bearer


_NO_SHOPPER = {"", "undefined", "null"}
"""x-vol-user-claims values that mean "no shopper" (Kibo's storefront sends `undefined` on app-only calls)."""
_READS = {"GET", "HEAD", "OPTIONS"}


def _user_claims(request: Request) -> str | None:
    value = request.headers.get("x-vol-user-claims", "").strip()
    return None if value.lower() in _NO_SHOPPER else value


async def resolve(request: Request, *, shopper: ShopperNeed = "none", app_credential: bool = False,
                  writes: bool | None = None) -> Context:
    """The caller, and the shopper when `shopper` is "required" / "optional" (a bad shopper token
    is an error) or "lenient" (a bad shopper token is ignored, as for the anonymous ticket a
    client sends along when logging in).

    A ticket JWT sent alone as Bearer is the shopper's credential: it names the application that
    issued it (for tenant, site and audit) but the caller then holds none of the application's
    behaviors (`Caller.app_credential`). Routes that make or refresh tickets pass `app_credential`:
    they take only the application's own credential, as every Kibo SDK sends for them.

    A ticket JWT is checked without the database, so it outlives the end of its session until it
    expires; for reads that is accepted, but a request that may change something (any method but
    GET/HEAD/OPTIONS) made with a registered shopper's JWT checks that its session is still live.
    `writes` says whether the request may change something when its method does not tell (GraphQL:
    every operation is a POST; a mutation writes, a query reads); None: from the method.

    The one resolution of the caller for every transport: REST routes and GraphQL resolvers call it."""
    core = core_of(request)
    if writes is None:
        writes = request.method not in _READS
    now = core.clock.now()
    token, bearer = _app_token(request)
    if not token:
        raise Unauthorized("Unauthorized: an application token is required")
    claims = await core.keys.verify(token, now)
    use = token_use(token, claims) if claims is not None else None
    if claims is None or use is None:
        raise Unauthorized("Unauthorized: the application token is missing, invalid or expired")
    by_ticket = use == TOKEN_USE_SHOPPER
    if by_ticket and token != bearer:
        raise Unauthorized("Unauthorized: x-vol-app-claims must hold an application token, not a shopper's ticket")
    if by_ticket and app_credential:
        raise Unauthorized("Unauthorized: this call needs the application's own credential (an application token); "
                           "a shopper's ticket is not one")
    app = await application_for_claims(core, claims)

    host_tenant = host_site = None
    match = _HOST.match(request.headers.get("host", ""))
    if match:
        host_tenant = int(match.group(1))
        host_site = int(match.group(2)) if match.group(2) else None
    tenant_id = _header_int(request, "x-vol-tenant") or host_tenant or app.tenant_id
    if tenant_id != app.tenant_id:
        raise Unauthorized(f"Unauthorized: the application is not authorized for tenant {tenant_id}")
    tenant = await core.directory.tenant(tenant_id)
    if tenant is None:
        raise Unauthorized(f"Unauthorized: tenant {tenant_id} does not exist")
    # a ticket JWT sent alone as Bearer acts at the site it was issued for, not the tenant's default
    jwt_site = claims.get("site") if by_ticket else None
    site_id = (_header_int(request, "x-vol-site") or host_site or (jwt_site if isinstance(jwt_site, int) else None)
               or tenant.default_site_id)
    site = await core.directory.site(site_id) if site_id else None
    if site is None or site.tenant_id != tenant.id:
        raise InvalidParameter("x-vol-site", f"Missing or invalid parameter: site {site_id} is not a site of tenant "
                               f"{tenant.id}", site_id)
    address, hops = _client_and_claims(request)
    forwarded = _forwarded_for(request, hops) if app.storefront_server and not by_ticket else ""
    caller = Caller(app=app, tenant=tenant, site=site, client_address=address,
                    user_agent=request.headers.get("user-agent", "")[:300], app_credential=not by_ticket,
                    forwarded_for=forwarded)
    if shopper == "none":
        return Context(caller, None)

    found: Shopper | None = None
    try:
        user_claims = _user_claims(request)
        if by_ticket and user_claims:  # two shoppers' credentials: which one acts is anyone's guess
            raise InvalidAccessToken("Invalid Access Token: send x-vol-user-claims with the application's "
                                     "credential, or the ticket JWT alone")
        if user_claims:
            found = await _shopper_from_token(core, caller, user_claims, now, writes)
        elif by_ticket:
            found = tickets.shopper_from_claims(caller, claims)
            if writes:
                found = await tickets.check_session(core, found)
    except TicketboothError:
        if shopper != "lenient":
            raise
        found = None
    if found is None and shopper == "required":
        raise InvalidAccessToken("Invalid Access Token: a shopper ticket is required")
    return Context(caller, found)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@cache
def trusted_networks(setting: str) -> tuple[Network, ...]:
    """TICKETBOOTH_TRUSTED_PROXIES as networks (a bare address is a network of one)."""
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in setting.split(",") if item.strip())


def _is_trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: Request) -> str:
    """The client's address: the direct peer, unless the peer is a trusted proxy; then the
    right-most address of X-Forwarded-For that is not itself a trusted proxy (what the nearest
    trusted proxy saw; anything to its left is the client's own claim)."""
    return _client_and_claims(request)[0]


def _client_and_claims(request: Request) -> tuple[str, list[str]]:
    """The client's address (`client_address`) and the X-Forwarded-For hops left of it, nearest last:
    what the client itself sent on (a storefront server: the shopper it calls for)."""
    peer = request.client.host if request.client else ""
    hops = [hop.strip() for header in request.headers.getlist("x-forwarded-for") for hop in header.split(",")]
    hops = [hop for hop in hops if hop]
    networks = trusted_networks(core_of(request).settings.trusted_proxies)
    if not networks or not _is_trusted(peer, networks):
        return peer, hops
    for i in range(len(hops) - 1, -1, -1):
        try:
            hop = str(ipaddress.ip_address(hops[i]))
        except ValueError:
            return peer, []  # a malformed hop: believe nothing the proxies passed on
        if not _is_trusted(hop, networks):
            return hop, hops[:i]
    return peer, []


def _forwarded_for(request: Request, claims: list[str]) -> str:
    """The shopper's address the caller forwarded (kibo/forwarding.py), "" for none; believed only from
    a storefront server that proved itself (`Caller`)."""
    return forwarding.forwarded_address(claims, "x-forwarded-for" in request.headers,
                                        request.headers.getlist("forwarded"))


async def _shopper_from_token(core: Core, caller: Caller, token: str, now: Any, writes: bool) -> Shopper:
    """The shopper of x-vol-user-claims: an opaque access token (its session is checked in the store),
    or a ticket JWT (checked in the store too when the request may change something)."""
    if token.count(".") == 2:  # a ticket JWT sent where the opaque access token is expected
        claims = await core.keys.verify(token, now)
        if claims is None or token_use(token, claims) != TOKEN_USE_SHOPPER:
            raise InvalidAccessToken("Invalid Access Token: the shopper access token is not valid")
        found = tickets.shopper_from_claims(caller, claims)
        if writes:
            found = await tickets.check_session(core, found)
        return found
    return await tickets.shopper_from_access_token(core, caller, token)


def lower_keys(value: Any, depth: int = 0, name: str = "body") -> Any:
    """`value` with every object key lower-cased. No string may hold a NUL character: no name, code
    or password has one, and PostgreSQL cannot store one (a 400 naming the field, not a 500)."""
    if depth > 32:
        raise InvalidParameter("body", "Missing or invalid parameter: the JSON body is nested too deeply")
    if isinstance(value, dict):
        lowered = {}
        for k, v in value.items():
            key = str(k)
            if "\x00" in key:
                raise InvalidParameter("body", "Missing or invalid parameter: a name in the body holds a NUL character")
            lowered[key.lower()] = lower_keys(v, depth + 1, key if key.strip() else name)  # blank: the enclosing name
        return lowered
    if isinstance(value, list):
        return [lower_keys(v, depth + 1, f"{name}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str) and "\x00" in value:
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} holds a NUL character")
    return value


async def read_body(request: Request) -> bytes:
    """The whole body. Its size is bounded by `KiboTolerance` (TICKETBOOTH_MAX_BODY_BYTES), which
    stops the read with a 413 as soon as it passes the limit."""
    chunks: list[bytes] = []
    async for chunk in request.stream():
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, model: type[M], *, required: bool = False) -> M:
    """The body as `model`. JSON names compare case-insensitively (the models use lower-case
    aliases); an empty body is an empty object unless `required`; anything malformed is a 400
    naming the field."""
    raw = await read_body(request)
    if required and not raw.strip():
        raise InvalidParameter("body", "Missing or invalid parameter: a JSON body is required")
    if raw.strip():
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise InvalidParameter("body", "Missing or invalid parameter: the body is not valid JSON") from None
    else:
        data = {}
    if not isinstance(data, dict):
        raise InvalidParameter("body", "Missing or invalid parameter: the body must be a JSON object")
    try:
        return model.model_validate(lower_keys(data))
    except ValidationError as exc:
        raise invalid(exc) from None


async def resolve_and_read(request: Request, model: type[M], *, shopper: ShopperNeed = "none",
                           app_credential: bool = False) -> tuple[Context, M]:
    """The caller (`resolve`), then the body as `model` (`read_json`): in this order, so that a caller
    who may not call gets 401 or 403, never a 400 about a body it had no right to send."""
    ctx = await resolve(request, shopper=shopper, app_credential=app_credential)
    return ctx, await read_json(request, model)


def invalid(exc: ValidationError, prefix: str = "") -> InvalidParameter:
    """The first problem pydantic found, as a 400 naming the field (under `prefix`, such as `[2]`)."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"])
    name = f"{prefix}.{field}" if prefix and field else (prefix or field or "body")
    return InvalidParameter(name, f"Missing or invalid parameter: {name} {first['msg'].lower()}")


async def read_array(request: Request, name: str) -> list[Any]:
    """The body as a JSON array (object keys lower-cased, as `read_json` does), at most
    MAX_ARRAY_ITEMS long; `name` is the parameter named in errors."""
    raw = await read_body(request)
    try:
        data = orjson.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError:
        raise InvalidParameter(name, f"Missing or invalid parameter: {name}: the body is not valid JSON") from None
    if not isinstance(data, list):
        raise InvalidParameter(name, f"Missing or invalid parameter: {name}: the body must be a JSON array")
    if len(data) > MAX_ARRAY_ITEMS:
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} may hold at most {MAX_ARRAY_ITEMS} items")
    items: list[Any] = lower_keys(data)
    return items


def item_as(model: type[M], item: Any, name: str) -> M:
    """One array item (already key-lowered) as `model`; a 400 naming `name` and the field otherwise."""
    if not isinstance(item, dict):
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} must be a JSON object")
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        raise invalid(exc, name) from None
