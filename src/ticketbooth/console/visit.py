"""One request to the console, before anything else is known: its cookies, whether it came over TLS,
its CSRF token, and the cookies the answer must set or clear.

Cookies: the session cookie holds a random token (the database keeps its SHA-256); before sign-in a
"pre" cookie holds a random value the sign-in and enrolment forms' CSRF token is derived from. Both
are HttpOnly, SameSite=Strict, Path=/console (or /, with the `__Host-` prefix, which needs Secure and
Path=/, whenever the request came over TLS). The CSRF token is an HMAC of the cookie's value under a
key derived from the server secret: a synchronizer token tied to the session, that a page of another
site can neither read nor compute.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from fastapi import Request, Response

from ticketbooth.core import Core

SESSION_COOKIE = "tb_console"
PRE_COOKIE = "tb_console_pre"


def cookie_name(base: str, secure: bool) -> str:
    return f"__Host-{base}" if secure else base


def is_secure(request: Request) -> bool:
    return request.url.scheme == "https"


def csrf_for(core: Core, kind: str, value: str) -> str:
    key = hmac.new(core.refresh_secret, b"ticketbooth console csrf", hashlib.sha256).digest()
    return hmac.new(key, f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()


@dataclass
class Visit:
    core: Core
    secure: bool
    session_token: str | None
    pre_token: str
    new_pre: bool
    set_session: str | None = None
    """A session token to set in the answer ("" clears the cookie)."""
    staff: object | None = field(default=None)
    """The signed-in StaffContext, once resolved (console/context.py)."""

    @property
    def csrf_token(self) -> str:
        token = self.session_token if self.set_session is None else self.set_session  # "": cleared by this answer
        if token:
            return csrf_for(self.core, "session", token)
        return csrf_for(self.core, "pre", self.pre_token)

    def csrf_ok(self, given: str | None) -> bool:
        """The form's token matches this visitor's (constant time); a pre-sign-in token also passes for
        a visitor whose session cookie is stale (a timed-out session still posting the sign-in form)."""
        if not given:
            return False
        if hmac.compare_digest(given, self.csrf_token):
            return True
        return not self.new_pre and hmac.compare_digest(given, csrf_for(self.core, "pre", self.pre_token))


def visit_of(request: Request) -> Visit:
    """The request's Visit (made once per request)."""
    found = getattr(request.state, "console_visit", None)
    if isinstance(found, Visit):
        return found
    core: Core = request.app.state.core
    secure = is_secure(request)
    session = request.cookies.get(cookie_name(SESSION_COOKIE, secure))
    pre = request.cookies.get(cookie_name(PRE_COOKIE, secure))
    new_pre = not pre or len(pre) > 100
    made = Visit(core, secure, session if session and len(session) <= 100 else None,
                 secrets.token_urlsafe(32) if new_pre else str(pre), new_pre)
    request.state.console_visit = made
    return made


def _set(response: Response, name: str, value: str, secure: bool, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/" if secure else "/console", secure=secure,
                        httponly=True, samesite="strict")


def set_cookies(request: Request, response: Response) -> None:
    """Put the visit's new cookies on `response`."""
    visit = visit_of(request)
    if visit.new_pre:
        _set(response, cookie_name(PRE_COOKIE, visit.secure), visit.pre_token, visit.secure, None)
    if visit.set_session is not None:
        name = cookie_name(SESSION_COOKIE, visit.secure)
        if visit.set_session:
            _set(response, name, visit.set_session, visit.secure, None)
        else:
            response.delete_cookie(name, path="/" if visit.secure else "/console", secure=visit.secure,
                                   httponly=True, samesite="strict")
