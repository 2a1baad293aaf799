"""Password hashes as other systems make them, for the import tests: made with the real libraries
(bcrypt, hashlib, argon2-cffi) or copied from the projects that defined the formats."""

from __future__ import annotations

import base64
import hashlib

import bcrypt
from argon2 import PasswordHasher, Type

# Django's documented format, as printed by Django itself:
# >>> make_password('mystery', salt='mysalt', hasher='pbkdf2_sha256')   (Django 1.x, 10000 iterations)
DJANGO_MYSTERY = "pbkdf2_sha256$10000$mysalt$KjUU5KrwyUbKTGYkHqBo1IwUbFBzKXrGQgwA1p2AuY0="
# passlib's own known-correct vector (passlib/tests/test_handlers_pbkdf2.py), password "password".
PASSLIB_PASSWORD = "$pbkdf2-sha256$1212$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ"


def bcrypt_hash(password: str, cost: int = 4, prefix: bytes = b"2b") -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=cost, prefix=prefix)).decode()


def django_hash(password: str, salt: str = "Vq4rbGKx1LQ2", iterations: int = 1000) -> str:
    """What Django's PBKDF2PasswordHasher.encode produces, computed with hashlib."""
    key = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(key).decode()}"


def ab64(raw: bytes) -> str:
    return base64.b64encode(raw).decode().rstrip("=").replace("+", ".")


def passlib_hash(password: str, salt: bytes = b"\x01\xfe salt of 16 b", rounds: int = 1000) -> str:
    """What passlib's pbkdf2_sha256.hash produces, computed with hashlib."""
    key = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, rounds)
    return f"$pbkdf2-sha256${rounds}${ab64(salt)}${ab64(key)}"


def argon2_hash(password: str, kind: Type = Type.I, memory_kib: int = 128, time_cost: int = 3,
                parallelism: int = 2) -> str:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=kind).hash(password)
