"""An account's parts: contacts, notes, attribute values and segment memberships; attribute
definitions, segments and customer sets of a tenant.

Lists are paged in SQL (`store.filtering.page`): each list names the fields it may be sorted and
filtered by (a `FieldMap`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, Table, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from ticketbooth.accounts.store.filtering import FieldMap, ListField, columns, page
from ticketbooth.db import tables as t
from ticketbooth.db.base import StoreBase
from ticketbooth.domain.errors import Conflict
from ticketbooth.domain.filters import ListQuery
from ticketbooth.domain.models import (
    Account,
    AccountAttribute,
    Address,
    AttributeDefinition,
    AttributeSpec,
    AttributeValidation,
    Audit,
    Contact,
    ContactDetails,
    ContactType,
    CustomerSet,
    CustomerSetInfo,
    LocalizedText,
    Note,
    Page,
    Phones,
    Segment,
    SegmentRef,
    Site,
    VocabularyValue,
)

T = TypeVar("T")


def _audit(m: Mapping[str, Any], prefix: str = "") -> Audit:
    return Audit(created_at=m[f"{prefix}created_at"], created_by=m[f"{prefix}created_by"],
                 updated_at=m[f"{prefix}updated_at"], updated_by=m[f"{prefix}updated_by"])


def _upsert_ignore(dialect: str, table: Table) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for the dialect."""
    stmt = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return stmt.on_conflict_do_nothing()


# -- contacts ------------------------------------------------------------------------------------

_CONTACT_FIELDS = columns(
    t.contacts, "id", "email", "first_name", "middle_name_or_initial", "last_name_or_surname", "company_or_organization",
    "label", "fax_number", "created_at", "created_by", "updated_at", "updated_by",
)


def _contact_values(details: ContactDetails) -> dict[str, Any]:
    return {
        "email": details.email, "first_name": details.first_name,
        "middle_name_or_initial": details.middle_name_or_initial, "last_name_or_surname": details.last_name_or_surname,
        "company_or_organization": details.company_or_organization, "fax_number": details.fax_number,
        "label": details.label,
        "address": dataclasses.asdict(details.address) if details.address else None,
        "phone_numbers": dataclasses.asdict(details.phone_numbers) if details.phone_numbers else None,
        "types": [{"name": ct.name, "is_primary": ct.is_primary} for ct in details.types],
    }


def _contact(row: Any) -> Contact:
    return _contact_of(row._mapping)


def _contact_of(m: Mapping[str, Any]) -> Contact:
    details = ContactDetails(
        email=m["email"], first_name=m["first_name"], middle_name_or_initial=m["middle_name_or_initial"],
        last_name_or_surname=m["last_name_or_surname"], company_or_organization=m["company_or_organization"],
        fax_number=m["fax_number"], label=m["label"],
        address=Address(**m["address"]) if m["address"] else None,
        phone_numbers=Phones(**m["phone_numbers"]) if m["phone_numbers"] else None,
        types=tuple(ContactType(name=ct["name"], is_primary=bool(ct["is_primary"])) for ct in m["types"] or ()),
    )
    return Contact(id=m["id"], account_id=m["account_id"], details=details, audit=_audit(m))


# -- notes ---------------------------------------------------------------------------------------

_NOTE_FIELDS = columns(t.notes, "id", "content", "created_at", "created_by", "updated_at", "updated_by")


def _note(row: Any) -> Note:
    return _note_of(row._mapping)


def _note_of(m: Mapping[str, Any]) -> Note:
    return Note(id=m["id"], account_id=m["account_id"], content=m["content"], audit=_audit(m))


# -- attribute definitions -------------------------------------------------------------------------

_DEFINITION_FIELDS = columns(t.attribute_definitions, "id", "fqn", "created_at", "created_by", "updated_at", "updated_by")


