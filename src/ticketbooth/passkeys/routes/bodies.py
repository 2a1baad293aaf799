"""The request bodies of the passkey routes and their GraphQL twins. JSON names are read case-insensitively
(kibo/bodies.py); the browser's credential JSON is read back with its spec names (passkeys/rules.py)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ticketbooth.kibo.bodies import KiboBody


class PasskeyRegistrationInput(KiboBody):
    challengeId: str | None = Field(default=None, max_length=64)
    credential: dict[str, Any] | None = None
    name: str | None = Field(default=None, max_length=400)


class PasskeyUpdateInput(KiboBody):
    name: str | None = Field(default=None, max_length=400)


class PasskeyOptionsInput(KiboBody):
    username: str | None = Field(default=None, max_length=400)


class PasskeyAuthInput(KiboBody):
    challengeId: str | None = Field(default=None, max_length=64)
    credential: dict[str, Any] | None = None
    fingerprint: str | None = None
    region: str | None = None
