"""The settings that hold application authentication's rate limits (issue 6a): on by default, read
from the environment as JSON, `null` switches one off."""

from __future__ import annotations

import pytest

from ticketbooth.config import Settings
from ticketbooth.domain.policies import RateBucket


def test_the_defaults_are_on() -> None:
    settings = Settings()
    assert settings.app_auth_per_address == RateBucket(capacity=120, per_minute=120)
    assert settings.app_auth_per_client == RateBucket(capacity=30, per_minute=30)


def test_the_limits_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKETBOOTH_APP_AUTH_PER_ADDRESS", '{"capacity": 10, "per_minute": 5}')
    monkeypatch.setenv("TICKETBOOTH_APP_AUTH_PER_CLIENT", "null")
    settings = Settings()
    assert settings.app_auth_per_address == RateBucket(capacity=10, per_minute=5)
    assert settings.app_auth_per_client is None
