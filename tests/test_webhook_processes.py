"""Push delivery across real `ticketbooth serve` processes, to a receiver on 127.0.0.1:

- a server killed with SIGKILL in the middle of deliveries loses nothing: the next server delivers every
  event, and whatever arrives twice arrives with the same eventId and the same body (both databases);
- two servers on one PostgreSQL database deliver each event exactly once between them, each account's
  events in order (created before deleted).
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN, PASSWORD, STOREFRONT, headers, seed_cli, start_server, stop_server
from tests.webhook_receiver import Receiver, receiver

SUBSCRIPTIONS = "/api/platform/appdev/appsubscriptions"
ENV = {"TICKETBOOTH_WEBHOOK_HTTP_HOSTS": "127.0.0.1", "TICKETBOOTH_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32",
       "TICKETBOOTH_WEBHOOK_RETRY_SECONDS": "0.2", "TICKETBOOTH_WEBHOOK_POLL_SECONDS": "0.1",
       "TICKETBOOTH_WEBHOOK_TIMEOUT_SECONDS": "2"}


def _token(http: httpx.Client, creds: tuple[str, str]) -> str:
    r = http.post("/api/platform/applications/authtickets/oauth", json={
        "client_id": creds[0], "client_secret": creds[1], "grant_type": "client_credentials"})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def _subscribe(http: httpx.Client, url: str) -> None:
    r = http.post(f"{SUBSCRIPTIONS}/events", headers=headers(_token(http, ADMIN)), json={
        "applicationEndPoint": url,
        "events": [{"eventName": "customeraccount.created"}, {"eventName": "customeraccount.deleted"}]})
    assert r.status_code == 200, r.text


def _register(http: httpx.Client, token: str) -> str:
    r = http.post("/api/commerce/customer/accounts/Add-Account-And-Login", headers=headers(token), json={
        "account": {"emailAddress": f"w-{uuid.uuid4().hex[:10]}@example.com"}, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return str(r.json()["customerAccount"]["id"])


def _wait(rx: Receiver, done: Any, within: float) -> None:
    deadline = time.monotonic() + within
    while not done():
        assert time.monotonic() < deadline, f"{len(rx.received)} deliveries received"
        time.sleep(0.05)


def test_sigkill_mid_delivery_loses_nothing(database_url: str, tmp_path: Path) -> None:
    seed_cli({**os.environ, "TICKETBOOTH_DATABASE_URL": database_url}, tmp_path)
    with receiver(hang_seconds=0.4) as rx:
        first = start_server(database_url, tmp_path, extra_env=ENV)
        try:
            with httpx.Client(base_url=first.base_url, timeout=30) as http:
                _subscribe(http, rx.url)
                token = _token(http, STOREFRONT)
                accounts = [_register(http, token) for _ in range(12)]
            _wait(rx, lambda: len(rx.received) >= 2, 20)
        finally:
            first.process.send_signal(signal.SIGKILL)  # mid-delivery: attempts in flight, the rest not sent
            first.process.wait(timeout=10)
        seen_at_kill = len(rx.received)
        second = start_server(database_url, tmp_path, extra_env=ENV)
        try:
            _wait(rx, lambda: {b["entityId"] for b in rx.bodies()} >= set(accounts), 60)
        finally:
            stop_server(second)
    assert seen_at_kill < 12  # the kill did come in the middle
    by_event: dict[str, set[str]] = {}
    for r in rx.received:
        by_event.setdefault(r.json["eventId"], set()).add(r.body)
    assert all(len(bodies) == 1 for bodies in by_event.values())  # a repeat is the very same notification
    created = {json.loads(next(iter(b)))["entityId"] for b in by_event.values()}
    assert created == set(accounts) and len(by_event) == 12  # every event, none lost, none invented


def test_two_servers_deliver_each_event_once_in_order(database_url: str, tmp_path: Path) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("two machines share PostgreSQL; SQLite is one machine's file")
    postgres_database = database_url
    seed_cli({**os.environ, "TICKETBOOTH_DATABASE_URL": postgres_database}, tmp_path)
    with receiver() as rx:
        one = start_server(postgres_database, tmp_path, extra_env=ENV)
        two = start_server(postgres_database, tmp_path, extra_env=ENV)
        try:
            with httpx.Client(base_url=one.base_url, timeout=30) as a, httpx.Client(base_url=two.base_url,
                                                                                 timeout=30) as b:
                _subscribe(a, rx.url)
                tokens = {a: _token(a, STOREFRONT), b: _token(b, STOREFRONT)}
                admin = {a: _token(a, ADMIN), b: _token(b, ADMIN)}
                accounts = []
                for n in range(20):
                    http = a if n % 2 else b
                    account = _register(http, tokens[http])
                    accounts.append(account)
                    other = b if n % 2 else a
                    r = other.delete(f"/api/commerce/customer/accounts/{account}", headers=headers(admin[other]))
                    assert r.status_code in (200, 204), r.text
            _wait(rx, lambda: len(rx.received) >= 40, 60)
            time.sleep(1.0)  # anything more would be a duplicate
        finally:
            stop_server(one)
            stop_server(two)
    bodies = rx.bodies()
    assert len(bodies) == 40 and len({b["eventId"] for b in bodies}) == 40  # each event once
    for account in accounts:
        assert [b["topic"] for b in bodies if b["entityId"] == account] == [
            "customeraccount.created", "customeraccount.deleted"]
