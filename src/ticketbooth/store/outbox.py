"""The mail outbox and single-use account codes (password reset)."""

from __future__ import annotations

from ticketbooth.store.base import StoreBase


class OutboxStore(StoreBase):
    pass
