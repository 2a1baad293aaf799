"""Ticketbooth benchmark: starts a real `ticketbooth serve`, loads it over loopback, prints a table.

Every scenario is compared, in the same run, with the same server's trivial /healthz (the framework
ceiling); logins are compared with the machine's Argon2id hashes per second (the hash ceiling).
The load generator is a separate process (a small keep-alive HTTP/1.1 client on asyncio, or `wrk`
where installed is not needed): it shares the machine's cores with the server, so read ratios, not
absolute numbers. Runs are bounded in time and target 127.0.0.1 only.

    python bench/run.py [--seconds 5] [--connections 32] [--database-url URL] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TENANT, SITE = 100, 200
CLIENT_ID, SECRET = "bench.app", "bench-secret-0123456789abcdef"
PASSWORD = "benchmark passphrase 42"


# -- a minimal keep-alive HTTP/1.1 client (the load generator) ------------------------------------

class Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, bytes]:
        head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        status_line = await self.reader.readuntil(b"\r\n")
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        return status, await self.reader.readexactly(length) if length else b""


async def _connect(port: int) -> Conn:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    return Conn(reader, writer)


def _load_worker(port: int, scenario: str, seconds: float, connections: int, setup: dict[str, Any],
                 out: Any) -> None:
    async def main() -> None:
        latencies: list[float] = []
        errors = 0
        deadline = time.perf_counter() + seconds

        async def one(index: int) -> None:
            nonlocal errors
            conn = await _connect(port)
            state = dict(setup)
            state["refresh"] = setup.get("refresh_tokens", [""])[index % max(1, len(setup.get("refresh_tokens", [""])))]
            while time.perf_counter() < deadline:
                method, path, headers, body = _request_for(scenario, state, index)
                started = time.perf_counter()
                status, payload = await conn.request(method, path, headers, body)
                latencies.append(time.perf_counter() - started)
                if status != 200:
                    errors += 1
                elif scenario == "refresh":
                    state["refresh"] = json.loads(payload)["refreshToken"]

        await asyncio.gather(*(one(i) for i in range(connections)))
        out.put((latencies, errors))

    asyncio.run(main())


def _request_for(scenario: str, state: dict[str, Any], index: int) -> tuple[str, str, dict[str, str], bytes]:
    app = {"Authorization": f"Bearer {state.get('app_token', '')}", "x-vol-tenant": str(TENANT),
           "x-vol-site": str(SITE)}
    if scenario == "healthz":
        return "GET", "/healthz", {}, b""
    if scenario == "anonymous":
        return "GET", "/api/commerce/customer/authtickets/anonymousshopper", app, b""
    if scenario == "refresh":
        return "PUT", f"/api/commerce/customer/authtickets/refresh?refreshToken={state['refresh']}", app, b""
    if scenario == "current":
        return "GET", "/api/commerce/customer/accounts/current", {"Authorization": f"Bearer {state['jwt']}"}, b""
    if scenario == "login":
        body = json.dumps({"username": f"bench{index % state['accounts']}@example.com", "password": PASSWORD})
        return "POST", "/api/commerce/customer/authtickets", {**app, "Content-Type": "application/json"}, body.encode()
    raise ValueError(scenario)


def run_load(port: int, scenario: str, seconds: float, connections: int, setup: dict[str, Any]) -> dict[str, float]:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_load_worker, args=(port, scenario, seconds, connections, setup, out))
    proc.start()
    latencies, errors = out.get(timeout=seconds + 60)
    proc.join(timeout=30)
    latencies.sort()
    n = len(latencies)
    return {
        "requests": n, "rps": n / seconds, "errors": errors,
        "p50_ms": latencies[n // 2] * 1000 if n else 0.0,
        "p99_ms": latencies[min(n - 1, int(n * 0.99))] * 1000 if n else 0.0,
    }


# -- the hash ceiling ------------------------------------------------------------------------------

def _hash_worker(seconds: float, out: Any) -> None:
    from ticketbooth.infra.hashing import make_hasher

    hasher = make_hasher()
    durations: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        hasher.hash(PASSWORD)
        durations.append(time.perf_counter() - started)
    out.put(durations)


def hash_ceiling(seconds: float) -> tuple[float, float]:
    """(median ms per hash on one core, hashes per second with one process per core)."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    cores = os.cpu_count() or 1
    procs = [ctx.Process(target=_hash_worker, args=(seconds, out)) for _ in range(cores)]
    for p in procs:
        p.start()
    results = [out.get(timeout=seconds + 60) for _ in procs]
    for p in procs:
        p.join()
    all_durations = [d for r in results for d in r]
    return statistics.median(all_durations) * 1000, len(all_durations) / seconds