def _date_json(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _spec_json(spec: AttributeSpec) -> dict[str, Any]:
    """The definition as kept in `attribute_definitions.definition` (domain names, ISO dates)."""
    data = dataclasses.asdict(spec)
    if spec.validation is not None:
        data["validation"]["min_date_time"] = _date_json(spec.validation.min_date_time)
        data["validation"]["max_date_time"] = _date_json(spec.validation.max_date_time)
    data["metadata"] = [list(item) for item in spec.metadata]
    return data


def _text(data: Mapping[str, Any] | None) -> LocalizedText | None:
    return LocalizedText(data.get("locale_code"), data.get("value")) if data else None


def _spec(data: Mapping[str, Any]) -> AttributeSpec:
    v = data.get("validation")
    validation = None
    if v:
        validation = AttributeValidation(**{
            **v,
            "min_date_time": datetime.fromisoformat(v["min_date_time"]) if v.get("min_date_time") else None,
            "max_date_time": datetime.fromisoformat(v["max_date_time"]) if v.get("max_date_time") else None,
        })
    vocabulary = tuple(
        VocabularyValue(value=x["value"], sequence=x.get("sequence"), is_hidden=bool(x.get("is_hidden")),
                        content=_text(x.get("content")))
        for x in data.get("vocabulary_values") or ()
    )
    plain = {k: v for k, v in data.items() if k not in ("validation", "vocabulary_values", "content", "metadata")}
    return AttributeSpec(**plain, validation=validation, vocabulary_values=vocabulary, content=_text(data.get("content")),
                         metadata=tuple((str(k), str(v)) for k, v in data.get("metadata") or ()))


def _definition(row: Any) -> AttributeDefinition:
    m = row._mapping
    return AttributeDefinition(id=m["id"], tenant_id=m["tenant_id"], spec=_spec(m["definition"]), audit=_audit(m))


# -- account attributes ------------------------------------------------------------------------------

_ACCOUNT_ATTRIBUTE_SELECT = select(
    t.account_attributes, t.attribute_definitions.c.definition, t.attribute_definitions.c.fqn,
).join_from(t.account_attributes, t.attribute_definitions,
            t.account_attributes.c.definition_id == t.attribute_definitions.c.id)
_ACCOUNT_ATTRIBUTE_FIELDS: FieldMap = {
    "fqn": ListField(t.attribute_definitions.c.fqn),
    **columns(t.account_attributes, "definition_id", "created_at", "created_by", "updated_at", "updated_by"),
}


def _account_attribute(row: Any) -> AccountAttribute:
    return _account_attribute_of(row._mapping)


def _account_attribute_of(m: Mapping[str, Any]) -> AccountAttribute:
    definition = m["definition"]
    return AccountAttribute(
        definition_id=m["definition_id"], fqn=f"{definition['namespace']}~{definition['attribute_code']}",
        values=tuple(m["attribute_values"]), audit=_audit(m),
    )


# -- segments ----------------------------------------------------------------------------------

_SEGMENT_FIELDS = columns(t.segments, "id", "code", "name", "description", "created_at", "created_by", "updated_at",
                          "updated_by")


def _segment(row: Any) -> Segment:
    m = row._mapping
    return Segment(id=m["id"], tenant_id=m["tenant_id"], code=m["code"], name=m["name"], description=m["description"],
                   audit=_audit(m))


def _segment_ref(row: Any) -> SegmentRef:
    return _segment_ref_of(row._mapping)


def _segment_ref_of(m: Mapping[str, Any]) -> SegmentRef:
    return SegmentRef(id=m["id"], code=m["code"], name=m["name"], description=m["description"], audit=_audit(m))


# -- customer sets ----------------------------------------------------------------------------------

_CUSTOMER_SET_FIELDS = columns(t.customer_sets, "id", "code", "name", "is_default", "created_at")


async def _customer_set_infos(conn: AsyncConnection, rows: Sequence[Any]) -> list[CustomerSetInfo]:
    ids = [r.id for r in rows]
    if not ids:
        return []
    counted = (await conn.execute(
        select(t.accounts.c.customer_set_id, func.count()).where(t.accounts.c.customer_set_id.in_(ids))
        .group_by(t.accounts.c.customer_set_id))).all()
    counts = {int(row[0]): int(row[1]) for row in counted}
    sites: dict[int, list[Site]] = {i: [] for i in ids}
    for s in (await conn.execute(select(t.sites).where(t.sites.c.customer_set_id.in_(ids)).order_by(t.sites.c.id))).all():
        sites[s.customer_set_id].append(Site(id=s.id, tenant_id=s.tenant_id, customer_set_id=s.customer_set_id, name=s.name))
    return [
        CustomerSetInfo(
            customer_set=CustomerSet(id=r.id, tenant_id=r.tenant_id, code=r.code, name=r.name, is_default=r.is_default),
            sites=tuple(sites[r.id]), customer_count=int(counts.get(r.id, 0)), created_at=r.created_at,
        )
        for r in rows
    ]


# -- an account's parts, loaded with it ----------------------------------------------------------------

async def load_parts(conn: AsyncConnection, accounts: Sequence[Account]) -> None:
    """Fill in the contacts, notes, attributes and segments of `accounts` (four queries in all,
    whatever their number)."""
    if not accounts:
        return
    by_id = {a.id: a for a in accounts}
    ids = list(by_id)
    for a in accounts:
        a.contacts, a.notes, a.attributes, a.segments = [], [], [], []
    for row in (await conn.execute(
            select(t.contacts).where(t.contacts.c.account_id.in_(ids)).order_by(t.contacts.c.id))).all():
        by_id[row.account_id].contacts.append(_contact(row))
    for row in (await conn.execute(
            select(t.notes).where(t.notes.c.account_id.in_(ids)).order_by(t.notes.c.id))).all():
        by_id[row.account_id].notes.append(_note(row))
    for row in (await conn.execute(_ACCOUNT_ATTRIBUTE_SELECT.where(t.account_attributes.c.account_id.in_(ids))
                                   .order_by(t.attribute_definitions.c.fqn))).all():
        by_id[row.account_id].attributes.append(_account_attribute(row))
    for row in (await conn.execute(
            select(t.segments, t.segment_accounts.c.account_id)
            .join_from(t.segment_accounts, t.segments, t.segment_accounts.c.segment_id == t.segments.c.id)
            .where(t.segment_accounts.c.account_id.in_(ids)).order_by(t.segments.c.id))).all():
        by_id[row.account_id].segments.append(_segment_ref(row))


class PartsStore(StoreBase):
    # -- what most methods below do ----------------------------------------------------------------

    async def _page(self, stmt: Select[Any], fields: FieldMap, query: ListQuery, tiebreak: ColumnElement[Any],
                    item: Callable[[Any], T]) -> Page[T]:
        async with self._begin(write=False) as conn:
            rows, total = await page(conn, stmt, fields, query, tiebreak)
        return Page([item(r) for r in rows], total, query.offset, query.limit)

    async def _first(self, stmt: Select[Any], item: Callable[[Any], T]) -> T | None:
        async with self._begin(write=False) as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else item(row)

    async def _count(self, table: Table, *where: ColumnElement[bool]) -> int:
        async with self._begin(write=False) as conn:
            return int((await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one())

    async def _delete(self, table: Table, *where: ColumnElement[bool]) -> bool:
        """Whether one row was deleted."""
        async with self._begin(write=True) as conn:
            res = await conn.execute(delete(table).where(*where))
            return bool(res.rowcount == 1)

    async def lock_account(self, account_id: int) -> bool:
        """Whether the account exists; inside a transaction, also holds changes to its parts until the
        transaction ends (PostgreSQL row lock; SQLite's one writer serializes anyway)."""
        async with self._begin(write=True) as conn:
            found = (await conn.execute(
                select(t.accounts.c.id).where(t.accounts.c.id == account_id).with_for_update())).first()
            return found is not None

    # -- contacts --------------------------------------------------------------------------------

    async def page_contacts(self, account_id: int, query: ListQuery) -> Page[Contact]:
        return await self._page(select(t.contacts).where(t.contacts.c.account_id == account_id), _CONTACT_FIELDS,
                                query, t.contacts.c.id, _contact)

    async def contacts_of(self, account_id: int) -> list[Contact]:
        async with self._begin(write=False) as conn:
            rows = (await conn.execute(
                select(t.contacts).where(t.contacts.c.account_id == account_id).order_by(t.contacts.c.id))).all()
        return [_contact(r) for r in rows]

    async def get_contact(self, account_id: int, contact_id: int) -> Contact | None:
        return await self._first(select(t.contacts).where(
            t.contacts.c.account_id == account_id, t.contacts.c.id == contact_id), _contact)

    async def insert_contact(self, account_id: int, details: ContactDetails, now: datetime, by: str) -> Contact:
        async with self._begin(write=True) as conn:
            row = (await conn.execute(insert(t.contacts).values(
                account_id=account_id, **_contact_values(details), created_at=now, created_by=by, updated_at=now,
                updated_by=by,
            ).returning(*t.contacts.c))).one()
        return _contact(row)

    async def update_contact(self, account_id: int, contact_id: int, details: ContactDetails, now: datetime,
                             by: str) -> Contact | None:
        async with self._begin(write=True) as conn:
            row = (await conn.execute(update(t.contacts).where(
                t.contacts.c.account_id == account_id, t.contacts.c.id == contact_id,
            ).values(**_contact_values(details), updated_at=now, updated_by=by).returning(*t.contacts.c))).first()
        return None if row is None else _contact(row)

    async def delete_contact(self, account_id: int, contact_id: int) -> bool:
        return await self._delete(t.contacts, t.contacts.c.account_id == account_id, t.contacts.c.id == contact_id)

    # -- notes -----------------------------------------------------------------------------------

    async def page_notes(self, account_id: int, query: ListQuery) -> Page[Note]:
        return await self._page(select(t.notes).where(t.notes.c.account_id == account_id), _NOTE_FIELDS, query,
                                t.notes.c.id, _note)

    async def count_notes(self, account_id: int) -> int:
        return await self._count(t.notes, t.notes.c.account_id == account_id)

    async def get_note(self, account_id: int, note_id: int) -> Note | None:
        return await self._first(select(t.notes).where(t.notes.c.account_id == account_id, t.notes.c.id == note_id),
                                 _note)

    async def insert_note(self, account_id: int, content: str, now: datetime, by: str) -> Note:
        async with self._begin(write=True) as conn:
            row = (await conn.execute(insert(t.notes).values(
                account_id=account_id, content=content, created_at=now, created_by=by, updated_at=now, updated_by=by,
            ).returning(*t.notes.c))).one()
        return _note(row)

    async def update_note(self, account_id: int, note_id: int, content: str, now: datetime, by: str) -> Note | None:
        async with self._begin(write=True) as conn:
            row = (await conn.execute(update(t.notes).where(
                t.notes.c.account_id == account_id, t.notes.c.id == note_id,
            ).values(content=content, updated_at=now, updated_by=by).returning(*t.notes.c))).first()
        return None if row is None else _note(row)

    async def delete_note(self, account_id: int, note_id: int) -> bool:
        return await self._delete(t.notes, t.notes.c.account_id == account_id, t.notes.c.id == note_id)

    # -- attribute definitions ---------------------------------------------------------------------

    async def page_definitions(self, tenant_id: int, query: ListQuery) -> Page[AttributeDefinition]:
        return await self._page(select(t.attribute_definitions).where(t.attribute_definitions.c.tenant_id == tenant_id),
                                _DEFINITION_FIELDS, query, t.attribute_definitions.c.id, _definition)

    async def count_definitions(self, tenant_id: int) -> int:
        return await self._count(t.attribute_definitions, t.attribute_definitions.c.tenant_id == tenant_id)

    async def definitions_by_key(self, tenant_id: int, fqn_keys: Collection[str]) -> dict[str, AttributeDefinition]:
        """The tenant's definitions with these lower-cased FQNs, by lower-cased FQN."""
        if not fqn_keys:
            return {}
        async with self._begin(write=False) as conn:
            rows = (await conn.execute(select(t.attribute_definitions).where(
                t.attribute_definitions.c.tenant_id == tenant_id,
                t.attribute_definitions.c.fqn.in_(sorted(set(fqn_keys)))))).all()
        return {r.fqn: _definition(r) for r in rows}

    async def get_definition(self, tenant_id: int, fqn_key: str) -> AttributeDefinition | None:
        return (await self.definitions_by_key(tenant_id, [fqn_key])).get(fqn_key)

    async def definitions_with_value_type(self, tenant_id: int, value_type: str) -> list[AttributeDefinition]:
        async with self._begin(write=False) as conn:
            rows = (await conn.execute(select(t.attribute_definitions).where(
                t.attribute_definitions.c.tenant_id == tenant_id).order_by(t.attribute_definitions.c.id))).all()
        return [d for d in map(_definition, rows) if d.spec.value_type == value_type]

    async def insert_definition(self, tenant_id: int, spec: AttributeSpec, now: datetime, by: str) -> AttributeDefinition:
        """Conflict when the tenant has a definition of that FQN (compared case-insensitively)."""
        async with self._begin(write=True) as conn:
            try:
                async with conn.begin_nested():
                    row = (await conn.execute(insert(t.attribute_definitions).values(
                        tenant_id=tenant_id, fqn=spec.fqn.lower(), definition=_spec_json(spec), created_at=now,
                        created_by=by, updated_at=now, updated_by=by,
                    ).returning(*t.attribute_definitions.c))).one()
            except IntegrityError as exc:
                raise Conflict(f"Validation conflict: the attribute {spec.fqn} already exists") from exc
        return _definition(row)

    async def update_definition(self, tenant_id: int, definition_id: int, spec: AttributeSpec, now: datetime,
                                by: str) -> AttributeDefinition | None:
        async with self._begin(write=True) as conn:
            row = (await conn.execute(update(t.attribute_definitions).where(
                t.attribute_definitions.c.tenant_id == tenant_id, t.attribute_definitions.c.id == definition_id,
            ).values(definition=_spec_json(spec), updated_at=now, updated_by=by)
                .returning(*t.attribute_definitions.c))).first()
        return None if row is None else _definition(row)

    # -- account attributes ---------------------------------------------------------------------------

    async def page_account_attributes(self, account_id: int, query: ListQuery,
                                      definition_ids: Collection[int] | None = None) -> Page[AccountAttribute]:
        """The account's attribute values; only those of `definition_ids` when given."""
        stmt = _ACCOUNT_ATTRIBUTE_SELECT.where(t.account_attributes.c.account_id == account_id)
        if definition_ids is not None:
            stmt = stmt.where(t.account_attributes.c.definition_id.in_(sorted(definition_ids)))
        return await self._page(stmt, _ACCOUNT_ATTRIBUTE_FIELDS, query, t.attribute_definitions.c.fqn,
                                _account_attribute)

    async def get_account_attribute(self, account_id: int, definition_id: int) -> AccountAttribute | None:
        return await self._first(_ACCOUNT_ATTRIBUTE_SELECT.where(
            t.account_attributes.c.account_id == account_id, t.account_attributes.c.definition_id == definition_id,
        ), _account_attribute)

    async def insert_account_attribute(self, account_id: int, definition_id: int, values: Sequence[object],
                                       now: datetime, by: str) -> bool:
        """False when the account already has a value for the attribute."""
        async with self._begin(write=True) as conn:
            res = await conn.execute(_upsert_ignore(self.dialect, t.account_attributes).values(
                account_id=account_id, definition_id=definition_id, attribute_values=list(values), created_at=now,
                created_by=by, updated_at=now, updated_by=by))
            return bool(res.rowcount == 1)

    async def update_account_attribute(self, account_id: int, definition_id: int, values: Sequence[object],
                                       now: datetime, by: str) -> bool:
        async with self._begin(write=True) as conn:
            res = await conn.execute(update(t.account_attributes).where(
                t.account_attributes.c.account_id == account_id, t.account_attributes.c.definition_id == definition_id,
            ).values(attribute_values=list(values), updated_at=now, updated_by=by))
            return bool(res.rowcount == 1)

    async def delete_account_attribute(self, account_id: int, definition_id: int) -> bool:
        return await self._delete(t.account_attributes, t.account_attributes.c.account_id == account_id,
                                  t.account_attributes.c.definition_id == definition_id)

    # -- segments ----------------------------------------------------------------------------------

    async def page_segments(self, tenant_id: int, query: ListQuery) -> Page[Segment]:
        return await self._page(select(t.segments).where(t.segments.c.tenant_id == tenant_id), _SEGMENT_FIELDS, query,
                                t.segments.c.id, _segment)

    async def count_segments(self, tenant_id: int) -> int:
        return await self._count(t.segments, t.segments.c.tenant_id == tenant_id)

    async def get_segment(self, tenant_id: int, segment_id: int) -> Segment | None:
        return await self._first(select(t.segments).where(
            t.segments.c.tenant_id == tenant_id, t.segments.c.id == segment_id), _segment)

    async def segments_by_code(self, tenant_id: int, codes: Collection[str]) -> dict[str, Segment]:
        """The tenant's segments with these codes (compared case-insensitively), by lower-cased code."""
        if not codes:
            return {}
        async with self._begin(write=False) as conn:
            rows = (await conn.execute(select(t.segments).where(
                t.segments.c.tenant_id == tenant_id,
                func.lower(t.segments.c.code).in_(sorted({c.lower() for c in codes}))))).all()
        return {r.code.lower(): _segment(r) for r in rows}

    async def segments_by_id(self, tenant_id: int, ids: Collection[int]) -> dict[int, Segment]:
        if not ids:
            return {}
        async with self._begin(write=False) as conn:
            rows = (await conn.execute(select(t.segments).where(
                t.segments.c.tenant_id == tenant_id, t.segments.c.id.in_(sorted(set(ids)))))).all()
        return {r.id: _segment(r) for r in rows}

    async def insert_segment(self, tenant_id: int, code: str, name: str, description: str | None, now: datetime,
                             by: str) -> Segment:
        """Conflict when the tenant has a segment with that code."""
        async with self._begin(write=True) as conn:
            try:
                async with conn.begin_nested():
                    row = (await conn.execute(insert(t.segments).values(
                        tenant_id=tenant_id, code=code, name=name, description=description, created_at=now,
                        created_by=by, updated_at=now, updated_by=by,
                    ).returning(*t.segments.c))).one()
            except IntegrityError as exc:
                raise Conflict(f"Validation conflict: a segment with the code {code} already exists") from exc
        return _segment(row)

    async def update_segment(self, tenant_id: int, segment_id: int, code: str, name: str, description: str | None,
                             now: datetime, by: str) -> Segment | None:
        """The changed segment, None if there is none; Conflict when another segment has that code."""
        async with self._begin(write=True) as conn:
            try:
                async with conn.begin_nested():
                    row = (await conn.execute(update(t.segments).where(
                        t.segments.c.tenant_id == tenant_id, t.segments.c.id == segment_id,
                    ).values(code=code, name=name, description=description, updated_at=now, updated_by=by)
                        .returning(*t.segments.c))).first()
            except IntegrityError as exc:
                raise Conflict(f"Validation conflict: a segment with the code {code} already exists") from exc
        return None if row is None else _segment(row)

    async def delete_segment(self, tenant_id: int, segment_id: int) -> bool:
        """Deletes the segment and every account's membership in it."""
        async with self._begin(write=True) as conn:
            await conn.execute(delete(t.segment_accounts).where(t.segment_accounts.c.segment_id.in_(
                select(t.segments.c.id).where(t.segments.c.tenant_id == tenant_id, t.segments.c.id == segment_id))))
            res = await conn.execute(delete(t.segments).where(
                t.segments.c.tenant_id == tenant_id, t.segments.c.id == segment_id))
            return bool(res.rowcount == 1)

    async def accounts_in_set(self, tenant_id: int, customer_set_id: int, account_ids: Collection[int]) -> set[int]:
        """Which of `account_ids` are accounts of the tenant's customer set."""
        if not account_ids:
            return set()
        async with self._begin(write=False) as conn:
            rows = (await conn.execute(select(t.accounts.c.id).where(
                t.accounts.c.tenant_id == tenant_id, t.accounts.c.customer_set_id == customer_set_id,
                t.accounts.c.id.in_(sorted(set(account_ids)))))).scalars().all()
        return {int(i) for i in rows}

    async def add_segment_accounts(self, segment_id: int, account_ids: Collection[int], now: datetime) -> int:
        """Make the accounts members of the segment; members already are left as they are. The number added."""
        return len(await self.join_segment(segment_id, account_ids, now))

    async def join_segment(self, segment_id: int, account_ids: Collection[int], now: datetime) -> set[int]:
        """`add_segment_accounts`, answering which accounts it added (not those that were members already,
        nor those another transaction added first)."""
        if not account_ids:
            return set()
        async with self._begin(write=True) as conn:
            rows = await conn.execute(_upsert_ignore(self.dialect, t.segment_accounts).values([
                {"segment_id": segment_id, "account_id": a, "created_at": now} for a in sorted(set(account_ids))
            ]).returning(t.segment_accounts.c.account_id))
            return {int(r[0]) for r in rows}

    async def remove_segment_account(self, segment_id: int, account_id: int) -> bool:
        return await self._delete(t.segment_accounts, t.segment_accounts.c.segment_id == segment_id,
                                  t.segment_accounts.c.account_id == account_id)

    async def page_account_segments(self, account_id: int, query: ListQuery) -> Page[Segment]:
        stmt = select(t.segments).join_from(
            t.segment_accounts, t.segments, t.segment_accounts.c.segment_id == t.segments.c.id,
        ).where(t.segment_accounts.c.account_id == account_id)
        return await self._page(stmt, _SEGMENT_FIELDS, query, t.segments.c.id, _segment)

    # -- customer sets -----------------------------------------------------------------------------

    async def page_customer_sets(self, tenant_id: int, query: ListQuery) -> Page[CustomerSetInfo]:
        async with self._begin(write=False) as conn:
            rows, total = await page(conn, select(t.customer_sets).where(t.customer_sets.c.tenant_id == tenant_id),
                                     _CUSTOMER_SET_FIELDS, query, t.customer_sets.c.id)
            infos = await _customer_set_infos(conn, rows)
        return Page(infos, total, query.offset, query.limit)

    async def customer_set_info(self, tenant_id: int, code: str) -> CustomerSetInfo | None:
        """The tenant's customer set `code` (compared case-insensitively)."""
        async with self._begin(write=False) as conn:
            rows = (await conn.execute(select(t.customer_sets).where(
                t.customer_sets.c.tenant_id == tenant_id, func.lower(t.customer_sets.c.code) == code.lower()))).all()
            infos = await _customer_set_infos(conn, rows[:1])
        return infos[0] if infos else None
