"""Kibo's paging arguments (startIndex, pageSize, sortBy, filter) as the REST list routes read them."""

from __future__ import annotations

from ticketbooth.kibo.lists import Paging


def paging(start_index: int | None, page_size: int | None, sort_by: str | None = None,
           filter: str | None = None) -> Paging:
    """The arguments as REST's query parameters: the same range checks and 400s naming them (`Paging.query`)."""
    return Paging(None if start_index is None else str(start_index), None if page_size is None else str(page_size),
                  sort_by, filter)
