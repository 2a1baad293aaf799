"""Custom attributes: the tenant's attribute definitions, and the values an account has for them.

A definition is named by its fully qualified name `namespace~attributeCode` (compared
case-insensitively). Values are checked against their definition: it must exist and be active, each
value must fit its data type (String, Number, Bool, Date) and its validation limits, a List input
takes only vocabulary values, and several values only when the definition is multi-valued.

Who may do what: any application of the tenant reads definitions, an admin application writes them.
On an account, an admin application reads and sets every attribute; the account's own shopper reads
and sets only ShopperEntered attributes that are not read-only.

Regular expressions in a definition's validation are refused: a pattern written by a client can take
exponential time to match (Python's `re` has no time limit), so this service does not run them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from ticketbooth.accounts.access import account_for, actor, is_admin, record_impersonated_change, require_admin
from ticketbooth.accounts.persistence import AccountsPersistence
from ticketbooth.caller import Caller
from ticketbooth.core import Core
from ticketbooth.domain.errors import Conflict, Forbidden, InvalidParameter, NotFound
from ticketbooth.domain.filters import ListQuery
from ticketbooth.domain.models import (
    ATTRIBUTE_DATA_TYPES,
    ATTRIBUTE_INPUT_TYPES,
    ATTRIBUTE_VALUE_TYPES,
    AccountAttribute,
    AttributeDefinition,
    AttributeSpec,
    AttributeValidation,
    LocalizedText,
    Page,
    Shopper,
    VocabularyValue,
)
from ticketbooth.domain.text import clean_text
from ticketbooth.events import rules as topics
from ticketbooth.events import service as events

DEFAULT_NAMESPACE = "tenant"
SHOPPER_ENTERED = "ShopperEntered"
MAX_DEFINITIONS_PER_TENANT = 500
MAX_VOCABULARY = 500
MAX_VALUES = 100
MAX_STRING_VALUE = 4000
MAX_METADATA = 20
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,50}$")
_NAMESPACE = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")
# which input types each data type may use
_INPUTS_FOR = {
    "String": ("TextBox", "TextArea", "List"),
    "Number": ("TextBox", "List"),
    "Bool": ("YesNo",),
    "Date": ("Date",),
}


@dataclass(frozen=True, slots=True)
class AttributeValues:
    """Values for one attribute of an account, as a client gives them."""

    fqn: str | None
    values: Sequence[object] | None


def fqn_key(fqn: str) -> str:
    """The look-up key of a fully qualified name: lower-cased, `tenant~` added when no namespace is given."""
    key = fqn.strip().lower()
    return key if "~" in key else f"{DEFAULT_NAMESPACE}~{key}"


def _path_key(fqn: str) -> str | None:
    """The look-up key of a name from a path, or None when it cannot name a definition."""
    try:
        text = clean_text(fqn, "attributeFQN", 300, required=True)
    except InvalidParameter:
        return None
    return fqn_key(text) if text else None


# -- definitions: checking what a merchant sends -------------------------------------------------------

def _canonical(value: str | None, allowed: Sequence[str], name: str, default: str | None) -> str:
    if value is None or not value.strip():
        if default is None:
            raise InvalidParameter(name, f"Missing or invalid parameter: {name} is required")
        return default
    for option in allowed:
        if option.lower() == value.strip().lower():
            return option
    raise InvalidParameter(name, f"Missing or invalid parameter: {name} must be one of {', '.join(allowed)}", value[:50])


def _aware(value: datetime | None, name: str) -> datetime | None:
    """In UTC; a date without a zone is taken as UTC."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} is out of range") from None


