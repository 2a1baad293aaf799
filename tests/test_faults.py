"""Dependencies going away and coming back while a real `ticketbooth serve` process runs (issue 6, item 4).

- PostgreSQL: a cluster of the test's own (initdb into a temporary directory, its own port; the
  machine's shared server is never touched) is stopped under a live server. Every answer while it is
  down is a fast 503 SERVICE_UNAVAILABLE in the Kibo envelope with Retry-After (never a 500, never a
  hang), /readyz says the database is down; once it is started again the same server process answers
  2xx again, without a restart. A quick restart with no traffic in between (every pooled connection
  stale) costs at most a 503 per pool, never a 500. A silent database (postmaster stopped with
  SIGSTOP: connections accepted, never answered) gets 503s after the connect timeout, not a hang.
- Which failures count as "the database cannot be reached" (infra/reachability.py), and the API's
  last-line handler for those that escape the store: 503 for them, a logged 500 for a bug.
- Redis: a redis-server of the test's own, stopped under two live servers that share rate limits
  through it: the limits still hold (each process counts alone: looser, never unlimited), one
  warning is logged, and once Redis is back the processes share their limits again.
- SMTP: a password-reset mail queued while no SMTP server listens waits in the outbox and is
  delivered, exactly once, once an SMTP server listens on that port.

The figures (requests, 503s, slowest answer while down, time to recover) are printed (`-s` shows them).
`-m soak` runs the longer variant: several stop/start cycles of PostgreSQL under traffic.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import exc as sa

from tests.api.support import ANONYMOUS, CURRENT, CUSTOMER, ENVELOPE_KEYS, LOGIN, OAUTH, REFRESH, REGISTER
from tests.api.test_rate_limits import bucket, set_limits
from tests.api.test_rate_limits_redis import _app_headers, _servers
from tests.conftest import PASSWORD, SITE, STOREFRONT, TENANT, LiveServer, free_port, headers, seed, start_server, stop_server
from tests.smtp import Recorder, SmtpServer
from ticketbooth.app import create_app
from ticketbooth.config import Settings
from ticketbooth.core import Core, open_core
from ticketbooth.infra.ratelimit import RedisLimiter
from ticketbooth.infra.reachability import CONNECT_TIMEOUT_SECONDS, database_unreachable

PG_BIN = next((p.parent for p in sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)), None)
REFUSED_SLOWEST = 3.0
"""Seconds: the slowest answer allowed while the database refuses connections (it fails at once; the
margin is for a loaded test machine)."""


# -- a PostgreSQL cluster of the test's own ----------------------------------------------------------

class OwnPostgres:
    """A throw-away PostgreSQL cluster (trust auth, its own port and socket directory) run as the
    `postgres` user, which the test may stop and start at will."""

    def __init__(self) -> None:
        assert PG_BIN is not None
        self.root = Path(tempfile.mkdtemp(prefix="tb-faults-pg-"))
        shutil.chown(self.root, "postgres", "postgres")
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / tool), *args],
                              capture_output=True, timeout=120)
        assert done.returncode == 0, f"{tool} failed: {done.stdout.decode()} {done.stderr.decode()}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start")

    @property
    def pid(self) -> int:
        """The postmaster's process id."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(self.data),
                        "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    if PG_BIN is None:
        pytest.skip("initdb not found under /usr/lib/postgresql: cannot run a PostgreSQL cluster of the test's own")
    cluster = OwnPostgres()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


# -- driving a live server ---------------------------------------------------------------------------

@dataclass
class Tally:
    """What a phase of traffic got: every (kind, status, seconds)."""

    answers: list[tuple[str, int, float]] = field(default_factory=list)

    @property
    def statuses(self) -> Counter[int]:
        return Counter(status for _, status, _ in self.answers)

    @property
    def slowest(self) -> float:
        return max((seconds for *_, seconds in self.answers), default=0.0)

    def summary(self) -> str:
        return f"{len(self.answers)} requests, statuses {dict(sorted(self.statuses.items()))}, slowest {self.slowest:.3f} s"


