"""Operations against real `ticketbooth serve` processes: JSON logs that carry correlation ids and
never a secret, graceful shutdown on SIGTERM (in-flight requests finish, the process exits 0, the
mail sender gives its claims back), and metrics added up across worker processes."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from tests.conftest import PASSWORD, STOREFRONT, LiveServer, free_port, headers, seed_cli, start_server, stop_server
from tests.smtp import CODE
from ticketbooth.db import tables as t
from ticketbooth.db.database import create_engine
from ticketbooth.infra.logging import JsonFormatter, TextFormatter, correlation_id

CUSTOMER = "/api/commerce/customer"
OAUTH = "/api/platform/applications/authtickets/oauth"
REGISTER = f"{CUSTOMER}/accounts/Add-Account-And-Login"
LOGIN = f"{CUSTOMER}/authtickets"
REFRESH = f"{CUSTOMER}/authtickets/refresh"
CURRENT = f"{CUSTOMER}/accounts/current"
RESET = f"{CUSTOMER}/accounts/Reset-Password"
UPDATE = f"{CUSTOMER}/accounts/Update-Forgotten-Password"
NEW_PASSWORD = "an entirely new passphrase 7"
WRONG_PASSWORD = "a wrong passphrase for this"
EMAIL = "logged@example.com"


def _tokens(body: Any) -> list[str]:
    """Every string held under a key naming a token, anywhere in a JSON body."""
    if isinstance(body, dict):
        found = [v for k, v in body.items() if "token" in k.lower() and isinstance(v, str) and len(v) >= 16]
        return found + [x for v in body.values() for x in _tokens(v)]
    if isinstance(body, list):
        return [x for v in body for x in _tokens(v)]
    return []


def _wait_for(predicate: Any, seconds: float = 20.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def _log_of(tmp_path: Path, server: LiveServer) -> str:
    port = server.base_url.rsplit(":", 1)[1]
    return (tmp_path / f"server-{port}.log").read_text()


def _records(log: str) -> list[dict[str, Any]]:
    """The JSON records of a server's output; the only other line allowed is `serve`'s mail note."""
    records = []
    for line in log.splitlines():
        if line.startswith("Mail: "):
            continue
        records.append(json.loads(line))  # fails on any line that is not one JSON object
    return records


# -- logs ---------------------------------------------------------------------------------------

def test_json_logs_carry_correlation_ids_and_never_a_secret(database_url: str, tmp_path: Path) -> None:
    seed_cli({**os.environ, "TICKETBOOTH_DATABASE_URL": database_url}, tmp_path)
    server = start_server(database_url, tmp_path, extra_env={
        "TICKETBOOTH_LOG_LEVEL": "debug", "TICKETBOOTH_ACCESS_LOG": "true", "TICKETBOOTH_LOG_FORMAT": "json"})
    secrets = [STOREFRONT[1], PASSWORD, NEW_PASSWORD, WRONG_PASSWORD]
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as c:
            def call(method: str, path: str, **kw: Any) -> httpx.Response:
                r = c.request(method, path, **kw)
                if r.content and r.headers.get("content-type", "").startswith("application/json"):
                    secrets.extend(_tokens(r.json()))
                return r

            app = call("POST", OAUTH, json={"client_id": STOREFRONT[0], "client_secret": STOREFRONT[1],
                                            "grant_type": "client_credentials"}).json()
            h = headers(app["access_token"])
            assert call("POST", REGISTER, headers=h, json={"account": {"emailAddress": EMAIL},
                                                           "password": PASSWORD}).status_code == 200
            assert call("POST", LOGIN, headers=h, json={"username": EMAIL, "password": WRONG_PASSWORD}).status_code == 401
            ticket = call("POST", LOGIN, headers=h, json={"username": EMAIL, "password": PASSWORD}).json()
            r = call("PUT", REFRESH, params={"refreshToken": ticket["refreshToken"]},
                     headers={**h, "x-vol-correlation": "trace-refresh-1"})
            assert r.status_code == 200, r.text
            assert call("GET", CURRENT, headers={"Authorization": f"Bearer {r.json()['jwtAccessToken']}"}
                        ).status_code == 200
            assert call("POST", RESET, headers=h, json={"emailAddress": EMAIL}).status_code == 200
            [eml] = _wait_for(lambda: sorted((tmp_path / "var" / "mail").glob("*.eml")))
            parsed = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
            body = parsed.get_body(("plain",))
            assert body is not None
            [code] = set(CODE.findall(body.get_content()))
            secrets.append(code)
            assert call("POST", UPDATE, headers=h, json={"userName": EMAIL, "confirmationCode": code,
                                                         "newPassword": NEW_PASSWORD}).status_code == 200
            assert call("POST", LOGIN, headers=h, json={"username": EMAIL, "password": NEW_PASSWORD}).status_code == 200
            # a token in the path itself (the legacy application ticket delete)
            assert call("DELETE", f"/api/platform/applications/authtickets/{app['refresh_token']}").status_code == 204
    finally:
        stop_server(server)

    log = _log_of(tmp_path, server)
    assert len(secrets) >= 15
    for secret in secrets:
        assert secret not in log, f"a secret ({len(secret)} characters) is in the log"
    records = _records(log)
    assert {"time", "level", "logger", "pid", "message"} <= set(records[0])
    access = [r for r in records if r["logger"] == "ticketbooth.access"]
    assert len(access) >= 11
    assert all(r["correlation_id"] and r["client"] == "127.0.0.1" for r in access)
    [refresh] = [r for r in access if r.get("correlation_id") == "trace-refresh-1"]
    assert (refresh["method"], refresh["route"], refresh["status"]) == ("PUT", REFRESH, 200)
    assert isinstance(refresh["duration_ms"], float) and refresh["duration_ms"] > 0
    assert any(r["route"] == "/api/platform/applications/authtickets/{refreshToken}" for r in access)
    assert [r["status"] for r in access if r["route"] == RESET.lower()] == [200]
    delivered = [r for r in records if r["logger"] == "ticketbooth.mail" and "delivered" in r["message"]]
    assert delivered and str(eml) in delivered[0]["message"]  # where it went, never what it said


def test_json_formatter_fields_and_exceptions() -> None:
    record = logging.LogRecord("ticketbooth.x", logging.WARNING, __file__, 1, "hello %s", ("world",), None)
    record.fields = {"route": "/r", "status": 200}
    token = correlation_id.set("corr-1")
    try:
        out = json.loads(JsonFormatter().format(record))
    finally:
        correlation_id.reset(token)
    assert out["message"] == "hello world" and out["level"] == "warning" and out["logger"] == "ticketbooth.x"
    assert out["correlation_id"] == "corr-1" and out["route"] == "/r" and out["status"] == 200
    assert out["time"].endswith("Z") and out["pid"] == os.getpid()
    try:
        raise ValueError("boom")
    except ValueError:
        failed = logging.LogRecord("ticketbooth.x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = JsonFormatter().format(failed)
    assert "\n" not in line and "ValueError: boom" in json.loads(line)["exception"]


def test_text_format_keeps_a_forged_correlation_id_on_one_line() -> None:
    record = logging.LogRecord("ticketbooth.x", logging.INFO, __file__, 1, "GET /r 200", (), None)
    token = correlation_id.set("evil\nFAKE 200 line")
    try:
        line = TextFormatter().format(record)
    finally:
        correlation_id.reset(token)
    assert "\n" not in line and "correlation_id=evil\\nFAKE" in line


def test_text_logs_on_request(database_url: str, tmp_path: Path) -> None:
    seed_cli({**os.environ, "TICKETBOOTH_DATABASE_URL": database_url}, tmp_path)
    server = start_server(database_url, tmp_path, extra_env={
        "TICKETBOOTH_LOG_LEVEL": "info", "TICKETBOOTH_ACCESS_LOG": "true", "TICKETBOOTH_LOG_FORMAT": "text"})
    try:
        httpx.get(f"{server.base_url}/readyz", headers={"x-vol-correlation": "plain-1"}, timeout=10)
    finally:
        stop_server(server)
    log = _log_of(tmp_path, server)
    assert not any(line.startswith("{") for line in log.splitlines())
    assert any("ticketbooth.access: GET /readyz 200 [correlation_id=plain-1 method=GET" in line for line in log.splitlines())


# -- graceful shutdown --------------------------------------------------------------------------

def test_sigterm_finishes_in_flight_requests_and_exits_zero(database_url: str, tmp_path: Path) -> None:
    seed_cli({**os.environ, "TICKETBOOTH_DATABASE_URL": database_url}, tmp_path)
    # one hash at a time at the real Argon2 parameters: a burst of logins stays in flight a while
    server = start_server(database_url, tmp_path, extra_env={
        "TICKETBOOTH_LOG_LEVEL": "info", "TICKETBOOTH_HASH_CONCURRENCY": "1"})
    try:
        app = httpx.post(f"{server.base_url}{OAUTH}", json={
            "client_id": STOREFRONT[0], "client_secret": STOREFRONT[1], "grant_type": "client_credentials"}).json()
        h = headers(app["access_token"])
        emails = [f"shopper{i}@example.com" for i in range(8)]  # two logins each: under every rate limit
        for address in emails:
            r = httpx.post(f"{server.base_url}{REGISTER}", headers=h, timeout=30,
                           json={"account": {"emailAddress": address}, "password": PASSWORD})
            assert r.status_code == 200, r.text

        async def burst() -> tuple[list[httpx.Response], int]:
            limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
            async with httpx.AsyncClient(base_url=server.base_url, timeout=60, limits=limits) as c:
                calls = [asyncio.create_task(c.post(LOGIN, headers=h, json={"username": a, "password": PASSWORD}))
                         for a in emails * 2]
                calls.append(asyncio.create_task(c.post(RESET, headers=h, json={"emailAddress": emails[0]})))
                _, pending = await asyncio.wait(calls, return_when=asyncio.FIRST_COMPLETED)
                server.process.send_signal(signal.SIGTERM)
                return await asyncio.gather(*calls), len(pending)

        answers, in_flight = asyncio.run(burst())
        assert in_flight >= 8  # most were still being served when the signal came
        assert [a.status_code for a in answers] == [200] * 17
        assert server.process.wait(timeout=60) == 0
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{server.base_url}/healthz", timeout=2)
    finally:
        stop_server(server)

    records = _records(_log_of(tmp_path, server))
    messages = [r["message"] for r in records]
    assert "Application shutdown complete." in messages
    assert not [r for r in records if r["level"] in ("error", "critical")]
    # the mail sender stopped cleanly: nothing left claimed by the process that went away
    assert _claimed_mail(database_url) == 0


def _claimed_mail(database_url: str) -> int:
    async def count() -> int:
        engine = create_engine(database_url, 1)
        try:
            async with engine.connect() as conn:
                rows = (await conn.execute(select(t.outbox.c.id).where(t.outbox.c.claimed_by.is_not(None)))).all()
                total = (await conn.execute(select(t.outbox.c.id))).all()
            assert len(total) == 1
            return len(rows)
        finally:
            await engine.dispose()

    return asyncio.run(count())


# -- several processes ----------------------------------------------------------------------------

def test_two_workers_add_their_metrics_up(database_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "TICKETBOOTH_DATABASE_URL": database_url, "TICKETBOOTH_LOG_LEVEL": "info",
           "TICKETBOOTH_ACCESS_LOG": "true", "TMPDIR": str(tmp_path), "TICKETBOOTH_METRICS_TOKEN": "metrics-token-0123456789",
           "TICKETBOOTH_REDIS_URL": os.environ.get("TICKETBOOTH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "two-workers.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "ticketbooth", "serve", "--port", str(port), "--workers", "2"],
                                env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for(lambda: _answers(f"{base}/healthz"), 60)
        metrics_dirs = list(tmp_path.glob("ticketbooth-metrics-*"))
        assert len(metrics_dirs) == 1

        async def load() -> None:  # many fresh connections at once: both workers take some
            async def one() -> None:
                async with httpx.AsyncClient(timeout=30) as c:
                    assert (await c.get(f"{base}/healthz")).status_code == 200
            await asyncio.gather(*(one() for _ in range(200)))

        for _ in range(3):
            asyncio.run(load())
            pids = Counter(r["pid"] for r in _records(log_path.read_text())
                           if r["logger"] == "ticketbooth.access" and r["route"] == "/healthz")
            if len(pids) == 2:
                break
        assert len(pids) == 2, pids  # both workers served /healthz

        # whichever worker answers the scrape, it reports every worker's requests
        for _ in range(6):
            text = httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer metrics-token-0123456789"},
                             timeout=10).text
            served = sum(1 for r in _records(log_path.read_text())
                         if r["logger"] == "ticketbooth.access" and r["route"] == "/healthz" and r["status"] == 200)
            assert _sample(text, "ticketbooth_http_requests_total",
                           {"method": "GET", "route": "/healthz", "status": "200"}) == served
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 0
    assert not list(tmp_path.glob("ticketbooth-metrics-*"))  # removed at exit


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _sample(text: str, name: str, labels: dict[str, str]) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return float(s.value)
    return 0.0
