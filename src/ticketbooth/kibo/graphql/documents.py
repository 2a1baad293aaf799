"""Parsed and validated GraphQL documents, cached by their text.

Storefronts send the same few documents (the same query text with other variables) again and again;
parsing and validating one costs several times what executing it does. A bounded least-recently-used map
keeps them: the key is the text alone, since every validation rule depends on nothing else
(`rules`). A document that fails is cached with its errors too, so a client repeating a bad document
costs no more than a good one. A document without directives also keeps the sub-selections its
execution collects (`execution.PlainDataExecutor`), which then depend on its text alone. A text holding
what looks like a full card number (a literal in the document) is checked but never kept
(domain/card_numbers.py).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from graphql import (
    BREAK,
    ASTValidationRule,
    DocumentNode,
    FieldsOnCorrectTypeRule,
    GraphQLError,
    GraphQLSchema,
    Visitor,
    parse,
    specified_rules,
    validate,
    visit,
)
from ticketbooth.domain.card_numbers import has_card_number
from ticketbooth.kibo.graphql.execution import SubfieldsCache
from ticketbooth.kibo.graphql.validation import KiboFieldsRule, limits_rule

MAX_TOKENS = 5000
"""The most lexical tokens a document may hold: the parser stops there (graphql-core's own guard)."""


@dataclass(frozen=True, slots=True)
class Checked:
    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]
    subfields: SubfieldsCache | None = None
    """The sub-selections collected while executing it, when they depend on the text alone (no directive);
    filled by `execution.PlainDataExecutor`."""


class Documents:
    def __init__(self, schema: GraphQLSchema, *, max_depth: int, max_cost: int, size: int) -> None:
        self._schema = schema
        self._rules: tuple[type[ASTValidationRule], ...] = (
            *(KiboFieldsRule if rule is FieldsOnCorrectTypeRule else rule for rule in specified_rules),
            limits_rule(max_depth, max_cost),
        )
        self._size = size
        self._cache: OrderedDict[str, Checked] = OrderedDict()

    def get(self, text: str) -> Checked:
        found = self._cache.get(text)
        if found is not None:
            self._cache.move_to_end(text)
            return found
        checked = self._check(text)
        if self._size and not has_card_number(text):  # a card number is never kept, not even in memory
            self._cache[text] = checked
            if len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return checked

    def _check(self, text: str) -> Checked:
        try:
            document = parse(text, no_location=False, max_tokens=MAX_TOKENS)
        except GraphQLError as error:
            return Checked(None, (error,))
        errors = validate(self._schema, document, self._rules)
        if errors:
            return Checked(None, tuple(errors))
        return Checked(document, (), None if _has_directive(document) else {})


class _DirectiveFinder(Visitor):
    found = False

    def enter_directive(self, *_args: Any) -> Any:
        self.found = True
        return BREAK


def _has_directive(document: DocumentNode) -> bool:
    """Whether any directive appears in the document (`@skip`/`@include` make the collected fields depend
    on the variables)."""
    finder = _DirectiveFinder()
    visit(document, finder)
    return finder.found
