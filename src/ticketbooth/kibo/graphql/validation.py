"""Validation rules added to GraphQL's standard ones: Kibo operations we do not serve get a clear error,
and an operation's depth and size are bounded. Every rule here depends on the document's text only (not on
variables), so a validated document can be cached by its text (`documents.Documents`)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from graphql import (
    FieldNode,
    FieldsOnCorrectTypeRule,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)


@cache
def kibo_root_fields() -> frozenset[str]:
    """The root field names of Kibo's GraphQL schema (kibo_root_fields.txt, written by tools/graphql_schema.py)."""
    text = resources.files(__package__).joinpath("kibo_root_fields.txt").read_text()
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def not_served_message(name: str) -> str:
    return (f"Operation not served: '{name}' is an operation of Kibo Commerce's API that Ticketbooth does not serve "
            f"(it serves shopper identity: tickets and customer accounts); send it to Kibo")


class KiboFieldsRule(FieldsOnCorrectTypeRule):
    """GraphQL's "fields on correct type" rule, except that a root field Kibo's schema has but ours does not
    (a cart, an order, the catalog) is named as a Kibo operation not served here."""

    def enter_field(self, node: FieldNode, *args: Any) -> None:
        parent = self.context.get_parent_type()
        schema = self.context.schema
        roots = (schema.query_type, schema.mutation_type)
        if (parent is not None and parent in roots and self.context.get_field_def() is None
                and node.name.value in kibo_root_fields()):
            self.report_error(GraphQLError(not_served_message(node.name.value), node,
                                           extensions={"code": "OPERATION_NOT_SERVED"}))
            return
        super().enter_field(node, *args)


def limits_rule(max_depth: int, max_cost: int) -> type[ValidationRule]:
    """A rule refusing an operation nested deeper than `max_depth` or selecting more than `max_cost`
    fields, fragments expanded (each spread counts its fragment again)."""

    class LimitsRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            depth, cost = _measure(self.context, node.selection_set, frozenset(), max_cost)
            name = node.name.value if node.name else "the operation"
            if depth > max_depth:
                self.report_error(GraphQLError(
                    f"Query too deep: {name} nests {depth} levels; at most {max_depth} are served", node,
                    extensions={"code": "QUERY_TOO_DEEP"}))
            if cost > max_cost:
                self.report_error(GraphQLError(
                    f"Query too large: {name} selects more than {max_cost} fields", node,
                    extensions={"code": "QUERY_TOO_LARGE"}))

    return LimitsRule


def _measure(context: ValidationContext, selections: SelectionSetNode | None, spreading: frozenset[str],
             budget: int) -> tuple[int, int]:
    """(depth, field count) of a selection set. Stops counting once past `budget` (so a document built to
    explode through nested fragments costs no more to measure than the budget), and a fragment that
    spreads itself is cut (GraphQL's own rule reports the cycle)."""
    if selections is None:
        return 0, 0
    depth = cost = 0
    for selection in selections.selections:
        if cost > budget:
            break
        if isinstance(selection, FieldNode):
            inner_depth, inner_cost = _measure(context, selection.selection_set, spreading, budget - cost)
            depth, cost = max(depth, 1 + inner_depth), cost + 1 + inner_cost
        elif isinstance(selection, InlineFragmentNode):
            inner_depth, inner_cost = _measure(context, selection.selection_set, spreading, budget - cost)
            depth, cost = max(depth, inner_depth), cost + inner_cost
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = context.get_fragment(name)
            if fragment is None or name in spreading:
                continue
            inner_depth, inner_cost = _measure(context, fragment.selection_set, spreading | {name}, budget - cost)
            depth, cost = max(depth, inner_depth), cost + inner_cost
    return depth, cost
