"""Staff passkeys in the console (staff/passkeys.py): the staff member's own passkeys (add after a recent
re-authentication, rename, remove) and the sign-in with a passkey.

A ceremony takes two requests, both ordinary forms: a POST starts it and answers with a page holding the
options (a data attribute) and a form; static/passkeys.js runs navigator.credentials.create() or .get()
with them and posts the form with the browser's credential.toJSON() in a hidden field. Without JavaScript
that page says so, and everything else of the console works as ever.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Request, Response

from ticketbooth.console.auth import when
from ticketbooth.console.context import CheckedForm, SignedInStaff, anonymous_caller
from ticketbooth.console.pages import PREFIX, PageError, console_router, redirect, render, safe_next
from ticketbooth.console.visit import visit_of
from ticketbooth.domain.errors import Conflict, Forbidden, InvalidCredentials, InvalidParameter, TooManyRequests
from ticketbooth.staff import passkeys as staff_passkeys
from ticketbooth.staff import service as staff_service
from ticketbooth.staff.rules import Action

router = console_router()

PAGE = f"{PREFIX}/account/passkeys"
DONE = {
    "added": "The passkey is added: you can sign in with it instead of your password and code.",
    "renamed": "The passkey is renamed.",
    "removed": "The passkey is removed: it no longer signs you in.",
}


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


async def _page(request: Request, ctx: SignedInStaff, values: dict[str, Any] | None = None,
                status: int = 200) -> Response:
    core = ctx.core
    on = staff_passkeys.enabled(core)
    return render(request, "account_passkeys.html", {
        "title": "My passkeys", "passkeys": await staff_passkeys.passkeys_of(core, ctx.staff), "enabled": on,
        "off": None if on else staff_passkeys.OFF, "when": when,
        "done": DONE.get(request.query_params.get("done", "")), **(values or {})}, status=status)


def _passkey_id(raw: str, what: str = "passkey") -> int:
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) < 2**63:
        raise PageError(404, f"There is no such {what}.")
    return int(raw)


@router.get("/account/passkeys")
async def passkeys_page(request: Request, ctx: SignedInStaff) -> Response:
    return await _page(request, ctx)


@router.post("/account/passkeys/new")
async def start_registration(request: Request, ctx: SignedInStaff, form: CheckedForm) -> Response:
    """Start adding a passkey (password and code proven recently, else the re-authentication page first)."""
    ctx.require_recent_auth()
    name = form.get("name", "")[:200]
    try:
        started = await staff_passkeys.registration_options(ctx.core, ctx.caller, ctx.session, ctx.staff)
    except (Conflict, Forbidden) as exc:
        return await _page(request, ctx, {"error": exc.message}, status=409)
    return _no_store(render(request, "passkey_ceremony.html", {
        "title": "Add a passkey", "mode": "register", "ceremony": started, "action": PAGE, "name": name,
        "cancel": PAGE}))


@router.post("/account/passkeys")
async def finish_registration(request: Request, ctx: SignedInStaff, form: CheckedForm) -> Response:
    try:
        await staff_passkeys.register(ctx.core, ctx.caller, ctx.session, ctx.staff, form.get("challenge"),
                                      form.get("credential", ""), form.get("name"))
    except InvalidParameter as exc:
        return await _page(request, ctx, {"error": f"No passkey was added. {exc.message}"}, status=400)
    except (Conflict, Forbidden) as exc:
        return await _page(request, ctx, {"error": f"No passkey was added. {exc.message}"}, status=409)
    return redirect(request, f"{PAGE}?done=added")


@router.post("/account/passkeys/{passkey_id}/rename")
async def rename_passkey(request: Request, passkey_id: str, ctx: SignedInStaff, form: CheckedForm) -> Response:
    await staff_passkeys.rename(ctx.core, ctx.caller, ctx.staff, _passkey_id(passkey_id), form.get("name"))
    return redirect(request, f"{PAGE}?done=renamed")


@router.post("/account/passkeys/{passkey_id}/remove")
async def remove_passkey(request: Request, passkey_id: str, ctx: SignedInStaff, form: CheckedForm) -> Response:
    await staff_passkeys.remove(ctx.core, ctx.caller, ctx.staff, _passkey_id(passkey_id))
    return redirect(request, f"{PAGE}?done=removed")


# -- an administrator removes a staff member's passkeys (a lost security key) --------------------------------

@router.post("/staff/{staff_id}/remove-passkeys")
async def remove_staff_passkeys(request: Request, staff_id: str, ctx: SignedInStaff, form: CheckedForm) -> Response:
    caller = ctx.caller_for(Action.MANAGE_STAFF)
    member = await staff_service.get_staff(ctx.core, _passkey_id(staff_id, "staff member"))
    if member is None or member.tenant_id != ctx.tenant.id:
        raise PageError(404, "There is no such staff member.")
    await staff_passkeys.remove_all(ctx.core, member.email, by=ctx.actor, caller=caller, tenant_id=ctx.tenant.id)
    return redirect(request, f"{PREFIX}/staff")


# -- sign-in with a passkey ---------------------------------------------------------------------------------

def _sign_in_refused(request: Request, message: str, status: int, retry_after: int | None = None) -> Response:
    response = render(request, "sign_in.html", {"title": "Sign in", "email": "", "error": message}, status=status)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


@router.post("/sign-in/passkey")
async def start_sign_in(request: Request, form: CheckedForm) -> Response:
    caller = await anonymous_caller(request)
    try:
        started = await staff_passkeys.sign_in_options(visit_of(request).core, caller)
    except TooManyRequests as exc:
        return _sign_in_refused(request, f"Too many attempts: try again in {exc.retry_after} seconds.", 429,
                                exc.retry_after)
    except Conflict as exc:
        return _sign_in_refused(request, exc.message, 409)
    return _no_store(render(request, "passkey_ceremony.html", {
        "title": "Sign in with a passkey", "mode": "sign-in", "ceremony": started,
        "action": f"{PREFIX}/sign-in/passkey/verify", "name": "", "cancel": f"{PREFIX}/sign-in"}))


@router.post("/sign-in/passkey/verify")
async def finish_sign_in(request: Request, form: CheckedForm) -> Response:
    caller = await anonymous_caller(request)
    try:
        signed = await staff_passkeys.sign_in(visit_of(request).core, caller, form.get("challenge"),
                                              form.get("credential", ""))
    except TooManyRequests as exc:
        return _sign_in_refused(request, f"Too many attempts: try again in {exc.retry_after} seconds.", 429,
                                exc.retry_after)
    except InvalidCredentials:
        return _sign_in_refused(request, "That passkey did not sign you in: use another, or your password and "
                                         "code.", 401)
    except Conflict as exc:
        return _sign_in_refused(request, exc.message, 409)
    visit_of(request).set_session = signed.token
    return redirect(request, PREFIX)


# -- re-authentication with a passkey ---------------------------------------------------------------------------

@router.post("/reauth/passkey")
async def start_reauthentication(request: Request, ctx: SignedInStaff, form: CheckedForm) -> Response:
    next_path = safe_next(form.get("next"))
    try:
        started = await staff_passkeys.reauthentication_options(ctx.core, ctx.caller, ctx.staff)
    except TooManyRequests as exc:
        raise PageError(429, f"Too many attempts: try again in {exc.retry_after} seconds.") from exc
    return _no_store(render(request, "passkey_ceremony.html", {
        "title": "Confirm it is you", "mode": "sign-in", "ceremony": started, "next": next_path,
        "action": f"{PREFIX}/reauth/passkey/verify", "name": "", "cancel": f"{PREFIX}/reauth?next={quote(next_path, safe='/')}"}))


@router.post("/reauth/passkey/verify")
async def finish_reauthentication(request: Request, ctx: SignedInStaff, form: CheckedForm) -> Response:
    next_path = safe_next(form.get("next"))
    try:
        await staff_passkeys.reauthenticate(ctx.core, ctx.caller, ctx.session, ctx.staff, form.get("challenge"),
                                            form.get("credential", ""))
    except (InvalidCredentials, TooManyRequests) as exc:
        if await staff_service.session_of(ctx.core, visit_of(request).session_token) is None:
            return redirect(request, f"{PREFIX}/sign-in")  # locked by this failure: the session ended
        message = (f"Too many attempts: try again in {exc.retry_after} seconds." if isinstance(exc, TooManyRequests)
                   else "That passkey did not confirm it is you: use another, or your password and code.")
        return render(request, "reauth.html", {"title": "Confirm it is you", "next": next_path, "error": message},
                      status=429 if isinstance(exc, TooManyRequests) else 401)
    return redirect(request, next_path)
