"""The deliverer: runs in every server process (app.py's lifespan, as the mail sender does), dispatches
events into deliveries and sends them.

- Dispatch: each round turns undispatched events into deliveries (webhooks/store.py), one transaction.
- Delivery: claims due deliveries with a lease, at most `webhook_max_in_flight` in this process and at
  most `webhook_endpoint_concurrency` per subscription (a slow or dead endpoint holds only its own slots;
  claims beyond them are given back at once), and sends each as its own task: the loop never waits for
  an endpoint. An attempt is one POST of the delivery's fixed body, signed afresh (Date, x-vol-hmac-sha256,
  webhook-*), to the address the endpoint's name resolves to now, if that address is allowed (public, or
  in `webhook_allowed_networks`): the connection goes to that very address, so a name that resolves
  differently a moment later (DNS rebinding) cannot send it elsewhere. No redirect is followed, no proxy
  from the environment is used, the answer is read up to 1 KiB and thrown away, and the whole attempt,
  connection included, is bounded by `webhook_timeout_seconds`. A 2xx is success; anything else is
  retried with exponential backoff and jitter until `webhook_retry_for_seconds` have passed, then the
  delivery is given up (`failed`) and kept for inspection and redelivery.
- At least once: a process that dies mid-attempt leaves its lease to run out, and another deliverer
  sends the delivery again, with the same body and eventId.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import os
import random
import secrets
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import httpx

from ticketbooth.config import Settings
from ticketbooth.core import Core
from ticketbooth.domain.errors import InvalidParameter, ServiceUnavailable
from ticketbooth.events.rules import TOPICS
from ticketbooth.infra import metrics
from ticketbooth.infra.mail import SealError, tls_context
from ticketbooth.webhooks import rules
from ticketbooth.webhooks.persistence import WebhooksPersistence
from ticketbooth.webhooks.rules import Endpoint, EndpointPolicy, Job
from ticketbooth.webhooks.sealing import open_secret

log = logging.getLogger("ticketbooth.webhooks")

DISPATCH_BATCH = 500
CLAIM_BATCH = 50
HOUSEKEEPING_SECONDS = 3600
LEASE_MARGIN_SECONDS = 5.0
RESOLVE_LIMIT = 16


@functools.lru_cache(maxsize=8)
def _policy(http_hosts: str, networks: str) -> EndpointPolicy:
    return EndpointPolicy.parse(http_hosts, networks)


def endpoint_policy(settings: Settings) -> EndpointPolicy:
    return _policy(settings.webhook_http_hosts, settings.webhook_allowed_networks)


def known_topics() -> Sequence[str]:
    """The topics a subscription may name: the event log's (events/rules.py)."""
    return tuple(TOPICS)


class AttemptError(Exception):
    """Why an attempt failed, in our words (never the receiver's answer, never a secret)."""


async def _addresses(endpoint: Endpoint) -> list[str]:
    literal = endpoint.literal_address()
    if literal is not None:
        return [str(literal)]
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise AttemptError(f"the endpoint's host name does not resolve ({type(exc).__name__})") from None
    out: list[str] = []
    for info in infos[:RESOLVE_LIMIT]:
        address = str(info[4][0]).split("%", 1)[0]
        if address not in out:
            out.append(address)
    if not out:
        raise AttemptError("the endpoint's host name does not resolve")
    return out


async def check_resolves(endpoint: Endpoint, policy: EndpointPolicy) -> None:
    """At subscription time: every address the endpoint's name resolves to must be allowed."""
    try:
        addresses = await _addresses(endpoint)
    except AttemptError as exc:
        raise InvalidParameter("applicationEndPoint", f"Missing or invalid parameter: applicationEndPoint: {exc}",
                               endpoint.url[:200]) from None
    if not all(rules.address_allowed(a, policy) for a in addresses):
        raise InvalidParameter("applicationEndPoint", "Missing or invalid parameter: applicationEndPoint must be a "
                               "public address (loopback, private, link-local and other non-public addresses only "
                               "where the operator allows them)", endpoint.url[:200])


async def allowed_address(endpoint: Endpoint, policy: EndpointPolicy) -> str:
    """At delivery time: the address to connect to, resolved now; AttemptError when none is allowed."""
    for address in await _addresses(endpoint):
        if rules.address_allowed(address, policy):
            return address
    raise AttemptError("the endpoint resolves to a non-public address: not called")


