"""GraphQL errors the way Kibo's clients read them.

A domain error raised by a resolver becomes `{message, path, locations, extensions: {response: {status,
body}}}`, where `status` is the HTTP status the REST call would have answered and `body` its Kibo error
envelope, both from `api.errors.kibo_error`, the one mapping. An unreachable database is a 503 as on REST.
Anything else is logged and answered as a 500 "Unexpected error" without its text: no stack trace and
nothing of the exception leaves the process. Errors of the document itself (syntax, validation, variables)
are graphql-core's own, with two changes, because graphql-core quotes the value it refuses: a variable of
the wrong shape names the variable and its type but not the value (which may hold a password), and a message
that would repeat what looks like a full card number (a card number sent where GraphQL wants an Int, say)
is the REST 400 of a card number, naming the variable.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from graphql import GraphQLError, VariableDefinitionNode, print_ast
from ticketbooth.domain.card_numbers import has_card_number
from ticketbooth.domain.cards import REFUSED
from ticketbooth.domain.errors import CardNumberRefused, TicketboothError
from ticketbooth.infra.reachability import database_unreachable, unavailable
from ticketbooth.kibo.errors import DATABASE_ERRORS, error_body, kibo_error

log = logging.getLogger("ticketbooth.graphql")

APPLICATION_NAME = "Customer"
"""`applicationName` of the envelopes: every operation served is one of Kibo's Customer API."""
UNEXPECTED = "Unexpected error: the request could not be completed"


def response_of(exc: TicketboothError) -> dict[str, Any]:
    status, body, _ = kibo_error(exc, APPLICATION_NAME)
    return {"status": status, "body": body}


def format_error(error: GraphQLError) -> dict[str, Any]:
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        if has_card_number(error.message):
            original = _card_number_refused(error)
        else:
            return _without_values(error)
    if isinstance(original, DATABASE_ERRORS) and database_unreachable(original):
        log.warning("database unreachable on /graphql %s: %s", error.path, type(original).__name__)
        original = unavailable(original)
    out: dict[str, Any] = {"message": UNEXPECTED, "locations": [loc._asdict() for loc in error.locations or ()],
                           "path": error.path}
    if isinstance(original, TicketboothError):
        out["message"] = original.message
        out["extensions"] = {"response": response_of(original)}
    else:
        log.error("unexpected error on /graphql %s", error.path, exc_info=original)
        out["extensions"] = {"response": {"status": 500, "body": error_body("UNEXPECTED_ERROR", UNEXPECTED,
                                                                            APPLICATION_NAME)}}
    return out


def _card_number_refused(error: GraphQLError) -> CardNumberRefused:
    """The card-number 400 for a document or variables error that would repeat a card number (graphql-core
    quotes the value it refuses): it names the variable the value came in, never the value."""
    node = error.nodes[0] if error.nodes else None
    name = f"${node.variable.name.value}" if isinstance(node, VariableDefinitionNode) else "query"
    return CardNumberRefused(name, REFUSED.format(name=name))


def _without_values(error: GraphQLError) -> dict[str, Any]:
    """graphql-core's formatted error, but a variable refused for its value keeps graphql-core's reason only
    up to where it would quote the value ("Variable '$x' has invalid value: Expected value of type 'X' to
    be an object, found: {...password...}." ends at "to be an object.")."""
    formatted: dict[str, Any] = dict(error.formatted)
    node = error.nodes[0] if error.nodes else None
    if isinstance(node, VariableDefinitionNode) and "invalid value" in error.message:
        quoted = _INVALID_VARIABLE.match(error.message)
        if quoted:
            reason = quoted["reason"].split(": ", 1)[0].rstrip(" ,.")
            formatted["message"] = f"{quoted['head']}: {reason}."
        else:
            formatted["message"] = (f"Variable '${node.variable.name.value}' has invalid value: it is not a "
                                    f"{print_ast(node.type)}.")
    return formatted


_INVALID_VARIABLE = re.compile(r"^(?P<head>Variable '\$\w+' (?:has|got) invalid value(?: at \S+)?): (?P<reason>.*)$",
                               re.DOTALL)
