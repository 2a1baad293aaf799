"""Ticketbooth memory soak: the storefront mix against one `ticketbooth serve` for N minutes, the
server's resident memory sampled every few seconds. Does memory stay flat (issue 5: within 10% over a
10-minute soak of the mix)?

The load is bench/run.py's: the same seeding (a tenant with its rate limits off, 64 accounts), the
same wrk Lua script (bench/wrk/ticketbooth.lua, scenario `mix`: 35% refresh, 35% current account,
25% anonymous, 5% login) and the same server command. wrk runs in chunks (default 60 s); before each
chunk the soak gets fresh tickets over HTTP (16 logins for the JWTs of `current`, anonymous tickets
that start the refresh chains), so no token expires mid-run however long it lasts, and each chunk's
throughput is reported too (a server that slows down is as telling as one that grows).

RSS is the sum of VmRSS over the `serve` process and its children, read from /proc every
--sample-seconds (default 10) from before the load starts until it ends. The verdict compares every
sample after the warm-up (--warmup-minutes, default 1: caches filling, the allocator reaching its
working set) with the RSS at the end of the warm-up: flat when none is more than 10% above or below
it. The least-squares slope over the same samples (MiB per minute) tells a slow leak from noise.
Loopback only (127.0.0.1); bounded by --minutes (at most 240).

    python bench/soak.py [--minutes 10] [--connections 32] [--database-url URL] [--save]

Exit status: 0 when memory stayed within 10%, 1 when not, 2 when it could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import (  # noqa: E402  (bench/ is scripts, not a package)
    CLIENT_ID,
    PASSWORD,
    SITE,
    TENANT,
    Client,
    _cpu_model,
    _free_port,
    _loadavg,
    _memory_gib,
    _wait_healthy,
    _wrk_version,
    save_result,
    seed,
    server_cpu_seconds,
    server_rss_mib,
    write_data,
    wrk,
    wrk_result,
)

TOLERANCE = 0.10


@dataclass
class Sampler:
    """RSS of a process tree every `every` seconds, on a thread of its own, until stopped."""

    pid: int
    every: float
    started: float = field(default_factory=time.monotonic)
    samples: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, MiB)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            self.samples.append((time.monotonic() - self.started, server_rss_mib(self.pid)))
            if self._stop.wait(self.every):
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.samples.append((time.monotonic() - self.started, server_rss_mib(self.pid)))


@dataclass
class Chunk:
    start_s: float
    requests: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: float
    starved: float
    cpu_ms: float


async def _chunks(args: argparse.Namespace, port: int, pid: int, workdir: Path, sampler: Sampler) -> list[Chunk]:
    client = Client(port)
    users = [f"soak{i}@example.com" for i in range(64)]
    token = await client.app_token(CLIENT_ID)
    await client.register(client.headers(token), users)
    c = args.connections
    chunks: list[Chunk] = []
    load_started = time.monotonic()
    deadline = load_started + args.minutes * 60
    try:
        while (left := deadline - time.monotonic()) > 1:
            token = await client.app_token(CLIENT_ID)  # an hour's lifetime; fresh each chunk all the same
            h = client.headers(token)
            tickets = await client.logins(h, users[:16])
            anonymous = await client.anonymous(h, 2 * c)
            data = write_data(workdir / "mix.txt", {"app_token": token, "tenant": TENANT, "site": SITE,
                                                    "password": PASSWORD},
                              refresh=[t["refreshToken"] for t in anonymous],
                              jwts=[t["jwtAccessToken"] for t in tickets], users=users)
            seconds = max(1.0, min(args.chunk_seconds, left))
            at = time.monotonic() - sampler.started
            cpu_before = server_cpu_seconds(pid)
            r = wrk_result(wrk(port, "mix", data, seconds, c, args.threads))
            cpu = server_cpu_seconds(pid) - cpu_before
            chunks.append(Chunk(at, r["requests"], r["rps"], r["p50_ms"], r["p99_ms"], r["errors"], r["starved"],
                                cpu * 1000 / max(1.0, r["requests"])))
            print(f"  {at / 60:5.1f} min: {r['rps']:.0f} req/s, p99 {r['p99_ms']:.0f} ms, {r['errors']:.0f} errors, "
                  f"RSS {sampler.samples[-1][1]:.1f} MiB", file=sys.stderr, flush=True)
    finally:
        await client.http.aclose()
    return chunks


def _slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MiB), in MiB per minute."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    return 0.0 if var == 0 else 60 * sum((x - mx) * (y - my) for x, y in points) / var


@dataclass
class Verdict:
    idle: float
    reference: float
    first_loaded: float
    last: float
    low: float
    high: float
    deviation: float  # largest |sample - reference| / reference after the warm-up
    slope: float
    flat: bool


def judge(samples: list[tuple[float, float]], load_started_s: float, warmup_s: float) -> Verdict:
    """The memory verdict: every sample after the warm-up within TOLERANCE of the RSS at its end."""
    idle = next((mib for s, mib in samples if s <= load_started_s), samples[0][1])
    loaded = [(s, mib) for s, mib in samples if s > load_started_s] or samples
    after = [(s, mib) for s, mib in loaded if s >= load_started_s + warmup_s] or loaded
    reference = after[0][1]
    deviation = max(abs(mib - reference) / reference for _, mib in after)
    return Verdict(idle, reference, loaded[0][1], after[-1][1], min(m for _, m in after), max(m for _, m in after),
                   deviation, _slope(after), deviation <= TOLERANCE)


def run(args: argparse.Namespace) -> tuple[str, Verdict]:
    workdir = Path(tempfile.mkdtemp(prefix="tb-soak-"))
    db = args.database_url or f"sqlite:///{workdir / 'soak.db'}"
    port = _free_port()
    env = {**os.environ, "TICKETBOOTH_DATABASE_URL": db, "TICKETBOOTH_LOG_LEVEL": "warning",
           "TICKETBOOTH_PUBLIC_HOST": f"127.0.0.1:{port}"}
    seed(env, workdir)
    load_before = _loadavg()
    server = subprocess.Popen([sys.executable, "-m", "ticketbooth", "serve", "--port", str(port), "--workers", "1"],
                              env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=open(workdir / "server.log", "wb"))
    try:
        _wait_healthy(port)
        sampler = Sampler(server.pid, args.sample_seconds)
        sampler.start()
        try:
            load_started_s = time.monotonic() - sampler.started
            chunks = asyncio.run(_chunks(args, port, server.pid, workdir, sampler))
        finally:
            sampler.stop()
    finally:
        server.terminate()
        server.wait(timeout=60)
    verdict = judge(sampler.samples, load_started_s, args.warmup_minutes * 60)
    db_size = (workdir / "soak.db").stat().st_size / 2**20 if not args.database_url else None

    total = sum(ch.requests for ch in chunks)
    lines = [
        f"# Ticketbooth memory soak, {time.strftime('%Y-%m-%d %H:%M:%S')}",
        "",
        f"machine: {_cpu_model()}, {os.cpu_count()} cores, {_memory_gib():.0f} GiB, Linux {platform.release()}, "
        f"Python {platform.python_version()}, {_wrk_version()}",
        f"run: database {db.split(':', 1)[0]}, 1 server process, storefront mix (35% refresh, 35% current account, "
        f"25% anonymous, 5% login), {args.connections} connections, {args.minutes:g} min in {len(chunks)} chunks; "
        f"RSS every {args.sample_seconds:g} s; warm-up {args.warmup_minutes:g} min; load average {load_before} "
        f"before, {_loadavg()} after (the load generator and any other work share the cores)",
        f"requests: {total:.0f} ({sum(ch.errors for ch in chunks):.0f} errors)"
        + (f"; SQLite file at the end {db_size:.0f} MiB" if db_size is not None else ""),
        "",
        "| RSS MiB | idle | first under load | end of warm-up (reference) | min after | max after | last |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| | {verdict.idle:.1f} | {verdict.first_loaded:.1f} | {verdict.reference:.1f} | {verdict.low:.1f} | "
        f"{verdict.high:.1f} | {verdict.last:.1f} |",
        "",
        f"largest deviation from the reference after the warm-up: {100 * verdict.deviation:.1f}% "
        f"(target <= {100 * TOLERANCE:.0f}%): **{'met' if verdict.flat else 'missed'}**; "
        f"slope after the warm-up {verdict.slope:+.2f} MiB/min",
        "",
        "| minute | req/s | p50 ms | p99 ms | errors | CPU ms/req | RSS MiB at start |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for ch in chunks:
        rss = next((mib for s, mib in reversed(sampler.samples) if s <= ch.start_s), verdict.idle)
        errors = f"{ch.errors:.0f}" + (f" ({ch.starved:.0f} starved)" if ch.starved else "")
        lines.append(f"| {ch.start_s / 60:.1f} | {ch.rps:.0f} | {ch.p50_ms:.1f} | {ch.p99_ms:.1f} | {errors} | "
                     f"{ch.cpu_ms:.2f} | {rss:.1f} |")
    lines += ["", "RSS samples (seconds: MiB): " + ", ".join(f"{s:.0f}: {mib:.1f}" for s, mib in sampler.samples)]
    shutil.rmtree(workdir, ignore_errors=True)
    return "\n".join(lines), verdict


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--warmup-minutes", type=float, default=1.0)
    ap.add_argument("--sample-seconds", type=float, default=10.0)
    ap.add_argument("--chunk-seconds", type=float, default=60.0, help="wrk run length between fresh tickets")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1, help="wrk threads")
    ap.add_argument("--database-url", default="")
    ap.add_argument("--save", action="store_true", help="also write the report to bench/results/")
    args = ap.parse_args()
    if not 0 < args.minutes <= 240 or not 0 <= args.warmup_minutes < args.minutes:
        ap.error("--minutes must be in (0, 240] and --warmup-minutes below it")
    if not 1 <= args.sample_seconds <= 600 or not 5 <= args.chunk_seconds <= 3600:
        ap.error("--sample-seconds must be in [1, 600] and --chunk-seconds in [5, 3600]")
    if shutil.which("wrk") is None:
        print("wrk is not installed: `make wrk` installs it (apt-get install -y wrk)", file=sys.stderr)
        return 2

    report, verdict = run(args)
    print(report)
    if args.save:
        save_result(report, args.database_url, "soak")
    return 0 if verdict.flat else 1


if __name__ == "__main__":
    raise SystemExit(main())
