"""The GraphQL HTTP tests use the fixtures of the REST HTTP tests (tests/api/conftest.py): the same seeded
databases, SQLite and PostgreSQL, the same cheap password hashing."""

from tests.api.conftest import admin, core, mailbox, nina, seeded, sqlite_template

__all__ = ["admin", "core", "mailbox", "nina", "seeded", "sqlite_template"]