def _clean_validation(v: AttributeValidation | None) -> AttributeValidation | None:
    if v is None:
        return None
    for name, length in (("minStringLength", v.min_string_length), ("maxStringLength", v.max_string_length)):
        if length is not None and not 0 <= length <= MAX_STRING_VALUE:
            raise InvalidParameter(f"validation.{name}", f"Missing or invalid parameter: validation.{name} must be "
                                   f"between 0 and {MAX_STRING_VALUE}")
    for name, number in (("minNumericValue", v.min_numeric_value), ("maxNumericValue", v.max_numeric_value)):
        if number is not None and not math.isfinite(number):
            raise InvalidParameter(f"validation.{name}", f"Missing or invalid parameter: validation.{name} must be a "
                                   "finite number")
    cleaned = replace(v, min_date_time=_aware(v.min_date_time, "validation.minDateTime"),
                      max_date_time=_aware(v.max_date_time, "validation.maxDateTime"))
    for name, low, high in (
        ("StringLength", cleaned.min_string_length, cleaned.max_string_length),
        ("NumericValue", cleaned.min_numeric_value, cleaned.max_numeric_value),
        ("DateTime", cleaned.min_date_time, cleaned.max_date_time),
    ):
        if low is not None and high is not None and low > high:  # type: ignore[operator]
            raise InvalidParameter(f"validation.max{name}", f"Missing or invalid parameter: validation.min{name} is "
                                   f"greater than validation.max{name}")
    return None if cleaned == AttributeValidation() else cleaned


def _clean_localized(content: LocalizedText | None, name: str) -> LocalizedText | None:
    if content is None:
        return None
    cleaned = LocalizedText(clean_text(content.locale_code, f"{name}.localeCode", 8),
                            clean_text(content.value, f"{name}.value", 100))
    return None if cleaned == LocalizedText(None, None) else cleaned


def _clean_vocabulary(values: Sequence[VocabularyValue], data_type: str) -> tuple[VocabularyValue, ...]:
    if len(values) > MAX_VOCABULARY:
        raise InvalidParameter("vocabularyValues", f"Missing or invalid parameter: vocabularyValues may hold at most "
                               f"{MAX_VOCABULARY} values")
    seen: set[str] = set()
    cleaned = []
    for i, v in enumerate(values):
        name = f"vocabularyValues[{i}].value"
        value = clean_text(v.value, name, 50, required=True)
        assert value is not None
        if data_type == "Number":
            _number(value, name)
        if value.lower() in seen:
            raise InvalidParameter(name, f"Missing or invalid parameter: the vocabulary value {value} is given twice",
                                   value)
        seen.add(value.lower())
        cleaned.append(VocabularyValue(value=value, sequence=v.sequence, is_hidden=bool(v.is_hidden),
                                       content=_clean_localized(v.content, f"vocabularyValues[{i}].content")))
    return tuple(cleaned)


