"""Resolver of an account's audit trail (`customerAccountAuditLog`), as REST's
/accounts/{accountId}/auditlog/entries: the account's own shopper or an admin application, newest first."""

from __future__ import annotations

from typing import Any

from ariadne import MutationType, QueryType

from ticketbooth.audit.routes import audit_page
from ticketbooth.kibo.graphql.context import Info, caller, core
from ticketbooth.kibo.graphql.paging import paging

query = QueryType()
mutation = MutationType()


@query.field("customerAccountAuditLog")
async def customer_account_audit_log(_: Any, info: Info, accountId: int, startIndex: int | None = None,
                                     pageSize: int | None = None, sortBy: str | None = None,
                                     filter: str | None = None) -> dict[str, Any]:
    ctx = await caller(info, shopper="optional")
    return await audit_page(core(info), ctx, accountId, paging(startIndex, pageSize, sortBy, filter))
