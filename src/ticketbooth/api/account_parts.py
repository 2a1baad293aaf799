"""An account's contacts, notes, attribute values and segments."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/commerce/customer")
