"""Enumeration benchmark: can response time tell whether an account exists (issue 4, item 7)?

Starts a real `ticketbooth serve` on 127.0.0.1, seeds a tenant, an application and accounts, then
sends, from ONE client and strictly one request at a time (so the server never queues), interleaved
round by round in a shuffled order, these requests:

| probe | request | compared with |
|---|---|---|
| login unknown user | POST authtickets, an email no account has | login wrong password |
| login wrong password | POST authtickets, an existing account, a wrong password | (reference) |
| login locked, wrong password | the same on an account locked by failed logins | login wrong password |
| login locked, right password | the locked account's right password | login wrong password |
| reset known | POST accounts/Reset-Password for an existing email | reset unknown |
| reset unknown | the same for an email no account has | (reference) |
| otp known / unknown | POST authtickets/otp/request, the same pair (when the server has it) | otp unknown |

and prints the median and p90 of each, with the difference of each pair in percent (goal: < 5%).
Each known-account probe of a round goes to another account (an attacker probes an address once),
so no account gets near the lockout threshold or a code-resend throttle.

The tenant's settings are changed for the run through `ticketbooth tenant settings`: every rate
limit is off (one client address sends every request; the limits would answer 429 long before the
end), and `lockout.max_failed_logins_per_address` is raised so that this one address can lock the
account of the "locked" probes by failing its password `lockout.max_failed_logins` times (by default
one address cannot lock an account: that is the point of the per-address limit). Everything else is
the default.

Bounded: at most --rounds rounds and --seconds seconds of measuring; loopback only.

    python bench/enumeration.py [--rounds 200] [--seconds 240] [--database-url URL] [--save]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
TENANT, SITE = 100, 200
CLIENT_ID, SECRET = "enum-bench.app", "enum-bench-secret-0123456789abcdef"
PASSWORD = "enumeration benchmark passphrase"
WRONG = "not the password at all 1"
LIMIT_CLASSES = ("login", "refresh", "anonymous", "registration", "code_request", "password_reset")
LOGIN = "/api/commerce/customer/authtickets"
RESET = "/api/commerce/customer/accounts/Reset-Password"
OTP = "/api/commerce/customer/authtickets/otp/request"
REGISTER = "/api/commerce/customer/accounts/Add-Account-And-Login"

# (probe, the probe it is compared with)
PAIRS = [
    ("login unknown user", "login wrong password"),
    ("login locked, wrong password", "login wrong password"),
    ("login locked, right password", "login wrong password"),
    ("reset known", "reset unknown"),
    ("otp known", "otp unknown"),
]
GOAL_PERCENT = 5.0


def _cli(env: dict[str, str], *args: str) -> Any:
    done = subprocess.run([sys.executable, "-m", "ticketbooth", *args], env=env, capture_output=True, timeout=120)
    if done.returncode:
        raise SystemExit(f"ticketbooth {' '.join(args[:3])} failed: {done.stderr.decode()}")
    return json.loads(done.stdout)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server exited during start-up")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not start in 60 s")


class Probe:
    """Sends one kind of request; `send(i)` is the i-th (a fresh account or email each time)."""

    def __init__(self, name: str, client: httpx.Client, headers: dict[str, str], path: str,
                 body: Any, expect: int) -> None:
        self.name, self.client, self.headers, self.path, self.body, self.expect = name, client, headers, path, body, expect
        self.latencies: list[float] = []
        self.unexpected = 0

    def send(self, index: int, record: bool = True) -> None:
        body = json.dumps(self.body(index)).encode()
        started = time.perf_counter()
        r = self.client.post(self.path, headers=self.headers, content=body)
        elapsed = time.perf_counter() - started
        if r.status_code != self.expect:
            self.unexpected += 1
        if record:
            self.latencies.append(elapsed)


def _stats(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))] * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=200, help="samples per probe (default 200)")
    ap.add_argument("--seconds", type=float, default=240.0, help="stop measuring after this long (default 240)")
    ap.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    ap.add_argument("--save", action="store_true", help="also write the table to bench/results/")
    args = ap.parse_args()
    rounds = max(10, args.rounds)

    workdir = Path(tempfile.mkdtemp(prefix="tb-enum-"))
    db = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    run = secrets.token_hex(3)  # emails of this run, so a reused PostgreSQL database does not conflict
    env = {**os.environ, "TICKETBOOTH_DATABASE_URL": db, "TICKETBOOTH_LOG_LEVEL": "warning"}
    env.pop("TICKETBOOTH_REDIS_URL", None)
    _cli(env, "tenant", "create", "--tenant-id", str(TENANT), "--site-id", str(SITE))
    _cli(env, "app", "create", "--tenant-id", str(TENANT), "--client-id", CLIENT_ID, "--client-secret", SECRET)
    changes = [f"rate_limits.{name}.enabled=false" for name in LIMIT_CLASSES]
    changes.append("lockout.max_failed_logins_per_address=1000")
    settings = _cli(env, "tenant", "settings", str(TENANT), *[arg for c in changes for arg in ("--set", c)])["settings"]
    max_failed = int(settings["lockout"]["max_failed_logins"])

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "ticketbooth", "serve", "--port", str(port)], env=env,
                              cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_healthy(base, server)
        rows, notes, measured = _measure(base, run, rounds, args.seconds, max_failed)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()

    lines = [
        f"# Ticketbooth enumeration benchmark, {time.strftime('%Y-%m-%d %H:%M:%S')}",
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"database {db.split(':', 1)[0]}, 1 server process, 1 client sending one request at a time over loopback, "
        f"{measured} interleaved rounds (shuffled order each round)",
        "tenant settings for the run: every rate limit off; lockout.max_failed_logins_per_address=1000 "
        f"(to lock the probe account from one address with {max_failed} failures); the rest default",
        "",
        "| probe | n | median ms | p90 ms | unexpected status |",
        "|---|---:|---:|---:|---:|",
    ]
    stats = {}
    for probe in rows:
        if probe.latencies:
            stats[probe.name] = _stats(probe.latencies)
            median, p90 = stats[probe.name]
            lines.append(f"| {probe.name} | {len(probe.latencies)} | {median:.2f} | {p90:.2f} | {probe.unexpected} |")
    lines += ["", "| compared | with | median diff | p90 diff | goal < 5% |", "|---|---|---:|---:|---|"]
    for name, reference in PAIRS:
        if name in stats and reference in stats:
            (m, p), (rm, rp) = stats[name], stats[reference]
            dm, dp = (m - rm) / rm * 100, (p - rp) / rp * 100
            verdict = "yes" if abs(dm) < GOAL_PERCENT else "NO"
            lines.append(f"| {name} | {reference} | {dm:+.1f}% | {dp:+.1f}% | {verdict} |")
    lines += ["", *notes]
    table = "\n".join(lines).rstrip() + "\n"
    print(table)
    if args.save:
        (HERE / "results").mkdir(exist_ok=True)
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-enumeration-{db.split(':', 1)[0]}.md"
        (HERE / "results" / name).write_text(table)
    return 0


def _measure(base: str, run: str, rounds: int, seconds: float, max_failed: int) -> tuple[list[Probe], list[str], int]:
    notes: list[str] = []
    with httpx.Client(base_url=base, timeout=60) as client:
        r = client.post("/api/platform/applications/authtickets/oauth",
                        json={"client_id": CLIENT_ID, "client_secret": SECRET, "grant_type": "client_credentials"})
        r.raise_for_status()
        h = {"Authorization": f"Bearer {r.json()['access_token']}", "x-vol-tenant": str(TENANT),
             "x-vol-site": str(SITE), "Content-Type": "application/json"}

        # Accounts: one per round (the known-account probes of round i use account i), and one to lock.
        warmup = 5
        known = [f"known-{run}-{i}@example.com" for i in range(rounds + warmup)]
        locked = f"locked-{run}@example.com"
        print(f"registering {len(known) + 1} accounts ...", file=sys.stderr, flush=True)
        for email in [*known, locked]:
            r = client.post(REGISTER, headers=h, json={"account": {"emailAddress": email}, "password": PASSWORD})
            if r.status_code != 200:
                raise SystemExit(f"registering {email}: {r.status_code} {r.text}")
        for _ in range(max_failed):
            client.post(LOGIN, headers=h, json={"username": locked, "password": WRONG})
        if client.post(LOGIN, headers=h, json={"username": locked, "password": PASSWORD}).status_code != 401:
            raise SystemExit(f"the account did not lock after {max_failed} failed logins")

        def unknown(kind: str) -> Any:
            return lambda i: f"nobody-{kind}-{run}-{i}@example.com"

        probes = [
            Probe("login unknown user", client, h, LOGIN, lambda i: {"username": unknown("login")(i), "password": WRONG}, 401),
            Probe("login wrong password", client, h, LOGIN, lambda i: {"username": known[i], "password": WRONG}, 401),
            Probe("login locked, wrong password", client, h, LOGIN, lambda i: {"username": locked, "password": WRONG}, 401),
            Probe("login locked, right password", client, h, LOGIN, lambda i: {"username": locked, "password": PASSWORD},
                  401),
            Probe("reset known", client, h, RESET, lambda i: {"emailAddress": known[i]}, 200),
            Probe("reset unknown", client, h, RESET, lambda i: {"emailAddress": unknown("reset")(i)}, 200),
        ]
        reset_status = client.post(RESET, headers=h, json={"emailAddress": f"probe-{run}@example.com"}).status_code
        for probe in probes:
            if probe.path == RESET:
                probe.expect = reset_status
        otp_status = client.post(OTP, headers=h, json={"email": f"probe-{run}@example.com"}).status_code
        if otp_status == 404:
            notes.append("/otp/request: not served by this build (404), not measured.")
        else:
            probes += [
                Probe("otp known", client, h, OTP, lambda i: {"email": known[i]}, otp_status),
                Probe("otp unknown", client, h, OTP, lambda i: {"email": unknown("otp")(i)}, otp_status),
            ]

        print(f"measuring {len(probes)} probes x {rounds} rounds (at most {seconds:.0f} s) ...", file=sys.stderr, flush=True)
        order = list(probes)
        rng = random.Random(7)
        # warm-up rounds on the extra accounts, not recorded
        for i in range(rounds, rounds + warmup):
            for probe in order:
                probe.send(i, record=False)
        deadline = time.monotonic() + seconds
        measured = 0
        for i in range(rounds):
            if time.monotonic() > deadline:
                notes.append(f"stopped after {measured} rounds: --seconds {seconds:.0f} reached")
                break
            rng.shuffle(order)
            for probe in order:
                probe.send(i)
            measured += 1
        # every known-account probe went to another account; unexpected statuses are counted per probe
    return probes, notes, measured


if __name__ == "__main__":
    raise SystemExit(main())
