"""What the property tests of the parsers and cleaners share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ticketbooth.domain.errors import InvalidParameter

T = TypeVar("T")


def answer_or_400(parameter: str, call: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """What `call` returns, or None when it refuses with the 400 naming `parameter`. Any other
    exception, or a 400 naming another parameter, fails the test."""
    try:
        return call(*args, **kwargs)
    except InvalidParameter as refused:
        assert refused.name == parameter, refused.name
        assert refused.message.startswith(f"Missing or invalid parameter: {parameter}"), refused.message
        return None
