"""`POST /graphql`: one GraphQL operation per request, as JSON `{query, variables, operationName}`.

- The caller comes from the same headers as on REST (each resolver resolves it: `context.caller`).
- Documents are parsed and validated once per text (`documents.Documents`, bounded by
  TICKETBOOTH_GRAPHQL_CACHE_SIZE), with the depth and size limits (TICKETBOOTH_GRAPHQL_MAX_DEPTH,
  TICKETBOOTH_GRAPHQL_MAX_COST).
- A body that is not one operation (not JSON, not an object, no `query` string) and a document that does
  not parse or validate answer 400 with GraphQL's `{errors}` (as Ariadne's own server does); an operation
  that ran answers 200 with `{data, errors?}`, errors as Kibo's clients read them (`errors.format_error`).
- Batching (a JSON array of operations) is refused with a 400: every request is one operation, so the
  depth, size and rate limits bound every request; Kibo's storefronts send one operation per request.
"""

from __future__ import annotations

from inspect import isawaitable
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.applications import Starlette
from starlette.responses import Response

from graphql import ExecutionResult, execute
from ticketbooth.core import Core
from ticketbooth.kibo.context import plain_route, read_body
from ticketbooth.kibo.graphql.context import RequestContext
from ticketbooth.kibo.graphql.documents import Documents
from ticketbooth.kibo.graphql.errors import format_error
from ticketbooth.kibo.graphql.execution import PlainDataExecutor, is_plain_or_awaitable
from ticketbooth.kibo.graphql.schema import schema
from ticketbooth.kibo.wire import KiboJSON

PATH = "/graphql"
router = APIRouter()


def documents_of(app: Starlette) -> Documents:
    """The app's document cache, made on first use with the app's settings."""
    state = app.state
    found: Documents | None = getattr(state, "graphql_documents", None)
    if found is None:
        core: Core = state.core
        settings = core.settings
        found = Documents(schema(), max_depth=settings.graphql_max_depth, max_cost=settings.graphql_max_cost,
                          size=settings.graphql_cache_size)
        state.graphql_documents = found
    return found


def _refused(message: str, code: str = "BAD_REQUEST") -> KiboJSON:
    return KiboJSON({"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=400)


@plain_route(router, PATH, "POST")
async def graphql(request: Request) -> Response:
    """Run one GraphQL operation of the Kibo shopper identity schema."""
    raw = await read_body(request)
    try:
        payload = orjson.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError:
        return _refused("Bad request: the body is not valid JSON")
    if isinstance(payload, list):
        return _refused("Batching not served: send one operation per request, as an object {query, variables}",
                        "BATCHING_NOT_SERVED")
    if not isinstance(payload, dict):
        return _refused("Bad request: the body must be a JSON object {query, variables, operationName}")
    text, variables, operation = payload.get("query"), payload.get("variables"), payload.get("operationName")
    if not isinstance(text, str) or not text.strip():
        return _refused("Bad request: query must be a GraphQL document (a string)")
    if variables is not None and not isinstance(variables, dict):
        return _refused("Bad request: variables must be a JSON object")
    if operation is not None and not isinstance(operation, str):
        return _refused("Bad request: operationName must be a string")
    checked = documents_of(request.app).get(text)
    if checked.document is None:
        return KiboJSON({"errors": [format_error(e) for e in checked.errors]}, status_code=400)
    result = execute(schema(), checked.document, variable_values=variables, operation_name=operation,
                     context_value=RequestContext(request), executor_class=PlainDataExecutor,
                     is_awaitable=is_plain_or_awaitable, subfields=checked.subfields)
    if isawaitable(result):
        result = await result
    return KiboJSON(_answer(result))


def _answer(result: ExecutionResult) -> dict[str, Any]:
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [format_error(e) for e in result.errors]
    return body

