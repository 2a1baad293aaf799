"""What a console page handler is given: the signed-in staff member (`StaffContext`), the form it
posted (CSRF-checked), and the guards for roles and re-authentication.

A page handler:

    @router.post("/customers/{account_id}/unlock")
    async def unlock(request: Request, account_id: int, ctx: SignedInStaff, form: CheckedForm) -> Response:
        caller = ctx.caller_for(Action.UNLOCK)       # StaffForbidden (403 page) unless the role may
        await login_state.unlock(ctx.core, caller, account_id)   # the API's own flow
        return redirect(ctx.request, f"/console/customers/{account_id}")

`ctx.caller` (reads) and `ctx.caller_for(action)` (changes) are a `Caller` for the flows: the console
acts as an application of the tenant named `staff:<email>` (so the flows' audit entries, whose actor is
the application's client id, name the staff member), with customer:admin (and, for support and admin,
customer-auth:impersonate). The role is enforced here, before any flow runs: `caller_for` is the only
way to a caller for a change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import Depends, Request

from ticketbooth.caller import Caller
from ticketbooth.console.pages import PageError, ReauthRequired, SignInRequired, StaffForbidden
from ticketbooth.console.visit import visit_of
from ticketbooth.core import Core
from ticketbooth.domain.models import BEHAVIOR_CUSTOMER_ADMIN, BEHAVIOR_IMPERSONATE, Application, Site, Tenant
from ticketbooth.kibo import context as kibo_context
from ticketbooth.staff import rules
from ticketbooth.staff import service as staff_service
from ticketbooth.staff.rules import Action, Role, Staff, StaffSession

CONSOLE_CLIENT_ID = "console"
"""The client id of the console's caller before anyone is signed in (sign-in, enrolment)."""

Form = dict[str, str]


def _application(tenant: Tenant, client_id: str, behaviors: frozenset[str]) -> Application:
    return Application(id=0, client_id=client_id, tenant_id=tenant.id, name="Ticketbooth console", secret_hash="",
                       behaviors=behaviors, enabled=True)


async def tenant_and_site(core: Core, tenant_id: int | None = None) -> tuple[Tenant, Site]:
    wanted = await staff_service.console_tenant(core, tenant_id)
    tenant = await core.directory.tenant(wanted)
    site = await core.directory.site(tenant.default_site_id) if tenant and tenant.default_site_id else None
    if tenant is None or site is None:
        raise PageError(503, "The console's tenant has no site yet: create one (ticketbooth tenant create).")
    return tenant, site


async def anonymous_caller(request: Request) -> Caller:
    """The caller of sign-in and enrolment: the console's tenant, no rights, the client's address (so the
    tenant's per-address rate limits and lockout allowance apply as to shoppers)."""
    core = visit_of(request).core
    tenant, site = await tenant_and_site(core)
    return Caller(app=_application(tenant, CONSOLE_CLIENT_ID, frozenset()), tenant=tenant, site=site,
                  client_address=kibo_context.client_address(request),
                  user_agent=request.headers.get("user-agent", "")[:300])


def behaviors_of(role: Role) -> frozenset[str]:
    if rules.may(role, Action.IMPERSONATE):
        return frozenset({BEHAVIOR_CUSTOMER_ADMIN, BEHAVIOR_IMPERSONATE})
    return frozenset({BEHAVIOR_CUSTOMER_ADMIN})