def assert_unavailable(r: httpx.Response) -> None:
    """A 503 SERVICE_UNAVAILABLE in the Kibo envelope with a Retry-After."""
    assert r.status_code == 503, r.text
    body = r.json()
    assert set(body) == ENVELOPE_KEYS and body["errorCode"] == "SERVICE_UNAVAILABLE", body
    assert body["message"].startswith("Service Unavailable: "), body
    assert int(r.headers["Retry-After"]) >= 1


class Shopper:
    """Drives one server with the storefront mix: application token, anonymous ticket, refresh, login, current-account
    read, registration. Every answer must be a 2xx or a 503 in the envelope."""

    def __init__(self, http: httpx.AsyncClient, server: LiveServer) -> None:
        self.http, self.base = http, server.base_url
        self.app_headers: dict[str, str] = {}
        self.email = f"faults-{secrets.token_hex(4)}@example.com"
        self.refresh_token = ""
        self.access_token = ""

    async def setup(self) -> None:
        r = await self._app_token(Tally())
        assert r.status_code == 200, r.text
        self.app_headers = headers(r.json()["access_token"], TENANT, SITE)
        r = await self.http.post(f"{self.base}{REGISTER}", headers=self.app_headers,
                                 json={"account": {"emailAddress": self.email}, "password": PASSWORD})
        assert r.status_code == 200, r.text
        self._keep(r.json())

    async def _app_token(self, tally: Tally) -> httpx.Response:
        return await self._send(tally, "app token", "POST", OAUTH, headers={}, json={
            "client_id": STOREFRONT[0], "client_secret": STOREFRONT[1], "grant_type": "client_credentials"})

    def _keep(self, ticket: dict[str, Any]) -> None:
        self.refresh_token, self.access_token = ticket["refreshToken"], ticket["accessToken"]

    async def _send(self, tally: Tally, kind: str, method: str, path: str, **kw: Any) -> httpx.Response:
        started = time.perf_counter()
        r = await self.http.request(method, f"{self.base}{path}", headers=kw.pop("headers", self.app_headers), **kw)
        tally.answers.append((kind, r.status_code, time.perf_counter() - started))
        if r.status_code == 503:
            assert_unavailable(r)
        else:
            assert 200 <= r.status_code < 300, f"{kind}: {r.status_code} {r.text}"
        return r

    async def _anonymous(self, tally: Tally) -> None:
        await self._send(tally, "anonymous", "GET", ANONYMOUS)

    async def _refresh(self, tally: Tally) -> None:
        r = await self._send(tally, "refresh", "PUT", REFRESH, params={"refreshToken": self.refresh_token})
        if r.status_code == 200:
            self._keep(r.json())

    async def _login(self, tally: Tally) -> None:
        r = await self._send(tally, "login", "POST", LOGIN, json={"username": self.email, "password": PASSWORD})
        if r.status_code == 200:
            self._keep(r.json())

    async def _account(self, tally: Tally) -> None:
        await self._send(tally, "account", "GET", CURRENT, headers={**self.app_headers, "x-vol-user-claims": self.access_token})

    async def _register(self, tally: Tally) -> None:
        await self._send(tally, "register", "POST", REGISTER, json={
            "account": {"emailAddress": f"new-{secrets.token_hex(6)}@example.com"}, "password": PASSWORD})

    async def round(self, tally: Tally) -> bool:
        """One request of each kind, one after the other; True when every one of them succeeded."""
        before = len(tally.answers)
        for kind in (self._app_token, self._anonymous, self._refresh, self._login, self._account, self._register):
            await kind(tally)
        return all(200 <= status < 300 for _, status, _ in tally.answers[before:])

    async def burst(self, tally: Tally) -> None:
        """One request of each kind but refresh (each refresh spends the last one's token), all at once."""
        await asyncio.gather(self._app_token(tally), self._anonymous(tally), self._login(tally), self._account(tally),
                             self._register(tally))

    async def ready(self) -> httpx.Response:
        return await self.http.get(f"{self.base}/readyz")


