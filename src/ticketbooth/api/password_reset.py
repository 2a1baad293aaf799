"""Forgotten passwords: Reset-Password emails a code, Update-Forgotten-Password spends it."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/commerce/customer")
