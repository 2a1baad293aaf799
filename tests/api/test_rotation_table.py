"""One table of refresh scenarios, run unchanged on SQLite and on PostgreSQL (the `client` fixture runs
every test on both): the answers and what is stored afterwards must be the table's on each, so the
two databases' rotations (tickets/store/rotation.py) cannot disagree without one of them failing here.

Each scenario starts from one ticket `T0` (anonymous or registered) and runs steps over HTTP; a step's
outcome is its status and, for a 200, which refresh token it handed out, named in order of first
appearance (`S1`, `S2`, ...). The stored state at the end is the family's tickets (generation, used or
not), whether and why the family ended, and how far its expiry moved."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tests.api.support import LOGIN, anonymous, login, ok, refresh, register
from tests.conftest import app_token, headers
from tests.store.test_store import family_and_ticket, ticket_of
from ticketbooth.core import Core
from ticketbooth.db import tables as t
from ticketbooth.domain.models import REVOKED_BY_LOGOUT, REVOKED_BY_REPLAY
from ticketbooth.infra.clock import ManualClock
from ticketbooth.infra.tokens import at_rest

pytestmark = pytest.mark.usefixtures("seeded")

GRACE = 10  # the `settings` fixture's refresh_grace_seconds


@dataclass(frozen=True)
class Scenario:
    name: str
    registered: bool
    steps: list[tuple[Any, ...]]
    """("refresh", label), ("advance", seconds), ("logout", label), ("parallel", label, n)."""
    outcomes: list[Any]
    """Per refresh step (status, label) ; per parallel step the sorted list of them."""
    tickets: list[tuple[int, bool]]
    """(generation, used) of every ticket of the family."""
    revoked: str | None = None
    expiry_moved: timedelta = field(default=timedelta(0))
    """How far the family's expiry moved from the one it was opened with."""


