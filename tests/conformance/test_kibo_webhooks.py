"""Event deliveries verified by Kibo's own SDK: a Kibo application's endpoint built with `mozu-node-sdk`'s
security/is-request-valid.js (webhook_receiver.mjs) receives the events of a live `ticketbooth serve` (an
account registered, its login) and accepts every delivery; it refuses a delivery whose body was tampered
with and one whose Date is older than the SDK's 180 s. The subscription is made over HTTP, as a Kibo app
would, and inspected with the `ticketbooth webhook` commands. Both databases."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conformance.conftest import HERE
from tests.conftest import ADMIN, PASSWORD, STOREFRONT, free_port, headers, seed_cli, start_server, stop_server
from ticketbooth.webhooks import rules

pytestmark = pytest.mark.conformance

SUBSCRIPTIONS = "/api/platform/appdev/appsubscriptions"
WEBHOOK_ENV = {"TICKETBOOTH_WEBHOOK_HTTP_HOSTS": "127.0.0.1", "TICKETBOOTH_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32",
               "TICKETBOOTH_WEBHOOK_RETRY_SECONDS": "0.2", "TICKETBOOTH_WEBHOOK_POLL_SECONDS": "0.1"}


class NodeReceiver:
    """webhook_receiver.mjs on `port`, its JSON lines collected as they come."""

    def __init__(self, port: int, secret: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TB_")}
        self.process = subprocess.Popen(["node", str(HERE / "webhook_receiver.mjs")], cwd=HERE, text=True,
                                        env={**env, "TB_SHARED_SECRET": secret, "TB_PORT": str(port)},
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        assert self.next()["listening"] == port

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(json.loads(line))

    def next(self, within: float = 30.0) -> dict[str, Any]:
        try:
            return self.lines.get(timeout=within)
        except queue.Empty:
            stderr = self.process.stderr.read() if self.process.poll() is not None and self.process.stderr else ""
            raise AssertionError(f"webhook_receiver.mjs printed nothing in {within} s {stderr}") from None

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def test_kibo_sdk_verifies_every_delivery(database_url: str, tmp_path: Path) -> None:
    seed_cli({**os.environ, "TICKETBOOTH_DATABASE_URL": database_url}, tmp_path)
    server = start_server(database_url, tmp_path, extra_env=WEBHOOK_ENV)
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}/kibo/events"
    node: NodeReceiver | None = None
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            admin_token = http.post("/api/platform/applications/authtickets/oauth", json={
                "client_id": ADMIN[0], "client_secret": ADMIN[1], "grant_type": "client_credentials"}).json()
            created = http.post(f"{SUBSCRIPTIONS}/events", headers=headers(admin_token["access_token"]), json={
                "applicationEndPoint": endpoint,
                "events": [{"eventName": "customeraccount.created"}, {"eventName": "customeraccount.deleted"}],
            })
            assert created.status_code == 200, created.text
            secret = created.json()["sharedSecret"]
            sid = created.json()["applicationSubscriptionId"]
            node = NodeReceiver(port, secret)

            shop_token = http.post("/api/platform/applications/authtickets/oauth", json={
                "client_id": STOREFRONT[0], "client_secret": STOREFRONT[1], "grant_type": "client_credentials"}).json()
            email = f"kibo-{uuid.uuid4().hex[:8]}@example.com"
            registered = http.post("/api/commerce/customer/accounts/Add-Account-And-Login",
                                   headers=headers(shop_token["access_token"]),
                                   json={"account": {"emailAddress": email}, "password": PASSWORD})
            assert registered.status_code == 200, registered.text
            account_id = str(registered.json()["customerAccount"]["id"])
            deleted = http.delete(f"/api/commerce/customer/accounts/{account_id}",
                                  headers=headers(admin_token["access_token"]))
            assert deleted.status_code in (200, 204), deleted.text

            got = [node.next(), node.next()]
            assert all(line["valid"] for line in got), got  # is-request-valid.js accepted both
            bodies = [json.loads(line["body"]) for line in got]
            assert [b["topic"] for b in bodies] == ["customeraccount.created", "customeraccount.deleted"]  # in order
            for body in bodies:
                assert body["entityId"] == account_id and uuid.UUID(body["eventId"])
                assert set(body) == {"eventId", "topic", "entityId", "timestamp", "correlationId", "isTest",
                                     "extendedProperties"}
                assert email not in json.dumps(body) and PASSWORD not in json.dumps(body)  # ids only
                assert body["correlationId"]
            assert all(line["path"] == "/kibo/events" for line in got)

            # the same delivery with its body changed: refused by the SDK
            first = got[0]
            signed = {"Date": first["headers"]["date"], "x-vol-hmac-sha256": first["headers"]["x-vol-hmac-sha256"],
                      "Content-Type": "application/json"}
            tampered = first["body"].replace(account_id, str(int(account_id) + 1))
            assert httpx.post(endpoint, headers=signed, content=tampered).status_code == 401
            assert node.next()["valid"] is False
            assert httpx.post(endpoint, headers=signed, content=first["body"]).status_code == 200  # as sent: fine
            assert node.next()["valid"] is True
            # signed right with the subscription's secret, but dated 181 s ago: refused
            stale = rules.signed_headers(secret, "e1", first["body"], datetime.now(UTC) - timedelta(seconds=181))
            assert httpx.post(endpoint, headers=stale, content=first["body"]).status_code == 401
            assert node.next()["valid"] is False

            deadline = time.monotonic() + 10
            while True:
                listed = http.get(f"{SUBSCRIPTIONS}/{sid}/deliveries",
                                  headers=headers(admin_token["access_token"])).json()
                if {d["status"] for d in listed["items"]} == {"delivered"} or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert listed["totalCount"] == 2 and {d["status"] for d in listed["items"]} == {"delivered"}

        # the operator's view, through the CLI
        subs = json.loads(server.cli("webhook", "list"))["items"]
        assert [(s["applicationSubscriptionId"], s["clientId"]) for s in subs] == [(sid, ADMIN[0])]
        assert "sharedSecret" not in subs[0]
        deliveries = json.loads(server.cli("webhook", "deliveries", str(sid), "--status", "delivered"))
        assert deliveries["totalCount"] == 2
        again = json.loads(server.cli("webhook", "redeliver", str(sid), str(deliveries["items"][0]["id"])))
        assert again["status"] == "pending"
        line = node.next()
        assert line["valid"] and json.loads(line["body"])["eventId"] == deliveries["items"][0]["eventId"]
        added = json.loads(server.cli("webhook", "add", "--tenant-id", "100", "--client-id", ADMIN[0], "--url",
                                      endpoint, "--topic", "customeraccount.deleted"))
        assert added["sharedSecret"].startswith("whsec_")
        assert json.loads(server.cli("webhook", "remove", str(added["applicationSubscriptionId"]))) == {
            "deleted": added["applicationSubscriptionId"]}
        refused = subprocess.run([*_cli(), "webhook", "add", "--tenant-id", "100", "--client-id", ADMIN[0],
                                  "--url", "http://10.1.2.3/x", "--topic", "customeraccount.deleted"],
                                 env=server.env, capture_output=True, text=True, timeout=120)
        assert refused.returncode != 0 and "applicationEndPoint" in refused.stderr
    finally:
        if node is not None:
            node.stop()
        stop_server(server)
    log = (tmp_path / f"server-{server.base_url.rsplit(':', 1)[1]}.log").read_text()
    assert secret not in log and secret.removeprefix("whsec_") not in log


def _cli() -> list[str]:
    import sys

    return [sys.executable, "-m", "ticketbooth"]
