"""Staff enrolment, sign-in (password, then TOTP or a recovery code), sign-out, re-authentication, the
home page and the staff member's own sessions."""

from __future__ import annotations

from datetime import datetime

from fastapi import Request, Response

from ticketbooth.caller import Caller
from ticketbooth.console.context import CheckedForm, SignedInStaff, anonymous_caller
from ticketbooth.console.pages import PREFIX, console_router, redirect, render, safe_next
from ticketbooth.console.visit import visit_of
from ticketbooth.domain.errors import InvalidCredentials, InvalidParameter, NotFound, TooManyRequests
from ticketbooth.infra import totp
from ticketbooth.staff import rules
from ticketbooth.staff import service as staff_service
from ticketbooth.staff.rules import Action

router = console_router()


def when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "never"


async def _caller(request: Request) -> Caller:
    return await anonymous_caller(request)


def _refusal(exc: InvalidCredentials | TooManyRequests) -> tuple[str, int, dict[str, str]]:
    """(message, status, headers) of a refused sign-in step."""
    if isinstance(exc, TooManyRequests):
        return (f"Too many attempts: try again in {exc.retry_after} seconds.", 429,
                {"Retry-After": str(exc.retry_after)})
    return exc.message, 401, {}


def _with(response: Response, headers: dict[str, str]) -> Response:
    response.headers.update(headers)
    return response


# -- home -----------------------------------------------------------------------------------------------

@router.get("")
async def home(request: Request, ctx: SignedInStaff) -> Response:
    return render(request, "home.html", {"title": "Console"})


# -- sign-in --------------------------------------------------------------------------------------------

async def _pending(request: Request) -> tuple[rules.StaffSession, rules.Staff] | None:
    visit = visit_of(request)
    found = await staff_service.session_of(visit.core, visit.session_token)
    return found if found and found[0].stage == rules.STAGE_PENDING else None


@router.get("/sign-in")
async def sign_in_page(request: Request) -> Response:
    visit = visit_of(request)
    found = await staff_service.session_of(visit.core, visit.session_token)
    if found and found[0].stage == rules.STAGE_SIGNED_IN:
        return redirect(request, PREFIX)
    return render(request, "sign_in.html", {"title": "Sign in", "email": ""})


@router.post("/sign-in")
async def sign_in(request: Request, form: CheckedForm) -> Response:
    caller = await _caller(request)
    email = form.get("email", "")[:300]
    try:
        signed = await staff_service.sign_in(visit_of(request).core, caller, email, form.get("password", ""))
    except (InvalidCredentials, TooManyRequests) as exc:
        message, status, headers = _refusal(exc)
        return _with(render(request, "sign_in.html", {"title": "Sign in", "email": email, "error": message},
                            status=status), headers)
    visit_of(request).set_session = signed.token
    return redirect(request, f"{PREFIX}/sign-in/code")


@router.get("/sign-in/code")
async def code_page(request: Request) -> Response:
    if await _pending(request) is None:
        return redirect(request, f"{PREFIX}/sign-in")
    return render(request, "sign_in_code.html", {"title": "Sign in: code"})


@router.post("/sign-in/code")
async def code(request: Request, form: CheckedForm) -> Response:
    pending = await _pending(request)
    if pending is None:
        return redirect(request, f"{PREFIX}/sign-in")
    caller = await _caller(request)
    try:
        signed = await staff_service.second_factor(visit_of(request).core, caller, pending[0], pending[1],
                                                   form.get("code"))
    except (InvalidCredentials, TooManyRequests) as exc:
        message, status, headers = _refusal(exc)
        if await _pending(request) is None:  # locked meanwhile: start again
            visit_of(request).set_session = ""
            return _with(render(request, "sign_in.html", {"title": "Sign in", "email": "", "error": message},
                                status=status), headers)
        return _with(render(request, "sign_in_code.html", {"title": "Sign in: code", "error": message},
                            status=status), headers)
    visit_of(request).set_session = signed.token
    return redirect(request, PREFIX)


@router.post("/sign-out")
async def sign_out(request: Request, ctx: SignedInStaff,
                   form: CheckedForm) -> Response:
    await staff_service.sign_out(ctx.core, ctx.caller, ctx.session, ctx.staff)
    visit = visit_of(request)
    visit.set_session = ""
    visit.staff = None
    return redirect(request, f"{PREFIX}/sign-in")