def _worker_name() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass
class RoundResult:
    dispatched: int = 0
    created: int = 0
    claimed: int = 0


class Deliverer:
    """Dispatches events and delivers them, in the background of a server process (`start` / `stop`), or
    one round at a time (`run_once`, then `drain`) for tests and tools."""

    def __init__(self, core: Core, *, worker: str | None = None, rng: random.Random | None = None,
                 store: WebhooksPersistence | None = None) -> None:
        self.core = core
        self.store: WebhooksPersistence = store or core.store
        self.worker = (worker or _worker_name())[:64]
        s = core.settings
        self.timeout = s.webhook_timeout_seconds
        # an attempt ends within the timeout; the lease leaves as long again, and a little, for its bookkeeping
        self.lease = timedelta(seconds=2 * s.webhook_timeout_seconds + LEASE_MARGIN_SECONDS)
        self.per_endpoint = s.webhook_endpoint_concurrency
        self.max_in_flight = s.webhook_max_in_flight
        self._rng = rng or random.Random()
        self._client = httpx.AsyncClient(
            follow_redirects=False, trust_env=False, timeout=httpx.Timeout(self.timeout),
            verify=tls_context(s.webhook_cafile),
            limits=httpx.Limits(max_connections=self.max_in_flight, max_keepalive_connections=0),
        )
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._per_subscription: dict[int, int] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._last_housekeeping = -float(HOUSEKEEPING_SECONDS)

    # -- one round --

    async def run_once(self) -> RoundResult:
        """Dispatch new events, then claim what this process may send now and start sending it."""
        now = self.core.clock.now()
        result = RoundResult()
        result.dispatched, result.created = await self.store.dispatch_events(now, DISPATCH_BATCH)
        free = self.max_in_flight - len(self._in_flight)
        if free <= 0:
            return result
        busy = [sid for sid, n in self._per_subscription.items() if n >= self.per_endpoint]
        jobs = await self.store.claim_deliveries(self.worker, now, now + self.lease, min(free, CLAIM_BATCH), busy)
        result.claimed = len(jobs)
        extra: list[int] = []
        for job in jobs:
            if self._per_subscription.get(job.subscription_id, 0) >= self.per_endpoint:
                extra.append(job.id)
                continue
            self._per_subscription[job.subscription_id] = self._per_subscription.get(job.subscription_id, 0) + 1
            task = asyncio.create_task(self._attempt(job), name=f"ticketbooth-webhook-{job.id}")
            self._in_flight[job.id] = task
            task.add_done_callback(functools.partial(self._done, job))
        if extra:
            await self.store.release_deliveries(self.worker, extra)
        return result

    def _done(self, job: Job, task: asyncio.Task[None]) -> None:
        self._in_flight.pop(job.id, None)
        left = self._per_subscription.get(job.subscription_id, 1) - 1
        if left > 0:
            self._per_subscription[job.subscription_id] = left
        else:
            self._per_subscription.pop(job.subscription_id, None)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("webhook delivery %s not recorded: %s", job.id, type(exc).__name__)
        self._wake.set()  # the entity's next event may be due now

    async def drain(self) -> None:
        """Wait for the attempts in flight (tests)."""
        tasks = list(self._in_flight.values())
        if tasks:
            await asyncio.wait(tasks)

    # -- one attempt --

    async def _attempt(self, job: Job) -> None:
        started = time.perf_counter()
        status: int | None = None
        error = ""
        try:
            secret = _open(self.core, job)
            async with asyncio.timeout(self.timeout):
                policy = endpoint_policy(self.core.settings)
                try:
                    endpoint = rules.parse_endpoint(job.endpoint, policy)
                except InvalidParameter:
                    raise AttemptError("the endpoint URL is no longer allowed by the settings") from None
                address = await allowed_address(endpoint, policy)
                status = await self._post(endpoint, address, job, secret)
            if not 200 <= status < 300:
                error = (f"redirect (HTTP {status}) not followed" if 300 <= status < 400
                         else f"the endpoint answered HTTP {status}")
        except TimeoutError:
            error = f"no answer within {self.timeout:g} s"
        except AttemptError as exc:
            error = str(exc)
        except httpx.HTTPError as exc:
            error = f"the request failed: {type(exc).__name__}"
        except OSError as exc:
            error = f"the request failed: {type(exc).__name__}"
        seconds = time.perf_counter() - started
        await self._record(job, status, error, seconds)

    async def _post(self, endpoint: Endpoint, address: str, job: Job, secret: str) -> int:
        host = f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
        headers = {
            "Host": endpoint.host_header, "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Ticketbooth-Webhooks/1", "x-vol-tenant": str(job.tenant_id),
            **rules.signed_headers(secret, job.event_id, job.body, self.core.clock.now()),
        }
        extensions = {"sni_hostname": endpoint.host} if endpoint.scheme == "https" else {}
        request = self._client.build_request("POST", f"{endpoint.scheme}://{host}:{endpoint.port}{endpoint.target}",
                                             headers=headers, content=job.body.encode("utf-8"),
                                             extensions=extensions)
        response = await self._client.send(request, stream=True)
        try:
            read = 0
            async for chunk in response.aiter_raw():
                read += len(chunk)
                if read >= rules.RESPONSE_READ_CAP:
                    break
        finally:
            await response.aclose()
        return response.status_code

    async def _record(self, job: Job, status: int | None, error: str, seconds: float) -> None:
        now = self.core.clock.now()
        metrics.webhook_attempt(seconds)
        if not error and status is not None:
            if await self.store.mark_delivered(job.id, self.worker, now, status):
                metrics.webhook_delivered((now - job.created_at).total_seconds())
                log.info("webhook delivery %s (event %s) delivered to subscription %s, attempt %d",
                         job.id, job.event_id, job.subscription_id, job.attempts)
            else:
                log.warning("webhook delivery %s delivered after its claim ran out; it may arrive twice", job.id)
            return
        give_up = rules.gives_up(job.retry_since, now, self.core.settings.webhook_retry_for_seconds)
        retry_at = None if give_up else now + rules.retry_delay(job.attempts, self._rng,
                                                                 self.core.settings.webhook_retry_seconds)
        await self.store.mark_attempt_failed(job.id, self.worker, now, status, error, retry_at)
        if give_up:
            metrics.webhook_failed()
            log.error("webhook delivery %s (event %s) to subscription %s given up after %d attempt(s): %s",
                      job.id, job.event_id, job.subscription_id, job.attempts, error)
        else:
            metrics.webhook_retried()
            log.warning("webhook delivery %s to subscription %s failed (attempt %d), retry at %s: %s",
                        job.id, job.subscription_id, job.attempts, retry_at.isoformat() if retry_at else "-", error)

    async def housekeeping(self) -> None:
        now = self.core.clock.now()
        await self.store.purge_deliveries(now - timedelta(days=self.core.settings.event_retention_days))

    # -- in the background --

    def start(self) -> None:
        if self._task is None:
            log.info("webhook deliverer %s started", self.worker)
            self._task = asyncio.create_task(self._run(), name="ticketbooth-webhook-deliverer")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self, grace: float = 10.0) -> None:
        """Stop claiming, let the attempts in flight finish (up to `grace` seconds), cancel the rest and give
        their claims back, and close the HTTP client."""
        self._stopping = True
        task, self._task = self._task, None
        self._wake.set()
        if task is not None:
            _, pending = await asyncio.wait({task}, timeout=grace)
            for t in pending:
                t.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await t
        tasks = list(self._in_flight.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for t in pending:
                t.cancel()
            if pending:
                await asyncio.wait(pending)
        with contextlib.suppress(Exception):
            released = await self.store.release_deliveries(self.worker)
            if released:
                log.info("webhook deliverer %s gave back %d claimed deliveries", self.worker, released)
        await self._client.aclose()

    async def _run(self) -> None:
        poll = self.core.settings.webhook_poll_seconds
        while not self._stopping:
            busy = False
            try:
                if time.monotonic() - self._last_housekeeping >= HOUSEKEEPING_SECONDS:
                    self._last_housekeeping = time.monotonic()
                    await self.housekeeping()
                result = await self.run_once()
                busy = result.dispatched >= DISPATCH_BATCH or result.claimed >= CLAIM_BATCH
            except asyncio.CancelledError:
                raise
            except ServiceUnavailable:
                log.warning("webhook deliverer: the database cannot be reached; trying again in %g s", poll)
            except Exception:  # keep the deliverer alive
                log.exception("webhook deliverer: round failed; trying again shortly")
            if not busy and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), poll)
                self._wake.clear()


def _open(core: Core, job: Job) -> str:
    try:
        return open_secret(core, job.tenant_id, job.client_id, job.secret)
    except SealError:
        raise AttemptError("the subscription's secret cannot be opened with this server secret") from None
