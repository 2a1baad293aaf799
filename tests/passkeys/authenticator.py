"""A software authenticator real enough for py_webauthn to verify unmodified: an EC P-256 key pair per
credential (`cryptography`), an attestationObject in the "none" format and assertions (authenticatorData
and an ES256 signature over authData || SHA-256(clientDataJSON)), CBOR-encoded with `cbor2`. It answers
the options the server gives as a browser would hand `credential.toJSON()` back, and lets a test bend
what a real authenticator would not (the origin, the relying party, the flags, the counter).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

FLAG_UP = 0x01
FLAG_UV = 0x04
FLAG_BE = 0x08
FLAG_BS = 0x10
FLAG_AT = 0x40

AAGUID = bytes.fromhex("7e3b2f6b5a4c4d2e9f1a0b1c2d3e4f50")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Credential:
    """One credential the authenticator holds (a discoverable one: it keeps the user handle)."""

    credential_id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0

    def cose_public_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})


@dataclass
class Authenticator:
    """A platform authenticator with user verification. `counter_step` 0 makes one that keeps its sign
    counter at 0 (as synced passkeys do); `backup` sets the backup flags (BE and BS)."""

    origin: str
    counter_step: int = 1
    backup: bool = False
    credentials: list[Credential] = field(default_factory=list)

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin or self.origin,
                           "crossOrigin": False}, separators=(",", ":")).encode()

    def _flags(self, uv: bool, up: bool = True) -> int:
        flags = (FLAG_UP if up else 0) | (FLAG_UV if uv else 0)
        if self.backup:
            flags |= FLAG_BE | FLAG_BS
        return flags

    def create(self, options: dict[str, Any], *, origin: str | None = None, rp_id: str | None = None,
               uv: bool = True, challenge: str | None = None, reuse: Credential | None = None) -> dict[str, Any]:
        """`navigator.credentials.create({publicKey: options})` then `credential.toJSON()`. `reuse`: answer
        with a credential id and key the authenticator holds already (what a real one refuses to do)."""
        rp = rp_id or options["rp"]["id"]
        excluded = {c["id"] for c in options.get("excludeCredentials", [])}
        if reuse is None and any(b64url(c.credential_id) in excluded for c in self.credentials if c.rp_id == rp):
            raise RuntimeError("InvalidStateError: this authenticator already holds a credential of the user")
        credential = reuse or Credential(os.urandom(32), ec.generate_private_key(ec.SECP256R1()), rp,
                                         unb64url(options["user"]["id"]))
        if reuse is None:  # a passkey for the same user at the same relying party replaces the older one
            self.credentials = [c for c in self.credentials
                                if not (c.rp_id == rp and c.user_handle == credential.user_handle)]
            self.credentials.append(credential)
        client_data = self._client_data("webauthn.create", challenge or options["challenge"], origin)
        auth_data = (hashlib.sha256(rp.encode()).digest()
                     + bytes([self._flags(uv) | FLAG_AT])
                     + struct.pack(">I", credential.sign_count)
                     + AAGUID
                     + struct.pack(">H", len(credential.credential_id)) + credential.credential_id
                     + credential.cose_public_key())
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        cid = b64url(credential.credential_id)
        return {
            "id": cid, "rawId": cid, "type": "public-key", "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {"clientDataJSON": b64url(client_data), "attestationObject": b64url(attestation),
                         "transports": ["internal", "hybrid"], "publicKeyAlgorithm": -7,
                         "authenticatorData": b64url(auth_data)},
        }

    def get(self, options: dict[str, Any], *, origin: str | None = None, rp_id: str | None = None,
            uv: bool = True, up: bool = True, challenge: str | None = None, credential: Credential | None = None,
            sign_count: int | None = None, user_handle: bytes | None = None) -> dict[str, Any]:
        """`navigator.credentials.get({publicKey: options})` then `credential.toJSON()`: the first
        credential of the relying party that `allowCredentials` allows (any, when it is empty)."""
        rp = options.get("rpId") or rp_id
        if credential is None:
            allowed = {c["id"] for c in options.get("allowCredentials", [])}
            usable = [c for c in self.credentials if c.rp_id == rp and (not allowed or b64url(c.credential_id) in allowed)]
            if not usable:
                raise RuntimeError("NotAllowedError: no credential for this relying party")
            credential = usable[-1]
        credential.sign_count += self.counter_step
        count = credential.sign_count if sign_count is None else sign_count
        client_data = self._client_data("webauthn.get", challenge or options["challenge"], origin)
        auth_data = (hashlib.sha256((rp_id or credential.rp_id).encode()).digest()
                     + bytes([self._flags(uv, up)]) + struct.pack(">I", count))
        signature = credential.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        cid = b64url(credential.credential_id)
        return {
            "id": cid, "rawId": cid, "type": "public-key", "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {"clientDataJSON": b64url(client_data), "authenticatorData": b64url(auth_data),
                         "signature": b64url(signature),
                         "userHandle": b64url(user_handle if user_handle is not None else credential.user_handle)},
        }


def clone(credential: Credential, origin: str) -> Authenticator:
    """Another authenticator holding a copy of `credential` (its key and id) with the counter where it was
    copied: what an attacker who extracted the key holds."""
    copy = Credential(credential.credential_id, credential.key, credential.rp_id, credential.user_handle,
                      credential.sign_count)
    return Authenticator(origin, credentials=[copy])
