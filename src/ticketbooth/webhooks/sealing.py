"""A subscription's signing secret at rest: sealed with AES-GCM under the server secret, as the outbox seals
mail (infra/mail.py `Sealer`), bound to its tenant and application. Whoever changes the server secret
(TICKETBOOTH_SECRET_KEY) makes the stored secrets unreadable: deliveries then fail with a clear error until
the subscriptions are created again."""

from __future__ import annotations

from ticketbooth.core import Core
from ticketbooth.infra.mail import Sealer


def _context(tenant_id: int, client_id: str) -> bytes:
    return f"webhook-secret:{tenant_id}:{client_id}".encode()


def seal_secret(core: Core, tenant_id: int, client_id: str, secret: str) -> bytes:
    return Sealer(core.refresh_secret).seal(secret.encode("ascii"), _context(tenant_id, client_id))


def open_secret(core: Core, tenant_id: int, client_id: str, sealed: bytes) -> str:
    """The subscription's secret (SealError when the server secret changed since it was sealed)."""
    return Sealer(core.refresh_secret).open(sealed, _context(tenant_id, client_id)).decode("ascii")
