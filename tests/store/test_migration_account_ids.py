"""Migration 0005e on a database that has data: on SQLite `accounts` is rebuilt with AUTOINCREMENT
(every row of it and of the tables that refer to it kept), its sequence starts past every account id
seen anywhere; on both databases the audit entries written before get their account's user id only
where they are that account's. Down and up again keeps the data too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from ticketbooth.db.database import alembic_config, create_engine

REVISION = "0005e_account_ids_never_reused"
BEFORE = "0004"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _at(conn: Connection, revision: str) -> None:
    # the PostgreSQL test database may already be at head (it is emptied between tests, not dropped)
    command.upgrade(alembic_config(conn), "head")
    command.downgrade(alembic_config(conn), revision)


def _to(revision: str) -> Any:
    def run(conn: Connection) -> None:
        command.upgrade(alembic_config(conn), revision)
    return run


def _down(revision: str) -> Any:
    def run(conn: Connection) -> None:
        command.downgrade(alembic_config(conn), revision)
    return run


async def _rows(conn: Any, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await conn.execute(text(sql))]


_ACCOUNT = ("INSERT INTO accounts (tenant_id, customer_set_id, user_id, email, email_key, username, username_key, "
            "has_external_password, migration_required, tax_exempt, accepts_marketing, is_active, is_locked, "
            "created_at, updated_at) VALUES (1, 1, :user, :email, :email, :email, :email, false, false, false, false, "
            "true, false, :at, :at) RETURNING id")
_ENTRY = ("INSERT INTO audit_entries (tenant_id, account_id, event, at) VALUES (1, :account, :event, :at)")


async def _seed(conn: Any) -> tuple[int, int]:
    await conn.execute(text("INSERT INTO tenants (id, name, settings, created_at) VALUES (1, 't', '{}', :at)"),
                       {"at": T0})
    await conn.execute(text("INSERT INTO customer_sets (id, tenant_id, code, name, is_default, created_at) "
                            "VALUES (1, 1, 'default', 'Default', true, :at)"), {"at": T0})
    ids = []
    for n, (user, email) in enumerate((("a" * 32, "ann@example.com"), ("b" * 32, "bob@example.com"))):
        created = T0 + timedelta(days=10 * (n + 1))
        ids.append(int((await conn.execute(text(_ACCOUNT), {"user": user, "email": email, "at": created})).scalar_one()))
        await conn.execute(text("INSERT INTO login_names (customer_set_id, name_key, account_id) VALUES (1, :k, :a)"),
                           {"k": email, "a": ids[-1]})
    ann, bob = ids
    await conn.execute(text("INSERT INTO contacts (account_id, email, types, created_at, updated_at) "
                            "VALUES (:a, 'home@example.com', '[]', :at, :at)"), {"a": bob, "at": T0})
    await conn.execute(text("INSERT INTO account_codes (code_hash, purpose, account_id, created_at, expires_at, "
                            "failed_attempts) VALUES (:h, 'reset', :a, :at, :at, 0)"), {"h": "c" * 64, "a": ann, "at": T0})
    entries = [
        (ann, "account.created", T0 + timedelta(days=10)),  # ann's
        (ann, "login.succeeded", T0 + timedelta(days=11)),  # ann's
        (bob, "login.failed", T0 + timedelta(days=1)),  # before bob was created: an earlier holder's
        (bob, "account.deleted", T0 + timedelta(days=20)),  # the earlier holder's deletion, bob's creation moment
        (bob, "account.created", T0 + timedelta(days=20)),  # bob's
        (bob + 3, "login.failed", T0 + timedelta(days=25)),  # an account deleted since
    ]
    for account, event, at in entries:
        await conn.execute(text(_ENTRY), {"account": account, "event": event, "at": at})
    await conn.execute(text(
        "INSERT INTO token_families (id, tenant_id, site_id, customer_set_id, application_id, client_id, user_id, "
        "account_id, is_anonymous, created_at, expires_at, access_ttl_seconds, refresh_ttl_seconds) VALUES "
        "(:id, 1, 1, 1, 1, 'app', :user, :account, false, :at, :at, 900, 86400)"),
        {"id": "f" * 32, "user": "d" * 32, "account": bob + 5, "at": T0})
    return ann, bob


async def test_upgrade_keeps_the_data_and_never_hands_out_an_id_again(database_url: str) -> None:
    engine = create_engine(database_url)
    sqlite = database_url.startswith("sqlite")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_at, BEFORE)
            ann, bob = await _seed(conn)
        async with engine.begin() as conn:
            await conn.run_sync(_to("head"))
        async with engine.connect() as conn:
            accounts = await _rows(conn, "SELECT id, user_id, email FROM accounts ORDER BY id")
            names = await _rows(conn, "SELECT name_key, account_id FROM login_names ORDER BY name_key")
            contacts = await _rows(conn, "SELECT account_id, email FROM contacts")
            codes = await _rows(conn, "SELECT account_id, code_hash FROM account_codes")
            attributed = await _rows(conn, "SELECT account_id, event, user_id FROM audit_entries ORDER BY id")
            table_sql = (await conn.execute(text(
                "SELECT sql FROM sqlite_master WHERE name = 'accounts'"))).scalar() if sqlite else ""
        async with engine.begin() as conn:
            new_id = int((await conn.execute(text(_ACCOUNT), {
                "user": "e" * 32, "email": "eve@example.com", "at": T0 + timedelta(days=40)})).scalar_one())
    finally:
        await engine.dispose()

    assert accounts == [(ann, "a" * 32, "ann@example.com"), (bob, "b" * 32, "bob@example.com")]
    assert names == [("ann@example.com", ann), ("bob@example.com", bob)]
    assert contacts == [(bob, "home@example.com")]
    assert codes == [(ann, "c" * 64)]
    assert attributed == [
        (ann, "account.created", "a" * 32), (ann, "login.succeeded", "a" * 32),
        (bob, "login.failed", None), (bob, "account.deleted", None), (bob, "account.created", "b" * 32),
        (bob + 3, "login.failed", None),
    ]
    assert new_id > bob
    if sqlite:
        assert "AUTOINCREMENT" in str(table_sql)
        assert new_id == bob + 6  # past the id of the deleted account that still had a session


async def test_down_and_up_again_keeps_the_data(database_url: str) -> None:
    engine = create_engine(database_url)
    sqlite = database_url.startswith("sqlite")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_at, BEFORE)
            ann, bob = await _seed(conn)
            await conn.run_sync(_to("head"))
        async with engine.begin() as conn:
            await conn.run_sync(_down(BEFORE))
        async with engine.connect() as conn:
            down = await _rows(conn, "SELECT a.id, n.name_key FROM accounts AS a JOIN login_names AS n "
                                     "ON n.account_id = a.id ORDER BY a.id")
            columns = await _rows(conn, "SELECT * FROM audit_entries")
            if sqlite:
                table_sql = (await conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'accounts'"))).scalar()
                assert "AUTOINCREMENT" not in str(table_sql)
        async with engine.begin() as conn:
            await conn.run_sync(_to("head"))
            up = await _rows(conn, "SELECT a.id, n.name_key FROM accounts AS a JOIN login_names AS n "
                                   "ON n.account_id = a.id ORDER BY a.id")
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    finally:
        await engine.dispose()
    assert down == up == [(ann, "ann@example.com"), (bob, "bob@example.com")]
    assert len(columns[0]) == 10  # user_id is gone again
    assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()
