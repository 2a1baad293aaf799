"""the customer search: indexes that keep it fast at 100,000 accounts and more

Revision ID: 0009_console_search
Revises: 0008_webhooks
Create Date: 2026-12-05

The console's customer search (issue 18) and the accounts list's filter and free-text search (`q`):

- `ix_accounts_customer_set_id`: a customer set's accounts counted from the index alone, and read in
  id order (the list's order) without sorting them all (the list checks the tenant on the set's row);
- `ix_accounts_customer_set_id_username_key`: a username found as fast as an email;
- `ix_accounts_first_name_lower`, `ix_accounts_last_name_lower` (expressions: the set and lower() of the
  name, as the list compares names): a filter on a first or last name (`lastName eq 'Doe'`) looked up.
- Free-text words are matched anywhere inside the email, username, names and external id (`cont`),
  which no B-tree serves. A trigram index does, one per database, kept by the database itself:
  - SQLite: an FTS5 table with the trigram tokenizer over those columns (`account_search`, external
    content: it stores only the index, read from `accounts`), kept in step by three triggers;
  - PostgreSQL: a GIN index (pg_trgm, a trusted extension since PostgreSQL 13) over the same text
    joined in one expression (`accounts_search_text`).
  The store asks it first for the candidate accounts of each word, then applies the exact comparison
  (accounts/store/accounts.py `_search_candidates`). Neither is in db/tables.py: SQLAlchemy has no
  table for an FTS5 table or an expression index; `SEARCH_INDEX_TABLES` there names the former.
"""

from __future__ import annotations

from alembic import op

revision = '0009_console_search'
down_revision = '0008_webhooks'
branch_labels = None
depends_on = None

_COLUMNS = "email_key, username_key, first_name, last_name, external_id"
_NEW = ", ".join(f"new.{c.strip()}" for c in _COLUMNS.split(","))
_OLD = ", ".join(f"old.{c.strip()}" for c in _COLUMNS.split(","))
# the text the PostgreSQL trigram index holds: each field as the list compares it, \x01 between them
PG_SEARCH_TEXT = ("(coalesce(email_key, '') || chr(1) || coalesce(username_key, '') || chr(1) || "
                  "lower(coalesce(first_name, '')) || chr(1) || lower(coalesce(last_name, '')) || chr(1) || "
                  "lower(coalesce(external_id, '')))")


# The statements below are built from the column names above only, never from a value (S608: a false alarm).
def upgrade() -> None:
    op.create_index('ix_accounts_customer_set_id', 'accounts', ['customer_set_id'])
    op.create_index('ix_accounts_customer_set_id_username_key', 'accounts', ['customer_set_id', 'username_key'])
    for name in ("first_name", "last_name"):
        op.execute(f"CREATE INDEX ix_accounts_{name}_lower ON accounts (customer_set_id, lower({name}))")
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"CREATE VIRTUAL TABLE account_search USING fts5({_COLUMNS}, content='accounts', "
                   "content_rowid='id', tokenize='trigram')")
        add = f"INSERT INTO account_search(rowid, {_COLUMNS}) VALUES (new.id, {_NEW});"  # noqa: S608
        remove = f"INSERT INTO account_search(account_search, rowid, {_COLUMNS}) VALUES ('delete', old.id, {_OLD});"  # noqa: S608
        op.execute(f"CREATE TRIGGER account_search_insert AFTER INSERT ON accounts BEGIN {add} END")
        op.execute(f"CREATE TRIGGER account_search_delete AFTER DELETE ON accounts BEGIN {remove} END")
        op.execute(f"CREATE TRIGGER account_search_update AFTER UPDATE OF {_COLUMNS} ON accounts BEGIN {remove} {add} END")
        op.execute("INSERT INTO account_search(account_search) VALUES ('rebuild')")
    else:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(f"CREATE INDEX accounts_search_text ON accounts USING gin ({PG_SEARCH_TEXT} gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("account_search_insert", "account_search_delete", "account_search_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS account_search")
    else:
        op.execute("DROP INDEX IF EXISTS accounts_search_text")
    for name in ("first_name", "last_name"):
        op.execute(f"DROP INDEX IF EXISTS ix_accounts_{name}_lower")
    op.drop_index('ix_accounts_customer_set_id_username_key', table_name='accounts')
    op.drop_index('ix_accounts_customer_set_id', table_name='accounts')