def clean_spec(spec: AttributeSpec) -> AttributeSpec:
    """The definition trimmed, defaulted and checked; InvalidParameter names the first bad field."""
    namespace = clean_text(spec.namespace, "namespace", 200) or DEFAULT_NAMESPACE
    if not _NAMESPACE.match(namespace):
        raise InvalidParameter("namespace", "Missing or invalid parameter: namespace may hold only letters, digits, "
                               "'.', '_' and '-'", namespace)
    code = clean_text(spec.attribute_code, "attributeCode", 50, required=True)
    assert code is not None
    if not _CODE.match(code):
        raise InvalidParameter("attributeCode", "Missing or invalid parameter: attributeCode may hold only letters, "
                               "digits, '_' and '-'", code)
    value_type = _canonical(spec.value_type, ATTRIBUTE_VALUE_TYPES, "valueType", None)
    given_input = spec.input_type if spec.input_type and spec.input_type.strip() else None
    given_data = spec.data_type if spec.data_type and spec.data_type.strip() else None
    input_guess = _canonical(given_input, ATTRIBUTE_INPUT_TYPES, "inputType", "TextBox") if given_input else None
    data_type = _canonical(given_data, ATTRIBUTE_DATA_TYPES, "dataType",
                           {"YesNo": "Bool", "Date": "Date"}.get(input_guess or "", "String"))
    input_type = input_guess or _INPUTS_FOR[data_type][0]
    if value_type == "Predefined" and input_type == "TextBox" and given_input is None:
        input_type = "List"
    if input_type not in _INPUTS_FOR[data_type]:
        raise InvalidParameter("inputType", f"Missing or invalid parameter: inputType {input_type} does not fit dataType "
                               f"{data_type} (use {', '.join(_INPUTS_FOR[data_type])})", input_type)
    if value_type == "Predefined" and input_type not in ("List", "YesNo"):
        raise InvalidParameter("inputType", "Missing or invalid parameter: a Predefined attribute needs the inputType "
                               "List or YesNo", input_type)
    vocabulary = _clean_vocabulary(spec.vocabulary_values, data_type)
    if input_type == "List" and not vocabulary:
        raise InvalidParameter("vocabularyValues", "Missing or invalid parameter: a List attribute needs vocabularyValues")
    if input_type != "List" and vocabulary:
        raise InvalidParameter("vocabularyValues", "Missing or invalid parameter: only a List attribute takes "
                               "vocabularyValues")
    if spec.is_multi_valued and input_type != "List":
        raise InvalidParameter("isMultiValued", "Missing or invalid parameter: only a List attribute may be multi-valued")
    if len(spec.metadata) > MAX_METADATA:
        raise InvalidParameter("attributeMetadata", f"Missing or invalid parameter: attributeMetadata may hold at most "
                               f"{MAX_METADATA} items")
    metadata = tuple(
        (clean_text(k, f"attributeMetadata[{i}].key", 50, required=True) or "",
         clean_text(v, f"attributeMetadata[{i}].value", 1000, strip=False) or "")
        for i, (k, v) in enumerate(spec.metadata)
    )
    return replace(
        spec, namespace=namespace, attribute_code=code, value_type=value_type, data_type=data_type,
        input_type=input_type, admin_name=clean_text(spec.admin_name, "adminName", 50),
        display_group=clean_text(spec.display_group, "displayGroup", 100),
        content=_clean_localized(spec.content, "content"), metadata=metadata,
        validation=_clean_validation(spec.validation), vocabulary_values=vocabulary,
    )


# -- values: checking them against their definition ----------------------------------------------------

def _number(value: object, name: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} must be a number")
    try:
        number = float(value) if isinstance(value, str) else value
    except ValueError:
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} must be a number", str(value)[:50]) from None
    if isinstance(number, float):
        if not math.isfinite(number):
            raise InvalidParameter(name, f"Missing or invalid parameter: {name} must be a finite number")
        if number.is_integer() and abs(number) < 2**53:
            return int(number)
    elif abs(number) >= 2**53:
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} is out of range")
    return number


