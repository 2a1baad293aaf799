"""`make serve` (`ticketbooth serve --demo`) on a new machine: it prints how to call it, and what it prints
works. The demo tenant, site and application come up on an empty SQLite database, and the printed credential
gets an application token and an anonymous shopper ticket; the console it names answers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port


def test_the_demo_prints_a_call_that_works(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETBOOTH_")}
    env |= {"TICKETBOOTH_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}", "TICKETBOOTH_LOG_LEVEL": "warning"}
    out = open(tmp_path / "out.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "ticketbooth", "serve", "--demo", "--port", str(port)], env=env,
                            cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "out.log").read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        printed = (tmp_path / "out.log").read_text()
        client_id = re.search(r"client_id:\s+(\S+)", printed)
        secret = re.search(r"client_secret:\s+(\S+)", printed)
        tenant_site = re.search(r"tenant (\d+), site (\d+)", printed)
        assert client_id and secret and tenant_site, printed
        assert f"{base}/api/platform/applications/authtickets/oauth" in printed
        assert f"{base}/console" in printed and "ticketbooth staff create" in printed

        token = httpx.post(f"{base}/api/platform/applications/authtickets/oauth", json={
            "client_id": client_id[1], "client_secret": secret[1], "grant_type": "client_credentials"}).json()
        ticket = httpx.get(f"{base}/api/commerce/customer/authtickets/anonymousshopper", headers={
            "Authorization": f"Bearer {token['access_token']}", "x-vol-tenant": tenant_site[1],
            "x-vol-site": tenant_site[2]})
        assert ticket.status_code == 200, ticket.text
        assert ticket.json()["accessToken"] and ticket.json()["refreshToken"]
        # passkeys are on for a storefront under development at http://localhost:3000
        assert "http://localhost:3000" in printed
        options = httpx.post(f"{base}/api/commerce/customer/authtickets/passkeys/options", json={}, headers={
            "Authorization": f"Bearer {token['access_token']}", "x-vol-tenant": tenant_site[1],
            "x-vol-site": tenant_site[2]})
        assert options.status_code == 200, options.text
        assert options.json()["options"]["rpId"] == "localhost"
        assert httpx.get(f"{base}/console/sign-in").status_code == 200
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
