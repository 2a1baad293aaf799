"""Lists on the wire: the paging parameters of a GET list (startIndex, pageSize, sortBy, filter),
a page as Kibo's collection shape, and JSON arrays as request bodies."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import orjson
from fastapi import Request
from pydantic import BaseModel, ValidationError

from ticketbooth.api import wire
from ticketbooth.api.context import _lower_keys, parse_id, read_body
from ticketbooth.domain.errors import InvalidParameter
from ticketbooth.domain.filters import FieldType, FilterField, ListQuery, parse_filter, parse_sort
from ticketbooth.domain.models import Page

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 200
MAX_START_INDEX = 2**31 - 1
MAX_ARRAY_ITEMS = 1000

TEXT, INTEGER, BOOLEAN, DATE = FieldType.TEXT, FieldType.INTEGER, FieldType.BOOLEAN, FieldType.DATE


def fields(names: Mapping[str, FilterField]) -> dict[str, FilterField]:
    """A filter/sortBy vocabulary keyed by lower-cased Kibo names, with the audit dates and names
    every record has."""
    audit = {
        "createDate": FilterField("created_at", DATE), "auditInfo.createDate": FilterField("created_at", DATE),
        "updateDate": FilterField("updated_at", DATE), "auditInfo.updateDate": FilterField("updated_at", DATE),
        "createBy": FilterField("created_by", TEXT), "auditInfo.createBy": FilterField("created_by", TEXT),
        "updateBy": FilterField("updated_by", TEXT), "auditInfo.updateBy": FilterField("updated_by", TEXT),
    }
    return {name.lower(): field for name, field in {**audit, **names}.items()}


def list_query(vocabulary: Mapping[str, FilterField], start_index: str | None, page_size: str | None,
               sort_by: str | None, filter_: str | None) -> ListQuery:
    start = parse_id("startIndex", start_index, 0, MAX_START_INDEX + 1)
    size = parse_id("pageSize", page_size, 1, MAX_PAGE_SIZE + 1)
    return ListQuery(where=parse_filter(filter_, vocabulary), sort=parse_sort(sort_by, vocabulary),
                     offset=start or 0, limit=size or DEFAULT_PAGE_SIZE)


def collection(page: Page[T], render: Callable[[T], dict[str, Any]]) -> dict[str, Any]:
    """Kibo's collection shape: {startIndex, pageSize, pageCount, totalCount, items}."""
    return wire.collection([render(item) for item in page.items], page.start_index, page.page_size, page.total)


async def read_array(request: Request, name: str) -> list[Any]:
    """The body as a JSON array (object keys lower-cased, as `read_json` does), at most
    MAX_ARRAY_ITEMS long; `name` is the parameter named in errors."""
    raw = await read_body(request)
    try:
        data = orjson.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError:
        raise InvalidParameter(name, f"Missing or invalid parameter: {name}: the body is not valid JSON") from None
    if not isinstance(data, list):
        raise InvalidParameter(name, f"Missing or invalid parameter: {name}: the body must be a JSON array")
    if len(data) > MAX_ARRAY_ITEMS:
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} may hold at most {MAX_ARRAY_ITEMS} items")
    items: list[Any] = _lower_keys(data)
    return items


def item_as(model: type[M], item: Any, name: str) -> M:
    """One array item (already key-lowered) as `model`; a 400 naming `name` and the field otherwise."""
    if not isinstance(item, dict):
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} must be a JSON object")
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        full = f"{name}.{field}" if field else name
        raise InvalidParameter(full, f"Missing or invalid parameter: {full} {first['msg'].lower()}") from None