def server_errors(workdir: Path) -> list[str]:
    """Lines of the servers' logs that tell of an unexpected error (a 500 or an exception)."""
    found = []
    for log in workdir.glob("server-*.log"):
        found += [line for line in log.read_text(errors="replace").splitlines()
                  if re.search(r"unexpected error|Traceback|Exception in ASGI", line)]
    return found


# -- which failures are "the database cannot be reached" ---------------------------------------------

def _wrapped(error: type[sa.DBAPIError], orig: BaseException, **kw: Any) -> sa.DBAPIError:
    """`orig` as SQLAlchemy raises it (with the driver error as `.orig`)."""
    return error("SELECT 1", None, orig, **kw)  # type: ignore[arg-type]


REFUSED = ConnectionRefusedError(111, "Connection refused")
POOL_TIMEOUT = sa.TimeoutError("QueuePool limit of size 10 overflow 10 reached, connection timed out, timeout 5.00")
DUPLICATE = _wrapped(sa.IntegrityError, sqlite3.IntegrityError("UNIQUE constraint failed: accounts.email"))
NO_TABLE = _wrapped(sa.OperationalError, sqlite3.OperationalError("no such table: accounts"))
NO_FILE = FileNotFoundError(2, "No such file or directory")
UNREACHABLE: list[BaseException] = [
    REFUSED, POOL_TIMEOUT, ConnectionResetError(), TimeoutError(), socket.gaierror(-2, "x"),
    OSError("Multiple exceptions: [Errno 111] Connect call failed ('::1', 5432), [Errno 111] ..."),
    asyncpg.CannotConnectNowError("the database system is shutting down"),
    asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.TooManyConnectionsError("sorry, too many clients already"),
    asyncpg.InterfaceError("connection is closed"),
    _wrapped(sa.DBAPIError, asyncpg.PostgresError("server closed the connection"), connection_invalidated=True),
    _wrapped(sa.OperationalError, sqlite3.OperationalError("database is locked")),
    _wrapped(sa.InterfaceError, asyncpg.InterfaceError("connection is closed")),
    _wrapped(sa.DBAPIError, asyncpg.CannotConnectNowError("the database system is starting up")),
]
REACHABLE: list[BaseException] = [
    DUPLICATE, NO_TABLE, NO_FILE,
    _wrapped(sa.IntegrityError, asyncpg.UniqueViolationError("duplicate key"), connection_invalidated=True),
    _wrapped(sa.InterfaceError, sqlite3.InterfaceError("Error binding parameter 1")),
    _wrapped(sa.DBAPIError, asyncpg.UndefinedTableError('relation "accounts" does not exist')),
    asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
    asyncpg.UniqueViolationError("duplicate key"),
    PermissionError(13, "Permission denied"),
    ValueError("bad value"), ZeroDivisionError(), KeyError("x"),
]


@pytest.mark.parametrize("error", UNREACHABLE, ids=lambda e: type(e).__name__)
def test_lost_database_failures_are_unreachable(error: BaseException) -> None:
    assert database_unreachable(error)


@pytest.mark.parametrize("error", REACHABLE, ids=lambda e: type(e).__name__)
def test_constraints_and_bugs_are_not_unreachable(error: BaseException) -> None:
    assert not database_unreachable(error)


async def test_database_errors_that_escape_the_store_answer_503_only_when_the_database_is_unreachable(
        core: Core) -> None:
    """The API's last line (kibo/errors.py): a pool timeout or a refused connect that got past the
    store is a 503 in the envelope with Retry-After; a constraint or a bug stays a logged 500."""
    app = create_app(core=core)
    errors = {"pool": POOL_TIMEOUT, "refused": REFUSED, "integrity": DUPLICATE, "table": NO_TABLE, "file": NO_FILE}

    async def fail(name: str) -> None:
        raise errors[name]

    app.add_api_route("/test-faults/{name}", fail)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for name in ("pool", "refused"):
            r = await client.get(f"/test-faults/{name}")
            assert_unavailable(r)
            assert len(r.headers.get_list("x-vol-correlation")) == 1
        for name in ("integrity", "table", "file"):
            r = await client.get(f"/test-faults/{name}")
            assert r.status_code == 500 and r.json()["errorCode"] == "UNEXPECTED_ERROR", r.text
            assert len(r.headers.get_list("x-vol-correlation")) == 1


