"""Lists on the wire: the paging parameters of a GET list (startIndex, pageSize, sortBy, filter),
a page as Kibo's collection shape, and JSON arrays as request bodies."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

from ticketbooth.domain.filters import FieldType, FilterField, ListQuery, parse_filter, parse_sort, parse_words
from ticketbooth.domain.models import Page
from ticketbooth.kibo import wire
from ticketbooth.kibo.context import parse_id

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 200
MAX_START_INDEX = 2**31 - 1

TEXT, INTEGER, BOOLEAN, DATE = FieldType.TEXT, FieldType.INTEGER, FieldType.BOOLEAN, FieldType.DATE


def by_kibo_name(names: Mapping[str, FilterField]) -> dict[str, FilterField]:
    """A filter/sortBy vocabulary keyed by lower-cased Kibo names (they compare case-insensitively)."""
    return {name.lower(): field for name, field in names.items()}


def fields(names: Mapping[str, FilterField]) -> dict[str, FilterField]:
    """A filter/sortBy vocabulary keyed by lower-cased Kibo names, with the audit dates and names
    every record has."""
    audit = {
        "createDate": FilterField("created_at", DATE), "auditInfo.createDate": FilterField("created_at", DATE),
        "updateDate": FilterField("updated_at", DATE), "auditInfo.updateDate": FilterField("updated_at", DATE),
        "createBy": FilterField("created_by", TEXT), "auditInfo.createBy": FilterField("created_by", TEXT),
        "updateBy": FilterField("updated_by", TEXT), "auditInfo.updateBy": FilterField("updated_by", TEXT),
    }
    return by_kibo_name({**audit, **names})


@dataclass(frozen=True, slots=True)
class Paging:
    """The paging parameters of a GET list as sent. A handler reads the page they ask for (`query`)
    after `resolve` (and any admin check), so that a caller who may not list gets 401 or 403, not a
    400 about its paging."""

    start_index: str | None
    page_size: str | None
    sort_by: str | None
    filter: str | None

    def query(self, vocabulary: Mapping[str, FilterField], q: str | None = None) -> ListQuery:
        """The page asked for, over `vocabulary`; `q` (free-text words) only where the list offers it."""
        start, size = window(self.start_index, self.page_size)
        return ListQuery(where=parse_filter(self.filter, vocabulary), words=parse_words(q),
                         sort=parse_sort(self.sort_by, vocabulary), offset=start, limit=size)


def window(start_index: str | None, page_size: str | None) -> tuple[int, int]:
    """(offset, limit) of startIndex and pageSize as sent: 400 naming the one out of range."""
    start = parse_id("startIndex", start_index, 0, MAX_START_INDEX + 1)
    size = parse_id("pageSize", page_size, 1, MAX_PAGE_SIZE + 1)
    return start or 0, size or DEFAULT_PAGE_SIZE


def _paging(startIndex: str | None = Query(None), pageSize: str | None = Query(None),
            sortBy: str | None = Query(None), filter: str | None = Query(None)) -> Paging:
    return Paging(startIndex, pageSize, sortBy, filter)


PagingParams = Annotated[Paging, Depends(_paging)]
"""A handler parameter for startIndex, pageSize, sortBy and filter."""


def collection(page: Page[T], render: Callable[[T], dict[str, Any]]) -> dict[str, Any]:
    """Kibo's collection shape: {startIndex, pageSize, pageCount, totalCount, items}."""
    return wire.collection([render(item) for item in page.items], page.start_index, page.page_size, page.total)
