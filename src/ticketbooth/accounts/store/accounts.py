"""Accounts: the account record, its login names, and what a login reads and writes."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, column, delete, func, insert, literal_column, or_, select, table, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from ticketbooth.accounts.store.filtering import FieldMap, Folded, ListField, columns, page
from ticketbooth.accounts.store.parts import load_parts
from ticketbooth.accounts.store.reads import (
    ACCOUNT_FIELDS,
    PROFILE_FIELDS,
    account_of,
    attribute_ids_of_type,
    fetch,
    read_account,
)
from ticketbooth.b2b.rules import ACCOUNT_TYPE_B2B_USER
from ticketbooth.db import tables as t
from ticketbooth.db.base import StoreBase
from ticketbooth.db.hotpath import prepared
from ticketbooth.domain.errors import Conflict
from ticketbooth.domain.filters import ListQuery
from ticketbooth.domain.models import Account, NewAccount
from ticketbooth.domain.policies import fold_login, login_key


class AccountStore(StoreBase):
    async def insert_account(self, new: NewAccount, now: datetime) -> int:
        """The new account's id. Conflict when its email or username is a login name of another
        account of the customer set (emails and usernames share one namespace)."""
        values = {k: v for k, v in dataclasses.asdict(new).items() if k != "profile"}
        values.update(dataclasses.asdict(new.profile))
        async with self._begin(write=True) as conn:
            res = await conn.execute(insert(t.accounts).values(
                **values, password_changed_at=now if new.password_hash else None,
                created_at=now, updated_at=now, updated_by=new.created_by,
            ).returning(t.accounts.c.id))
            account_id = int(res.scalar_one())
            await _claim_login_names(conn, new.customer_set_id, account_id, (new.email_key, new.username_key))
            return account_id

    async def get_account(self, account_id: int, *, with_parts: bool = True) -> Account | None:
        """The account with its contacts, notes, attributes and segments (`with_parts`: one statement
        on the raw driver, see accounts/store/reads.py), or alone."""
        if with_parts:
            return await read_account(self.engine, self._conn, self._hot, account_id)
        async with self._begin(write=False) as conn:
            row = (await conn.execute(_ACCOUNT_BY_ID, {"account_id": account_id})).first()
        return None if row is None else _account(row)

    async def find_login(self, customer_set_id: int, key: str) -> tuple[Account, str | None] | None:
        """The account that logs in with `key` (a username or an email) in the customer set, with its
        password hash. No login name holds a NUL character (PostgreSQL text cannot): such a key is
        nobody's, without asking the database."""
        if "\x00" in key:
            return None
        # every login asks this: one statement on the hot path's driver (accounts/store/reads.py `fetch`)
        stmt = prepared(_ACCOUNT_BY_LOGIN_NAME, self.engine.dialect)
        rows = await fetch(self.engine, self._conn, self._hot, stmt.sql,
                           stmt.params({"customer_set_id": customer_set_id, "key": key}))
        if not rows:
            return None
        (found,) = stmt.mappings(rows[:1])
        return account_of(found), found["password_hash"]

    async def find_login_by_id(self, account_id: int) -> tuple[Account, str | None] | None:
        """`find_login` for an account named by its id (Change-Password): the account (without parts)
        with its password hash, in one statement."""
        async with self._begin(write=False) as conn:
            row = (await conn.execute(_LOGIN_BY_ID, {"account_id": account_id})).first()
        return None if row is None else (_account(row), row.password_hash)

    async def fill_parts(self, account: Account) -> Account:
        """`account` (as `find_login` gives it) with its contacts, notes, attributes and segments (none
        if the account was deleted meanwhile)."""
        found = await read_account(self.engine, self._conn, self._hot, account.id)
        account.contacts, account.notes, account.attributes, account.segments = (
            (found.contacts, found.notes, found.attributes, found.segments) if found is not None else ([], [], [], []))
        return account

    async def attribute_ids_of_type(self, account_id: int, value_type: str) -> set[int]:
        """The definition ids of the account's attribute values whose definition has `value_type`
        (one statement on the raw driver, as `get_account`)."""
        return await attribute_ids_of_type(self.engine, self._conn, self._hot, account_id, value_type)

    async def list_accounts(self, tenant_id: int, customer_set_id: int, query: ListQuery) -> tuple[list[Account], int]:
        """One page of the customer set's accounts matching `query` (with their parts), and how many
        match in all; B2B users' own rows (their logins) are no customer accounts and never listed.
        Filters become bound parameters, never SQL text."""
        # the tenant is checked on the set's row, so the count is read from ix_accounts_customer_set_id alone
        # (an account's tenant is its customer set's)
        stmt = _account_select().where(t.customer_sets.c.tenant_id == tenant_id, t.accounts.c.customer_set_id == customer_set_id,
                                       or_(t.accounts.c.account_type.is_(None),
                                           t.accounts.c.account_type != ACCOUNT_TYPE_B2B_USER))
        async with self._begin(write=False) as conn:
            stmt = stmt.where(*await _word_candidates(conn, self.engine.dialect.name, query.words))
            rows, total = await page(conn, stmt, _LIST_FIELDS, query, t.accounts.c.id, searched=_SEARCHED)
            accounts = [_account(row) for row in rows]
            if accounts:
                await load_parts(conn, accounts)
        return accounts, total

    async def update_account(self, account_id: int, values: Mapping[str, Any], *, login_names: bool,
                             now: datetime, by: str) -> bool:
        """Change the fields in `values` (Profile fields, email, email_key, username, username_key,
        is_active). With `login_names`, the account's login names are claimed again from its (new)
        email and username in the same transaction: Conflict if one is another account's. False
        when the account does not exist."""
        unknown = set(values) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable account columns: {sorted(unknown)}")
        async with self._begin(write=True) as conn:
            res = await conn.execute(update(t.accounts).where(t.accounts.c.id == account_id).values(
                **values, updated_at=now, updated_by=by,
            ).returning(t.accounts.c.customer_set_id, t.accounts.c.email_key, t.accounts.c.username_key))
            row = res.first()
            if row is None:
                return False
            if login_names:
                await conn.execute(delete(t.login_names).where(t.login_names.c.account_id == account_id))
                await _claim_login_names(conn, row.customer_set_id, account_id, (row.email_key, row.username_key))
            return True

    async def delete_account(self, account_id: int) -> bool:
        """Delete the account; its login names, parts and codes go with it (foreign keys cascade).
        False when it did not exist; Conflict for a B2B account that other B2B accounts have as their
        parent. Revoke its token families first, in the same transaction."""
        async with self._begin(write=True) as conn:
            try:
                async with conn.begin_nested():
                    res = await conn.execute(delete(t.accounts).where(t.accounts.c.id == account_id))
            except IntegrityError as exc:  # a B2B account that is the parent of others
                raise Conflict("Validation conflict: the account is the parent of other B2B accounts; move or "
                               "delete them first") from exc
            return bool(res.rowcount == 1)

    async def set_login(self, account_id: int, email: str | None, email_key: str | None, username: str,
                        username_key: str, password_hash: str, now: datetime, by: str,
                        *, has_external_password: bool = False) -> bool:
        """Give a login to an account that has none. False if it already has one; Conflict if the
        email or username is another account's login name. `has_external_password`: the hash was
        made by another system (an import)."""
        async with self._begin(write=True) as conn:
            res = await conn.execute(update(t.accounts).where(
                t.accounts.c.id == account_id, t.accounts.c.password_hash.is_(None),
                t.accounts.c.has_external_password.is_(False),
            ).values(
                email=func.coalesce(email, t.accounts.c.email),
                email_key=func.coalesce(email_key, t.accounts.c.email_key),
                username=username, username_key=username_key, password_hash=password_hash,
                has_external_password=has_external_password, password_changed_at=now, updated_at=now, updated_by=by,
            ).returning(t.accounts.c.customer_set_id, t.accounts.c.email_key))
            row = res.first()
            if row is None:
                return False
            await conn.execute(delete(t.login_names).where(t.login_names.c.account_id == account_id))
            await _claim_login_names(conn, row.customer_set_id, account_id, (row.email_key, username_key))
            return True

    async def replace_password_hash(self, account_id: int, old_hash: str, new_hash: str) -> None:
        """Upgrade a hash made with older parameters (only if it has not changed meanwhile)."""
        async with self._begin(write=True) as conn:
            await conn.execute(update(t.accounts).where(
                t.accounts.c.id == account_id, t.accounts.c.password_hash == old_hash
            ).values(password_hash=new_hash))

    async def record_login(self, account_id: int, now: datetime) -> None:
        async with self._begin(write=True) as conn:
            await conn.execute(update(t.accounts).where(t.accounts.c.id == account_id).values(last_login_at=now))