# -- PostgreSQL goes away and comes back ---------------------------------------------------------------

async def _outage(cluster: OwnPostgres, shopper: Shopper, down_seconds: float, mode: str = "fast") -> dict[str, Any]:
    """Stop the cluster (pg_ctl stop -m `mode`) under traffic for `down_seconds`, start it again, and
    drive traffic until a whole round succeeds. Returns the figures."""
    cluster.stop(mode)
    down = Tally()
    stopped = time.monotonic()
    while time.monotonic() - stopped < down_seconds or len(down.answers) < 10:
        await shopper.round(down)
    r = await shopper.ready()
    assert_unavailable(r)
    assert {"name": "database", "value": "unreachable"} in r.json()["additionalErrorData"], r.text

    cluster.start()
    back, recovered = await _recovery(shopper)
    return {"down": down, "back": back, "recovered": recovered}


async def _recovery(shopper: Shopper) -> tuple[Tally, float]:
    """Rounds of traffic until one succeeds whole (the database is back); what they got and how long it took."""
    started = time.monotonic()
    back = Tally()
    while not await shopper.round(back):
        assert time.monotonic() - started < 30, f"not recovered 30 s after the database came back: {back.summary()}"
    recovered = time.monotonic() - started
    assert (await shopper.ready()).status_code == 200
    return back, recovered


async def _seed(database_url: str) -> None:
    """Seed `database_url` like `seeded` (in this process: cheaper than the CLI)."""
    core = await open_core(Settings(database_url=database_url))
    try:
        await seed(core)
    finally:
        await core.close()


async def test_database_outage_answers_503_fast_and_the_server_recovers(own_postgres: OwnPostgres,
                                                                       tmp_path: Path) -> None:
    await _seed(own_postgres.url)
    server = start_server(own_postgres.url, tmp_path)
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            shopper = Shopper(http, server)
            await shopper.setup()
            warm = Tally()
            assert await shopper.round(warm), warm.answers
            pid = server.process.pid

            figures = await _outage(own_postgres, shopper, down_seconds=4)
            down, back = figures["down"], figures["back"]
            print(f"\ndatabase down: {down.summary()}; back: {back.summary()}; "
                  f"recovered {figures['recovered']:.2f} s after the start")
            assert down.statuses[503] >= 10, down.summary()  # the database really was gone
            assert set(down.statuses) <= {200, 503}
            assert down.slowest < REFUSED_SLOWEST, down.summary()

            # A quick restart with no traffic in between: every pooled connection is stale.
            own_postgres.stop("fast")
            own_postgres.start()
            stale = Tally()
            for _ in range(3):
                await shopper.round(stale)
            print(f"after a quiet restart: {stale.summary()}")
            assert stale.statuses[503] <= 2, stale.summary()  # at most one per pool (SQLAlchemy's, the hot path's)
            assert await shopper.round(Tally())

            # The database goes silent: restarted (every pooled connection stale, so requests need new
            # ones), then its postmaster stopped with SIGSTOP: the kernel accepts connections, nobody
            # answers them. Requests wait for the connect timeout at most, then get a 503.
            own_postgres.stop("fast")
            own_postgres.start()
            os.kill(own_postgres.pid, signal.SIGSTOP)
            silent = Tally()
            try:
                await shopper.burst(silent)
            finally:
                os.kill(own_postgres.pid, signal.SIGCONT)
            back, recovered = await _recovery(shopper)
            print(f"database silent: {silent.summary()}; back: {back.summary()}; recovered in {recovered:.2f} s")
            assert silent.statuses[503] >= 1, silent.summary()
            assert CONNECT_TIMEOUT_SECONDS - 0.5 <= silent.slowest < CONNECT_TIMEOUT_SECONDS + 2, silent.summary()

            assert server.process.poll() is None and server.process.pid == pid  # the same process throughout
    finally:
        stop_server(server)
    assert server_errors(tmp_path) == []