# -- enrolment ------------------------------------------------------------------------------------------

def _enrol_values(staff: rules.Staff, secret: str, values: dict[str, object] | None = None) -> dict[str, object]:
    uri = totp.provisioning_uri(secret, staff.email, staff_service.ISSUER)
    return {"title": "Enrol", "enrollee": staff, "secret": secret, "uri": uri, "qr": totp.qr_data_uri(uri),
            "secret_groups": " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)), **(values or {})}


@router.get("/enrol/{token}")
async def enrol_page(request: Request, token: str) -> Response:
    staff = await staff_service.enrolment(visit_of(request).core, token)
    if staff is None:
        return render(request, "error.html", {"title": "Enrolment link not valid", "status": 404, "message":
                      "This enrolment link is not valid any more (used, expired or mistyped): ask an administrator "
                      "for a new one."}, status=404)
    secret, _ = staff_service.new_enrolment_secret(staff)
    return render(request, "enrol.html", _enrol_values(staff, secret))


@router.post("/enrol/{token}")
async def enrol(request: Request, token: str, form: CheckedForm) -> Response:
    core = visit_of(request).core
    staff = await staff_service.enrolment(core, token)
    if staff is None:
        raise NotFound("This enrolment link is not valid any more: ask an administrator for a new one")
    secret = form.get("secret", "")
    if not totp.valid_secret(secret):
        secret, _ = staff_service.new_enrolment_secret(staff)
    caller = await _caller(request)
    try:
        signed = await staff_service.enrol(core, caller, token, form.get("password", ""), form.get("confirm", ""),
                                           secret, form.get("code", ""))
    except InvalidParameter as exc:
        return render(request, "enrol.html", _enrol_values(staff, secret, {"error": exc.message, "field": exc.name}),
                      status=400)
    visit = visit_of(request)
    visit.set_session = signed.token
    return render(request, "recovery_codes.html", {"title": "Your recovery codes", "codes": signed.recovery_codes})


# -- re-authentication ----------------------------------------------------------------------------------

@router.get("/reauth")
async def reauth_page(request: Request, ctx: SignedInStaff) -> Response:
    return render(request, "reauth.html", {"title": "Confirm it is you", "next": safe_next(request.query_params.get("next"))})


@router.post("/reauth")
async def reauth(request: Request, ctx: SignedInStaff, form: CheckedForm) -> Response:
    next_path = safe_next(form.get("next"))
    try:
        await staff_service.reauthenticate(ctx.core, ctx.caller, ctx.session, ctx.staff, form.get("password"),
                                           form.get("code"))
    except (InvalidCredentials, TooManyRequests) as exc:
        if await staff_service.session_of(ctx.core, visit_of(request).session_token) is None:
            return redirect(request, f"{PREFIX}/sign-in")  # locked by this failure: the session ended
        message, status, headers = _refusal(exc)
        return _with(render(request, "reauth.html", {"title": "Confirm it is you", "next": next_path,
                                                     "error": message}, status=status), headers)
    return redirect(request, next_path)


# -- the staff member's sessions ------------------------------------------------------------------------

@router.get("/account/sessions")
async def my_sessions(request: Request, ctx: SignedInStaff) -> Response:
    sessions = await staff_service.sessions_of(ctx.core, ctx.staff)
    return render(request, "my_sessions.html", {"title": "My sessions", "sessions": sessions, "when": when,
                                                "current": ctx.session.id})


@router.post("/staff-sessions/{session_id}/end")
async def end_staff_session(request: Request, session_id: int, ctx: SignedInStaff,
                            form: CheckedForm) -> Response:
    """End a console session: one's own (any role), or another staff member's (support and admin)."""
    session = await staff_service.get_session(ctx.core, session_id)
    own = session is not None and session.staff_id == ctx.staff.id
    caller = ctx.caller if own else ctx.caller_for(Action.END_STAFF_SESSION)
    await staff_service.revoke_session(ctx.core, ctx.tenant.id, session_id, by=ctx.actor, caller=caller)
    if own and session_id == ctx.session.id:
        visit_of(request).set_session = ""
        return redirect(request, f"{PREFIX}/sign-in")
    return redirect(request, safe_next(form.get("next")) if form.get("next") else f"{PREFIX}/account/sessions")