async def _claim_login_names(conn: AsyncConnection, customer_set_id: int, account_id: int,
                             keys: tuple[str | None, ...]) -> None:
    names = sorted({k for k in keys if k})
    if not names:
        return
    try:
        await conn.execute(insert(t.login_names), [
            {"customer_set_id": customer_set_id, "name_key": name, "account_id": account_id} for name in names
        ])
    except IntegrityError as exc:
        raise Conflict("Validation conflict: an account with this email address or username already exists") from exc


_PROFILE_FIELDS = PROFILE_FIELDS
_ACCOUNT_FIELDS = ACCOUNT_FIELDS


def _account_select(*extra: Any) -> Any:
    cols = [t.accounts.c[name] for name in (*_ACCOUNT_FIELDS, *_PROFILE_FIELDS)]
    return select(
        *cols, t.accounts.c.password_hash.is_not(None).label("has_password"),
        t.customer_sets.c.code.label("customer_set_code"), *extra,
    ).join_from(t.accounts, t.customer_sets, and_(t.accounts.c.customer_set_id == t.customer_sets.c.id))


def _account(row: Any) -> Account:
    return account_of(row._mapping)


_UPDATABLE = frozenset({*_PROFILE_FIELDS, "email", "email_key", "username", "username_key", "is_active"})
_ACCOUNT_BY_ID = _account_select().where(t.accounts.c.id == bindparam("account_id"))
_LOGIN_BY_ID = _account_select(t.accounts.c.password_hash).where(t.accounts.c.id == bindparam("account_id"))
_ACCOUNT_BY_LOGIN_NAME = _account_select(t.accounts.c.password_hash).join(
    t.login_names, t.login_names.c.account_id == t.accounts.c.id
).where(t.login_names.c.customer_set_id == bindparam("customer_set_id"), t.login_names.c.name_key == bindparam("key"))


