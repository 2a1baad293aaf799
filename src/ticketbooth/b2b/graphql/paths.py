"""Path values of the B2B REST routes, checked for a GraphQL argument of the same name: the same limits and the
same 400 naming the argument as the REST path parameter's."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError

from ticketbooth.b2b.routes.users import AccountId, RoleId, UserId
from ticketbooth.domain.errors import InvalidParameter

_ACCOUNT_ID: TypeAdapter[int] = TypeAdapter(AccountId)
_USER_ID: TypeAdapter[str] = TypeAdapter(UserId)
_ROLE_ID: TypeAdapter[int] = TypeAdapter(RoleId)


def _checked(adapter: TypeAdapter[Any], name: str, value: Any) -> Any:
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        message = exc.errors()[0]["msg"]
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} {message}") from None


def account_id(value: int, name: str = "accountId") -> int:
    checked: int = _checked(_ACCOUNT_ID, name, value)
    return checked


def user_id(value: str) -> str:
    checked: str = _checked(_USER_ID, "userId", value)
    return checked


def role_id(value: int) -> int:
    checked: int = _checked(_ROLE_ID, "roleId", value)
    return checked


def text(value: int | None) -> str | None:
    """A paging argument as REST's query parameter (text, checked by `Paging.query`)."""
    return None if value is None else str(value)