def _bool(value: object, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidParameter(name, f"Missing or invalid parameter: {name} must be true or false")


def date_text(value: datetime) -> str:
    """How Date values are kept: `2026-11-27T05:31:56.123Z`."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _date(value: object, name: str) -> datetime:
    if not isinstance(value, str) or len(value) > 64:
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} must be an ISO-8601 date")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} must be an ISO-8601 date", value) from None
    aware = _aware(parsed, name)
    assert aware is not None
    return aware


def _one_value(d: AttributeSpec, value: object, name: str) -> object:
    v = d.validation or AttributeValidation()
    if d.data_type == "Number":
        number = _number(value, name)
        if (v.min_numeric_value is not None and number < v.min_numeric_value) or (
                v.max_numeric_value is not None and number > v.max_numeric_value):
            raise InvalidParameter(name, f"Missing or invalid parameter: {name} must be between {v.min_numeric_value} "
                                   f"and {v.max_numeric_value}", number)
        result: object = number
    elif d.data_type == "Bool":
        result = _bool(value, name)
    elif d.data_type == "Date":
        when = _date(value, name)
        if (v.min_date_time is not None and when < v.min_date_time) or (
                v.max_date_time is not None and when > v.max_date_time):
            raise InvalidParameter(name, f"Missing or invalid parameter: {name} is outside the allowed dates", value)
        result = date_text(when)
    else:
        if not isinstance(value, str):
            raise InvalidParameter(name, f"Missing or invalid parameter: {name} must be a string")
        text = clean_text(value, name, v.max_string_length or MAX_STRING_VALUE, required=True)
        assert text is not None
        if v.min_string_length is not None and len(text) < v.min_string_length:
            raise InvalidParameter(name, f"Missing or invalid parameter: {name} must be at least {v.min_string_length} "
                                   "characters")
        result = text
    if d.input_type == "List":
        for option in d.vocabulary_values:
            if (d.data_type == "Number" and _number(option.value, name) == result) or (
                    isinstance(result, str) and option.value.lower() == result.lower()):
                return result if d.data_type == "Number" else option.value
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} is not one of the values of {d.fqn}",
                               str(value)[:50])
    return result


def clean_values(definition: AttributeDefinition, values: Sequence[object] | None, name: str = "values") -> tuple[object, ...]:
    """The values converted to the definition's data type and checked against it; duplicates dropped."""
    d = definition.spec
    if not d.is_active:
        raise InvalidParameter("fullyQualifiedName", f"Missing or invalid parameter: the attribute {d.fqn} is not active",
                               d.fqn)
    if not values:
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} is required")
    if len(values) > (MAX_VALUES if d.is_multi_valued else 1):
        raise InvalidParameter(name, f"Missing or invalid parameter: the attribute {d.fqn} takes "
                               + (f"at most {MAX_VALUES} values" if d.is_multi_valued else "one value"))
    cleaned: list[object] = []
    for i, value in enumerate(values):
        one = _one_value(d, value, f"{name}[{i}]")
        if one not in cleaned:  # the values of one attribute are all of one type
            cleaned.append(one)
    return tuple(cleaned)


# -- definitions: the service functions -----------------------------------------------------------------

def _missing_definition(fqn: str) -> NotFound:
    return NotFound(f"Item not found: attribute {fqn[:300]} does not exist")


async def list_definitions(core: Core, caller: Caller, query: ListQuery) -> Page[AttributeDefinition]:
    return await core.store.page_definitions(caller.tenant.id, query)


async def get_definition(core: Core, caller: Caller, fqn: str) -> AttributeDefinition:
    key = _path_key(fqn)
    found = await core.store.get_definition(caller.tenant.id, key) if key else None
    if found is None:
        raise _missing_definition(fqn)
    return found


async def vocabulary_values(core: Core, caller: Caller, fqn: str) -> tuple[VocabularyValue, ...]:
    return (await get_definition(core, caller, fqn)).spec.vocabulary_values


async def create_definition(core: Core, caller: Caller, spec: AttributeSpec) -> AttributeDefinition:
    require_admin(caller, "creating an attribute definition")
    cleaned = clean_spec(spec)
    async with core.store.transaction() as tx:
        if await tx.count_definitions(caller.tenant.id) >= MAX_DEFINITIONS_PER_TENANT:
            raise InvalidParameter("attributeCode", f"Missing or invalid parameter: a tenant may have at most "
                                   f"{MAX_DEFINITIONS_PER_TENANT} attribute definitions")
        created = await tx.insert_definition(caller.tenant.id, cleaned, core.clock.now(), actor(caller, None))
        await events.publish(core, tx, topics.ATTRIBUTE_DEFINITION_CREATED, entity_id=created.id, caller=caller,
                             extended={"attributeFQN": created.fqn})
        return created


