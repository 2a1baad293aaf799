"""account ids are never reused; audit entries name their account's user id

Revision ID: 0005e_account_ids_never_reused
Revises: 0005b_lockout_per_account
Create Date: 2026-12-05

On SQLite an INTEGER PRIMARY KEY without AUTOINCREMENT takes the highest id plus one, so deleting the
account with the highest id handed its id to the next account, and with it what is still kept under
that id (the deleted account's audit trail). Two changes:

- SQLite: `accounts` is rebuilt with AUTOINCREMENT, and its sequence starts past the highest account
  id found anywhere (accounts, audit entries, sessions), so an id a deleted account had before this
  upgrade is not handed out again either. The tables that refer to accounts by a cascading foreign
  key are kept aside and put back around the rebuild: dropping the old table with foreign keys on
  would otherwise delete their rows. PostgreSQL's sequences never reuse an id: nothing to do there.
- Both: `audit_entries.user_id`, the user id of the entry's account, filled in for the entries
  written before: an entry gets the user id of the account that has its account id only if it was
  written after that account was created and after the last deletion recorded under that id
  (anything earlier belonged to a deleted account and stays unattributed).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005e_account_ids_never_reused'
down_revision = '0005b_lockout_per_account'
branch_labels = None
depends_on = None


def _is_sqlite() -> bool:
    return bool(op.get_bind().dialect.name == "sqlite")


def _has_autoincrement(conn: sa.Connection) -> bool:
    sql = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'accounts'")).scalar()
    return "AUTOINCREMENT" in str(sql or "").upper()


def _rebuild_accounts(conn: sa.Connection, *, autoincrement: bool) -> None:
    """Recreate `accounts` (SQLite) with or without AUTOINCREMENT, its rows and the rows of every
    table that refers to it unchanged."""
    inspector = sa.inspect(conn)
    # the table names come from the database's own schema, never from input
    children = sorted(name for name in inspector.get_table_names()
                      if any(fk["referred_table"] == "accounts" for fk in inspector.get_foreign_keys(name)))
    for name in children:
        conn.exec_driver_sql(f'CREATE TEMP TABLE "keep_{name}" AS SELECT * FROM "{name}"')  # noqa: S608
        conn.exec_driver_sql(f'DELETE FROM "{name}"')  # noqa: S608
    with op.batch_alter_table("accounts", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}):
        pass
    for name in children:
        conn.exec_driver_sql(f'INSERT INTO "{name}" SELECT * FROM "keep_{name}"')  # noqa: S608
        conn.exec_driver_sql(f'DROP TABLE "keep_{name}"')


def upgrade() -> None:
    conn = op.get_bind()
    if _is_sqlite() and not _has_autoincrement(conn):
        _rebuild_accounts(conn, autoincrement=True)
        high = conn.execute(sa.text(
            "SELECT max(v) FROM (SELECT max(id) AS v FROM accounts UNION ALL SELECT max(account_id) FROM audit_entries "
            "UNION ALL SELECT max(account_id) FROM token_families) AS ids")).scalar()
        conn.execute(sa.text("DELETE FROM sqlite_sequence WHERE name IN ('accounts', '_alembic_tmp_accounts')"))
        if high:
            conn.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('accounts', :high)"), {"high": high})

    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.String(length=32), nullable=True))
    conn.execute(sa.text(
        "UPDATE audit_entries SET user_id = (SELECT a.user_id FROM accounts AS a "
        "WHERE a.id = audit_entries.account_id AND audit_entries.at >= a.created_at) "
        "WHERE account_id IS NOT NULL AND user_id IS NULL AND id > coalesce((SELECT max(d.id) FROM audit_entries AS d "
        "WHERE d.account_id = audit_entries.account_id AND d.event = 'account.deleted'), 0)"))


def downgrade() -> None:
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_column('user_id')
    conn = op.get_bind()
    if _is_sqlite() and _has_autoincrement(conn):
        _rebuild_accounts(conn, autoincrement=False)
        conn.execute(sa.text("DELETE FROM sqlite_sequence WHERE name IN ('accounts', '_alembic_tmp_accounts')"))
