"""Rendering console pages: the Jinja2 templates (autoescaped), the nav, redirects, and `ConsoleRoute`,
the route class of every console router, which turns the console's exceptions and domain errors into
pages (never Kibo's JSON envelope)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from ticketbooth.console.visit import set_cookies, visit_of
from ticketbooth.domain.errors import TicketboothError
from ticketbooth.kibo.errors import kibo_error
from ticketbooth.staff.rules import may

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
PREFIX = "/console"

_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                   trim_blocks=True, lstrip_blocks=True)


@dataclass(frozen=True, slots=True)
class NavLink:
    label: str
    path: str
    action: str = "view"
    """Shown to staff whose role may do this (staff.rules.may)."""


NAV: list[NavLink] = [
    NavLink("Home", PREFIX),
    # console-customers and console-ops add their pages here, one line each
    NavLink("Customers", f"{PREFIX}/customers"),
    NavLink("Segments", f"{PREFIX}/segments"),
    NavLink("Attributes", f"{PREFIX}/attribute-definitions"),
    NavLink("Customer sets", f"{PREFIX}/customer-sets"),
    NavLink("Overview", f"{PREFIX}/overview"),
    NavLink("Applications", f"{PREFIX}/applications"),
    NavLink("Signing keys", f"{PREFIX}/keys"),
    NavLink("Settings", f"{PREFIX}/settings"),
    NavLink("Webhooks", f"{PREFIX}/webhooks"),
    NavLink("Identity providers", f"{PREFIX}/identity-providers"),
    NavLink("Staff", f"{PREFIX}/staff", "manage-staff"),
    NavLink("My sessions", f"{PREFIX}/account/sessions"),
    NavLink("My passkeys", f"{PREFIX}/account/passkeys"),
]


class SignInRequired(Exception):
    """No live signed-in session: the route answers with a redirect to the sign-in page."""


class StaffForbidden(Exception):
    """The staff member's role may not do this: a 403 page, nothing changed."""

    def __init__(self, action: str) -> None:
        super().__init__(action)
        self.action = action


class ReauthRequired(Exception):
    """A sensitive action needs password and code proven recently: redirect to the re-authentication
    page, which comes back to `next_path` (the page the staff member acted from)."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PageError(Exception):
    """A message to show on an error page with `status` (bad input on a console form, say)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def safe_next(path: str | None) -> str:
    """A path inside the console to go to next, never elsewhere (no open redirect)."""
    if path and path.startswith(PREFIX + "/") and "\\" not in path and "//" not in path and path.isprintable() \
            and not {".", ".."} & set(path.split("?")[0].split("/")) and "%2e" not in path.lower():
        return path
    return PREFIX


def redirect(request: Request, path: str) -> Response:
    """303 to `path` (after a POST: the browser GETs it), with the visit's new cookies."""
    response = RedirectResponse(path, status_code=303)
    set_cookies(request, response)
    return response


def render(request: Request, template: str, values: Mapping[str, Any] | None = None, *, status: int = 200) -> Response:
    """The page `template` with `values`, plus what every page has: the CSRF field macro (`csrf_field()`),
    the signed-in staff member (`staff`, None before sign-in), the nav they may see, the page's path."""
    visit = visit_of(request)
    staff = visit.staff
    role = str(getattr(staff, "role", ""))
    common = {
        "csrf_field": csrf_field(visit.csrf_token), "csrf_token": visit.csrf_token,
        "staff": staff, "path": request.url.path,
        "nav": [link for link in NAV if staff is not None and may(role, link.action)],
        "staff_passkeys": bool(visit.core.settings.console_origin),
    }
    html = _env.get_template(template).render({**common, **(values or {})})
    response = HTMLResponse(html, status_code=status)
    set_cookies(request, response)
    return response


def csrf_field(token: str) -> Callable[[], Markup]:
    def field() -> Markup:
        return Markup('<input type="hidden" name="csrf" value="%s">') % escape(token)
    return field


def error_page(request: Request, status: int, message: str) -> Response:
    return render(request, "error.html", {"status": status, "message": message}, status=status)


class ConsoleRoute(APIRoute):
    """Every console route: a page for each way a request can fail."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                return redirect(request, f"{PREFIX}/sign-in")
            except ReauthRequired as exc:
                return redirect(request, f"{PREFIX}/reauth?next={quote(safe_next(exc.next_path), safe='/')}")
            except StaffForbidden as exc:
                return error_page(request, 403, f"Your role may not do this ({exc.action}). Nothing was changed.")
            except PageError as exc:
                return error_page(request, exc.status, exc.message)
            except RequestValidationError:  # a path or query parameter of the wrong shape
                return error_page(request, 404, "There is no such page.")
            except TicketboothError as exc:
                status, body, headers = kibo_error(exc, "Console")
                response = error_page(request, status, str(body["message"]))
                if "Retry-After" in headers:
                    response.headers["Retry-After"] = headers["Retry-After"]
                return response

        return route


def console_router() -> APIRouter:
    """A router for console pages: its routes are ConsoleRoutes, left out of the OpenAPI document."""
    return APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)
