"""The customer-service pages of the console: the customer search, one customer (profile, contacts,
attributes, segments, notes, login state, live sessions, the audit trail) with the support actions,
and the tenant's segments, attribute definitions and customer sets.

Every page calls the API's own flows with the staff member's `Caller` (console/context.py): reads
with `ctx.caller`, changes with `ctx.caller_for(action)`, which refuses a role that may not (a 403
page, nothing done). The flows write the audit entries, whose actor is `staff:<email>`. An action
answers with a redirect to the page (post/redirect/get) carrying `done=<what>`, which the page shows
as a fixed sentence (never text from the request).

The search box takes one of (`search_plan`):
- a number: the account with that id (else the number as free text: an external id, say);
- an email address (one word with @): the account that logs in with it (else free text: a part of
  an address);
- a Kibo filter expression (`firstName eq 'Anna' and isLocked eq true`): the accounts list's filter;
- anything else: free text, the accounts list's `q` (every word part of the email, username, first
  or last name or external id): a name, a username, a part of an address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from fastapi import Query, Request, Response

from ticketbooth.accounts import service as accounts
from ticketbooth.accounts.parts import attributes, segments
from ticketbooth.accounts.routes.accounts import ACCOUNT_FIELDS
from ticketbooth.applications import customer_sets
from ticketbooth.audit import service as audit
from ticketbooth.audit.routes import description
from ticketbooth.b2b import accounts as b2b_accounts
from ticketbooth.b2b.rules import ACCOUNT_TYPE_B2B
from ticketbooth.console.auth import when
from ticketbooth.console.context import CheckedForm, Form, SignedInStaff
from ticketbooth.console.pages import PREFIX, PageError, console_router, redirect, render
from ticketbooth.domain.errors import InvalidParameter, TicketboothError
from ticketbooth.domain.filters import Comparison, FieldType, ListQuery, parse_filter, parse_words
from ticketbooth.domain.models import (
    ATTRIBUTE_DATA_TYPES,
    ATTRIBUTE_INPUT_TYPES,
    ATTRIBUTE_VALUE_TYPES,
    AttributeDefinition,
    AttributeSpec,
    VocabularyValue,
)
from ticketbooth.federation import identities as linked_identities
from ticketbooth.kibo.errors import kibo_error
from ticketbooth.login import reset
from ticketbooth.login import state as login_state
from ticketbooth.passkeys import service as customer_passkeys
from ticketbooth.sessions import service as sessions
from ticketbooth.staff.rules import Action

router = console_router()

PAGE_SIZE = 25
SESSIONS_PAGE_SIZE = 50
TRAIL_PAGE_SIZE = 20
MAX_QUERY = 500
COUNTED = 1000
"""A search counts its matches up to this many past the page asked for ("more than 1000" beyond)."""
MAX_START = 1_000_000
MAX_ID = 2**63 - 1

# what an action did, shown after its redirect (`done=`): fixed sentences only
DONE = {
    "locked": "The customer is locked: every session ended, and logins are refused until someone unlocks them.",
    "unlocked": "The customer is unlocked: they can log in again, and their failed-login count starts over.",
    "reset-sent": "A password reset mail is on its way to the customer's email address.",
    "change-required": "The customer must change their password at their next login.",
    "change-cleared": "The customer no longer has to change their password.",
    "sessions-ended": "Every session of the customer ended: their refresh tokens no longer work.",
    "session-ended": "The session ended: its refresh token no longer works.",
    "segment-saved": "The segment is saved.",
    "definition-saved": "The attribute definition is saved.",
    "passkey-removed": "The passkey is removed: it no longer signs the customer in.",
    "identity-unlinked": "The identity is unlinked: it no longer signs the customer in.",
}


# -- the search ------------------------------------------------------------------------------------------

_FILTER = re.compile(r"^\s*([A-Za-z][A-Za-z.]*)\s+(?:eq|ne|gt|ge|lt|le|sw|cont|in)(?:\s|$)", re.IGNORECASE)
_NUMBER = re.compile(r"^\d{1,19}$")


@dataclass(frozen=True, slots=True)
class SearchPlan:
    kind: str
    """"all", "id", "email", "filter" or "text"."""
    query: ListQuery
    fallback: ListQuery | None = None
    """Asked when `query` finds nothing (a number or an address that is no account's: free text)."""

    @property
    def label(self) -> str:
        return {"all": "all customers", "id": "by id", "email": "by email address", "filter": "Kibo filter",
                "text": "free text (email, username, name, external id)"}[self.kind]


def search_plan(q: str, start: int, size: int = PAGE_SIZE) -> SearchPlan:
    """How to search for `q` (see the module's docstring). InvalidParameter for a filter that does not
    parse, or for free text the accounts list refuses. Matches are counted up to COUNTED past `start`."""
    plan = _plan(q, start, size)
    counted = start + COUNTED + 1
    return SearchPlan(plan.kind, replace(plan.query, count_limit=counted),
                      replace(plan.fallback, count_limit=counted) if plan.fallback else None)


def _plan(q: str, start: int, size: int) -> SearchPlan:
    text = q.strip()
    if not text:
        return SearchPlan("all", ListQuery(offset=start, limit=size))
    looks_like_filter = _FILTER.match(text)
    if looks_like_filter and looks_like_filter.group(1).lower() in ACCOUNT_FIELDS:  # not a name such as "Kim Le"
        return SearchPlan("filter", ListQuery(where=parse_filter(text, ACCOUNT_FIELDS), offset=start, limit=size))
    words = ListQuery(words=parse_words(text), offset=start, limit=size)  # also refuses control characters
    if _NUMBER.match(text) and int(text) <= MAX_ID:
        return SearchPlan("id", ListQuery(where=Comparison("id", FieldType.INTEGER, "eq", int(text)), offset=start,
                                          limit=size), words)
    if "@" in text and not any(c.isspace() for c in text):
        return SearchPlan("email", ListQuery(where=Comparison("email", FieldType.TEXT, "eq", text), offset=start,
                                             limit=size), words)
    return SearchPlan("text", words)


def _start(raw: str | None) -> int:
    try:
        value = int(raw or 0)
    except ValueError:
        return 0
    return min(max(value, 0), MAX_START)


def _page_links(path: str, params: dict[str, str], start: int, size: int, total: int, name: str = "start") \
        -> dict[str, str | None]:
    """The previous and next page's URLs (None at either end)."""
    def at(offset: int) -> str:
        return f"{path}?{urlencode({**params, name: str(offset)})}"
    return {"previous": at(max(start - size, 0)) if start > 0 else None,
            "next": at(start + size) if start + size < total else None}


def start_more(offset: int, total: int) -> int | None:
    """The number a capped count stops at ("more than N"), or None when `total` is exact."""
    return offset + COUNTED if total > offset + COUNTED else None


@router.get("/customers")
async def customers_page(request: Request, ctx: SignedInStaff, q: str | None = Query(None),
                         start: str | None = Query(None)) -> Response:
    text = (q or "")[:MAX_QUERY]
    offset = _start(start)
    values: dict[str, Any] = {"title": "Customers", "q": text, "items": [], "total": 0, "start": offset,
                              "plan": None, "links": {"previous": None, "next": None}}
    try:
        plan = search_plan(text, offset)
        found, total = await accounts.list_accounts(ctx.core, ctx.caller, plan.query)
        if total == 0 and plan.fallback is not None:
            plan = SearchPlan("text", plan.fallback)
            found, total = await accounts.list_accounts(ctx.core, ctx.caller, plan.query)
    except InvalidParameter as exc:
        return render(request, "customers.html", {**values, "error": exc.message}, status=400)
    values.update(items=found, total=total, plan=plan, more_than=start_more(offset, total),
                  links=_page_links(f"{PREFIX}/customers", {"q": text}, offset, PAGE_SIZE, total))
    return render(request, "customers.html", values)


# -- one customer ------------------------------------------------------------------------------------------

def _value_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _known(record_id: int, what: str) -> int:
    """`record_id` from a path, if an id can be that (else a 404 page: no database takes it)."""
    if not 1 <= record_id <= MAX_ID:
        raise PageError(404, f"There is no such {what}.")
    return record_id


@router.get("/customers/{account_id:int}")
async def customer_page(request: Request, account_id: int, ctx: SignedInStaff, trail: str | None = Query(None),
                        done: str | None = Query(None)) -> Response:
    _known(account_id, "customer")
    core, caller = ctx.core, ctx.caller
    account = await accounts.get_account(core, caller, None, account_id)
    state = login_state.state_of(account, caller)
    live = await sessions.list_sessions(core, caller, account.id, 0, SESSIONS_PAGE_SIZE)
    trail_start = _start(trail)
    entries, trail_total = await audit.entries(core, ctx.tenant.id, account.id, trail_start, TRAIL_PAGE_SIZE)
    path = f"{PREFIX}/customers/{account.id}"
    # a B2B account: its approval, place in its hierarchy, users and their roles (issue 16)
    b2b = await b2b_accounts.get_account(core, caller, None, account.id) if account.profile.account_type == ACCOUNT_TYPE_B2B \
        else None
    # their passkeys and linked identities (issue 19)
    keys = await customer_passkeys.passkeys(core, caller, None, account.id)
    identities = await linked_identities.listing(core, caller, None, account.id)
    return render(request, "customer.html", {
        "title": f"Customer {account.id}", "account": account, "state": state, "sessions": live, "b2b": b2b,
        "passkeys": keys, "identities": identities,
        "entries": [(e, description(e)) for e in entries], "trail_total": trail_total, "trail_start": trail_start,
        "trail_links": _page_links(path, {}, trail_start, TRAIL_PAGE_SIZE, trail_total, "trail"),
        "done": DONE.get(done or ""), "when": when, "value_text": _value_text,
        "may": {a: ctx.may(a) for a in (Action.LOCK, Action.UNLOCK, Action.END_SESSIONS, Action.SEND_RESET,
                                          Action.REQUIRE_PASSWORD_CHANGE, Action.REMOVE_SIGN_IN_METHOD)},
    })


def _back(request: Request, account_id: int, done: str) -> Response:
    return redirect(request, f"{PREFIX}/customers/{account_id}?done={done}")


@router.post("/customers/{account_id:int}/lock")
async def lock(request: Request, account_id: int, ctx: SignedInStaff, form: CheckedForm) -> Response:
    await login_state.set_login_locked(ctx.core, ctx.caller_for(Action.LOCK), None, _known(account_id, "customer"), True)
    return _back(request, account_id, "locked")


@router.post("/customers/{account_id:int}/unlock")
async def unlock(request: Request, account_id: int, ctx: SignedInStaff, form: CheckedForm) -> Response:
    await login_state.set_login_locked(ctx.core, ctx.caller_for(Action.UNLOCK), None, _known(account_id, "customer"),
                                       False)
    return _back(request, account_id, "unlocked")


@router.post("/customers/{account_id:int}/password-change")
async def require_password_change(request: Request, account_id: int, ctx: SignedInStaff, form: CheckedForm) -> Response:
    """`required=true` (the default) or `false`: set or clear the password-change requirement."""
    required = form.get("required", "true") != "false"
    await login_state.set_password_change_required(ctx.core, ctx.caller_for(Action.REQUIRE_PASSWORD_CHANGE), None,
                                                   _known(account_id, "customer"), required)
    return _back(request, account_id, "change-required" if required else "change-cleared")


@router.post("/customers/{account_id:int}/send-reset")
async def send_reset(request: Request, account_id: int, ctx: SignedInStaff, form: CheckedForm) -> Response:
    caller = ctx.caller_for(Action.SEND_RESET)
    account = await accounts.get_account(ctx.core, caller, None, _known(account_id, "customer"))
    if not account.email or not (account.has_password or account.has_external_password) or not account.is_active:
        raise PageError(409, "This customer has no active login with an email address: no reset mail can be sent. "
                             "Nothing was changed.")
    await reset.request_reset(ctx.core, caller, account.email, None, account.customer_set_code, by=ctx.actor)
    return _back(request, account_id, "reset-sent")


@router.post("/customers/{account_id:int}/sessions/end")
async def end_all_sessions(request: Request, account_id: int, ctx: SignedInStaff, form: CheckedForm) -> Response:
    await sessions.revoke_all(ctx.core, ctx.caller_for(Action.END_SESSIONS), None, _known(account_id, "customer"))
    return _back(request, account_id, "sessions-ended")


@router.post("/customers/{account_id:int}/sessions/{session_id}/end")
async def end_session(request: Request, account_id: int, session_id: str, ctx: SignedInStaff,
                      form: CheckedForm) -> Response:
    await sessions.end_session(ctx.core, ctx.caller_for(Action.END_SESSIONS), None, _known(account_id, "customer"),
                               session_id[:100])
    return _back(request, account_id, "session-ended")


@router.post("/customers/{account_id:int}/passkeys/{passkey_id:int}/remove")
async def remove_passkey(request: Request, account_id: int, passkey_id: int, ctx: SignedInStaff,
                         form: CheckedForm) -> Response:
    """Remove a customer's passkey (passkeys/service.py: audited as passkey.removed by the staff member)."""
    await customer_passkeys.remove(ctx.core, ctx.caller_for(Action.REMOVE_SIGN_IN_METHOD), None,
                                   _known(account_id, "customer"), _known(passkey_id, "passkey"))
    return _back(request, account_id, "passkey-removed")


@router.post("/customers/{account_id:int}/identities/{identity_id:int}/unlink")
async def unlink_identity(request: Request, account_id: int, identity_id: int, ctx: SignedInStaff,
                          form: CheckedForm) -> Response:
    """Unlink a customer's provider identity (federation/identities.py: refused while it is the account's last
    way to sign in; audited as identity.unlinked by the staff member)."""
    await linked_identities.unlink(ctx.core, ctx.caller_for(Action.REMOVE_SIGN_IN_METHOD), None,
                                   _known(account_id, "customer"), _known(identity_id, "linked identity"))
    return _back(request, account_id, "identity-unlinked")


# -- segments, attribute definitions, customer sets --------------------------------------------------------

@router.get("/segments")
async def segments_page(request: Request, ctx: SignedInStaff, start: str | None = Query(None),
                        done: str | None = Query(None)) -> Response:
    offset = _start(start)
    page = await segments.list_segments(ctx.core, ctx.caller, ListQuery(offset=offset, limit=PAGE_SIZE))
    return render(request, "segments.html", {
        "title": "Segments", "page": page, "may_edit": ctx.may(Action.EDIT_SETTINGS), "done": DONE.get(done or ""),
        "links": _page_links(f"{PREFIX}/segments", {}, offset, PAGE_SIZE, page.total)})


def _status(exc: TicketboothError) -> int:
    return kibo_error(exc, "Console")[0]


def _segment_form(request: Request, values: dict[str, Any], *, error: str | None = None, status: int = 200) -> Response:
    return render(request, "segment_form.html", {"title": "Segment", **values, "error": error}, status=status)


@router.get("/segments/new")
async def new_segment_page(request: Request, ctx: SignedInStaff) -> Response:
    ctx.require(Action.EDIT_SETTINGS)
    return _segment_form(request, {"segment": None, "code": "", "name": "", "description": ""})


@router.get("/segments/{segment_id:int}")
async def segment_page(request: Request, segment_id: int, ctx: SignedInStaff) -> Response:
    ctx.require(Action.EDIT_SETTINGS)
    segment = await segments.get_segment(ctx.core, ctx.caller, _known(segment_id, "segment"))
    return _segment_form(request, {"segment": segment, "code": segment.code, "name": segment.name,
                                   "description": segment.description or ""})


@router.post("/segments")
async def create_segment(request: Request, ctx: SignedInStaff, form: CheckedForm) -> Response:
    caller = ctx.caller_for(Action.EDIT_SETTINGS)
    given = {k: form.get(k, "") for k in ("code", "name", "description")}
    try:
        await segments.create_segment(ctx.core, caller, given["code"], given["name"], given["description"] or None)
    except TicketboothError as exc:
        return _segment_form(request, {"segment": None, **given}, error=exc.message, status=_status(exc))
    return redirect(request, f"{PREFIX}/segments?done=segment-saved")


@router.post("/segments/{segment_id:int}")
async def update_segment(request: Request, segment_id: int, ctx: SignedInStaff, form: CheckedForm) -> Response:
    caller = ctx.caller_for(Action.EDIT_SETTINGS)
    segment = await segments.get_segment(ctx.core, caller, _known(segment_id, "segment"))
    given = {k: form.get(k, "") for k in ("code", "name", "description")}
    try:
        await segments.update_segment(ctx.core, caller, segment.id, given["code"], given["name"],
                                      given["description"] or None)
    except TicketboothError as exc:
        return _segment_form(request, {"segment": segment, **given}, error=exc.message, status=_status(exc))
    return redirect(request, f"{PREFIX}/segments?done=segment-saved")


@router.get("/attribute-definitions")
async def attribute_definitions_page(request: Request, ctx: SignedInStaff, start: str | None = Query(None),
                                     done: str | None = Query(None)) -> Response:
    offset = _start(start)
    page = await attributes.list_definitions(ctx.core, ctx.caller, ListQuery(offset=offset, limit=PAGE_SIZE))
    return render(request, "attribute_definitions.html", {
        "title": "Attribute definitions", "page": page, "may_edit": ctx.may(Action.EDIT_SETTINGS),
        "done": DONE.get(done or ""),
        "links": _page_links(f"{PREFIX}/attribute-definitions", {}, offset, PAGE_SIZE, page.total)})


_FLAGS = (("is_active", "Active"), ("is_required", "Required"), ("is_multi_valued", "Several values (a list only)"),
          ("is_read_only", "Read only for shoppers"), ("is_visible", "Visible"))


def _spec_from_form(form: Form, base: AttributeSpec) -> AttributeSpec:
    """`base` with what the form sets (the fields it has no input for stay as they are). The flow checks it."""
    order = form.get("order", "").strip()
    vocabulary = tuple(VocabularyValue(value=line.strip(), sequence=i + 1)
                       for i, line in enumerate(form.get("vocabulary", "").splitlines()) if line.strip())
    return replace(
        base, attribute_code=form.get("code", base.attribute_code), admin_name=form.get("admin_name") or None,
        value_type=form.get("value_type", ""), data_type=form.get("data_type", base.data_type),
        input_type=form.get("input_type", ""), vocabulary_values=vocabulary,
        order=int(order) if order.isdigit() and len(order) < 10 else None,
        is_active=form.get("is_active") == "on", is_required=form.get("is_required") == "on",
        is_multi_valued=form.get("is_multi_valued") == "on", is_read_only=form.get("is_read_only") == "on",
        is_visible=form.get("is_visible") == "on")


def _definition_form(request: Request, spec: AttributeSpec, definition: AttributeDefinition | None, *,
                     error: str | None = None, status: int = 200) -> Response:
    return render(request, "attribute_definition_form.html", {
        "title": "Attribute definition", "spec": spec, "definition": definition, "flags": _FLAGS,
        "value_types": ATTRIBUTE_VALUE_TYPES, "data_types": ATTRIBUTE_DATA_TYPES, "input_types": ATTRIBUTE_INPUT_TYPES,
        "vocabulary": "\n".join(v.value for v in spec.vocabulary_values), "error": error}, status=status)


_NEW_DEFINITION = AttributeSpec(namespace=attributes.DEFAULT_NAMESPACE, attribute_code="", value_type="AdminEntered",
                                data_type="String", input_type="TextBox")


@router.get("/attribute-definitions/new")
async def new_definition_page(request: Request, ctx: SignedInStaff) -> Response:
    ctx.require(Action.EDIT_SETTINGS)
    return _definition_form(request, _NEW_DEFINITION, None)


@router.get("/attribute-definitions/{fqn}")
async def definition_page(request: Request, fqn: str, ctx: SignedInStaff) -> Response:
    ctx.require(Action.EDIT_SETTINGS)
    definition = await attributes.get_definition(ctx.core, ctx.caller, fqn[:300])
    return _definition_form(request, definition.spec, definition)


@router.post("/attribute-definitions")
async def create_definition(request: Request, ctx: SignedInStaff, form: CheckedForm) -> Response:
    caller = ctx.caller_for(Action.EDIT_SETTINGS)
    spec = _spec_from_form(form, _NEW_DEFINITION)
    try:
        await attributes.create_definition(ctx.core, caller, spec)
    except TicketboothError as exc:
        return _definition_form(request, spec, None, error=exc.message, status=_status(exc))
    return redirect(request, f"{PREFIX}/attribute-definitions?done=definition-saved")


@router.post("/attribute-definitions/{fqn}")
async def update_definition(request: Request, fqn: str, ctx: SignedInStaff, form: CheckedForm) -> Response:
    caller = ctx.caller_for(Action.EDIT_SETTINGS)
    definition = await attributes.get_definition(ctx.core, caller, fqn[:300])
    spec = _spec_from_form({**form, "code": definition.spec.attribute_code, "data_type": definition.spec.data_type},
                           definition.spec)
    try:
        await attributes.update_definition(ctx.core, caller, definition.fqn, spec)
    except TicketboothError as exc:
        return _definition_form(request, spec, definition, error=exc.message, status=_status(exc))
    return redirect(request, f"{PREFIX}/attribute-definitions?done=definition-saved")


@router.get("/customer-sets")
async def customer_sets_page(request: Request, ctx: SignedInStaff, start: str | None = Query(None)) -> Response:
    offset = _start(start)
    page = await customer_sets.list_customer_sets(ctx.core, ctx.caller, ListQuery(offset=offset, limit=PAGE_SIZE))
    return render(request, "customer_sets.html", {
        "title": "Customer sets", "page": page,
        "links": _page_links(f"{PREFIX}/customer-sets", {}, offset, PAGE_SIZE, page.total)})
