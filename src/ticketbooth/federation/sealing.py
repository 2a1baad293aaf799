"""A provider's client secret and a flow's PKCE verifier at rest: sealed with AES-GCM under the server secret
(infra/mail.py `Sealer`, as webhooks/sealing.py seals a subscription's secret), each bound to what it belongs
to, so a sealed value copied to another row does not open. Whoever changes the server secret
(TICKETBOOTH_SECRET_KEY) makes them unreadable: the providers' secrets must then be saved again."""

from __future__ import annotations

from ticketbooth.core import Core
from ticketbooth.infra.mail import Sealer


def _provider(tenant_id: int, alias: str) -> bytes:
    return f"oidc-client-secret:{tenant_id}:{alias}".encode()


def _flow(flow_id: str) -> bytes:
    return f"oidc-pkce-verifier:{flow_id}".encode()


def seal_client_secret(core: Core, tenant_id: int, alias: str, secret: str) -> bytes:
    return Sealer(core.refresh_secret).seal(secret.encode("utf-8"), _provider(tenant_id, alias))


def open_client_secret(core: Core, tenant_id: int, alias: str, sealed: bytes) -> str:
    """The client secret (SealError when the server secret changed, or the alias with it)."""
    return Sealer(core.refresh_secret).open(sealed, _provider(tenant_id, alias)).decode("utf-8")


def seal_verifier(core: Core, flow_id: str, verifier: str) -> bytes:
    return Sealer(core.refresh_secret).seal(verifier.encode("ascii"), _flow(flow_id))


def open_verifier(core: Core, flow_id: str, sealed: bytes) -> str:
    return Sealer(core.refresh_secret).open(sealed, _flow(flow_id)).decode("ascii")
