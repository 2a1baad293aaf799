"""Login state of accounts: lock, password change required, password changes."""

from __future__ import annotations

from ticketbooth.store.base import StoreBase


class LoginStore(StoreBase):
    pass