# -- server ----------------------------------------------------------------------------------------

def _cli(env: dict[str, str], *args: str) -> Any:
    done = subprocess.run([sys.executable, "-m", "ticketbooth", *args], env=env, capture_output=True, check=True)
    return json.loads(done.stdout)


async def _prepare(port: int, accounts: int, connections: int) -> dict[str, Any]:
    import httpx

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as c:
        r = await c.post("/api/platform/applications/authtickets/oauth",
                         json={"client_id": CLIENT_ID, "client_secret": SECRET, "grant_type": "client_credentials"})
        token = r.json()["access_token"]
        h = {"Authorization": f"Bearer {token}", "x-vol-tenant": str(TENANT), "x-vol-site": str(SITE)}
        for i in range(accounts):
            await c.post("/api/commerce/customer/accounts/Add-Account-And-Login", headers=h, json={
                "account": {"emailAddress": f"bench{i}@example.com"}, "password": PASSWORD})
        refresh_tokens = []
        for _ in range(connections):
            r = await c.get("/api/commerce/customer/authtickets/anonymousshopper", headers=h)
            refresh_tokens.append(r.json()["refreshToken"])
        r = await c.post("/api/commerce/customer/authtickets", headers=h,
                         json={"username": "bench0@example.com", "password": PASSWORD})
        jwt = r.json()["jwtAccessToken"]
    return {"app_token": token, "refresh_tokens": refresh_tokens, "jwt": jwt, "accounts": accounts}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--database-url", default="")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--scenarios", default="healthz,anonymous,refresh,current,login")
    ap.add_argument("--save", action="store_true", help="also write the table to bench/results/")
    args = ap.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="tb-bench-"))
    db = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    port = _free_port()
    env = {**os.environ, "TICKETBOOTH_DATABASE_URL": db, "TICKETBOOTH_LOG_LEVEL": "warning"}
    _cli(env, "tenant", "create", "--tenant-id", str(TENANT), "--site-id", str(SITE))
    _cli(env, "app", "create", "--tenant-id", str(TENANT), "--client-id", CLIENT_ID, "--client-secret", SECRET)

    hash_ms, hash_per_s = hash_ceiling(min(args.seconds, 3.0))
    server = subprocess.Popen([sys.executable, "-m", "ticketbooth", "serve", "--port", str(port),
                               "--workers", str(args.workers)], env=env, cwd=workdir,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows: list[tuple[str, dict[str, float]]] = []
    try:
        _wait_healthy(port)
        setup = asyncio.run(_prepare(port, accounts=min(64, args.connections * 2), connections=args.connections))
        for scenario in args.scenarios.split(","):
            rows.append((scenario, run_load(port, scenario, args.seconds, args.connections, setup)))
    finally:
        server.terminate()
        server.wait(timeout=30)

    base = next((r for s, r in rows if s == "healthz"), None)
    lines = [
        f"# Ticketbooth benchmark, {time.strftime('%Y-%m-%d %H:%M:%S')}",
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"database {db.split(':', 1)[0]}, {args.workers} server process(es), {args.connections} connections, "
        f"{args.seconds:.0f} s per scenario; load generator on the same machine",
        f"Argon2id (m=19 MiB, t=2, p=1): {hash_ms:.1f} ms per hash on one core; hash ceiling {hash_per_s:.0f}/s "
        f"with every core hashing",
        "",
        "| scenario | req/s | p50 ms | p99 ms | errors | ratio |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for scenario, r in rows:
        if scenario == "login":
            ratio = f"{r['rps'] / hash_per_s:.2f} x hash ceiling"
        elif base and scenario != "healthz":
            ratio = f"{r['rps'] / base['rps']:.2f} x /healthz"
        else:
            ratio = ""
        lines.append(f"| {scenario} | {r['rps']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']:.0f} | {ratio} |")
    table = "\n".join(lines)
    print(table)
    if args.save:
        (HERE / "results").mkdir(exist_ok=True)
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{db.split(':', 1)[0]}-w{args.workers}.md"
        (HERE / "results" / name).write_text(table + "\n")
    return 0


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(port: int) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


if __name__ == "__main__":
    raise SystemExit(main())