DAY = 86400
SCENARIOS = [
    Scenario("fresh, registered: a successor, the login's expiry kept", True,
             [("advance", 60), ("refresh", "T0")], [(200, "S1")], [(0, True), (1, False)]),
    Scenario("fresh, anonymous: a successor, the visit's expiry slides", False,
             [("advance", 60), ("refresh", "T0")], [(200, "S1")], [(0, True), (1, False)],
             expiry_moved=timedelta(seconds=60)),
    Scenario("a chain of three", False,
             [("refresh", "T0"), ("refresh", "S1"), ("refresh", "S2")], [(200, "S1"), (200, "S2"), (200, "S3")],
             [(0, True), (1, True), (2, True), (3, False)]),
    Scenario("reuse within the grace: the same successor", True,
             [("refresh", "T0"), ("advance", GRACE - 1), ("refresh", "T0")], [(200, "S1"), (200, "S1")],
             [(0, True), (1, False)]),
    Scenario("reuse at the grace's last second: the same successor", False,
             [("refresh", "T0"), ("advance", GRACE), ("refresh", "T0")], [(200, "S1"), (200, "S1")],
             [(0, True), (1, False)]),
    Scenario("replay after the grace: the family ends", True,
             [("refresh", "T0"), ("advance", GRACE + 1), ("refresh", "T0"), ("refresh", "S1")],
             [(200, "S1"), (401, None), (401, None)], [(0, True), (1, False)], revoked=REVOKED_BY_REPLAY),
    Scenario("replay within the grace of a token whose successor was used: the family ends", False,
             [("refresh", "T0"), ("refresh", "S1"), ("advance", 1), ("refresh", "T0"), ("refresh", "S2")],
             [(200, "S1"), (200, "S2"), (401, None), (401, None)], [(0, True), (1, True), (2, False)],
             revoked=REVOKED_BY_REPLAY),
    Scenario("expired: refused, nothing changed", True,
             [("advance", DAY + 1), ("refresh", "T0")], [(401, None)], [(0, False)]),
    Scenario("expired anonymous visit: refused, nothing changed", False,
             [("advance", 30 * DAY + 1), ("refresh", "T0")], [(401, None)], [(0, False)]),
    Scenario("revoked family: refused, nothing changed", True,
             [("logout", "T0"), ("refresh", "T0")], [(401, None)], [(0, False)], revoked=REVOKED_BY_LOGOUT),
    Scenario("concurrent refreshes with one token: one successor for all", True,
             [("parallel", "T0", 12)], [[(200, "S1")] * 12], [(0, True), (1, False)]),
    Scenario("concurrent refreshes of a spent token after the grace: the family ends once", False,
             [("refresh", "T0"), ("advance", GRACE + 1), ("parallel", "T0", 6)],
             [(200, "S1"), [(401, None)] * 6], [(0, True), (1, False)], revoked=REVOKED_BY_REPLAY),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
async def test_the_rotation_table(scenario: Scenario, client: httpx.AsyncClient, core: Core,
                                  clock: ManualClock) -> None:
    hdrs = headers(await app_token(client))
    if scenario.registered:
        await register(client, hdrs, "table@example.com")
        first = ok(await login(client, hdrs, "table@example.com"))
    else:
        first = await anonymous(client, hdrs)
    tokens = {"T0": first["refreshToken"]}
    family_id, expires_before = await _family(core, first["refreshToken"])

    def label(body: dict[str, Any]) -> str:
        token = body["refreshToken"]
        for name, known in tokens.items():
            if known == token:
                return name
        name = f"S{len(tokens)}"
        tokens[name] = token
        return name

    async def one(name: str) -> tuple[int, str | None]:
        r = await refresh(client, hdrs, tokens[name])
        if r.status_code == 200:
            return 200, label(r.json())
        assert r.json()["errorCode"] == "INVALID_REFRESH_TOKEN", r.text
        return r.status_code, None

    outcomes: list[Any] = []
    for step in scenario.steps:
        if step[0] == "advance":
            clock.advance(timedelta(seconds=step[1]))
            hdrs = headers(await app_token(client))  # the app token lives an hour
        elif step[0] == "logout":
            assert (await client.delete(LOGIN, headers=hdrs, params={"refreshToken": tokens[step[1]]})).status_code == 204
        elif step[0] == "refresh":
            outcomes.append(await one(step[1]))
        else:
            answers = await asyncio.gather(*(refresh(client, hdrs, tokens[step[1]]) for _ in range(step[2])))
            outcomes.append(sorted([(200, label(r.json())) if r.status_code == 200 else (r.status_code, None)
                                    for r in answers], key=repr))

    assert outcomes == scenario.outcomes
    async with core.store.engine.connect() as conn:
        tickets = (await conn.execute(select(t.tickets.c.generation, t.tickets.c.used_at.is_not(None))
                                      .where(t.tickets.c.family_id == family_id)
                                      .order_by(t.tickets.c.generation))).all()
        reason, expires_after = (await conn.execute(select(t.token_families.c.revoke_reason,
                                                           t.token_families.c.expires_at)
                                                    .where(t.token_families.c.id == family_id))).one()
    assert [(g, bool(u)) for g, u in tickets] == scenario.tickets
    assert reason == scenario.revoked
    assert expires_after - expires_before == scenario.expiry_moved
    # a replay is written to the audit trail once, whatever the number of requests that found it
    replays = await _replay_entries(core, family_id)
    assert replays == (1 if scenario.revoked == REVOKED_BY_REPLAY else 0)


async def _family(core: Core, refresh_token: str) -> tuple[str, Any]:
    found = await core.store.ticket_by_refresh(at_rest(refresh_token))
    assert found is not None
    return found[1].id, found[1].expires_at


async def _replay_entries(core: Core, family_id: str) -> int:
    async with core.store.engine.connect() as conn:
        rows = (await conn.execute(select(t.audit_entries.c.detail).where(t.audit_entries.c.event == "refresh.replayed"))).all()
    return sum(1 for (detail,) in rows if (detail or {}).get("sessionId") == family_id)


# -- the same rotations at the store, on both of its paths -------------------------------------------

@pytest.mark.parametrize("path", ["hot path", "transaction"])
async def test_the_store_rotation_table(path: str, core: Core, clock: ManualClock) -> None:
    """The storage rotation alone, on the hot path (concurrent calls, grouped) and on a transaction's
    connection (the path of a store without a hot path): the same answers and rows on each database.
    Rows per chain: three rotations of an unused ticket, the first wins; a spent ticket, none; a
    rotation asking a new family expiry; a successor that clashes with a stored ticket fails alone and
    leaves its ticket unused."""
    now = clock.now()
    chains = [family_and_ticket(now) for _ in range(4)]
    for f, r in chains:
        await core.store.insert_family(f, r)
    later = now + timedelta(minutes=5)
    moved = later + timedelta(days=2)
    (f0, r0), (f1, r1), (f2, r2), (f3, r3) = chains
    spent = ticket_of(f1, 1, later)
    clash = replace(ticket_of(f3, 1, later), refresh_hash=r0.refresh_hash)  # a stored ticket's hash
    calls = [(r0.refresh_hash, ticket_of(f0, 1, later), None) for _ in range(3)]
    calls += [(r1.refresh_hash, spent, None), (r1.refresh_hash, ticket_of(f1, 1, later), None)]
    calls += [(r2.refresh_hash, ticket_of(f2, 1, later), moved), (r3.refresh_hash, clash, None)]

    async def attempt(store: Any, old: str, successor: Any, expires: Any) -> Any:
        try:
            return await store.rotate(old, successor, later, expires)
        except IntegrityError:
            return "clash"

    if path == "hot path":
        assert core.store._hot is not None
        answers = list(await asyncio.gather(*(attempt(core.store, *c) for c in calls[:-1])))
        # the clash alone: a group that fails on a unique key is retried one by one, concurrently,
        # which would leave the order of the group's other rotations to chance
        answers.append(await attempt(core.store, *calls[-1]))
    else:
        answers = []
        for c in calls:
            async with core.store.transaction() as tx:  # each alone: a clash rolls back its transaction
                assert tx._hot is None
                answers.append(await attempt(tx, *c))

    assert answers == [True, False, False, True, False, True, "clash"]
    async with core.store.engine.connect() as conn:
        rows = (await conn.execute(select(t.tickets.c.family_id, t.tickets.c.generation, t.tickets.c.used_at,
                                          t.tickets.c.refresh_hash))).all()
        expiries = dict((await conn.execute(select(t.token_families.c.id, t.token_families.c.expires_at))).all())
    by_family = {f.id: sorted((g, u is not None) for fid, g, u, _ in rows if fid == f.id) for f, _ in chains}
    assert by_family == {f0.id: [(0, True), (1, False)], f1.id: [(0, True), (1, False)],
                         f2.id: [(0, True), (1, False)], f3.id: [(0, False)]}
    assert calls[0][1].refresh_hash in {h for *_, h in rows}  # the first caller's successor is the one kept
    assert spent.refresh_hash in {h for *_, h in rows}
    assert expiries == {f0.id: f0.expires_at, f1.id: f1.expires_at, f2.id: moved, f3.id: f3.expires_at}