# -- lists --------------------------------------------------------------------------------------------
#
# Emails and usernames compare through their login keys (NFKC, case-folded, the same on both databases),
# other text through lower() (see store.filtering).

_LIST_FIELDS: FieldMap = {
    **columns(t.accounts, "id", "user_id", "first_name", "last_name", "company_or_organization", "tax_id",
              "external_id", "locale_code", "account_type", "is_active", "is_locked", "accepts_marketing", "tax_exempt",
              "has_external_password", "created_at", "updated_at", "last_login_at", "created_by", "updated_by"),
    "email": ListField(t.accounts.c.email, Folded(t.accounts.c.email_key, login_key, fold_login)),
    "username": ListField(t.accounts.c.username, Folded(t.accounts.c.username_key, login_key, fold_login)),
}
_SEARCHED = ("email", "username", "first_name", "last_name", "external_id")
"""A free-text word matches an account when it is part of one of these."""
assert tuple(_LIST_FIELDS[name].folded.column.name if _LIST_FIELDS[name].folded else name  # type: ignore[union-attr]
             for name in _SEARCHED) == t.ACCOUNT_SEARCH_COLUMNS

_TRIGRAM = 3
"""A trigram index finds only words of three characters or more."""


_COMMON = 10_000
"""A word the SQLite trigram index finds in this many accounts or more is common: looking for it in the
accounts in id order finds a page (and a capped count, ListQuery.count_limit) sooner than reading all
its candidates from the index (FTS5 hands them over one by one, about 2 µs each, against about 3 µs
to compare one account: the two meet near 10,000 candidates for a count capped at 1,000 in 100,000
accounts)."""


