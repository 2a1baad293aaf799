"""The web security of every /console response, in one ASGI middleware:

- Content-Security-Policy without 'unsafe-inline' (no inline script or style: every asset is a file
  served from /console/static), frame-ancestors 'none', form-action 'self', base-uri 'none';
- Referrer-Policy same-origin, X-Content-Type-Options nosniff, X-Frame-Options DENY, Cache-Control
  no-store (pages show personal data), Cross-Origin-Opener-Policy and -Resource-Policy same-origin,
  Permissions-Policy denying devices, Strict-Transport-Security over TLS;
- a POST whose Origin (or Sec-Fetch-Site) says it comes from another site is refused with 403 before
  any handler runs; the CSRF token (console/context.py `console_form`) is checked besides;
- with TICKETBOOTH_CONSOLE_ENABLED=false every /console path answers 404.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/console"

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
       "form-action 'self'; base-uri 'none'; object-src 'none'")

HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"referrer-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
]


def is_console(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _own_origin(scope: Scope) -> str:
    host = _header(scope, b"host") or ""
    return f"{scope.get('scheme', 'http')}://{host}".lower()


def cross_site(scope: Scope) -> bool:
    """A state-changing request a browser says comes from another site."""
    origin = _header(scope, b"origin")
    if origin is not None and origin.lower() != _own_origin(scope):
        return True
    return (_header(scope, b"sec-fetch-site") or "same-origin").lower() in ("cross-site", "same-site")


async def _plain(send: Send, status: int, text: str, secure: bool) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"), *HEADERS]})
    await send({"type": "http.response.body", "body": body})


class ConsoleSecurity:
    def __init__(self, app: ASGIApp, enabled: bool = True) -> None:
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_console(scope["path"]):
            await self.app(scope, receive, send)
            return
        secure = scope.get("scheme") == "https"
        if not self.enabled:
            await _plain(send, 404, "Not found: the console is switched off (TICKETBOOTH_CONSOLE_ENABLED).", secure)
            return
        if scope["method"] not in ("GET", "HEAD") and cross_site(scope):
            await _plain(send, 403, "Forbidden: this form was posted from another site. Nothing was changed.", secure)
            return
        static = scope["path"].startswith(PREFIX + "/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                headers += HEADERS
                headers.append((b"cache-control", b"public, max-age=3600" if static else b"no-store"))
                if secure:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
