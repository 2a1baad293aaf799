"""The answers of the passkey routes and their GraphQL twins."""

from __future__ import annotations

from typing import Any

from ticketbooth.kibo.wire import date
from ticketbooth.passkeys.rules import Passkey


def passkey(p: Passkey) -> dict[str, Any]:
    """Passkey: never its public key or sign counter."""
    return {
        "id": str(p.id), "name": p.name, "credentialId": p.credential_id, "createdOn": date(p.created_at),
        "lastUsedOn": date(p.last_used_at), "backupEligible": p.backup_eligible, "backedUp": p.backed_up,
        "transports": list(p.transports), "aaguid": p.aaguid,
    }


def options(challenge_id: str, opts: dict[str, Any]) -> dict[str, Any]:
    return {"challengeId": challenge_id, "options": opts}
