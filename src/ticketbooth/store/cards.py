"""An account's saved cards (table `cards`). The services check the values (domain/cards.py) and
hold the account's row lock (`lock_account`) around a change, so switching the default card is one
transaction; the partial unique index `ix_cards_one_default` backs that up."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ticketbooth.domain.cards import Card, CardDetails
from ticketbooth.domain.errors import Conflict
from ticketbooth.domain.models import Audit
from ticketbooth.store import tables as t
from ticketbooth.store.base import StoreBase

_C = t.cards.c


def _values(d: CardDetails) -> dict[str, Any]:
    return {
        "name_on_card": d.name_on_card, "card_type": d.card_type, "expire_month": d.expire_month,
        "expire_year": d.expire_year, "card_number_part": d.card_number_part, "contact_id": d.contact_id,
        "is_default": d.is_default_pay_method,
    }


def _card(row: Any) -> Card:
    m: Mapping[str, Any] = row._mapping
    details = CardDetails(
        contact_id=m["contact_id"], name_on_card=m["name_on_card"], card_type=m["card_type"],
        expire_month=m["expire_month"], expire_year=m["expire_year"], card_number_part=m["card_number_part"],
        is_default_pay_method=bool(m["is_default"]),
    )
    return Card(id=m["card_id"], account_id=m["account_id"], details=details,
                audit=Audit(created_at=m["created_at"], created_by=m["created_by"], updated_at=m["updated_at"],
                            updated_by=m["updated_by"]))


def _conflict(card_id: str) -> Conflict:
    return Conflict(f"Validation conflict: a card with the id {card_id} already exists")


class CardStore(StoreBase):
    async def cards_of(self, account_id: int) -> list[Card]:
        """The account's cards in the order they were added."""
        async with self._begin(write=False) as conn:
            rows = (await conn.execute(select(t.cards).where(_C.account_id == account_id).order_by(_C.id))).all()
        return [_card(r) for r in rows]

    async def get_card(self, account_id: int, card_id: str) -> Card | None:
        async with self._begin(write=False) as conn:
            row = (await conn.execute(select(t.cards).where(
                _C.account_id == account_id, _C.card_id == card_id))).first()
        return None if row is None else _card(row)

    async def count_cards(self, account_id: int) -> int:
        async with self._begin(write=False) as conn:
            return int((await conn.execute(
                select(func.count()).select_from(t.cards).where(_C.account_id == account_id))).scalar_one())

    async def clear_default_card(self, account_id: int, now: datetime, by: str) -> None:
        """No card of the account is its default any more (call inside the change's transaction)."""
        async with self._begin(write=True) as conn:
            await conn.execute(update(t.cards).where(_C.account_id == account_id, _C.is_default.is_(True))
                               .values(is_default=False, updated_at=now, updated_by=by))

    async def insert_card(self, tenant_id: int, account_id: int, card_id: str, details: CardDetails, now: datetime,
                          by: str) -> Card:
        """Conflict when the tenant has a card with that id."""
        async with self._begin(write=True) as conn:
            try:
                async with conn.begin_nested():
                    row = (await conn.execute(insert(t.cards).values(
                        tenant_id=tenant_id, account_id=account_id, card_id=card_id, **_values(details),
                        created_at=now, created_by=by, updated_at=now, updated_by=by,
                    ).returning(*t.cards.c))).one()
            except IntegrityError as exc:
                raise _conflict(card_id) from exc
        return _card(row)

    async def update_card(self, account_id: int, card_id: str, details: CardDetails, now: datetime,
                          by: str) -> Card | None:
        async with self._begin(write=True) as conn:
            row = (await conn.execute(update(t.cards).where(_C.account_id == account_id, _C.card_id == card_id)
                                      .values(**_values(details), updated_at=now, updated_by=by)
                                      .returning(*t.cards.c))).first()
        return None if row is None else _card(row)

    async def delete_card(self, account_id: int, card_id: str) -> bool:
        """Whether the account had that card."""
        async with self._begin(write=True) as conn:
            res = await conn.execute(delete(t.cards).where(_C.account_id == account_id, _C.card_id == card_id))
            return bool(res.rowcount == 1)
