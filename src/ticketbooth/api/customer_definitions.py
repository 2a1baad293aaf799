"""Tenant-level customer definitions: attribute definitions, segments, customer sets."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/commerce/customer")
