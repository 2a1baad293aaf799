"""Tenant-level customer definitions: attribute definitions (at /attributedefinition/attributes and,
the same, /accountattributedefinition/attributes), segments and customer sets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from ticketbooth.accounts.parts import attributes, segments
from ticketbooth.applications import customer_sets
from ticketbooth.domain.errors import InvalidParameter
from ticketbooth.domain.filters import FilterField
from ticketbooth.domain.models import AttributeSpec, AttributeValidation, LocalizedText, VocabularyValue
from ticketbooth.kibo import wire
from ticketbooth.kibo.bodies import CommerceRuntimeAttributeIn, CustomerSegmentIn, LocalizedContentIn
from ticketbooth.kibo.context import core_of, read_array, resolve
from ticketbooth.kibo.lists import BOOLEAN, INTEGER, TEXT, PagingParams, by_kibo_name, collection, fields
from ticketbooth.kibo.resource_routes import TENANT, AccountId, Op, Resource, register
from ticketbooth.kibo.wire import KiboJSON, respond

router = APIRouter(prefix="/api/commerce/customer", tags=["Customer definitions"])

DEFINITION_PATHS = ("/attributedefinition/attributes", "/accountattributedefinition/attributes")
SegmentId = Annotated[int, Path(ge=1, le=2**31 - 1)]
AttributeFqn = Annotated[str, Path(min_length=1, max_length=300)]

DEFINITION_FIELDS = fields({"id": FilterField("id", INTEGER), "attributeFQN": FilterField("fqn", TEXT)})
SEGMENT_FIELDS = fields({
    "id": FilterField("id", INTEGER), "code": FilterField("code", TEXT), "name": FilterField("name", TEXT),
    "description": FilterField("description", TEXT),
})
CUSTOMER_SET_FIELDS = by_kibo_name({
    "code": FilterField("code", TEXT), "name": FilterField("name", TEXT), "isDefault": FilterField("is_default", BOOLEAN),
    "id": FilterField("id", INTEGER),
})


# -- attribute definitions ---------------------------------------------------------------------------

def _localized(b: LocalizedContentIn | None) -> LocalizedText | None:
    return None if b is None else LocalizedText(b.localeCode, b.value)


def _spec(b: CommerceRuntimeAttributeIn) -> AttributeSpec:
    """The definition as sent; `attributes.clean_spec` checks it. A regular expression is refused: a
    client's pattern may take exponential time to match (see accounts/parts/attributes.py)."""
    v = b.validation
    if v is not None and v.regularExpression and v.regularExpression.strip():
        raise InvalidParameter("validation.regularExpression", "Missing or invalid parameter: "
                               "validation.regularExpression is not supported; use the length, number and date limits")
    code, namespace = b.attributeCode, b.namespace
    if not (code and code.strip()) and b.attributeFQN and "~" in b.attributeFQN:
        namespace, _, code = b.attributeFQN.partition("~")
    return AttributeSpec(
        namespace=namespace or "", attribute_code=code or "", value_type=b.valueType or "", data_type=b.dataType or "",
        input_type=b.inputType or "", admin_name=b.adminName, display_group=b.displayGroup,
        content=_localized(b.content),
        metadata=tuple((m.key or "", m.value or "") for m in b.attributeMetadata or ()),
        validation=None if v is None else AttributeValidation(
            min_string_length=v.minStringLength, max_string_length=v.maxStringLength,
            min_numeric_value=v.minNumericValue, max_numeric_value=v.maxNumericValue,
            min_date_time=v.minDateTime, max_date_time=v.maxDateTime,
        ),
        vocabulary_values=tuple(
            VocabularyValue(value=x.value or "", sequence=x.sequence, is_hidden=bool(x.isHidden),
                            content=_localized(x.content))
            for x in b.vocabularyValues or ()
        ),
        is_active=b.isActive is not False, is_required=bool(b.isRequired), is_read_only=bool(b.isReadOnly),
        is_multi_valued=bool(b.isMultiValued), is_visible=b.isVisible is not False, order=b.order,
        available_for_order_routing=bool(b.availableForOrderRouting),
        available_for_discounts=bool(b.availableForDiscounts),
    )


