"""Login state, locking and password changes of accounts."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/commerce/customer")
