"""The one mapping from domain errors to HTTP statuses and Kibo's error envelope.

Every error body carries every key old SDKs index: message, errorCode, applicationName,
additionalErrorData, items, exceptionDetail. No stack trace ever leaves the process.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ticketbooth.domain import errors as e
from ticketbooth.infra.reachability import database_unreachable, unavailable
from ticketbooth.kibo.middleware import CORRELATION_SCOPE_KEY
from ticketbooth.kibo.wire import KiboJSON

log = logging.getLogger("ticketbooth.api")

# error type -> (HTTP status, Kibo errorCode)
STATUS: dict[type[e.TicketboothError], tuple[int, str]] = {
    e.Unauthorized: (401, "UNAUTHORIZED"),
    e.InvalidCredentials: (401, "INVALID_CREDENTIALS"),
    e.PasswordChangeRequired: (401, "PASSWORD_CHANGE_REQUIRED"),
    e.InvalidAccessToken: (401, "INVALID_ACCESS_TOKEN"),
    e.InvalidRefreshToken: (401, "INVALID_REFRESH_TOKEN"),
    e.Forbidden: (403, "FORBIDDEN"),
    e.NotFound: (404, "ITEM_NOT_FOUND"),
    e.CardNumberRefused: (400, "MISSING_OR_INVALID_PARAMETER"),
    e.InvalidParameter: (400, "MISSING_OR_INVALID_PARAMETER"),
    e.RequestTooLarge: (413, "REQUEST_TOO_LARGE"),
    e.AddCustomerFailed: (400, "ADD_CUSTOMER_FAILED"),
    e.Conflict: (409, "VALIDATION_CONFLICT"),
    e.Overloaded: (503, "SERVICE_UNAVAILABLE"),
    e.TooManyRequests: (429, "TOO_MANY_REQUESTS"),
    e.InvalidOtp: (401, "INVALID_OTP"),
    e.ServiceUnavailable: (503, "SERVICE_UNAVAILABLE"),
    e.InvalidExchangeCode: (401, "INVALID_EXCHANGE_CODE"),
}


def _application_name(path: str) -> str:
    path = path.lower()
    if path.startswith("/api/platform"):
        return "AppDev"
    if path.startswith("/api/commerce/customer"):
        return "Customer"
    return "Ticketbooth"


def error_body(code: str, message: str, application_name: str,
               additional: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Kibo's error envelope, every key present."""
    return {
        "message": message,
        "errorCode": code,
        "applicationName": application_name,
        "additionalErrorData": additional or [],
        "items": [],
        "exceptionDetail": None,
    }


def envelope(request: Request, status: int, code: str, message: str,
             additional: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None) -> KiboJSON:
    body = error_body(code, message, _application_name(request.url.path), additional)
    return KiboJSON(body, status_code=status, headers=headers)


def kibo_error(exc: e.TicketboothError, application_name: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    """A domain error as Kibo's REST answer gives it: (HTTP status, error envelope, headers). The one
    mapping, for every transport (GraphQL puts the status and envelope in its error's extensions)."""
    status, code = next((v for k, v in STATUS.items() if isinstance(exc, k)), (400, "MISSING_OR_INVALID_PARAMETER"))
    additional: list[dict[str, Any]] = []
    headers: dict[str, str] = {}
    if isinstance(exc, e.InvalidParameter):
        additional.append({"name": "ParameterName", "value": exc.name})
    if isinstance(exc, (e.Overloaded, e.TooManyRequests)):
        headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, e.ServiceUnavailable):
        headers["Retry-After"] = "1"
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return status, error_body(code, exc.message, application_name, additional), headers


def _domain_error(request: Request, exc: Exception) -> KiboJSON:
    assert isinstance(exc, e.TicketboothError)
    status, body, headers = kibo_error(exc, _application_name(request.url.path))
    return KiboJSON(body, status_code=status, headers=headers)


def _validation_error(request: Request, exc: Exception) -> KiboJSON:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header")]
    name = ".".join(loc) or "request"
    return envelope(request, 400, "MISSING_OR_INVALID_PARAMETER",
                    f"Missing or invalid parameter: {name} {first.get('msg', 'is invalid')}".strip(),
                    [{"name": "ParameterName", "value": name}])


def _http_error(request: Request, exc: Exception) -> KiboJSON:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return envelope(request, 404, "ITEM_NOT_FOUND", f"Item not found: no such resource {request.url.path}")
    if exc.status_code == 405:
        return envelope(request, 405, "METHOD_NOT_ALLOWED", f"Method not allowed: {request.method}",
                        headers=dict(exc.headers or {}))
    return envelope(request, exc.status_code, "UNEXPECTED_ERROR", str(exc.detail))


def _unexpected(request: Request, exc: Exception) -> KiboJSON:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    correlation = request.scope.get(CORRELATION_SCOPE_KEY)
    return envelope(request, 500, "UNEXPECTED_ERROR", "Unexpected error: the request could not be completed",
                    headers={"x-vol-correlation": correlation} if correlation else None)


# Errors of the database layers that got past the store (a pool checkout that timed out, a driver
# error outside a transaction): a 503 with Retry-After when the database cannot be reached
# (infra/reachability.py), else raised on to `_unexpected`, a logged 500 like any other error.
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    SQLAlchemyError, sqlite3.Error, asyncpg.PostgresError, asyncpg.InterfaceError, OSError)


def _database_error(request: Request, exc: Exception) -> KiboJSON:
    if not database_unreachable(exc):
        raise exc
    log.warning("database unreachable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return _domain_error(request, unavailable(exc))


Handler = Callable[[Request, Exception], KiboJSON]


def _on_the_loop(handler: Handler) -> Callable[[Request, Exception], Awaitable[KiboJSON]]:
    """`handler` as a coroutine function: Starlette runs a plain function handler in its thread pool,
    a thread hop for every error answer, which made each refused login of a login flood cost as much
    as an anonymous ticket (bench/README.md). The handlers only build a small response."""
    async def handle(request: Request, exc: Exception) -> KiboJSON:
        return handler(request, exc)

    return handle


def install(app: FastAPI) -> None:
    app.add_exception_handler(e.TicketboothError, _on_the_loop(_domain_error))
    app.add_exception_handler(RequestValidationError, _on_the_loop(_validation_error))
    app.add_exception_handler(StarletteHTTPException, _on_the_loop(_http_error))
    for kind in DATABASE_ERRORS:
        app.add_exception_handler(kind, _on_the_loop(_database_error))
    app.add_exception_handler(Exception, _on_the_loop(_unexpected))
