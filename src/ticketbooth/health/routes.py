"""Operations: liveness (`/healthz`), readiness (`/readyz`), Prometheus metrics (`/metrics`), and the
middleware that measures (and, when asked, logs) every request.

None of these needs an application credential. `/healthz` answers as long as the process serves
HTTP; `/readyz` also asks the database (`SELECT 1`) and Redis (`PING`, when configured), each with a
short timeout, and answers 503 naming what is down (when ready, it also says how many webhook deliveries
are waiting, `webhookBacklog`); `/metrics` is served only
to a caller with the Bearer token TICKETBOOTH_METRICS_TOKEN (without that setting, to nobody: 404).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ticketbooth.domain.errors import NotFound, Unauthorized
from ticketbooth.infra import metrics
from ticketbooth.infra.logging import ACCESS_LOGGER
from ticketbooth.kibo.context import client_address, core_of
from ticketbooth.kibo.errors import envelope
from ticketbooth.kibo.wire import KiboJSON

router = APIRouter(tags=["Operations"])
log = logging.getLogger("ticketbooth.health")
access_log = logging.getLogger(ACCESS_LOGGER)

CHECK_TIMEOUT_SECONDS = 2.0
"""How long /readyz waits for the database, and for Redis, before calling it down."""


@router.get("/healthz", summary="Liveness: the process serves HTTP")
async def healthz() -> KiboJSON:
    return KiboJSON({"status": "ok"})


@router.get("/readyz", summary="Readiness: the database and Redis (when configured) answer")
async def readyz(request: Request) -> KiboJSON:
    core = core_of(request)
    database, redis = await asyncio.gather(_database(core.store.ping), _redis(core.settings.redis_url))
    checks = {"database": database, "redis": redis}
    down = [name for name, state in checks.items() if state not in ("ok", "not configured")]
    if not down:
        return KiboJSON({"status": "ready", **checks, "webhookBacklog": await _webhook_backlog(core)})
    return envelope(request, 503, "SERVICE_UNAVAILABLE",
                    f"Service Unavailable: {' and '.join(down)} not reachable",
                    [{"name": name, "value": state} for name, state in checks.items()], headers={"Retry-After": "1"})


async def _database(ping: Any) -> str:
    try:
        await asyncio.wait_for(ping(), CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return "timeout"
    except Exception as exc:  # any failure means not ready; say which kind, never the URL
        log.warning("readiness: database check failed: %s", type(exc).__name__)
        return "unreachable"
    return "ok"


async def _webhook_backlog(core: Any) -> int | None:
    """Webhook deliveries waiting and events not yet dispatched: a detail, not a readiness condition (a
    receiver that is down must not take this service out of its load balancer). None: not measured."""
    try:
        return int(await asyncio.wait_for(core.store.webhook_backlog(), CHECK_TIMEOUT_SECONDS))
    except Exception as exc:
        log.warning("readiness: webhook backlog not measured: %s", type(exc).__name__)
        return None


async def _redis(url: str) -> str:
    if not url:
        return "not configured"
    try:
        from redis.asyncio import Redis
    except ImportError:  # pragma: no cover - redis is a dependency
        return "client not installed"
    client = Redis.from_url(url, socket_connect_timeout=CHECK_TIMEOUT_SECONDS, socket_timeout=CHECK_TIMEOUT_SECONDS)
    try:
        await asyncio.wait_for(client.ping(), CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return "timeout"
    except Exception as exc:
        log.warning("readiness: redis check failed: %s", type(exc).__name__)
        return "unreachable"
    finally:
        await client.aclose()
    return "ok"


@router.get("/metrics", summary="Prometheus metrics")
async def prometheus_metrics(request: Request) -> Response:
    core = core_of(request)
    if not core.settings.metrics_enabled:
        raise NotFound("Item not found: metrics are turned off (TICKETBOOTH_METRICS_ENABLED)")
    token = core.settings.metrics_token
    if not token:
        raise NotFound("Item not found: metrics are served only when TICKETBOOTH_METRICS_TOKEN is set")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise Unauthorized("Unauthorized: /metrics needs the metrics token as a Bearer token")
    try:
        backlog: int | None = await asyncio.wait_for(core.store.outbox_backlog(), CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # the rest of the metrics are still worth having
        log.warning("metrics: outbox backlog not measured: %s", type(exc).__name__)
        backlog = None
    webhook_backlog = await _webhook_backlog(core)
    return Response(metrics.render(backlog, core.settings.metrics_multiprocess_dir, webhook_backlog),
                    media_type=metrics.CONTENT_TYPE)


class RequestMetrics:
    """Counts and times every HTTP request by method, route template and status; with `access_log`,
    also logs it (method, route template, status, duration, client address: never the path's
    values, the query or the body, which may hold tokens). Sits inside `KiboTolerance`, so it sees
    the folded path and the route the router matched."""

    def __init__(self, app: ASGIApp, access_log: bool = False) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when the app raises before answering

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None)
            metrics.observe_request(scope["method"], route, status, seconds)
            if self.access_log:
                self._log(scope, route, status, seconds)

    def _log(self, scope: Scope, route: str | None, status: int, seconds: float) -> None:
        try:
            client = client_address(Request(scope))
        except Exception:  # no app state (never in the service): the direct peer
            client = scope["client"][0] if scope.get("client") else ""
        method = scope["method"] if scope["method"] in metrics.METHODS else "other"
        route = route or metrics.UNMATCHED
        access_log.info("%s %s %d", method, route, status, extra={"fields": {
            "method": method, "route": route, "status": status, "duration_ms": round(seconds * 1000, 2),
            "client": client,
        }})
