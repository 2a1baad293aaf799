"""/healthz and /readyz over HTTP: liveness is trivial; readiness asks the database and Redis for
real (a real Redis at 127.0.0.1:6379, a port nobody listens on, a socket that never answers) and
answers 503 in Kibo's envelope naming what is down."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import httpx
import pytest

from tests.api.support import JSON_TYPE, assert_error, ok
from tests.conftest import free_port
from ticketbooth.core import Core
from ticketbooth.db.database import create_engine

REDIS_URL = os.environ.get("TICKETBOOTH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel completes the handshake) and never says a word."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield int(s.getsockname()[1])


async def test_healthz_is_alive_whatever_the_path_case(client: httpx.AsyncClient) -> None:
    for path in ("/healthz", "/HealthZ", "/healthz/"):
        r = await client.get(path)
        assert ok(r) == {"status": "ok"}
        assert r.headers["x-vol-correlation"]


async def test_ready_with_the_database_and_no_redis_configured(client: httpx.AsyncClient) -> None:
    r = await client.get("/readyz")
    body = ok(r)
    assert isinstance(body.pop("webhookBacklog"), int)  # deliveries waiting: a detail, not a condition
    assert body == {"status": "ready", "database": "ok", "redis": "not configured"}


async def test_ready_with_a_real_redis(client: httpx.AsyncClient, core: Core) -> None:
    core.settings.redis_url = REDIS_URL
    body = ok(await client.get("/readyz"))
    assert isinstance(body.pop("webhookBacklog"), int)
    assert body == {"status": "ready", "database": "ok", "redis": "ok"}


async def test_redis_that_refuses_connections_is_named(client: httpx.AsyncClient, core: Core) -> None:
    core.settings.redis_url = f"redis://127.0.0.1:{free_port()}/0"
    r = await client.get("/readyz")
    body = assert_error(r, 503, "SERVICE_UNAVAILABLE")
    assert body["message"] == "Service Unavailable: redis not reachable"
    assert body["additionalErrorData"] == [{"name": "database", "value": "ok"}, {"name": "redis", "value": "unreachable"}]
    assert r.headers["retry-after"] == "1"


async def test_redis_that_never_answers_times_out(client: httpx.AsyncClient, core: Core, silent_port: int) -> None:
    core.settings.redis_url = f"redis://127.0.0.1:{silent_port}/0"
    body = assert_error(await client.get("/readyz"), 503, "SERVICE_UNAVAILABLE")
    assert {"name": "redis", "value": "timeout"} in body["additionalErrorData"]


async def test_database_that_cannot_be_reached_is_named(client: httpx.AsyncClient, core: Core) -> None:
    working = core.store.engine
    core.store.engine = create_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere", 1)
    try:
        r = await client.get("/readyz")
    finally:
        await core.store.engine.dispose()
        core.store.engine = working
    body = assert_error(r, 503, "SERVICE_UNAVAILABLE")
    assert body["message"] == "Service Unavailable: database not reachable"
    assert body["additionalErrorData"] == [{"name": "database", "value": "unreachable"},
                                           {"name": "redis", "value": "not configured"}]
    assert "nowhere" not in r.text and "postgres@" not in r.text  # never the URL
    assert ok(await client.get("/readyz"))["status"] == "ready"  # and back once it answers again


async def test_database_that_never_answers_times_out(client: httpx.AsyncClient, core: Core, silent_port: int) -> None:
    working = core.store.engine
    core.store.engine = create_engine(f"postgresql://postgres@127.0.0.1:{silent_port}/silent", 1)
    core.settings.redis_url = REDIS_URL
    try:
        r = await client.get("/readyz")
    finally:
        await core.store.engine.dispose()
        core.store.engine = working
    body = assert_error(r, 503, "SERVICE_UNAVAILABLE")
    assert body["additionalErrorData"] == [{"name": "database", "value": "timeout"}, {"name": "redis", "value": "ok"}]
    assert r.headers["content-type"] == JSON_TYPE