@dataclass(frozen=True)
class StaffContext:
    request: Request
    core: Core
    staff: Staff
    session: StaffSession
    tenant: Tenant
    site: Site
    """The tenant's default site (the site of `caller`; `caller_for(..., site=)` picks another)."""
    _caller: Caller

    @property
    def role(self) -> Role:
        return self.staff.role

    @property
    def email(self) -> str:
        return self.staff.email

    @property
    def actor(self) -> str:
        """`staff:<email>`: the caller's client id and the audit entries' actor."""
        return self.staff.actor

    @property
    def csrf_token(self) -> str:
        return visit_of(self.request).csrf_token

    def may(self, action: str) -> bool:
        return rules.may(self.staff.role, action)

    def require(self, action: str) -> None:
        """StaffForbidden (a 403 page, nothing done) unless the staff member's role may do `action`."""
        if not self.may(action):
            raise StaffForbidden(action)

    @property
    def caller(self) -> Caller:
        """The caller for reading (every role may view)."""
        return self._caller

    def caller_for(self, action: str, site: Site | None = None) -> Caller:
        """The caller for doing `action` (at `site`, default the tenant's default site), once the role
        allows it."""
        self.require(action)
        if site is None or site.id == self.site.id:
            return self._caller
        if site.tenant_id != self.tenant.id:
            raise StaffForbidden(action)
        return Caller(app=self._caller.app, tenant=self.tenant, site=site, client_address=self._caller.client_address,
                      user_agent=self._caller.user_agent, app_credential=True)

    def require_recent_auth(self) -> None:
        """ReauthRequired (the re-authentication page, which comes back to the page acted from) unless
        password and code were proven within `console_reauth_seconds`. Call it in the POST handler of
        the most sensitive actions, before doing anything."""
        if not staff_service.recently_authenticated(self.core, self.session):
            referer = self.request.headers.get("referer", "")
            origin = f"{self.request.url.scheme}://{self.request.url.netloc}"
            path = referer[len(origin):] if referer.startswith(origin + "/") else self.request.url.path
            raise ReauthRequired(path)


async def signed_in(request: Request) -> StaffContext:
    """The dependency of every page behind sign-in: the live signed-in session's StaffContext, else the
    sign-in page (SignInRequired)."""
    visit = visit_of(request)
    if isinstance(visit.staff, StaffContext):
        return visit.staff
    found = await staff_service.session_of(visit.core, visit.session_token)
    if found is None or found[0].stage != rules.STAGE_SIGNED_IN:
        raise SignInRequired()
    session, staff = found
    tenant, site = await tenant_and_site(visit.core, staff.tenant_id)
    caller = Caller(app=_application(tenant, staff.actor, behaviors_of(staff.role)), tenant=tenant, site=site,
                    client_address=kibo_context.client_address(request),
                    user_agent=request.headers.get("user-agent", "")[:300], app_credential=True)
    ctx = StaffContext(request, visit.core, staff, session, tenant, site, caller)
    visit.staff = ctx
    return ctx


MAX_FIELDS = 200


async def console_form(request: Request) -> Form:
    """The dependency of every console POST: the urlencoded form, once its CSRF token (field `csrf`)
    matches the visitor's; else a 403 page and nothing is done."""
    visit = visit_of(request)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise PageError(400, "The console accepts forms only (application/x-www-form-urlencoded).")
    try:
        text = (await request.body()).decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PageError(400, "The form could not be read.") from exc
    form: Form = {}
    for key, value in pairs:
        if "\x00" in value or "\x00" in key:
            raise PageError(400, "The form holds a NUL character.")
        form.setdefault(key, value)
    if not visit.csrf_ok(form.get("csrf")):
        raise PageError(403, "This form has expired or did not come from the console: reload the page and try again. "
                             "Nothing was changed.")
    return form


def require_recent_auth(ctx: Annotated[StaffContext, Depends(signed_in)]) -> StaffContext:
    """A dependency form of `StaffContext.require_recent_auth`, for a POST route that is sensitive as a
    whole: `ctx: StaffContext = Depends(require_recent_auth)`."""
    ctx.require_recent_auth()
    return ctx


SignedInStaff = Annotated[StaffContext, Depends(signed_in)]
"""A page handler's parameter type for the signed-in staff member: `ctx: SignedInStaff`."""
CheckedForm = Annotated[Form, Depends(console_form)]
"""A POST handler's parameter type for its CSRF-checked form: `form: CheckedForm` (every console POST has one)."""
RecentlyAuthenticatedStaff = Annotated[StaffContext, Depends(require_recent_auth)]
"""For a POST route that is sensitive as a whole: password and code proven within console_reauth_seconds."""