# -- Redis goes away and comes back ---------------------------------------------------------------------

class OwnRedis:
    """A redis-server of the test's own (no persistence) on a port of its own, stopped and started at will."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._workdir = workdir
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no"], cwd=self._workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while self.keys() is None:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None

    def keys(self) -> int | None:
        """How many keys Redis holds; None when it does not answer."""
        import redis

        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return int(client.dbsize())
        except redis.RedisError:
            return None
        finally:
            client.close()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = OwnRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def log_lines(server: LiveServer, workdir: Path, text: str) -> list[str]:
    port = server.base_url.rsplit(":", 1)[1]
    return [line for line in (workdir / f"server-{port}.log").read_text().splitlines() if text in line]


async def _alternate(http: httpx.AsyncClient, servers: tuple[LiveServer, LiveServer], hdrs: list[dict[str, str]],
                     address: str, count: int) -> list[int]:
    """`count` anonymous-ticket requests from client `address`, alternating between the two servers;
    their statuses. Each must be answered within a second (the Redis client's timeout is half of it)."""
    statuses = []
    for i in range(count):
        started = time.perf_counter()
        r = await http.get(f"{servers[i % 2].base_url}{ANONYMOUS}", headers={**hdrs[i % 2], "X-Forwarded-For": address})
        assert time.perf_counter() - started < 1.0
        statuses.append(r.status_code)
    return statuses


# The limits live in Redis and in the processes, not in the database: one backend is enough here.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.usefixtures("seeded")
async def test_redis_outage_keeps_limits_in_process_and_they_are_shared_again_after(
        core: Core, own_redis: OwnRedis, tmp_path: Path) -> None:
    """Two server processes share a limit of 4 anonymous tickets per address through Redis. Redis
    stopped: each process keeps the limit alone (4 each: looser, never unlimited), one warning each.
    Redis back (empty): the processes share the limit again."""
    await set_limits(core, anonymous={"per_address": bucket(4)})
    database_url = core.settings.database_url
    await core.close()  # the servers own the database from here
    env = {"TICKETBOOTH_REDIS_URL": own_redis.url, "TICKETBOOTH_TRUSTED_PROXIES": "127.0.0.1"}
    with _servers(database_url, tmp_path, env) as servers:
        async with httpx.AsyncClient(timeout=30) as http:
            hdrs = [await _app_headers(http, s) for s in servers]
            assert await _alternate(http, servers, hdrs, "198.51.100.1", 10) == [200] * 4 + [429] * 6
            assert own_redis.keys()

            own_redis.stop()
            assert await _alternate(http, servers, hdrs, "198.51.100.2", 10) == [200] * 8 + [429] * 2
            for server in servers:
                assert len(log_lines(server, tmp_path, "Redis cannot be reached")) == 1
            r = await http.get(f"{servers[0].base_url}/readyz")  # not ready: the issue asks for database and Redis
            assert_unavailable(r)
            assert {"name": "redis", "value": "unreachable"} in r.json()["additionalErrorData"]

            own_redis.start()
            await asyncio.sleep(RedisLimiter(own_redis.url).retry_seconds + 0.5)  # each process tries Redis again
            assert await _alternate(http, servers, hdrs, "198.51.100.3", 10) == [200] * 4 + [429] * 6
            assert own_redis.keys()
            assert (await http.get(f"{servers[0].base_url}/readyz")).status_code == 200
            for server in servers:
                assert len(log_lines(server, tmp_path, "Redis answers again")) == 1
                assert len(log_lines(server, tmp_path, "Redis cannot be reached")) == 1
    assert server_errors(tmp_path) == []


# -- SMTP goes away and comes back ----------------------------------------------------------------------

@pytest.mark.usefixtures("seeded")
async def test_mail_queued_while_smtp_is_down_is_delivered_once_it_is_back(core: Core, tmp_path: Path) -> None:
    smtp = SmtpServer("127.0.0.1", free_port(), Recorder())  # nothing listens on its port yet
    database_url = core.settings.database_url
    await core.close()  # the server owns the database from here
    server = start_server(database_url, tmp_path, extra_env={
        "TICKETBOOTH_SMTP_HOST": smtp.host, "TICKETBOOTH_SMTP_PORT": str(smtp.port), "TICKETBOOTH_SMTP_STARTTLS": "false",
        "TICKETBOOTH_MAIL_POLL_SECONDS": "0.5", "TICKETBOOTH_MAIL_RETRY_SECONDS": "1",
        "TICKETBOOTH_METRICS_TOKEN": "metrics-token-0123456789"})
    controller: Controller | None = None
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            hdrs = await _app_headers(http, server)
            email = "forgetful@example.com"
            r = await http.post(f"{server.base_url}{REGISTER}", headers=hdrs,
                                json={"account": {"emailAddress": email}, "password": PASSWORD})
            assert r.status_code == 200, r.text
            r = await http.post(f"{server.base_url}{CUSTOMER}/accounts/Reset-Password", headers=hdrs,
                                json={"emailAddress": email})
            assert r.status_code == 200, r.text

            async def backlog() -> float:
                text = (await http.get(f"{server.base_url}/metrics",
                                       headers={"Authorization": "Bearer metrics-token-0123456789"})).text
                return float(re.search(r"^ticketbooth_mail_outbox_backlog (\S+)$", text, re.M)[1])  # type: ignore[index]

            deadline = time.monotonic() + 20
            while not log_lines(server, tmp_path, "not delivered (attempt 1)"):  # the first attempt failed
                assert time.monotonic() < deadline, "no delivery was attempted"
                await asyncio.sleep(0.1)
            assert await backlog() == 1  # waiting in the outbox, not lost

            controller = Controller(smtp.recorder, hostname=smtp.host, port=smtp.port)
            controller.start()
            started = time.monotonic()
            await asyncio.to_thread(smtp.wait_for, 1, 20)
            print(f"\nSMTP back: the queued mail arrived {time.monotonic() - started:.2f} s later")
            await asyncio.sleep(2)  # a few more polls and retry times: nothing goes twice
            [mail] = smtp.messages
            assert mail.rcpt_tos == [email] and "password" in str(mail.message["Subject"]).lower()
            assert len(mail.code()) == 32
            assert await backlog() == 0
    finally:
        stop_server(server)
        if controller is not None:
            controller.stop()
    assert server_errors(tmp_path) == []


@pytest.mark.soak
async def test_database_stop_start_cycles(own_postgres: OwnPostgres, tmp_path: Path) -> None:
    """The long variant: TICKETBOOTH_FAULT_CYCLES (default 10) outages of 1 to 5 seconds under traffic,
    alternately a clean shutdown and a crash (`immediate`: recovery replays the WAL), one server process."""
    cycles = int(os.environ.get("TICKETBOOTH_FAULT_CYCLES", "10"))
    await _seed(own_postgres.url)
    server = start_server(own_postgres.url, tmp_path)
    down, back, recoveries = Tally(), Tally(), []
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            shopper = Shopper(http, server)
            await shopper.setup()
            for cycle in range(cycles):
                figures = await _outage(own_postgres, shopper, down_seconds=1 + cycle % 5,
                                        mode="immediate" if cycle % 2 else "fast")
                down.answers += figures["down"].answers
                back.answers += figures["back"].answers
                recoveries.append(figures["recovered"])
            assert server.process.poll() is None
    finally:
        stop_server(server)
    print(f"\n{cycles} outages. down: {down.summary()}; back: {back.summary()}; "
          f"recovery {min(recoveries):.2f}-{max(recoveries):.2f} s")
    assert set(down.statuses) <= {200, 503} and down.slowest < REFUSED_SLOWEST
    assert server_errors(tmp_path) == []
