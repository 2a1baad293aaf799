"""login keys: NFKC again after case folding

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27

The login key of a username or email was NFKC, trimmed, case-folded. Case folding can undo the normal
form (ß followed by a combining accent folds to "ss" and the accent, which NFKC composes into another
letter), so two spellings of one name could get two keys. The key is now normalized once more after
folding (`domain.policies.login_key`). This recomputes the keys of the accounts whose names are not
ASCII (an ASCII name's key does not change) and the login names they claim.

Should a recomputed key already belong to another account (both spellings were registered while they
counted as two names), the account keeps its old key for that name and a warning names both accounts:
nothing is merged or lost, and an administrator decides which account keeps the name.
"""

from __future__ import annotations

import logging
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

accounts = sa.table("accounts", sa.column("id", sa.BigInteger), sa.column("customer_set_id", sa.Integer),
                    sa.column("email", sa.String), sa.column("email_key", sa.String),
                    sa.column("username", sa.String), sa.column("username_key", sa.String))
login_names = sa.table("login_names", sa.column("customer_set_id", sa.Integer), sa.column("name_key", sa.String),
                       sa.column("account_id", sa.BigInteger))


def _key(value: str | None) -> str | None:
    """`login_key` as of this revision (kept here: a migration must not change when the code does)."""
    if not value:
        return None
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).strip().casefold())


def _claim(conn: sa.Connection, customer_set_id: int, account_id: int, names: set[str | None]) -> None:
    """The account's login names, and only these."""
    conn.execute(login_names.delete().where(login_names.c.account_id == account_id))
    rows = [{"customer_set_id": customer_set_id, "name_key": name, "account_id": account_id}
            for name in sorted(n for n in names if n)]
    if rows:
        conn.execute(login_names.insert(), rows)


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(accounts.c.id, accounts.c.customer_set_id, accounts.c.email, accounts.c.email_key,
                                  accounts.c.username, accounts.c.username_key)).all()
    for row in rows:
        if (row.email or "").isascii() and (row.username or "").isascii():
            continue
        keys = {"email_key": (row.email_key, _key(row.email)), "username_key": (row.username_key, _key(row.username))}
        changed = {column: new for column, (old, new) in keys.items() if new != old}
        for column, new in list(changed.items()):
            holder = conn.execute(sa.select(login_names.c.account_id).where(
                login_names.c.customer_set_id == row.customer_set_id, login_names.c.name_key == new)).scalar()
            if holder is not None and holder != row.id:
                log.warning("account %s keeps its old %s: the recomputed key belongs to account %s", row.id,
                            column, holder)
                del changed[column]
        if not changed:
            continue
        conn.execute(accounts.update().where(accounts.c.id == row.id).values(**changed))
        _claim(conn, row.customer_set_id, row.id, {changed.get(column, old) for column, (old, _) in keys.items()})


def downgrade() -> None:
    # The old keys are not kept; recomputing them the old way is the same walk with the old rule.
    conn = op.get_bind()
    rows = conn.execute(sa.select(accounts.c.id, accounts.c.customer_set_id, accounts.c.email,
                                  accounts.c.username)).all()
    for row in rows:
        if (row.email or "").isascii() and (row.username or "").isascii():
            continue
        old = {column: unicodedata.normalize("NFKC", value).strip().casefold() if value else None
               for column, value in (("email_key", row.email), ("username_key", row.username))}
        conn.execute(accounts.update().where(accounts.c.id == row.id).values(**old))
        _claim(conn, row.customer_set_id, row.id, set(old.values()))