# the second path first: the order its routes always had, which is the OpenAPI document's order
register(router, Resource(
    path=DEFINITION_PATHS[::-1], scope=TENANT, key="attributeFQN", key_type=AttributeFqn, vocabulary=DEFINITION_FIELDS,
    shape=wire.attribute_definition, body=CommerceRuntimeAttributeIn, args=lambda b: (_spec(b),),
    response_groups=True,
    list=Op("list_definitions", "The tenant's customer attribute definitions", attributes.list_definitions),
    add=Op("create_definition", "Create a customer attribute definition", attributes.create_definition),
    get=Op("get_definition", "A customer attribute definition", attributes.get_definition),
    update=Op("update_definition", "Change a customer attribute definition", attributes.update_definition),
))


@router.get(DEFINITION_PATHS[0] + "/{attributeFQN}/vocabularyvalues", summary="An attribute's vocabulary values")
@router.get(DEFINITION_PATHS[1] + "/{attributeFQN}/vocabularyvalues", summary="An attribute's vocabulary values")
async def vocabulary_values(request: Request, attributeFQN: AttributeFqn, responseFields: str | None = Query(None),
                            responseGroups: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request)
    values = await attributes.vocabulary_values(core_of(request), ctx.caller, attributeFQN)
    return respond([wire.vocabulary_value(v) for v in values], responseFields)


# -- segments ------------------------------------------------------------------------------------

register(router, Resource(
    path="/segments", scope=TENANT, key="id", key_type=SegmentId, vocabulary=SEGMENT_FIELDS, shape=wire.segment,
    body=CustomerSegmentIn, args=lambda b: (b.code, b.name, b.description),
    list=Op("list_segments", "The tenant's segments", segments.list_segments),
    add=Op("create_segment", "Create a segment", segments.create_segment),
    get=Op("get_segment", "A segment", segments.get_segment),
    update=Op("update_segment", "Change a segment's code, name and description", segments.update_segment),
    delete=Op("delete_segment", "Delete a segment (every account leaves it)", segments.delete_segment),
))


@router.post("/segments/{id}/accounts", status_code=204, summary="Add accounts (a JSON array of ids) to a segment")
async def add_segment_accounts(request: Request, id: SegmentId) -> Response:
    ctx = await resolve(request)
    ids: list[int] = []
    for i, item in enumerate(await read_array(request, "accountIds")):
        if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= 2**63 - 1:
            raise InvalidParameter("accountIds", f"Missing or invalid parameter: accountIds[{i}] must be an account id",
                                   str(item)[:50])
        ids.append(item)
    await segments.add_accounts(core_of(request), ctx.caller, id, ids)
    return Response(status_code=204)


@router.delete("/segments/{id}/accounts/{accountId}", status_code=204, summary="Remove an account from a segment")
async def remove_segment_account(request: Request, id: SegmentId, accountId: AccountId) -> Response:
    ctx = await resolve(request)
    await segments.remove_account(core_of(request), ctx.caller, id, accountId)
    return Response(status_code=204)


# -- customer sets -----------------------------------------------------------------------------------

@router.get("/customersets", summary="The tenant's customer sets")
async def list_customer_sets(
    request: Request, paging: PagingParams, responseFields: str | None = Query(None),
    responseGroups: str | None = Query(None),
) -> KiboJSON:
    ctx = await resolve(request)
    page = await customer_sets.list_customer_sets(core_of(request), ctx.caller, paging.query(CUSTOMER_SET_FIELDS))
    return respond(collection(page, wire.customer_set), responseFields)


@router.get("/customersets/{code}", summary="A customer set")
async def get_customer_set(request: Request, code: Annotated[str, Path(min_length=1, max_length=200)],
                           responseFields: str | None = Query(None)) -> KiboJSON:
    ctx = await resolve(request)
    found = await customer_sets.get_customer_set(core_of(request), ctx.caller, code)
    return respond(wire.customer_set(found), responseFields)