async def update_definition(core: Core, caller: Caller, fqn: str, spec: AttributeSpec) -> AttributeDefinition:
    """Replace the definition `fqn`. Its namespace, code and data type stay: values already kept
    under it would otherwise no longer fit."""
    require_admin(caller, "changing an attribute definition")
    current = await get_definition(core, caller, fqn)
    given_code = spec.attribute_code.strip() if spec.attribute_code and spec.attribute_code.strip() else None
    given_namespace = spec.namespace.strip() if spec.namespace and spec.namespace.strip() else None
    if (given_code and given_code.lower() != current.spec.attribute_code.lower()) or (
            given_namespace and given_namespace.lower() != current.spec.namespace.lower()):
        raise InvalidParameter("attributeFQN", f"Missing or invalid parameter: the attribute code and namespace of "
                               f"{current.fqn} cannot change")
    cleaned = clean_spec(replace(spec, attribute_code=current.spec.attribute_code, namespace=current.spec.namespace))
    if cleaned.data_type != current.spec.data_type:
        raise InvalidParameter("dataType", f"Missing or invalid parameter: the dataType of {current.fqn} cannot change "
                               f"(it is {current.spec.data_type})", cleaned.data_type)
    async with core.store.transaction() as tx:
        updated = await tx.update_definition(caller.tenant.id, current.id, cleaned, core.clock.now(),
                                             actor(caller, None))
        if updated is None:
            raise _missing_definition(fqn)
        await events.publish(core, tx, topics.ATTRIBUTE_DEFINITION_UPDATED, entity_id=updated.id, caller=caller,
                             extended={"attributeFQN": updated.fqn})
    return updated


# -- account attributes ---------------------------------------------------------------------------------

def _may_shopper_read(d: AttributeDefinition) -> bool:
    return d.spec.value_type == SHOPPER_ENTERED


def _check_may_set(caller: Caller, d: AttributeDefinition) -> None:
    if not is_admin(caller) and (d.spec.value_type != SHOPPER_ENTERED or d.spec.is_read_only):
        raise Forbidden(f"Forbidden: the attribute {d.fqn} is set by the merchant; a shopper may set only "
                        "ShopperEntered attributes that are not read-only")


def _check_may_read(caller: Caller, d: AttributeDefinition) -> None:
    if not is_admin(caller) and not _may_shopper_read(d):
        raise Forbidden(f"Forbidden: the attribute {d.fqn} is the merchant's; a shopper may read only ShopperEntered "
                        "attributes")


async def definition_for_values(store: AccountsPersistence, caller: Caller, fqn: str | None, name: str = "fullyQualifiedName"
                                ) -> AttributeDefinition:
    """The active definition a value is given for: InvalidParameter naming the attribute when there is none."""
    text = clean_text(fqn, name, 300, required=True)
    assert text is not None
    found = await store.get_definition(caller.tenant.id, fqn_key(text))
    if found is None:
        raise InvalidParameter(name, f"Missing or invalid parameter: the attribute {text} is not defined", text)
    if not found.spec.is_active:
        raise InvalidParameter(name, f"Missing or invalid parameter: the attribute {found.fqn} is not active", text)
    return found


async def write_attribute(tx: AccountsPersistence, caller: Caller, account_id: int, given: AttributeValues, by: str,
                          now: datetime, *, replace_existing: bool, prefix: str = "") -> AccountAttribute:
    """Check and store one attribute's values inside the caller's transaction `tx`. With
    `replace_existing` the values replace any there; without, an attribute already set is a Conflict."""
    definition = await definition_for_values(tx, caller, given.fqn, f"{prefix}fullyQualifiedName")
    _check_may_set(caller, definition)
    values = clean_values(definition, given.values, f"{prefix}values")
    if not await tx.lock_account(account_id):
        raise NotFound(f"Item not found: account {account_id} does not exist")
    if not await tx.insert_account_attribute(account_id, definition.id, values, now, by):
        if not replace_existing:
            raise Conflict(f"Validation conflict: the account already has a value for {definition.fqn}; use PUT to "
                           "change it")
        await tx.update_account_attribute(account_id, definition.id, values, now, by)
    saved = await tx.get_account_attribute(account_id, definition.id)
    assert saved is not None
    return saved


