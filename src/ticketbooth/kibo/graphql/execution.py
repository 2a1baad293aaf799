"""graphql-core's executor, with a shorter path for the answers our resolvers give: plain data.

Every resolver returns what its REST twin answers, as built by kibo/wire.py: dicts, lists, strings,
numbers, booleans and None. Below the root field every field of our schema is resolved by graphql-core's
default resolver (`source.get(name)`); no type is abstract and none has `is_type_of`. For each field the
stock executor builds a `GraphQLResolveInfo`, calls the default resolver, asks twice whether the value is
awaitable and walks `complete_value`'s chain of type checks; and it collects each object's sub-selection
again on every request. Together that costs more than everything else GraphQL adds to a request.

`PlainDataExecutor` keeps graphql-core's executor and shortens two things:

- `execute_field` of a field without resolver or arguments on a plain dict, whose value is plain data:
  a leaf (scalar or enum) is coerced, an object (a dict) has its sub-selection executed, an empty list
  is an empty list, None is null: exactly what `complete_value` does for these, with the same error for
  null in a non-null field, and errors handled by the same `handle_field_error`. Everything else (a
  resolver, arguments, introspection, a value that is not plain data, a list with items) goes through
  graphql-core's own `execute_field`.
- `collect_subfields` is remembered across requests, in the cache entry of the document
  (`documents.Checked.subfields`), when the document holds no directive: then which fields a selection
  collects depends on the document alone (without `@skip`/`@include`, not on the variables).

The answers are the same, errors included: tests/graphql/test_execution.py runs documents through both
executors and compares them.

`is_plain_or_awaitable` is the executor's awaitable check with a shortcut: a value whose type is one of
the plain data types (exactly, not a subclass) is not awaitable; anything else is asked as graphql-core
asks.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeGuard

from graphql.execution.collect_fields import CollectedFields, FieldDetailsList
from graphql.pyutils import Path, is_awaitable

from graphql import (
    Executor,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    default_field_resolver,
    is_leaf_type,
)

_PLAIN = frozenset({str, int, float, bool, dict, list, type(None)})
"""Types of the values wire.py builds. None of them is awaitable or callable (exact types only)."""
_LEAF_VALUES = frozenset({str, int, float, bool, dict, list})
"""Values handed straight to a leaf type's `coerce_output_value` (a JSON scalar's value may be a dict or
a list)."""

SubfieldsCache = dict[tuple[GraphQLObjectType, tuple[int, ...]], CollectedFields]
"""Collected sub-selections of one document, by object type and the ids of the field nodes (nodes of the
cached document, which the cache entry keeps alive)."""


def is_plain_or_awaitable(value: Any) -> TypeGuard[Awaitable[Any]]:
    """graphql-core's `is_awaitable`, answering at once for plain data."""
    return type(value) not in _PLAIN and is_awaitable(value)


class _Stock(Exception):
    """Raised before anything is done: this field goes through graphql-core's own path."""


_STOCK = _Stock()


class PlainDataExecutor(Executor[Any]):
    """graphql-core's `Executor` with the shorter path for plain data (module docstring). `subfields`: the
    document's cache of collected sub-selections, or None when it may not be cached."""

    def __init__(self, *args: Any, subfields: SubfieldsCache | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._subfields = subfields

    def execute_field(self, parent_type: GraphQLObjectType, source: Any, field_details_list: FieldDetailsList,
                      path: Path, position_context: Any) -> Any:
        if type(source) is dict and self.middleware_manager is None:
            node = field_details_list[0].node
            name = node.name.value
            field_def = parent_type.fields.get(name)  # introspection (__typename) is not among them
            if (field_def is not None and field_def.resolve is None and not field_def.args and not node.arguments
                    and self.field_resolver is default_field_resolver):
                value = source.get(name)
                if type(value) in _PLAIN:
                    return_type = field_def.type
                    try:
                        completed = self._complete_plain(return_type, field_details_list, parent_type, name, path,
                                                         value, position_context)
                    except _Stock:
                        pass
                    except Exception as error:
                        self.handle_field_error(error, return_type, field_details_list, path)  # raises if non-null
                        return None
                    else:
                        if self.is_awaitable(completed):
                            return self._await_completed(completed, return_type, field_details_list, path)
                        return completed
        return super().execute_field(parent_type, source, field_details_list, path, position_context)

    def _complete_plain(self, return_type: GraphQLOutputType, field_details_list: FieldDetailsList,
                        parent_type: GraphQLObjectType, name: str, path: Path, value: Any,
                        position_context: Any) -> Any:
        """`complete_value` for plain data; raises `_STOCK` (before doing anything) where it would not be
        the same."""
        if isinstance(return_type, GraphQLNonNull):
            completed = self._complete_plain(return_type.of_type, field_details_list, parent_type, name, path,
                                             value, position_context)
            if completed is None:
                raise TypeError(f"Cannot return null for non-nullable field {parent_type}.{name}.")
            return completed
        if value is None:
            return None
        if isinstance(return_type, GraphQLList):
            if type(value) is list and not value:
                return []
            raise _STOCK
        if is_leaf_type(return_type):
            if type(value) in _LEAF_VALUES:
                return self.complete_leaf_value(return_type, value)
            raise _STOCK
        if isinstance(return_type, GraphQLObjectType) and return_type.is_type_of is None and type(value) is dict:
            return self.collect_and_execute_subfields(return_type, field_details_list, path, value, position_context)
        raise _STOCK

    async def _await_completed(self, completed: Awaitable[Any], return_type: GraphQLOutputType,
                               field_details_list: FieldDetailsList, path: Path) -> Any:
        """As graphql-core's `execute_field` awaits a completed value (a dict with a value still to await)."""
        try:
            return await completed
        except Exception as error:
            self.handle_field_error(error, return_type, field_details_list, path)
            return None

    def collect_subfields(self, return_type: GraphQLObjectType,
                          field_details_list: FieldDetailsList) -> CollectedFields:
        cache = self._subfields
        if cache is None or any(d.fragment_variable_values is not None for d in field_details_list):
            return super().collect_subfields(return_type, field_details_list)
        key = (return_type, tuple(id(d.node) for d in field_details_list))
        found = cache.get(key)
        if found is None:
            found = cache[key] = super().collect_subfields(return_type, field_details_list)
        return found
