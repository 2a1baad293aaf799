"""The passkey tests use the HTTP tests' fixtures (tests/api/conftest.py: a seeded database per test, on
SQLite and PostgreSQL, cheap password hashing)."""

from tests.api.conftest import admin, core, csr, seeded, sqlite_template

__all__ = ["admin", "core", "csr", "seeded", "sqlite_template"]