async def list_account_attributes(core: Core, caller: Caller, shopper: Shopper | None, account_id: int,
                                  query: ListQuery) -> Page[AccountAttribute]:
    await account_for(core, caller, shopper, account_id, with_parts=False)
    only = None
    if not is_admin(caller):
        only = [d.id for d in await core.store.definitions_with_value_type(caller.tenant.id, SHOPPER_ENTERED)]
    return await core.store.page_account_attributes(account_id, query, only)


async def _existing_definition(core: Core, caller: Caller, fqn: str) -> AttributeDefinition:
    return await get_definition(core, caller, fqn)


async def get_account_attribute(core: Core, caller: Caller, shopper: Shopper | None, account_id: int,
                                fqn: str) -> AccountAttribute:
    await account_for(core, caller, shopper, account_id, with_parts=False)
    definition = await _existing_definition(core, caller, fqn)
    _check_may_read(caller, definition)
    found = await core.store.get_account_attribute(account_id, definition.id)
    if found is None:
        raise NotFound(f"Item not found: account {account_id} has no value for the attribute {definition.fqn}")
    return found


async def add_account_attribute(core: Core, caller: Caller, shopper: Shopper | None, account_id: int,
                                given: AttributeValues) -> AccountAttribute:
    await account_for(core, caller, shopper, account_id, with_parts=False)
    async with core.store.transaction() as tx:
        written = await write_attribute(tx, caller, account_id, given, actor(caller, shopper), core.clock.now(),
                                        replace_existing=False)
        await record_impersonated_change(core, tx, caller, shopper, account_id, "attributes")
        await events.publish(core, tx, topics.ATTRIBUTE_CHANGED, entity_id=account_id, caller=caller,
                             extended={"attributeFQN": written.fqn})
        return written


async def set_account_attribute(core: Core, caller: Caller, shopper: Shopper | None, account_id: int, fqn: str,
                                given: AttributeValues) -> AccountAttribute:
    """Set (add or replace) the values of the attribute `fqn` named by the path; a name in the body
    must be the same attribute."""
    await account_for(core, caller, shopper, account_id, with_parts=False)
    if given.fqn and given.fqn.strip() and fqn_key(given.fqn) != fqn_key(fqn):
        raise InvalidParameter("fullyQualifiedName", "Missing or invalid parameter: fullyQualifiedName differs from the "
                               "attribute in the path", given.fqn[:300])
    async with core.store.transaction() as tx:
        written = await write_attribute(tx, caller, account_id, AttributeValues(fqn, given.values),
                                        actor(caller, shopper), core.clock.now(), replace_existing=True)
        await record_impersonated_change(core, tx, caller, shopper, account_id, "attributes")
        await events.publish(core, tx, topics.ATTRIBUTE_CHANGED, entity_id=account_id, caller=caller,
                             extended={"attributeFQN": written.fqn})
        return written


async def delete_account_attribute(core: Core, caller: Caller, shopper: Shopper | None, account_id: int,
                                   fqn: str) -> None:
    await account_for(core, caller, shopper, account_id, with_parts=False)
    definition = await _existing_definition(core, caller, fqn)
    _check_may_set(caller, definition)
    if definition.spec.is_required:
        raise InvalidParameter("attributeFQN", f"Missing or invalid parameter: the attribute {definition.fqn} is "
                               "required and cannot be removed; set another value instead", definition.fqn)
    async with core.store.transaction() as tx:
        if not await tx.delete_account_attribute(account_id, definition.id):
            raise NotFound(f"Item not found: account {account_id} has no value for the attribute {definition.fqn}")
        await record_impersonated_change(core, tx, caller, shopper, account_id, "attributes")
        await events.publish(core, tx, topics.ATTRIBUTE_CHANGED, entity_id=account_id, caller=caller,
                             extended={"attributeFQN": definition.fqn})
