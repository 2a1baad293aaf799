"""Tolerances real Kibo clients need, applied before routing, and the correlation header after.

- paths compare case-insensitively and a trailing `/` is optional: the fixed words of the routes'
  paths (`static_segments`) are folded to lower case, the routes being written in lower case, and
  the trailing slash is dropped; the other segments, path parameters such as attribute names or
  customer set codes, keep the case the client sent;
- query parameter names compare case-insensitively: known names are put back in their canonical case;
- every response carries `x-vol-correlation` (the caller's, or a new one);
- a request body larger than the limit (`max_body_bytes`) is refused with 413: before it is read
  when its Content-Length says so, else (chunked) as soon as the bytes received pass the limit,
  without reading the rest;
- a NUL character in the path or a query value is refused with 400 (JSON bodies: `context.lower_keys`).
"""

from __future__ import annotations

import secrets
from urllib.parse import parse_qsl, quote

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ticketbooth.domain.errors import RequestTooLarge
from ticketbooth.infra.logging import correlation_id

CORRELATION_SCOPE_KEY = "ticketbooth.correlation"

CANONICAL_QUERY_NAMES = {
    name.lower(): name
    for name in ("refreshToken", "accountId", "responseFields", "responseGroups", "userId", "startIndex",
                 "pageSize", "sortBy", "filter", "q", "qLimit", "fields", "isAnonymous", "emailAddress", "userName",
                 "customerSetCode", "unlockAccount", "accountType")
}


class _NulCharacter(Exception):
    def __init__(self, name: str) -> None:
        self.name = name


def _canonical_query(raw: bytes) -> bytes:
    if not raw:
        return raw
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    out = []
    for key, value in pairs:
        name = CANONICAL_QUERY_NAMES.get(key.lower(), key)
        if "\x00" in key or "\x00" in value:
            raise _NulCharacter(name if name.strip() else "query")  # a blank name: name the query
        out.append(f"{quote(name, safe='')}={quote(value, safe='')}")
    return "&".join(out).encode("latin-1")


def _fold(path: str, static_segments: frozenset[str]) -> str:
    segments = path.split("/")
    folded = "/".join(s.lower() if s.lower() in static_segments else s for s in segments)
    if len(folded) > 1 and folded.endswith("/"):
        folded = folded.rstrip("/") or "/"
    return folded


class KiboTolerance:
    def __init__(self, app: ASGIApp, max_body_bytes: int = 65536, static_segments: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.static_segments = static_segments

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation = b""
        length = b""
        chunked = False
        for key, value in scope["headers"]:
            if key == b"x-vol-correlation":
                correlation = value[:128]
            elif key == b"content-length":
                length = value
            elif key == b"transfer-encoding":
                chunked = True
        if not correlation:
            correlation = secrets.token_hex(16).encode()
        # also in the scope the outermost (500) error handler sees, as its response bypasses this send
        scope[CORRELATION_SCOPE_KEY] = correlation.decode("latin-1")
        # every record logged while this request runs carries it (each request is its own task)
        correlation_id.set(scope[CORRELATION_SCOPE_KEY])

        path = _fold(scope["path"], self.static_segments)
        scope = dict(scope)
        scope["path"] = path
        scope["raw_path"] = path.encode("utf-8")

        async def send_with_correlation(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-vol-correlation", correlation))
                message = {**message, "headers": headers}
            await send(message)

        if length.isdigit() and int(length) > self.max_body_bytes:
            await self._too_large(send_with_correlation)
            return
        try:
            if "\x00" in path:
                raise _NulCharacter("path")
            scope["query_string"] = _canonical_query(scope.get("query_string", b""))
        except _NulCharacter as nul:
            # no id, name or token holds one, and PostgreSQL cannot store one: refuse it here, once
            await _refuse(send_with_correlation, 400, "MISSING_OR_INVALID_PARAMETER",
                          f"Missing or invalid parameter: {nul.name} holds a NUL character", nul.name)
            return
        if chunked:
            await self._counting_body(scope, receive, send_with_correlation)
        else:  # the server hands the app no more than the Content-Length checked above (none: no body)
            await self.app(scope, receive, send_with_correlation)

    async def _too_large(self, send: Send) -> None:
        await _refuse(send, 413, "REQUEST_TOO_LARGE",
                      f"Request too large: the body may be at most {self.max_body_bytes} bytes")

    async def _counting_body(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Runs the app with the body counted as the app reads it (a chunked body has no Content-Length
        to check first). Past the limit, the read raises RequestTooLarge (so the app stops, and its
        handler answers 413 without logging an error); the 413 the client gets is sent here, whatever
        the app made of the exception, and nothing more of the body is read."""
        received = 0
        refused = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, refused
            if refused:  # asked again after the refusal: there is nothing more for the app
                raise RequestTooLarge("Request too large")
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    refused = True
                    raise RequestTooLarge(f"Request too large: the body may be at most {self.max_body_bytes} bytes")
            return message

        async def send_unless_refused(message: Message) -> None:
            nonlocal started
            if refused and not started:
                return  # the app's answer to the refusal (its 413, or a 500 from an app without our handlers)
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, send_unless_refused)
        except RequestTooLarge:
            if not refused:
                raise
        if refused and not started:
            await self._too_large(send)


async def _refuse(send: Send, status: int, code: str, message: str, parameter: str | None = None) -> None:
    """A Kibo error envelope sent before the request reaches the app (the connection is closed: the
    body may not have been read)."""
    body = orjson.dumps({
        "message": message, "errorCode": code, "applicationName": "Ticketbooth",
        "additionalErrorData": [{"name": "ParameterName", "value": parameter}] if parameter else [],
        "items": [], "exceptionDetail": None,
    })
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]})
    await send({"type": "http.response.body", "body": body})