async def _word_candidates(conn: AsyncConnection, dialect: str, words: tuple[str, ...]) -> list[ColumnElement[bool]]:
    """The trigram index's conditions for a search's words (`_search_candidates`). PostgreSQL's planner
    weighs its GIN index against a scan by the index's statistics (when it plans for the words given),
    so it gets a condition for every word. On SQLite, whose planner cannot, only the rarest word's is
    kept, and none when even that one is common (`_COMMON`, counted in the index, which stops at
    `_COMMON`): its candidates bound the search, and the exact comparison checks the other words on them."""
    conditions = _search_candidates(dialect, words)
    if dialect == "postgresql" and conditions:
        # Plan the list for the words given, not once for any word (asyncpg prepares statements, and a
        # generic plan cannot tell a rare word from a common one: for a rare one it chose to walk every
        # account in id order, for a page that never fills)
        await conn.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    if dialect != "sqlite" or len(conditions) == 0:
        return conditions
    rarest: tuple[int, ColumnElement[bool]] | None = None
    for word, condition in zip(_indexed_words(words), conditions, strict=True):
        probe = select(func.count()).select_from(select(column("rowid")).select_from(table(t.ACCOUNT_SEARCH_TABLE)).where(
            literal_column(t.ACCOUNT_SEARCH_TABLE).op("MATCH")(bindparam(None, _fts_match(word)))).limit(_COMMON).subquery())
        found = int((await conn.execute(probe)).scalar_one())
        if found < _COMMON and (rarest is None or found < rarest[0]):
            rarest = (found, condition)
    return [rarest[1]] if rarest is not None else []


def _indexed_words(words: tuple[str, ...]) -> list[str]:
    """The words a trigram index can look for: three characters or more, as folded and as lower-cased."""
    return [w for w in words if len(fold_login(w)) >= _TRIGRAM and len(w.lower()) >= _TRIGRAM]


def _fts_match(word: str) -> str:
    """The FTS5 query of a word: a phrase (its double quotes doubled) in the login keys as `fold_login`
    folds it, or in the other fields as lower() does."""
    keys, others = (f'"{text.replace(chr(34), chr(34) * 2)}"' for text in (fold_login(word), word.lower()))
    return f"{{email_key username_key}} : {keys} OR {{first_name last_name external_id}} : {others}"


def _search_candidates(dialect: str, words: tuple[str, ...]) -> list[ColumnElement[bool]]:
    """For each free-text word, a condition the trigram index of migration 0009_console_search answers:
    the accounts that may hold the word, a superset of those that do (the exact comparison of
    store.filtering still decides). Without it a word is looked for in every account of the set.

    The login keys (email, username) hold the word as `fold_login` folds it, the other fields as
    lower() does; each index folds case again character by character on both sides, which keeps
    every real match. A word shorter than a trigram gets no condition."""
    conditions: list[ColumnElement[bool]] = []
    for word in _indexed_words(words):
        folded, lowered = fold_login(word), word.lower()
        if dialect == "sqlite":
            found: Select[Any] = select(column("rowid")).select_from(table(t.ACCOUNT_SEARCH_TABLE)).where(
                literal_column(t.ACCOUNT_SEARCH_TABLE).op("MATCH")(bindparam(None, _fts_match(word))))
            conditions.append(t.accounts.c.id.in_(found))
        elif dialect == "postgresql":
            text_: ColumnElement[str] = literal_column(t.ACCOUNT_SEARCH_TEXT)
            either = {folded, lowered}
            conditions.append(or_(*(text_.contains(w, autoescape=True) for w in sorted(either))))
    return conditions
